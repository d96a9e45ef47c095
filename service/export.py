"""Export the ledger as JSON Lines that service.bulk imports back (spec §10).

Sources by id, then documents, then claims with their attributions, each by id; no
server-set id or time is written, so an export imported into an empty ledger and
exported again gives the same bytes (the new ledger's ids may differ). Documents get
keys `d1`, `d2`, ... by their place in the file, and attributions cite them by key.
Retractions travel as `retracted: true` with their reason; the import retracts at
its own time, so a past-time read of the new ledger never sees what it did not hold.
With `as_of`, the ledger as it stood then: what existed, the claims' and sources'
rule fields from their revisions, retractions made by then.
"""

import json
from datetime import timezone

from .facts import claims_created_by, relays_by_attribution, snapshots, source_facts
from .models import Attribution, Claim, Document, Source

CHUNK = 1000


def export_ndjson(out, as_of=None):
    """Write the export to a text stream; return how many lines were written."""
    count = 0
    for line in export_lines(as_of):
        out.write(line)
        count += 1
    return count


def export_lines(as_of=None):
    """Every line of the export, newline included."""
    for obj in _sources(as_of):
        yield _dumps(obj)
    keys = {}
    for obj in _documents(as_of, keys):
        yield _dumps(obj)
    for obj in _claims(as_of, keys):
        yield _dumps(obj)


def _dumps(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"


def _time(value):
    return value.astimezone(timezone.utc).isoformat() if value is not None else None


def _retracted_by(retracted_at, as_of):
    return retracted_at is not None and (as_of is None or retracted_at <= as_of)


def _sources(as_of):
    query = Source.select().order_by(Source.id)
    if as_of is not None:
        query = query.where(Source.created_at <= as_of)
    sources = list(query)
    facts = source_facts([s.id for s in sources], as_of)
    for source in sources:
        fact = facts[source.id]
        yield {
            "type": "source", "id": source.id, "name": fact.name, "kind": source.kind,
            "reliability": fact.reliability, "affiliation": fact.affiliation, "country": source.country,
            "url": source.url, "description": source.description,
        }


def _documents(as_of, keys):
    query = Document.select().order_by(Document.id)
    if as_of is not None:
        query = query.where(Document.created_at <= as_of)
    for document in query.iterator():
        keys[document.id] = key = f"d{len(keys) + 1}"
        line = {
            "type": "document", "key": key, "publisher": document.publisher_id, "title": document.title,
            "url": document.url, "published_at": _time(document.published_at), "language": document.language,
            "text": document.text,
        }
        if _retracted_by(document.retracted_at, as_of):
            line.update(retracted=True, retraction_reason=document.retraction_reason)
        yield line


def _claims(as_of, keys):
    last = 0
    while True:
        chunk = list(
            claims_created_by(as_of)
            .where(Claim.id > last)
            .order_by(Claim.id)
            .limit(CHUNK)
        )
        if not chunk:
            return
        last = chunk[-1].id
        shots = snapshots(chunk, as_of)
        attributions = _attributions_of([c.id for c in chunk], as_of, keys)
        for claim in chunk:
            shot = shots[claim.id]
            yield {
                "type": "claim", "text": shot.text, "subjects": shot.subjects, "parties": shot.parties,
                "event_time": _time(shot.event_time), "attributions": attributions.get(claim.id, []),
            }


def _attributions_of(claim_ids, as_of, keys):
    """The attributions of these claims known at `as_of`, as claim lines carry them, by claim id."""
    query = (
        Attribution.select()
        .where(Attribution.claim.in_(claim_ids))
        .order_by(Attribution.id)
    )
    if as_of is not None:
        query = query.where(Attribution.recorded_at <= as_of)
    rows = list(query)
    via = relays_by_attribution(a.id for a in rows)
    result = {}
    for a in rows:
        line = {
            "source": a.source_id, "via": list(via.get(a.id, ())), "document_key": keys.get(a.document_id),
            "stance": a.stance, "basis": a.basis, "confidence": a.confidence, "quote": a.quote,
            "published_at": _time(a.published_at),
        }
        if _retracted_by(a.retracted_at, as_of):
            line.update(retracted=True, retraction_reason=a.retraction_reason)
        result.setdefault(a.claim_id, []).append(line)
    return result
