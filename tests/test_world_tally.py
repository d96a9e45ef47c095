"""Counts at a world time from sums (service.world_tally): exact at bucket edges, for claims with no dated statement,
after writes that move a claim's status at a past time, by source, folded or still in the log, and after a backfill."""

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service import ledger, source_writes, tally, world_tally
from service.clock import BEGINNING, from_micros, to_micros
from service.count_models import TallyCheckpoint, WorldTally, WorldTallyDelta
from service.db import db
from service.migrations import NAMES, migrate, runner
from service.models import Attribution
from service.verify import verify_ledger, verify_world_counts
from tests.test_past_time_property import oracle_summary, rederived

MICRO = timedelta(microseconds=1)
BUCKET = timedelta(microseconds=2**world_tally.BUCKET_BITS)
# The start of a level-1 bucket near 2023-09-01: its edges are where a read changes from sums to moments.
EDGE = from_micros(BEGINNING + ((to_micros(datetime(2023, 9, 1, tzinfo=timezone.utc)) - BEGINNING)
                                >> world_tally.BUCKET_BITS << world_tally.BUCKET_BITS))
MOMENTS = [EDGE - timedelta(days=3), EDGE - MICRO, EDGE, EDGE + MICRO, EDGE + BUCKET - MICRO, EDGE + BUCKET,
           EDGE + timedelta(days=40), datetime(2999, 1, 1, tzinfo=timezone.utc)]


@given(st.integers(0, 2**63 - 1))
def test_the_nodes_before_a_moment_tile_every_bucket_before_its_own(offset):
    width = {k: 1 << (k - 1) * world_tally.LEVEL_BITS for k in range(1, world_tally.LEVELS + 1)}
    spans = sorted((first * width[k], (last + 1) * width[k]) for k, first, last in world_tally.nodes_before(offset))
    edges = [0] + [end for _, end in spans]
    assert [start for start, _ in spans] == edges[:-1]
    assert edges[-1] == offset >> world_tally.BUCKET_BITS


@pytest.fixture(params=[1, 10**9], ids=["folded", "logged"])
def fold_every(request, monkeypatch):
    """Fold the log at every write, or never: both halves of a read must count alike."""
    monkeypatch.setattr(world_tally, "FOLD_EVERY", request.param)
    return request.param


def summaries(client):
    """The summary at every moment of MOMENTS, through the API."""
    found = []
    for moment in MOMENTS:
        response = client.get("/v1/summary", query_string={"published_before": moment.isoformat()})
        assert response.status_code == 200, response.get_json()
        found.append(response.get_json())
    return found


def assert_counts_true(client):
    assert summaries(client) == [oracle_summary(rederived(None, moment)) for moment in MOMENTS]


def write_story(client):
    """Claims whose world timelines start at BEGINNING, at bucket edges and beside them, then rewrites of the past."""
    for source_id, grade, affiliation in (("nyt", "B", None), ("reuters", "A", None), ("blog", "E", None),
                                          ("kcna", "D", "dprk-state"), ("heraldo", "C", None)):
        source_writes.create_source({"id": source_id, "name": source_id.title(), "kind": "other", "reliability": grade,
                              "affiliation": affiliation})

    def claim(text, *attributions):
        data = {"text": text, "subjects": [], "parties": ["dprk-state"], "event_time": None,
                "attributions": [{"stance": "supports", "basis": "secondhand", "confidence": 0.6, "via": [],
                                  "quote": None, "document_id": None, **a} for a in attributions]}
        return ledger.create_claim(data).id

    def attribute(claim_id, source, published_at, stance="supports", via=()):
        data = {"source": source, "stance": stance, "basis": "firsthand", "confidence": 0.7, "via": list(via),
                "quote": None, "document_id": None, "published_at": published_at}
        return ledger.add_attribution(claim_id, data)[0].id

    claim("Nothing said yet.")
    claim("Undated: counted from when it was recorded.", {"source": "blog", "published_at": None})
    edge = claim("Published on the edge.", {"source": "nyt", "published_at": EDGE})
    claim("Published a microsecond before it.", {"source": "reuters", "published_at": EDGE - MICRO})
    claim("Published at the last microsecond of the bucket.",
          {"source": "heraldo", "published_at": EDGE + BUCKET - MICRO})
    assert_counts_true(client)
    # Rewrites of the past: a denial published before the support moves the claim's status at every later moment.
    denial = attribute(edge, "kcna", EDGE - timedelta(days=1), stance="denies")
    assert_counts_true(client)
    attribute(edge, "reuters", EDGE + MICRO, via=["heraldo"])
    assert_counts_true(client)
    ledger.retract_attribution(denial, "withdrawn")
    assert_counts_true(client)
    source_writes.update_source("reuters", {"reliability": "E"})
    source_writes.update_source("heraldo", {"affiliation": "dprk-state"})
    assert_counts_true(client)


def test_counts_at_world_times_equal_rederivation(app, database, fold_every):
    client = app.test_client()
    write_story(client)
    if fold_every == 1:
        assert WorldTallyDelta.select().count() == 0 and WorldTally.select().count() > 0
    else:
        assert WorldTally.select().count() == 0 and WorldTallyDelta.select().count() > 0
    assert verify_ledger() == []


def test_counts_now_and_as_of_hold_across_checkpoints(app, database, monkeypatch):
    """Knowledge-time counts are a checkpoint plus the deltas after it: with a checkpoint every few deltas,
    the summary still equals a recount and the ledger verifies."""
    monkeypatch.setattr(tally, "CHECKPOINT_EVERY", 3)
    client = app.test_client()
    write_story(client)
    assert TallyCheckpoint.select().count() >= 3
    now = client.get("/v1/summary").get_json()
    assert now == oracle_summary(rederived(None, None))
    assert verify_ledger() == []


def test_verify_finds_sums_that_disagree_with_the_timelines(app, database, fold_every):
    write_story(app.test_client())
    world_tally.fold()
    (WorldTally.update(total=WorldTally.total + 1)
     .where(WorldTally.level == 5, WorldTally.source == "nyt")
     .execute())
    # The changed level disagrees with the one below it and with the one above it.
    found = verify_world_counts()
    assert any("level 5" in line for line in found) and any("level 6" in line for line in found), found
    world_tally.recount()
    WorldTallyDelta.insert(at=to_micros(EDGE), source="", status="confirmed", delta=1).execute()
    assert any("level 0" in line for line in verify_world_counts())


def test_a_database_before_the_sums_gets_them_from_its_timelines(app, database):
    """Migration 0006 sums the world-time timelines a database already holds."""
    client = app.test_client()
    write_story(client)
    assert Attribution.select().count() == 6
    expected = summaries(client)
    db.drop_tables([WorldTally, WorldTallyDelta])
    history = runner().History
    history.delete().where(history.name == NAMES[6]).execute()
    migrate()
    assert summaries(client) == expected
    assert world_tally.differences() == [] and verify_ledger() == []


def test_concurrent_writers_lose_no_move(app, database, monkeypatch):
    """Writers append while others fold (on PostgreSQL each in its own transaction): every move is counted once."""
    monkeypatch.setattr(world_tally, "FOLD_EVERY", 5)
    write_story(app.test_client())
    claims = [ledger.create_claim({"text": f"Claim {i}.", "subjects": [], "parties": [], "event_time": None}).id
              for i in range(8)]

    def write(worker):
        with db.connection_context():
            for i in range(12):
                data = {"source": ["nyt", "reuters", "blog", "kcna"][(worker + i) % 4], "stance": "supports",
                        "basis": "firsthand", "confidence": 0.5, "via": [], "quote": None, "document_id": None,
                        "published_at": EDGE + (i - 6) * BUCKET / 3}
                ledger.add_attribution(claims[(worker * 3 + i) % len(claims)], data)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, range(4)))
    assert world_tally.differences() == []
    assert_counts_true(app.test_client())
