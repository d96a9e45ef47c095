"""Idempotency-Key on POST: a retry with the same key and body replays the first answer without writing again.

The key is claimed in a short transaction of its own (so a concurrent retry
sees it and gets 409), then the request runs in one transaction that also
stores its answer: the write and the record of it commit together or not at
all. Only successful answers are kept; an error frees the key for a retry.
A claim older than the lease belongs to a request that died and may be taken over.
"""

import hashlib
import re
from datetime import timedelta

from flask import current_app, g, request
from peewee import IntegrityError

from .api.base import read_body
from .clock import utcnow
from .db import db
from .models import IdempotencyRecord
from .problems import Problem

HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")
KEEP_FOR = timedelta(hours=48)  # the spec asks for at least 24 h
REPLAYED_HEADERS = ("Content-Type", "Location", "ETag")


def fingerprint():
    """What makes two requests 'the same': method, path with query, and body."""
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.full_path}\n".encode())
    digest.update(read_body(request))
    return digest.hexdigest()


def claim_key():
    """before_request: replay a finished request, refuse a running one, or claim the key."""
    key = request.headers.get(HEADER)
    if request.method != "POST" or key is None or g.get("token") is None:
        return None
    if not KEY_PATTERN.fullmatch(key):
        raise Problem(422, "Idempotency-Key must be 1-255 visible ASCII characters.",
                      errors={HEADER: ["Must be 1-255 visible ASCII characters."]})
    client, print_ = g.token.key_id, fingerprint()
    now = utcnow()
    try:
        with db.atomic():
            record = IdempotencyRecord.get_or_none(
                (IdempotencyRecord.client == client) & (IdempotencyRecord.key == key)
            )
            if record is None:
                IdempotencyRecord.delete().where(IdempotencyRecord.created_at < now - KEEP_FOR).execute()
                record = IdempotencyRecord.create(
                    client=client, key=key, fingerprint=print_, state="in_flight", created_at=now
                )
            elif record.fingerprint != print_:
                raise Problem(422, "This Idempotency-Key was used with another request.",
                              errors={HEADER: ["Was used with a different method, path or body."]})
            elif record.state == "done":
                return _replay(record)
            elif now - record.created_at < timedelta(seconds=current_app.config["IDEMPOTENCY_LEASE_SECONDS"]):
                raise Problem(409, "A request with this Idempotency-Key is still in flight.")
            else:
                record.created_at = now
                record.save()
    except IntegrityError:
        raise Problem(409, "A request with this Idempotency-Key is still in flight.") from None
    g.idempotency_record = record
    g.idempotency_txn = db.atomic()
    g.idempotency_txn.__enter__()
    return None


def _replay(record):
    response = current_app.response_class(record.body, status=record.status_code)
    response.headers.update(record.headers or {})
    response.headers["Idempotent-Replayed"] = "true"
    return response


def store_answer(response):
    """after_request: keep a successful answer in the request's transaction; free the key otherwise."""
    record = g.pop("idempotency_record", None)
    if record is None:
        return response
    txn = g.pop("idempotency_txn")
    if 200 <= response.status_code < 300:
        record.state = "done"
        record.status_code = response.status_code
        record.body = response.get_data(as_text=True)
        record.headers = {h: response.headers[h] for h in REPLAYED_HEADERS if h in response.headers}
        record.save()
        txn.__exit__(None, None, None)
    else:
        _abandon(txn, record)
    return response


def release_on_error(exc):
    """teardown_request: a request that died before after_request leaves nothing behind."""
    record = g.pop("idempotency_record", None)
    if record is not None and not db.is_closed():
        _abandon(g.pop("idempotency_txn"), record)


def _abandon(txn, record):
    txn.__exit__(RuntimeError, RuntimeError("request failed"), None)
    with db.atomic():
        IdempotencyRecord.delete().where(IdempotencyRecord.id == record.id).execute()
