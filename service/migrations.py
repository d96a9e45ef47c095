"""Versioned schema migrations, recorded in schema_version, applied by `reportedly migrate`."""

import logging

from peewee import PostgresqlDatabase

from .clock import utcnow
from .db import db
from .models import MODELS, SchemaVersion

log = logging.getLogger("reportedly")


def _v1_create_ledger(database):
    database.create_tables(MODELS)


# (version, description, step); append, never edit a released step.
MIGRATIONS = (
    (1, "create the ledger tables", _v1_create_ledger),
)
LATEST = MIGRATIONS[-1][0]


def current_version(database=db):
    if not database.table_exists(SchemaVersion._meta.table_name):
        return 0
    return max((row.version for row in SchemaVersion.select(SchemaVersion.version)), default=0)


def migrate(database=db):
    """Apply every pending migration in one transaction; safe to run from several processes at once."""
    with database.atomic():
        _serialize_migrators(database)
        database.create_tables([SchemaVersion], safe=True)
        applied = current_version(database)
        for version, description, step in MIGRATIONS:
            if version > applied:
                log.info("migrating to schema version %d: %s", version, description)
                step(database)
                SchemaVersion.create(version=version, applied_at=utcnow())
    return current_version(database)


def _serialize_migrators(database):
    """Make concurrent migrators wait for each other (SQLite's BEGIN IMMEDIATE already does)."""
    if isinstance(getattr(database, "obj", database), PostgresqlDatabase):
        database.execute_sql("SELECT pg_advisory_xact_lock(4242)")
