"""The seed article comes out as §8 says, and loading it twice adds nothing."""

from pathlib import Path

import pytest

from service.db import db
from service.seeding import load_seeds

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def load(app):
    db.connect(reuse_if_open=True)
    try:
        return load_seeds(SEEDS)
    finally:
        db.close()


@pytest.fixture
def seeded(app):
    return load(app)


def origin_groups(claim):
    return {o["group"] for o in claim["origins"]}


def test_the_article_is_loaded_whole(seeded, app):
    assert seeded == {"sources": 7, "documents": 1, "claims": 19}
    assert load(app) == {"sources": 0, "documents": 0, "claims": 0}


def test_party_records_are_confirmed_and_the_rest_reported(seeded, ledger):
    confirmed = ledger.get("/v1/claims", status="confirmed", limit=200)["items"]
    reported = ledger.get("/v1/claims", status="reported", limit=200)["items"]
    assert len(confirmed) + len(reported) == 19
    # KCNA's photos and the UN resolutions: a party's own record of its own act
    assert {frozenset(origin_groups(c)) for c in confirmed} == {frozenset({"dprk-state"}), frozenset({"unsc"})}
    assert all(c["explanation"][0].startswith("confirmed: primary record by") for c in confirmed)
    assert len([c for c in confirmed if origin_groups(c) == {"dprk-state"}]) == 8
    assert len([c for c in confirmed if origin_groups(c) == {"unsc"}]) == 3
    # The New York Times, South Korean intelligence, or El Heraldo's own expectation
    assert set().union(*(origin_groups(c) for c in reported)) == {"nyt", "rok-nis", "el-heraldo"}
    assert all(c["explanation"][0].startswith("reported: single origin") for c in reported)


def test_relays_and_explanations_name_the_sources(seeded, ledger):
    [arms] = ledger.get("/v1/claims", q="artillery")["items"]
    assert arms["status"] == "reported"
    assert arms["explanation"][0] == "reported: single origin The New York Times (B), relayed by El Heraldo"
    [meeting] = ledger.get("/v1/claims", q="Vladivostok")["items"]
    assert meeting["explanation"][0] == "reported: single origin El Heraldo (C)"
    assert meeting["event_time"] == "2023-09-13T02:00:00+00:00"


def test_summary_counts_the_seed_ledger(seeded, ledger):
    summary = ledger.get("/v1/summary")
    assert summary["total"] == 19
    assert summary["by_status"] == {"confirmed": 11, "disputed": 0, "denied": 0, "reported": 8, "unconfirmed": 0}
    by_source = {row["source"]: row["by_status"] for row in summary["by_source"]}
    assert by_source["kcna"]["confirmed"] == 8 and by_source["nyt"]["reported"] == 4
