"""Past time by index: each claim's derivations over knowledge time and world time, and counts by status.

Every write stores, in its own transaction, what past-time reads need, so they
read rows instead of re-deriving the ledger:
- ClaimState: a claim's derived fields from one write that changed them to the next
  (knowledge time, `as_of`). The open row runs to FOREVER.
- WorldState and WorldSource: a claim's derived fields over publication time, as known
  now (`published_before`); rewritten whenever a write touches the claim, which also logs
  how the rewrite moves the counts at a world time (service.world_tally).
- TallyDelta: how each write changed the counts by status, overall (source "") and per
  origin source; TallyCheckpoint/TallyCount hold the sums up to a moment, so a summary
  at any time reads one checkpoint and the few deltas after it.
- TermSpan: subjects, parties and words of the text, each over the time it held.
Times here are integer microseconds (service.clock.to_micros).
"""

from collections import Counter

from peewee import fn

from . import compiled, world_tally
from .clock import BEGINNING, FOREVER, to_micros
from .db import db, is_postgresql, write_time
from .models import (
    OVERALL,
    ClaimState,
    TallyCheckpoint,
    TallyCount,
    TallyDelta,
    TermSpan,
    WorldSource,
    WorldState,
)
from .rules import STATUSES

# Deltas written since the last checkpoint before the next one is taken.
CHECKPOINT_EVERY = 2000


def micros(moment, default):
    """A datetime as microseconds, or `default` for None."""
    return default if moment is None else to_micros(moment)


# The derived fields, as a claim, a ClaimState and a WorldState row all hold them.
DERIVED_FIELDS = ("status", "confidence", "likelihood", "explanation", "origins")


def stored_shape(row):
    """The derived fields a row holds (a Claim, ClaimState or WorldState), in their public shape."""
    return {field: getattr(row, field) for field in DERIVED_FIELDS}


def public_shape(derivation):
    """A service.rules Derivation as stored and shown."""
    return {
        "status": derivation.status,
        "confidence": derivation.confidence,
        "likelihood": derivation.likelihood,
        "explanation": list(derivation.explanation),
        "origins": [o.as_dict() for o in derivation.origins],
    }


def origin_sources(origins):
    """The origin sources named in stored origins (a claim counts under each in the summary)."""
    return {source for origin in origins for source in origin["sources"]}


# --- writing ---------------------------------------------------------------------


def write_moment():
    """The time a write that moves counts is recorded at, read once its row locks are held.

    On PostgreSQL the write first holds the delta table in ROW EXCLUSIVE mode (writers do
    not block each other), so a checkpoint, which needs SHARE ROW EXCLUSIVE, waits for
    every write that has read its time and sees all of their deltas.
    """
    if is_postgresql():
        db.execute_sql(f"LOCK TABLE {TallyDelta._meta.table_name} IN ROW EXCLUSIVE MODE")
    return write_time()


def record_states(changes, now):
    """Store new derivations of claims at `now`: changes are (claim_id, old shape or None, new shape)."""
    at = to_micros(now)
    changed = [(claim_id, old, new) for claim_id, old, new in changes if old != new]
    if not changed:
        return
    ids = [claim_id for claim_id, _, _ in changed]
    for chunk in chunks(ids):
        (ClaimState.update(valid_to=at)
         .where(ClaimState.claim.in_(chunk), ClaimState.valid_to == FOREVER)
         .execute())
        # A second change in one transaction replaces the first: no empty interval is kept.
        (ClaimState.delete()
         .where(ClaimState.claim.in_(chunk), ClaimState.valid_from == at, ClaimState.valid_to == at)
         .execute())
    insert_rows(ClaimState, [
        {"claim": claim_id, "valid_from": at, "valid_to": FOREVER, **new} for claim_id, _, new in changed
    ])
    _record_tally([(old, new) for _, old, new in changed], at)


def _record_tally(changes, at):
    """Append one delta per (source, status) whose count these changes moved."""
    counts = Counter()
    for old, new in changes:
        for shape, sign in ((old, -1), (new, 1)):
            if shape is not None:
                for source in origin_sources(shape["origins"]) | {OVERALL}:
                    counts[source, shape["status"]] += sign
    rows = [{"at": at, "source": s, "status": st, "delta": n} for (s, st), n in counts.items() if n]
    insert_rows(TallyDelta, rows)


def record_worlds(worlds):
    """Replace the world-time timelines of claims: worlds maps claim id -> [(published_from, shape)]."""
    world_tally.rewrite(worlds)
    ids = list(worlds)
    for chunk in chunks(ids):
        WorldState.delete().where(WorldState.claim.in_(chunk)).execute()
        WorldSource.delete().where(WorldSource.claim.in_(chunk)).execute()
    states, sources = [], []
    for claim_id, steps in worlds.items():
        starts = [micros(start, BEGINNING) for start, _ in steps]
        for start, end, (_, shape) in zip(starts, starts[1:] + [FOREVER], steps, strict=True):
            span = {"claim": claim_id, "published_from": start, "published_to": end}
            states.append({**span, **shape})
            sources += [{**span, "source": s, "status": shape["status"]} for s in origin_sources(shape["origins"])]
    insert_rows(WorldState, states)
    insert_rows(WorldSource, sources)


def record_terms(claim_id, terms, now):
    """Make a claim's open term spans equal `terms` (a set of (kind, term)) from `now` on."""
    at = to_micros(now)
    open_spans = {
        (row.kind, row.term): row.id
        for row in TermSpan.select(TermSpan.id, TermSpan.kind, TermSpan.term)
        .where(TermSpan.claim == claim_id, TermSpan.valid_to == FOREVER)
    }
    ended = [span_id for term, span_id in open_spans.items() if term not in terms]
    for chunk in chunks(ended):
        TermSpan.update(valid_to=at).where(TermSpan.id.in_(chunk)).execute()
        TermSpan.delete().where(TermSpan.id.in_(chunk), TermSpan.valid_from == at).execute()
    started = sorted(terms - set(open_spans))
    rows = [{"claim": claim_id, "kind": k, "term": t, "valid_from": at, "valid_to": FOREVER} for k, t in started]
    insert_rows(TermSpan, rows)


def insert_rows(model, rows):
    """Insert many rows (dicts with the same keys, by field name) with one prepared statement.

    peewee's insert_many builds SQL value by value; a re-grade or an import inserts rows by
    the hundred thousand, where that cost more than the database did.
    """
    if not rows:
        return
    fields = [model._meta.fields[name] for name in rows[0]]
    columns = ", ".join(f'"{field.column_name}"' for field in fields)
    marks = ", ".join([db.param] * len(fields))
    sql = f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES ({marks})'
    db.cursor().executemany(sql, [[field.db_value(row[field.name]) for field in fields] for row in rows])


def chunks(items, size=900):
    """Slices small enough for one statement's bound parameters on every database."""
    items = list(items)
    return [items[i:i + size] for i in range(0, len(items), size)]


# --- counts by status ---------------------------------------------------------------


def counts_at(as_of=None):
    """Claims by status, overall and per origin source, at a knowledge time (None: now).

    One checkpoint plus the deltas after it, so the cost does not grow with the ledger.
    """
    at = micros(as_of, FOREVER)
    totals = Counter()
    since = BEGINNING
    for checkpoint_id, checkpoint_at in compiled.rows(_latest_checkpoint, [at, 1]):
        totals.update({(source, status): total
                       for source, status, total in compiled.rows(_checkpoint_counts, [checkpoint_id])})
        since = checkpoint_at
    for source, status, delta in compiled.rows(_deltas_between, [since, at]):
        totals[source, status] += int(delta)
    return split_counts(totals)


def _latest_checkpoint(_, params):
    at, one = params
    return (
        TallyCheckpoint.select(TallyCheckpoint.id, TallyCheckpoint.at)
        .where(TallyCheckpoint.at <= at)
        .order_by(TallyCheckpoint.at.desc())
        .limit(one)
    )


def _checkpoint_counts(_, params):
    [checkpoint_id] = params
    return (
        TallyCount.select(TallyCount.source, TallyCount.status, TallyCount.total)
        .where(TallyCount.checkpoint == checkpoint_id)
    )


def _deltas_between(_, params):
    since, at = params
    return (
        TallyDelta.select(TallyDelta.source, TallyDelta.status, fn.SUM(TallyDelta.delta))
        .where(TallyDelta.at > since, TallyDelta.at <= at)
        .group_by(TallyDelta.source, TallyDelta.status)
    )


def world_counts_at(published_before):
    """Claims by status, overall and per origin source, at a world time, as known now (service.world_tally)."""
    return split_counts(world_tally.totals_at(to_micros(published_before)))


def split_counts(totals):
    """(overall counts by status, {source: counts by status}) with every status present."""
    overall = dict.fromkeys(STATUSES, 0)
    per_source = {}
    for (source, status), n in totals.items():
        if not n:
            continue
        if source == OVERALL:
            overall[status] = n
        else:
            per_source.setdefault(source, dict.fromkeys(STATUSES, 0))[status] = n
    return overall, per_source


def checkpoint_if_due():
    """Sum the deltas into a new checkpoint once enough have gathered since the last one.

    Runs in a transaction of its own, after a write commits. It must see every delta up
    to its own time: on SQLite one writer at a time guarantees that; on PostgreSQL each
    writer holds the delta table in ROW EXCLUSIVE mode from before it reads its write
    time (write_moment), and this lock waits for them all.
    """
    last = TallyCheckpoint.select().order_by(TallyCheckpoint.at.desc()).first()
    through = last.through_id if last is not None else 0
    newest = TallyDelta.select(fn.MAX(TallyDelta.id)).scalar() or 0
    if newest - through < CHECKPOINT_EVERY:
        return None
    with db.atomic():
        if is_postgresql():
            db.execute_sql("SET LOCAL lock_timeout = '2s'")
            db.execute_sql(f"LOCK TABLE {TallyDelta._meta.table_name} IN SHARE ROW EXCLUSIVE MODE")
        return _checkpoint(last, to_micros(write_time()))


def _checkpoint(last, at):
    totals = Counter()
    since = BEGINNING
    if last is not None:
        since = last.at
        rows = TallyCount.select(TallyCount.source, TallyCount.status, TallyCount.total).where(
            TallyCount.checkpoint == last.id
        )
        totals.update({(source, status): total for source, status, total in rows.tuples()})
    deltas = (
        TallyDelta.select(TallyDelta.source, TallyDelta.status, fn.SUM(TallyDelta.delta), fn.MAX(TallyDelta.id))
        .where(TallyDelta.at > since, TallyDelta.at <= at)
        .group_by(TallyDelta.source, TallyDelta.status)
        .tuples()
    )
    through = last.through_id if last is not None else 0
    for source, status, delta, newest in deltas:
        totals[source, status] += int(delta)
        through = max(through, newest)
    checkpoint = TallyCheckpoint.create(at=at, through_id=through)
    rows = [{"checkpoint": checkpoint.id, "source": s, "status": st, "total": n}
            for (s, st), n in totals.items() if n]
    insert_rows(TallyCount, rows)
    return checkpoint
