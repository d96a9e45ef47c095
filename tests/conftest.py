"""Fixtures: an app per test through the factory, on a real database, with tokens.

Every database-backed test runs twice: on a temporary SQLite file, and on the
PostgreSQL named by REPORTEDLY_TEST_DATABASE_URL in a schema of its own (dropped
afterwards). Without that variable the PostgreSQL half is skipped, and says so.
"""

import contextlib
import os
import sys
import urllib.parse
import uuid

import pytest

from service.app import create_app
from service.auth import create_token
from service.db import close_all, db
from service.migrations import LATEST, migrate

POSTGRESQL_URL = os.environ.get("REPORTEDLY_TEST_DATABASE_URL")
DATABASES = ["sqlite", "postgresql"]
# Databases opened by build_app, closed (pools included) when their test ends. pytest loads this file as
# `conftest`, and test modules import build_app from `tests.conftest`, a second module object: both must fill
# and empty one list, or the databases of tests that call build_app themselves are never closed (their
# PostgreSQL connections piled up past the server's 100).
OPENED = getattr(sys.modules.get("conftest"), "OPENED", None)
if OPENED is None:
    OPENED = []


def build_app(database_url, schema_version=LATEST, **overrides):
    """An app on the given database, migrated to `schema_version`."""
    app = create_app({"DATABASE_URL": database_url, "RATE_LIMIT_PER_MINUTE": 0, "AUTH_FAILURE_LIMIT": 0, **overrides})
    OPENED.append(app.extensions["reportedly.db"])
    with db.connection_context():
        migrate(target=schema_version)
    return app


def with_search_path(url, schema):
    """The URL with every connection's search_path set to `schema`."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query) + [("options", f"-csearch_path={schema}")]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def postgresql_admin(statement):
    import psycopg

    with psycopg.connect(POSTGRESQL_URL, autocommit=True) as connection:
        connection.execute(statement)


@pytest.fixture(params=DATABASES)
def fresh_database(request, tmp_path):
    """A factory of empty databases of one kind; each call gives a new one."""
    if request.param == "postgresql" and not POSTGRESQL_URL:
        pytest.skip("PostgreSQL half: set REPORTEDLY_TEST_DATABASE_URL to run it")
    schemas = []

    def make():
        if request.param == "sqlite":
            return f"sqlite:///{tmp_path / f'ledger-{uuid.uuid4().hex[:8]}.db'}"
        schema = f"test_{uuid.uuid4().hex[:12]}"
        postgresql_admin(f"CREATE SCHEMA {schema}")
        schemas.append(schema)
        return with_search_path(POSTGRESQL_URL, schema)

    yield make
    while OPENED:
        close_all(OPENED.pop())
    for schema in schemas:
        postgresql_admin(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def database_url(fresh_database):
    return fresh_database()


@pytest.fixture
def app(database_url):
    return build_app(database_url)


@contextlib.contextmanager
def connected(app):
    """The app's database bound and connected, as a request would have it (another app may have been built since)."""
    db.initialize(app.extensions["reportedly.db"])
    with db.connection_context():
        yield db


@pytest.fixture
def database(app):
    """The app's database, connected for the test's own reads and writes."""
    with connected(app) as database:
        yield database


@pytest.fixture
def tokens(app):
    """One token per scope."""
    with db.connection_context():
        return {scope: create_token(f"test-{scope}", scope) for scope in ("read", "write", "admin")}


@pytest.fixture
def client(app):
    return app.test_client()


class LedgerClient:
    """Helpers for the HTTP actions tests repeat; each asserts its own success."""

    def __init__(self, client, tokens):
        self.client = client
        self.tokens = tokens

    def auth(self, scope="admin"):
        return {"Authorization": f"Bearer {self.tokens[scope]}"}

    def post(self, path, body, scope="admin", expect=201, headers=None):
        response = self.client.post(path, json=body, headers={**self.auth(scope), **(headers or {})})
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    def get(self, path, expect=200, **params):
        response = self.client.get(path, query_string=params)
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    def source(self, source_id, reliability="B", affiliation=None, name=None, kind="news_outlet"):
        body = {"id": source_id, "name": name or source_id.upper(), "kind": kind, "reliability": reliability,
                "affiliation": affiliation}
        return self.post("/v1/sources", body)

    def claim(self, text="A claim.", parties=(), attributions=(), subjects=()):
        body = {"text": text, "parties": list(parties), "subjects": list(subjects), "attributions": list(attributions)}
        return self.post("/v1/claims", body)

    def attribute(self, claim_id, source, stance="supports", basis="secondhand", confidence=0.6, **extra):
        body = {"source": source, "stance": stance, "basis": basis, "confidence": confidence, **extra}
        return self.post(f"/v1/claims/{claim_id}/attributions", body)

    def retract(self, attribution_id, reason="withdrawn"):
        return self.post(f"/v1/attributions/{attribution_id}/retraction", {"reason": reason}, expect=200)


@pytest.fixture
def ledger(client, tokens):
    return LedgerClient(client, tokens)
