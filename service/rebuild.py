"""Rebuild the timelines of service.timeline from the ledger's inputs, for databases that predate them.

A claim's knowledge-time states are re-derived at every moment one of its inputs
changed (its revisions, its attributions' recording and retraction, the revisions
of the sources they name), which gives exactly the rows that writes would have
kept. The counts by status follow from those states; the world-time timeline and
the terms from the claim as it stands and its revisions; the counts at a world time are
summed afresh from the world-time timelines once they are all written.
"""

from . import sql, world_tally
from .clock import to_micros
from .count_models import TallyCheckpoint, TallyCount, TallyDelta
from .derived import REDERIVE_BATCH, terms_of
from .facts import derive_many, inputs_many
from .models import (
    Attribution,
    Claim,
    ClaimRevision,
    ClaimState,
    Relay,
    SourceRevision,
    TermSpan,
    WordSpan,
    WorldSource,
    WorldState,
)
from .rules import world_timeline
from .search import words_of
from .tally import checkpoint_if_due
from .timeline import (
    FOREVER,
    WORD_SPAN_COLUMNS,
    insert_rows,
    public_shape,
    record_states,
    record_worlds,
    word_span,
)


def rebuild_all(progress=lambda done: None):
    """Drop every timeline row and write them again from the inputs, a batch of claims at a time."""
    for model in (TallyCount, TallyCheckpoint, TallyDelta, ClaimState, WorldState, WorldSource, TermSpan, WordSpan):
        model.delete().execute()
    last_id, done = 0, 0
    with world_tally.recounted():
        while True:
            batch = list(Claim.select().where(Claim.id > last_id).order_by(Claim.id).limit(REDERIVE_BATCH))
            if not batch:
                break
            rebuild_claims(batch)
            last_id, done = batch[-1].id, done + len(batch)
            progress(done)
    checkpoint_if_due()


def rebuild_claims(claims):
    """Write the timelines of these claims (which have none yet) from their inputs."""
    _rebuild_terms(claims)
    by_time = {}
    for claim in claims:
        for moment in change_points(claim):
            by_time.setdefault(moment, []).append(claim)
    previous = {}
    for moment in sorted(by_time):
        derived = derive_many(by_time[moment], as_of=moment)
        changes = [(shot.id, previous.get(shot.id), public_shape(d)) for shot, _, d in derived]
        record_states(changes, moment)
        previous.update({claim_id: new for claim_id, _, new in changes})
    worlds = {}
    for shot, statements, sources in inputs_many(claims):
        steps = world_timeline(statements, sources, shot.parties)
        worlds[shot.id] = [(start, public_shape(d)) for start, d in steps]
    record_worlds(worlds)


def change_points(claim):
    """Every moment at which an input of this claim changed, from its creation on."""
    moments = {claim.created_at}
    moments |= {r.valid_from for r in ClaimRevision.select(ClaimRevision.valid_from).where(ClaimRevision.claim == claim.id)}
    attributions = list(Attribution.select().where(Attribution.claim == claim.id))
    moments |= {a.recorded_at for a in attributions}
    moments |= {a.retracted_at for a in attributions if a.retracted_at is not None}
    named = {a.source_id for a in attributions}
    if attributions:
        relays = Relay.select(Relay.source).where(Relay.attribution.in_([a.id for a in attributions]))
        named |= {r.source_id for r in relays}
    if named:
        revisions = SourceRevision.select(SourceRevision.valid_from).where(
            SourceRevision.source.in_(sorted(named)), SourceRevision.valid_from > claim.created_at
        )
        moments |= {r.valid_from for r in revisions}
    return {m for m in moments if m >= claim.created_at}


def _rebuild_terms(claims):
    """Term and word spans from each claim's revisions: a term holds from the revision that adds it to the one that
    drops it, its words from the revision that changes them to the next that does. Of revisions with one time
    (several edits in one transaction), the last recorded holds, as when it was written."""
    rows, word_rows = [], []
    for claim in claims:
        revisions = (
            ClaimRevision.select()
            .where(ClaimRevision.claim == claim.id)
            .order_by(ClaimRevision.valid_from, ClaimRevision.id)
        )
        opened, words, words_from = {}, set(), None
        for revision in revisions:
            at = to_micros(revision.valid_from)
            terms = terms_of(revision.subjects, revision.parties)
            for term in set(opened) - terms:
                start = opened.pop(term)
                if start < at:
                    rows.append(_span(claim.id, term, start, at))
            for term in terms - set(opened):
                opened[term] = at
            revised = words_of(revision.text)
            if revised != words:
                if words and words_from < at:
                    word_rows.append(word_span(claim.id, words, words_from, at))
                words, words_from = revised, at
        rows += [_span(claim.id, term, start, FOREVER) for term, start in opened.items()]
        if words:
            word_rows.append(word_span(claim.id, words, words_from, FOREVER))
    insert_rows(TermSpan, rows)
    sql.insert(WordSpan, WORD_SPAN_COLUMNS, word_rows)


def _span(claim_id, term, start, end):
    kind, text = term
    return {"claim": claim_id, "kind": kind, "term": text, "valid_from": start, "valid_to": end}
