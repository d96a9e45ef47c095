"""The hot reads: claims, their attributions and their sources' names in the public shape, now or at a past time.

Single claims and list pages are the service's most frequent requests, so their
statements are compiled once (service.sql) and rows go straight into the
public shape, without model rows. A claim at a knowledge time (`as_of`) takes its
own fields from its revisions and its derived fields from its ClaimState row; at a
world time (`published_before`), its fields now and its WorldState row. Both times
at once have no stored state: service.queries re-derives those.
"""

import orjson
from peewee import JOIN, fn

from . import sql
from .clock import from_micros, to_micros
from .models import Attribution, Claim, ClaimRevision, ClaimState, Relay, Source, SourceRevision, WorldState
from .query_cache import Kept
from .timeline import DERIVED_FIELDS

ATTRIBUTION_FIELDS = (Attribution.id, Attribution.claim, Attribution.source, Attribution.document,
                      Attribution.stance, Attribution.basis, Attribution.confidence, Attribution.quote,
                      Attribution.published_at, Attribution.recorded_at, Attribution.retracted_at,
                      Attribution.retraction_reason)


def _derived(model):
    return [getattr(model, name) for name in DERIVED_FIELDS]


# --- statements: (shape, params) -> query, parameters in the order the SQL names them ---


# Claims now and at a world time name updated_at twice, in the places of the revision's and the state's
# times at a knowledge time, so every claim statement gives rows of one shape.


def _claims(_, ids):
    return (
        Claim.select(Claim.id, Claim.text, Claim.subjects, Claim.parties, Claim.event_time, Claim.created_at,
                     Claim.updated_at, Claim.updated_at, *_derived(Claim))
        .where(Claim.id.in_(ids))
    )


def _claims_as_of(_, params):
    """Params: the time three times, the ids, the time (creation)."""
    revised_by, state_from, state_to, *ids, created_by = params
    latest = ClaimRevision.alias()
    revision = (
        latest.select(fn.MAX(latest.valid_from))
        .where(latest.claim == Claim.id, latest.valid_from <= revised_by)
    )
    return (
        Claim.select(Claim.id, ClaimRevision.text, ClaimRevision.subjects, ClaimRevision.parties,
                     ClaimRevision.event_time, Claim.created_at, ClaimRevision.valid_from, ClaimState.valid_from,
                     *_derived(ClaimState))
        .join(ClaimRevision, on=((ClaimRevision.claim == Claim.id) & (ClaimRevision.valid_from == revision)))
        .join_from(Claim, ClaimState, on=((ClaimState.claim == Claim.id) & (ClaimState.valid_from <= state_from)
                                          & (ClaimState.valid_to > state_to)))
        .where(Claim.id.in_(ids), Claim.created_at <= created_by)
    )


def _claims_published_before(_, params):
    """Params: the world time twice, the ids."""
    published_from, published_to, *ids = params
    return (
        Claim.select(Claim.id, Claim.text, Claim.subjects, Claim.parties, Claim.event_time, Claim.created_at,
                     Claim.updated_at, Claim.updated_at, *_derived(WorldState))
        .join(WorldState, on=((WorldState.claim == Claim.id) & (WorldState.published_from <= published_from)
                              & (WorldState.published_to > published_to)))
        .where(Claim.id.in_(ids))
    )


def _attributions(shape, params):
    """Params: the claim ids (or attribution ids), then the knowledge time when the shape has one. A `named`
    shape adds the names now of the attribution's source and of the relay's."""
    key, known_by, named = shape
    query = (
        Attribution.select(*ATTRIBUTION_FIELDS, Relay.source)
        .join(Relay, JOIN.LEFT_OUTER, on=(Relay.attribution == Attribution.id))
        .where(getattr(Attribution, key).in_(params[:-1] if known_by else params))
        .order_by(Attribution.id, Relay.position)
    )
    if named:
        source, relayer = Source.alias(), Source.alias()
        query = (
            query.select_extend(source.name, relayer.name)
            .join_from(Attribution, source, JOIN.LEFT_OUTER, on=(source.id == Attribution.source))
            .join_from(Relay, relayer, JOIN.LEFT_OUTER, on=(relayer.id == Relay.source))
        )
    return query.where(Attribution.recorded_at <= params[-1]) if known_by else query


def _names(_, source_ids):
    return Source.select(Source.id, Source.name).where(Source.id.in_(source_ids))


def _names_as_of(_, params):
    """Params: the source ids, then the knowledge time."""
    *ids, revised_by = params
    latest = SourceRevision.alias()
    revision = (
        latest.select(fn.MAX(latest.valid_from))
        .where(latest.source == SourceRevision.source, latest.valid_from <= revised_by)
    )
    return (
        SourceRevision.select(SourceRevision.source, SourceRevision.name)
        .where(SourceRevision.source.in_(ids), SourceRevision.valid_from == revision)
    )


def _newest(_, __):
    return Claim.select(fn.MAX(Claim.id))


# --- reads ---------------------------------------------------------------------------


class Origins(list):
    """A claim's origins as stored, parsed once per worker and shared by every view holding the same JSON text:
    read them, never change them. `stored` keeps that text (attribution lines are kept by it); `fragment`
    passes it into a response as it is, when it is what encoding them gives (orjson wrote it; the first
    releases' json.dumps wrote very small and very large numbers otherwise), else None."""

    __slots__ = ("stored", "fragment")

    def __init__(self, stored):
        super().__init__(orjson.loads(stored))
        self.stored = stored
        self.fragment = orjson.Fragment(stored) if orjson.dumps(self) == stored.encode() else None


# Origins by their stored JSON text: a page repeats few (claims share sources and stances), and parsing them was
# a tenth of a list page.
_ORIGINS = Kept(4096)


def stored_origins(text):
    """The Origins of this stored JSON text, parsed when this worker has not kept them."""
    return _ORIGINS.get(text, lambda: Origins(text))


def _time(value):
    return from_micros(value) if value is not None else None


def claim_views(ids, as_of=None, published_before=None, stored_json=False):
    """Claims in the public shape (without attributions) now, at a knowledge time or at a world time (not both),
    in the order of `ids`; claims that did not exist then are left out.

    With `stored_json`, the JSON fields a response only passes on (subjects, parties, explanation: lists of
    strings, which every encoder this ledger has used writes alike) stay in their stored text, as
    orjson.Fragment: for a response that orjson encodes and nothing else reads."""
    passed_on = orjson.Fragment if stored_json else orjson.loads
    if not ids:
        return []
    if as_of is not None:
        at = to_micros(as_of)
        rows = sql.compiled_rows(_claims_as_of, [at, at, at, *ids, at])
    elif published_before is not None:
        at = to_micros(published_before)
        rows = sql.compiled_rows(_claims_published_before, [at, at, *ids])
    else:
        rows = sql.compiled_rows(_claims, ids)
    views, kept = {}, _ORIGINS.lookup
    for (id_, text, subjects, parties, event_time, created_at, revised_at, derived_at, status, confidence,
         likelihood, explanation, origins) in rows:
        created = from_micros(created_at)
        # At a knowledge time: its latest revision or change of derivation then.
        updated_at = max(revised_at, derived_at)
        views[id_] = {
            "id": id_,
            "text": text,
            "subjects": passed_on(subjects),
            "parties": passed_on(parties),
            "event_time": _time(event_time),
            "created_at": created,
            "updated_at": created if updated_at == created_at else from_micros(updated_at),
            "status": status,
            "confidence": confidence,
            "likelihood": likelihood,
            "explanation": passed_on(explanation),
            "origins": kept(origins) or stored_origins(origins),  # the lookup inline: the hot case
        }
    return [views[i] for i in ids if i in views]


def attribution_views(claim_ids, as_of=None, names=None):
    """The attributions of these claims in the public shape, oldest first, keyed by claim id; at a knowledge
    time only those recorded by then, and a retraction only if it came by then.

    Given a dict, `names` is filled with the names now of every source the attributions name or relay through,
    read in the same query (a claim's attribution line needs no other)."""
    by_claim = {claim_id: [] for claim_id in claim_ids}
    if not by_claim:
        return by_claim
    at = None if as_of is None else to_micros(as_of)
    params = list(by_claim) if at is None else [*by_claim, at]
    rows = sql.compiled_rows(_attributions, params, ("claim", at is not None, names is not None))
    for view in _attribution_rows(rows if names is None else _named(rows, names), at):
        by_claim[view["claim_id"]].append(view)
    return by_claim


def _named(rows, names):
    """Rows of a named _attributions shape in the plain shape, the names they end with put in `names`."""
    for *row, source_name, relay_name in rows:
        names[row[2]] = source_name
        if row[-1] is not None:
            names[row[-1]] = relay_name
        yield row


def attribution_view(attribution_id):
    """One attribution in the public shape now."""
    [view] = _attribution_rows(sql.compiled_rows(_attributions, [attribution_id], ("id", False, False)))
    return view


def attribution_view_of(stored, via):
    """An attribution a write holds (its ATTRIBUTION_FIELDS in their stored form, and its `via` list) in the public
    shape, exactly as attribution_view would read it back."""
    [view] = _attribution_rows([(*stored, relay) for relay in via or [None]])
    return view


def _attribution_rows(rows, at=None):
    """Attribution views from rows of _attributions (one row per relay), in order."""
    views, last = [], None
    for (id_, claim_id, source, document, stance, basis, confidence, quote, published_at, recorded_at,
         retracted_at, retraction_reason, relay) in rows:
        if last is not None and last["id"] == id_:
            last["via"].append(relay)
            continue
        retracted = retracted_at is not None and (at is None or retracted_at <= at)
        last = {
            "id": id_,
            "claim_id": claim_id,
            "source": source,
            "via": [relay] if relay is not None else [],
            "document_id": document,
            "stance": stance,
            "basis": basis,
            "confidence": confidence,
            "quote": quote,
            "published_at": _time(published_at),
            "recorded_at": _time(recorded_at),
            "retracted_at": _time(retracted_at) if retracted else None,
            "retraction_reason": retraction_reason if retracted else None,
        }
        views.append(last)
    return views


def source_names(source_ids, as_of=None):
    """The names of these sources now, or at a knowledge time: {id: name}."""
    ids = sorted(set(source_ids))
    if not ids:
        return {}
    if as_of is None:
        return dict(sql.compiled_rows(_names, ids))
    return dict(sql.compiled_rows(_names_as_of, [*ids, to_micros(as_of)]))


def newest_claim_id():
    """The highest claim id now (0 for an empty ledger)."""
    [(newest,)] = sql.compiled_rows(_newest, ())
    return newest or 0
