"""The ledger's self-check: re-derive every claim from its inputs and compare it with all that is stored.

Operators run it (`reportedly verify`) after a restore or an upgrade; the tests run
it after concurrent, crash and scale runs. It reads in batches, so its memory does
not grow with the ledger, and reports each difference in a sentence.
"""

from collections import Counter

from peewee import fn

from . import world_tally
from .clock import to_micros
from .count_models import TallyCheckpoint
from .derived import REDERIVE_BATCH, terms_of
from .facts import derive_many, inputs_many
from .models import Claim, ClaimState, HistoryEntry, TermSpan, WordSpan, WorldSource, WorldState
from .rules import derive_status, world_timeline
from .search import word_list, words_of
from .tally import counts_at, split_counts, world_counts_at
from .timeline import (
    BEGINNING,
    FOREVER,
    OVERALL,
    origin_sources,
    public_shape,
    stored_shape,
)


def verify_ledger(progress=lambda done: None):
    """Every difference between what is stored and what the inputs derive to, as sentences ([] when none)."""
    differences = []
    last_id, done = 0, 0
    while True:
        batch = list(Claim.select().where(Claim.id > last_id).order_by(Claim.id).limit(REDERIVE_BATCH))
        if not batch:
            break
        differences += verify_claims(batch)
        last_id, done = batch[-1].id, done + len(batch)
        progress(done)
    differences += verify_counts()
    differences += verify_world_counts()
    return differences


def verify_claims(claims):
    """Differences in these claims' stored fields, history, terms and timelines."""
    found = []
    states = _rows_by_claim(ClaimState, ClaimState.valid_from, claims)
    worlds = _rows_by_claim(WorldState, WorldState.published_from, claims)
    terms = _rows_by_claim(TermSpan, TermSpan.id, claims, TermSpan.valid_to == FOREVER)
    words = _rows_by_claim(WordSpan, WordSpan.id, claims, WordSpan.valid_to == FOREVER)
    for claim, (shot, statements, sources) in zip(claims, inputs_many(claims), strict=True):
        now = public_shape(derive_status(statements, sources, shot.parties))
        found += _compare(f"claim {claim.id}: stored fields", stored_shape(claim), now)
        rows = states.get(claim.id, [])
        if not rows or rows[-1].valid_to != FOREVER:
            found.append(f"claim {claim.id}: has no open state")
        else:
            found += _compare(f"claim {claim.id}: open state", stored_shape(rows[-1]), now)
        steps = world_timeline(statements, sources, shot.parties)
        expected = [(BEGINNING if start is None else to_micros(start), public_shape(d)) for start, d in steps]
        stored = [(row.published_from, stored_shape(row)) for row in worlds.get(claim.id, [])]
        found += _compare(f"claim {claim.id}: world-time timeline", stored, expected)
        found += _verify_terms(claim, terms.get(claim.id, []), words.get(claim.id, []))
    found += _verify_states(claims, states)
    found += _verify_history(claims, states)
    return found


def _verify_states(claims, states):
    """Each stored state equals a re-derivation at its start, and the states of a claim tile time."""
    found = []
    by_start = {}
    for claim in claims:
        rows = states.get(claim.id, [])
        if rows and rows[0].valid_from != to_micros(claim.created_at):
            found.append(f"claim {claim.id}: first state does not start at its creation")
        for row, following in zip(rows, rows[1:], strict=False):
            if row.valid_to != following.valid_from:
                found.append(f"claim {claim.id}: states leave a gap or overlap at {row.valid_to}")
        for row in rows:
            by_start.setdefault(row.valid_from, []).append((claim, row))
    for start, pairs in by_start.items():
        rows = {claim.id: row for claim, row in pairs}
        moment = _moment(start)
        for shot, _, derivation in derive_many([claim for claim, _ in pairs], as_of=moment):
            found += _compare(f"claim {shot.id}: state from {moment.isoformat()}", stored_shape(rows[shot.id]),
                              public_shape(derivation))
    return found


def _verify_history(claims, states):
    """Each history entry matches the state its moment opened, and the last one matches now."""
    found = []
    entries = (
        HistoryEntry.select()
        .where(HistoryEntry.claim.in_([c.id for c in claims]))
        .order_by(HistoryEntry.id)
    )
    last = {}
    for entry in entries:
        last[entry.claim_id] = entry
        at = to_micros(entry.at)
        state = next((r for r in states.get(entry.claim_id, []) if r.valid_from <= at < r.valid_to), None)
        if state is None or (state.status, state.confidence) != (entry.status, entry.confidence):
            found.append(f"claim {entry.claim_id}: history entry {entry.id} does not match the state at its time")
    for claim in claims:
        entry = last.get(claim.id)
        if entry is None or (entry.status, entry.confidence) != (claim.status, claim.confidence):
            found.append(f"claim {claim.id}: last history entry does not match its status and confidence")
    return found


def _verify_terms(claim, terms, words):
    """The claim's open term and word spans hold what its own fields give."""
    expected = words_of(claim.text)
    held_terms = sorted((span.kind, span.term) for span in terms)
    return (_compare(f"claim {claim.id}: indexed terms", held_terms, sorted(terms_of(claim.subjects, claim.parties)))
            + _compare(f"claim {claim.id}: indexed words", [span.words for span in words],
                       [word_list(expected)] if expected else []))


def verify_counts():
    """The counts by status now and at every checkpoint equal a count of the states that held then."""
    found = []
    moments = [None] + [c.at for c in TallyCheckpoint.select(TallyCheckpoint.at)]
    for at in moments:
        label = "now" if at is None else f"checkpoint {_moment(at).isoformat()}"
        expected = _counted_states(FOREVER - 1 if at is None else at)
        found += _compare(f"counts by status ({label})", counts_at(None if at is None else _moment(at)), expected)
    return found


def _counted_states(at):
    """Counts by status, overall and per origin source, from the states that held at `at` (a full scan)."""
    totals = Counter()
    last_id = 0
    while True:
        rows = list(
            ClaimState.select()
            .where(ClaimState.valid_from <= at, ClaimState.valid_to > at, ClaimState.id > last_id)
            .order_by(ClaimState.id)
            .limit(REDERIVE_BATCH * 4)
        )
        if not rows:
            break
        for row in rows:
            for source in origin_sources(row.origins) | {OVERALL}:
                totals[source, row.status] += 1
        last_id = rows[-1].id
    return split_counts(totals)


def verify_world_counts():
    """The sums behind counts at a world time equal the world-time timelines, node by node and at sampled moments."""
    found = [f"counts at world time: level {level} node {node} ({source or 'overall'}, {status}) is off by {n}"
             for level, node, source, status, n in world_tally.differences()]
    for at in _sampled_world_moments():
        found += _compare(f"counts at world time {_moment(at).isoformat()}", world_counts_at(_moment(at)),
                          _counted_worlds(at))
    return found


def _sampled_world_moments(samples=3):
    """A few moments where world-time timelines change, and the microsecond before each."""
    low, high = WorldState.select(fn.MIN(WorldState.id), fn.MAX(WorldState.id)).tuples().get()
    if high is None:
        return []
    moments = set()
    for i in range(samples):
        row = (
            WorldState.select(WorldState.published_from)
            .where(WorldState.id >= low + (high - low) * i // samples, WorldState.published_from > BEGINNING)
            .order_by(WorldState.id)
            .first()
        )
        if row is not None:
            moments |= {row.published_from, row.published_from - 1}
    return sorted(moments)


def _counted_worlds(at):
    """Counts by status, overall and per origin source, from the world-time rows that hold at `at` (a scan)."""
    totals = Counter()
    overall = (
        WorldState.select(WorldState.status, fn.COUNT(WorldState.id))
        .where(WorldState.published_from <= at, WorldState.published_to > at)
        .group_by(WorldState.status)
        .tuples()
    )
    totals.update({(OVERALL, status): n for status, n in overall})
    by_source = (
        WorldSource.select(WorldSource.source, WorldSource.status, fn.COUNT(WorldSource.id))
        .where(WorldSource.published_from <= at, WorldSource.published_to > at)
        .group_by(WorldSource.source, WorldSource.status)
        .tuples()
    )
    totals.update({(source, status): n for source, status, n in by_source})
    return split_counts(totals)


def _rows_by_claim(model, order, claims, *conditions):
    """The rows of a table of claims' timelines for these claims (those meeting `conditions`), by claim, in order."""
    rows = {}
    query = model.select().where(model.claim.in_([c.id for c in claims]), *conditions)
    for row in query.order_by(model.claim, order):
        rows.setdefault(row.claim_id, []).append(row)
    return rows


def _moment(micros):
    return Claim.created_at.python_value(micros)


def _compare(what, stored, expected):
    return [] if stored == expected else [f"{what} differ: stored {stored!r}, derived {expected!r}"]


def claims_count():
    """How many claims a verification will read (for a progress bar)."""
    return Claim.select(fn.COUNT(Claim.id)).scalar()
