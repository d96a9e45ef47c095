"""Counts by status at a world time (`published_before`), read from sums whose number does not grow with the ledger.

Each WorldState row, [published_from, published_to) of one claim, adds +1 to its status
at published_from and -1 at published_to, overall and under each of its origin sources
(WorldSource), so the count at T is the sum of every move at or before T. The moves live:
- in WorldTallyDelta, a log: a rewrite of claims' world timelines (service.timeline
  record_worlds) appends its net moves, its old rows' taken back and its new rows' added.
  Writers only append, so on PostgreSQL they do not wait for each other here.
- in WorldTally, once folded: level 0 sums the moves of each moment; level 1 those of each
  bucket of 2**BUCKET_BITS microseconds (about 71 minutes), counted from BEGINNING; each
  node of a level above sums 2**LEVEL_BITS nodes of the level below. The buckets wholly
  before T's own are, at each level, the nodes before T's own inside its parent (the
  digits of the number of T's bucket, in base 2**LEVEL_BITS); T's own bucket is read at
  level 0, moment by moment.
So a read sums at most LEVELS ranges of fewer than 2**LEVEL_BITS nodes, the moments of one
bucket and a log of about FOLD_EVERY rows at most, whatever the size of the ledger.

The write that finds FOLD_EVERY rows in the log folds it, inside that write's transaction
(on SQLite one write in about 400 pays some 35 ms for it): it deletes the log rows it sees
and adds their sums to WorldTally. A reader sees the log and the
sums of one snapshot (one statement), so a fold never counts twice or not at all. On
PostgreSQL one fold runs at a time (a transaction advisory lock, only tried: a writer that
does not get it leaves the log to a later one), and a fold deletes only committed rows,
so the moves of writers still running stay in the log.
"""

import contextlib
import contextvars
from collections import Counter

import orjson

from . import sql
from .clock import BEGINNING, FOREVER, to_micros
from .count_models import OVERALL, WorldTally, WorldTallyDelta
from .db import db, is_postgresql
from .models import WorldSource, WorldState

# Level 1 buckets hold 2**32 microseconds (about 71 minutes): T's own bucket is read moment by moment.
BUCKET_BITS = 32
# Nodes of a level per node of the level above, as a power of two: more levels cost every fold rows
# (one per level and count), fewer make reads add more nodes.
LEVEL_BITS = 4
# Times from BEGINNING are below 2**63, so a bucket number has 63 - BUCKET_BITS bits, LEVEL_BITS a level.
LEVELS = -(-(63 - BUCKET_BITS) // LEVEL_BITS)
# Log rows gathered before a write folds them into the sums.
FOLD_EVERY = 2000
# Claims whose old rows one query reads (bound parameters stay under every database's limit).
READ_BATCH = 500
# PostgreSQL's transaction advisory lock a fold holds, so that one fold runs at a time.
FOLD_LOCK = 7_000_001

_following = contextvars.ContextVar("world_tally_following", default=True)


def _parent_shift(level):
    """How far a node number of the level below shifts right to give its node at `level` (>= 1)."""
    return BUCKET_BITS if level == 1 else LEVEL_BITS


# --- writing ---------------------------------------------------------------------


def rewrite(worlds):
    """Log how replacing these claims' world-time timelines moves the counts, before their old rows are deleted.

    `worlds` maps claim id -> [(published_from or None, shape)], as service.timeline.record_worlds takes it.
    """
    if not _following.get() or not worlds:
        return
    new = []
    for steps in worlds.values():
        starts = [BEGINNING if start is None else to_micros(start) for start, _ in steps]
        new += [(start, end, shape["status"], _sources(shape["origins"]))
                for start, end, (_, shape) in zip(starts, starts[1:] + [FOREVER], steps, strict=True)]
    replace_spans(stored_spans(list(worlds)), new)


def replace_spans(old, new):
    """Log how replacing world-time spans `old` by `new` moves the counts; a span is
    (published_from, published_to, status, its origin sources)."""
    if not _following.get():
        return
    moves = Counter()
    for spans, sign in ((old, -1), (new, 1)):
        for published_from, published_to, status, sources in spans:
            _move(moves, published_from, status, sources, sign)
            _move(moves, published_to, status, sources, -sign)
    _append([(at, source, status, n) for (at, source, status), n in moves.items() if n])


def stored_spans(ids):
    """The stored world-time spans of these claims, as replace_spans takes them."""
    return [(begin, end, status, _sources(origins)) for begin, end, status, origins in _old_rows(ids)]


def _sources(origins):
    return {source for origin in origins for source in origin["sources"]}


def _old_rows(ids):
    """(published_from, published_to, status, origins) of the claims' stored world-time rows.

    Plain SQL: this runs in every write, where compiling a peewee query cost more than the query.
    """
    table, claim = WorldState._meta.table_name, WorldState.claim.column_name
    for start in range(0, len(ids), READ_BATCH):
        chunk = ids[start:start + READ_BATCH]
        rows = db.obj.execute_sql(f"SELECT published_from, published_to, status, origins FROM {table} "
                                  f"WHERE {claim} IN ({sql.marks(len(chunk))})", chunk)
        yield from ((begin, end, status, orjson.loads(origins)) for begin, end, status, origins in rows)


def _move(moves, at, status, sources, sign):
    """Add `sign` at `at` to the count of `status`, overall and under each origin source; FOREVER never comes."""
    if at >= FOREVER:
        return
    moves[at, OVERALL, status] += sign
    for source in sources:
        moves[at, source, status] += sign


def _append(rows):
    """Append log rows (at, source, status, delta), then fold the log if it has grown enough."""
    if not rows:
        return
    sql.run_many(_log_insert(), rows)
    # On SQLite the row just inserted has the highest id, and ids start again at 1 once a fold empties the log:
    # below FOLD_EVERY, fewer rows than that are there, and the count needs no query.
    if is_postgresql() or db.obj.connection().last_insert_rowid() >= FOLD_EVERY:
        fold_if_due()


@sql.text_once
def _log_insert(param):
    return f"INSERT INTO {WorldTallyDelta._meta.table_name} (at, source, status, delta) VALUES ({sql.marks(4)})"


def fold_if_due():
    """Fold the log into the sums once FOLD_EVERY rows have gathered (ids may skip: a rough count is enough)."""
    table = WorldTallyDelta._meta.table_name
    # Two subqueries: SQLite finds a lone MIN or MAX at an end of the index, but scans the log for both at once.
    low, high = db.execute_sql(f"SELECT (SELECT MIN(id) FROM {table}), (SELECT MAX(id) FROM {table})").fetchone()
    if high is None or high - low + 1 < FOLD_EVERY:
        return
    if is_postgresql() and not db.execute_sql("SELECT pg_try_advisory_xact_lock(%s)", (FOLD_LOCK,)).fetchone()[0]:
        return
    fold()


def fold():
    """Move every log row this transaction sees into the sums of every level."""
    table = WorldTallyDelta._meta.table_name
    moments = Counter()
    for at, source, status, delta in db.execute_sql(f"DELETE FROM {table} RETURNING at, source, status, delta"):
        moments[at - BEGINNING, source, status] += delta
    sums = Counter({(0, *key): n for key, n in moments.items()})
    level = moments
    for k in range(1, LEVELS + 1):
        parents = Counter()
        for (node, source, status), n in level.items():
            parents[node >> _parent_shift(k), source, status] += n
        sums.update({(k, *key): n for key, n in parents.items()})
        level = parents
    _add(sorted((*key, n) for key, n in sums.items() if n))


def _add(rows):
    """Add totals to WorldTally rows (level, node, source, status, total), creating those that are missing."""
    table = WorldTally._meta.table_name
    marks = ", ".join([db.param] * 5)
    db.cursor().executemany(
        f"INSERT INTO {table} (level, node, source, status, total) VALUES ({marks}) "
        f"ON CONFLICT (level, node, source, status) DO UPDATE SET total = {table}.total + excluded.total",
        rows,
    )


# --- counting afresh ------------------------------------------------------------------


def moves_sql():
    """Every move the stored world-time timelines make, as rows (at, source, status, n): their starts and ends."""
    states, sources = WorldState._meta.table_name, WorldSource._meta.table_name
    return (
        f"SELECT published_from AS at, '{OVERALL}' AS source, status, 1 AS n FROM {states} "
        f"UNION ALL SELECT published_to, '{OVERALL}', status, -1 FROM {states} WHERE published_to < {FOREVER} "
        f"UNION ALL SELECT published_from, source, status, 1 FROM {sources} "
        f"UNION ALL SELECT published_to, source, status, -1 FROM {sources} WHERE published_to < {FOREVER}"
    )


def recount():
    """Sum every stored world-time timeline afresh into WorldTally, in SQL (a migration's backfill, a rebuild's end)."""
    WorldTallyDelta.delete().execute()
    WorldTally.delete().execute()
    insert = f"INSERT INTO {WorldTally._meta.table_name} (level, node, source, status, total)"
    db.execute_sql(f"{insert} SELECT 0, at - ({BEGINNING}), source, status, SUM(n) FROM ({moves_sql()}) AS moves "
                   "GROUP BY at, source, status HAVING SUM(n) <> 0")
    for k in range(1, LEVELS + 1):
        parent = f"node >> {_parent_shift(k)}"
        db.execute_sql(f"{insert} SELECT {k}, {parent}, source, status, SUM(total) "
                       f"FROM {WorldTally._meta.table_name} WHERE level = {k - 1} GROUP BY {parent}, source, status")


def differences(limit=10):
    """Where the sums disagree with the world-time timelines: [(level, node, source, status, stored - expected)].

    Level 0 and the log against the timelines' moves; each level above against the one below it.
    """
    tally, log = WorldTally._meta.table_name, WorldTallyDelta._meta.table_name
    found = [(0, *row) for row in _nonzero(
        f"SELECT at - ({BEGINNING}) AS node, source, status, -n AS n FROM ({moves_sql()}) AS moves "
        f"UNION ALL SELECT at - ({BEGINNING}), source, status, delta FROM {log} "
        f"UNION ALL SELECT node, source, status, total FROM {tally} WHERE level = 0", limit)]
    for k in range(1, LEVELS + 1):
        parent = f"node >> {_parent_shift(k)}"
        found += [(k, *row) for row in _nonzero(
            f"SELECT {parent} AS node, source, status, -total AS n FROM {tally} WHERE level = {k - 1} "
            f"UNION ALL SELECT node, source, status, total FROM {tally} WHERE level = {k}", limit)]
    return found[:limit]


def _nonzero(parts, limit):
    return db.execute_sql(f"SELECT node, source, status, SUM(n) FROM ({parts}) AS parts "
                          f"GROUP BY node, source, status HAVING SUM(n) <> 0 LIMIT {limit}").fetchall()


@contextlib.contextmanager
def recounted():
    """Within: rewrites of world timelines leave the sums alone; at the end they are counted afresh.

    A rebuild writes every timeline again, where one recount costs less than following each
    batch; inside migration 0003 the tables do not exist yet (0006 creates and fills them).
    """
    token = _following.set(False)
    try:
        yield
    finally:
        _following.reset(token)
    if WorldTally.table_exists():
        recount()


# --- reading ------------------------------------------------------------------------


def nodes_before(offset):
    """[(level, first node, last node)]: ranges of nodes that together hold every bucket wholly before the one of
    `offset` (microseconds since BEGINNING), each bucket once."""
    ranges = []
    for k in range(1, LEVELS + 1):
        node = (offset >> BUCKET_BITS) >> ((k - 1) * LEVEL_BITS)
        first = node >> LEVEL_BITS << LEVEL_BITS
        if node > first:
            ranges.append((k, first, node - 1))
    return ranges


def totals_at(at):
    """{(source, status): claims} at world time `at` (microseconds), overall under source OVERALL.

    One statement, so the log and the sums are read from one snapshot even while a fold commits.
    """
    offset = at - BEGINNING
    tally, log = WorldTally._meta.table_name, WorldTallyDelta._meta.table_name
    ranges = nodes_before(offset)
    in_range = f"(level = {db.param} AND node BETWEEN {db.param} AND {db.param})"
    node_match = " OR ".join([in_range] * len(ranges)) or "1 = 0"
    query = (
        f"SELECT source, status, SUM(n) FROM ("
        f"SELECT source, status, total AS n FROM {tally} WHERE {node_match} "
        f"UNION ALL SELECT source, status, total FROM {tally} "
        f"WHERE level = 0 AND node BETWEEN {db.param} AND {db.param} "
        f"UNION ALL SELECT source, status, delta FROM {log} WHERE at <= {db.param}"
        f") AS parts GROUP BY source, status"
    )
    params = [value for node_range in ranges for value in node_range]
    params += [(offset >> BUCKET_BITS) << BUCKET_BITS, offset, at]
    return Counter({(source, status): int(n) for source, status, n in db.execute_sql(query, params) if n})
