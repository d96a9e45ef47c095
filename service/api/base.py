"""The API's building blocks: flask-smorest configured for problem+json errors, strict JSON bodies and bounded ids."""

import functools
import hashlib
import json
import re
from http import HTTPStatus

import flask_smorest
import orjson
from flask import current_app, g, make_response, request
from flask_smorest.exceptions import NotModified
from flask_smorest.utils import prepare_response
from gunicorn.http.errors import ParseException
from marshmallow import RAISE, Schema
from webargs.core import is_json
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import BaseConverter, ValidationError

from .. import idempotency
from ..auth import documented
from ..identifiers import MAX_ID, SLUG_PATTERN
from ..problems import PROBLEM_MEDIA_TYPE, Problem, ProblemSchema, handle_http_exception
from ..query_cache import QueryCache
from ..reads import Origins


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


class DuplicateKey(Exception):
    """A JSON object names one key twice: which value was meant is anyone's guess."""


def _object_without_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise DuplicateKey(key)
        obj[key] = value
    return obj


def parse_json_body(data):
    """Strict JSON: NaN, Infinity, invalid UTF-8 and absurd nesting are a 400; a duplicate key is a 422."""
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_reject_constant,
                          object_pairs_hook=_object_without_duplicates)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise Problem(400, f"The body is not valid JSON: {error}.") from None
    except DuplicateKey as duplicate:
        [key] = duplicate.args
        raise Problem(422, "A JSON object in the body names a key twice.",
                      errors={key: ["Appears more than once in one object."]}) from None


def read_body(req):
    """The request body; a chunked body that reaches the limit is a 413, a malformed one a 400."""
    try:
        data = req.get_data(cache=True)
    except (ParseException, OSError):  # gunicorn's bad chunk size or early end; werkzeug's IOError likewise
        raise Problem(400, "The request body is malformed (chunked encoding).") from None
    limit = req.max_content_length
    # Werkzeug stops reading a body without Content-Length at the limit instead of raising. (The length first:
    # req.content_length parses the headers again, at every call.)
    if limit is not None and len(data) >= limit and req.content_length is None:
        raise RequestEntityTooLarge()
    return data


class StrictJSONParser(FlaskParser):
    """webargs' parser with a 415 for non-JSON bodies, strict JSON decoding and 422 for unknown query parameters."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": RAISE, "querystring": RAISE}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._queries = QueryCache()
        self._plain_readers = {}  # body schema -> its quick reader (see read_plainly)

    def read_plainly(self, schema, reader):
        """Read a JSON body for `schema` with `reader` first: what the schema would load of a plainly valid body,
        or None, and then the schema reads it (so every error is worded by marshmallow, as before)."""
        self._plain_readers[schema] = reader

    def parse(self, argmap, req=None, *, location=None, **kwargs):
        """webargs' parse; a plainly valid body with a quick reader, and a query string loaded before, are read
        without marshmallow."""
        if location == "json":
            reader = self._plain_readers.get(argmap)
            loaded = None if reader is None else reader(self._raw_load_json(request))
            return super().parse(argmap, req, location=location, **kwargs) if loaded is None else loaded
        if location not in ("query", "querystring") or not isinstance(argmap, Schema):
            return super().parse(argmap, req, location=location, **kwargs)
        parse = super().parse
        return self._queries.load(argmap, request.query_string, lambda: parse(argmap, req, location=location, **kwargs))

    def _raw_load_json(self, req):
        if not is_json(req.mimetype):
            raise Problem(415, "Send the body as application/json.")
        data = read_body(req)
        if not data:
            raise Problem(400, "The request needs a JSON body.")
        return parse_json_body(data)


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint with the strict JSON parser, and If-None-Match compared weakly (RFC 9110 13.1.2)."""
    ARGUMENTS_PARSER = StrictJSONParser()

    def arguments(self, schema, *, plain=None, **kwargs):
        """flask-smorest's arguments, with one schema instance for the view's life: given a class, webargs
        would build a new instance (and copy every field) on each request. `plain` reads a plainly valid
        JSON body as the schema would (StrictJSONParser.read_plainly)."""
        schema = schema() if isinstance(schema, type) else schema
        if plain is not None:
            self.ARGUMENTS_PARSER.read_plainly(schema, plain)
        return super().arguments(schema, **kwargs)

    @staticmethod
    def doc(**kwargs):
        """flask-smorest's doc, without a wrapper around the view at run time (service.auth.documented)."""
        return documented(**kwargs)

    @staticmethod
    def _generate_etag(etag_data, extra_data=None):
        """The ETag of a representation: a digest of its JSON with sorted keys, encoded by orjson (datetimes too),
        so a view's tag needs no schema dump."""
        if extra_data:
            etag_data = (etag_data, extra_data)
        return hashlib.sha1(orjson.dumps(etag_data, option=orjson.OPT_SORT_KEYS)).hexdigest()

    def _check_not_modified(self, etag):
        if (request.method in self.METHODS_CHECKING_NOT_MODIFIED and "HTTP_IF_NONE_MATCH" in request.environ
                and request.if_none_match.contains_weak(etag)):
            raise NotModified

    def _is_etag_enabled(self):
        """Always (nothing here sets ETAG_DISABLED); flask-smorest would look up the current Api at every call."""
        return True


class Api(flask_smorest.Api):
    """flask-smorest's Api answering and documenting errors as RFC 9457 problems."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error):
        return handle_http_exception(error)

    def _register_responses(self):
        """Name every status as a response component; errors carry problem+json bodies."""
        for status in HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_MEDIA_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Error (RFC 9457 problem)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_MEDIA_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)

    def _register_pagination_header(self):
        """Nothing: the API pages by cursor, not with flask-smorest's X-Pagination header and its schema."""


class IdConverter(BaseConverter):
    """A server-set id in a path: digits that fit a 64-bit integer; anything else is a 404."""

    regex = r"[1-9][0-9]{0,18}"

    def to_python(self, value):
        number = int(value)
        if number > MAX_ID:
            raise ValidationError()
        return number

    def to_url(self, value):
        return str(value)


class SlugConverter(BaseConverter):
    """A source id in a path."""

    regex = SLUG_PATTERN.strip("^$")


IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")
REPLAYED_HEADERS = ("Content-Type", "Location", "ETag")


def idempotent(view):
    """Decorate a POST view (below `requires`): with an Idempotency-Key, a retry replays the first answer."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = request.environ.get("HTTP_IDEMPOTENCY_KEY")  # the header; request.headers raises a KeyError without it
        if key is None or g.get("token") is None:
            return view(*args, **kwargs)
        if not IDEMPOTENCY_KEY.fullmatch(key):
            raise Problem(422, "Idempotency-Key must be 1-255 visible ASCII characters.",
                          errors={IDEMPOTENCY_HEADER: ["Must be 1-255 visible ASCII characters."]})
        lease = current_app.config["IDEMPOTENCY_LEASE_SECONDS"]
        with idempotency.exactly_once(g.token.key_id, key, request_fingerprint(), lease) as attempt:
            if attempt.replay is not None:
                return _replay(attempt.replay)
            response = make_response(view(*args, **kwargs))
            if 200 <= response.status_code < 300:
                headers = {h: response.headers[h] for h in REPLAYED_HEADERS if h in response.headers}
                attempt.keep(idempotency.Answer(response.status_code, response.get_data(as_text=True), headers))
        return response

    return wrapper


def request_fingerprint():
    """What makes two requests 'the same': method, path with query, and body."""
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.full_path}\n".encode())
    digest.update(read_body(request))
    return digest.hexdigest()


def _replay(answer):
    response = current_app.response_class(answer.body, status=answer.status)
    response.headers.update(answer.headers)
    response.headers["Idempotent-Replayed"] = "true"
    return response


def json_response(body, status=200):
    """A JSON answer encoded by orjson, for hot reads whose body is already in its public shape.

    The view's @blp.response still documents the schema (and the drift and schemathesis
    tests hold the two together); dumping hundreds of fields through marshmallow per
    request was half the cost of a list.
    """
    encoded = orjson.dumps(body, default=_stored_json, option=orjson.OPT_PASSTHROUGH_SUBCLASS)
    return current_app.response_class(encoded, status=status, mimetype="application/json")


def _stored_json(value):
    """orjson's fallback in json_response: origins read from storage go out as the text they were read from
    when that is their encoding (service.reads.Origins), saving an encoding per claim of a list."""
    if isinstance(value, Origins):
        return value.fragment if value.fragment is not None else list(value)
    raise TypeError(f"{type(value).__name__} is not a JSON type")
