"""What an operator relies on: request ids, logs that keep secrets out, and Prometheus metrics."""

import io
import json
import logging
import re
import threading
import time
import uuid
from pathlib import Path

import apsw
import pytest
import requests

from service.auth import create_token
from service.count_models import TallyDelta
from service.db import db, takes_locks
from service.metrics import metrics_text
from service.observability import JsonFormatter, RequestIdFilter
from tests.conftest import build_app
from tests.servers import Gunicorn, reportedly
from tests.test_hostile_http import exchange


def metric(text, name, **labels):
    """The value of one sample in Prometheus text, or 0 when it is absent."""
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            sample, _, value = line.rpartition(" ")
            found = dict(re.findall(r'(\w+)="([^"]*)"', sample))
            if sample.split("{")[0] == name and all(found.get(k) == v for k, v in labels.items()):
                return float(value)
    return 0.0


def test_a_well_formed_request_id_is_kept_and_any_other_replaced(client):
    kept = client.get("/v1/claims", headers={"X-Request-ID": "edit-desk.42_A"})
    assert kept.headers["X-Request-ID"] == "edit-desk.42_A"
    for offered in ("", "has space", "x" * 129, "semi;colon", "ünïcode"):
        answer = client.get("/v1/claims", headers={"X-Request-ID": offered.encode().decode("latin-1")})
        assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["X-Request-ID"]), offered
    assert client.get("/v1/claims").headers["X-Request-ID"] != client.get("/v1/claims").headers["X-Request-ID"]


def test_every_problem_body_carries_the_request_id(client, tokens):
    refused = client.post("/v1/claims", json={"text": "x"}, headers={"X-Request-ID": "no-token-1"})
    assert refused.status_code == 401 and refused.get_json()["request_id"] == "no-token-1"
    invalid = client.post("/v1/claims", json={"text": ""},
                          headers={"Authorization": f"Bearer {tokens['write']}", "X-Request-ID": "bad-body-1"})
    assert invalid.status_code == 422 and invalid.get_json()["request_id"] == "bad-body-1"
    missing = client.get("/no/such/route")
    assert missing.status_code == 404 and missing.get_json()["request_id"] == missing.headers["X-Request-ID"]


def test_metrics_are_off_unless_asked_for(client):
    assert client.get("/metrics").status_code == 404


def test_rate_limit_refusals_are_counted(fresh_database):
    client = build_app(fresh_database(), METRICS=True, RATE_LIMIT_PER_MINUTE=2).test_client()
    before = metrics_text().decode()
    statuses = [client.get("/v1/claims").status_code for _ in range(3)]
    after = metrics_text().decode()
    assert statuses == [200, 200, 429]
    refusals = "reportedly_rate_limit_refusals_total"
    assert metric(after, refusals) == metric(before, refusals) + 1
    assert metric(after, "reportedly_http_requests_total", route="/v1/claims", method="GET", status="429") >= 1


HOLD_SECONDS = 0.4


def hold_the_write_lock(database_url):
    """Another writer takes the lock a new claim needs (SQLite: the write lock; PostgreSQL: a table lock that its
    ROW EXCLUSIVE lock on the count deltas waits for) and lets it go after HOLD_SECONDS, from a timer thread."""
    if database_url.startswith("sqlite:///"):
        connection = apsw.Connection(database_url[len("sqlite:///"):])
        connection.execute("BEGIN IMMEDIATE")
        release = lambda: connection.execute("COMMIT")  # noqa: E731
    else:
        import psycopg

        connection = psycopg.connect(database_url)
        connection.execute(f"LOCK TABLE {TallyDelta._meta.table_name} IN SHARE MODE")
        release = connection.commit
    timer = threading.Timer(HOLD_SECONDS, release)
    timer.start()
    return timer, connection


def test_a_write_that_waits_for_a_lock_is_counted_with_its_wait(fresh_database):
    url = fresh_database()
    app = build_app(url, METRICS=True)
    with db.connection_context():
        auth = {"Authorization": f"Bearer {create_token('writer', 'write')}"}
    client = app.test_client()
    assert client.post("/v1/claims", json={"text": "First."}, headers=auth).status_code == 201
    before = metrics_text().decode()
    timer, holder = hold_the_write_lock(url)
    try:
        created = client.post("/v1/claims", json={"text": "Waited for the lock."}, headers=auth)
    finally:
        timer.join()
        holder.close()
    after = metrics_text().decode()
    assert created.status_code == 201, created.get_json()
    waits = "reportedly_write_lock_wait_seconds"
    assert metric(after, f"{waits}_count") >= metric(before, f"{waits}_count") + 1
    # Not a timing of the service: the write cannot have had the lock before the holder let it go.
    assert metric(after, f"{waits}_sum") - metric(before, f"{waits}_sum") >= HOLD_SECONDS / 2


@pytest.mark.parametrize(("sql", "locks"), [
    ('SELECT "id" FROM "source" WHERE id IN (%s) ORDER BY id FOR SHARE', True),
    ('SELECT * FROM "claim" WHERE id = %s FOR UPDATE', True),
    ("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", True),
    ('LOCK TABLE "tally_delta" IN SHARE ROW EXCLUSIVE MODE', True),
    ('UPDATE "claim_state" SET valid_to = %s WHERE claim_id IN (%s) AND valid_to = %s', False),
    ('SELECT "t1"."id" FROM "claim" AS "t1" WHERE ("t1"."text" = %s)', False),
    ("SELECT 'FOR UPDATES' AS platform_for_update, 'FORMAT' FROM source", False),
    ("SELECT 1 -- LOCK TABLE later", False),
    ("SELECT pg_advisory_xact_lock_shared(1)", False),
])
def test_statements_that_wait_for_other_writers_are_told_apart(sql, locks):
    """Only what takes a row, advisory or table lock is timed as a wait for the write lock."""
    assert takes_locks(sql) is locks


def test_a_write_that_gives_up_waiting_is_counted_busy(tmp_path):
    """SQLite's busy timeout shorter than the other writer's hold: a 503, counted as a busy write transaction."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    app = build_app(url, METRICS=True, SQLITE_BUSY_TIMEOUT_SECONDS=0.05)
    with db.connection_context():
        auth = {"Authorization": f"Bearer {create_token('writer', 'write')}"}
    before = metrics_text().decode()
    timer, holder = hold_the_write_lock(url)
    try:
        refused = app.test_client().post("/v1/claims", json={"text": "Gave up."}, headers=auth)
    finally:
        timer.join()
        holder.close()
    after = metrics_text().decode()
    assert refused.status_code == 503 and refused.headers["Retry-After"], refused.get_json()
    busy = {"outcome": "busy"}
    assert metric(after, "reportedly_write_transactions_total", **busy) == \
        metric(before, "reportedly_write_transactions_total", **busy) + 1
    waits = "reportedly_write_lock_wait_seconds_count"
    assert metric(after, waits) >= metric(before, waits) + 1, "a wait that failed is a wait too"


def serve_with_metrics(tmp_path, **env):
    """gunicorn (2 workers) on a new SQLite ledger with metrics on, and an admin token."""
    env = {"REPORTEDLY_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.db'}", "REPORTEDLY_METRICS": "true", **env}
    reportedly(env, "migrate")
    token = reportedly(env, "keys", "create", "--name", "ops", "--scope", "admin").strip().splitlines()[-1]
    return Gunicorn(tmp_path / "gunicorn.log", **env).start(), token


@pytest.mark.e2e
def test_gunicorn_json_logs_metrics_and_no_secrets(tmp_path):
    """One run of gunicorn (2 workers) with JSON logs and metrics on; its whole log is then read."""
    gunicorn, token = serve_with_metrics(tmp_path, REPORTEDLY_LOG_FORMAT="json")
    auth = {"Authorization": f"Bearer {token}"}
    secret_text = f"Body text that must stay out of logs {uuid.uuid4().hex}"
    try:
        for n in range(6):
            created = requests.post(f"{gunicorn.base}/v1/claims", json={"text": f"{secret_text} {n}"},
                                    headers={**auth, "X-Request-ID": f"write-{n}"}, timeout=10)
            assert created.status_code == 201 and created.headers["X-Request-ID"] == f"write-{n}"
        key = {**auth, "Idempotency-Key": "once"}
        first = requests.post(f"{gunicorn.base}/v1/claims", json={"text": secret_text}, headers=key, timeout=10)
        again = requests.post(f"{gunicorn.base}/v1/claims", json={"text": secret_text}, headers=key, timeout=10)
        assert again.headers.get("Idempotent-Replayed") == "true" and again.json()["id"] == first.json()["id"]
        invalid = requests.post(f"{gunicorn.base}/v1/claims", json={"text": ""},
                                headers={**auth, "X-Request-ID": "invalid-1"}, timeout=10)
        assert invalid.status_code == 422 and invalid.json()["request_id"] == "invalid-1"
        # Each worker keeps its own counts; the multiprocess collector adds them up, whichever worker answers.
        scraped = [requests.get(f"{gunicorn.base}/metrics", timeout=10) for _ in range(4)]
        assert scraped[-1].headers["Content-Type"].startswith("text/plain")
        assert {metric(s.text, "reportedly_idempotent_replays_total") for s in scraped} == {1}
        assert not list(Path.cwd().glob("counter_*.db")), "the values belong in PROMETHEUS_MULTIPROC_DIR"
        text = scraped[-1].text
        assert metric(text, "reportedly_http_requests_total", route="/v1/claims", method="POST", status="201") == 8
        assert metric(text, "reportedly_idempotent_replays_total") == 1
        assert metric(text, "reportedly_write_transactions_total", outcome="committed") == 7, "a replay writes nothing"
        assert metric(text, "reportedly_write_transactions_total", outcome="refused") == 1
        assert metric(text, "reportedly_claims_rederived_total") >= 7
        assert metric(text, "reportedly_http_request_duration_seconds_count", route="/v1/claims", method="POST") == 9
        assert metric(text, "reportedly_http_requests_total", route="/metrics", method="GET", status="200") >= 3
    finally:
        assert gunicorn.stop() == 0
    logs = gunicorn.logs()
    lines = [json.loads(line) for line in logs.splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message", "request_id"} <= line.keys() for line in lines)
    access = {line["request_id"]: line for line in lines if line["logger"] == "gunicorn.access"}
    assert {f"write-{n}" for n in range(6)} | {"invalid-1"} <= access.keys()
    assert access["invalid-1"]["status"] == 422 and access["invalid-1"]["path"] == "/v1/claims"
    assert token not in logs
    assert secret_text not in logs


@pytest.mark.e2e
def test_a_regrade_job_is_counted_with_its_duration(tmp_path):
    """A job runs in a process of its own; its duration and re-derivations join the workers' metrics."""
    gunicorn, token = serve_with_metrics(tmp_path, REPORTEDLY_REGRADE_INLINE_LIMIT="1")
    auth = {"Authorization": f"Bearer {token}"}
    try:
        requests.post(f"{gunicorn.base}/v1/sources", json={"id": "nyt", "name": "NYT", "kind": "news_outlet",
                                                           "reliability": "B"}, headers=auth, timeout=10)
        for n in range(3):
            requests.post(f"{gunicorn.base}/v1/claims", headers=auth, timeout=10, json={
                "text": f"Claim {n}", "attributions": [
                    {"source": "nyt", "stance": "supports", "basis": "secondhand", "confidence": 0.6}]})
        before = metric(requests.get(f"{gunicorn.base}/metrics", timeout=10).text, "reportedly_claims_rederived_total")
        etag = requests.get(f"{gunicorn.base}/v1/sources/nyt", timeout=10).headers["ETag"]
        accepted = requests.patch(f"{gunicorn.base}/v1/sources/nyt", json={"reliability": "E"},
                                  headers={**auth, "If-Match": etag}, timeout=10)
        assert accepted.status_code == 202, accepted.text
        location = f"{gunicorn.base}{accepted.headers['Location']}"
        deadline = time.monotonic() + 60
        while requests.get(location, timeout=10).json()["state"] not in ("done", "failed"):
            assert time.monotonic() < deadline, "the job never finished"
            time.sleep(0.1)
        text = requests.get(f"{gunicorn.base}/metrics", timeout=10).text
        labels = {"kind": "source_change", "outcome": "done"}
        assert metric(text, "reportedly_job_duration_seconds_count", **labels) == 1
        assert metric(text, "reportedly_job_duration_seconds_sum", **labels) > 0
        assert metric(text, "reportedly_claims_rederived_total") == before + 3
    finally:
        assert gunicorn.stop() == 0


@pytest.mark.e2e
def test_text_access_log_names_the_request_id(tmp_path):
    env = {"REPORTEDLY_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.db'}"}
    gunicorn = Gunicorn(tmp_path / "gunicorn.log", **env).start()
    try:
        assert requests.get(f"{gunicorn.base}/v1/claims", headers={"X-Request-ID": "text-1"}, timeout=10).ok
        assert requests.get(f"{gunicorn.base}/metrics", timeout=10).status_code == 404
        # A request gunicorn refuses before Flask sees it still gets an id: answer, body and log line.
        status, headers, body = exchange(gunicorn.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nNo colon\r\n\r\n")
    finally:
        assert gunicorn.stop() == 0
    logs = gunicorn.logs()
    [line] = [line for line in logs.splitlines() if "[text-1]" in line]
    assert "gunicorn.access [text-1]: 127.0.0.1 \"GET /v1/claims HTTP/1.1\" 200" in line
    refused = headers["x-request-id"]
    assert status == 400 and re.fullmatch(r"[0-9a-f]{32}", refused) and json.loads(body)["request_id"] == refused
    [line] = [line for line in logs.splitlines() if f"[{refused}]" in line]
    assert "[WARNING] gunicorn.error" in line and "Invalid request from ip=127.0.0.1" in line


def test_a_log_line_written_while_serving_names_the_request(app):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logging.getLogger("reportedly").addHandler(handler)

    @app.route("/fails")
    def fails():
        raise RuntimeError("a bug")

    try:
        answer = app.test_client().get("/fails", headers={"X-Request-ID": "bug-1"})
    finally:
        logging.getLogger("reportedly").removeHandler(handler)
    assert answer.status_code == 500 and answer.get_json()["request_id"] == "bug-1"
    [line] = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert line["request_id"] == "bug-1" and line["level"] == "ERROR" and "RuntimeError" in line["exception"]


def test_metrics_follow_the_rule_of_every_read(fresh_database):
    """Open when reads are public; else a read token, as the README says."""
    url = fresh_database()
    public = build_app(url, METRICS=True).test_client().get("/metrics")
    assert public.status_code == 200 and "reportedly_http_requests_total" in public.text
    app = build_app(url, METRICS=True, PUBLIC_READS=False)
    with db.connection_context():
        token = create_token("scraper", "read")
    closed = app.test_client()
    refused = closed.get("/metrics")
    assert refused.status_code == 401 and refused.get_json()["request_id"] == refused.headers["X-Request-ID"]
    scraped = closed.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert scraped.status_code == 200 and "reportedly_http_requests_total" in scraped.text
