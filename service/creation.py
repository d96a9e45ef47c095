"""Creating many claims in one transaction: the bulk import's write (ledger.create_claim does one).

The new claims are derived from the statements in hand, before anything is read back
(service.derived.derive_created), and every row is inserted in its stored form with
one prepared statement per table.
"""

from peewee import fn

from . import sql, timeline
from .clock import to_micros
from .db import db, is_postgresql
from .derived import Target, derive_created, json_text, store_created, terms_of
from .facts import source_facts
from .ledger import CLAIM_FIELDS
from .models import Attribution, Claim, ClaimRevision, ClaimState, HistoryEntry, Relay, TermSpan, WordSpan
from .rules import Statement
from .search import words_of


def create_claims(claims, documents, now):
    """Create many claims with their attributions in the current transaction (bulk import).

    What create_claim does for one claim, with batched inserts: the caller has validated
    each claim and checked and locked what its attributions name inside a claim_write()
    (`documents` maps each cited document id to its row), and read `now` with
    timeline.write_moment(). An attribution may carry `retracted_at` and
    `retraction_reason` (an imported retraction). Each claim is derived from the
    statements in hand, before anything is read back, and its row inserted with the
    derived fields. Returns the new claims' ids, in order.
    """
    claim_ids = _new_ids(Claim, len(claims))
    cited = [
        (claim_id, a, documents.get(a.get("document_id")))
        for claim_id, data in zip(claim_ids, claims, strict=True) for a in data["attributions"]
    ]
    statements = [
        _statement(attribution_id, a, document, now)
        for attribution_id, (_, a, document) in zip(_new_ids(Attribution, len(cited)), cited, strict=True)
    ]
    by_claim = {claim_id: [] for claim_id in claim_ids}
    for (claim_id, _, _), statement in zip(cited, statements, strict=True):
        by_claim[claim_id].append(statement)
    named = {s.source for s in statements} | {r for s in statements for r in s.via}
    targets = [Target(claim_id, data["parties"], None, False) for claim_id, data in zip(claim_ids, claims, strict=True)]
    changes = derive_created(targets, by_claim, source_facts(named), now)
    at = to_micros(now)
    copied = _in_one_run(claim_ids)
    _insert_claims(claim_ids, claims, [new for _, new, _ in changes.states], at, copied)
    _insert_attributions(cited, statements)
    if copied:
        _copy_from_claims(claim_ids[0], claim_ids[-1], at)
    store_created(changes, now, rows_copied=copied)
    return claim_ids


def _statement(attribution_id, data, document, now):
    """The rule Statement of an attribution being created, as it will be stored (an imported retraction too;
    tests/test_bulk.py holds it equal to the constructor's)."""
    return Statement.filled(
        attribution_id, data["source"], data["stance"], data["basis"], data["confidence"], now, tuple(data["via"]),
        data.get("published_at") or (document.published_at if document else None), data.get("retracted_at"),
    )


def _insert_claims(claim_ids, claims, derived, at, copied):
    """Insert new claims with their derived fields (service.timeline.Fields), term and word spans and, unless
    they are `copied` from the claims later, first revisions."""
    own = [(claim_id, data["text"], json_text(data["subjects"]), json_text(data["parties"]),
            None if data["event_time"] is None else to_micros(data["event_time"]))
           for claim_id, data in zip(claim_ids, claims, strict=True)]
    sql.insert(Claim, ("id", *CLAIM_FIELDS, "created_at", "updated_at", *timeline.DERIVED_FIELDS),
               [(*fields, at, at, *new) for fields, new in zip(own, derived, strict=True)])
    if not copied:
        sql.insert(ClaimRevision, ("claim", *CLAIM_FIELDS, "valid_from"), [(*fields, at) for fields in own])
    # A new claim has no open spans: record_terms and record_words would only add these, with queries per claim.
    terms, words = [], []
    for claim_id, data in zip(claim_ids, claims, strict=True):
        terms += [(claim_id, kind, term, at, timeline.FOREVER)
                  for kind, term in sorted(terms_of(data["subjects"], data["parties"]))]
        text_words = words_of(data["text"])
        if text_words:
            words.append(timeline.word_span(claim_id, text_words, at, timeline.FOREVER))
    sql.insert(TermSpan, ("claim", "kind", "term", "valid_from", "valid_to"), terms)
    sql.insert(WordSpan, timeline.WORD_SPAN_COLUMNS, words)


def _in_one_run(claim_ids):
    """Whether new claims' ids run unbroken (always on SQLite, which hands them out under its write lock; mostly on
    PostgreSQL): then the ids from the first to the last name only these claims, and their first revisions, states
    and history entries are copied from their rows by SQL (_copy_from_claims)."""
    return claim_ids[-1] - claim_ids[0] + 1 == len(claim_ids)


def _copy_from_claims(first, last, at):
    """Insert the first revision, state and history entry of each new claim with an id from `first` to `last`
    (only new claims), copied from its row: what _insert_claims and derived.store_created would insert, in the
    same order, without building each row in Python."""
    claims = f"FROM {sql.table(Claim)} WHERE id BETWEEN {db.param} AND {db.param} ORDER BY {sql.table(Claim)}.id"
    derived = sql.columns(Claim, *timeline.DERIVED_FIELDS)
    sql.run(f"INSERT INTO {sql.table(ClaimRevision)} "
            f"({sql.columns(ClaimRevision, 'claim', *CLAIM_FIELDS, 'valid_from')}) "
            f"SELECT id, {sql.columns(Claim, *CLAIM_FIELDS)}, {db.param} {claims}", [at, first, last])
    sql.run(f"INSERT INTO {sql.table(ClaimState)} "
            f"({sql.columns(ClaimState, 'claim', 'valid_from', 'valid_to', *timeline.DERIVED_FIELDS)}) "
            f"SELECT id, {db.param}, {db.param}, {derived} {claims}", [at, timeline.FOREVER, first, last])
    sql.run(f"INSERT INTO {sql.table(HistoryEntry)} "
            f"({sql.columns(HistoryEntry, 'claim', 'at', 'status', 'confidence', 'cause_kind', 'cause_id')}) "
            f"SELECT id, {db.param}, status, confidence, {db.param}, CAST(id AS TEXT) {claims}",
            [at, "created", first, last])


def _insert_attributions(cited, statements):
    """Insert the attributions of new claims, as their Statements say, with their quotes, documents and relays."""
    def micros(moment):
        return None if moment is None else to_micros(moment)

    sql.insert(Attribution, ("id", "claim", "source", "document", "stance", "basis", "confidence", "quote",
                             "published_at", "recorded_at", "retracted_at", "retraction_reason"), [
        (s.id, claim_id, s.source, document.id if document else None, s.stance, s.basis, s.confidence,
         a.get("quote"), micros(s.published_at), micros(s.recorded_at), micros(s.retracted_at),
         a.get("retraction_reason"))
        for (claim_id, a, document), s in zip(cited, statements, strict=True)
    ])
    sql.insert(Relay, ("attribution", "position", "source"),
               [(s.id, i, source) for s in statements for i, source in enumerate(s.via)])


def _new_ids(model, count):
    """`count` fresh ids for a model's rows, in ascending order, taken inside the write transaction."""
    if count == 0:
        return []
    if is_postgresql():  # from the table's sequence
        cursor = db.execute_sql(
            "SELECT nextval(%s) FROM generate_series(1, %s)", (f"{model._meta.table_name}_id_seq", count)
        )
        return sorted(row[0] for row in cursor)
    # SQLite: BEGIN IMMEDIATE holds the only write lock, so the ids after the largest are free.
    start = model.select(fn.MAX(model.id)).scalar() or 0
    return list(range(start + 1, start + 1 + count))
