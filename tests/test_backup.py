"""Backups an operator can restore: SQLite's online backup under write load, and pg_dump on PostgreSQL."""

import os
import subprocess
import threading
import uuid

import apsw
import pytest
import requests

from service.db import close_all
from tests.conftest import OPENED, POSTGRESQL_URL, LedgerClient, build_app, postgresql_admin, with_search_path
from tests.servers import BIN, Gunicorn, reportedly

WRITERS = 16


def reportedly_fails(env, *args):
    """Run `reportedly` expecting a refusal; return what it said."""
    result = subprocess.run([BIN / "reportedly", *args], env={**os.environ, **env}, capture_output=True, text=True)
    assert result.returncode != 0, result.stdout
    return result.stderr


def claim_texts(path):
    """Every claim's text in a SQLite ledger file."""
    connection = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        return {row[0] for row in connection.execute("SELECT text FROM claim")}
    finally:
        connection.close()


class Writers:
    """16 threads POSTing claims to a real server until stopped; `acknowledged` lists the 201s, in order."""

    def __init__(self, base, token):
        self.base, self.token = base, token
        self.acknowledged, self.sent, self.failures = [], [], []
        self.enough = threading.Event()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.write, args=(n,)) for n in range(WRITERS)]

    def write(self, n):
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token}"
        for i in range(10_000):
            if self.stopping.is_set():
                return
            text = f"writer {n} claim {i}"
            self.sent.append(text)
            answer = session.post(f"{self.base}/v1/claims", json={"text": text}, timeout=60)
            if answer.status_code == 201:
                self.acknowledged.append(text)
            else:
                self.failures.append(answer.status_code)
            if len(self.acknowledged) >= 40:
                self.enough.set()

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for thread in self.threads:
            thread.join()


@pytest.mark.e2e
def test_a_backup_taken_under_16_writers_restores_every_write_acknowledged_before_it(tmp_path):
    live = {"REPORTEDLY_DATABASE_URL": f"sqlite:///{tmp_path / 'live.db'}"}
    reportedly(live, "migrate")
    token = reportedly(live, "keys", "create", "--name", "load", "--scope", "write").strip().splitlines()[-1]
    gunicorn = Gunicorn(tmp_path / "gunicorn.log", **live).start()
    backup_file = tmp_path / "backup.db"
    try:
        with Writers(gunicorn.base, token) as writers:
            assert writers.enough.wait(timeout=120), writers.failures
            before = list(writers.acknowledged)  # every write answered 201 before the backup began
            output = reportedly(live, "backup", str(backup_file))
            during = len(writers.acknowledged)
            while len(writers.acknowledged) < during + WRITERS:  # writers keep going after it, too
                assert not writers.failures, writers.failures
                threading.Event().wait(0.05)
        assert not writers.failures, writers.failures
    finally:
        assert gunicorn.stop() == 0
    assert output.startswith(f"backed up to {backup_file}")

    restored = {"REPORTEDLY_DATABASE_URL": f"sqlite:///{tmp_path / 'restored.db'}"}
    assert reportedly(restored, "restore", str(backup_file)).startswith(f"restored from {backup_file}")
    texts = claim_texts(tmp_path / "restored.db")
    assert set(before) <= texts, "a write acknowledged before the backup is missing"
    assert texts <= set(writers.sent)
    assert len(texts) < len(writers.acknowledged), "writes after the backup are not in it"

    # One snapshot: every restored claim has its `created` history entry, and the restored ledger serves.
    client = build_app(restored["REPORTEDLY_DATABASE_URL"]).test_client()
    summary = client.get("/v1/claims", query_string={"limit": 1})
    assert summary.status_code == 200 and summary.get_json()["items"]
    connection = apsw.Connection(str(tmp_path / "restored.db"))
    created = connection.execute("SELECT count(*) FROM history_entry WHERE cause_kind = 'created'").fetchone()[0]
    connection.close()
    assert created == len(texts)
    assert "ledger verified" in reportedly(restored, "verify")

    assert "empty database" in reportedly_fails(restored, "restore", str(backup_file))
    assert "exists already" in reportedly_fails(live, "backup", str(backup_file))


def test_backup_and_restore_refuse_postgresql_and_foreign_files(tmp_path):
    on_postgresql = {"REPORTEDLY_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test"}
    assert "pg_dump" in reportedly_fails(on_postgresql, "backup", str(tmp_path / "b.db"))
    stranger = tmp_path / "stranger.db"
    apsw.Connection(str(stranger)).execute("CREATE TABLE t (x)")
    empty = {"REPORTEDLY_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    assert "not a reportedly database" in reportedly_fails(empty, "restore", str(stranger))


@pytest.mark.skipif(not POSTGRESQL_URL, reason="set REPORTEDLY_TEST_DATABASE_URL to run the pg_dump half")
def test_a_pg_dump_of_a_schema_restores_into_another_with_the_same_rows(tmp_path):
    original, copy = (f"test_{uuid.uuid4().hex[:12]}" for _ in range(2))
    postgresql_admin(f"CREATE SCHEMA {original}")
    try:
        app = build_app(with_search_path(POSTGRESQL_URL, original))
        ledger = LedgerClient(app.test_client(), tokens={})
        ledger.tokens = {"admin": make_admin_token(app)}
        ledger.source("nyt")
        claim = ledger.claim("Kim left by train.")
        ledger.attribute(claim["id"], "nyt")
        original_answer = app.test_client().get(f"/v1/claims/{claim['id']}").get_json()
        dump = subprocess.run(["pg_dump", "--no-owner", "--schema", original, POSTGRESQL_URL],
                              capture_output=True, text=True, check=True).stdout
        assert original in dump
        subprocess.run(["psql", "-v", "ON_ERROR_STOP=1", "-q", POSTGRESQL_URL], input=dump.replace(original, copy),
                       capture_output=True, text=True, check=True)
        assert table_rows(original) == table_rows(copy)
        assert sum(len(rows) for rows in table_rows(copy).values()) > 5
        restored = build_app(with_search_path(POSTGRESQL_URL, copy)).test_client()
        assert restored.get(f"/v1/claims/{claim['id']}").get_json() == original_answer
    finally:
        while OPENED:
            close_all(OPENED.pop())
        postgresql_admin(f"DROP SCHEMA IF EXISTS {original} CASCADE")
        postgresql_admin(f"DROP SCHEMA IF EXISTS {copy} CASCADE")


def make_admin_token(app):
    from service.auth import create_token
    from service.db import db

    with db.connection_context():
        return create_token("dump", "admin")


def table_rows(schema):
    """Every row of every table in a schema, as sorted text, table by table."""
    import psycopg

    with psycopg.connect(POSTGRESQL_URL) as connection:
        tables = [row[0] for row in connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1", (schema,))]
        return {t: sorted(str(r) for r in connection.execute(f'SELECT * FROM {schema}."{t}"')) for t in tables}
