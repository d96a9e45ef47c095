"""The database: declared once here, initialised once per process from configuration; requests borrow its connection."""

import urllib.parse
from datetime import timezone
from pathlib import Path

import apsw
from peewee import DatabaseProxy, InterfaceError, OperationalError, PostgresqlDatabase
from playhouse.apsw_ext import APSWDatabase
from playhouse.pool import MaxConnectionsExceeded, PooledPostgresqlDatabase

from .clock import utcnow

# Models bind to this proxy; init_database() points it at SQLite or PostgreSQL.
db = DatabaseProxy()

# WAL lets readers run beside the one writer; FULL sync keeps every acknowledged
# write through a power loss (NORMAL could lose the last commits).
SQLITE_PRAGMAS = (
    ("journal_mode", "wal"),
    ("synchronous", "full"),
    ("foreign_keys", 1),
)


def sqlite_library_version():
    """The SQLite library in use: APSW's bundled one, not the system's."""
    return apsw.sqlite_lib_version()


def open_database(url, config):
    """Build an unconnected peewee database for a sqlite:/// or postgresql:// URL."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme == "sqlite":
        return _open_sqlite(url[len("sqlite:///"):], config)
    if parsed.scheme in {"postgresql", "postgres"}:
        return _open_postgresql(parsed, config)
    raise ValueError(f"REPORTEDLY_DATABASE_URL must start with sqlite:/// or postgresql://, not {parsed.scheme!r}")


def _open_sqlite(path, config):
    """SQLite through APSW: every write transaction starts as BEGIN IMMEDIATE."""
    if not path:
        raise ValueError("a sqlite:/// URL needs a file path")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return APSWDatabase(
        path,
        pragmas=SQLITE_PRAGMAS,
        timeout=config["SQLITE_BUSY_TIMEOUT_SECONDS"],
        lock_type="IMMEDIATE",
        autoconnect=False,
    )


def _open_postgresql(parsed, config):
    """PostgreSQL through psycopg 3 with a per-process connection pool."""
    query = dict(urllib.parse.parse_qsl(parsed.query))
    return PooledPostgresqlDatabase(
        urllib.parse.unquote(parsed.path.lstrip("/")),
        host=parsed.hostname,
        port=parsed.port,
        user=urllib.parse.unquote(parsed.username) if parsed.username else None,
        password=urllib.parse.unquote(parsed.password) if parsed.password else None,
        max_connections=config["DB_POOL_SIZE"],
        timeout=config["DB_POOL_TIMEOUT_SECONDS"],
        prefer_psycopg3=True,
        autoconnect=False,
        **query,
    )


def init_database(config):
    """Point the shared proxy at the configured database and return it."""
    database = open_database(config["DATABASE_URL"], config)
    db.initialize(database)
    return database


def is_postgresql(database=db):
    """Whether a database (by default the one in use) is PostgreSQL."""
    return isinstance(getattr(database, "obj", database), PostgresqlDatabase)


def write_time():
    """The time a write is recorded at: PostgreSQL's clock, which every instance shares; else this machine's."""
    if is_postgresql():
        return db.execute_sql("SELECT clock_timestamp()").fetchone()[0].astimezone(timezone.utc)
    return utcnow()


def close_all(database):
    """Close the connection and, for a pool, every pooled one (the master must hold none at fork)."""
    if not database.is_closed():
        database.close()
    if hasattr(database, "close_all"):
        database.close_all()


def is_transient(error):
    """Whether a database error will likely pass on a retry: SQLite busy or its file unopenable,
    an exhausted connection pool, or PostgreSQL unreachable, out of lock time or failing to serialize."""
    if isinstance(error, MaxConnectionsExceeded):
        return True
    if not isinstance(error, OperationalError):
        return False
    if is_postgresql():
        return True  # psycopg's OperationalError: connection, lock timeout, serialization, deadlock
    cause = error.__cause__ or error.__context__  # peewee re-raises without "from"
    return isinstance(cause, (apsw.BusyError, apsw.CantOpenError)) or "locked" in str(error) or "busy" in str(error)


def borrow():
    """Give a request the connection: the worker's own SQLite connection, opened once after fork and kept
    for the worker's life (pragmas set once), or one from the PostgreSQL pool. True if it had to open one."""
    if not db.is_closed():
        return False
    db.connect()
    return True


def give_back(opened, error=None):
    """End a request's use of the connection: a pooled one it opened goes back to its pool; SQLite's stays
    open unless the request failed in the database, in which case the next request opens a fresh one."""
    if db.is_closed():
        return
    if (opened and hasattr(db.obj, "close_all")) or isinstance(error, (OperationalError, InterfaceError)):
        db.close()
