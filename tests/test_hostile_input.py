"""Spec §13 and the defects of issue 9 found from outside: each input gets the status the spec names."""

import json

import pytest
from conftest import build_app
from test_errors import assert_problem

SURROGATE = "a\ud800b"
SOURCE = {"id": "wire", "name": "Wire", "kind": "wire_service", "reliability": "B"}


@pytest.fixture
def seeded(ledger):
    """A source, a document, a claim with an attribution in that document; their ids."""
    ledger.source("nyt")
    document = ledger.post("/v1/documents", {"publisher": "nyt", "title": "Report", "text": "Kim left by train."})
    claim = ledger.claim("Kim left.", attributions=[{"source": "nyt", "stance": "supports", "basis": "secondhand",
                                                    "confidence": 0.5, "document_id": document["id"],
                                                    "quote": "Kim left by train."}])
    return {"document": document["id"], "claim": claim["id"], "attribution": claim["attributions"][0]["id"]}


def free_text_writes(ids):
    """(method, path, body, field) for every free-text field of every write, with a lone surrogate in it."""
    attribution = {"source": "nyt", "stance": "supports", "basis": "secondhand", "confidence": 0.5}
    claim, document, attribution_id = ids["claim"], ids["document"], ids["attribution"]
    return [
        ("POST", "/v1/sources", {**SOURCE, "name": SURROGATE}, "name"),
        ("POST", "/v1/sources", {**SOURCE, "description": SURROGATE}, "description"),
        ("PATCH", "/v1/sources/nyt", {"name": SURROGATE}, "name"),
        ("PATCH", "/v1/sources/nyt", {"description": SURROGATE}, "description"),
        ("POST", "/v1/claims", {"text": SURROGATE}, "text"),
        ("POST", "/v1/claims", {"text": "ok", "subjects": [SURROGATE]}, "subjects.0"),
        ("PATCH", f"/v1/claims/{claim}", {"text": SURROGATE}, "text"),
        ("PATCH", f"/v1/claims/{claim}", {"subjects": ["ok", SURROGATE]}, "subjects.1"),
        ("POST", f"/v1/claims/{claim}/attributions", {**attribution, "quote": SURROGATE}, "quote"),
        ("POST", "/v1/documents", {"publisher": "nyt", "title": SURROGATE}, "title"),
        ("POST", "/v1/documents", {"publisher": "nyt", "title": "ok", "text": SURROGATE}, "text"),
        ("POST", f"/v1/attributions/{attribution_id}/retraction", {"reason": SURROGATE}, "reason"),
        ("POST", f"/v1/documents/{document}/retraction", {"reason": SURROGATE}, "reason"),
        ("POST", "/v1/claims", {"text": "ok", "event_time": "2026-01-01T00:00:00" + SURROGATE}, "event_time"),
    ]


def send(client, ledger, method, path, body):
    headers = {**ledger.auth(), "Content-Type": "application/json"}
    if method == "PATCH":
        headers["If-Match"] = client.get(path).headers["ETag"]
    # json.dumps escapes the surrogate as \ud800, exactly as a hostile client would send it.
    return client.open(path, method=method, data=json.dumps(body), headers=headers)


def test_a_lone_surrogate_in_any_free_text_field_is_a_422_naming_it(client, ledger, seeded):
    for method, path, body, field in free_text_writes(seeded):
        problem = assert_problem(send(client, ledger, method, path, body), 422)
        assert field in problem["errors"], (method, path, problem)
    assert client.get(f"/v1/claims/{seeded['claim']}").get_json()["text"] == "Kim left."


def test_a_duplicate_key_is_a_422_naming_it(client, ledger):
    body = '{"text": "first", "text": "second"}'
    problem = assert_problem(client.post("/v1/claims", data=body, content_type="application/json",
                                         headers=ledger.auth()), 422)
    assert list(problem["errors"]) == ["text"]
    nested = '{"text": "a", "attributions": [{"source": "x", "source": "y"}]}'
    problem = assert_problem(client.post("/v1/claims", data=nested, content_type="application/json",
                                         headers=ledger.auth()), 422)
    assert list(problem["errors"]) == ["source"]
    assert ledger.get("/v1/claims")["items"] == []


@pytest.mark.parametrize("path", [
    "/v1/summary?status=confirmed",
    "/v1/claims?colour=red",
    "/v1/claims/{claim}?limit=1",
    "/v1/claims/{claim}/history?status=reported",
    "/v1/claims/{claim}/attributions?q=x",
    "/v1/sources?as_of=2026-01-01T00:00:00Z",
    "/v1/sources/nyt?x=1",
    "/v1/documents/{document}?x=1",
])
def test_an_unknown_query_parameter_is_a_422_naming_it(client, seeded, path):
    problem = assert_problem(client.get(path.format(**seeded)), 422)
    [name] = [part.split("=")[0] for part in path.split("?")[1].split("&")]
    assert name in problem["errors"], problem


def test_a_cursor_is_valid_only_for_the_list_and_filters_that_issued_it(client, ledger, seeded):
    for n in range(3):
        ledger.claim(f"Claim {n}.", subjects=["x"])
    claims_cursor = ledger.get("/v1/claims", limit=1, subject="x")["next_cursor"]
    assert ledger.get("/v1/claims", limit=1, subject="x", cursor=claims_cursor)["items"]
    ledger.attribute(seeded["claim"], "nyt")
    attributions_cursor = ledger.get(f"/v1/claims/{seeded['claim']}/attributions", limit=1)["next_cursor"]
    for path, params in [
        (f"/v1/claims/{seeded['claim']}/history", {"cursor": claims_cursor}),
        (f"/v1/claims/{seeded['claim']}/attributions", {"cursor": claims_cursor}),
        ("/v1/claims", {"cursor": claims_cursor, "subject": "y"}),
        ("/v1/claims", {"cursor": claims_cursor}),
        ("/v1/claims", {"cursor": attributions_cursor}),
        ("/v1/sources", {"cursor": claims_cursor}),
    ]:
        problem = assert_problem(client.get(path, query_string=params), 422)
        assert list(problem["errors"]) == ["cursor"], (path, params)


@pytest.mark.parametrize("params,field", [
    ({"as_of": "2026-01-01T00:00:00+00:00:01"}, "as_of"),
    ({"as_of": "2026-01-01T00:00:00+0000"}, "as_of"),
    ({"published_before": "٢٠٢٦-01-01T00:00:00Z"}, "published_before"),
    ({"limit": "١٠"}, "limit"),
    ({"limit": "1e1"}, "limit"),
    ({"min_confidence": "٠.٥"}, "min_confidence"),
    ({"min_confidence": "NaN"}, "min_confidence"),
])
def test_odd_numbers_and_offsets_in_queries_are_422(client, params, field):
    problem = assert_problem(client.get("/v1/claims", query_string=params), 422)
    assert list(problem["errors"]) == [field]


def test_a_double_slash_with_a_forged_host_is_no_redirect(client, seeded):
    response = client.get(f"/v1/claims//{seeded['claim']}", headers={"Host": "evil.example"})
    assert_problem(response, 404)
    assert "Location" not in response.headers


def test_options_needs_a_token_when_reads_are_not_public(database_url):
    client = build_app(database_url, PUBLIC_READS=False).test_client()
    response = client.options("/v1/claims")
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.open("/v1/claims", method="OPTIONS").status_code == 401


def test_options_answers_with_allow_when_reads_are_public(client):
    response = client.options("/v1/claims")
    assert response.status_code == 200
    assert {"GET", "POST"} <= set(response.headers["Allow"].split(", "))


def test_every_answer_says_nosniff_who_may_cache_it_and_that_it_varies_with_the_token(client, ledger, seeded):
    public = client.get(f"/v1/claims/{seeded['claim']}")
    private = client.get(f"/v1/claims/{seeded['claim']}", headers=ledger.auth("read"))
    error = client.get("/v1/claims/999")
    write = client.post("/v1/claims", json={"text": "x"}, headers=ledger.auth())
    for response in (public, private, error, write):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "Authorization" in response.headers["Vary"]
    assert public.headers["Cache-Control"] == "no-cache"
    for response in (private, error, write):
        assert response.headers["Cache-Control"] == "no-store"


def test_an_answer_that_varies_with_more_than_the_token_names_each_once_and_a_page_keeps_its_own_caching(
        client, seeded):
    claim = f"/v1/claims/{seeded['claim']}"
    for varied in (client.get(claim, headers={"Accept": "application/ld+json"}), client.get(f"/claims/{seeded['claim']}")):
        names = [name.strip() for name in varied.headers["Vary"].split(",")]
        assert "Authorization" in names and len(names) == len(set(names)) == 2, names
    assert client.get(f"/claims/{seeded['claim']}").headers["Cache-Control"] == "no-store"  # a page, not no-cache
    assert [name for name, _ in client.get(claim).headers].count("X-Request-ID") == 1


def test_a_weak_if_none_match_gets_304(client, seeded):
    for path in (f"/v1/claims/{seeded['claim']}", "/v1/sources/nyt"):
        etag = client.get(path).headers["ETag"]
        assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
        assert client.get(path, headers={"If-None-Match": f"W/{etag}"}).status_code == 304
        assert client.get(path, headers={"If-None-Match": 'W/"other"'}).status_code == 200


def test_docs_load_swagger_ui_from_the_service_itself(client):
    page = client.get("/docs").get_data(as_text=True)
    assert "cdn" not in page.lower() and "https://" not in page
    for name in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"):
        assert f'"/docs/static/{name}"' in page
        response = client.get(f"/docs/static/{name}")
        assert response.status_code == 200 and len(response.data) > 1000
    assert_problem(client.get("/docs/static/index.html"), 404)
    assert_problem(client.get("/docs/static/..%2Fsetup.cfg"), 404)


def test_healthz_names_the_database_kind(client, database_url):
    health = client.get("/healthz").get_json()
    if database_url.startswith("sqlite"):
        assert health["engine"] == "sqlite" and health["sqlite_version"].startswith("3.")
    else:
        assert health["engine"] == "postgresql" and health["server_version"]
        assert "sqlite_version" not in health
