"""Counts by status at any knowledge or world time: a checkpoint of sums plus the deltas written after it.

Every write logs how it moves the counts (TallyDelta, service.timeline); a checkpoint
(TallyCheckpoint, TallyCount) sums them up to a moment, so a summary at any time reads
one checkpoint and the few deltas after it. Counts at a world time come from
service.world_tally. Times here are integer microseconds (service.clock.to_micros).
"""

from collections import Counter

from peewee import fn

from . import sql, world_tally
from .clock import BEGINNING, FOREVER, to_micros
from .count_models import OVERALL, TallyCheckpoint, TallyCount, TallyDelta
from .db import db, is_postgresql, write_time
from .rules import STATUSES
from .timeline import insert_rows, micros

# Deltas written since the last checkpoint before the next one is taken. Every count now sums the deltas
# since the last checkpoint (about half this many on average), so this bounds a summary's, and the web
# board's, cost under writes: at 2,000 the sum was most of a board's fixed cost after a burst of writes.
# A checkpoint writes one row per (source, status) counted, and on PostgreSQL holds writers back while it does.
CHECKPOINT_EVERY = 500


def counts_at(as_of=None):
    """Claims by status, overall and per origin source, at a knowledge time (None: now).

    One checkpoint plus the deltas after it, so the cost does not grow with the ledger.
    """
    at = micros(as_of, FOREVER)
    totals = Counter()
    since = BEGINNING
    for checkpoint_id, checkpoint_at in sql.compiled_rows(_latest_checkpoint, [at, 1]):
        totals.update({(source, status): total
                       for source, status, total in sql.compiled_rows(_checkpoint_counts, [checkpoint_id])})
        since = checkpoint_at
    for source, status, delta in sql.compiled_rows(_deltas_between, [since, at]):
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
    return checkpoint() if checkpoint_due() else None


def checkpoint_due():
    """Whether CHECKPOINT_EVERY deltas have gathered since the last checkpoint.

    Every write asks, so in one query written once; a write asks inside its own transaction,
    where the question costs a fraction of what it does after the commit, in a read
    snapshot of its own (a writer whose deltas it cannot see yet asks after them).
    """
    [(gathered,)] = sql.rows(_gathered_query())
    return gathered is not None and gathered >= CHECKPOINT_EVERY


@sql.text_once
def _gathered_query(param):
    return (f"SELECT (SELECT MAX(id) FROM {sql.table(TallyDelta)}) - COALESCE("
            f"(SELECT through_id FROM {sql.table(TallyCheckpoint)} ORDER BY at DESC LIMIT 1), 0)")


def checkpoint():
    """Sum the deltas into a new checkpoint, in a transaction of its own (see checkpoint_if_due)."""
    last = TallyCheckpoint.select().order_by(TallyCheckpoint.at.desc()).first()
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
