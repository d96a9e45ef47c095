"""A POST's attribution body read quickly (service.claim_lines.read_attribution) loads exactly as AttributionSchema
loads it, or is left to the schema, which words every error."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from service.claim_lines import read_attribution
from service.schemas import AttributionSchema

SCHEMA = AttributionSchema()
PLAIN = {"source": "nyt", "via": ["el-heraldo"], "document_id": 7, "stance": "supports", "basis": "secondhand",
         "confidence": 1, "quote": "left by train", "published_at": "2026-05-01T10:00:00+02:00"}


def by_schema(body):
    """What the schema loads, as (key, value, type) triples in its order, or None when it refuses the body."""
    try:
        return _typed(SCHEMA.load(body))
    except ValidationError:
        return None


def _typed(loaded):
    return None if loaded is None else [(key, value, type(value)) for key, value in loaded.items()]


def test_a_plain_body_loads_as_the_schema_loads_it():
    assert _typed(read_attribution(PLAIN)) == by_schema(PLAIN) is not None
    least = {"source": "nyt", "stance": "denies", "basis": "official", "confidence": 0.5}
    assert _typed(read_attribution(least)) == by_schema(least)
    assert read_attribution(least) == {**least, "via": [], "document_id": None, "quote": None, "published_at": None}


@pytest.mark.parametrize("change", [
    {"retracted": False}, {"document_key": "k"}, {"id": 3}, {"claim_id": 1}, {"recorded_at": "2026-05-01T10:00:00Z"},
    {"confidence": True}, {"confidence": 1.5}, {"via": None}, {"via": ["nyt", "nyt"]}, {"published_at": "2026-05-01"},
])
def test_bodies_the_schema_refuses_are_left_to_it(change):
    body = {**PLAIN, **change}
    assert by_schema(body) is None
    assert read_attribution(body) is None


TEXTS = st.one_of(st.text(max_size=5), st.sampled_from(["", "x" * 2000, "x" * 2001, "\x00", "\ud800", "ok"]))
SLUGS = st.one_of(st.sampled_from(["nyt", "el-heraldo", "a", "-a", "A", "a" * 64, "a" * 65]), TEXTS)
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-2, 2**64), st.floats(), TEXTS, st.lists(SLUGS, max_size=3))
BODIES = st.one_of(VALUES, st.fixed_dictionaries(
    {},
    optional={"source": SLUGS, "stance": st.sampled_from(["supports", "denies", "maybe"]),
              "basis": st.sampled_from(["official", "assessment", "gossip"]),
              "confidence": st.one_of(st.floats(-0.5, 1.5), st.integers(-1, 2), st.booleans(), st.just("0.5")),
              "via": st.one_of(st.lists(SLUGS, max_size=3), VALUES), "document_id": VALUES,
              "quote": st.one_of(st.none(), TEXTS),
              "published_at": st.one_of(VALUES, st.sampled_from(["2026-05-01T08:00:00Z", "2026-05-01T08:00:00"])),
              "extra": VALUES},
))


@settings(max_examples=500, deadline=None)
@given(BODIES)
def test_the_quick_reading_never_differs_from_the_schema(body):
    read = read_attribution(body)
    if read is not None:
        assert _typed(read) == by_schema(body)
