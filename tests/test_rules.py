"""The status rules (§3-§4), table-driven per rule, and their invariants as hypothesis properties."""

import itertools
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.rules import (
    BASES,
    SourceFacts,
    Statement,
    combined_confidence,
    derive_status,
    likelihood,
)

T0 = datetime(2023, 9, 11, tzinfo=timezone.utc)

SOURCES = {
    s.id: s
    for s in (
        SourceFacts("kcna", "KCNA", "D", "dprk-state"),
        SourceFacts("dprk-gov", "North Korean government", "B", "dprk-state"),
        SourceFacts("kremlin", "Kremlin", "D", "russia-state"),
        SourceFacts("tass", "TASS", "B", "russia-state"),
        SourceFacts("nyt", "The New York Times", "B"),
        SourceFacts("rok-nis", "South Korean intelligence", "B"),
        SourceFacts("reuters", "Reuters", "A"),
        SourceFacts("el-heraldo", "El Heraldo", "C"),
        SourceFacts("blog", "A blog", "E"),
        SourceFacts("forum", "A forum", "F"),
        SourceFacts("xinhua", "Xinhua", "B", "prc-state"),
        SourceFacts("cgtn", "CGTN", "B", "prc-state"),
        SourceFacts("unsc", "UN Security Council", "A"),
    )
}


STATEMENT_IDS = itertools.count(1)


def say(source, stance="supports", basis="secondhand", confidence=0.6, via=(), **extra):
    return Statement(next(STATEMENT_IDS), source, stance, basis, confidence, T0, tuple(via), **extra)


def derive(statements, parties=()):
    return derive_status(statements, SOURCES, parties)


# (case, parties, statements, expected status, a phrase the explanation must hold)
DECISIONS = [
    # rule 1: nothing active
    ("no attributions", (), [], "unconfirmed", "no active attributions"),
    ("everything retracted", (), [say("nyt", retracted_at=T0)], "unconfirmed", "no active attributions"),
    # rule 2: credible support and an independent credible denial
    ("credible support against independent credible denial", (),
     [say("nyt"), say("reuters", "denies")], "disputed", "denied by Reuters (A), independent and credible"),
    ("primary record against independent credible denial", ("dprk-state",),
     [say("kcna", basis="documentary"), say("reuters", "denies")], "disputed", "supported by KCNA (party, documentary)"),
    ("a group on both sides counts on both", (),
     [say("reuters"), say("reuters", "denies", confidence=0.3)], "disputed", "disputed"),
    # rule 3: confirmed support
    ("primary record by a party", ("dprk-state",),
     [say("kcna", basis="documentary", via=["el-heraldo"])], "confirmed",
     "confirmed: primary record by KCNA (party, documentary), relayed by El Heraldo"),
    ("official record by a party", ("unsc",), [say("unsc", basis="official")], "confirmed", "primary record by UN Security Council"),
    ("two credible origins, one independent", ("dprk-state",),
     [say("nyt"), say("dprk-gov")], "confirmed", "independent credible origins"),
    ("two credible independent origins", (), [say("nyt"), say("rok-nis")], "confirmed",
     "confirmed: independent credible origins The New York Times (B) and South Korean intelligence (B)"),
    ("origins with relays are told apart", (), [say("rok-nis", via=["el-heraldo"]), say("nyt")], "confirmed",
     "confirmed: independent credible origins The New York Times (B); and South Korean intelligence (B), relayed by El Heraldo"),
    ("a party's denial does not undo confirmation", ("dprk-state", "russia-state"),
     [say("kcna", basis="documentary"), say("kremlin", "denies")], "confirmed",
     "denied by Kremlin (party), which does not undo confirmation"),
    # rule 4: denials
    ("independent credible denial alone", (), [say("reuters", "denies")], "denied", "denied by Reuters (A)"),
    ("party denial against a single report", ("russia-state",),
     [say("nyt"), say("kremlin", "denies")], "denied", "denied by Kremlin (party)"),
    ("party denial of a party's non-primary claim", ("dprk-state",),
     [say("kcna", "denies", basis="documentary")], "denied", "denied by KCNA (party)"),
    # rule 5: reported
    ("single credible origin", (), [say("nyt", via=["el-heraldo"])], "reported",
     "reported: single origin The New York Times (B), relayed by El Heraldo"),
    ("relays collapse into one origin", (),
     [say("nyt", via=["el-heraldo"]), say("nyt", via=["blog", "el-heraldo"])], "reported", "single origin The New York Times"),
    ("affiliated sources are one origin group", (), [say("xinhua"), say("cgtn")], "reported", "single origin Xinhua (B) and CGTN (B)"),
    ("credible origins that are all parties", ("dprk-state", "russia-state"),
     [say("dprk-gov"), say("tass")], "reported", "every credible origin is a party"),
    ("official basis from a non-party is no primary record", (), [say("nyt", basis="official")], "reported", "single origin"),
    ("two origins, neither credible", (), [say("blog"), say("forum")], "reported", "reported: 2 origins"),
    ("a group is credible only by its statements with that stance", (),
     [say("kcna"), say("dprk-gov", "denies")], "denied", "denied by North Korean government (B)"),
    # rule 6: otherwise
    ("only a non-credible independent denial", (), [say("blog", "denies")], "unconfirmed",
     "only denied by A blog (E), neither credible nor a party"),
]


@pytest.mark.parametrize("case, parties, statements, status, phrase", DECISIONS, ids=[d[0] for d in DECISIONS])
def test_decision(case, parties, statements, status, phrase):
    derivation = derive(statements, parties)
    assert derivation.status == status
    assert any(phrase in sentence for sentence in derivation.explanation), derivation.explanation


def test_origins_collapse_relays_and_group_affiliations():
    derivation = derive(
        [say("nyt", via=["el-heraldo"]), say("nyt", confidence=0.8), say("kcna", basis="documentary"),
         say("dprk-gov", confidence=0.7), say("kremlin", "denies", confidence=0.4)],
        parties=("dprk-state", "russia-state"),
    )
    origins = [o.as_dict() for o in derivation.origins]
    assert origins == [
        {"group": "dprk-state", "sources": ["kcna", "dprk-gov"], "relays": [], "bases": ["documentary", "secondhand"],
         "stance": "supports", "credible": True, "interested": True, "confidence": 0.7},
        {"group": "nyt", "sources": ["nyt"], "relays": ["el-heraldo"], "bases": ["secondhand"], "stance": "supports",
         "credible": True, "interested": False, "confidence": 0.8},
        {"group": "russia-state", "sources": ["kremlin"], "relays": [], "bases": ["secondhand"], "stance": "denies",
         "credible": False, "interested": True, "confidence": 0.4},
    ]


@pytest.mark.parametrize("statements, expected", [
    ([say("nyt", confidence=0.6)], 0.6),
    ([say("nyt", confidence=0.6), say("rok-nis", confidence=0.5)], 0.8),
    ([say("nyt", confidence=0.6), say("nyt", confidence=0.9, via=["el-heraldo"])], 0.9),
    ([say("xinhua", confidence=0.6), say("cgtn", confidence=0.5)], 0.6),
    ([say("nyt", confidence=0.6), say("rok-nis", confidence=0.5), say("reuters", "denies", confidence=0.5)], 0.4),
    ([say("nyt", confidence=0.5), say("reuters", "denies", confidence=0.5), say("blog", "denies", confidence=0.5)], 0.125),
    ([say("reuters", "denies", confidence=0.9)], 0.0),
    ([say("nyt", confidence=1 / 3)], 0.333),
    ([say("nyt", confidence=0.0)], 0.0),
    ([say("nyt", confidence=1.0), say("reuters", "denies", confidence=1.0)], 0.0),
], ids=["one", "two groups", "group takes its highest", "affiliates count once", "denial discounts",
        "two denials combine", "only denial", "rounded to 3 places", "zero", "certain both ways"])
def test_confidence_formula(statements, expected):
    assert derive(statements).confidence == expected


def test_confidence_is_null_without_active_attributions():
    assert derive([]).confidence is None
    assert derive([]).likelihood is None
    assert combined_confidence(()) is None


@pytest.mark.parametrize("confidence, term", [
    (0.0, "remote"), (0.049, "remote"), (0.05, "very unlikely"), (0.199, "very unlikely"),
    (0.2, "unlikely"), (0.449, "unlikely"), (0.45, "roughly even chance"), (0.55, "roughly even chance"),
    (0.551, "likely"), (0.8, "likely"), (0.801, "very likely"), (0.95, "very likely"),
    (0.951, "almost certain"), (1.0, "almost certain"), (None, None),
])
def test_likelihood_boundaries(confidence, term):
    assert likelihood(confidence) == term


def test_as_of_and_published_before_select_active_statements():
    early, late = T0, T0 + timedelta(days=2)
    statements = [
        Statement(1, "nyt", "supports", "secondhand", 0.6, early, published_at=early),
        Statement(2, "rok-nis", "supports", "secondhand", 0.6, late),
        Statement(3, "reuters", "denies", "secondhand", 0.6, early, retracted_at=late),
    ]
    assert derive_status(statements, SOURCES, ()).status == "confirmed"
    assert derive_status(statements, SOURCES, (), as_of=early).status == "disputed"
    assert derive_status(statements, SOURCES, (), as_of=late).status == "confirmed"
    # published_before counts a statement without a publication time as published when recorded
    assert derive_status(statements, SOURCES, (), published_before=early).status == "reported"


# --- properties -------------------------------------------------------------------

source_ids = st.sampled_from(sorted(SOURCES))
statement_fields = st.fixed_dictionaries({
    "source": source_ids,
    "stance": st.sampled_from(["supports", "denies"]),
    "basis": st.sampled_from(BASES),
    "confidence": st.floats(0, 1),
    "via": st.lists(source_ids, max_size=3, unique=True),
    "offset": st.integers(0, 10),
})
parties_strategy = st.lists(st.sampled_from(["dprk-state", "russia-state", "prc-state", "nyt", "unsc"]), unique=True)


def make_statements(specs):
    return [
        Statement(i, s["source"], s["stance"], s["basis"], s["confidence"], T0 + timedelta(hours=s["offset"]),
                  tuple(v for v in s["via"] if v != s["source"]))
        for i, s in enumerate(specs, 1)
    ]


def decision_of(derivation):
    # An origin lists who relayed it; the property is that relays change nothing else.
    origins = [{k: v for k, v in o.as_dict().items() if k != "relays"} for o in derivation.origins]
    return derivation.status, derivation.confidence, origins


@settings(max_examples=200, deadline=None)
@given(st.lists(statement_fields, max_size=8), parties_strategy, st.lists(source_ids, min_size=1, max_size=3))
def test_a_relay_never_adds_an_origin(specs, parties, extra_relays):
    statements = make_statements(specs)
    relayed = [replace(s, via=tuple(dict.fromkeys(s.via + tuple(r for r in extra_relays if r != s.source))))
               for s in statements]
    assert decision_of(derive(relayed, parties)) == decision_of(derive(statements, parties))


@settings(max_examples=200, deadline=None)
@given(st.lists(statement_fields, max_size=8), parties_strategy)
def test_retracting_everything_gives_unconfirmed(specs, parties):
    statements = [replace(s, retracted_at=T0 + timedelta(days=1)) for s in make_statements(specs)]
    derivation = derive(statements, parties)
    assert (derivation.status, derivation.confidence, derivation.origins) == ("unconfirmed", None, ())


@settings(max_examples=200, deadline=None)
@given(st.lists(statement_fields, max_size=8), st.lists(statement_fields, max_size=4),
       parties_strategy, st.integers(0, 10), st.data())
def test_an_as_of_answer_never_changes_after_later_writes(specs, later_specs, parties, cut, data):
    as_of = T0 + timedelta(hours=cut)
    before = make_statements(specs)
    answer = derive_status(before, SOURCES, parties, as_of=as_of)
    # later writes: new statements recorded after as_of, and retractions dated after it
    later = [replace(s, id=s.id + 100, recorded_at=as_of + timedelta(minutes=1 + s.id))
             for s in make_statements(later_specs)]
    retracted = [replace(s, retracted_at=as_of + timedelta(seconds=1)) if data.draw(st.booleans()) else s
                 for s in before]
    assert derive_status(retracted + later, SOURCES, parties, as_of=as_of) == answer
