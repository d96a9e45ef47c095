"""Media types beyond JSON: content negotiation, CSV streaming and JSON-LD responses, and their OpenAPI shapes."""

import functools
import itertools
import json

from flask import Response, current_app, request, stream_with_context
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from ..db import borrow, give_back
from ..formats.csv import csv_chunks
from ..interchange import claim_views_in_batches

CSV = "text/csv"
LD_JSON = "application/ld+json"
JSON = "application/json"
CSV_DOC = {"type": "string", "description": "RFC 4180 CSV with a header row; formula-like cells start with '."}
CLAIM_REVIEW_DOC = {"type": "object", "description": "schema.org ClaimReview (JSON-LD)."}
SETTINGS = ("PUBLIC_URL", "PUBLISHER_NAME", "PUBLISHER_URL")


def wants(media_type):
    """Whether the client's Accept header prefers `media_type` to JSON (JSON wins ties and */*)."""
    return _prefers(request.environ.get("HTTP_ACCEPT"), media_type)  # the header, as request.accept_mimetypes reads it


@functools.lru_cache(maxsize=256)
def _prefers(accept, media_type):
    # Decided once per Accept header and media type: clients send the same few headers, which werkzeug
    # would parse again at every request.
    return parse_accept_header(accept, MIMEAccept).best_match([JSON, media_type]) == media_type


def settings():
    """What the formats read of the configuration."""
    return {name: current_app.config[name] for name in SETTINGS}


def jsonld_response(document):
    """A JSON-LD body."""
    return Response(json.dumps(document, ensure_ascii=False), mimetype=LD_JSON, headers={"Vary": "Accept"})


def csv_response(args):
    """Every claim the filters match as streamed CSV; the first batch is read before answering, so a bad
    cursor is still a 422 and not a broken stream."""
    batches = claim_views_in_batches(args, args["lang"])
    first = next(batches)
    chunks = csv_chunks(itertools.chain([first], _connected(batches)))
    return Response(
        stream_with_context(chunks),
        mimetype=CSV,
        content_type="text/csv; charset=utf-8; header=present",
        headers={"Content-Disposition": 'attachment; filename="claims.csv"', "Vary": "Accept"},
    )


def _connected(batches):
    """Read the rest of a stream on a borrowed connection: the request may have given its own back by then."""
    opened = borrow(current_app.extensions["reportedly.db"])
    try:
        yield from batches
    finally:
        give_back(opened)
