"""The web pages' form, CSRF, session and scope logic through Flask's test client, on both databases."""

import re

import pytest

from service.rules import SourceFacts
from service.web.graph import provenance_svg
from service.web.marks import marked_passages

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TEXT = "The ministry said on Monday that the train had left. Officials declined to comment."


def csrf_of(client, path="/login"):
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)


def sign_in(client, token):
    response = client.post("/login", data={"token": token, "csrf_token": csrf_of(client)})
    assert response.status_code == 302, response.get_data(as_text=True)
    return csrf_of(client, "/")


def field_errors(response):
    return dict(re.findall(r'class="field-error" id="err-([^"]+)">([^<]*)<', response.get_data(as_text=True)))


@pytest.fixture
def drills(ledger):
    """Sources and one claim resting on a single relayed origin, as in the README."""
    ledger.source("rok-nis", "B")
    ledger.source("el-heraldo", "C")
    ledger.source("yonhap", "B")
    ledger.source("kremlin", "D", affiliation="russia-state")
    return ledger.claim("The Kremlin proposed naval drills.", parties=["russia-state"], attributions=[
        {"source": "rok-nis", "via": ["el-heraldo"], "stance": "supports", "basis": "secondhand", "confidence": 0.6}])


def test_the_session_cookie_holds_no_token_and_is_strict(client, tokens, drills):
    client.get("/login")
    response = client.post("/login", data={"token": tokens["write"], "csrf_token": csrf_of(client)})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    secret = tokens["write"].split("_", 2)[2]  # rdly_<key id>_<secret>; the secret may hold "_"
    assert secret not in cookie and secret not in response.headers.get("Location", "")
    page = client.get(f"/claims/{drills['id']}")
    assert "Add an attribution" in page.get_data(as_text=True)
    assert secret not in page.get_data(as_text=True)


def test_sign_out_ends_the_session(client, tokens, drills):
    csrf = sign_in(client, tokens["write"])
    assert client.post("/logout").status_code == 400  # a forged sign-out is refused too
    response = client.post("/logout", data={"csrf_token": csrf})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = client.get(f"/claims/{drills['id']}").get_data(as_text=True)
    assert "Signed out." in page and "Add an attribution" not in page and "Sign in</a>" in page
    body = {"source": "yonhap", "stance": "supports", "basis": "secondhand", "confidence": "0.5"}
    csrf = csrf_of(client)  # the login form's: the session lives on, signed out
    assert client.post(f"/claims/{drills['id']}/attributions", data={**body, "csrf_token": csrf}).status_code == 401


def test_a_wrong_token_is_refused_beside_its_field(client, drills):
    response = client.post("/login", data={"token": "rpt_0000000000000000_nope", "csrf_token": csrf_of(client)})
    assert response.status_code == 401
    assert field_errors(response) == {"token": "This token is unknown or revoked."}


def test_posts_need_the_sessions_csrf_token(client, tokens, drills):
    sign_in(client, tokens["admin"])
    body = {"source": "yonhap", "stance": "supports", "basis": "secondhand", "confidence": "0.5"}
    assert client.post(f"/claims/{drills['id']}/attributions", data=body).status_code == 400
    assert client.post(f"/claims/{drills['id']}/attributions", data={**body, "csrf_token": "x"}).status_code == 400
    assert client.post("/login", data={"token": tokens["admin"]}).status_code == 400


def test_scopes_are_the_apis(client, tokens, drills):
    body = {"source": "yonhap", "stance": "supports", "basis": "secondhand", "confidence": "0.5"}
    csrf = csrf_of(client)
    assert client.post(f"/claims/{drills['id']}/attributions", data={**body, "csrf_token": csrf}).status_code == 401
    csrf = sign_in(client, tokens["read"])
    assert "Add an attribution" not in client.get(f"/claims/{drills['id']}").get_data(as_text=True)
    assert client.post(f"/claims/{drills['id']}/attributions", data={**body, "csrf_token": csrf}).status_code == 403
    assert client.get("/claims/new").status_code == 403
    csrf = sign_in(client, tokens["write"])
    assert client.post("/sources/yonhap/grade", data={"reliability": "A", "csrf_token": csrf}).status_code == 403
    response = client.post(f"/claims/{drills['id']}/attributions", data={**body, "csrf_token": csrf})
    assert response.status_code == 302
    claim = client.get(f"/v1/claims/{drills['id']}").get_json()
    assert claim["status"] == "confirmed"


def test_schema_and_ledger_refusals_show_beside_their_fields(client, tokens, drills):
    csrf = sign_in(client, tokens["write"])
    path = f"/claims/{drills['id']}/attributions"
    bad_number = client.post(path, data={"source": "yonhap", "stance": "supports", "basis": "secondhand",
                                         "confidence": "lots", "csrf_token": csrf})
    assert bad_number.status_code == 422
    assert field_errors(bad_number) == {"confidence": "Not a valid number."}
    unknown = client.post(path, data={"source": "yonhap", "via": "nobody", "stance": "supports",
                                      "basis": "secondhand", "confidence": "0.5", "csrf_token": csrf})
    assert unknown.status_code == 422
    assert field_errors(unknown) == {"via": "Unknown source: nobody."}
    new = client.post("/claims/new", data={"text": "A claim.", "parties": "no-such-group",
                                           "attributions.0.source": "yonhap", "attributions.0.stance": "supports",
                                           "attributions.0.basis": "secondhand",
                                           "attributions.0.confidence": "7", "csrf_token": csrf})
    assert new.status_code == 422
    assert list(field_errors(new)) == ["attributions-0-confidence"]
    assert 'value="no-such-group"' in new.get_data(as_text=True)  # what was typed stays


def test_a_new_claim_with_its_first_attribution(client, tokens, drills):
    csrf = sign_in(client, tokens["write"])
    response = client.post("/claims/new", data={
        "text": "Yonhap says so.", "subjects": "Navy, Russia", "parties": "",
        "attributions.0.source": "yonhap", "attributions.0.stance": "supports",
        "attributions.0.basis": "firsthand", "attributions.0.confidence": "0.7", "csrf_token": csrf})
    assert response.status_code == 302
    claim = client.get(response.headers["Location"].replace("/claims/", "/v1/claims/")).get_json()
    assert (claim["subjects"], claim["status"], claim["attributions"][0]["source"]) == (
        ["Navy", "Russia"], "reported", "yonhap")


def test_time_travel_draws_grades_and_parties_as_they_stood(client, ledger, drills):
    claim = f"/v1/claims/{drills['id']}"
    created = ledger.get(f"{claim}/history")["items"][0]["at"]
    etag = client.get("/v1/sources/rok-nis").headers["ETag"]
    assert client.patch("/v1/sources/rok-nis", json={"reliability": "E"},
                        headers={**ledger.auth(), "If-Match": etag}).status_code == 200
    etag = client.get(claim).headers["ETag"]
    assert client.patch(claim, json={"parties": ["rok-nis"]},
                        headers={**ledger.auth(), "If-Match": etag}).status_code == 200
    now = client.get(f"/claims/{drills['id']}").get_data(as_text=True)
    then = client.get(f"/claims/{drills['id']}", query_string={"as_of": created}).get_data(as_text=True)
    party = ">party to the claim</text>"
    assert "ROK-NIS (E)" in now and party in now and '<span class="grade">grade E</span>' in now
    assert "ROK-NIS (B)" in then and party not in then and '<span class="grade">grade B</span>' in then


def test_a_new_claim_with_several_first_attributions(client, tokens, drills):
    csrf = sign_in(client, tokens["write"])
    boxes = {"attributions.0.source": "yonhap", "attributions.0.confidence": "0.7",
             "attributions.2.source": "rok-nis", "attributions.2.via": "el-heraldo"}
    for n in range(3):  # the pickers of every box always send a value, the blank middle one's too
        boxes |= {f"attributions.{n}.stance": "supports", f"attributions.{n}.basis": "secondhand"}
    refused = client.post("/claims/new", data={"text": "Two say so.", "csrf_token": csrf, **boxes,
                                               "attributions.2.confidence": "lots"})
    assert refused.status_code == 422
    assert field_errors(refused) == {"attributions-2-confidence": "Not a valid number."}  # beside the third box
    response = client.post("/claims/new", data={"text": "Two say so.", "csrf_token": csrf, **boxes,
                                                "attributions.2.confidence": "0.6"})
    assert response.status_code == 302
    claim = client.get(response.headers["Location"].replace("/claims/", "/v1/claims/")).get_json()
    assert [(a["source"], a["via"], a["confidence"]) for a in claim["attributions"]] == [
        ("yonhap", [], 0.7), ("rok-nis", ["el-heraldo"], 0.6)]
    assert claim["status"] == "confirmed"


def test_a_stale_parties_form_says_changed_meanwhile(client, tokens, drills):
    csrf = sign_in(client, tokens["write"])
    page = client.get(f"/claims/{drills['id']}").get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    first = client.post(f"/claims/{drills['id']}/parties",
                        data={"parties": "", "version": version, "csrf_token": csrf})
    assert first.status_code == 302
    stale = client.post(f"/claims/{drills['id']}/parties",
                        data={"parties": "russia-state", "version": version, "csrf_token": csrf})
    assert stale.status_code == 412
    assert "changed meanwhile" in stale.get_data(as_text=True)
    assert client.get(f"/v1/claims/{drills['id']}").get_json()["parties"] == []


def test_retractions_and_a_regrade(client, tokens, ledger, drills):
    csrf = sign_in(client, tokens["admin"])
    attribution = drills["attributions"][0]["id"]
    path = f"/claims/{drills['id']}/attributions/{attribution}/retraction"
    assert client.post(path, data={"reason": "", "csrf_token": csrf}).status_code == 422
    assert client.post(path, data={"reason": "misread", "csrf_token": csrf}).status_code == 302
    again = client.post(path, data={"reason": "misread", "csrf_token": csrf})
    assert again.status_code == 409 and "retracted already" in again.get_data(as_text=True)
    page = client.get(f"/claims/{drills['id']}").get_data(as_text=True)
    assert "<del>" in page and "misread" in page and 'stroke-dasharray="6 4"' in page
    version = re.search(r'name="version" value="(\d+)"', client.get("/sources/rok-nis").get_data(as_text=True))
    response = client.post("/sources/rok-nis/grade", data={"reliability": "A", "version": version.group(1),
                                                           "csrf_token": csrf})
    assert response.status_code == 302
    assert client.get("/v1/sources/rok-nis").get_json()["reliability"] == "A"
    assert "grade A" in client.get("/sources/rok-nis").get_data(as_text=True)


def test_a_document_marks_each_quote_and_can_be_retracted(client, tokens, ledger, drills):
    document = ledger.post("/v1/documents", {"publisher": "yonhap", "title": "Report", "text": TEXT})
    added = ledger.attribute(drills["id"], "yonhap", document_id=document["id"], quote="the train had left")
    page = client.get(f"/documents/{document['id']}").get_data(as_text=True)
    assert (f'<mark id="quote-{added["id"]}"><a href="/claims/{drills["id"]}#attribution-{added["id"]}">'
            f'the train had left</a></mark>') in page
    inside = ledger.attribute(drills["id"], "el-heraldo", document_id=document["id"], quote="train")
    page = client.get(f"/documents/{document['id']}").get_data(as_text=True)
    assert page.count(f'id="quote-{added["id"]}"') == 1  # the claim page's link lands on every quote,
    assert f'<li id="quote-{inside["id"]}"' in page  # one inside a passage already marked too
    csrf = sign_in(client, tokens["write"])
    response = client.post(f"/documents/{document['id']}/retraction", data={"reason": "withdrawn", "csrf_token": csrf})
    assert response.status_code == 302
    assert [a["retraction_reason"] for a in client.get(f"/v1/claims/{drills['id']}").get_json()["attributions"]] == [
        None, "withdrawn", "withdrawn"]


def test_the_boards_filter_form_follows_each_query_string(client, drills):
    """The form is kept per query string (service.web.board.filter_form): each shows its own values, a refused
    one its errors every time, and the same query string the same form."""
    def form_of(query):
        page = client.get("/?" + query).get_data(as_text=True)
        return page[page.index('<form method="get"'):page.index("</form>")]

    naval, drills_form = form_of("q=naval&status=reported"), form_of("q=drills")
    assert 'name="q" value="naval"' in naval and 'value="reported" checked' in naval
    assert 'name="q" value="drills"' in drills_form and "checked" not in drills_form
    assert form_of("q=naval&status=reported") == naval
    for _ in range(2):
        response = client.get("/?min_confidence=lots")
        assert response.status_code == 422
        assert field_errors(response) == {"min_confidence": "Not a valid number."}
    assert "field-error" not in form_of("min_confidence=0.5")
    escaped = form_of("q=%3Cscript%3E")
    assert "<script>" not in escaped and 'value="&lt;script&gt;"' in escaped


def test_pages_carry_the_safety_headers_and_escape_input(client, ledger):
    ledger.source("evil", "C", name="<script>alert(1)</script>")
    for path in ("/", "/sources", "/sources/evil", "/login", "/claims/99", "/web-static/style.css"):
        response = client.get(path)
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "<script>alert" not in response.get_data(as_text=True)
    assert client.get("/claims/99").status_code == 404
    assert client.get("/v1/claims/99").mimetype == "application/problem+json"  # the API keeps its own errors


def test_reads_can_require_sign_in(fresh_database, tokens):
    from tests.conftest import build_app

    closed = build_app(fresh_database(), PUBLIC_READS=False).test_client()
    assert closed.get("/").status_code == 401
    assert closed.get("/login").status_code == 200


def test_the_graph_draws_relays_stances_retractions_and_parties():
    claim = {"id": 7, "status": "disputed", "parties": ["russia-state"], "attributions": [
        {"source": "nyt", "via": ["heraldo"], "stance": "supports", "retracted_at": None},
        {"source": "kremlin", "via": [], "stance": "denies", "retracted_at": "2026-01-01"},
    ]}
    sources = {"nyt": SourceFacts("nyt", "The <Times>", "B"), "heraldo": SourceFacts("heraldo", "El Heraldo", "C"),
               "kremlin": SourceFacts("kremlin", "Kremlin", "D", "russia-state")}
    svg = provenance_svg(claim, sources)
    assert svg.count("<line") == 3 + 3  # three edges, three legend keys
    assert 'stroke="#b42318" stroke-width="2" stroke-dasharray="6 4"' in svg
    assert svg.count("party to the claim") == 1 and "The &lt;Times&gt; (B)" in svg
    assert "The &lt;Times&gt; via El Heraldo supports. Kremlin denies (retracted)." in svg


def test_passages_mark_each_found_quote_once():
    quotes = [{"id": 1, "quote": "the train had left"}, {"id": 2, "quote": "train"},
              {"id": 3, "quote": "not in the text"}, {"id": 4, "quote": None}]
    passages = marked_passages(TEXT, quotes)
    assert "".join(p for p, _ in passages) == TEXT
    assert [(p, a["id"]) for p, a in passages if a] == [("the train had left", 1)]


def test_the_board_shows_a_rows_change_at_once(client, ledger, drills):
    """Board rows and counts are kept per worker (service.web.board): a new name, status or confidence shows at
    the very next board, and the board reads the same before and after a round trip through the cache."""
    def row():
        page = client.get("/").get_data(as_text=True)
        return re.search(rf'<li class="claim-row" data-claim="{drills["id"]}">.*?</li>', page, re.S).group(0)

    first = row()
    assert first == row() and 'href="/sources/rok-nis">ROK-NIS</a>' in first
    etag = client.get("/v1/sources/rok-nis").headers["ETag"]
    renamed = client.patch("/v1/sources/rok-nis", json={"name": "Korea NIS"},
                           headers={**ledger.auth(), "If-Match": etag})
    assert renamed.status_code == 200, renamed.get_json()
    assert 'href="/sources/rok-nis">Korea NIS</a>' in row()
    claim = ledger.attribute(drills["id"], "yonhap", basis="firsthand", confidence=0.9)
    status = client.get(f"/v1/claims/{drills['id']}").get_json()
    changed = row()
    assert status["status"] != drills["status"] or status["confidence"] != drills["confidence"], claim
    assert f'class="badge s-{status["status"]}' in changed and f"confidence {status['confidence']:.2f}" in changed
    assert changed != first
    counts = client.get("/").get_data(as_text=True)
    assert f'data-status="{status["status"]}">1<' in counts
