"""Claims over HTTP: creation, filters, pagination, past-time reads, history and PATCH."""

import time
from datetime import datetime, timezone

import pytest


@pytest.fixture
def world(ledger):
    """A small ledger: a party's own record, a single report, a disputed claim."""
    ledger.source("kcna", reliability="D", affiliation="dprk-state", name="KCNA", kind="state_media")
    ledger.source("kremlin", reliability="D", affiliation="russia-state", name="Kremlin", kind="government")
    ledger.source("nyt", name="The New York Times")
    ledger.source("reuters", reliability="A", name="Reuters", kind="wire_service")
    ledger.source("el-heraldo", reliability="C", name="El Heraldo")
    train = ledger.claim("Kim left Pyongyang by armored train.", parties=["dprk-state"], subjects=["Kim Jong Un"],
                         attributions=[{"source": "kcna", "via": ["el-heraldo"], "stance": "supports",
                                        "basis": "documentary", "confidence": 0.9}])
    arms = ledger.claim("Russia wants North Korean artillery.", parties=["russia-state", "dprk-state"],
                        subjects=["Russia"],
                        attributions=[{"source": "nyt", "via": ["el-heraldo"], "stance": "supports",
                                       "basis": "secondhand", "confidence": 0.6}])
    drills = ledger.claim("Joint naval drills were proposed.", subjects=["Russia"],
                          attributions=[{"source": "nyt", "stance": "supports", "basis": "secondhand", "confidence": 0.5},
                                        {"source": "reuters", "stance": "denies", "basis": "secondhand", "confidence": 0.5}])
    return {"train": train, "arms": arms, "drills": drills}


def ids(page):
    return [item["id"] for item in page["items"]]


def now_param():
    time.sleep(0.002)
    moment = datetime.now(timezone.utc).isoformat()
    time.sleep(0.002)
    return moment


def test_create_returns_derived_fields_and_attributions(world):
    train = world["train"]
    assert train["status"] == "confirmed"
    assert train["confidence"] == 0.9 and train["likelihood"] == "very likely"
    assert train["explanation"] == ["confirmed: primary record by KCNA (party, documentary), relayed by El Heraldo"]
    assert train["origins"] == [{"group": "dprk-state", "sources": ["kcna"], "relays": ["el-heraldo"],
                                 "bases": ["documentary"], "stance": "supports",
                                 "credible": False, "interested": True, "confidence": 0.9}]
    [attribution] = train["attributions"]
    assert attribution["via"] == ["el-heraldo"] and attribution["claim_id"] == train["id"]
    assert attribution["recorded_at"].endswith("+00:00")


def test_list_is_newest_first_and_filters_combine(world, ledger):
    assert ids(ledger.get("/v1/claims")) == [world["drills"]["id"], world["arms"]["id"], world["train"]["id"]]
    assert ids(ledger.get("/v1/claims", status="confirmed")) == [world["train"]["id"]]
    assert ids(ledger.get("/v1/claims", status=["confirmed", "disputed"])) == [world["drills"]["id"], world["train"]["id"]]
    assert ids(ledger.get("/v1/claims", source="nyt")) == [world["drills"]["id"], world["arms"]["id"]]
    assert ids(ledger.get("/v1/claims", relayed_by="el-heraldo")) == [world["arms"]["id"], world["train"]["id"]]
    assert ids(ledger.get("/v1/claims", subject="RUSSIA")) == [world["drills"]["id"], world["arms"]["id"]]
    assert ids(ledger.get("/v1/claims", party="dprk-state")) == [world["arms"]["id"], world["train"]["id"]]
    assert ids(ledger.get("/v1/claims", q="armored KIM")) == [world["train"]["id"]]
    assert ids(ledger.get("/v1/claims", q="armor")) == []
    assert ids(ledger.get("/v1/claims", min_confidence=0.6)) == [world["arms"]["id"], world["train"]["id"]]
    assert ids(ledger.get("/v1/claims", source="nyt", status="reported")) == [world["arms"]["id"]]
    assert "attributions" not in ledger.get("/v1/claims")["items"][0]


def test_keyset_pagination_walks_every_claim_once(ledger):
    created = [ledger.claim(f"Claim number {i}.")["id"] for i in range(7)]
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = ledger.get("/v1/claims", **params)
        seen += ids(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(created))


def test_past_time_lists_page_and_filter_like_current_ones(world, ledger):
    moment = now_param()
    for params in ({}, {"status": "reported"}, {"source": "nyt"}, {"relayed_by": "el-heraldo"},
                   {"subject": "russia"}, {"party": "dprk-state"}, {"q": "kim"}, {"min_confidence": 0.6},
                   {"limit": 1}):
        past, current = ledger.get("/v1/claims", as_of=moment, **params), ledger.get("/v1/claims", **params)
        # Same items, same 'more'; the cursors differ, each bound to the filters (as_of included) that issued it.
        assert past["items"] == current["items"], params
        assert (past["next_cursor"] is None) == (current["next_cursor"] is None), params
    page = ledger.get("/v1/claims", as_of=moment, limit=2)
    rest = ledger.get("/v1/claims", as_of=moment, limit=2, cursor=page["next_cursor"])
    assert ids(page) + ids(rest) == ids(ledger.get("/v1/claims"))


def test_as_of_answers_what_was_known_then(world, ledger):
    arms = world["arms"]["id"]
    before = now_param()
    ledger.source("rok-nis", name="South Korean intelligence")
    ledger.attribute(arms, "rok-nis", confidence=0.5)
    after_support = now_param()
    later = ledger.claim("A claim made later.")

    assert ledger.get(f"/v1/claims/{arms}")["status"] == "confirmed"
    then = ledger.get(f"/v1/claims/{arms}", as_of=before)
    assert then["status"] == "reported" and len(then["attributions"]) == 1
    assert ledger.get(f"/v1/claims/{arms}", as_of=after_support)["status"] == "confirmed"
    assert ledger.get(f"/v1/claims/{later['id']}", as_of=before, expect=404)["status"] == 404
    assert later["id"] not in ids(ledger.get("/v1/claims", as_of=before))
    assert ids(ledger.get("/v1/claims", as_of=before, status="confirmed")) == [world["train"]["id"]]
    summary = ledger.get("/v1/summary", as_of=before)
    assert summary["total"] == 3 and summary["by_status"]["confirmed"] == 1


def test_as_of_uses_the_source_grades_and_parties_of_then(world, ledger, client):
    arms = world["arms"]["id"]
    before = now_param()
    etag = client.get("/v1/sources/nyt").headers["ETag"]
    response = client.patch("/v1/sources/nyt", json={"reliability": "E"}, headers={**ledger.auth(), "If-Match": etag})
    assert response.status_code == 200
    explanation_now = ledger.get(f"/v1/claims/{arms}")["explanation"][0]
    assert "The New York Times (E)" in explanation_now
    assert "The New York Times (B)" in ledger.get(f"/v1/claims/{arms}", as_of=before)["explanation"][0]


def test_published_before_counts_only_statements_published_by_then(ledger):
    ledger.source("nyt")
    ledger.source("rok-nis")
    claim = ledger.claim("Drills were proposed.")
    ledger.attribute(claim["id"], "nyt", published_at="2023-09-04T12:00:00-04:00")
    ledger.attribute(claim["id"], "rok-nis", published_at="2023-09-12T09:00:00+09:00")
    assert ledger.get(f"/v1/claims/{claim['id']}")["status"] == "confirmed"
    early = ledger.get(f"/v1/claims/{claim['id']}", published_before="2023-09-10T00:00:00Z")
    assert early["status"] == "reported" and early["confidence"] == 0.6
    assert ids(ledger.get("/v1/claims", published_before="2023-09-10T00:00:00Z", status="reported")) == [claim["id"]]
    assert ledger.get("/v1/summary", published_before="2023-01-01T00:00:00Z")["by_status"]["unconfirmed"] == 1


def test_history_records_each_change_with_its_cause(world, ledger, client):
    arms = world["arms"]["id"]
    ledger.source("rok-nis")
    ledger.attribute(arms, "rok-nis", confidence=0.5)  # reported -> confirmed
    same = ledger.attribute(arms, "nyt", confidence=0.1)  # nothing changes: no entry
    assert same["claim"]["status"] == "confirmed"
    retracted = ledger.retract(same["id"])
    assert retracted["retracted_at"] is not None and retracted["claim"]["status"] == "confirmed"
    etag = client.get("/v1/sources/rok-nis").headers["ETag"]
    client.patch("/v1/sources/rok-nis", json={"reliability": "E"}, headers={**ledger.auth(), "If-Match": etag})
    history = ledger.get(f"/v1/claims/{arms}/history")["items"]
    assert [(h["status"], h["confidence"], h["cause"]["kind"]) for h in history] == [
        ("reported", 0.6, "created"),
        ("confirmed", 0.8, "attribution"),
        ("reported", 0.8, "source_change"),
    ]
    assert history[0]["cause"]["id"] == arms and history[2]["cause"]["id"] == "rok-nis"


def test_document_retraction_retracts_its_attributions(ledger):
    ledger.source("el-heraldo", reliability="C")
    ledger.source("nyt")
    document = ledger.post("/v1/documents", {"publisher": "el-heraldo", "title": "Kim travels",
                                             "published_at": "2023-09-11T18:00:00-06:00", "text": "the train left"})
    claim = ledger.claim("The train left.")
    attribution = ledger.attribute(claim["id"], "nyt", document_id=document["id"], quote="the train left")
    assert attribution["published_at"] == "2023-09-12T00:00:00+00:00"
    retracted = ledger.post(f"/v1/documents/{document['id']}/retraction", {"reason": "error"}, expect=200)
    assert retracted["retraction_reason"] == "error"
    claim_now = ledger.get(f"/v1/claims/{claim['id']}")
    assert claim_now["status"] == "unconfirmed" and claim_now["attributions"][0]["retraction_reason"] == "error"
    history = ledger.get(f"/v1/claims/{claim['id']}/history")["items"]
    assert history[-1]["cause"] == {"kind": "document_retraction", "id": document["id"]}
    ledger.post(f"/v1/documents/{document['id']}/retraction", {"reason": "again"}, expect=409)
    ledger.post(f"/v1/claims/{claim['id']}/attributions",
                {"source": "nyt", "stance": "supports", "basis": "secondhand", "confidence": 0.5,
                 "document_id": document["id"]}, expect=409)


def test_patch_needs_a_fresh_etag_and_records_a_party_change(world, ledger, client):
    arms = world["arms"]["id"]
    response = client.get(f"/v1/claims/{arms}")
    etag = response.headers["ETag"]
    assert client.get(f"/v1/claims/{arms}", headers={"If-None-Match": etag}).status_code == 304
    body = {"parties": []}
    assert client.patch(f"/v1/claims/{arms}", json=body, headers=ledger.auth("write")).status_code == 428
    stale = client.patch(f"/v1/claims/{arms}", json=body, headers={**ledger.auth("write"), "If-Match": '"stale"'})
    assert stale.status_code == 412
    patched = client.patch(f"/v1/claims/{arms}", json=body, headers={**ledger.auth("write"), "If-Match": etag})
    assert patched.status_code == 200 and patched.get_json()["parties"] == []
    assert patched.headers["ETag"] != etag
    again = client.patch(f"/v1/claims/{arms}", json={"text": "x"}, headers={**ledger.auth("write"), "If-Match": etag})
    assert again.status_code == 412


def test_parties_must_be_known_origin_groups(world, ledger):
    problem = ledger.post("/v1/claims", {"text": "x", "parties": ["kcna"]}, expect=422)
    assert "kcna" in problem["errors"]["parties"][0]
    assert ledger.post("/v1/claims", {"text": "x", "parties": ["nyt"]})["parties"] == ["nyt"]


def test_quote_must_occur_in_the_document_text(ledger):
    ledger.source("nyt")
    document = ledger.post("/v1/documents", {"publisher": "nyt", "title": "T", "text": "Kim hoped for food aid."})
    claim = ledger.claim("Kim hopes for food aid.")
    problem = ledger.post(f"/v1/claims/{claim['id']}/attributions",
                          {"source": "nyt", "stance": "supports", "basis": "secondhand", "confidence": 0.5,
                           "document_id": document["id"], "quote": "food aid and tanks"}, expect=422)
    assert list(problem["errors"]) == ["quote"]
    assert ledger.get(f"/v1/claims/{claim['id']}/attributions")["items"] == []


def test_summary_counts_by_status_and_origin_source(world, ledger):
    summary = ledger.get("/v1/summary")
    assert summary["total"] == 3
    assert summary["by_status"] == {"confirmed": 1, "disputed": 1, "denied": 0, "reported": 1, "unconfirmed": 0}
    by_source = {row["source"]: row["by_status"] for row in summary["by_source"]}
    assert set(by_source) == {"kcna", "nyt", "reuters"}
    assert by_source["nyt"] == {"confirmed": 0, "disputed": 1, "denied": 0, "reported": 1, "unconfirmed": 0}
    assert ledger.get("/v1/summary", as_of=now_param()) == summary


def test_attribution_list_is_newest_first_and_marks_retractions(world, ledger):
    drills = world["drills"]["id"]
    [first, second] = [a["id"] for a in ledger.get(f"/v1/claims/{drills}")["attributions"]]
    ledger.retract(first)
    page = ledger.get(f"/v1/claims/{drills}/attributions", limit=1)
    assert ids(page) == [second]
    rest = ledger.get(f"/v1/claims/{drills}/attributions", limit=1, cursor=page["next_cursor"])
    assert ids(rest) == [first] and rest["items"][0]["retracted_at"] is not None and rest["next_cursor"] is None


def test_a_claim_reads_the_same_now_and_as_of_now_after_it_changed(world, ledger, client):
    """Issue 9: embedded attributions are oldest first, and `updated_at` is the same now and at `as_of` now,
    after attributions, retractions and a PATCH."""
    drills = world["drills"]["id"]
    added = [ledger.attribute(drills, source, via=via)["id"]
             for source, via in (("el-heraldo", []), ("kcna", ["nyt", "el-heraldo"]), ("nyt", []))]
    # A full table page: a retraction then writes its row's new version on another page, which on
    # PostgreSQL moves it behind the others in the claim's index unless the read orders by id.
    for _ in range(2):
        ledger.claim("Filler.", attributions=[{"source": "reuters", "stance": "supports", "basis": "secondhand",
                                               "confidence": 0.5}] * 100)
    ledger.retract(world["drills"]["attributions"][0]["id"])
    ledger.retract(added[1])
    etag = client.get(f"/v1/claims/{drills}").headers["ETag"]
    patched = client.patch(f"/v1/claims/{drills}", json={"subjects": ["Russia", "Navy"]},
                           headers={**ledger.auth(), "If-Match": etag})
    assert patched.status_code == 200, patched.get_data(as_text=True)
    last = ledger.attribute(drills, "kremlin", stance="denies")["id"]

    current = ledger.get(f"/v1/claims/{drills}")
    oldest_first = sorted(a["id"] for a in world["drills"]["attributions"]) + added + [last]
    assert [a["id"] for a in current["attributions"]] == oldest_first
    assert current["updated_at"] > world["drills"]["updated_at"]
    moment = now_param()
    assert ledger.get(f"/v1/claims/{drills}", as_of=moment) == current
    assert ledger.get("/v1/claims", as_of=moment)["items"] == ledger.get("/v1/claims")["items"]
