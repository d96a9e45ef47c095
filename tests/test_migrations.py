"""Versioned migrations: an old database upgrades intact, several migrators at once are safe, and `q`
finds the same claims through each database's own text search."""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from service import ledger
from service.auth import create_token
from service.db import db
from service.migrations import LATEST, NAMES, current_version, migrate, runner
from service.models import MODELS, Claim, ClaimTerm
from service.search import words_of
from service.seeding import load_seeds
from tests.conftest import build_app

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
BIN = Path(sys.executable).parent


def snapshot():
    """Every row of every table, in a stable order."""
    return {model.__name__: sorted(model.select().tuples(), key=repr) for model in MODELS}


def test_a_version_1_database_with_data_upgrades_intact(fresh_database):
    app = build_app(fresh_database(), schema_version=1)
    db.connect(reuse_if_open=True)
    try:
        load_seeds(SEEDS)
        [arms] = Claim.select().where(Claim.text.contains("artillery"))
        ledger.update_source("nyt", {"reliability": "E"})
        ledger.retract_attribution(arms.attributions[0].id, "misread")
        # version 1 indexed every word of a claim as a term: make the data look as it then did
        ClaimTerm.insert_many([{"claim": c.id, "kind": "word", "term": w}
                               for c in Claim.select() for w in sorted(words_of(c.text))]).execute()
        before = snapshot()
        assert migrate() == LATEST
        after = snapshot()
    finally:
        db.close()
    assert {name: rows for name, rows in after.items() if name != "ClaimTerm"} == \
           {name: rows for name, rows in before.items() if name != "ClaimTerm"}
    assert after["ClaimTerm"] == [row for row in before["ClaimTerm"] if row[2] != "word"]
    client = app.test_client()
    [found] = client.get("/v1/claims", query_string={"q": "ARTILLERY shells"}).get_json()["items"]
    assert found["id"] == arms.id and found["status"] == "unconfirmed"
    assert client.get("/v1/summary").get_json()["total"] == 19


def test_several_migrators_at_once(fresh_database):
    env = {**os.environ, "REPORTEDLY_DATABASE_URL": fresh_database()}

    def run(_):
        return subprocess.run([BIN / "reportedly", "migrate"], env=env, capture_output=True, text=True)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run, range(4)))
    assert [r.returncode for r in results] == [0] * 4, [r.stderr for r in results]
    assert {r.stdout.strip() for r in results} == {f"schema at version {LATEST}"}
    build_app(env["REPORTEDLY_DATABASE_URL"])
    db.connect(reuse_if_open=True)
    try:
        assert sorted(runner().applied()) == sorted(NAMES.values()) and current_version() == LATEST
    finally:
        db.close()


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
    db.connect(reuse_if_open=True)
    try:
        token = create_token("search", "write")
    finally:
        db.close()
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
        build_app(fresh_database(), schema_version=1)
        db.connect(reuse_if_open=True)
        try:
            columns = {column.name for column in db.get_columns("claim")}
            tables = set(db.get_tables())
        finally:
            db.close()
    finally:
        Claim._meta.remove_field("added_later")
    assert columns == {"id", "text", "subjects", "parties", "event_time", "created_at", "updated_at", "status",
                       "confidence", "likelihood", "explanation", "origins"}
    assert tables >= {model._meta.table_name for model in MODELS}
