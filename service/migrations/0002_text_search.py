"""Full-text search through each database's own engine: SQLite FTS5, a GIN-indexed tsvector on PostgreSQL."""

from service.models import ClaimTerm
from service.search import create_text_index


def up(migrator, db):
    create_text_index(db)
    # `q` no longer reads the portable word list of version 1.
    ClaimTerm.delete().where(ClaimTerm.kind == "word").execute()
