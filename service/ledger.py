"""Writes to the ledger. Each public function is one transaction that keeps derived fields and history in step.

A write records its inputs, then re-derives every claim it touches through
service.derived (refresh_claims, a batch at a time), in the same transaction.
"""

import contextlib
from typing import NamedTuple

from . import sql, tally, timeline
from .db import db, is_postgresql, pipelined
from .derived import (
    lock_target,
    refresh_claim,
    refresh_claims,
    refresh_target,
    terms_of,
)
from .errors import Conflict, Invalid, NotFound
from .models import (
    Attribution,
    Claim,
    ClaimRevision,
    Document,
    Relay,
    Source,
)
from .search import words_of

CLAIM_FIELDS = ("text", "subjects", "parties", "event_time")
# Concurrent writes on PostgreSQL serialize on row locks, always taken in one order:
# sources (shared, or exclusive by a source change), then a cited document (shared,
# or exclusive by its retraction), then claims by ascending id.
# SQLite needs none: BEGIN IMMEDIATE lets one writer in at a time.
# A write reads its time only once it holds its locks, so the times of a claim's
# attributions and history run in the order their transactions committed.
# Before all of these, a write that checks group keys (a source's id and affiliation)
# takes a transaction-scoped advisory lock per key, in sorted order (lock_group_keys).


@contextlib.contextmanager
def claim_write():
    """One transaction of a write that re-derives claims; after it commits, a counts checkpoint if one is due
    (asked, by the outermost write, before the commit: tally.checkpoint_due).

    On the database itself, not through peewee's DatabaseProxy: a transaction held by the proxy
    reaches each of the database's methods it calls (eight) through an AttributeError.
    """
    with db.obj.atomic():
        yield
        due = db.obj.transaction_depth() == 1 and tally.checkpoint_due()
    if due:
        tally.checkpoint()


def locking(query, mode=True):
    """The query with FOR UPDATE (or `mode`, e.g. 'FOR SHARE') where the database locks rows."""
    return query.for_update(mode) if db.obj.for_update else query


def lock_group_keys(*keys):
    """On PostgreSQL, serialize writes that check the same group keys; SQLite's BEGIN IMMEDIATE already does."""
    if not is_postgresql():
        return
    for key in sorted({k for k in keys if k}):
        db.execute_sql("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", ("reportedly-group:" + key,))


def lock_claims(claim_ids):
    """Lock these claims, in id order, for the rest of the transaction."""
    return [
        claim
        for chunk in sql.chunks(sorted(claim_ids))
        for claim in sql.select(Claim, f"id IN ({sql.marks(len(chunk))}) ORDER BY id", chunk, "FOR UPDATE")
    ]


def lock_claim(claim_id):
    """One claim row, locked; NotFound if there is none."""
    [claim] = lock_claims([claim_id]) or [None]
    if claim is None:
        raise NotFound(f"There is no claim {claim_id}.")
    return claim


# --- documents ---------------------------------------------------------------


def create_document(data):
    """Record a publication."""
    with db.atomic():
        _require_sources({"publisher": [data["publisher_id"]]})
        return Document.create(created_at=timeline.write_moment(), **data)


def retract_document(document_id, reason):
    """Retract a document and every attribution in it, re-deriving the claims they touched."""
    with claim_write():
        document = locking(Document.select().where(Document.id == document_id)).first()
        if document is None:
            raise NotFound(f"There is no document {document_id}.")
        if document.retracted_at is not None:
            raise Conflict(f"Document {document_id} is retracted already.")
        active = Attribution.retracted_at.is_null() & (Attribution.document == document.id)
        claims = lock_claims({a.claim_id for a in Attribution.select(Attribution.claim).where(active)})
        now = timeline.write_moment()
        document.retracted_at, document.retraction_reason = now, reason
        document.save()
        Attribution.update(retracted_at=now, retraction_reason=reason).where(active).execute()
        refresh_claims(claims, "document_retraction", document.id, now)
    return document


# --- claims ------------------------------------------------------------------


def create_claim(data):
    """Create a claim and any attributions given with it, and write its first history entry."""
    attributions = data.pop("attributions", [])
    with claim_write():
        _require_parties(data["parties"])
        documents = [_lock_references(a, f"attributions.{i}.") for i, a in enumerate(attributions)]
        now = timeline.write_moment()
        claim = Claim.create(
            created_at=now, updated_at=now, status="unconfirmed",
            explanation=[], origins=[], **data,
        )
        _record_claim_revision(claim, now, new=True)
        for attribution, document in zip(attributions, documents, strict=True):
            _insert_attribution(claim.id, attribution, document, now)
        refresh_claim(claim, "created", claim.id, now, always=True)
    return claim


def update_claim(claim_id, changes, check_precondition):
    """Change a claim's own fields; `check_precondition(claim)` enforces If-Match inside the transaction."""
    with claim_write():
        claim = lock_claim(claim_id)
        check_precondition(claim)
        now = timeline.write_moment()
        if "parties" in changes:
            _require_parties(changes["parties"])
        changed = {k: v for k, v in changes.items() if getattr(claim, k) != v}
        if not changed:
            return claim
        for field, value in changed.items():
            setattr(claim, field, value)
        claim.updated_at = now
        claim.save()
        _record_claim_revision(claim, now)
        if "parties" in changed:
            refresh_claim(claim, "claim_change", claim.id, now)
    return claim


def _record_claim_revision(claim, now, new=False):
    """Snapshot the claim's own fields and re-index its subjects, parties and words from now on (a `new` claim has
    no terms to end). Nothing here is read back, so on PostgreSQL the statements are pipelined."""
    revision = {"claim": claim.id, "valid_from": now, **{f: getattr(claim, f) for f in CLAIM_FIELDS}}
    with pipelined():
        timeline.insert_rows(ClaimRevision, [revision])
        timeline.record_terms(claim.id, terms_of(claim.subjects, claim.parties), now, new=new)
        timeline.record_words(claim.id, words_of(claim.text), now, new=new)


def _require_parties(parties):
    """Every party must be a known origin group: an affiliation in use, or a source without one."""
    if not parties:
        return
    known = {
        s.affiliation or s.id
        for s in Source.select(Source.id, Source.affiliation).where(
            Source.affiliation.in_(parties) | (Source.id.in_(parties) & Source.affiliation.is_null())
        )
    }
    unknown = [p for p in parties if p not in known]
    if unknown:
        raise Invalid("parties", f"Not a known origin group: {', '.join(unknown)}.")


# --- attributions ------------------------------------------------------------


def add_attribution(claim_id, data):
    """Attribute the claim to a source and re-derive it: the attribution, and the claim after the write
    (service.derived.Refreshed)."""
    with claim_write():
        document = _lock_references(data)
        claim = lock_target(claim_id)
        if claim is None:
            raise NotFound(f"There is no claim {claim_id}.")
        now = timeline.write_moment()
        attribution = _insert_attribution(claim_id, data, document, now)
        derived = refresh_target(claim, "attribution", attribution.id, now)
    return attribution, derived


def retract_attribution(attribution_id, reason):
    """Withdraw one attribution (it stays on record, marked) and re-derive its claim."""
    with claim_write():
        attribution = Attribution.get_or_none(Attribution.id == attribution_id)
        if attribution is None:
            raise NotFound(f"There is no attribution {attribution_id}.")
        claim = lock_claim(attribution.claim_id)
        attribution = Attribution.get_by_id(attribution_id)  # as it stands now that the claim is ours
        now = timeline.write_moment()
        if attribution.retracted_at is not None:
            raise Conflict(f"Attribution {attribution_id} is retracted already.")
        attribution.retracted_at, attribution.retraction_reason = now, reason
        attribution.save()
        refresh_claim(claim, "retraction", attribution.id, now)
    return attribution, claim


def _lock_references(data, prefix=""):
    """Check what an attribution names and hold it against concurrent change: its source and
    relays (shared locks), then its document (shared); return the document, or None."""
    via = list(data.get("via") or [])
    if data["source"] in via:
        raise Invalid(f"{prefix}via", "A source does not relay its own statement.")
    _require_sources({f"{prefix}source": [data["source"]], f"{prefix}via": via}, share_lock=True)
    if data.get("document_id") is None:
        return None
    return _usable_document(data["document_id"], data.get("quote"), prefix)


class Recorded(NamedTuple):
    """An attribution just stored: its id, and its fields in their stored form in the order of
    service.reads.ATTRIBUTION_FIELDS (what reads.attribution_view_of takes), so that no one reads it back."""

    id: int
    stored: tuple


# The fields an attribution is stored with, in the order of service.reads.ATTRIBUTION_FIELDS after the id.
INSERTED_FIELDS = ("claim", "source", "document", "stance", "basis", "confidence", "quote", "published_at",
                   "recorded_at")


def _insert_attribution(claim_id, data, document, now):
    """Store an attribution, its references checked and locked by _lock_references, with its relays: Recorded."""
    published_at = data.get("published_at") or (document.published_at if document else None)
    values = (claim_id, data["source"], document.id if document else None, data["stance"], data["basis"],
              data["confidence"], data.get("quote"), published_at, now)
    fields = Attribution._meta.fields
    stored = [fields[name].db_value(value) for name, value in zip(INSERTED_FIELDS, values, strict=True)]
    [(attribution_id,)] = sql.rows(_attribution_insert(), stored)
    via = data.get("via") or []
    sql.insert(Relay, ("attribution", "position", "source"), [(attribution_id, i, s) for i, s in enumerate(via)])
    return Recorded(attribution_id, (attribution_id, *stored, None, None))


@sql.text_once
def _attribution_insert(param):
    """_insert_attribution's statement."""
    return (f"INSERT INTO {sql.table(Attribution)} ({sql.columns(Attribution, *INSERTED_FIELDS)}) "
            f"VALUES ({sql.marks(len(INSERTED_FIELDS))}) RETURNING id")


def _usable_document(document_id, quote, prefix):
    """The cited document, held against a concurrent retraction; it must exist, stand, and hold the quote."""
    document = locking(Document.select().where(Document.id == document_id), "FOR SHARE").first()
    if document is None:
        raise Invalid(f"{prefix}document_id", f"There is no document {document_id}.")
    if document.retracted_at is not None:
        raise Conflict(f"Document {document_id} is retracted; attributions cannot cite it.")
    if quote is not None and document.text is not None and quote not in document.text:
        raise Invalid(f"{prefix}quote", f"Does not occur verbatim in document {document_id}.")
    return document


def _require_sources(fields_to_ids, share_lock=False):
    """Every referenced source must exist; Invalid names the field that cites a missing one."""
    wanted = sorted({i for ids in fields_to_ids.values() for i in ids})
    query = _sources_query(len(wanted), share_lock and bool(db.obj.for_update))
    found = {source_id for (source_id,) in sql.rows(query, wanted)} if wanted else set()
    for field, ids in fields_to_ids.items():
        missing = [i for i in ids if i not in found]
        if missing:
            raise Invalid(field, f"Unknown source: {', '.join(missing)}.")


@sql.text_once
def _sources_query(param, count, share_lock):
    """_require_sources' query of `count` sources, with FOR SHARE when `share_lock`."""
    query = f"SELECT id FROM {sql.table(Source)} WHERE id IN ({sql.marks(count)}) ORDER BY id"
    return query + " FOR SHARE" if share_lock else query
