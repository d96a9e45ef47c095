"""What a write derives and stores for the claims it touches: their derived fields, history and timelines.

refresh_claims re-derives a batch of claims from their current inputs through
service.rules (their statements and sources read in a few queries for the whole
batch), compares each derivation with what is stored, and writes only what
changed: the claim's derived fields, a history entry where status or confidence
changed, its knowledge-time state and counts, and its world-time timeline, all in
the caller's transaction. rederive_claims does the same for claims named by id (a
re-grade behind thousands of claims): it reads them as plain rows, and rewrites
only the world-time steps that changed.

Derived fields are compared in their stored form (lists as JSON text), so a claim
whose derivation did not change costs its derivation and nothing more.
"""

from typing import NamedTuple

import orjson

from . import sql, timeline
from .clock import to_micros
from .db import is_postgresql, pipelined
from .facts import source_facts, statements_by_claim
from .metrics import count_rederived
from .models import Claim, HistoryEntry, WorldState
from .rules import NOTHING_ACTIVE, derive_status, is_active, world_timeline
from .search import subject_term
from .timeline import Fields, same_fields

# Claims re-derived per round trip when one write touches many.
REDERIVE_BATCH = 500
# Derivations kept by their inputs (see Derivations); each holds a few kB.
DERIVATIONS_KEPT = 8192


class Target(NamedTuple):
    """A claim to re-derive: its parties, its stored fields (None when it is new) and whether a state of
    it may already start at the write's time (it was written earlier in the same transaction)."""

    id: int
    parties: list
    stored: Fields | None
    touched_now: bool


class Outcome(NamedTuple):
    """One claim's new derivation, and whether its stored fields changed."""

    derivation: object
    changed: bool


def terms_of(subjects, parties):
    """The (kind, term) pairs of a claim's subjects and parties (its TermSpans; its words are a WordSpan)."""
    return {("subject", subject_term(s)) for s in subjects} | {("party", p) for p in parties}


def refresh_claim(claim, cause_kind, cause_id, now, always=False):
    """Store one claim's derived fields; append history when status or confidence changed."""
    [derivation] = refresh_claims([claim], cause_kind, cause_id, now, always)
    return derivation


def refresh_claims(claims, cause_kind, cause_id, now, always=False):
    """Re-derive these Claim rows from their current inputs in one batch, store what changed, and set their
    derived fields and updated_at to match.

    `always` marks a claim's first derivation (its creation): it gets a history entry
    whatever it derives to. Otherwise an entry is appended where status or confidence
    changed. `cause_id=None` names each claim itself. Returns the derivations, in order.
    """
    targets = [
        Target(claim.id, claim.parties, None if always else stored_fields(claim), claim.updated_at == now)
        for claim in claims
    ]
    stored_worlds = None if always else _stored_worlds([target.id for target in targets])
    outcomes, _ = _refresh(targets, cause_kind, cause_id, now, fresh=always, stored_worlds=stored_worlds)
    for claim, outcome in zip(claims, outcomes, strict=True):
        if outcome.changed:
            for field, value in timeline.public_shape(outcome.derivation).items():
                setattr(claim, field, value)
            claim.updated_at = now
    return [outcome.derivation for outcome in outcomes]


def rederive_claims(claim_ids, cause_kind, cause_id, now):
    """Lock these claims (by id), re-derive them and store what changed; their world-time timelines are
    compared step by step with what is stored, and only the steps that changed are written."""
    targets = _lock_targets(claim_ids, to_micros(now))
    _refresh(targets, cause_kind, cause_id, now, fresh=False, stored_worlds=_stored_worlds([t.id for t in targets]))


def lock_target(claim_id):
    """One claim's row as refresh_target takes it (id, parties, updated_at, derived fields, all as stored), locked
    (on PostgreSQL) for the rest of the transaction; None if there is no such claim.

    A write that touches one claim needs no model row: building one parses every JSON field
    that stored_fields would then write out again.
    """
    [row] = sql.rows(_target_query(1), [claim_id]) or [None]
    return row


class Refreshed(NamedTuple):
    """A claim after a write: its derived fields in their public shape (as stored_shape gives them of a refreshed
    Claim), and the names of the sources its statements name, as the write's transaction read them."""

    fields: dict
    source_names: dict


def refresh_target(row, cause_kind, cause_id, now):
    """What refresh_claim does, for a lock_target row; the claim as Refreshed."""
    [target] = _targets([row], to_micros(now))
    [outcome], sources = _refresh([target], cause_kind, cause_id, now, fresh=False,
                                  stored_worlds=_stored_worlds([target.id]))
    names = {source_id: facts.name for source_id, facts in sources.items()}
    if outcome.changed:
        return Refreshed(timeline.public_shape(outcome.derivation), names)
    stored = target.stored
    return Refreshed({"status": stored.status, "confidence": stored.confidence, "likelihood": stored.likelihood,
                      "explanation": orjson.loads(stored.explanation), "origins": orjson.loads(stored.origins)}, names)


def stored_fields(claim):
    """A Claim row's derived fields in their stored form."""
    return Fields(claim.status, claim.confidence, claim.likelihood, json_text(claim.explanation), json_text(claim.origins))


def json_text(value):
    """A list or dict as JSONField stores it."""
    return orjson.dumps(value).decode()


def _fields_of(derivation):
    """The stored form of a service.rules Derivation."""
    shape = timeline.public_shape(derivation)
    return Fields(shape["status"], shape["confidence"], shape["likelihood"], json_text(shape["explanation"]),
                  json_text(shape["origins"]))


def _origin_sources(derivation):
    return frozenset(source for origin in derivation.origins for source in origin.sources)


class Derivations:
    """derive_status kept by everything it reads: the active statements' sources (as SourceFacts), stances,
    bases, confidences and relays, in order, and the claim's parties.

    Many claims share those (and a claim's early world-time steps often count a single
    statement), and derive_status is pure, so a kept derivation is never stale: a source
    changed since counts as other inputs. Each is kept with its stored form.

    A key holds each statement's part as a number (`numbers`): a claim's timeline has a
    step per publication time, each derived from the statements published by then, so a
    claim with n statements hashes about n * n / 2 of them, cheaper as numbers.
    """

    def __init__(self, limit=DERIVATIONS_KEPT):
        self.limit = limit
        self.kept = {}  # (parties, statement numbers...) -> Derivation
        self.numbers = {}  # a statement's part of a key (_key_entry) -> its number
        self.forms = {id(NOTHING_ACTIVE): (_fields_of(NOTHING_ACTIVE), frozenset())}  # id(Derivation) -> form

    def world(self, statements, sources, parties, facts=None):
        """A claim's derivation now, its stored form and origin sources, and its world-time timeline in
        stored form: (Derivation, Fields, origin sources, [(published_from in microseconds, Fields, sources)]).

        `facts` maps source ids to their SourceFacts as plain tuples (cheaper to hash, given per
        batch), else `sources` is used.
        """
        self._forget_if_full()
        facts, numbers = facts or sources, self.numbers
        number_of = {id(s): numbers.setdefault(_key_entry(s, facts), len(numbers)) for s in statements}
        group = frozenset(parties)

        def derive(counted):
            return self._derive(counted, sources, parties, (group, *[number_of[id(s)] for s in counted]))

        now = derive([s for s in statements if is_active(s)])
        steps = world_timeline(statements, sources, parties, current=now, derive=derive)
        forms = [(timeline.micros(start, timeline.BEGINNING), *self.form(step)) for start, step in steps]
        return (now, *self.form(now), forms)

    def _derive(self, statements, sources, parties, key):
        derivation = self.kept.get(key)
        if derivation is None:
            derivation = self.kept[key] = derive_status(statements, sources, parties)
            # By identity: a kept derivation lives as long as its entry, and both are dropped together.
            self.forms[id(derivation)] = (_fields_of(derivation), _origin_sources(derivation))
        return derivation

    def _forget_if_full(self):
        """Drop every kept derivation and number once either table is full: only between claims, so that the
        numbers a claim's keys are made of mean the same until it is derived."""
        if len(self.kept) >= self.limit or len(self.numbers) >= self.limit:
            self.kept.clear()
            self.numbers.clear()
            self.forms = {id(NOTHING_ACTIVE): self.forms[id(NOTHING_ACTIVE)]}

    def form(self, derivation):
        """(Fields, origin sources) of a derivation; kept ones are found by identity."""
        found = self.forms.get(id(derivation))
        return found if found is not None else (_fields_of(derivation), _origin_sources(derivation))


def _key_entry(statement, facts):
    """A statement's part of a Derivations key: what derive_status reads of it."""
    s = statement
    return facts[s.source], s.stance, s.basis, s.confidence, tuple([facts[r] for r in s.via]) if s.via else ()


# One per process: what a worker derived for one write serves the next (bounded; see Derivations).
DERIVATIONS = Derivations()


class Changes(NamedTuple):
    """What a batch of re-derivations changed, ready to store: the Outcomes in order, (Target, new Fields,
    origin sources) of each claim that changed, every claim's world-time steps, and the history entries."""

    outcomes: list
    states: list
    worlds: dict
    entries: list


def derive_created(targets, statements, sources, now):
    """Derive claims being created from the statements in hand (keyed by claim id), without reading them back;
    their rows are inserted with the new fields (Changes.states), then store_created writes the rest."""
    return _derive(targets, statements, sources, "created", None, now, fresh=True)


def store_created(changes, now, rows_copied=False):
    """Store the states, world-time timelines and first history entries of claims created with derive_created.

    `rows_copied`: the caller wrote the states' and history entries' rows itself (service.creation copies them
    from the claims' rows); only the counts and the world-time timelines are stored here.
    """
    if not rows_copied:
        _store(changes, now, fresh=True, stored_worlds=None, claims=False)
        return
    timeline.tally_states(changes.states, to_micros(now), fresh=True)
    timeline.store_worlds(changes.worlds, None, fresh=True)


def _refresh(targets, cause_kind, cause_id, now, fresh, stored_worlds):
    """Derive every target from its current inputs and write what changed; the Outcomes, in order, and the
    SourceFacts of every source their statements name."""
    statements = statements_by_claim([t.id for t in targets])
    sources = source_facts({s.source for group in statements.values() for s in group}
                           | {r for group in statements.values() for s in group for r in s.via})
    changes = _derive(targets, statements, sources, cause_kind, cause_id, now, fresh)
    _store(changes, now, fresh, stored_worlds)
    return changes.outcomes, sources


def _derive(targets, statements, sources, cause_kind, cause_id, now, fresh):
    """Derive each target from its statements and compare it with what is stored: the Changes."""
    count_rederived(len(targets))
    facts = {source_id: (f.id, f.name, f.reliability, f.affiliation) for source_id, f in sources.items()}
    changes = Changes([], [], {}, [])
    for target in targets:
        derivation, new, origin_sources, changes.worlds[target.id] = DERIVATIONS.world(
            statements[target.id], sources, target.parties, facts
        )
        changed = fresh or not same_fields(new, target.stored)
        changes.outcomes.append(Outcome(derivation, changed))
        if not changed:
            continue
        changes.states.append((target, new, origin_sources))
        old = target.stored
        if fresh or (new.status, new.confidence) != (old.status, old.confidence):
            changes.entries.append((target.id, new.status, new.confidence, cause_kind,
                                    str(target.id if cause_id is None else cause_id)))
    return changes


def _store(changes, now, fresh, stored_worlds, claims=True):
    """Write Changes: the claims' fields (unless `claims` is False), states, counts, timelines and history.

    On PostgreSQL they are pipelined: sent one after another, not each after the last one's
    answer (with the lock and clock read of timeline.write_moment sent together, a POST waits
    for the server 12 times instead of 21: docs/benchmarks.md).
    """
    at = to_micros(now)
    with pipelined():
        if claims:
            _store_claims([(target.id, new) for target, new, _ in changes.states], at)
        timeline.store_states(changes.states, at, fresh)
        timeline.store_worlds(changes.worlds, stored_worlds, fresh)
        sql.insert(HistoryEntry, ("claim", "at", "status", "confidence", "cause_kind", "cause_id"),
                   [(claim_id, at, *entry) for claim_id, *entry in changes.entries])


def _store_claims(changed, at):
    """Write the derived fields and updated_at of many claims with one prepared statement."""
    sql.run_many(_claims_update(), [(*fields, at, claim_id) for claim_id, fields in changed])


@sql.text_once
def _claims_update(param):
    """_store_claims' statement for a database's placeholder, made once."""
    assignments = ", ".join(f'"{name}" = {param}' for name in (*timeline.DERIVED_FIELDS, "updated_at"))
    return f"UPDATE {sql.table(Claim)} SET {assignments} WHERE id = {param}"


def _lock_targets(claim_ids, at):
    """These claims as Targets, locked in id order (on PostgreSQL) for the rest of the transaction."""
    targets = []
    for chunk in sql.chunks(sorted(claim_ids)):
        targets += _targets(sql.rows(_target_query(len(chunk)), chunk), at)
    return targets


def _target_query(count):
    """The rows of `count` claims (by id, in id order) as Targets are made of, locked where rows are locked."""
    return _target_text(count, is_postgresql())


@sql.text_once
def _target_text(param, count, locked):
    query = (f"SELECT id, parties, updated_at, {sql.columns(Claim, *timeline.DERIVED_FIELDS)} "
             f"FROM {sql.table(Claim)} WHERE id IN ({sql.marks(count)}) ORDER BY id")
    return query + " FOR UPDATE" if locked else query


def _targets(rows, at):
    """Targets of claim rows read by _target_query, for a write at `at` (microseconds)."""
    return [
        Target(claim_id, orjson.loads(parties), Fields(*derived), updated_at == at)
        for claim_id, parties, updated_at, *derived in rows
    ]


def _stored_worlds(claim_ids):
    """Each claim's stored world-time steps: claim id -> [(published_from, Fields)], oldest first."""
    worlds = {claim_id: [] for claim_id in claim_ids}
    for chunk in sql.chunks(claim_ids):
        for claim_id, start, *derived in sql.rows(_worlds_query(len(chunk)), chunk):
            worlds[claim_id].append((start, Fields(*derived)))
    return worlds


@sql.text_once
def _worlds_query(param, count):
    """_stored_worlds' query of `count` claims."""
    return (f"SELECT claim_id, published_from, {sql.columns(WorldState, *timeline.DERIVED_FIELDS)} "
            f"FROM {sql.table(WorldState)} WHERE claim_id IN ({sql.marks(count)}) "
            "ORDER BY claim_id, published_from")
