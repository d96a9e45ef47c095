"""What an operator sees at the HTTP edge: request ids on answers and log lines, JSON logs, GET /metrics."""

import contextvars
import json
import logging
import re
import secrets
import time

from flask import g, has_request_context, request
from gunicorn import glogging

from .metrics import METRICS, init_metrics, metrics_text

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_ENVIRON = "HTTP_X_REQUEST_ID"  # read from the WSGI environ: a missing header costs Werkzeug an exception
REQUEST_ID_KEY = "reportedly.request_id"  # where the WSGI environ keeps the request's id (service.http_headers)
# A client's id is kept only when it is short and plain: nothing that could forge a log line.
WELL_FORMED_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


# A request gunicorn refuses itself (unparsable, over its limits) never reaches Flask; its id lives here
# while the worker answers and logs it (a context variable: each greenlet has its own).
REFUSED_REQUEST_ID = contextvars.ContextVar("refused_request_id", default=None)


def current_request_id():
    """The id of the request being served (or refused by gunicorn), or None outside a request."""
    return request.environ.get(REQUEST_ID_KEY) if has_request_context() else REFUSED_REQUEST_ID.get()


def refusing_request():
    """Give a request gunicorn refuses an id of its own, for its answer and its log lines; return the reset token."""
    return REFUSED_REQUEST_ID.set(secrets.token_hex(16))


def request_id_of(environ):
    """A request's id: the client's X-Request-ID when well formed, else a new one."""
    offered = environ.get(REQUEST_ID_ENVIRON, "")
    return offered if WELL_FORMED_ID.fullmatch(offered) else secrets.token_hex(16)


def start_timing():
    """before_request (with metrics): when the request began, for its latency."""
    g.request_started = time.perf_counter()


def write_outcome(status):
    """How a write request ended, by its status."""
    if status < 400:
        return "committed"
    if status == 503:
        return "busy"
    return "refused" if status < 500 else "failed"


def record_metrics(response):
    """after_request: count the answer under its route template, and time it."""
    route = request.url_rule.rule if request.url_rule else "unmatched"
    METRICS["requests"].labels(route, request.method, str(response.status_code)).inc()
    if "request_started" in g:
        METRICS["latency"].labels(route, request.method).observe(time.perf_counter() - g.request_started)
    if response.headers.get("Idempotent-Replayed") == "true":
        METRICS["replays"].inc()
    elif request.method in ("POST", "PUT", "PATCH", "DELETE"):
        METRICS["writes"].labels(write_outcome(response.status_code)).inc()
    if response.status_code == 429:
        METRICS["rate_limited"].inc()
    return response


def serve_metrics():
    """GET /metrics: Prometheus text format."""
    from prometheus_client import CONTENT_TYPE_LATEST

    return metrics_text(), 200, {"Content-Type": CONTENT_TYPE_LATEST}


def init_observability(app, read_guard):
    """Metrics and GET /metrics when REPORTEDLY_METRICS is true (request ids: service.http_headers.AnswerHeaders).

    `read_guard` is the rule of every read (auth.requires("read")): /metrics is open when reads are
    public, else it needs a read token, for it tells how the service is used.
    """
    if app.config["METRICS"]:
        init_metrics()
        app.before_request(start_timing)
        app.after_request(record_metrics)
        app.add_url_rule("/metrics", "metrics", read_guard(serve_metrics), methods=["GET"])


# --- logging -------------------------------------------------------------------------------


class RequestIdFilter(logging.Filter):
    """Puts the current request's id (or "-") on every record, for the formatters."""

    def filter(self, record):
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request id, and any structured fields."""

    def format(self, record):
        line = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.process,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


# What an access line holds, from gunicorn's atoms; never request headers wholesale (tokens live there).
ACCESS_FIELDS = {
    "remote_addr": "h", "method": "m", "path": "U", "query": "q", "status": "s",
    "bytes": "B", "duration_us": "D", "user_agent": "a", "request_id": "{x-request-id}o",
}


class AccessLogger(glogging.Logger):
    """gunicorn's logger, its access lines carrying the request id and, for JsonFormatter, named fields."""

    def access(self, resp, req, environ, request_time):
        """Log one answered request: gunicorn's access_log_format as the message, plus fields."""
        if not self.access_log_enabled:
            return
        atoms = self.atoms(resp, req, environ, request_time)
        fields = {name: atoms.get(atom, "-") for name, atom in ACCESS_FIELDS.items()}
        if fields["request_id"] == "-":
            fields["request_id"] = current_request_id() or "-"
        fields["status"] = int(fields["status"]) if str(fields["status"]).isdigit() else fields["status"]
        self.access_log.info(self.cfg.access_log_format, self.atoms_wrapper_class(atoms),
                             extra={"fields": fields, "request_id": fields["request_id"]})
