"""The seed article comes out as §8 says, and loading it twice adds nothing."""

from pathlib import Path

import pytest

from service.db import db
from service.seeding import load_seeds

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def load(app):
    with db.connection_context():
        return load_seeds(SEEDS)


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


def test_the_what_ifs_of_the_status_rules_page(seeded, ledger):
    """docs/status-rules.md walks these through; keep the page honest."""
    [arms] = ledger.get("/v1/claims", q="artillery")["items"]
    [departure] = ledger.get("/v1/claims", q="armored train")["items"]
    [drills] = ledger.get("/v1/claims", q="naval exercises")["items"]
    ledger.source("reuters", reliability="A", name="Reuters", kind="wire_service")
    ledger.source("yonhap", reliability="B", name="Yonhap", kind="wire_service")

    yonhap = ledger.attribute(drills["id"], "yonhap", confidence=0.5)["claim"]
    assert (yonhap["status"], yonhap["confidence"]) == ("confirmed", 0.8)
    assert yonhap["explanation"] == [
        "confirmed: independent credible origins South Korean intelligence (B), relayed by El Heraldo; and Yonhap (B)"]

    kremlin = ledger.attribute(arms["id"], "kremlin", stance="denies", confidence=0.7)
    assert kremlin["claim"]["status"] == "denied"
    assert kremlin["claim"]["explanation"] == [
        "denied by Kremlin (party)", "still reported by The New York Times (B), relayed by El Heraldo"]
    ledger.retract(kremlin["id"])
    reuters = ledger.attribute(arms["id"], "reuters", stance="denies", confidence=0.5)["claim"]
    assert reuters["explanation"] == [
        "disputed: supported by The New York Times (B), relayed by El Heraldo; denied by Reuters (A), independent and credible"]

    denial = ledger.attribute(departure["id"], "dprk-government", stance="denies", confidence=0.3)["claim"]
    assert denial["status"] == "confirmed"
    assert denial["explanation"][1] == "denied by North Korean government (party), which does not undo confirmation"
    departure_then = ledger.get(f"/v1/claims/{departure['id']}", published_before="2023-09-10T00:00:00Z")
    assert departure_then["status"] == "unconfirmed"
