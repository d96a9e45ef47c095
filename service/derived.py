"""What a write derives and stores for the claims it touches: their derived fields, history and timelines.

refresh_claims re-derives a batch of claims from their current inputs through
service.rules, stores the derived fields on each claim, appends a history entry
where status or confidence changed, and keeps the timelines past-time reads use
(service.timeline), all in the caller's transaction.
"""

from . import timeline
from .db import db
from .facts import inputs_many
from .metrics import count_rederived
from .models import Claim, HistoryEntry, JSONField
from .rules import derive_status, world_timeline
from .search import subject_term, words_of

# Claims re-derived per round trip when one write touches many.
REDERIVE_BATCH = 500


def claim_terms(claim):
    """The (kind, term) pairs the subject, party and word filters find a claim by."""
    terms = {("subject", subject_term(s)) for s in claim.subjects}
    terms |= {("party", p) for p in claim.parties}
    return terms | {("word", w) for w in words_of(claim.text)}


def refresh_claim(claim, cause_kind, cause_id, now, always=False):
    """Store one claim's derived fields; append history when status or confidence changed."""
    [derivation] = refresh_claims([claim], cause_kind, cause_id, now, always)
    return derivation


def refresh_claims(claims, cause_kind, cause_id, now, always=False):
    """Re-derive these claims from their current inputs in one batch and store what changed.

    `always` marks a claim's first derivation (its creation): it gets a history entry
    whatever it derives to. Otherwise an entry is appended where status or confidence
    changed. `cause_id=None` names each claim itself. Returns the derivations, in order.
    """
    derivations, changes, worlds, entries = [], [], {}, []
    count_rederived(len(claims))
    for claim, (shot, statements, sources) in zip(claims, inputs_many(claims), strict=True):
        derivation = derive_status(statements, sources, shot.parties)
        new = timeline.public_shape(derivation)
        old = None if always else timeline.stored_shape(claim)
        steps = world_timeline(statements, sources, shot.parties, current=derivation)
        worlds[claim.id] = [(start, timeline.public_shape(d)) for start, d in steps]
        derivations.append(derivation)
        if new == old:
            continue
        changes.append((claim.id, old, new))
        if always or (new["status"], new["confidence"]) != (old["status"], old["confidence"]):
            entries.append({
                "claim": claim.id, "at": now, "status": new["status"], "confidence": new["confidence"],
                "cause_kind": cause_kind, "cause_id": str(claim.id if cause_id is None else cause_id),
            })
        for field, value in new.items():
            setattr(claim, field, value)
        claim.updated_at = now
    _store_derived([claim for claim in claims if claim.id in {c for c, _, _ in changes}])
    timeline.record_states(changes, now)
    timeline.record_worlds(worlds)
    timeline.insert_rows(HistoryEntry, entries)
    return derivations


def _store_derived(claims):
    """Write the derived fields and updated_at of many claims with one prepared statement."""
    if not claims:
        return
    json_field = JSONField()
    columns = [*timeline.DERIVED_FIELDS, "updated_at"]
    assignments = ", ".join(f"{column} = {db.param}" for column in columns)
    rows = [
        [claim.status, claim.confidence, claim.likelihood, json_field.db_value(claim.explanation),
         json_field.db_value(claim.origins), Claim.updated_at.db_value(claim.updated_at), claim.id]
        for claim in claims
    ]
    db.cursor().executemany(f"UPDATE {Claim._meta.table_name} SET {assignments} WHERE id = {db.param}", rows)
