"""The gunicorn worker: gevent, so slow clients park a greenlet each instead of holding a whole worker.

Three things the stock gevent worker gets wrong for this service, fixed here:
- peewee keeps its connection state in a `threading.local` subclass made when
  peewee is first imported, which happens in gunicorn's master, before the worker
  monkey-patches threading. Unfixed, every greenlet of a worker would share one
  connection state: one request could close another's connection mid-transaction.
  The class is rebuilt on the patched `threading.local`, so the state is per greenlet.
- psycopg chooses how to wait for the server when it is imported (again in the
  master, unpatched) and would block the whole worker during every query. Its module
  is reloaded after the patch, so a connection's opening waits cooperatively, and its
  waits during queries are wait_cooperatively's: the socket is polled first, and only
  when it is not ready does the request's greenlet wait on gevent's hub.
- gunicorn answers requests it cannot parse (400, 414, 431, a malformed chunked
  body) itself, with an HTML page; its one writer of those pages is replaced by one
  that writes RFC 9457 problem+json like the rest of the service, and such a refusal
  gets a request id of its own, on the answer, in its body and on its log lines.
"""

import functools
import importlib
import json
import select
import threading
import time

import gevent
import peewee
from gevent.monkey import get_original
from gevent.socket import wait_read, wait_readwrite, wait_write
from gunicorn import util
from gunicorn.workers import ggevent
from psycopg import errors, waiting
from psycopg.waiting import Ready, Wait

from .observability import REFUSED_REQUEST_ID, REQUEST_ID_HEADER, current_request_id, refusing_request
from .problems import PROBLEM_MEDIA_TYPE, problem_body


def write_problem(sock, status_int, reason, mesg):
    """gunicorn's write_error, speaking problem+json; `mesg` (which may echo the request) is not sent back."""
    body = json.dumps(problem_body(status_int, f"{reason}: the request could not be parsed.")).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        f"Content-Type: {PROBLEM_MEDIA_TYPE}\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "Cache-Control: no-store\r\n"
        f"{REQUEST_ID_HEADER}: {current_request_id()}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


def greenlet_local_connection_state():
    """Rebuild peewee's per-thread connection state class on the (now patched) threading.local."""
    peewee._ConnectionLocal = type("_ConnectionLocal", (peewee._ConnectionState, threading.local), {})


# psycopg's waits as poll's events and as gevent's waits of a file descriptor.
POLL_EVENTS = {Wait.R: select.POLLIN, Wait.W: select.POLLOUT, Wait.RW: select.POLLIN | select.POLLOUT}
GEVENT_WAITS = {Wait.R: wait_read, Wait.W: wait_write, Wait.RW: wait_readwrite}
# How long a run of waits found ready at once may go on before the greenlet lets the others run (psycopg's own
# MAX_BUSY_TIME for asyncio): a long executemany must not hold up the worker's other requests.
MAX_BUSY_SECONDS = 0.005


def wait_cooperatively(gen, fileno, interval=None, timeout=None):
    """psycopg's wait function under gevent: drive `gen`, which yields what it waits for on the socket `fileno`,
    and raise psycopg's _WaitTimeout if it has not finished within `timeout` seconds.

    A zero-timeout poll first: a socket asked for writing nearly always is writable, and pipeline
    mode asks at every statement. Only a socket that is not ready parks the greenlet on gevent's hub,
    as psycopg's own wait_async does on asyncio. psycopg's choice under gevent, wait_poll, made a
    cooperative poll object, its watchers and a timer at every one of those waits: on PostgreSQL
    they were the largest part of a POST's Python time (docs/benchmarks.md). `interval`, psycopg's
    period for checking interrupts during a blocking poll, does not apply: gevent's hub handles signals.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    poll = _unpatched_poll()()
    busy_since = time.monotonic()
    try:
        wanted = next(gen)
        poll.register(fileno, POLL_EVENTS[wanted])
        while True:
            ready = _ready(poll)
            if ready and time.monotonic() - busy_since >= MAX_BUSY_SECONDS:
                gevent.sleep(0)
                busy_since = time.monotonic()
            elif not ready:
                remaining = None if deadline is None else deadline - time.monotonic()
                try:
                    if remaining is not None and remaining <= 0:
                        raise TimeoutError
                    GEVENT_WAITS[wanted](fileno, timeout=remaining, timeout_exc=TimeoutError)
                except TimeoutError:
                    raise errors._WaitTimeout("wait timeout expired") from None
                busy_since = time.monotonic()
                ready = _ready(poll)
            wanted = gen.send(ready)
            poll.modify(fileno, POLL_EVENTS[wanted])
    except OSError as error:
        raise errors.OperationalError("connection socket closed") from error
    except StopIteration as finished:
        return finished.value


@functools.cache
def _unpatched_poll():
    """The operating system's poll, not gevent's cooperative one (which makes watchers and a timer even to look)."""
    return get_original("select", "poll")


def _ready(poll):
    """What the polled socket is ready for now, as psycopg's Ready; an error or hang-up counts as ready to read, so
    that libpq reads it and reports it."""
    ready = Ready.NONE
    for _, events in poll.poll(0):
        if events & (select.POLLIN | select.POLLERR | select.POLLHUP | select.POLLNVAL):
            ready |= Ready.R
        if events & select.POLLOUT:
            ready |= Ready.W
    return ready


def cooperative_psycopg():
    """Make psycopg wait for the server cooperatively, now that gevent has patched the worker: its module of waits
    imported again (a connection's opening then waits on gevent's selectors), and wait_cooperatively for the rest."""
    importlib.reload(waiting)
    waiting.wait = wait_cooperatively


class GeventWorker(ggevent.GeventWorker):
    """gunicorn's gevent worker with per-greenlet database state and problem+json parse errors."""

    def patch(self):
        super().patch()
        greenlet_local_connection_state()
        cooperative_psycopg()
        util.write_error = write_problem

    def handle_error(self, req, client, addr, exc):
        """gunicorn's own refusal under a request id of its own: on the answer, in its body and its log lines."""
        refusal = refusing_request()
        try:
            super().handle_error(req, client, addr, exc)
        finally:
            REFUSED_REQUEST_ID.reset(refusal)
