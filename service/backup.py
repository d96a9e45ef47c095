"""Online backup and restore of a SQLite ledger through SQLite's backup API (APSW)."""

import os
import urllib.parse
from pathlib import Path

import apsw

from .errors import Conflict, Invalid
from .migrations import HISTORY_TABLE
from .models import MODELS


def sqlite_path(database_url):
    """The file of a sqlite:/// URL; PostgreSQL has its own tools, so anything else is refused."""
    if urllib.parse.urlsplit(database_url).scheme != "sqlite":
        raise Invalid("database", "backup and restore here are for SQLite; on PostgreSQL use pg_dump and "
                                  "pg_restore (or psql), as docs/deploy.md shows")
    return Path(database_url[len("sqlite:///"):])


def copy_database(source, destination):
    """Copy every page of `source` into `destination` in one step: one read transaction, one snapshot.

    One step (-1) rather than many small ones: under WAL a writer does not wait for it, and a
    write between steps would make SQLite start the copy over, again and again under load.
    """
    with destination.backup("main", source, "main") as backup:
        backup.step(-1)


def backup_database(database_url, target):
    """Write a consistent copy of the live ledger to `target` (a new file); return its table row counts."""
    target = Path(target)
    if target.exists():
        raise Conflict(f"{target} exists already; choose a new file")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    source = apsw.Connection(str(sqlite_path(database_url)), flags=apsw.SQLITE_OPEN_READWRITE)
    source.set_busy_timeout(10_000)
    destination = apsw.Connection(str(partial))
    try:
        copy_database(source, destination)
        check_integrity(destination)
        counts = row_counts(destination)
    finally:
        destination.close()
        source.close()
    os.replace(partial, target)
    return counts


def restore_database(database_url, backup_file):
    """Copy a backup into the configured database, which must hold no ledger rows; return the row counts."""
    backup = apsw.Connection(str(backup_file), flags=apsw.SQLITE_OPEN_READONLY)
    path = sqlite_path(database_url)
    path.parent.mkdir(parents=True, exist_ok=True)
    destination = apsw.Connection(str(path))
    destination.set_busy_timeout(10_000)
    try:
        check_integrity(backup)
        if not has_table(backup, HISTORY_TABLE):
            raise Invalid("path", f"{backup_file} is not a reportedly database")
        if any(row_counts(destination).values()):
            raise Conflict(f"{path} holds a ledger already; restore only into an empty database")
        copy_database(backup, destination)
        destination.execute("PRAGMA journal_mode=wal")
        return row_counts(destination)
    finally:
        destination.close()
        backup.close()


def check_integrity(connection):
    """Refuse a damaged database file."""
    result = [row[0] for row in connection.execute("PRAGMA integrity_check")]
    if result != ["ok"]:
        raise Invalid("path", "the database fails SQLite's integrity check: " + "; ".join(result[:5]))


def has_table(connection, name):
    """Whether the database has a table called `name`."""
    query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    return connection.execute(query, (name,)).fetchone() is not None


def row_counts(connection):
    """Rows per ledger table present in the database (tables not created yet are left out)."""
    tables = [model._meta.table_name for model in MODELS]
    return {t: connection.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables
            if has_table(connection, t)}
