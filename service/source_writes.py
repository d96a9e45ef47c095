"""Writes to the ledger's sources: registering one, and changing one, which re-derives every claim it appears in.

Each public function is one transaction and keeps the lock order service.ledger states.
A change too large for one request is queued as a Job (service.jobs applies it through
update_source, as a small change is applied).
"""

from datetime import timedelta

from peewee import IntegrityError

from . import timeline
from .clock import utcnow
from .db import db
from .derived import REDERIVE_BATCH, rederive_claims
from .errors import Conflict, Invalid, NotFound
from .ledger import claim_write, lock_group_keys, locking
from .models import Attribution, Claim, Job, Relay, Source, SourceRevision

# Source fields the status rules read; a change to one re-derives the source's claims.
RULE_FIELDS = ("name", "reliability", "affiliation")


def create_source(data):
    """Register a source; its first revision lets `as_of` see it from now on."""
    with db.atomic():
        lock_group_keys(data["id"], data.get("affiliation"))
        now = timeline.write_moment()
        if Source.get_or_none(Source.id == data["id"]) is not None:
            raise Conflict(f"A source with id {data['id']!r} exists already.")
        if Source.select().where(Source.affiliation == data["id"], Source.id != data["id"]).exists():
            raise Invalid("id", "Is an affiliation other sources use; choose another id.")
        _check_affiliation(data["id"], data.get("affiliation"))
        try:
            with db.atomic():
                source = Source.create(created_at=now, updated_at=now, **data)
        except IntegrityError:  # created by a concurrent request since the check above
            raise Conflict(f"A source with id {data['id']!r} exists already.") from None
        _record_source_revision(source, now)
    return source


def update_source(source_id, changes, check_precondition=lambda source: None, progress=lambda done: None):
    """Change a source; a change the rules read re-derives every claim it appears in, with history.

    `check_precondition(source)` enforces If-Match once the source row is locked;
    `progress(done)` hears how many claims are re-derived after each batch.
    """
    with claim_write():
        lock_group_keys(source_id, changes.get("affiliation"))
        source = locking(Source.select().where(Source.id == source_id)).first()
        if source is None:
            raise NotFound(f"There is no source {source_id!r}.")
        check_precondition(source)
        if "affiliation" in changes:
            _check_affiliation(source.id, changes["affiliation"])
        changed = {k: v for k, v in changes.items() if getattr(source, k) != v}
        if not changed:
            return source
        rederive = set(changed) & set(RULE_FIELDS)
        claim_ids = _claims_naming(source.id, relays="name" in changed) if rederive else []
        now = timeline.write_moment()
        for field, value in changed.items():
            setattr(source, field, value)
        source.updated_at = now
        source.save()
        if rederive:
            _record_source_revision(source, now)
            for done, batch in enumerate(timeline.chunks(claim_ids, REDERIVE_BATCH), 1):
                rederive_claims(batch, "source_change", source.id, now)
                progress(min(done * REDERIVE_BATCH, len(claim_ids)))
    return source


def request_source_change(source_id, changes, check_precondition=lambda source: None, inline_limit=None,
                          lease=timedelta(hours=1)):
    """Change a source now, or, when the change re-derives more than `inline_limit` claims, queue it as a Job.

    Returns (source, None) when applied, (source as it stands, job) when queued. One job
    at a time per source: another change while one is pending (queued or running, and
    younger than `lease`) is a Conflict.
    """
    with claim_write():
        source = locking(Source.select().where(Source.id == source_id)).first()
        if source is None:
            raise NotFound(f"There is no source {source_id!r}.")
        check_precondition(source)
        pending = (
            Job.select()
            .where(Job.subject == source_id, Job.state.in_(("queued", "running")), Job.created_at > utcnow() - lease)
            .exists()
        )
        if pending:
            raise Conflict(f"A change of source {source_id!r} is still being applied; retry when its job is done.")
        changed = {k: v for k, v in changes.items() if getattr(source, k) != v}
        total = len(_claims_naming(source_id, relays="name" in changed)) if set(changed) & set(RULE_FIELDS) else 0
        if inline_limit is None or total <= inline_limit:
            return update_source(source_id, changes), None
        if "affiliation" in changed:
            _check_affiliation(source_id, changed["affiliation"])
        job = Job.create(kind="source_change", subject=source_id, changes=changed, state="queued",
                         claims_total=total, created_at=timeline.write_moment())
    return source, job


def _check_affiliation(source_id, affiliation):
    """Group keys never mix: an affiliation is never the id of another source."""
    if affiliation and affiliation != source_id and Source.get_or_none(Source.id == affiliation) is not None:
        raise Invalid("affiliation", f"Is the id of another source ({affiliation!r}); choose another key.")


def _record_source_revision(source, now):
    SourceRevision.create(
        source=source.id, valid_from=now, name=source.name,
        reliability=source.reliability, affiliation=source.affiliation,
    )


def _claims_naming(source_id, relays):
    """Claims with an attribution from this source, and (`relays`) those it relayed: a relay's name appears
    in explanations, but its grade and group never count."""
    as_origin = Attribution.select(Attribution.claim).where(Attribution.source == source_id)
    named = Claim.id.in_(as_origin)
    if relays:
        as_relay = (
            Attribution.select(Attribution.claim)
            .join(Relay)
            .where(Relay.source == source_id)
        )
        named |= Claim.id.in_(as_relay)
    query = (
        Claim.select(Claim.id)
        .where(named)
        .order_by(Claim.id)
        .tuples()
    )
    return [claim_id for (claim_id,) in query]
