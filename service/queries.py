"""Reads of the ledger: claims now (from stored, indexed derived fields) or at a past time (re-derived).

Without `as_of` or `published_before` every filter is SQL over indexed columns.
With either, the claims that existed then are re-derived through service.rules
and filtered by the same meanings in Python (ClaimFilter.admits).
"""

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field

from peewee import fn

from .clock import from_micros, to_micros
from .errors import Invalid, NotFound
from .facts import attributions_known, claims_created_by, derive_many, snapshots
from .identifiers import SLUG
from .models import Attribution, Claim, ClaimTerm, Document, HistoryEntry, Relay, Source
from .rules import STATUSES, is_active
from .search import text_has_words, words_of

# Claims re-derived per round trip when a past-time list scans for matches.
SCAN_BATCH = 200


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


@dataclass(frozen=True)
class ClaimFilter:
    """The claim-list filters of the API; they combine with AND."""

    statuses: tuple = ()
    source: str | None = None
    relayed_by: str | None = None
    subject: str | None = None
    party: str | None = None
    words: frozenset = field(default_factory=frozenset)
    min_confidence: float | None = None

    @classmethod
    def from_args(cls, args):
        """The filters in the list's query arguments."""
        return cls(
            statuses=tuple(args.get("status") or ()),
            source=args.get("source"),
            relayed_by=args.get("relayed_by"),
            subject=args["subject"].casefold() if args.get("subject") else None,
            party=args.get("party"),
            words=frozenset(words_of(args["q"])) if args.get("q") else frozenset(),
            min_confidence=args.get("min_confidence"),
        )

    def sql(self, query):
        """Narrow a Claim query by the stored derived fields and the indexed terms.

        "Active now" is "not retracted", as service.rules.is_active has it without times.
        """
        if self.statuses:
            query = query.where(Claim.status.in_(self.statuses))
        if self.min_confidence is not None:
            query = query.where(Claim.confidence >= self.min_confidence)
        if self.source:
            query = query.where(Claim.id.in_(
                Attribution.select(Attribution.claim)
                .where(Attribution.source == self.source, Attribution.retracted_at.is_null())
            ))
        if self.relayed_by:
            query = query.where(Claim.id.in_(
                Attribution.select(Attribution.claim)
                .join(Relay)
                .where(Relay.source == self.relayed_by, Attribution.retracted_at.is_null())
            ))
        for kind, term in (("subject", self.subject), ("party", self.party)):
            if term:
                query = query.where(Claim.id.in_(
                    ClaimTerm.select(ClaimTerm.claim)
                    .where(ClaimTerm.kind == kind, ClaimTerm.term == term)
                ))
        if self.words:
            query = query.where(text_has_words(self.words))
        return query

    def admits(self, shot, statements, derivation, as_of, published_before):
        """The same filters over a claim re-derived at a past time."""
        active = [s for s in statements if is_active(s, as_of, published_before)]
        return (
            (not self.statuses or derivation.status in self.statuses)
            and (self.min_confidence is None
                 or (derivation.confidence is not None and derivation.confidence >= self.min_confidence))
            and (not self.source or any(s.source == self.source for s in active))
            and (not self.relayed_by or any(self.relayed_by in s.via for s in active))
            and (not self.subject or self.subject in {s.casefold() for s in shot.subjects})
            and (not self.party or self.party in shot.parties)
            and self.words <= words_of(shot.text)
        )


def claim_view(shot, derivation, attributions=None):
    """The public shape of a claim: its fields, derived fields and, on a single read, attributions."""
    view = {
        "id": shot.id,
        "text": shot.text,
        "subjects": shot.subjects,
        "parties": shot.parties,
        "event_time": shot.event_time,
        "created_at": shot.created_at,
        "updated_at": shot.updated_at,
        "status": derivation["status"],
        "confidence": derivation["confidence"],
        "likelihood": derivation["likelihood"],
        "explanation": derivation["explanation"],
        "origins": derivation["origins"],
    }
    if attributions is not None:
        view["attributions"] = attributions
    return view


def stored_derivation(claim):
    """The derived fields stored on a claim."""
    return {
        "status": claim.status,
        "confidence": claim.confidence,
        "likelihood": claim.likelihood,
        "explanation": claim.explanation,
        "origins": claim.origins,
    }


def fresh_derivation(derivation):
    """A Derivation from service.rules in the public shape."""
    return {
        "status": derivation.status,
        "confidence": derivation.confidence,
        "likelihood": derivation.likelihood,
        "explanation": list(derivation.explanation),
        "origins": [o.as_dict() for o in derivation.origins],
    }


def is_past_time(as_of, published_before):
    """Whether a read asks about another time than now."""
    return as_of is not None or published_before is not None


def get_claim(claim_id, as_of=None, published_before=None):
    """One claim with its attributions, now or at the given times; 404 if it did not exist then."""
    claim = claims_created_by(as_of).where(Claim.id == claim_id).first()
    if claim is None:
        raise NotFound(f"There is no claim {claim_id}" + (" at that time." if as_of else "."))
    attributions = attribution_views(Attribution.select().where(Attribution.claim == claim.id), as_of)
    if not is_past_time(as_of, published_before):
        return claim_view(snapshots([claim])[claim.id], stored_derivation(claim), attributions)
    [(shot, _, derivation)] = derive_many([claim], as_of, published_before)
    return claim_view(shot, fresh_derivation(derivation), attributions)


def list_claims(args):
    """A page of claims, newest first, filtered as the API describes."""
    claim_filter = ClaimFilter.from_args(args)
    as_of, published_before = args.get("as_of"), args.get("published_before")
    limit = args["limit"]
    query = claims_created_by(as_of).order_by(Claim.id.desc())
    if args.get("cursor"):
        [before_id] = decode_cursor(args["cursor"], "claims", args, (int,))
        query = query.where(Claim.id < before_id)
    if not is_past_time(as_of, published_before):
        claims = list(claim_filter.sql(query).limit(limit + 1))
        rows = [claim_view(shot, stored_derivation(c)) for c, shot in _with_snapshots(claims)]
    else:
        rows = _scan(query, claim_filter, limit + 1, as_of, published_before)
    return page(rows, limit, lambda item: (item["id"],), "claims", args)


def _with_snapshots(claims):
    shots = snapshots(claims)
    return [(c, shots[c.id]) for c in claims]


def _scan(query, claim_filter, wanted, as_of, published_before):
    """Re-derive claims newest first until `wanted` match."""
    rows = []
    for shot, statements, derivation in rederived(query, as_of, published_before):
        if claim_filter.admits(shot, statements, derivation, as_of, published_before):
            rows.append(claim_view(shot, fresh_derivation(derivation)))
            if len(rows) == wanted:
                break
    return rows


def rederived(query, as_of, published_before):
    """The claims of a newest-first query, re-derived at the given times, SCAN_BATCH at a time."""
    last_id = None
    while True:
        batch = list((query.where(Claim.id < last_id) if last_id is not None else query).limit(SCAN_BATCH))
        if not batch:
            return
        yield from derive_many(batch, as_of, published_before)
        last_id = batch[-1].id


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
    """404 unless the claim exists."""
    if not Claim.select().where(Claim.id == claim_id).exists():
        raise NotFound(f"There is no claim {claim_id}.")


# --- sources -----------------------------------------------------------------------


def get_source(source_id):
    """One source; NotFound if there is none."""
    source = Source.get_or_none(Source.id == source_id)
    if source is None:
        raise NotFound(f"There is no source {source_id!r}.")
    return source


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


# --- documents ---------------------------------------------------------------------


def get_document(document_id):
    """One document; NotFound if there is none."""
    document = Document.get_or_none(Document.id == document_id)
    if document is None:
        raise NotFound(f"There is no document {document_id}.")
    return document


# --- summary -----------------------------------------------------------------------


def summary(as_of=None, published_before=None):
    """Counts of claims by status, overall and per origin source."""
    if not is_past_time(as_of, published_before):
        return _stored_summary()
    totals, per_source, total = _zeroes(), {}, 0
    query = claims_created_by(as_of).order_by(Claim.id.desc())
    for _, _, derivation in rederived(query, as_of, published_before):
        total += 1
        totals[derivation.status] += 1
        for source in {s for o in derivation.origins for s in o.sources}:
            per_source.setdefault(source, _zeroes())[derivation.status] += 1
    return _summary_view(total, totals, per_source)


def _stored_summary():
    totals = _zeroes()
    for row in Claim.select(Claim.status, fn.COUNT(Claim.id).alias("n")).group_by(Claim.status):
        totals[row.status] += row.n
    per_source = {}
    rows = (
        Attribution.select(Attribution.source, Claim.status, fn.COUNT(fn.DISTINCT(Claim.id)).alias("n"))
        .join(Claim)
        .where(Attribution.retracted_at.is_null())
        .group_by(Attribution.source, Claim.status)
        .tuples()
    )
    for source, status, n in rows:
        per_source.setdefault(source, _zeroes())[status] += n
    return _summary_view(sum(totals.values()), totals, per_source)


def _zeroes():
    return dict.fromkeys(STATUSES, 0)


def _summary_view(total, totals, per_source):
    return {
        "total": total,
        "by_status": totals,
        "by_source": [{"source": s, "by_status": per_source[s]} for s in sorted(per_source)],
    }
