"""The words of a claim's text in one row a text (word_span), not one row a word (term_span, kind "word").

The words were about eight of the ten search rows a new claim wrote, and their index most
of what a bulk import paid SQLite for. Each claim's word term spans become word spans
that hold, at every moment, exactly the words the term spans held then (service.search
word_list's form: sorted, each between single spaces); then the word term spans go.
"""

import itertools

from peewee import BigIntegerField, Model, TextField

CLAIMS_A_ROUND = 1000
ROWS_AN_INSERT = 500


class _Frozen(Model):
    class Meta:
        legacy_table_names = False


class WordSpan(_Frozen):
    claim_id = BigIntegerField()
    words = TextField()
    valid_from = BigIntegerField()
    valid_to = BigIntegerField()

    class Meta:
        indexes = ((("claim_id", "valid_to"), False),)


WORD_SPAN_FIELDS = (WordSpan.claim_id, WordSpan.words, WordSpan.valid_from, WordSpan.valid_to)


def create_table(db):
    """The table as this version has it (migration 0003 creates it early: its rebuild is the live code's).

    On PostgreSQL its words are indexed too, as an array, which `q` finds its claims through
    (service.filters.holds_words): without it, a word that few claims hold was looked for in
    every claim of each window read.
    """
    from service.db import is_postgresql

    with db.bind_ctx([WordSpan]):
        db.create_tables([WordSpan], safe=True)
    if is_postgresql(db):
        db.execute_sql('CREATE INDEX IF NOT EXISTS "word_span_words" ON "word_span" '
                       "USING gin (string_to_array(\"words\", ' ')) WITH (fastupdate = off)")


def up(migrator, db):
    create_table(db)
    first, last = db.execute_sql("SELECT MIN(claim_id), MAX(claim_id) FROM term_span WHERE kind = 'word'").fetchone()
    query = (f"SELECT claim_id, term, valid_from, valid_to FROM term_span "
             f"WHERE kind = 'word' AND claim_id > {db.param} AND claim_id <= {db.param}")
    with db.bind_ctx([WordSpan]):
        for low in range(first - 1, last, CLAIMS_A_ROUND) if first is not None else ():
            spans = {}
            for claim_id, term, start, end in db.execute_sql(query, (low, low + CLAIMS_A_ROUND)):
                spans.setdefault(claim_id, []).append((term, start, end))
            rows = [row for claim_id, held in sorted(spans.items()) for row in word_spans(claim_id, held)]
            for i in range(0, len(rows), ROWS_AN_INSERT):
                WordSpan.insert_many(rows[i:i + ROWS_AN_INSERT], fields=WORD_SPAN_FIELDS).execute()
    db.execute_sql("DELETE FROM term_span WHERE kind = 'word'")


def word_spans(claim_id, held):
    """Rows (claim, words, from, to) that hold at every moment the words that the (word, from, to) spans held:
    one for each run of time between two of their ends with the same words, none where there were none."""
    moments = sorted({moment for _, start, end in held for moment in (start, end)})
    runs = []  # [words, from, to]
    for start, end in itertools.pairwise(moments):
        words = {word for word, since, until in held if since <= start < until}
        if runs and runs[-1][0] == words and runs[-1][2] == start:
            runs[-1][2] = end
        elif words:
            runs.append([words, start, end])
    return [(claim_id, " " + " ".join(sorted(words)) + " ", start, end) for words, start, end in runs]
