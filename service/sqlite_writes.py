"""How SQLite writers take turns and make their commits durable, so that the one write lock is held for the work only.

Costs that used to sit inside SQLite's single write lock, or beside it, doing nothing:

- **Waiting.** SQLite waits for its lock by sleeping the whole process between tries
  (1, 2, 5, 10 ... ms). Under the gevent worker, a worker that lost the race served no
  other request meanwhile and often slept on after the lock was free: with two workers
  writing, a third of the machine's CPU stood idle. A writer now takes its turn
  (WriterTurns) before BEGIN IMMEDIATE: one request of a process at a time waits for it,
  without holding up the worker's other requests, and the turn passes the moment it is
  given back.
- **Waiting only while running.** Under gevent on Linux, the waiting request tries for the
  turn each time the turn's file is closed (TurnFileCloses, inotify). Waiting in another
  OS thread, as elsewhere, took the turn the moment it was free but held it until the
  worker's event loop resumed the request, which under a load of reads took 40 ms at the
  median and seconds at worst: the turn sat idle and writes fell to a fifth
  (docs/benchmarks.md).
- **Flushing.** With `synchronous=FULL` SQLite syncs the WAL inside the lock, so no
  writer could start while one waited for the disk. A durable database now commits with
  `synchronous=NORMAL` and syncs the WAL itself, in the commit's WAL hook, which SQLite
  calls once the commit is in the WAL and its lock released: the write still returns
  only once it is on disk (the same guarantee as FULL), while the next writer works. Both
  are safe orders for SQLite: WAL with NORMAL never corrupts, it can only lose commits
  that were not yet synced, and none of those has been acknowledged.
- **Flushing once for many.** One fdatasync covers every commit already in the WAL when
  it begins, so the commits of a process share them (SharedFlushes): a commit that finds
  a flush under way waits for it, then flushes only if that one began before it.
- **Flushing where it is cheapest.** Under gevent, handing a call to another OS thread and
  back costs about 130 µs of CPU on a 2-core machine, more than a fast disk's fdatasync
  (about 90 µs of CPU, 220 µs in all). While flushes take under INLINE_FLUSH_SECONDS on
  average, the committing request flushes the WAL itself and its worker's other requests
  wait that long; a slower disk's flushes run in another OS thread, so they go on.

SQLite's lock stays the authority: a writer that takes no turn (the sqlite3 shell, a
backup) is still waited for by BEGIN IMMEDIATE's busy timeout. Nothing may set
`PRAGMA wal_autocheckpoint` on a durable connection: it would replace the WAL hook.
"""

import contextlib
import ctypes
import fcntl
import os
import sys
import threading
import time

import apsw

# Checkpoint once the WAL holds this many pages: SQLite's own automatic checkpoint's default.
CHECKPOINT_PAGES = 1000
# A worker flushes the WAL itself while its flushes take less than this on average, else in another OS thread.
INLINE_FLUSH_SECONDS = 0.002
# The weight of the latest flush in that average: one slow flush sends the next few to another thread.
FLUSH_AVERAGE_WEIGHT = 0.25


def flush_to_disk(path):
    """fdatasync a file by name: a new descriptor each time, since SQLite may have made the WAL anew since the last."""
    descriptor = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fdatasync(descriptor)
    finally:
        os.close(descriptor)


def _gevent_patched():
    return "gevent.monkey" in sys.modules and sys.modules["gevent.monkey"].is_module_patched("threading")


def _os_lock():
    """A lock between OS threads, even where gevent has made threading's locks cooperative."""
    if _gevent_patched():
        return sys.modules["gevent.monkey"].get_original("_thread", "allocate_lock")()
    return threading.Lock()


class _FlockWait:
    """An exclusive flock waited for by another OS thread; once abandoned, that thread closes the descriptor."""

    def __init__(self, descriptor):
        self.descriptor = descriptor
        self.had = self.abandoned = False
        self.guard = _os_lock()

    def run(self):
        fcntl.flock(self.descriptor, fcntl.LOCK_EX)
        with self.guard:
            if self.abandoned:
                os.close(self.descriptor)
            else:
                self.had = True

    def had_or_abandon(self):
        """Whether the lock was had after all; if not, the descriptor is the waiting thread's from now on."""
        with self.guard:
            self.abandoned = not self.had
            return self.had


def _wait_in_thread(descriptor, seconds):
    """Whether an exclusive flock on `descriptor` was had within `seconds`, waited for by another OS thread (under
    gevent its hub's pool), so the calling worker's other greenlets go on meanwhile."""
    wait = _FlockWait(descriptor)
    if _gevent_patched():
        import gevent

        done = gevent.get_hub().threadpool.spawn(wait.run)
        with contextlib.suppress(gevent.Timeout):
            done.get(timeout=max(seconds, 0))
    else:
        thread = threading.Thread(target=wait.run, name="writer-turn", daemon=True)
        thread.start()
        thread.join(max(seconds, 0))
    return wait.had_or_abandon()


class TurnFileCloses:
    """The closes of a turn's file, watched with Linux's inotify: how a greenlet waits for the turn.

    A holder gives the turn back by closing its descriptor, and the kernel closes a dying
    holder's. The waiting request tries for the turn after each close, and gevent waits on
    the inotify descriptor as on a socket, so the turn is taken only by a request that runs.
    Where inotify is missing (not Linux) or refused (its limits), `watch` gives None and the
    turn is waited for in another thread (_wait_in_thread), as it is outside gevent.
    """

    CLOSED = 0x08 | 0x10  # IN_CLOSE_WRITE | IN_CLOSE_NOWRITE

    def __init__(self):
        self.pid = self.descriptor = None
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            self.init, self.add_watch, self.remove_watch = (
                libc.inotify_init1, libc.inotify_add_watch, libc.inotify_rm_watch)
        except (OSError, AttributeError):
            self.init = None
            return
        self.add_watch.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32)

    def watch(self, path):
        """A watch of the file's closes, as (inotify descriptor, watch), or None where inotify cannot watch it."""
        if self.init is None or not _gevent_patched():
            return None
        if self.pid != os.getpid():  # an inotify descriptor of this process's own, made after the fork
            self.pid, self.descriptor = os.getpid(), self.init(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.descriptor < 0:
            return None
        watch = self.add_watch(self.descriptor, os.fsencode(path), self.CLOSED)
        return None if watch < 0 else (self.descriptor, watch)

    def wait(self, watched, descriptor, deadline):
        """Whether an exclusive flock on `descriptor` was had before `deadline` (time.monotonic), tried after each
        close of the watched file; if not, the descriptor is closed, as an abandoned _FlockWait closes its own."""
        from gevent.socket import wait_read

        events, watch = watched
        try:
            while True:
                _drain(events)  # before the try: a close after it wakes the wait below
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return True
                except BlockingIOError:
                    pass
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    os.close(descriptor)
                    return False
                with contextlib.suppress(TimeoutError):
                    wait_read(events, timeout=remaining, timeout_exc=TimeoutError)
        finally:
            self.remove_watch(events, watch)


def _drain(descriptor):
    """Read every event waiting on a non-blocking descriptor."""
    with contextlib.suppress(BlockingIOError):
        while os.read(descriptor, 4096):
            pass


TURN_FILE_CLOSES = TurnFileCloses()


class WriterTurns:
    """Whose turn it is to write one SQLite file among this machine's processes: an flock on a file beside it,
    which also keeps the moment the last write was recorded at (moment_after_the_last).

    A process lets one request at a time wait for the turn (`within`); the kernel lets go of a
    dead process's flock, so a killed worker cannot keep it.
    """

    def __init__(self, database_path):
        self.path = database_path + "-writer"
        self.pid = None

    def take(self, seconds):
        """The turn, as a descriptor to give back, or None if `seconds` passed first (SQLite's own wait then decides)."""
        if self.pid != os.getpid():
            # Made in the process that writes: after gunicorn's fork, and after gevent's patch makes it cooperative.
            self.pid, self.within = os.getpid(), threading.Lock()
        deadline = time.monotonic() + seconds
        if not self.within.acquire(timeout=seconds):
            return None
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return descriptor
        except BlockingIOError:
            pass
        try:
            watched = TURN_FILE_CLOSES.watch(self.path)
            if watched is not None:
                had = TURN_FILE_CLOSES.wait(watched, descriptor, deadline)
            else:
                had = _wait_in_thread(descriptor, deadline - time.monotonic())
            if had:
                return descriptor
        except BaseException:
            os.close(descriptor)
            self.within.release()
            raise
        self.within.release()
        return None

    @staticmethod
    def moment_after_the_last(descriptor, micros):
        """`micros`, or one microsecond after the last moment a holder of the turn recorded if that is not earlier:
        the moment to record a write at, kept in the turn's file (its descriptor, held) for the next holder.

        The clock can step back (NTP correcting it, a virtual machine resumed): a write dated
        before one already recorded would end a state before it began, and the history and
        the answers as of a past time would lose it. Every process writing the file on this
        machine holds the turn while it reads the time, so the moments it gives out only grow.
        """
        last = os.pread(descriptor, 8, 0)
        if len(last) == 8:
            micros = max(micros, int.from_bytes(last, "little", signed=True) + 1)
        os.pwrite(descriptor, micros.to_bytes(8, "little", signed=True), 0)
        return micros

    def give(self, descriptor):
        """Give the turn back: closing its only descriptor lets go of the flock."""
        os.close(descriptor)
        self.within.release()


def _off_the_loop(function, *args):
    """Call `function` in another OS thread under gevent (the caller's greenlet waits, the others go on), else here."""
    if _gevent_patched():
        import gevent

        return gevent.get_hub().threadpool.apply(function, args)
    return function(*args)


class SharedFlushes:
    """The WAL flushes of one process, each shared by every commit made before it began (group commit), made by the
    committing request itself while they are fast, else in another OS thread."""

    def __init__(self, wal_path):
        self.wal_path = wal_path
        self.pid = None
        self.seconds = 0.0  # the moving average of a flush's duration

    def after_commit(self):
        """Return once this process's latest commit is on disk, flushing the WAL unless a flush begun since covers it."""
        if self.pid != os.getpid():
            # Made in the process that writes: after gunicorn's fork, and after gevent's patch makes it cooperative.
            self.pid, self.lock, self.committed, self.flushed = os.getpid(), threading.Lock(), 0, 0
        self.committed += 1
        mine = self.committed
        with self.lock:
            if self.flushed < mine:
                covered = self.committed
                if self.seconds < INLINE_FLUSH_SECONDS:
                    self._timed_flush()
                else:
                    _off_the_loop(self._timed_flush)
                self.flushed = covered

    def _timed_flush(self):
        started = time.perf_counter()
        flush_to_disk(self.wal_path)
        latest = time.perf_counter() - started
        self.seconds += FLUSH_AVERAGE_WEIGHT * (latest - self.seconds)


class AfterCommits:
    """What follows each commit of a connection, in SQLite's WAL hook (its write lock already released): the turn
    given back, the WAL flushed on a durable database, and a PASSIVE checkpoint once the WAL holds `pages` (0: none,
    another copies it)."""

    def __init__(self, database, pages=CHECKPOINT_PAGES):
        self.database, self.pages = database, pages

    def __call__(self, connection, name, wal_pages):
        self.database.give_turn()
        self.database.flushes.after_commit()
        if self.pages and wal_pages >= self.pages:
            # As SQLite's own automatic checkpoint: one that cannot finish now leaves the rest for the next.
            with contextlib.suppress(apsw.BusyError):
                connection.wal_checkpoint(name)
        return apsw.SQLITE_OK
