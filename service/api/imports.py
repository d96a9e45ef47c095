"""Imports: JSON Lines of sources, documents and claims, streamed in and written batch by batch."""

from flask import current_app, g, request
from flask.views import MethodView
from marshmallow import RAISE

from .. import bulk
from ..auth import requires
from ..problems import Problem
from ..schemas import ImportQuerySchema, ImportReportSchema, NoQuerySchema
from . import examples
from .base import Blueprint

blp = Blueprint("imports", __name__, url_prefix="/v1/imports", description="Bulk import")
NDJSON = "application/x-ndjson"
# A string of format binary: raw bytes to a client generator (openapi-python-client's `File`), not text it encodes.
BODY = {"required": True, "content": {NDJSON: {"schema": {
    "type": "string", "format": "binary", "minLength": 1,
    "description": "One JSON object a line, each with `type`: source, document or claim.",
}, "example": examples.IMPORT}}}


@blp.route("")
class Imports(MethodView):
    """The import collection."""
    @requires("admin")
    @blp.doc(operationId="createImport")
    @blp.arguments(ImportQuerySchema, location="query", unknown=RAISE)
    @blp.response(201, ImportReportSchema)
    @blp.alt_response(200, schema=ImportReportSchema, description="A dry run's report (not kept).")
    @blp.doc(requestBody=BODY)
    def post(self, args):
        """Import JSON Lines, all-or-nothing per batch; a bad line stops the import (422 naming the lines).

        The body is `application/x-ndjson`, read as it streams in. The report is kept and its
        id returned; `dry_run=true` validates everything and writes nothing. Needs the `admin` scope.
        """
        if request.mimetype != NDJSON:
            raise Problem(415, f"Send the body as {NDJSON}.")
        if not request.content_length and "chunked" not in request.headers.get("Transfer-Encoding", "").lower():
            raise Problem(400, "The request needs a body: the JSON Lines to import.")
        config = current_app.config
        request.max_content_length = config["IMPORT_MAX_BYTES"]
        report = bulk.import_ndjson(
            request.stream, batch_size=args.get("batch_size", bulk.BATCH_SIZE), dry_run=args["dry_run"],
            origin=f"api:{g.token.name}", max_line_bytes=config["IMPORT_MAX_LINE_BYTES"],
        )
        location = {"Location": f"/v1/imports/{report['id']}"} if report["id"] else {}
        if report["errors"]:
            raise Problem(422, _failure(report), errors=_line_errors(report), headers=location)
        return report, 200 if args["dry_run"] else 201, location


@blp.route("/<id:import_id>")
class ImportItem(MethodView):
    """One kept import report."""
    @requires("admin")
    @blp.doc(operationId="getImport")
    @blp.arguments(NoQuerySchema, location="query")
    @blp.response(200, ImportReportSchema)
    def get(self, _args, import_id):
        """Read an import's report: its state, where its batches ended, what it created, its errors.

        A history entry of a claim the import created carries the time of its batch. Needs the `admin` scope.
        """
        return bulk.get_report(import_id)


def _failure(report):
    written = [b for b in report["batches"] if b["written"]]
    kept = f" Import {report['id']} keeps the report." if report["id"] else ""
    if not written:
        return f"No batch was written.{kept}"
    return f"Batches up to line {written[-1]['last_line']} were written; the rest was not.{kept}"


def _line_errors(report):
    """The report's errors in the one field-error shape: lines.N[.field] -> reasons."""
    errors = {}
    for error in report["errors"]:
        path = f"lines.{error['line']}" + (f".{error['field']}" if error["field"] else "")
        errors.setdefault(path, []).append(error["reason"])
    return errors
