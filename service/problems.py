"""One error format: RFC 9457 problem+json for every error, Flask's own HTTP errors included."""

import logging
from http import HTTPStatus

from flask import g, json
from marshmallow import Schema, fields
from peewee import OperationalError
from playhouse.pool import MaxConnectionsExceeded
from werkzeug.exceptions import HTTPException

from .db import is_transient
from .errors import Conflict, Invalid, LedgerError, NotFound, PreconditionFailed, field_errors
from .observability import current_request_id

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("reportedly")

# A stable, absolute `type` URI per kind of problem (RFC 9457 §3.1.1).
PROBLEM_TYPES = {
    400: "malformed-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    412: "precondition-failed",
    413: "body-too-large",
    414: "uri-too-long",
    415: "unsupported-media-type",
    422: "validation",
    428: "precondition-required",
    429: "rate-limited",
    431: "header-fields-too-large",
    500: "internal",
    503: "unavailable",
}


class Problem(Exception):
    """An error the API answers with: raised anywhere below the views, rendered here."""

    def __init__(self, status, detail, errors=None, headers=None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}


# The HTTP status of each domain error (service.errors); the domain itself knows none.
DOMAIN_STATUSES = {NotFound: 404, Conflict: 409, PreconditionFailed: 412, Invalid: 422}


def problem_body(status, detail, errors=None):
    """The JSON object of a problem."""
    body = {
        "type": f"urn:reportedly:problem:{PROBLEM_TYPES.get(status, 'http-' + str(status))}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = field_errors(errors)
    if current_request_id():
        body["request_id"] = current_request_id()
    return body


def problem_response(status, detail, errors=None, headers=None):
    """A Flask response carrying a problem."""
    from flask import current_app

    response = current_app.response_class(
        json.dumps(problem_body(status, detail, errors)), status=status, mimetype=PROBLEM_MEDIA_TYPE
    )
    response.headers.update(headers or {})
    return response


def handle_problem(problem):
    """Render a Problem raised below the views."""
    return problem_response(problem.status, problem.detail, problem.errors, problem.headers)


def handle_ledger_error(error):
    """Render a domain error (service.errors) as the problem its kind stands for."""
    status = next(code for kind, code in DOMAIN_STATUSES.items() if isinstance(error, kind))
    return problem_response(status, error.detail, getattr(error, "errors", None))


def handle_http_exception(error):
    """Werkzeug's and flask-smorest's HTTP errors, webargs validation errors included."""
    if error.response is not None:  # an answer made already, e.g. the limiter's problem+json 429
        return error.response
    if error.code >= 500:
        log.error("internal error", exc_info=getattr(error, "original_exception", None) or error)
        return problem_response(error.code, "The server could not complete the request.")
    data = getattr(error, "data", None) or {}
    errors = _flatten_locations(data.get("messages")) if "messages" in data else data.get("errors")
    errors = field_errors(errors) if errors else None
    detail = data.get("message") or _describe(error, errors)
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    headers.update(data.get("headers") or {})
    return problem_response(error.code, detail, errors, headers)


def handle_database_error(error):
    """A busy, unreachable or saturated database is a temporary condition, not a bug: 503. Either way the
    request's connection is not kept for the next one (the teardown, handed no error once it is answered,
    reads it from g)."""
    g.database_error = error
    if is_transient(error):
        log.warning("database unavailable: %s", type(error).__name__)
        return problem_response(503, "The database is busy or unavailable; retry shortly.",
                                headers={"Retry-After": "1"})
    log.error("database error", exc_info=error)
    return problem_response(500, "The server could not complete the request.")


def _flatten_locations(messages):
    """webargs nests errors by location ({"json": {...}}); clients want field -> messages."""
    flat = {}
    for location_errors in (messages or {}).values():
        if isinstance(location_errors, dict):
            flat.update(location_errors)
        else:
            flat.setdefault("_body", []).extend(location_errors)
    return flat


def _describe(error, errors):
    if errors:
        fields_at_fault = ", ".join(sorted(str(k) for k in errors))
        return f"Invalid input in: {fields_at_fault}."
    return error.description or HTTPStatus(error.code).phrase


def register_error_handlers(app):
    """Route every error the app can raise to a problem+json answer."""
    app.register_error_handler(Problem, handle_problem)
    app.register_error_handler(LedgerError, handle_ledger_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(OperationalError, handle_database_error)
    app.register_error_handler(MaxConnectionsExceeded, handle_database_error)


class ProblemSchema(Schema):
    """RFC 9457 problem details (documentation only; bodies are built by problem_body)."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    request_id = fields.String(metadata={"description": "The request's X-Request-ID, as in the logs."})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Field errors: the field's dotted path (e.g. `attributions.0.source`) "
                                 "to the reasons it was refused."},
    )
