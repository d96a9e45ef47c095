"""Full-text `q` through each database's own text search: SQLite FTS5, PostgreSQL tsvector.

Both index the claim text without stemming, stop words or accent folding (FTS5
`unicode61 remove_diacritics 0`, PostgreSQL's `simple` configuration), and both
are asked for the same words, split here, so the same words find the same claims.
"""

import re

from peewee import SQL, Column, Expression, NodeList, Value, fn

from .db import is_postgresql
from .models import Claim


def words_of(text):
    """The distinct lower-case whole words of a text, as `q` matches them."""
    return set(re.findall(r"\w+", text.lower()))


def text_has_words(words):
    """A condition on Claim: its text holds every one of `words`."""
    terms = sorted(words)
    if is_postgresql():
        query = " & ".join(f"'{term}'" for term in terms)
        # The generated column is not a model field (SQLite has none): name it on the model's alias.
        return Expression(Column(Claim, "text_search"), "@@", fn.to_tsquery("simple", query))
    match = " ".join(f'"{term}"' for term in terms)
    return Claim.id.in_(NodeList((SQL("SELECT rowid FROM claim_fts WHERE claim_fts MATCH"), Value(match)), parens=True))


SQLITE_INDEX = (
    """CREATE VIRTUAL TABLE claim_fts USING fts5(
        text, content='claim', content_rowid='id', tokenize='unicode61 remove_diacritics 0')""",
    """CREATE TRIGGER claim_fts_insert AFTER INSERT ON claim BEGIN
        INSERT INTO claim_fts(rowid, text) VALUES (new.id, new.text); END""",
    """CREATE TRIGGER claim_fts_update AFTER UPDATE OF text ON claim BEGIN
        INSERT INTO claim_fts(claim_fts, rowid, text) VALUES ('delete', old.id, old.text);
        INSERT INTO claim_fts(rowid, text) VALUES (new.id, new.text); END""",
    """CREATE TRIGGER claim_fts_delete AFTER DELETE ON claim BEGIN
        INSERT INTO claim_fts(claim_fts, rowid, text) VALUES ('delete', old.id, old.text); END""",
    "INSERT INTO claim_fts(claim_fts) VALUES ('rebuild')",
)

POSTGRESQL_INDEX = (
    """ALTER TABLE claim ADD COLUMN text_search tsvector
        GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED""",
    "CREATE INDEX claim_text_search ON claim USING GIN (text_search)",
)


def create_text_index(database):
    """Build the text index of the database in use and fill it from the claims there."""
    statements = POSTGRESQL_INDEX if is_postgresql(database) else SQLITE_INDEX
    for statement in statements:
        database.execute_sql(statement)
