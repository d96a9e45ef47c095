"""Bearer tokens: 401 without one, 403 below the scope, hashed at rest, revocable, public reads optional."""

import pytest

from service.auth import create_token, revoke_token
from service.db import db
from service.models import Token
from tests.conftest import build_app

# (method, path, needed scope, a valid body)
WRITES = [
    ("POST", "/v1/sources", "admin", {"id": "new-source", "name": "New", "kind": "other"}),
    ("PATCH", "/v1/sources/nyt", "admin", {"name": "NYT"}),
    ("POST", "/v1/documents", "write", {"publisher": "nyt", "title": "T"}),
    ("POST", "/v1/documents/1/retraction", "write", {"reason": "r"}),
    ("POST", "/v1/claims", "write", {"text": "x"}),
    ("PATCH", "/v1/claims/1", "write", {"text": "y"}),
    ("POST", "/v1/claims/1/attributions", "write",
     {"source": "nyt", "stance": "supports", "basis": "secondhand", "confidence": 0.5}),
    ("POST", "/v1/attributions/1/retraction", "write", {"reason": "r"}),
]
READS = ["/v1/sources", "/v1/sources/nyt", "/v1/documents/1", "/v1/claims", "/v1/claims/1",
         "/v1/claims/1/history", "/v1/claims/1/attributions", "/v1/summary"]


@pytest.fixture
def world(ledger):
    ledger.source("nyt")
    ledger.post("/v1/documents", {"publisher": "nyt", "title": "Doc"})
    ledger.claim("A claim.", attributions=[{"source": "nyt", "stance": "supports", "basis": "secondhand",
                                            "confidence": 0.5}])


def send(client, method, path, body, headers):
    if method == "PATCH":
        headers = {**headers, "If-Match": client.get(path).headers["ETag"]}
    return client.open(path, method=method, json=body, headers=headers)


@pytest.mark.parametrize("method, path, scope, body", WRITES, ids=[f"{w[0]} {w[1]}" for w in WRITES])
def test_every_write_needs_a_token_of_its_scope(client, ledger, world, method, path, scope, body):
    response = send(client, method, path, body, {})
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
    lower = "read" if scope == "write" else "write"
    response = send(client, method, path, body, ledger.auth(lower))
    assert response.status_code == 403, response.get_json()
    assert response.get_json()["detail"].startswith(f"This request needs the '{scope}' scope")
    response = send(client, method, path, body, ledger.auth(scope))
    assert response.status_code in (200, 201), response.get_json()


def test_tokens_are_stored_only_as_hashes(app, tokens):
    with db.connection_context():
        stored = [value for row in Token.select().tuples() for value in row if isinstance(value, str)]
    for token in tokens.values():
        # rpt_<16 hex>_<secret>: the secret is everything after the second '_' (it may hold '_' itself).
        secret = token.split("_", 2)[2]
        assert len(secret) >= 40
        assert all(token not in value and secret not in value for value in stored)


def test_a_revoked_token_is_401_even_on_public_reads(client, ledger, world):
    assert client.get("/v1/claims", headers=ledger.auth("read")).status_code == 200
    with db.connection_context():
        assert revoke_token("test-read") is True
        assert revoke_token("test-read") is False
    response = client.get("/v1/claims", headers=ledger.auth("read"))
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert client.get("/v1/claims").status_code == 200


def test_a_tampered_secret_is_refused(client, ledger):
    token = ledger.tokens["admin"]
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert client.get("/v1/claims", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


@pytest.mark.parametrize("path", READS)
def test_reads_need_a_token_when_public_reads_are_off(database_url, path):
    app = build_app(database_url, PUBLIC_READS=False)
    client = app.test_client()
    with db.connection_context():
        token = create_token("reader", "read")
    response = client.get(path)
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get(path, headers={"Authorization": f"Bearer {token}"}).status_code in (200, 404)
    assert client.get("/healthz").status_code == 200
