"""Property: the stored timelines tell the truth. For random stories, every `as_of` and `published_before`
answer of the API (one claim, filtered lists followed page by page, the summary by status and by source)
equals a re-derivation from scratch through service.rules, and `reportedly verify` finds nothing."""

import time
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service import ledger, queries, source_writes, world_tally
from service.db import db
from service.errors import Conflict, Invalid
from service.facts import derive_many
from service.models import Attribution, Claim, Document, HistoryEntry
from service.rules import STATUSES, is_active
from service.search import subject_term, words_of
from service.verify import verify_ledger
from tests.conftest import build_app

SOURCES = [("nyt", "B", None), ("reuters", "A", None), ("blog", "E", None), ("kcna", "D", "dprk-state"),
           ("dprk-gov", "B", "dprk-state"), ("heraldo", "C", None)]
source_ids = st.sampled_from([s[0] for s in SOURCES])
WORDS = ["train", "Kim", "Putin", "drills", "café"]
BASE = datetime(2023, 9, 1, tzinfo=timezone.utc)

operations = st.lists(
    st.one_of(
        st.tuples(st.just("claim"), st.booleans(), st.lists(st.sampled_from(WORDS), min_size=1, max_size=3)),
        st.tuples(st.just("attribute"), st.integers(0, 9), source_ids, st.sampled_from(["supports", "denies"]),
                  st.sampled_from(["documentary", "secondhand", "official"]), st.integers(0, 4),
                  st.booleans(), st.one_of(st.none(), st.integers(0, 30))),
        st.tuples(st.just("retract"), st.integers(0, 30)),
        st.tuples(st.just("regrade"), source_ids, st.sampled_from("ABCDEF")),
        st.tuples(st.just("regroup"), st.sampled_from(["blog", "heraldo"]), st.booleans()),
        st.tuples(st.just("reparty"), st.integers(0, 9), st.booleans()),
        st.tuples(st.just("document"), st.integers(0, 30)),
        st.tuples(st.just("retract_document"), st.integers(0, 5)),
        st.tuples(st.just("mark"),),
    ),
    min_size=4,
    max_size=30,
)


class Story:
    """Random writes through the ledger's own functions, remembering moments to ask about."""

    def __init__(self):
        self.claims, self.attributions, self.documents, self.moments = [], [], [], []
        for source_id, grade, affiliation in SOURCES:
            source_writes.create_source({"id": source_id, "name": source_id.title(), "kind": "other",
                                  "reliability": grade, "affiliation": affiliation})

    def apply(self, operation):
        kind, *args = operation
        try:
            getattr(self, kind)(*args)
        except (Conflict, Invalid):
            pass  # e.g. a retraction of what is retracted already: refused, nothing written

    def claim(self, party, words):
        data = {"text": " ".join(words) + f" {len(self.claims)}", "subjects": words[:1], "event_time": None,
                "parties": ["dprk-state"] if party else []}
        self.claims.append(ledger.create_claim(data).id)

    def attribute(self, index, source, stance, basis, confidence, relayed, published_days):
        if not self.claims:
            return
        document = self.documents[index % len(self.documents)] if self.documents and index % 2 else None
        data = {"source": source, "stance": stance, "basis": basis, "confidence": confidence / 4,
                "via": ["heraldo"] if relayed and source != "heraldo" else [], "quote": None,
                "document_id": document,
                "published_at": None if published_days is None else BASE + timedelta(days=published_days)}
        attribution, _ = ledger.add_attribution(self.claims[index % len(self.claims)], data)
        self.attributions.append(attribution.id)

    def retract(self, index):
        if self.attributions:
            ledger.retract_attribution(self.attributions[index % len(self.attributions)], "withdrawn")

    def regrade(self, source, grade):
        source_writes.update_source(source, {"reliability": grade})

    def regroup(self, source, grouped):
        source_writes.update_source(source, {"affiliation": "west-press" if grouped else None})

    def reparty(self, index, party):
        if self.claims:
            ledger.update_claim(self.claims[index % len(self.claims)],
                                {"parties": ["dprk-state"] if party else []}, lambda claim: None)

    def document(self, days):
        document = ledger.create_document({"publisher_id": "heraldo", "title": f"Report {days}", "url": None,
                                           "published_at": BASE + timedelta(days=days), "language": "en",
                                           "text": None})
        self.documents.append(document.id)

    def retract_document(self, index):
        if self.documents:
            ledger.retract_document(self.documents[index % len(self.documents)], "unreliable")

    def mark(self):
        time.sleep(0.0005)
        self.moments.append(datetime.now(timezone.utc))
        time.sleep(0.0005)


def rederived(as_of, published_before):
    """The oracle: every claim of then, derived from scratch, with what the filters need."""
    claims = Claim.select().order_by(Claim.id.desc())
    if as_of is not None:
        claims = claims.where(Claim.created_at <= as_of)
    return {shot.id: (shot, statements, derivation)
            for shot, statements, derivation in derive_many(list(claims), as_of, published_before)}


def oracle_ids(world, filters, as_of, published_before):
    """Ids (newest first) that the filters admit, decided from the re-derivation alone."""
    admitted = []
    for claim_id in sorted(world, reverse=True):
        shot, statements, derivation = world[claim_id]
        active = [s for s in statements if is_active(s, as_of, published_before)]
        checks = [
            not filters.get("status") or derivation.status in filters["status"],
            filters.get("min_confidence") is None
            or (derivation.confidence is not None and derivation.confidence >= filters["min_confidence"]),
            not filters.get("source") or any(s.source == filters["source"] for s in active),
            not filters.get("relayed_by") or any(filters["relayed_by"] in s.via for s in active),
            not filters.get("subject") or subject_term(filters["subject"]) in {subject_term(s) for s in shot.subjects},
            not filters.get("party") or filters["party"] in shot.parties,
            not filters.get("q") or words_of(filters["q"]) <= words_of(shot.text),
        ]
        if all(checks):
            admitted.append(claim_id)
    return admitted


def oracle_summary(world):
    totals, per_source = dict.fromkeys(STATUSES, 0), {}
    for _, _, derivation in world.values():
        totals[derivation.status] += 1
        for source in {s for o in derivation.origins for s in o.sources}:
            per_source.setdefault(source, dict.fromkeys(STATUSES, 0))[derivation.status] += 1
    return {"total": len(world), "by_status": totals,
            "by_source": [{"source": s, "by_status": per_source[s]} for s in sorted(per_source)]}


FILTERS = [{}, {"status": ["confirmed"]}, {"status": ["reported", "denied"]}, {"status": ["disputed"]},
           {"min_confidence": 0.5}, {"source": "nyt"}, {"source": "kcna"}, {"relayed_by": "heraldo"},
           {"party": "dprk-state"}, {"subject": "KIM"}, {"q": "putin"}, {"q": "CAFE\u0301 train"},
           {"status": ["reported"], "source": "reuters", "min_confidence": 0.2}]


def listed_ids(client, params):
    """Every id a list gives when its cursor is followed to the end (pages may be partial)."""
    ids, cursor = [], None
    for _ in range(500):
        response = client.get("/v1/claims", query_string={**params, "limit": 2, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        ids += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids
    raise AssertionError("the cursor never ended")


def check_moment(client, as_of, published_before):
    times = {k: v.isoformat() for k, v in (("as_of", as_of), ("published_before", published_before)) if v}
    world = rederived(as_of, published_before)
    for claim_id, (_, _, derivation) in world.items():
        body = client.get(f"/v1/claims/{claim_id}", query_string=times).get_json()
        expected = queries.fresh_derivation(derivation)
        assert {k: body[k] for k in expected} == expected, (claim_id, times)
    for filters in FILTERS:
        assert listed_ids(client, {**filters, **times}) == oracle_ids(world, filters, as_of, published_before), \
            (filters, times)
    assert client.get("/v1/summary", query_string=times).get_json() == oracle_summary(world), times


@pytest.fixture
def small_windows(monkeypatch):
    """Scan a window of one claim first, within small budgets, so pages come back partial and cursors go on;
    fold the world-time counts' log every few rows, so summaries read both the folded sums and the log."""
    monkeypatch.setattr(queries, "FIRST_WINDOW", 1)
    monkeypatch.setattr(queries, "SCAN_BUDGET", 5)
    monkeypatch.setattr(queries, "REDERIVE_BUDGET", 3)
    monkeypatch.setattr(world_tally, "FOLD_EVERY", 7)


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(story=operations)
def test_stored_timelines_equal_rederivation(fresh_database, small_windows, story):
    app = build_app(fresh_database())
    client = app.test_client()
    with db.connection_context():
        written = Story()
        for operation in story:
            written.apply(operation)
        written.mark()
        publication_times = {a.published_at for a in Attribution.select() if a.published_at}
        publication_times |= {d.published_at for d in Document.select() if d.published_at}
        # Marks fall between writes; the times of writes themselves test each boundary (<= versus <).
        write_times = sorted({a.retracted_at for a in Attribution.select() if a.retracted_at})[-3:]
        write_times += sorted({e.at for e in HistoryEntry.select()})[-3:]
        for as_of in written.moments + write_times:
            check_moment(client, as_of, None)
        for moment in sorted(publication_times)[:4] + [BASE - timedelta(days=1)]:
            check_moment(client, None, moment)
            check_moment(client, written.moments[0], moment)
        assert verify_ledger() == []
