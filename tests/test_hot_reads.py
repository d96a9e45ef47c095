"""The list's shortcuts (service.reads): origins kept by their stored text, answering as if parsed afresh."""

import orjson

from service import reads

ORIGINS = ('[{"group":"nyt","sources":["nyt"],"relays":["el-heraldo"],"bases":["secondhand"],"stance":"supports",'
           '"credible":true,"interested":false,"confidence":0.6}]')


def test_origins_are_parsed_once_per_text_and_keep_it():
    origins = reads.stored_origins(ORIGINS)
    assert origins == orjson.loads(ORIGINS) and origins.stored == ORIGINS
    assert reads.stored_origins(ORIGINS) is origins
    assert orjson.dumps({"origins": origins}) == b'{"origins":' + ORIGINS.encode() + b"}"
    other = ORIGINS.replace("0.6", "0.5")
    assert reads.stored_origins(other) is not origins and reads.stored_origins(other)[0]["confidence"] == 0.5


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
