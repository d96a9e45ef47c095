"""Idempotency-Key: a replay returns the identical answer and writes once; another body is 422."""

import threading
from datetime import timedelta

from service import idempotency
from service.api.base import request_fingerprint as fingerprint
from service.clock import utcnow
from service.db import db
from service.errors import Conflict
from service.models import Attribution, Claim, HistoryEntry, IdempotencyRecord, Token


def count(model):
    with db.connection_context():
        return model.select().count()


def test_a_replay_returns_the_identical_answer_and_writes_once(client, ledger):
    headers = {**ledger.auth("write"), "Idempotency-Key": "claim-1"}
    first = client.post("/v1/claims", json={"text": "Kim left."}, headers=headers)
    second = client.post("/v1/claims", json={"text": "Kim left."}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.get_data() == second.get_data()
    assert second.headers["Location"] == first.headers["Location"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert count(Claim) == 1 and count(HistoryEntry) == 1


def test_attribution_retries_write_once(client, ledger):
    ledger.source("nyt")
    claim = ledger.claim("A claim.")
    body = {"source": "nyt", "stance": "supports", "basis": "secondhand", "confidence": 0.5}
    headers = {**ledger.auth("write"), "Idempotency-Key": "attr-1"}
    answers = [client.post(f"/v1/claims/{claim['id']}/attributions", json=body, headers=headers) for _ in range(3)]
    assert {a.status_code for a in answers} == {201}
    assert len({a.get_data() for a in answers}) == 1
    assert count(Attribution) == 1 and count(HistoryEntry) == 2


def test_the_same_key_with_another_body_is_422(client, ledger):
    headers = {**ledger.auth("write"), "Idempotency-Key": "k"}
    assert client.post("/v1/claims", json={"text": "one"}, headers=headers).status_code == 201
    other = client.post("/v1/claims", json={"text": "two"}, headers=headers)
    assert other.status_code == 422 and "Idempotency-Key" in other.get_json()["errors"]
    assert client.post("/v1/documents", json={"text": "one"}, headers=headers).status_code == 422
    assert count(Claim) == 1


def test_keys_are_per_token(client, ledger):
    body = {"text": "Kim left."}
    client.post("/v1/claims", json=body, headers={**ledger.auth("write"), "Idempotency-Key": "k"})
    client.post("/v1/claims", json=body, headers={**ledger.auth("admin"), "Idempotency-Key": "k"})
    assert count(Claim) == 2


def test_a_failed_request_frees_its_key(client, ledger):
    headers = {**ledger.auth("write"), "Idempotency-Key": "k"}
    assert client.post("/v1/claims", json={"text": "x", "parties": ["nobody"]}, headers=headers).status_code == 422
    assert count(IdempotencyRecord) == 0
    assert client.post("/v1/claims", json={"text": "x", "parties": ["nobody"]}, headers=headers).status_code == 422
    assert count(Claim) == 0


def test_a_key_still_in_flight_is_409(client, ledger, app):
    with app.test_request_context("/v1/claims", method="POST", json={"text": "x"}):
        this_request = fingerprint()
    with db.connection_context():
        writer = Token.get(Token.name == "test-write")
        IdempotencyRecord.create(client=writer.key_id, key="busy", fingerprint=this_request,
                                 state="in_flight", created_at=utcnow())
    response = client.post("/v1/claims", json={"text": "x"}, headers={**ledger.auth("write"), "Idempotency-Key": "busy"})
    assert response.status_code == 409 and response.mimetype == "application/problem+json"
    assert count(Claim) == 0


def test_a_malformed_key_is_422(client, ledger):
    response = client.post("/v1/claims", json={"text": "x"},
                           headers={**ledger.auth("write"), "Idempotency-Key": "x" * 300})
    assert response.status_code == 422 and count(Claim) == 0


def test_two_retries_of_a_dead_request_take_its_key_over_once(app, monkeypatch):
    """Issue 9: the takeover of an expired key reads it under a row lock. The first retry pauses between its
    read and its takeover until the second has read too (or for 1 s, while the second waits for the lock):
    without the lock both read the expired record, and both would run the write."""
    with db.connection_context():
        IdempotencyRecord.create(client="c", key="k", fingerprint="f", state="in_flight",
                                 created_at=utcnow() - timedelta(hours=1))
    first_read, second_read = threading.Event(), threading.Event()
    read_record = idempotency._locked_record

    def locked_record(client, key):
        record = read_record(client, key)
        if threading.current_thread().name == "first":
            first_read.set()
            second_read.wait(timeout=1)
        else:
            second_read.set()
        return record

    monkeypatch.setattr(idempotency, "_locked_record", locked_record)
    ran, answered = [], {}

    def retry():
        name = threading.current_thread().name
        if name == "second":
            first_read.wait(timeout=10)
        with app.app_context(), db.connection_context():
            try:
                with idempotency.exactly_once("c", "k", "f", lease_seconds=60) as attempt:
                    if attempt.replay is None:
                        ran.append(name)
                        attempt.keep(idempotency.Answer(201, "{}", {}))
                    answered[name] = "replayed" if attempt.replay else "ran"
            except Conflict:
                answered[name] = "in flight"

    retries = [threading.Thread(target=retry, name=name) for name in ("first", "second")]
    for thread in retries:
        thread.start()
    for thread in retries:
        thread.join(30)
    assert ran == ["first"], answered
    assert answered["second"] in ("in flight", "replayed"), answered
