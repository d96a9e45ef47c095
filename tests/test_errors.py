"""Every error of §6 from a real request, as RFC 9457 problem+json; bad input never writes a row."""

import io
import json
import threading

import pytest

from service import sql, timeline
from service.db import db
from service.errors import LedgerError
from service.models import MODELS
from service.problems import DOMAIN_STATUSES
from tests.conftest import build_app

PROBLEM_KEYS = {"type", "title", "status", "detail"}


def assert_problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert PROBLEM_KEYS <= set(body) and body["status"] == status
    assert body["type"].startswith("urn:reportedly:problem:")
    return body


def row_counts():
    with db.connection_context():
        return {model.__name__: model.select().count() for model in MODELS}


@pytest.fixture
def seeded(ledger):
    ledger.source("nyt")
    ledger.source("kcna", affiliation="dprk-state")
    claim = ledger.claim("A claim.", attributions=[{"source": "nyt", "stance": "supports", "basis": "secondhand",
                                                    "confidence": 0.5}])
    return claim


def test_400_malformed_json(client, ledger, seeded):
    body = assert_problem(client.post("/v1/claims", data="{not json", content_type="application/json",
                                      headers=ledger.auth()), 400)
    assert "not valid JSON" in body["detail"]


def test_401_without_or_with_a_bad_token(client, ledger):
    response = client.post("/v1/claims", json={"text": "x"})
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    bad = client.get("/v1/claims", headers={"Authorization": "Bearer rpt_0000_nope"})
    assert_problem(bad, 401)
    assert 'error="invalid_token"' in bad.headers["WWW-Authenticate"]
    assert_problem(client.get("/v1/claims", headers={"Authorization": "Basic abc"}), 401)


def test_403_scope_too_low(client, ledger):
    assert_problem(client.post("/v1/sources", json={"id": "x", "name": "X", "kind": "other"},
                               headers=ledger.auth("write")), 403)


def test_404_unknown_route_and_resource(client, seeded):
    assert_problem(client.get("/v1/nothing"), 404)
    assert_problem(client.get("/v1/claims/999"), 404)
    assert_problem(client.get("/v1/claims/99999999999999999999"), 404)
    assert_problem(client.get("/v1/sources/NOT_A_SLUG"), 404)
    assert_problem(client.get("/v1/documents/5"), 404)


def test_405_lists_the_allowed_methods(client):
    response = client.delete("/v1/claims")
    assert_problem(response, 405)
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_409_conflicts(client, ledger, seeded):
    ledger.post("/v1/sources", {"id": "nyt", "name": "Again", "kind": "news_outlet"}, expect=409)
    [attribution] = seeded["attributions"]
    ledger.retract(attribution["id"])
    assert_problem(client.post(f"/v1/attributions/{attribution['id']}/retraction", json={"reason": "x"},
                               headers=ledger.auth()), 409)


def test_412_and_428_on_patch(client, ledger, seeded):
    path = f"/v1/claims/{seeded['id']}"
    assert_problem(client.patch(path, json={"text": "y"}, headers=ledger.auth()), 428)
    assert_problem(client.patch(path, json={"text": "y"}, headers={**ledger.auth(), "If-Match": '"old"'}), 412)
    assert_problem(client.patch("/v1/sources/nyt", json={"name": "y"}, headers=ledger.auth()), 428)


def test_413_body_over_the_limit_even_chunked(database_url, tokens):
    app = build_app(database_url, MAX_BODY_BYTES=1000)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {tokens['admin']}"}
    before = row_counts()
    big = json.dumps({"text": "x" * 2000}).encode()
    assert_problem(client.post("/v1/claims", data=big, content_type="application/json", headers=headers), 413)
    chunked = client.post("/v1/claims", input_stream=io.BytesIO(big), content_type="application/json",
                          headers={**headers, "Transfer-Encoding": "chunked"},
                          environ_overrides={"wsgi.input_terminated": True})
    assert_problem(chunked, 413)
    assert row_counts() == before


def test_415_not_json(client, ledger):
    assert_problem(client.post("/v1/claims", data="text=x", content_type="application/x-www-form-urlencoded",
                               headers=ledger.auth()), 415)
    assert_problem(client.post("/v1/claims", headers=ledger.auth()), 415)


def test_422_names_field_and_reason(client, ledger):
    body = assert_problem(client.post("/v1/claims", json={"text": ""}, headers=ledger.auth()), 422)
    assert list(body["errors"]) == ["text"] and body["errors"]["text"]


def test_field_errors_have_one_dotted_shape_whichever_check_refused_them(client, ledger, seeded):
    """marshmallow nests its errors and the ledger names a dotted path; a client sees the dotted path from both."""
    attribution = {"source": "nyt", "stance": "supports", "basis": "secondhand", "confidence": 0.5}
    by_schema = assert_problem(client.post("/v1/claims", json={"text": "x", "attributions": [
        attribution, {**attribution, "stance": "sideways"}]}, headers=ledger.auth()), 422)
    assert by_schema["errors"] == {"attributions.1.stance": ["Must be one of: supports, denies."]}
    by_ledger = assert_problem(client.post("/v1/claims", json={"text": "x", "attributions": [
        attribution, {**attribution, "source": "nobody"}]}, headers=ledger.auth()), 422)
    assert by_ledger["errors"] == {"attributions.1.source": ["Unknown source: nobody."]}


def test_every_kind_of_domain_error_has_its_status():
    """A kind of service.errors without a status would leave handle_ledger_error nothing to answer with."""
    kinds = set(LedgerError.__subclasses__())
    assert kinds == set(DOMAIN_STATUSES) and sorted(DOMAIN_STATUSES.values()) == [404, 409, 412, 422]


def test_429_with_retry_after(database_url, tokens):
    client = build_app(database_url, RATE_LIMIT_PER_MINUTE=3).test_client()
    statuses = [client.get("/v1/claims").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get("/v1/claims")
    assert_problem(response, 429)
    assert int(response.headers["Retry-After"]) >= 1


ATTRIBUTION = {"source": "nyt", "stance": "supports", "basis": "secondhand", "confidence": 0.5}

HOSTILE_BODIES = [
    ("NaN", (400, 422), "/v1/claims/{claim}/attributions", '{"source": "nyt", "stance": "supports", "basis": "secondhand", "confidence": NaN}'),
    ("Infinity", (400, 422), "/v1/claims/{claim}/attributions", '{"source": "nyt", "stance": "supports", "basis": "secondhand", "confidence": Infinity}'),
    ("-Infinity", (400, 422), "/v1/claims/{claim}/attributions", '{"source": "nyt", "stance": "supports", "basis": "secondhand", "confidence": -Infinity}'),
    ("number as string", (422,), "/v1/claims/{claim}/attributions", json.dumps({**ATTRIBUTION, "confidence": "0.5"})),
    ("confidence out of range", (422,), "/v1/claims/{claim}/attributions", json.dumps({**ATTRIBUTION, "confidence": 1.5})),
    ("NUL in text", (422,), "/v1/claims", json.dumps({"text": "a\u0000b"})),
    ("NUL in subject", (422,), "/v1/claims", json.dumps({"text": "a", "subjects": ["x\u0000"]})),
    ("NUL in source name", (422,), "/v1/sources", json.dumps({"id": "x", "name": "X\u0000", "kind": "other"})),
    ("naive time", (422,), "/v1/claims", json.dumps({"text": "a", "event_time": "2023-09-13T12:00:00"})),
    ("date only", (422,), "/v1/claims", json.dumps({"text": "a", "event_time": "2023-09-13"})),
    ("unknown field", (422,), "/v1/claims", json.dumps({"text": "a", "status": "confirmed"})),
    ("unknown nested field", (422,), "/v1/claims", json.dumps({"text": "a", "attributions": [{**ATTRIBUTION, "x": 1}]})),
    ("over-long text", (422,), "/v1/claims", json.dumps({"text": "x" * 2001})),
    ("over-long subject", (422,), "/v1/claims", json.dumps({"text": "a", "subjects": ["s" * 201]})),
    ("too many subjects", (422,), "/v1/claims", json.dumps({"text": "a", "subjects": ["s"] * 51})),
    ("slug with a trailing newline", (422,), "/v1/sources", json.dumps({"id": "nyt2\n", "name": "X", "kind": "other"})),
    ("country with a trailing newline", (422,), "/v1/sources", json.dumps({"id": "x", "name": "X", "kind": "other", "country": "US\n"})),
    ("over-long source id", (422,), "/v1/sources", json.dumps({"id": "a" * 65, "name": "X", "kind": "other"})),
    ("body is a list", (422,), "/v1/claims", "[]"),
    ("body is a string", (422,), "/v1/claims", '"claim"'),
    ("body is null", (422,), "/v1/claims", "null"),
    ("huge integer id", (422,), "/v1/claims/{claim}/attributions", json.dumps({**ATTRIBUTION, "document_id": 10**30})),
    ("unknown source", (422,), "/v1/claims/{claim}/attributions", json.dumps({**ATTRIBUTION, "source": "nobody"})),
    ("unknown relay", (422,), "/v1/claims/{claim}/attributions", json.dumps({**ATTRIBUTION, "via": ["nobody"]})),
    ("source relays itself", (422,), "/v1/claims/{claim}/attributions", json.dumps({**ATTRIBUTION, "via": ["nyt"]})),
    ("unknown document", (422,), "/v1/claims/{claim}/attributions", json.dumps({**ATTRIBUTION, "document_id": 42})),
    ("a bad attribution among good ones", (422,), "/v1/claims",
     json.dumps({"text": "a", "attributions": [ATTRIBUTION, {**ATTRIBUTION, "source": "nobody"}]})),
    ("affiliation is another source's id", (422,), "/v1/sources", json.dumps({"id": "x", "name": "X", "kind": "other", "affiliation": "nyt"})),
    ("id is another source's affiliation", (422,), "/v1/sources", json.dumps({"id": "dprk-state", "name": "X", "kind": "other"})),
    ("invalid UTF-8", (400,), "/v1/claims", b'{"text": "\xff\xfe"}'),
    ("deep nesting", (400,), "/v1/claims", "[" * 100000 + "]" * 100000),
    ("time with year 0 in UTC", (422,), "/v1/claims", json.dumps({"text": "a", "event_time": "0001-01-01T00:00:00+01:00"})),
]


@pytest.mark.parametrize("case, statuses, path, body", HOSTILE_BODIES, ids=[c[0] for c in HOSTILE_BODIES])
def test_hostile_input_is_the_named_4xx_and_writes_nothing(client, ledger, seeded, case, statuses, path, body):
    """Spec §6: 400 for what is not JSON (NaN and Infinity may be 400 or 422), 422 for JSON that is invalid."""
    before = row_counts()
    response = client.post(path.format(claim=seeded["id"]), data=body, content_type="application/json",
                           headers=ledger.auth())
    assert response.status_code in statuses, response.get_data(as_text=True)
    assert_problem(response, response.status_code)
    assert row_counts() == before


@pytest.mark.parametrize("query", [
    {"status": "maybe"}, {"limit": 0}, {"limit": 201}, {"limit": "x"}, {"min_confidence": "NaN"},
    {"min_confidence": 2}, {"as_of": "2023-09-13T12:00:00"}, {"as_of": "yesterday"}, {"cursor": "!!"},
    {"cursor": "WzFd"[:3]}, {"source": "Bad Slug"}, {"q": "a\u0000"}, {"published_before": "2023-09-13"},
])
def test_bad_query_arguments_are_422(client, query):
    assert_problem(client.get("/v1/claims", query_string=query), 422)


def test_patch_rejects_bad_fields_without_writing(client, ledger, seeded):
    path = f"/v1/claims/{seeded['id']}"
    etag = client.get(path).headers["ETag"]
    before = row_counts()
    for body in ({"text": None}, {"attributions": []}, {"status": "confirmed"}, {"parties": ["nobody"]}):
        response = client.patch(path, json=body, headers={**ledger.auth(), "If-Match": etag})
        assert_problem(response, 422)
    assert_problem(client.patch("/v1/sources/nyt", json={"id": "other"},
                                headers={**ledger.auth(), "If-Match": client.get("/v1/sources/nyt").headers["ETag"]}), 422)
    assert row_counts() == before


def test_a_statement_failing_as_a_write_stores_its_derivation_undoes_the_whole_write(client, ledger, seeded,
                                                                                       monkeypatch):
    """On PostgreSQL the storing statements are pipelined, so a failure is raised after the statement that caused it:
    the write is still undone whole, and the connection serves the next write."""
    store_worlds = timeline.store_worlds

    def failing(*args, **kwargs):
        store_worlds(*args, **kwargs)
        sql.run('INSERT INTO "history_entry" ("claim_id") VALUES (NULL)')  # NOT NULL columns left out

    path = f"/v1/claims/{seeded['id']}/attributions"
    body = {"source": "kcna", "stance": "denies", "basis": "assessment", "confidence": 0.4}
    before = row_counts()
    monkeypatch.setattr(timeline, "store_worlds", failing)
    assert_problem(client.post(path, json=body, headers=ledger.auth()), 500)
    assert row_counts() == before
    monkeypatch.undo()
    assert client.post(path, json=body, headers=ledger.auth()).status_code == 201


def test_an_unreachable_database_is_503_with_retry_after(tmp_path):
    app = build_app(f"sqlite:///{tmp_path / 'gone.db'}")
    (tmp_path / "gone.db").unlink()
    (tmp_path / "gone.db").mkdir()  # the file is now a folder: SQLite cannot open it
    for response in (app.test_client().get("/healthz"), app.test_client().get("/v1/claims")):
        assert_problem(response, 503)
        assert response.headers["Retry-After"] == "1"


def test_a_saturated_postgresql_pool_is_503(fresh_database, tokens, ledger):
    url = fresh_database()
    if not url.startswith("postgresql"):
        pytest.skip("a connection pool is PostgreSQL's")
    app = build_app(url, DB_POOL_SIZE=1, DB_POOL_TIMEOUT_SECONDS=0.2)
    held = app.extensions["reportedly.db"]
    held.connect()  # the only pooled connection, held by this thread
    try:
        answers = []
        thread = threading.Thread(target=lambda: answers.append(app.test_client().get("/v1/claims")))
        thread.start()
        thread.join()
        assert_problem(answers[0], 503)
        assert answers[0].headers["Retry-After"] == "1"
    finally:
        held.close()


def test_sqlite_durability_follows_the_setting(tmp_path):
    from service.config import load_config
    from service.db import open_database

    for setting, durable in (("FULL", True), ("normal", False)):
        config = load_config({"DATABASE_URL": f"sqlite:///{tmp_path / 'd.db'}", "SQLITE_SYNCHRONOUS": setting})
        database = open_database(config["DATABASE_URL"], config)
        assert database.durable is durable
        with database.connection_context():
            # NORMAL underneath either way: a durable database syncs the WAL itself (tests/test_sqlite_writes.py).
            assert database.execute_sql("PRAGMA synchronous").fetchone()[0] == 1
    with pytest.raises(ValueError, match="REPORTEDLY_SQLITE_SYNCHRONOUS"):
        config = load_config({"SQLITE_SYNCHRONOUS": "OFF"})
        open_database(f"sqlite:///{tmp_path / 'e.db'}", config)


def test_sqlite_requests_share_the_workers_connections_and_a_failed_one_is_replaced(tmp_path):
    """Each thread (a greenlet under the gevent worker) has its own connection state: requests from new
    threads, one after another, reuse the connection the first opened; after a database error it is closed."""
    import apsw

    from service.auth import create_token

    app = build_app(f"sqlite:///{tmp_path / 'kept.db'}", SQLITE_BUSY_TIMEOUT_SECONDS=0.05)
    with db.connection_context():
        token = create_token("kept", "admin")
    database = app.extensions["reportedly.db"]
    opened = []
    connect = database._connect
    database._connect = lambda: opened.append(connect()) or opened[-1]

    def request_from_a_new_thread(post=False):
        answers = []
        client = app.test_client()
        call = (lambda: client.post("/v1/sources", json={"id": "nyt", "name": "NYT", "kind": "news_outlet",
                                                          "reliability": "B"},
                                    headers={"Authorization": f"Bearer {token}"})) if post else (
                lambda: client.get("/v1/claims"))
        thread = threading.Thread(target=lambda: answers.append(call()))
        thread.start()
        thread.join()
        return answers[0]

    assert [request_from_a_new_thread().status_code for _ in range(5)] == [200] * 5
    assert len(opened) == 1 and database.idle_connections == opened
    blocker = apsw.Connection(str(tmp_path / "kept.db"))
    blocker.execute("BEGIN IMMEDIATE")  # another process holding the write lock past the busy timeout
    assert_problem(request_from_a_new_thread(post=True), 503)
    assert database.idle_connections == []
    blocker.execute("ROLLBACK")
    assert request_from_a_new_thread(post=True).status_code == 201
    assert len(opened) == 2 and database.idle_connections == [opened[1]]


def test_a_burst_of_sqlite_requests_leaves_only_the_pool_size_of_connections_open(tmp_path):
    """Six requests at once open six connections (each, holding its own, waits until all six have one); once they
    are over, the worker keeps REPORTEDLY_DB_POOL_SIZE of them for the next requests and has closed the rest."""
    import apsw

    app = build_app(f"sqlite:///{tmp_path / 'burst.db'}", DB_POOL_SIZE=2)
    together = threading.Barrier(6)

    @app.before_request
    def wait_for_the_others():
        if not together.broken:
            together.wait(timeout=10)

    database = app.extensions["reportedly.db"]
    opened, connect = [], database._connect
    database._connect = lambda: opened.append(connect()) or opened[-1]

    def request(answers):
        thread = threading.Thread(target=lambda: answers.append(app.test_client().get("/v1/claims").status_code))
        thread.start()
        return thread

    answers = []
    for thread in [request(answers) for _ in range(6)]:
        thread.join()
    assert answers == [200] * 6 and len(opened) == 6
    kept = database.idle_connections
    assert len(kept) == 2 and all(connection in opened for connection in kept)
    for connection in opened:
        if connection not in kept:
            with pytest.raises(apsw.ConnectionClosedError):
                connection.execute("SELECT 1")
    together.abort()
    request(answers).join()
    assert answers[-1] == 200 and len(opened) == 6 and len(database.idle_connections) == 2


def test_a_pooled_postgresql_connection_is_pinged_only_after_a_pause(fresh_database, monkeypatch):
    """A connection given back a moment ago is lent again without a ping; one that waited in the pool past the
    window is pinged, and if its server session ended meanwhile it is replaced, unseen by the request."""
    from service.db import LedgerPostgreSQL, is_postgresql
    from tests.conftest import postgresql_admin

    app = build_app(fresh_database())
    if not is_postgresql(app.extensions["reportedly.db"]):
        pytest.skip("the pool is PostgreSQL's")
    client = app.test_client()
    assert client.get("/v1/summary").status_code == 200
    with db.connection_context():
        [(backend,)] = db.execute_sql("SELECT pg_backend_pid()").fetchall()
    adapter = type(db.obj._adapter)
    pinged = []
    monkeypatch.setattr(adapter, "is_connection_closed",
                        lambda self, conn, ping=adapter.is_connection_closed: pinged.append(conn) or ping(self, conn))
    assert client.get("/v1/summary").status_code == 200
    assert pinged == []  # given back a moment ago: lent without a round trip
    postgresql_admin(f"SELECT pg_terminate_backend({backend})")
    monkeypatch.setattr(LedgerPostgreSQL, "PING_AFTER_IDLE_SECONDS", 0)  # as if it had waited past the window
    assert client.get("/v1/summary").status_code == 200
    assert len(pinged) == 1 and pinged[0].broken  # the dead one pinged and discarded; a new one served
