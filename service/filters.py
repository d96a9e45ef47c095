"""The claim-list filters, each defined once over time: now, at a knowledge time, at a world time.

A filter is SQL over what the ledger stores: the derived status and confidence of
the claim at the time asked (Claim now, ClaimState at `as_of`, WorldState at
`published_before`), the claim's terms and words at that time (TermSpan, WordSpan),
and its attributions active at that time (the SQL twin of service.rules.is_active,
checked against it by the property tests). Only `as_of` and `published_before`
together have no stored state: there the status and confidence are re-derived, a
window at a time.
"""

from dataclasses import dataclass, field

from peewee import SQL, Expression, fn

from . import sql
from .clock import to_micros
from .db import is_postgresql
from .errors import Invalid
from .models import Attribution, Claim, ClaimState, Relay, TermSpan, WordSpan, WorldState
from .search import WORD, subject_term, word_needle, words_of
from .timeline import FOREVER


@dataclass(frozen=True)
class Moment:
    """When a read asks about: now (both None), a knowledge time, a world time, or both."""

    as_of: object = None
    published_before: object = None

    @property
    def is_now(self):
        """Whether the read is about the present."""
        return self.as_of is None and self.published_before is None

    @property
    def has_stored_state(self):
        """Whether a stored timeline answers status and confidence at this moment (one time at most)."""
        return self.as_of is None or self.published_before is None


@dataclass(frozen=True)
class StateAt:
    """The rows holding claims' derived fields at a moment: a model, its claim column, the time condition."""

    model: type
    claim: object
    during: object  # None now: every claim row holds its present state

    @property
    def conditions(self):
        """The time condition, as a list to splice into a where clause."""
        return [] if self.during is None else [self.during]

    @classmethod
    def of(cls, moment):
        """Claim now; ClaimState at a knowledge time; WorldState at a world time."""
        if moment.as_of is not None:
            at = to_micros(moment.as_of)
            return cls(ClaimState, ClaimState.claim, (ClaimState.valid_from <= at) & (ClaimState.valid_to > at))
        if moment.published_before is not None:
            at = to_micros(moment.published_before)
            return cls(WorldState, WorldState.claim,
                       (WorldState.published_from <= at) & (WorldState.published_to > at))
        return cls(Claim, Claim.id, None)


def active_attribution(moment):
    """SQL for service.rules.is_active: recorded by `as_of`, not retracted by then, published by `published_before`."""
    if moment.as_of is None:
        condition = Attribution.retracted_at.is_null()
    else:
        condition = (Attribution.recorded_at <= moment.as_of) & (
            Attribution.retracted_at.is_null() | (Attribution.retracted_at > moment.as_of)
        )
    if moment.published_before is not None:
        # A statement with no publication time of its own counts as published when recorded.
        published = fn.COALESCE(Attribution.published_at, Attribution.recorded_at)
        condition &= published <= to_micros(moment.published_before)
    return condition


def span_held(span, moment):
    """SQL: a row of a span table (TermSpan, WordSpan) that held at the knowledge time (world time moves no
    terms)."""
    if moment.as_of is None:
        return span.valid_to == FOREVER
    at = to_micros(moment.as_of)
    return (span.valid_from <= at) & (span.valid_to > at)


def holds_words(words):
    """SQL: a WordSpan holds every one of these words.

    Each word is looked for as " word " in the span of each claim read (SQLite's instr and
    PostgreSQL's strpos are one function). PostgreSQL also has an index of each span's words
    as an array (migration 0010), which the array condition lets it start from. Its words are
    written into the statement, not passed as parameters, so that the plan PostgreSQL keeps
    for a prepared statement weighs each by its statistics: a rare word is found through the
    index (0.3 ms a window of 4,096 claims, not 20), a common one in each claim read, where
    the cheaper position test goes first.
    """
    position = fn.strpos if is_postgresql() else fn.instr
    conditions = [position(WordSpan.words, word_needle(word)) > 0 for word in sorted(words)]
    if is_postgresql():
        asked = SQL("ARRAY[" + ", ".join(map(_word_literal, sorted(words))) + "]::text[]")
        # The separator written out too: only so does the expression match the index's.
        conditions.append(Expression(fn.string_to_array(WordSpan.words, SQL("' '")), "@>", asked))
    return conditions


def _word_literal(word):
    """A word as an SQL string literal: letters and digits alone (service.search.WORD), so nothing to escape."""
    if not WORD.fullmatch(word):
        raise ValueError(f"not a word: {word!r}")
    return f"'{word}'"


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
        words = frozenset()
        if args.get("q") is not None:
            words = frozenset(words_of(args["q"]))
            if not words:
                raise Invalid("q", "Has no words: give letters or digits.")
        return cls(
            statuses=tuple(args.get("status") or ()),
            source=args.get("source"),
            relayed_by=args.get("relayed_by"),
            subject=subject_term(args["subject"]) if args.get("subject") else None,
            party=args.get("party"),
            words=words,
            min_confidence=args.get("min_confidence"),
        )

    def on_state(self, state):
        """Conditions on the derived fields at the moment (status, confidence)."""
        conditions = []
        if self.statuses:
            conditions.append(state.model.status.in_(self.statuses))
        if self.min_confidence is not None:
            conditions.append(state.model.confidence >= self.min_confidence)
        return conditions

    def admits_derivation(self, derivation):
        """The same two conditions on a re-derived claim (as_of and published_before together)."""
        return (not self.statuses or derivation.status in self.statuses) and (
            self.min_confidence is None
            or (derivation.confidence is not None and derivation.confidence >= self.min_confidence)
        )

    @property
    def needs_inputs(self):
        """Whether a filter reads the claim's attributions or terms, beyond its derived fields."""
        return bool(self.source or self.relayed_by or self.subject or self.party or self.words)

    def on_inputs(self, claim, moment):
        """Conditions on the claim's attributions and terms at the moment; `claim` is the outer id column."""
        conditions = []
        active = active_attribution(moment)
        if self.source:
            conditions.append(fn.EXISTS(
                Attribution.select(Attribution.id)
                .where(Attribution.claim == claim, Attribution.source == self.source, active)
            ))
        if self.relayed_by:
            conditions.append(fn.EXISTS(
                Attribution.select(Attribution.id)
                .join(Relay)
                .where(Attribution.claim == claim, Relay.source == self.relayed_by, active)
            ))
        for kind, term in (("subject", self.subject), ("party", self.party)):
            if term:
                conditions.append(fn.EXISTS(
                    TermSpan.select(TermSpan.id)
                    .where(TermSpan.kind == kind, TermSpan.term == term, TermSpan.claim == claim,
                           span_held(TermSpan, moment))
                ))
        if self.words:
            conditions.append(fn.EXISTS(
                WordSpan.select(WordSpan.id)
                .where(WordSpan.claim == claim, span_held(WordSpan, moment), *holds_words(self.words))
            ))
        return conditions

    def matching_ids(self, moment, low, high, limit):
        """Ids in (low, high] of claims with a stored state at the moment that pass every filter, newest first."""
        if moment.is_now and not self.needs_inputs:
            # The most frequent list (by status, now): its SQL compiled once per number of statuses.
            minimum = [] if self.min_confidence is None else [self.min_confidence]
            params = [low, high, *self.statuses, *minimum, limit]
            return [claim_id for (claim_id,) in sql.compiled_rows(_by_state_now, params,
                                                                  (len(self.statuses), bool(minimum)))]
        return [claim_id for (claim_id,) in self._matching(moment, low, high, limit).tuples()]

    def _matching(self, moment, low, high, limit):
        state = StateAt.of(moment)
        if self.words and is_postgresql():
            # The window written out as well: with it a parameter, the plan PostgreSQL keeps guesses a window of a
            # few dozen claims and reads a rare word claim by claim (10 ms a window of 4,096, not 0.4).
            low, high = SQL(str(int(low))), SQL(str(int(high)))
        return (
            state.model.select(state.claim)
            .where(state.claim > low, state.claim <= high, *state.conditions,
                   *self.on_state(state), *self.on_inputs(state.claim, moment))
            .order_by(state.claim.desc())
            .limit(limit)
        )

    def candidate_ids(self, moment, low, high):
        """Ids in (low, high] of claims that existed at the moment and pass the input filters, newest first."""
        query = Claim.select(Claim.id).where(Claim.id > low, Claim.id <= high, *self.on_inputs(Claim.id, moment))
        if moment.as_of is not None:
            query = query.where(Claim.created_at <= moment.as_of)
        return [claim_id for (claim_id,) in query.order_by(Claim.id.desc()).tuples()]


def _by_state_now(shape, params):
    """The query of matching_ids now, for filters on status and confidence alone; params: low, high, each
    status, the minimum confidence if the shape has one, the limit (service.sql compiles it once)."""
    statuses, with_minimum = shape
    low, high, *rest = params
    claim_filter = ClaimFilter(statuses=tuple(rest[:statuses]), min_confidence=rest[statuses] if with_minimum else None)
    return claim_filter._matching(Moment(), low, high, rest[-1])
