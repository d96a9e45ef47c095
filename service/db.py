"""The database: declared once here, initialised once per process from configuration; requests borrow its connection."""

import contextlib
import re
import threading
import time
import urllib.parse
import weakref
from datetime import timezone
from pathlib import Path

import apsw
from peewee import DatabaseProxy, InterfaceError, OperationalError, PostgresqlDatabase
from playhouse.apsw_ext import APSWDatabase
from playhouse.pool import MaxConnectionsExceeded, PooledPostgresqlDatabase

from .clock import from_micros, to_micros, utcnow
from .metrics import observe_lock_wait
from .sqlite_writes import AfterCommits, SharedFlushes, WriterTurns

# Models bind to this proxy; init_database() points it at SQLite or PostgreSQL.
db = DatabaseProxy()

# WAL lets readers run beside the one writer. Durability comes from configuration:
# FULL keeps every acknowledged write through a power loss (the WAL is synced after each
# commit, outside the write lock: service.sqlite_writes); NORMAL keeps it through a
# process crash but may lose the last commits on a power loss, for a higher rate.
SQLITE_SYNCHRONOUS = ("FULL", "NORMAL")


# Statements that wait for another writer on PostgreSQL: row locks, advisory locks, table locks.
LOCKING_STATEMENT = re.compile(r"\bFOR (?:UPDATE|SHARE)\b|\bpg_advisory_xact_lock\(|^LOCK TABLE ")


def takes_locks(sql):
    """Whether a statement is a LOCKING_STATEMENT. Plain substring tests first: the expression alone, which tries
    each word boundary of the text, took 8 µs on a short statement and 39 µs on a claim's attributions query,
    and every statement of every request on PostgreSQL asked it."""
    return (("FOR " in sql or "pg_advisory_xact_lock(" in sql or sql.startswith("LOCK TABLE "))
            and LOCKING_STATEMENT.search(sql) is not None)


class LedgerSQLite(APSWDatabase):
    """APSW's database whose writers take turns and whose durable commits sync the WAL outside the write lock
    (service.sqlite_writes); the waits for the turn and for BEGIN IMMEDIATE are timed as one lock wait."""

    def __init__(self, database, durable=True, **kwargs):
        super().__init__(database, **kwargs)
        self.durable = durable
        self.turns = WriterTurns(database)
        self.flushes = SharedFlushes(database + "-wal")
        self.after_commits = weakref.WeakKeyDictionary()

    def _connect(self):
        # Two processes opening a new file at once (two instances starting) both switch it to WAL, and SQLite
        # refuses the one that must wait for the other's write at once, without its busy handler (which could
        # deadlock there): that one tries again until the busy timeout has passed.
        deadline = time.monotonic() + (self._timeout or 0)
        while True:
            try:
                return super()._connect()
            except apsw.BusyError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)

    def _add_conn_hooks(self, conn):
        super()._add_conn_hooks(conn)
        if self.durable:
            self.after_commits[conn] = AfterCommits(self)
            conn.set_wal_hook(self.after_commits[conn])

    def begin(self, lock_type=None):
        started = time.perf_counter()
        self._state.turn = self.turns.take(self._timeout)
        try:
            return super().begin(lock_type)
        except BaseException:
            self.give_turn()
            raise
        finally:
            observe_lock_wait(time.perf_counter() - started)

    def write_time(self):
        """This machine's time, moved on past the last write's if the clock stepped back (WriterTurns): the
        transaction holds the turn. One whose wait for the turn ran out, and was left to SQLite, reads the clock."""
        turn = getattr(self._state, "turn", None)
        if turn is None:
            return utcnow()
        return from_micros(self.turns.moment_after_the_last(turn, to_micros(utcnow())))

    def give_turn(self):
        """Give back the turn this connection's transaction took, if it holds one."""
        turn = getattr(self._state, "turn", None)
        if turn is not None:
            self._state.turn = None
            self.turns.give(turn)

    def commit(self):
        try:
            return super().commit()
        finally:
            self.give_turn()

    def rollback(self):
        try:
            return super().rollback()
        finally:
            self.give_turn()

    def _close(self, conn):
        try:
            super()._close(conn)
        finally:
            self.give_turn()

    def checkpoint_pages(self):
        """How many WAL pages the connection lets gather before it checkpoints after a commit (0: never)."""
        if self.durable:
            return self.after_commits[self.connection()].pages
        return self.pragma("wal_autocheckpoint")

    def set_checkpoint_pages(self, pages):
        """Let the connection gather `pages` WAL pages before it checkpoints after a commit (0: never)."""
        if self.durable:
            self.after_commits[self.connection()].pages = pages
        else:
            self.pragma("wal_autocheckpoint", pages)


class LedgerPostgreSQL(PooledPostgresqlDatabase):
    """The pooled PostgreSQL database whose lock-taking statements are timed as lock waits, and whose connections are
    pinged on their way out of the pool only after a pause."""

    # peewee's pool pings every connection it lends (SELECT 1: one round trip of every request's few). One given
    # back in good order less than this long ago is lent without it, as HikariCP's aliveBypassWindowMs does; after a
    # pause, when a restarted server or a dropped network path may have broken it, it is pinged as before. A break
    # within the window fails that one request as any lost connection does (503, and the connection is discarded).
    PING_AFTER_IDLE_SECONDS = 1.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._given_back = weakref.WeakKeyDictionary()

    def _can_reuse(self, conn):
        reusable = super()._can_reuse(conn)
        if reusable:
            self._given_back[conn] = time.monotonic()
        return reusable

    def _is_closed(self, conn):
        given_back = self._given_back.pop(conn, None)
        if given_back is not None and time.monotonic() - given_back < self.PING_AFTER_IDLE_SECONDS and not conn.closed:
            return False
        return super()._is_closed(conn)

    def execute_sql(self, sql, params=None):
        if not takes_locks(sql):
            return super().execute_sql(sql, params)
        started = time.perf_counter()
        try:
            return super().execute_sql(sql, params)
        finally:
            observe_lock_wait(time.perf_counter() - started)


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
    synchronous = config["SQLITE_SYNCHRONOUS"].upper()
    if synchronous not in SQLITE_SYNCHRONOUS:
        raise ValueError(f"REPORTEDLY_SQLITE_SYNCHRONOUS must be FULL or NORMAL, not {config['SQLITE_SYNCHRONOUS']!r}")
    database = LedgerSQLite(
        path,
        durable=synchronous == "FULL",
        # NORMAL either way: a durable database syncs the WAL itself after each commit (service.sqlite_writes).
        pragmas=(("journal_mode", "wal"), ("synchronous", "NORMAL"), ("foreign_keys", 1)),
        timeout=config["SQLITE_BUSY_TIMEOUT_SECONDS"],
        lock_type="IMMEDIATE",
        autoconnect=False,
        # SQLite's "multi-thread" mode: no mutex taken and released around every call on the connection, which
        # only one thread uses at a time (APSW refuses any other use). 1-3% of a request's instructions.
        flags=apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE | apsw.SQLITE_OPEN_NOMUTEX,
    )
    # Connections this process opened and no request holds now, at most idle_limit of them; see borrow().
    database.idle_connections = []
    database.idle_limit = config["DB_POOL_SIZE"]
    return database


def _open_postgresql(parsed, config):
    """PostgreSQL through psycopg 3 with a per-process connection pool."""
    query = dict(urllib.parse.parse_qsl(parsed.query))
    return LedgerPostgreSQL(
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


def write_time(first=None):
    """The time a write is recorded at: PostgreSQL's clock, which every instance shares; else this machine's, never
    at or before the last write's (LedgerSQLite.write_time).

    `first`: a statement without parameters for PostgreSQL to run just before it reads its
    clock, sent with it (one round trip for both).
    """
    if is_postgresql():
        cursor = db.execute_sql("SELECT clock_timestamp()" if first is None else f"{first}; SELECT clock_timestamp()")
        if first is not None:
            cursor.nextset()  # past the first statement's result
        return cursor.fetchone()[0].astimezone(timezone.utc)
    return db.obj.write_time()


def close_all(database):
    """Close the connection and every pooled or idle one (the master must hold none at fork)."""
    if not database.is_closed():
        database.close()
    if hasattr(database, "close_all"):
        database.close_all()
    for connection in getattr(database, "idle_connections", ()):
        connection.close()
    getattr(database, "idle_connections", []).clear()


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


def borrow(database):
    """Give a request a connection of its app's database: on SQLite one this worker opened before (pragmas set
    once) if one is idle, on PostgreSQL one from the pool. True if the request took one.

    Under the gevent worker each greenlet has its own connection state, so a worker opens as
    many SQLite connections as it serves requests at once, and keeps up to REPORTEDLY_DB_POOL_SIZE
    of them between requests (give_back closes the rest): each kept one holds its page cache (up to
    about 2 MB once warm) and its WAL's descriptor, so a burst of requests must not leave them all open.
    """
    if db.obj is not database:
        # Only a process hosting several apps (a test session) gets here; a worker has one app.
        db.initialize(database)
    if not db.is_closed():
        return False
    idle = getattr(database, "idle_connections", None)
    if idle:
        database._state.set_connection(idle.pop())
    else:
        db.connect()
    return True


def give_back(opened, error=None):
    """End a request's use of the connection: SQLite's is kept for the next request (closed if the pool size of
    them are kept already), a pooled one goes back to its pool; after a database error it is closed, and the next
    request opens a fresh one."""
    if db.is_closed():
        return
    if isinstance(error, (OperationalError, InterfaceError)) or (opened and db.in_transaction()):
        db.obj._state.transactions.clear()  # a transaction left open is rolled back by closing
        db.close()
        return
    if not opened:
        return
    idle = getattr(db.obj, "idle_connections", None)
    if idle is None or len(idle) >= db.obj.idle_limit:
        db.close()
        return
    idle.append(db.obj._state.conn)
    db.obj._state.reset()


@contextlib.contextmanager
def pipelined():
    """Within, on PostgreSQL: statements go to the server without waiting for each one's answer (psycopg's pipeline
    mode); a read waits for everything sent before it, and an error is raised by the next read or at the end."""
    if not is_postgresql():
        yield
        return
    with db.obj.connection().pipeline():
        yield


@contextlib.contextmanager
def page_cache(kib):
    """Within: on SQLite, a page cache of `kib` KiB for the connection; its own size again after."""
    if is_postgresql():
        yield
        return
    before = db.pragma("cache_size")
    db.pragma("cache_size", -kib)
    try:
        yield
    finally:
        db.pragma("cache_size", before)


class WalCheckpoints:
    """Copies the WAL into the database file from a thread of its own, for a writer that commits large batches
    (see checkpoints_beside); its `due()` asks for a checkpoint after a commit."""

    def __init__(self, path):
        self.path = path
        self.asked = threading.Event()
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name="wal-checkpoints", daemon=True)
        self.thread.start()

    def due(self):
        """Ask for a checkpoint of what is committed so far."""
        self.asked.set()

    def stop(self):
        """End the thread, once a checkpoint under way is done, and close its connection."""
        self.stopping = True
        self.asked.set()
        self.thread.join()

    def _run(self):
        connection = apsw.Connection(self.path)
        try:
            while not self.stopping:
                self.asked.wait()
                self.asked.clear()
                # PASSIVE copies what is committed without waiting for, or holding back, the writer. One that
                # fails leaves the WAL longer, for the writer's own checkpoints to copy once they are back.
                with contextlib.suppress(apsw.Error):
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            connection.close()


class _NoCheckpoints:
    """PostgreSQL's stand-in: it has no WAL to copy at commit."""

    def due(self):
        pass


@contextlib.contextmanager
def checkpoints_beside():
    """Within: on SQLite, the connection's commits leave the WAL to a thread that copies it into the database file
    (WalCheckpoints.due() after each commit), while this one goes on; its own checkpoints again after.

    SQLite checkpoints in the commit that takes the WAL past 1,000 pages: a bulk import's
    commit of tens of megabytes waited for all of them to be copied and synced. APSW lets
    go of the GIL while SQLite works, so the copying overlaps the next batch's Python.
    """
    if is_postgresql():
        yield _NoCheckpoints()
        return
    before = db.obj.checkpoint_pages()
    db.obj.set_checkpoint_pages(0)
    checkpoints = WalCheckpoints(db.obj.database)
    try:
        yield checkpoints
    finally:
        checkpoints.stop()
        db.obj.set_checkpoint_pages(before)
