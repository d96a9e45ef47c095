"""The gunicorn worker: gevent, so slow clients park a greenlet each instead of holding a whole worker.

Three things the stock gevent worker gets wrong for this service, fixed here:
- peewee keeps its connection state in a `threading.local` subclass made when
  peewee is first imported, which happens in gunicorn's master, before the worker
  monkey-patches threading. Unfixed, every greenlet of a worker would share one
  connection state: one request could close another's connection mid-transaction.
  The class is rebuilt on the patched `threading.local`, so the state is per greenlet.
- psycopg chooses how to wait for the server when it is imported (again in the
  master, unpatched) and would block the whole worker during every query; it is
  reloaded after the patch, so it sees gevent and waits cooperatively.
- gunicorn answers requests it cannot parse (400, 414, 431, a malformed chunked
  body) itself, with an HTML page; its one writer of those pages is replaced by one
  that writes RFC 9457 problem+json like the rest of the service, and such a refusal
  gets a request id of its own, on the answer, in its body and on its log lines.
"""

import importlib
import json
import sys
import threading

import peewee
from gunicorn import util
from gunicorn.workers import ggevent

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


def cooperative_psycopg():
    """Let psycopg choose its wait function again, now that select is patched (it then yields to other greenlets)."""
    waiting = sys.modules.get("psycopg.waiting")
    if waiting is not None:
        importlib.reload(waiting)


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
