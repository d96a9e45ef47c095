"""Past time by index: each claim's derivations over knowledge time and world time, and counts by status.

Every write stores, in its own transaction, what past-time reads need, so they
read rows instead of re-deriving the ledger:
- ClaimState: a claim's derived fields from one write that changed them to the next
  (knowledge time, `as_of`). The open row runs to FOREVER.
- WorldState and WorldSource: a claim's derived fields over publication time, as known
  now (`published_before`); rewritten whenever a write touches the claim, which also logs
  how the rewrite moves the counts at a world time (service.world_tally).
- TallyDelta: how each write changed the counts by status, overall (source "") and per
  origin source; service.tally sums them into checkpoints and reads counts at any time.
- TermSpan: subjects and parties, each over the time it held; WordSpan: the words of the
  text, one row for each run of time they stayed the same.
Times here are integer microseconds (service.clock.to_micros).
"""

from collections import Counter
from typing import NamedTuple

import orjson

from . import sql, world_tally
from .clock import BEGINNING, FOREVER, to_micros
from .count_models import OVERALL, TallyDelta
from .db import is_postgresql, write_time
from .models import ClaimState, TermSpan, WordSpan, WorldSource, WorldState
from .search import word_list
from .sql import chunks

WORD_SPAN_COLUMNS = ("claim", "words", "valid_from", "valid_to")


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
    return frozenset(source for origin in origins for source in origin["sources"])


# --- writing ---------------------------------------------------------------------


def write_moment():
    """The time a write that moves counts is recorded at, read once its row locks are held.

    On PostgreSQL the write first holds the delta table in ROW EXCLUSIVE mode (writers do
    not block each other), so a checkpoint, which needs SHARE ROW EXCLUSIVE, waits for
    every write that has read its time and sees all of their deltas.
    """
    if is_postgresql():
        return write_time(first=f"LOCK TABLE {TallyDelta._meta.table_name} IN ROW EXCLUSIVE MODE")
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
    _record_tally([(_counted(old), _counted(new)) for _, old, new in changed], at)


def _record_tally(moves, at):
    """Append one delta per (source, status) whose count these moves changed: moves are
    (old (status, origin sources) or None, new (status, origin sources)), the sources frozensets."""
    counts = Counter()
    # Claims written together mostly move alike (an import's thousands): each distinct move is counted once.
    for (old, new), claims in Counter(moves).items():
        for side, moved in ((old, -claims), (new, claims)):
            if side is not None:
                status, sources = side
                for source in sources | {OVERALL}:
                    counts[source, status] += moved
    sql.insert(TallyDelta, ("at", "source", "status", "delta"),
               [(at, source, status, n) for (source, status), n in counts.items() if n])


def _counted(shape):
    return None if shape is None else (shape["status"], origin_sources(shape["origins"]))


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


class Fields(NamedTuple):
    """A claim's derived fields as stored: the lists as JSON text, so stored and new compare as text."""

    status: str
    confidence: float | None
    likelihood: str | None
    explanation: str
    origins: str


def same_fields(new, old):
    """Whether two stored forms hold the same values: as text, or parsed when only the text differs
    (a row written by an older serializer)."""
    if new == old:
        return True
    if old is None or new[:3] != old[:3]:
        return False
    if new.explanation != old.explanation and orjson.loads(new.explanation) != orjson.loads(old.explanation):
        return False
    return new.origins == old.origins or orjson.loads(new.origins) == orjson.loads(old.origins)


def store_states(states, at, fresh=False):
    """What record_states does, for derivations in stored form: states are (Target, new Fields, new origin
    sources) of claims whose fields changed (service.derived); `fresh` claims have no state yet."""
    if not states:
        return
    if not fresh:
        for chunk in chunks([target.id for target, _, _ in states]):
            sql.run(_state_statements(len(chunk)).end, [at, *chunk, FOREVER])
        # A second change in one transaction replaces the first: no empty interval is kept.
        for chunk in chunks([target.id for target, _, _ in states if target.touched_now]):
            sql.run(_state_statements(len(chunk)).drop_empty, [*chunk, at, at])
    sql.insert(ClaimState, ("claim", "valid_from", "valid_to", *DERIVED_FIELDS),
               [(target.id, at, FOREVER, *new) for target, new, _ in states])
    tally_states(states, at, fresh)


class _StateStatements(NamedTuple):
    """What store_states runs on the open states of some claims."""

    end: str  # ends them
    drop_empty: str  # deletes those that begin and end at the write's time


@sql.text_once
def _state_statements(param, count):
    """store_states' statements on `count` claims."""
    return _StateStatements(
        end=(f"UPDATE {sql.table(ClaimState)} SET valid_to = {param} "
             f"WHERE claim_id IN ({sql.marks(count)}) AND valid_to = {param}"),
        drop_empty=(f"DELETE FROM {sql.table(ClaimState)} WHERE claim_id IN ({sql.marks(count)}) "
                    f"AND valid_from = {param} AND valid_to = {param}"),
    )


def tally_states(states, at, fresh=False):
    """The deltas of the counts by status that store_states records for these states (alone when their rows are
    written otherwise: service.creation copies new claims' states from their rows)."""
    _record_tally([
        (None if fresh else (target.stored.status, origin_sources(orjson.loads(target.stored.origins))),
         (new.status, sources))
        for target, new, sources in states
        # The same status and origins move no count (a re-grade that only rewrites explanations).
        if fresh or (target.stored.status, target.stored.origins) != (new.status, new.origins)
    ], at)


def store_worlds(worlds, stored=None, fresh=False):
    """Store world-time timelines: worlds maps claim id -> [(published_from, Fields, origin sources)].

    A claim found in `stored` (its stored steps, [(published_from, Fields)]) gets only what
    changed written: a step whose fields or end moved is updated, a step that no longer
    begins is deleted and a new one inserted, so an attribution published now adds a step
    and ends the one before it, whatever the claim's history. Any other claim is replaced
    whole (`fresh` claims have nothing to delete).
    """
    replaced, changes = [], _StepChanges([], [], [], [], [], [])
    for claim_id, steps in worlds.items():
        old = None if stored is None else stored.get(claim_id)
        if old is None:
            replaced.append(claim_id)
        else:
            _compare_steps(claim_id, steps, old, changes)
    # The counts at world times (service.world_tally) lose the spans replaced and gain the new ones.
    lost = changes.unspanned + ([] if fresh else world_tally.stored_spans(replaced))
    if not fresh:
        for chunk in chunks(replaced):
            for model in (WorldState, WorldSource):
                sql.run(f"DELETE FROM {sql.table(model)} WHERE claim_id IN ({sql.marks(len(chunk))})", chunk)
    spans = list(changes.added)
    for claim_id in replaced:
        starts = [start for start, _, _ in worlds[claim_id]]
        spans += [(claim_id, start, end, fields, sources)
                  for (start, fields, sources), end in zip(worlds[claim_id], starts[1:] + [FOREVER], strict=True)]
    statements = _step_statements()
    for statement in (statements.delete_state, statements.delete_sources):
        sql.run_many(statement, changes.removed)
    sql.insert(WorldState, ("claim", "published_from", "published_to", *DERIVED_FIELDS),
               [(claim_id, start, end, *fields) for claim_id, start, end, fields, _ in spans])
    sql.run_many(statements.update_state, changes.updates)
    sql.run_many(statements.delete_sources, [(claim_id, start) for claim_id, start, _, _, _ in changes.respanned])
    sql.run_many(statements.end_sources, [(end, claim_id, start) for claim_id, start, end, _, _ in changes.reended])
    spans = [(claim_id, start, end, fields.status, sources) for claim_id, start, end, fields, sources in spans]
    world_tally.replace_spans(lost, [span[1:] for span in spans + changes.respanned + changes.reended])
    sql.insert(WorldSource, ("claim", "published_from", "published_to", "status", "source"), [
        (claim_id, start, end, status, source)
        for claim_id, start, end, status, sources in spans + changes.respanned for source in sorted(sources)
    ])


class _StepStatements(NamedTuple):
    """What store_worlds runs on one step of a claim (by claim id and published_from)."""

    delete_state: str
    delete_sources: str
    update_state: str  # its derived fields and end
    end_sources: str  # its WorldSource rows' end


@sql.text_once
def _step_statements(param):
    """store_worlds' statements for a database's placeholder, made once: every write runs them."""
    one_step = f"WHERE claim_id = {param} AND published_from = {param}"
    assignments = ", ".join(f'"{name}" = {param}' for name in (*DERIVED_FIELDS, "published_to"))
    return _StepStatements(
        delete_state=f"DELETE FROM {sql.table(WorldState)} {one_step}",
        delete_sources=f"DELETE FROM {sql.table(WorldSource)} {one_step}",
        update_state=f"UPDATE {sql.table(WorldState)} SET {assignments} {one_step}",
        end_sources=f"UPDATE {sql.table(WorldSource)} SET published_to = {param} {one_step}",
    )


class _StepChanges(NamedTuple):
    """What store_worlds writes for claims compared step by step: steps added (claim id, start, end, Fields,
    sources), (claim id, start) of steps removed, updates (Fields..., end, claim id, start), spans whose
    WorldSource rows are rewritten (claim id, start, end, status, sources), spans whose WorldSource rows keep
    their status and sources and only end elsewhere (the same shape: one UPDATE instead of a DELETE and an
    INSERT per source, as when an attribution published now ends the step before it), and the spans they replace."""

    added: list
    removed: list
    updates: list
    respanned: list
    reended: list
    unspanned: list


def _compare_steps(claim_id, steps, old, changes):
    """Add to `changes` what turns a claim's stored steps `old` into `steps`, keyed by their starts."""
    old_starts = [start for start, _ in old]
    before_of = {start: (fields, end) for (start, fields), end in zip(old, old_starts[1:] + [FOREVER], strict=True)}
    starts = [start for start, _, _ in steps]
    for (start, new, sources), end in zip(steps, starts[1:] + [FOREVER], strict=True):
        if start not in before_of:
            changes.added.append((claim_id, start, end, new, sources))
            continue
        before, old_end = before_of.pop(start)
        if end == old_end and same_fields(new, before):
            continue
        changes.updates.append((*new, end, claim_id, start))
        old_sources = origin_sources(orjson.loads(before.origins)) if new.origins != before.origins else sources
        if new.status != before.status or sources != old_sources:
            changes.respanned.append((claim_id, start, end, new.status, sources))
        elif end != old_end:
            changes.reended.append((claim_id, start, end, new.status, sources))
        else:
            continue
        changes.unspanned.append((start, old_end, before.status, old_sources))
    for start, (before, old_end) in before_of.items():  # steps that begin no more
        changes.removed.append((claim_id, start))
        changes.unspanned.append((start, old_end, before.status, origin_sources(orjson.loads(before.origins))))


def record_terms(claim_id, terms, now, new=False):
    """Make a claim's open term spans equal `terms` (a set of (kind, term)) from `now` on; a `new` claim has none
    open yet."""
    at = to_micros(now)
    open_spans = {} if new else {
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


def record_words(claim_id, words, now, new=False):
    """Make a claim's open word span hold `words` from `now` on, if they changed; a `new` claim has none open yet."""
    at = to_micros(now)
    held = None if new else (
        WordSpan.select(WordSpan.id, WordSpan.words, WordSpan.valid_from)
        .where(WordSpan.claim == claim_id, WordSpan.valid_to == FOREVER)
        .first()
    )
    if (held.words if held else None) == (word_list(words) if words else None):
        return
    if held is not None:  # ended now, or gone if it began now (earlier in this transaction)
        ended = WordSpan.delete() if held.valid_from == at else WordSpan.update(valid_to=at)
        ended.where(WordSpan.id == held.id).execute()
    if words:
        sql.insert(WordSpan, WORD_SPAN_COLUMNS, [word_span(claim_id, words, at, FOREVER)])


def word_span(claim_id, words, start, end):
    """A WordSpan row's values (WORD_SPAN_COLUMNS) for a non-empty set of words."""
    return claim_id, word_list(words), start, end


def insert_rows(model, rows):
    """Insert many rows (dicts with the same keys, by field name) with one prepared statement.

    peewee's insert_many builds SQL value by value; a re-grade or an import inserts rows by
    the hundred thousand, where that cost more than the database did.
    """
    if not rows:
        return
    fields = [model._meta.fields[name] for name in rows[0]]
    sql.insert(model, tuple(rows[0]), [[field.db_value(row[field.name]) for field in fields] for row in rows])
