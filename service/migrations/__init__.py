"""Versioned schema migrations: peewee's migration runner over the numbered files in this folder.

Each file `NNNN_name.py` defines `up(migrator, db)` (playhouse.migrate's migrator)
and is applied once, in order, inside one transaction with the rest; the names
applied are recorded in the `schema_version` table. `reportedly migrate` and the
gunicorn master call migrate(). Append a file for every schema change; never edit
one that has shipped, but for 0003, whose rebuild is the live code's (service.rebuild):
it creates first any table that code has since come to write (0010's word spans).
"""

from pathlib import Path

from peewee import CharField
from playhouse.migrations import Migration, Runner

from ..clock import utcnow
from ..db import db, is_postgresql
from ..model_base import UTCTimeField

FOLDER = Path(__file__).resolve().parent
HISTORY_TABLE = "schema_version"
NAMES = {m.idx: m.name for m in Migration.load_directory(str(FOLDER))}
LATEST = max(NAMES)


class LedgerRunner(Runner):
    """peewee's runner, recording when each migration ran as UTC microseconds (APSW binds no datetimes)."""

    def __init__(self, database):
        super().__init__(database, directory=str(FOLDER), table_name=HISTORY_TABLE)

        class History(database.Model):
            name = CharField(unique=True)
            applied = UTCTimeField(default=utcnow)

            class Meta:
                legacy_table_names = False
                table_name = HISTORY_TABLE

        self.History = History


def runner(database=db):
    """The runner for the database in use."""
    return LedgerRunner(getattr(database, "obj", database))


def current_version(database=db):
    """The number of the last migration applied, 0 for an empty database."""
    applied = runner(database).applied()
    return max((idx for idx, name in NAMES.items() if name in applied), default=0)


def migrate(database=db, target=LATEST):
    """Apply pending migrations up to `target`, all in one transaction; safe from several processes at once."""
    database = getattr(database, "obj", database)
    with database.atomic():
        _serialize_migrators(database)
        runner(database).up(target=NAMES[target])
        return current_version(database)


def _serialize_migrators(database):
    """Make concurrent migrators wait for each other (SQLite's BEGIN IMMEDIATE already does)."""
    if is_postgresql(database):
        database.execute_sql("SELECT pg_advisory_xact_lock(4242)")
