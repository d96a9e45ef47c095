"""Read the status rules' inputs from the database, as they stand now or stood at a knowledge time."""

import itertools
from dataclasses import dataclass

from peewee import fn

from . import sql
from .clock import from_micros, to_micros
from .models import Attribution, Claim, ClaimRevision, Relay, Source, SourceRevision
from .rules import SourceFacts, Statement, derive_status


@dataclass(frozen=True)
class ClaimSnapshot:
    """A claim's own fields as they stood at a knowledge time (or now)."""

    id: int
    text: str
    subjects: list
    parties: list
    event_time: object
    created_at: object
    updated_at: object


def attributions_known(query, as_of=None):
    """The attributions a query selects that were recorded by `as_of`, each with its `via` list."""
    if as_of is not None:
        query = query.where(Attribution.recorded_at <= as_of)
    attributions = list(query)
    via = relays_by_attribution(a.id for a in attributions)
    return [(a, via.get(a.id, ())) for a in attributions]


STATEMENT_FIELDS = ("id", "claim", "source", "stance", "basis", "confidence", "recorded_at", "published_at",
                    "retracted_at")


def statements_by_claim(claim_ids, as_of=None):
    """The attributions of these claims, recorded by `as_of`, as rule Statements keyed by claim id.

    Read as plain tuples, with their relays, in one query written once (service.sql): a re-grade
    reads thousands at a time, and model rows and peewee's compiling of long IN lists cost more
    than the rules.
    """
    result = {claim_id: [] for claim_id in claim_ids}
    for chunk in sql.chunks(list(result)):
        params = list(chunk)
        if as_of is not None:
            params.append(to_micros(as_of))
        rows = sql.rows(_statements_query(len(chunk), as_of is not None), params)
        for (id_, claim_id, *fields), group in itertools.groupby(rows, key=lambda row: row[:-1]):
            via = tuple(row[-1] for row in group if row[-1] is not None)
            result[claim_id].append(_statement(id_, via, *fields))
    return result


@sql.text_once
def _statements_query(param, count, known_by):
    """statements_by_claim's query of `count` claims, `known_by` a recording time or not."""
    selected = ", ".join(f"a.{column}" for column in sql.columns(Attribution, *STATEMENT_FIELDS).split(", "))
    query = (f"SELECT {selected}, r.source_id FROM {sql.table(Attribution)} a "
             f"LEFT JOIN {sql.table(Relay)} r ON r.attribution_id = a.id WHERE a.claim_id IN ({sql.marks(count)})")
    if known_by:
        query += f" AND a.recorded_at <= {param}"
    return query + " ORDER BY a.id, r.position"


def _statement(id_, via, source, stance, basis, confidence, recorded, published, retracted):
    return Statement.filled(
        id_, source, stance, basis, confidence, from_micros(recorded), via,
        None if published is None else from_micros(published), None if retracted is None else from_micros(retracted),
    )


def relays_by_attribution(attribution_ids):
    """The `via` lists of these attributions, outermost first."""
    via = {}
    for chunk in sql.chunks(list(attribution_ids)):
        query = (f"SELECT attribution_id, source_id FROM {sql.table(Relay)} "
                 f"WHERE attribution_id IN ({sql.marks(len(chunk))}) ORDER BY attribution_id, position")
        for attribution_id, source_id in sql.rows(query, chunk):
            via.setdefault(attribution_id, []).append(source_id)
    return {attribution_id: tuple(sources) for attribution_id, sources in via.items()}


def source_facts(source_ids, as_of=None):
    """What the rules need of these sources, now or as of a knowledge time (from their revisions)."""
    ids = list(set(source_ids))
    if not ids:
        return {}
    if as_of is None:
        facts = {}
        for chunk in sql.chunks(ids):
            facts.update((row[0], SourceFacts(*row)) for row in sql.rows(_facts_query(len(chunk)), chunk))
        return facts
    latest = (
        SourceRevision.select(SourceRevision.source, fn.MAX(SourceRevision.valid_from).alias("valid_from"))
        .where(SourceRevision.source.in_(ids), SourceRevision.valid_from <= as_of)
        .group_by(SourceRevision.source)
        .alias("latest")
    )
    rows = SourceRevision.select().join(
        latest,
        on=(
            (SourceRevision.source == latest.c.source_id)
            & (SourceRevision.valid_from == latest.c.valid_from)
        ),
    )
    return {r.source_id: SourceFacts(r.source_id, r.name, r.reliability, r.affiliation) for r in rows}


@sql.text_once
def _facts_query(param, count):
    """source_facts' query of `count` sources as they stand now."""
    return f"SELECT id, name, reliability, affiliation FROM {sql.table(Source)} WHERE id IN ({sql.marks(count)})"


def snapshots(claims, as_of=None):
    """The claims' own fields now, or from their revisions as of a knowledge time."""
    if as_of is None:
        return {c.id: _snapshot(c.id, c, c.created_at, c.updated_at) for c in claims}
    created = {c.id: c.created_at for c in claims}
    latest = (
        ClaimRevision.select(ClaimRevision.claim, fn.MAX(ClaimRevision.valid_from).alias("valid_from"))
        .where(ClaimRevision.claim.in_(list(created)), ClaimRevision.valid_from <= as_of)
        .group_by(ClaimRevision.claim)
        .alias("latest")
    )
    rows = ClaimRevision.select().join(
        latest,
        on=((ClaimRevision.claim == latest.c.claim_id) & (ClaimRevision.valid_from == latest.c.valid_from)),
    )
    return {r.claim_id: _snapshot(r.claim_id, r, created[r.claim_id], r.valid_from) for r in rows}


def _snapshot(claim_id, row, created_at, updated_at):
    return ClaimSnapshot(claim_id, row.text, row.subjects, row.parties, row.event_time, created_at, updated_at)


def inputs_many(claims, as_of=None):
    """Each claim's rule inputs at a knowledge time: [(snapshot, statements, sources)], skipping claims
    that did not exist then. `sources` maps every source id the statements name to SourceFacts."""
    claims = list(claims)
    shots = snapshots(claims, as_of)
    statements = statements_by_claim(list(shots), as_of)
    sources = source_facts(
        {s.source for group in statements.values() for s in group}
        | {r for group in statements.values() for s in group for r in s.via},
        as_of,
    )
    return [(shots[c.id], statements[c.id], sources) for c in claims if c.id in shots]


def derive_many(claims, as_of=None, published_before=None):
    """Snapshot and derive each claim at the given times: [(snapshot, statements, derivation)]."""
    return [
        (shot, statements, derive_status(statements, sources, shot.parties, as_of, published_before))
        for shot, statements, sources in inputs_many(claims, as_of)
    ]


def claims_created_by(as_of):
    """Claims that existed at a knowledge time."""
    query = Claim.select()
    return query.where(Claim.created_at <= as_of) if as_of is not None else query
