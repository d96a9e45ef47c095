"""Full-text search through each database's own engine: SQLite FTS5, a GIN-indexed tsvector on PostgreSQL.

(Version 3 replaced both with word term spans; the statements are kept here as they ran.)
"""

from service.db import is_postgresql

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

def up(migrator, db):
    for statement in POSTGRESQL_INDEX if is_postgresql(db) else SQLITE_INDEX:
        db.execute_sql(statement)
    # `q` no longer reads the portable word list of version 1.
    db.execute_sql("DELETE FROM claim_term WHERE kind = 'word'")
