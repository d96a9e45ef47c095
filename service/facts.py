"""Read the status rules' inputs from the database, as they stand now or stood at a knowledge time."""

from dataclasses import dataclass

from peewee import fn

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


STATEMENT_COLUMNS = (Attribution.id, Attribution.claim, Attribution.source, Attribution.stance, Attribution.basis,
                     Attribution.confidence, Attribution.recorded_at, Attribution.published_at,
                     Attribution.retracted_at)


def statements_by_claim(claim_ids, as_of=None):
    """The attributions of these claims, recorded by `as_of`, as rule Statements keyed by claim id.

    Read as plain tuples: a re-grade reads thousands at a time, and model rows cost more than the rules.
    """
    result = {claim_id: [] for claim_id in claim_ids}
    query = (
        Attribution.select(*STATEMENT_COLUMNS)
        .where(Attribution.claim.in_(list(claim_ids)))
        .order_by(Attribution.id)
    )
    if as_of is not None:
        query = query.where(Attribution.recorded_at <= as_of)
    rows = list(query.tuples())
    via = relays_by_attribution(row[0] for row in rows)
    for id_, claim_id, source, stance, basis, confidence, recorded, published, retracted in rows:
        result[claim_id].append(Statement(
            id=id_, source=source, stance=stance, basis=basis, confidence=confidence, recorded_at=recorded,
            via=via.get(id_, ()), published_at=published, retracted_at=retracted,
        ))
    return result


def relays_by_attribution(attribution_ids):
    """The `via` lists of these attributions, outermost first."""
    ids = list(attribution_ids)
    via = {}
    if not ids:
        return via
    query = (
        Relay.select(Relay.attribution, Relay.source)
        .where(Relay.attribution.in_(ids))
        .order_by(Relay.position)
    )
    for attribution_id, source_id in query.tuples():
        via.setdefault(attribution_id, []).append(source_id)
    return {attribution_id: tuple(sources) for attribution_id, sources in via.items()}


def source_facts(source_ids, as_of=None):
    """What the rules need of these sources, now or as of a knowledge time (from their revisions)."""
    ids = list(set(source_ids))
    if not ids:
        return {}
    if as_of is None:
        rows = (
            Source.select(Source.id, Source.name, Source.reliability, Source.affiliation)
            .where(Source.id.in_(ids))
        )
        return {r.id: SourceFacts(r.id, r.name, r.reliability, r.affiliation) for r in rows}
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
