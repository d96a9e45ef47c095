"""Reads of the ledger: claims, attributions, history, sources, documents and the summary, now or at a past time.

Now, reads use the derived fields stored on each claim; at a knowledge time
(`as_of`) or a world time (`published_before`) they read the timelines every write
keeps (service.timeline), with the filters of service.filters. Only both times at
once re-derive through service.rules, within a bound.
"""

import base64
import binascii
import hashlib
import json

from . import reads
from .clock import from_micros, to_micros
from .derived import REDERIVE_BATCH
from .errors import Invalid, NotFound
from .facts import attributions_known, claims_created_by, derive_many, source_facts
from .filters import ClaimFilter, Moment, StateAt
from .identifiers import SLUG
from .models import Attribution, Claim, Document, HistoryEntry, Job, Source, SourceRevision
from .rules import STATUSES
from .tally import counts_at, world_counts_at
from .timeline import public_shape


def encode_cursor(kind, args, *position):
    """An opaque keyset position, bound to the list (`kind`) and the filters (`args`) that issued it."""
    issued = [kind, _filters_print(args), *position]
    return base64.urlsafe_b64encode(json.dumps(issued).encode()).decode().rstrip("=")


def decode_cursor(cursor, kind, args, shape):
    """The keyset position in a cursor issued by this list with these filters, of the types it must hold."""
    try:
        issued = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        issued = None
    if not isinstance(issued, list) or not _holds(issued[2:], shape):
        raise Invalid("cursor", "Not a cursor this service issued.")
    if issued[:2] != [kind, _filters_print(args)]:
        raise Invalid("cursor", "Issued by another list or other filters; start again without a cursor.")
    return issued[2:]


def _filters_print(args):
    """A short digest of a list's filters: everything but where the page starts and how long it is."""
    filters = {k: v for k, v in args.items() if k not in ("cursor", "limit")}
    digest = hashlib.sha256(json.dumps(filters, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def _holds(position, shape):
    return (
        isinstance(position, list)
        and [type(p) for p in position] == list(shape)
        and all(0 <= p < 2**63 if isinstance(p, int) else SLUG.fullmatch(p) for p in position)
    )


def page(rows, limit, position_of, kind, args):
    """The envelope of one page: `rows` holds up to limit + 1 items, the extra one meaning 'more'."""
    items = rows[:limit]
    more = len(rows) > limit
    return {"items": items, "next_cursor": encode_cursor(kind, args, *position_of(items[-1])) if more else None}


# --- claims ------------------------------------------------------------------

# A list page examines claim ids newest first in windows that double from the first,
# up to a budget per request: past the budget it answers with the matches found so far
# and a cursor to go on (spec §9). Re-deriving (as_of with published_before) costs
# more per claim, so it gets a smaller budget.
FIRST_WINDOW = 256
SCAN_BUDGET = 8_192
REDERIVE_BUDGET = 2_048
# How many claims may be created at once (ids taken in another order than their times).
CREATION_SKEW = 64
# The summary at as_of and published_before together re-derives every claim of then.
SUMMARY_REDERIVE_LIMIT = 20_000


def claim_view(shot, derivation, attributions=None, updated_at=None):
    """The public shape of a claim: its fields, derived fields and, on a single read, attributions."""
    view = {
        "id": shot.id,
        "text": shot.text,
        "subjects": shot.subjects,
        "parties": shot.parties,
        "event_time": shot.event_time,
        "created_at": shot.created_at,
        "updated_at": updated_at or shot.updated_at,
        **derivation,
    }
    if attributions is not None:
        view["attributions"] = attributions
    return view


def get_claim(claim_id, as_of=None, published_before=None, names=None):
    """One claim with its attributions, now or at the given times; NotFound if it did not exist then.

    Without `as_of`, a dict given as `names` is filled with the names now of the sources the claim's attributions
    name (service.reads.attribution_views): all that its attribution line needs, without a query of its own."""
    views = claim_views([claim_id], Moment(as_of, published_before))
    if not views:
        raise NotFound(f"There is no claim {claim_id}" + (" at that time." if as_of else "."))
    views[0]["attributions"] = reads.attribution_views([claim_id], as_of, names if as_of is None else None)[claim_id]
    return views[0]


def claim_views(ids, moment, stored_json=False):
    """Claims in their public shape at a moment, in the order of `ids`; those that did not exist then left out.

    From stored rows (service.reads, which explains `stored_json`) but at both times at once, where they are
    re-derived."""
    if moment.has_stored_state:
        return reads.claim_views(ids, moment.as_of, moment.published_before, stored_json)
    claims = {c.id: c for c in claims_created_by(moment.as_of).where(Claim.id.in_(ids))}
    claims = [claims[i] for i in ids if i in claims]
    states = state_rows(claims, Moment(moment.as_of))
    return [claim_view(shot, fresh_derivation(derivation), updated_at=_updated(shot, states[shot.id]))
            for shot, _, derivation in derive_many(claims, moment.as_of, moment.published_before)]


def state_rows(claims, moment):
    """The stored state (ClaimState or WorldState) of each claim at a moment with one stored timeline."""
    state = StateAt.of(moment)
    rows = state.model.select().where(state.claim.in_([c.id for c in claims]), *state.conditions)
    return {row.claim_id: row for row in rows}


def _updated(shot, state):
    """At a knowledge time a claim was last updated by its latest revision or change of derivation then."""
    return max(shot.updated_at, from_micros(state.valid_from))


def fresh_derivation(derivation):
    """A Derivation from service.rules in the public shape."""
    return public_shape(derivation)


def list_claims(args, stored_json=False):
    """A page of claims, newest first, filtered as the API describes; partial when the scan budget runs out.
    `stored_json`: for a page that goes straight into a response (see service.reads.claim_views)."""
    claim_filter = ClaimFilter.from_args(args)
    moment = Moment(args.get("as_of"), args.get("published_before"))
    limit = args["limit"]
    high = _newest_claim_id(moment.as_of)
    if args.get("cursor"):
        [before_id] = decode_cursor(args["cursor"], "claims", args, (int,))
        high = min(high, before_id - 1)
    ids, unexamined = _scan(claim_filter, moment, high, limit + 1)
    items = claim_views(ids[:limit], moment, stored_json)
    if len(ids) > limit:
        next_cursor = encode_cursor("claims", args, ids[limit - 1])
    else:
        next_cursor = encode_cursor("claims", args, unexamined + 1) if unexamined > 0 else None
    return {"items": items, "next_cursor": next_cursor}


def _newest_claim_id(as_of):
    """The highest id of a claim that existed at a knowledge time (0 when none did).

    Read from the last claims created by then, by the created_at index: MAX(id) over all of
    them would scan them all. Ids follow creation order but for writers in flight at once
    (one at a time on SQLite), so the last CREATION_SKEW by time hold the highest id.
    """
    if as_of is None:
        return reads.newest_claim_id()
    latest = (
        Claim.select(Claim.id)
        .where(Claim.created_at <= as_of)
        .order_by(Claim.created_at.desc())
        .limit(CREATION_SKEW)
    )
    return max((claim_id for (claim_id,) in latest.tuples()), default=0)


def _scan(claim_filter, moment, high, wanted):
    """Ids of matching claims at or below `high`, newest first, until `wanted` are found or the budget is
    spent; returns them with the highest id left unexamined (0 when the scan reached the first claim)."""
    found, window, examined = [], FIRST_WINDOW, 0
    budget = SCAN_BUDGET if moment.has_stored_state else REDERIVE_BUDGET
    while high > 0 and len(found) < wanted and examined < budget:
        low = max(0, high - window)
        if moment.has_stored_state:
            found += claim_filter.matching_ids(moment, low, high, wanted - len(found))
        else:
            found += _rederived_matches(claim_filter, moment, low, high, wanted - len(found))
        examined += high - low
        high, window = low, window * 2
    return found, high


def _rederived_matches(claim_filter, moment, low, high, wanted):
    """Matching ids in (low, high] when status and confidence must be re-derived (as_of with published_before)."""
    ids = claim_filter.candidate_ids(moment, low, high)
    claims = Claim.select().where(Claim.id.in_(ids)).order_by(Claim.id.desc())
    derived = derive_many(claims, moment.as_of, moment.published_before)
    return [shot.id for shot, _, derivation in derived if claim_filter.admits_derivation(derivation)][:wanted]


# --- attributions and history -----------------------------------------------------


def attribution_views(query, as_of=None):
    """Attributions in their public shape; at a past time, only what was known then."""
    return [attribution_view(a, via, as_of) for a, via in attributions_known(query, as_of)]


def attribution_view(attribution, via, as_of=None):
    """One attribution in its public shape; a retraction after `as_of` is not shown."""
    retracted = attribution.retracted_at is not None and (as_of is None or attribution.retracted_at <= as_of)
    return {
        "id": attribution.id,
        "claim_id": attribution.claim_id,
        "source": attribution.source_id,
        "via": list(via),
        "document_id": attribution.document_id,
        "stance": attribution.stance,
        "basis": attribution.basis,
        "confidence": attribution.confidence,
        "quote": attribution.quote,
        "published_at": attribution.published_at,
        "recorded_at": attribution.recorded_at,
        "retracted_at": attribution.retracted_at if retracted else None,
        "retraction_reason": attribution.retraction_reason if retracted else None,
    }


def list_attributions(claim_id, args):
    """A page of one claim's attributions, newest first."""
    require_claim(claim_id)
    query = (
        Attribution.select()
        .where(Attribution.claim == claim_id)
        .order_by(Attribution.id.desc())
    )
    if args.get("cursor"):
        [before_id] = decode_cursor(args["cursor"], f"attributions:{claim_id}", args, (int,))
        query = query.where(Attribution.id < before_id)
    rows = attribution_views(query.limit(args["limit"] + 1))
    return page(rows, args["limit"], lambda item: (item["id"],), f"attributions:{claim_id}", args)


def list_history(claim_id, args):
    """A page of one claim's status and confidence changes, oldest first."""
    require_claim(claim_id)
    query = (
        HistoryEntry.select()
        .where(HistoryEntry.claim == claim_id)
        .order_by(HistoryEntry.id)
    )
    if args.get("cursor"):
        [after_id] = decode_cursor(args["cursor"], f"history:{claim_id}", args, (int,))
        query = query.where(HistoryEntry.id > after_id)
    entries = list(query.limit(args["limit"] + 1))
    result = page(entries, args["limit"], lambda entry: (entry.id,), f"history:{claim_id}", args)
    result["items"] = [history_view(e) for e in result["items"]]
    return result


def history_view(entry):
    """One history entry in its public shape."""
    cause_id = entry.cause_id if entry.cause_kind == "source_change" else int(entry.cause_id)
    return {
        "at": entry.at,
        "status": entry.status,
        "confidence": entry.confidence,
        "cause": {"kind": entry.cause_kind, "id": cause_id},
    }


def require_claim(claim_id):
    """NotFound unless the claim exists."""
    if not Claim.select().where(Claim.id == claim_id).exists():
        raise NotFound(f"There is no claim {claim_id}.")


# --- sources -----------------------------------------------------------------------


def get_source(source_id):
    """One source; NotFound if there is none."""
    return _one(Source, source_id, "source")


def _one(model, key, name):
    """The row of `model` with this primary key; NotFound naming it if there is none."""
    row = model.get_or_none(model._meta.primary_key == key)
    if row is None:
        raise NotFound(f"There is no {name} {key!r}.")
    return row


def sources_at(source_ids, as_of=None):
    """These sources as the rules saw them now, or as they stood at a knowledge time: {id: SourceFacts}."""
    return source_facts(source_ids, as_of)


def list_sources(args):
    """A page of sources, newest first."""
    query = Source.select().order_by(Source.created_at.desc(), Source.id.desc())
    if args.get("cursor"):
        created, source_id = decode_cursor(args["cursor"], "sources", args, (int, str))
        moment = from_micros(created)
        query = query.where(
            (Source.created_at < moment) | ((Source.created_at == moment) & (Source.id < source_id))
        )
    rows = list(query.limit(args["limit"] + 1))
    return page(rows, args["limit"], lambda s: (to_micros(s.created_at), s.id), "sources", args)


def list_source_revisions(source_id):
    """A source's revisions (name, grade, affiliation), oldest first: its re-grade history."""
    get_source(source_id)
    return list(
        SourceRevision.select()
        .where(SourceRevision.source == source_id)
        .order_by(SourceRevision.valid_from, SourceRevision.id)
    )


# --- documents ---------------------------------------------------------------------


def get_document(document_id):
    """One document; NotFound if there is none."""
    return _one(Document, document_id, "document")


def list_document_attributions(document_id):
    """Every attribution that cites a document, oldest first (its quoted passages)."""
    get_document(document_id)
    return attribution_views(
        Attribution.select()
        .where(Attribution.document == document_id)
        .order_by(Attribution.id)
    )


# --- jobs ---------------------------------------------------------------------------


def get_job(job_id):
    """One job; NotFound if there is none."""
    return _one(Job, job_id, "job")


# --- summary -----------------------------------------------------------------------


def summary(as_of=None, published_before=None):
    """Counts of claims by status, overall and per origin source."""
    moment = Moment(as_of, published_before)
    if moment.has_stored_state:
        if published_before is not None:
            totals, per_source = world_counts_at(published_before)
        else:
            totals, per_source = counts_at(as_of)
        return _summary_view(totals, per_source)
    return _rederived_summary(moment)


def _rederived_summary(moment):
    """The summary at as_of and published_before together, re-derived: bounded by SUMMARY_REDERIVE_LIMIT claims."""
    claims = claims_created_by(moment.as_of)
    if claims.count() > SUMMARY_REDERIVE_LIMIT:
        raise Invalid("published_before", f"With as_of, the summary re-derives every claim of then, at most "
                      f"{SUMMARY_REDERIVE_LIMIT}; ask for as_of or published_before alone.")
    totals, per_source = dict.fromkeys(STATUSES, 0), {}
    query = claims.order_by(Claim.id.desc())
    for _, _, derivation in rederived(query, moment.as_of, moment.published_before):
        totals[derivation.status] += 1
        for source in {s for o in derivation.origins for s in o.sources}:
            per_source.setdefault(source, dict.fromkeys(STATUSES, 0))[derivation.status] += 1
    return _summary_view(totals, per_source)


def rederived(query, as_of, published_before):
    """The claims of a newest-first query, re-derived at the given times, REDERIVE_BATCH at a time."""
    last_id = None
    while True:
        batch = list((query.where(Claim.id < last_id) if last_id is not None else query).limit(REDERIVE_BATCH))
        if not batch:
            return
        yield from derive_many(batch, as_of, published_before)
        last_id = batch[-1].id


def _summary_view(totals, per_source):
    return {
        "total": sum(totals.values()),
        "by_status": totals,
        "by_source": [{"source": s, "by_status": per_source[s]} for s in sorted(per_source)],
    }
