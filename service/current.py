"""Claims as they stand now, read with SQL compiled once per shape: the hot path of single reads and list pages.

peewee compiles a query's SQL every time it runs (a quarter of a millisecond for a
claim's select), and builds a model row per result. Reads of the present are the
service's most frequent requests, so here each statement is compiled once per
database and per number of ids, and rows are turned straight into the public shape.
The shape is the same one service.queries builds through the models for past times.
"""

import functools

from peewee import JOIN, fn

from .clock import from_micros
from .db import db
from .models import Attribution, Claim, Relay, Source
from .timeline import DERIVED_FIELDS

CLAIM_FIELDS = (Claim.id, Claim.text, Claim.subjects, Claim.parties, Claim.event_time, Claim.created_at,
                Claim.updated_at, *(getattr(Claim, name) for name in DERIVED_FIELDS))
ATTRIBUTION_FIELDS = (Attribution.id, Attribution.claim, Attribution.source, Attribution.document,
                      Attribution.stance, Attribution.basis, Attribution.confidence, Attribution.quote,
                      Attribution.published_at, Attribution.recorded_at, Attribution.retracted_at,
                      Attribution.retraction_reason)


def _rows(statement, params, shape=None):
    """The raw rows of statement(shape, params), its SQL compiled once per database, shape and parameter count."""
    params = list(params)
    return db.execute_sql(_compiled(type(db.obj), statement, shape, len(params)), params).fetchall()


@functools.lru_cache(maxsize=256)
def _compiled(database, statement, shape, count):
    """The SQL text of a statement; it must take its parameters in the order its SQL names them (checked here)."""
    stand_ins = list(range(1, count + 1))
    sql, params = statement(shape, stand_ins).sql()
    if [float(p) for p in params] != stand_ins:
        raise AssertionError(f"{statement.__name__} does not name its parameters in the order it takes them")
    return sql


def _claims(_, ids):
    return Claim.select(*CLAIM_FIELDS).where(Claim.id.in_(ids))


def _attributions(_, claim_ids):
    return (
        Attribution.select(*ATTRIBUTION_FIELDS, Relay.source)
        .join(Relay, JOIN.LEFT_OUTER, on=(Relay.attribution == Attribution.id))
        .where(Attribution.claim.in_(claim_ids))
        .order_by(Attribution.id, Relay.position)
    )


def _names(_, source_ids):
    return Source.select(Source.id, Source.name).where(Source.id.in_(source_ids))


def _newest(_, __):
    return Claim.select(fn.MAX(Claim.id))


def _by_state(shape, params):
    """Ids in (low, high] with one of the statuses and at least a confidence: params are
    low, high, each status, the minimum confidence if the shape has one, and the limit."""
    statuses, with_minimum = shape
    low, high, *rest = params
    query = Claim.select(Claim.id).where(Claim.id > low, Claim.id <= high)
    if statuses:
        query = query.where(Claim.status.in_(rest[:statuses]))
    if with_minimum:
        query = query.where(Claim.confidence >= rest[statuses])
    return query.order_by(Claim.id.desc()).limit(rest[-1])


def _time(value):
    return from_micros(value) if value is not None else None


def claim_views(ids):
    """Claims now, in the public shape (without attributions), in the order of `ids`; missing ones left out."""
    if not ids:
        return []
    views = {}
    for (id_, text, subjects, parties, event_time, created_at, updated_at, status, confidence, likelihood,
         explanation, origins) in _rows(_claims, ids):
        views[id_] = {
            "id": id_,
            "text": text,
            "subjects": Claim.subjects.python_value(subjects),
            "parties": Claim.parties.python_value(parties),
            "event_time": _time(event_time),
            "created_at": _time(created_at),
            "updated_at": _time(updated_at),
            "status": status,
            "confidence": confidence,
            "likelihood": likelihood,
            "explanation": Claim.explanation.python_value(explanation),
            "origins": Claim.origins.python_value(origins),
        }
    return [views[i] for i in ids if i in views]


def attribution_views(claim_ids):
    """Every attribution of these claims now, in the public shape, oldest first, keyed by claim id."""
    by_claim = {claim_id: [] for claim_id in claim_ids}
    if not by_claim:
        return by_claim
    last = None
    for (id_, claim_id, source, document, stance, basis, confidence, quote, published_at, recorded_at,
         retracted_at, retraction_reason, relay) in _rows(_attributions, claim_ids):
        if last is not None and last["id"] == id_:
            last["via"].append(relay)
            continue
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
            "retracted_at": _time(retracted_at),
            "retraction_reason": retraction_reason,
        }
        by_claim[claim_id].append(last)
    return by_claim


def source_names(source_ids):
    """The names of these sources now: {id: name}."""
    if not source_ids:
        return {}
    return dict(_rows(_names, sorted(set(source_ids))))


def newest_claim_id():
    """The highest claim id now (0 for an empty ledger)."""
    [(newest,)] = _rows(_newest, ())
    return newest or 0


def ids_by_state(statuses, minimum_confidence, low, high, limit):
    """Ids in (low, high] of claims now with one of `statuses` (any if empty) and at least
    `minimum_confidence` (None: any), newest first, at most `limit`."""
    with_minimum = minimum_confidence is not None
    params = [low, high, *statuses, *([minimum_confidence] if with_minimum else []), limit]
    return [claim_id for (claim_id,) in _rows(_by_state, params, (len(statuses), with_minimum))]
