"""The quick reading of bulk claim lines (service.claim_lines) gives exactly what the API's schemas give, or None."""

import copy
import json
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.bulk_lines import BatchFailed, read_with_schemas
from service.claim_lines import read_claim_bytes, read_claim_line

PLAIN = {
    "text": "Kim left Pyongyang by train.",
    "subjects": ["Kim Jong Un", "Pyongyang"],
    "parties": ["dprk-state"],
    "event_time": "2026-05-01T08:00:00+09:00",
    "attributions": [
        {"source": "nyt", "via": ["el-heraldo"], "stance": "supports", "basis": "secondhand", "confidence": 0.6,
         "published_at": "2026-05-01T10:00:00Z", "quote": "left by train", "document_key": "k1"},
        {"source": "kcna", "stance": "denies", "basis": "official", "confidence": 1, "document_id": 7,
         "retracted": True, "retraction_reason": "withdrawn"},
    ],
}


def by_schemas(obj):
    """What the schemas load, or None when they refuse the line."""
    try:
        return read_with_schemas(1, "claim", copy.deepcopy(obj))
    except BatchFailed:
        return None


def quick(obj):
    before = copy.deepcopy(obj)
    read = read_claim_line(obj)
    assert obj == before, "the quick reading must leave the line as it was"
    return read


def test_a_plain_line_reads_as_the_schemas_read_it():
    read = quick(PLAIN)
    assert read is not None
    assert read == by_schemas(PLAIN)
    data, extras = read
    assert data["event_time"] == datetime(2026, 4, 30, 23, 0, tzinfo=timezone.utc)
    assert data["attributions"][1]["confidence"] == 1.0 and isinstance(data["attributions"][1]["confidence"], float)
    assert extras == [{"retracted": False, "retraction_reason": None, "document_key": "k1"},
                      {"retracted": True, "retraction_reason": "withdrawn", "document_key": None}]


def test_defaults_match_the_schemas():
    line = {"text": "Only text."}
    assert quick(line) == by_schemas(line) == ({"text": "Only text.", "subjects": [], "parties": [],
                                                 "event_time": None, "attributions": []}, None)


@pytest.mark.parametrize("change", [
    {"text": ""}, {"text": "x" * 2001}, {"text": "nul\x00"}, {"text": "\ud800"}, {"text": 5},
    {"subjects": ["x" * 201]}, {"subjects": [""]}, {"subjects": "Kim"}, {"subjects": None},
    {"subjects": ["s"] * 51}, {"parties": ["Not-A-Slug"]}, {"parties": ["a", "a"]}, {"parties": ["a-"]},
    {"event_time": "2026-05-01"}, {"event_time": "2026-05-01T08:00:00"}, {"event_time": 5},
    {"unknown": 1}, {"status": "confirmed"}, {"attributions": {}}, {"attributions": [5]},
])
def test_claim_fields_the_schemas_refuse_are_left_to_them(change):
    line = {**PLAIN, **change}
    assert by_schemas(line) is None
    assert quick(line) is None


@pytest.mark.parametrize("change", [
    {"confidence": 1.5}, {"confidence": -0.1}, {"confidence": "0.5"}, {"confidence": True}, {"confidence": None},
    {"stance": "maybe"}, {"basis": "rumour"}, {"source": "NYT"}, {"source": None}, {"via": ["nyt", "nyt"]},
    {"via": ["x"] * 21}, {"via": None}, {"document_id": 0}, {"document_id": 2**63}, {"document_id": 1.0},
    {"document_id": True}, {"quote": "q" * 2001}, {"published_at": "yesterday"}, {"retracted": 1},
    {"retracted": True}, {"retraction_reason": "why"}, {"retracted": None}, {"document_key": ""},
    {"document_key": "k" * 201}, {"id": 3}, {"recorded_at": "2026-05-01T10:00:00Z"},
])
def test_attribution_fields_the_schemas_refuse_are_left_to_them(change):
    line = {**PLAIN, "attributions": [{**PLAIN["attributions"][0], **change}]}
    assert by_schemas(line) is None
    assert quick(line) is None


def test_missing_required_fields_are_left_to_the_schemas():
    for field in ("source", "stance", "basis", "confidence"):
        attribution = {k: v for k, v in PLAIN["attributions"][0].items() if k != field}
        line = {**PLAIN, "attributions": [attribution]}
        assert by_schemas(line) is None and quick(line) is None
    assert quick({"subjects": []}) is None and by_schemas({"subjects": []}) is None


TEXTS = st.one_of(st.text(max_size=5), st.sampled_from(["", "a", "x" * 200, "x" * 201, "\x00", "\ud800", "ok"]))
SLUGS = st.one_of(st.sampled_from(["nyt", "kcna", "el-heraldo", "a", "-a", "A", "a" * 64, "a" * 65]), TEXTS)
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-2, 2**64), st.floats(allow_nan=False, allow_infinity=False),
                   TEXTS, st.lists(SLUGS, max_size=3))
TIMES = st.one_of(st.none(), st.sampled_from(["2026-05-01T08:00:00Z", "2026-05-01T08:00:00.123456789+02:00",
                                              "2026-05-01", "0001-01-01T00:00:00+01:00", "2026-13-01T00:00:00Z"]))
ATTRIBUTIONS = st.fixed_dictionaries(
    {"source": SLUGS, "stance": st.sampled_from(["supports", "denies", "maybe"]),
     "basis": st.sampled_from(["official", "assessment", "gossip"]),
     "confidence": st.one_of(st.floats(-0.5, 1.5), st.integers(-1, 2), st.booleans(), st.just("0.5"))},
    optional={"via": st.lists(SLUGS, max_size=3), "document_id": VALUES, "quote": st.one_of(st.none(), TEXTS),
              "published_at": TIMES, "retracted": VALUES, "retraction_reason": st.one_of(st.none(), TEXTS),
              "document_key": st.one_of(st.none(), TEXTS), "extra": VALUES},
)
LINES = st.fixed_dictionaries(
    {"text": TEXTS},
    optional={"subjects": st.lists(TEXTS, max_size=3), "parties": st.lists(SLUGS, max_size=3), "event_time": TIMES,
              "attributions": st.lists(st.one_of(ATTRIBUTIONS, VALUES), max_size=3), "origins": VALUES},
)


@settings(max_examples=400, deadline=None)
@given(LINES)
def test_the_quick_reading_never_differs_from_the_schemas(line):
    read = quick(line)
    if read is not None:
        assert read == by_schemas(line)


def standard_reading(raw):
    """read_claim_line of what the standard library reads from a line (as bulk reads a line that is not plain)."""
    obj = json.loads(raw.decode("utf-8"))
    return read_claim_line(obj) if isinstance(obj, dict) and obj.pop("type", None) == "claim" else None


def line_bytes(obj):
    """A claim line as a client sends it: UTF-8, a lone surrogate escaped."""
    text = json.dumps({"type": "claim", **obj}, ensure_ascii=False)
    try:
        return text.encode() + b"\n"
    except UnicodeEncodeError:
        return json.dumps({"type": "claim", **obj}).encode() + b"\n"


@pytest.mark.parametrize("change", [
    {}, {"text": "a\ud800b"}, {"confidence": 10**30}, {"confidence": -(2**63) - 1}, {"confidence": 2**64 - 1},
    {"document_id": 10**30}, {"document_id": 2**64}, {"confidence": 1}, {"confidence": 0.30000000000000004},
])
def test_a_claim_line_as_bytes_reads_as_the_standard_library_reads_it(change):
    line = copy.deepcopy(PLAIN)
    line["attributions"][0].update(change)
    raw = line_bytes(line)
    assert read_claim_bytes(raw) == standard_reading(raw)
    assert read_claim_bytes(b'{"type": "claim", "text": "x", "text": "Twice."}') == standard_reading(
        b'{"type": "claim", "text": "x", "text": "Twice."}') is not None
    assert read_claim_bytes(b'{"type": "claim", "text": "a\\ud800"}') is None is standard_reading(
        b'{"type": "claim", "text": "a\\ud800"}')


@settings(max_examples=300, deadline=None)
@given(LINES, st.integers())
def test_any_claim_line_as_bytes_reads_as_the_standard_library_reads_it(line, number):
    raw = line_bytes({**line, "attributions": [*line.get("attributions", []), {**PLAIN["attributions"][1],
                                                                                "document_id": number}]})
    assert read_claim_bytes(raw) == standard_reading(raw)
