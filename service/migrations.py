"""Versioned schema migrations, recorded in schema_version, applied by `reportedly migrate`."""

import logging

from peewee import PostgresqlDatabase

from .clock import utcnow
from .db import db
from .models import MODELS, ClaimTerm, SchemaVersion
from .search import create_text_index

log = logging.getLogger("reportedly")


def _v1_create_ledger(database):
    # The models as they stood at version 1. A later change to a model's columns
    # gets a step below (playhouse.migrate) and, here, a frozen copy of the old model.
    database.create_tables(MODELS)


def _v2_text_search(database):
    create_text_index(database)
    # `q` no longer reads the portable word list of version 1.
    ClaimTerm.delete().where(ClaimTerm.kind == "word").execute()


# (version, description, step); append, never edit a released step.
MIGRATIONS = (
    (1, "create the ledger tables", _v1_create_ledger),
    (2, "full-text search: SQLite FTS5, PostgreSQL tsvector", _v2_text_search),
)
LATEST = MIGRATIONS[-1][0]


def current_version():
    """The highest applied version (the schema_version table must exist)."""
    return max((row.version for row in SchemaVersion.select(SchemaVersion.version)), default=0)


def migrate(database=db, target=LATEST):
    """Apply pending migrations up to `target` in one transaction; safe from several processes at once."""
    database = getattr(database, "obj", database)  # the proxy's database: steps differ by dialect
    with database.atomic():
        _serialize_migrators(database)
        database.create_tables([SchemaVersion], safe=True)
        applied = current_version()
        for version, description, step in MIGRATIONS:
            if applied < version <= target:
                log.info("migrating to schema version %d: %s", version, description)
                step(database)
                SchemaVersion.create(version=version, applied_at=utcnow())
        return current_version()


def _serialize_migrators(database):
    """Make concurrent migrators wait for each other (SQLite's BEGIN IMMEDIATE already does)."""
    if isinstance(database, PostgresqlDatabase):
        database.execute_sql("SELECT pg_advisory_xact_lock(4242)")
