"""Idempotency-Key: a retry with the same key and request replays the first answer without writing again.

`exactly_once` claims the key in a short transaction of its own (so a concurrent
retry sees it and gets a Conflict), then runs the caller's write in one
transaction that also keeps its answer: the write and the record of it commit
together or not at all. Only successful answers are kept; anything else frees
the key for a retry. A claim older than the lease belongs to a request that
died, and may be taken over (under a row lock, so two retries cannot both).
"""

import contextlib
from dataclasses import dataclass
from datetime import timedelta

from peewee import IntegrityError

from .clock import utcnow
from .db import db
from .errors import Conflict, Invalid
from .models import IdempotencyRecord

KEEP_FOR = timedelta(hours=48)  # the spec asks for at least 24 h
IN_FLIGHT = "A request with this Idempotency-Key is still in flight."


@dataclass
class Answer:
    """A response as kept for replay."""

    status: int
    body: str
    headers: dict


class Attempt:
    """One run of a keyed write: either a replay of the kept answer, or a fresh run whose answer `keep` stores."""

    def __init__(self, record):
        self.record = record
        self.replay = Answer(record.status_code, record.body, record.headers or {}) if record.state == "done" else None
        self.kept = False

    def keep(self, answer):
        """Store a successful answer with the write, in the write's transaction."""
        self.record.state = "done"
        self.record.status_code = answer.status
        self.record.body = answer.body
        self.record.headers = answer.headers
        self.record.save()
        self.kept = True


class _NotKept(Exception):
    """The write ended without an answer worth keeping: roll it back and free the key."""


@contextlib.contextmanager
def exactly_once(client, key, fingerprint, lease_seconds):
    """Run a keyed write once: yields an Attempt whose `replay` is set when the key has answered before."""
    record = _claim(client, key, fingerprint, lease_seconds)
    attempt = Attempt(record)
    if attempt.replay is not None:
        yield attempt
        return
    try:
        with db.atomic():
            yield attempt
            if not attempt.kept:
                raise _NotKept
    except _NotKept:
        _release(record)
    except BaseException:
        _release(record)
        raise


def _claim(client, key, fingerprint, lease_seconds):
    """Find or create the key's record in a transaction of its own; Conflict while another run holds it."""
    now = utcnow()
    try:
        with db.atomic():
            record = _locked_record(client, key)
            if record is None:
                IdempotencyRecord.delete().where(IdempotencyRecord.created_at < now - KEEP_FOR).execute()
                return IdempotencyRecord.create(
                    client=client, key=key, fingerprint=fingerprint, state="in_flight", created_at=now
                )
            if record.fingerprint != fingerprint:
                raise Invalid("Idempotency-Key", "Was used with a different method, path or body.")
            if record.state == "done":
                return record
            if now - record.created_at < timedelta(seconds=lease_seconds):
                raise Conflict(IN_FLIGHT)
            record.created_at = now  # the run that held it died: take it over
            record.save()
            return record
    except IntegrityError:
        raise Conflict(IN_FLIGHT) from None


def _locked_record(client, key):
    query = IdempotencyRecord.select().where(
        (IdempotencyRecord.client == client) & (IdempotencyRecord.key == key)
    )
    return (query.for_update() if db.obj.for_update else query).first()


def _release(record):
    with db.atomic():
        IdempotencyRecord.delete().where(IdempotencyRecord.id == record.id).execute()
