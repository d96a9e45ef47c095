"""The list's shortcuts (service.reads): stored JSON kept or passed on, answering as if parsed and encoded afresh."""

import json

import orjson

from service import reads, sql
from service.api.base import json_response
from service.models import Claim
from tests.conftest import connected

ORIGINS = ('[{"group":"nyt","sources":["nyt"],"relays":["el-heraldo"],"bases":["secondhand"],"stance":"supports",'
           '"credible":true,"interested":false,"confidence":0.6}]')


def test_origins_are_parsed_once_per_text_and_keep_it():
    origins = reads.stored_origins(ORIGINS)
    assert origins == orjson.loads(ORIGINS) and origins.stored == ORIGINS
    assert reads.stored_origins(ORIGINS) is origins
    assert orjson.dumps({"origins": origins}) == b'{"origins":' + ORIGINS.encode() + b"}"
    other = ORIGINS.replace("0.6", "0.5")
    assert reads.stored_origins(other) is not origins and reads.stored_origins(other)[0]["confidence"] == 0.5


def test_origins_go_into_a_response_as_stored_only_when_that_is_their_encoding(app):
    first_releases = ORIGINS.replace("0.6", "6e-05")  # json.dumps; orjson writes 0.00006
    with app.test_request_context():
        for text in (ORIGINS, first_releases):
            body = json_response({"origins": reads.stored_origins(text)}).get_data()
            assert body == orjson.dumps({"origins": orjson.loads(text)})
    assert reads.stored_origins(ORIGINS).fragment is not None and reads.stored_origins(first_releases).fragment is None


def test_claims_sharing_origins_get_lines_that_follow_each_change(ledger):
    ledger.source("nyt", name="The New York Times")
    ledger.source("yonhap", name="Yonhap", kind="wire_service")
    one, two = (ledger.claim(text, attributions=[{"source": "nyt", "stance": "supports", "basis": "secondhand",
                                                  "confidence": 0.6}]) for text in ("One.", "Two."))
    listed = {item["id"]: item for item in ledger.get("/v1/claims")["items"]}
    assert listed[one["id"]]["origins"] == listed[two["id"]]["origins"] == one["origins"]
    assert {item["attribution_line"] for item in listed.values()} == {
        "According to The New York Times; not independently confirmed."}
    ledger.attribute(two["id"], "yonhap")
    listed = {item["id"]: item for item in ledger.get("/v1/claims")["items"]}
    assert listed[one["id"]]["attribution_line"] == "According to The New York Times; not independently confirmed."
    assert listed[two["id"]]["attribution_line"] == "Confirmed by two independent sources, The New York Times and Yonhap."
    assert listed[two["id"]]["origins"] == ledger.get(f"/v1/claims/{two['id']}")["origins"] != one["origins"]


def test_a_page_passes_on_stored_json_in_the_bytes_a_fresh_encoding_gives(ledger, app):
    """Subjects, parties and explanations go into a page as stored: written by the encoder of the first
    releases (json.dumps) or by orjson, the page is what encoding them afresh gives."""
    ledger.source("kcna", reliability="D", affiliation="dprk-state", name="KCNA", kind="state_media")
    subjects = ['Kim "Jong" Un', "back\\slash", "tab\tand\nline", "Pyongyang – 평양", "line\u2028break", "🚂"]
    claim = ledger.claim("Kim left.", parties=["dprk-state"], subjects=subjects, attributions=[
        {"source": "kcna", "stance": "supports", "basis": "documentary", "confidence": 0.9}])
    with connected(app):
        for field in ("subjects", "parties", "explanation"):
            first_releases = json.dumps(claim[field], ensure_ascii=False, separators=(",", ":"))
            sql.run(f"UPDATE {sql.table(Claim)} SET {sql.columns(Claim, field)} = {sql.marks(1)} "
                    f"WHERE {sql.columns(Claim, 'id')} = {sql.marks(1)}", [first_releases, claim["id"]])
    body = ledger.client.get("/v1/claims").get_data()
    assert body == orjson.dumps(orjson.loads(body))
    [item] = orjson.loads(body)["items"]
    assert item["subjects"] == subjects
    assert item == {name: value for name, value in ledger.get(f"/v1/claims/{claim['id']}").items() if name in item}


def test_a_claim_is_read_in_two_statements_and_its_line_names_its_sources_as_they_are_named_now(ledger, app,
                                                                                               monkeypatch):
    """The claim, then its attributions with the names of their sources and relays: the line needs no third."""
    ledger.source("kcna", reliability="D", affiliation="dprk-state", name="KCNA", kind="state_media")
    ledger.source("nyt", name="The New York Times")
    ledger.source("yonhap", name="Yonhap", kind="wire_service")
    claim = ledger.claim("Kim left.", attributions=[
        {"source": "kcna", "via": ["nyt"], "stance": "supports", "basis": "documentary", "confidence": 0.9}])
    ledger.attribute(claim["id"], "yonhap")
    etag = ledger.client.get("/v1/sources/nyt").headers["ETag"]
    renamed = ledger.client.patch("/v1/sources/nyt", json={"name": "The Times"},
                                  headers={**ledger.auth(), "If-Match": etag})
    assert renamed.status_code == 200
    database = app.extensions["reportedly.db"]
    statements, execute = [], database.execute_sql
    monkeypatch.setattr(database, "execute_sql", lambda sql, *args, **kwargs: statements.append(sql) or execute(
        sql, *args, **kwargs))

    read = ledger.get(f"/v1/claims/{claim['id']}")

    assert len(statements) == 2, statements
    assert "The Times" in read["attribution_line"] and "The New York Times" not in read["attribution_line"]
    assert "KCNA" in read["attribution_line"] and "Yonhap" in read["attribution_line"]
    monkeypatch.undo()
    assert read == ledger.get(f"/v1/claims/{claim['id']}", published_before="2999-01-01T00:00:00Z")
