"""Versioned migrations: an old database upgrades intact with its timelines rebuilt, several migrators at once
are safe, and `q` finds the claims holding every word."""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from service import ledger, source_writes, timeline
from service.auth import create_token
from service.clock import FOREVER, to_micros
from service.db import db, is_postgresql
from service.migrations import LATEST, NAMES, current_version, migrate, runner
from service.models import (
    MODELS,
    POSTGRESQL_WORD_INDEX,
    Attribution,
    Claim,
    ClaimState,
    ClaimTerm,
    HistoryEntry,
    ImportReport,
    Job,
    TallyCheckpoint,
    TallyCount,
    TallyDelta,
    TermSpan,
    WordSpan,
    WorldSource,
    WorldState,
    WorldTally,
    WorldTallyDelta,
)
from service.rebuild import rebuild_all
from service.search import words_of
from service.seeding import load_seeds
from service.tally import counts_at, world_counts_at
from service.verify import verify_ledger
from tests.conftest import build_app, connected

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
BIN = Path(sys.executable).parent


INPUTS = ("Source", "SourceRevision", "Document", "Claim", "ClaimRevision", "Attribution", "Relay",
          "HistoryEntry", "Token", "IdempotencyRecord")
TIMELINES = (TermSpan, WordSpan, ClaimState, WorldState, WorldSource)
TALLIES = (TallyCount, TallyCheckpoint, TallyDelta, WorldTally, WorldTallyDelta)


def snapshot(models):
    """Every row of these tables, in a stable order."""
    return {model.__name__: sorted(model.select().tuples(), key=repr) for model in models}


def without_ids(model):
    """A timeline's rows without their ids, which a rebuild renumbers."""
    return sorted((row[1:] for row in model.select().tuples()), key=repr)


def test_a_version_2_database_with_data_gets_its_timelines(fresh_database):
    """Version 3 rebuilds from the inputs exactly the timelines that writes keep, and the counts of every moment."""
    app = build_app(fresh_database())
    with db.connection_context():
        load_seeds(SEEDS)
        [arms] = Claim.select().where(Claim.text.contains("artillery"))
        source_writes.update_source("nyt", {"reliability": "E"})
        ledger.retract_attribution(arms.attributions[0].id, "misread")
        ledger.update_claim(arms.id, {"subjects": ["Artillery"]}, lambda claim: None)
        inputs = snapshot([m for m in MODELS if m.__name__ in INPUTS])
        timelines = {model.__name__: without_ids(model) for model in TIMELINES}
        moments = sorted({e.at for e in HistoryEntry.select()})
        counts = [counts_at(moment) for moment in moments]
        published = sorted({a.published_at for a in Attribution.select() if a.published_at})
        world_counts = [world_counts_at(moment) for moment in published]
        # As version 2 left it: no timeline tables, no jobs or import reports, words kept in claim_term.
        db.drop_tables(TIMELINES + TALLIES + (Job, ImportReport))
        ClaimTerm.insert_many([{"claim": c.id, "kind": "word", "term": w}
                               for c in Claim.select() for w in sorted(words_of(c.text))]).execute()
        history = runner().History
        history.delete().where(history.name.in_([name for idx, name in NAMES.items() if idx >= 3])).execute()
        assert current_version() == 2
        assert migrate() == LATEST
        assert snapshot([m for m in MODELS if m.__name__ in INPUTS]) == inputs
        assert {model.__name__: without_ids(model) for model in TIMELINES} == timelines
        assert [counts_at(moment) for moment in moments] == counts
        assert [world_counts_at(moment) for moment in published] == world_counts
        assert ClaimTerm.select().count() == 0
        assert verify_ledger() == []
    client = app.test_client()
    [found] = client.get("/v1/claims", query_string={"q": "ARTILLERY shells"}).get_json()["items"]
    assert found["id"] == arms.id and found["status"] == "unconfirmed"
    assert client.get("/v1/summary").get_json()["total"] == 19


def test_version_10_keeps_the_words_of_every_moment_in_one_row_a_text(fresh_database):
    """Migration 0010 turns each word's term spans into word spans that hold the same words at every moment, so `q`
    finds what it found, now and in the past."""
    app = build_app(fresh_database())
    with db.connection_context():
        load_seeds(SEEDS)
        [arms] = Claim.select().where(Claim.text.contains("artillery"))
        texts = ["Artillery shells were shipped.", "shipped: ARTILLERY, shells!", "— … —", "Shells only, shipped."]
        moments = []
        for text in texts:
            ledger.update_claim(arms.id, {"text": text}, lambda claim: None)
            moments.append(Claim.get_by_id(arms.id).updated_at.isoformat())
        spans = without_ids(WordSpan)
        # As version 9 left them: a term span a word, from when the text gained it until it lost it.
        TermSpan.insert_many(_as_word_terms(WordSpan.select())).execute()
        db.drop_tables([WordSpan])
        history = runner().History
        history.delete().where(history.name.in_([name for idx, name in NAMES.items() if idx >= 10])).execute()
        assert current_version() == 9
        assert migrate() == LATEST
        assert without_ids(WordSpan) == spans
        assert len([s for s in spans if s[0] == arms.id]) == 3 + 1  # the seed's text, the same words twice, fewer
        assert TermSpan.select().where(TermSpan.kind == "word").count() == 0
        assert verify_ledger() == []
    client = app.test_client()
    found = [[c["id"] for c in client.get("/v1/claims", query_string={"q": "shells artillery", "as_of": moment})
              .get_json()["items"]] for moment in moments]
    assert found == [[arms.id], [arms.id], [], []]


def test_edits_at_one_moment_keep_one_open_span_and_a_rebuild_writes_the_same(database_url, monkeypatch):
    """Several edits of a claim in one transaction, at one moment: what the last leaves holds from that moment, the
    spans the earlier ones opened are gone, and a rebuild from the revisions writes the same term and word spans."""
    build_app(database_url)
    with db.connection_context():
        claim = ledger.create_claim({"text": "alpha beta", "subjects": ["S"], "parties": [], "event_time": None})
        moment = timeline.write_moment()
        monkeypatch.setattr(timeline, "write_moment", lambda: moment)
        with ledger.claim_write():
            for change in ({"text": "gamma", "subjects": ["T"]}, {"text": "— —"}, {"text": "alpha beta"},
                           {"text": "Delta!", "subjects": ["S"]}):
                ledger.update_claim(claim.id, change, lambda claim: None)
        at = to_micros(moment)
        words = without_ids(WordSpan)
        assert [(w, start < at, end) for _, w, start, end in words] == [(" alpha beta ", True, at),
                                                                         (" delta ", False, FOREVER)]
        terms = without_ids(TermSpan)
        assert [(term, start < at, end) for _, _, term, start, end in terms] == [("s", True, at), ("s", False, FOREVER)]
        assert verify_ledger() == []
        rebuild_all()
        assert (without_ids(WordSpan), without_ids(TermSpan)) == (words, terms)


def _as_word_terms(spans):
    """Word term spans as version 9 wrote them: one a word for each run of time it was held without a break."""
    held = {}
    for span in spans.order_by(WordSpan.claim, WordSpan.valid_from):
        for word in span.words.split():
            runs = held.setdefault((span.claim_id, word), [])
            if runs and runs[-1][1] == span.valid_from:
                runs[-1][1] = span.valid_to
            else:
                runs.append([span.valid_from, span.valid_to])
    return [{"claim": claim_id, "kind": "word", "term": word, "valid_from": start, "valid_to": end}
            for (claim_id, word), runs in held.items() for start, end in runs]


def test_several_migrators_at_once(fresh_database):
    env = {**os.environ, "REPORTEDLY_DATABASE_URL": fresh_database()}

    def run(_):
        return subprocess.run([BIN / "reportedly", "migrate"], env=env, capture_output=True, text=True)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run, range(4)))
    assert [r.returncode for r in results] == [0] * 4, [r.stderr for r in results]
    assert {r.stdout.strip() for r in results} == {f"schema at version {LATEST}"}
    build_app(env["REPORTEDLY_DATABASE_URL"])
    with db.connection_context():
        assert sorted(runner().applied()) == sorted(NAMES.values()) and current_version() == LATEST


def test_the_migrated_schema_has_exactly_the_indexes_the_models_declare(fresh_database):
    """A fresh database migrated to the latest version holds the models' indexes and no other (an index the models
    no longer declare costs every write and serves no read; one they declare but lack slows the reads)."""
    build_app(fresh_database())
    with db.connection_context():
        for model in MODELS:
            declared = {
                index._name: ([field.column_name for field in index._expressions], index._unique, index._where is not None)
                for index in model._meta.fields_to_index()
            }
            present = {
                index.name: (index.columns, index.unique, " where " in index.sql.lower())
                for index in db.get_indexes(model._meta.table_name)
                if not index.name.endswith("_pkey") and not index.name.startswith("sqlite_autoindex")
            }
            if model is WordSpan and is_postgresql():
                assert present.pop(POSTGRESQL_WORD_INDEX)[0] == ["string_to_array(words, ' '::text)"]
            assert present == declared, model._meta.table_name


TEXTS = [
    "Foreign Minister Choe Son-hui travels with Kim Jong Un.",
    "KCNA photos show the farewell in Pyŏngyang.",
    "The farewell was held in Pyongyang, said KCNA.",
    "Pak Thae-song is the Workers' Party's secretary for science.",
    "Sanctioned by the UN Security Council since 2016.",
    "Kim hopes for food aid and satellite technology.",
]
QUERIES = ["son", "son-hui", "hui son", "kcna", "KCNA photos", "pyŏngyang", "pyongyang", "workers", "party's",
           "2016", "food aid", "aid food", "satellites", "the", "kim", "jong-un", "council security un"]


@pytest.fixture
def search_ledger(fresh_database):
    """The texts above as claims; returns the client and {claim id: text}."""
    client = build_app(fresh_database()).test_client()
    with db.connection_context():
        token = create_token("search", "write")
    claims = {}
    for text in TEXTS:
        response = client.post("/v1/claims", json={"text": text}, headers={"Authorization": f"Bearer {token}"})
        claims[response.get_json()["id"]] = text
    return client, claims


def test_q_finds_the_claims_holding_every_word(search_ledger):
    client, claims = search_ledger
    for query in QUERIES:
        expected = {i for i, text in claims.items() if words_of(query) <= words_of(text)}
        found = {c["id"] for c in client.get("/v1/claims", query_string={"q": query}).get_json()["items"]}
        assert found == expected, query


def test_version_1_is_frozen_whatever_the_live_models_say(fresh_database):
    """A column added to a live model later must not appear in what migration 0001 creates."""
    from peewee import TextField

    Claim._meta.add_field("added_later", TextField(null=True))
    try:
        with connected(build_app(fresh_database(), schema_version=1)):
            columns = {column.name for column in db.get_columns("claim")}
            tables = set(db.get_tables())
    finally:
        Claim._meta.remove_field("added_later")
    assert columns == {"id", "text", "subjects", "parties", "event_time", "created_at", "updated_at", "status",
                       "confidence", "likelihood", "explanation", "origins"}
    assert tables - {"schema_version"} == {"source", "source_revision", "document", "claim", "claim_revision",
                                           "claim_term", "attribution", "relay", "history_entry", "token",
                                           "idempotency_record"}
