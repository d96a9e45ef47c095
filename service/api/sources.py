"""Sources: who makes statements, how reliable, and which origin group they belong to."""

from datetime import timedelta

from flask import current_app
from flask.views import MethodView

from .. import jobs, queries, source_writes
from ..auth import requires
from ..schemas import JobSchema, NoQuerySchema, PageQuerySchema, SourcePageSchema, SourcePatchSchema, SourceSchema
from . import examples
from .base import Blueprint, idempotent
from .jobs import job_accepted

blp = Blueprint("sources", __name__, url_prefix="/v1/sources", description="Sources of statements")


@blp.route("")
class Sources(MethodView):
    """The source collection."""
    @requires("read")
    @blp.doc(operationId="listSources")
    @blp.arguments(PageQuerySchema, location="query")
    @blp.response(200, SourcePageSchema)
    def get(self, args):
        """List sources, newest first.

        Pass `next_cursor` back as `cursor` for the next page.
        """
        return queries.list_sources(args)

    @requires("admin")
    @idempotent
    @blp.doc(operationId="createSource")
    @blp.arguments(SourceSchema, example=examples.SOURCE)
    @blp.response(201, SourceSchema)
    def post(self, data):
        """Register a source.

        Sources sharing an `affiliation` form one origin group: they are not independent of each
        other. Grades A to C count as credible. An existing id is 409. Needs the `admin` scope.
        """
        source = source_writes.create_source(data)
        return source, 201, {"Location": f"/v1/sources/{source.id}"}


@blp.route("/<slug:source_id>")
class SourceItem(MethodView):
    """One source."""
    @requires("read")
    @blp.doc(operationId="getSource")
    @blp.etag
    @blp.arguments(NoQuerySchema, location="query")
    @blp.response(200, SourceSchema)
    def get(self, _args, source_id):
        """Read one source.

        The `ETag` is what `PATCH` needs in `If-Match`.
        """
        return queries.get_source(source_id)

    @requires("admin")
    @blp.doc(operationId="updateSource")
    @blp.etag
    @blp.arguments(SourcePatchSchema(partial=True), example=examples.SOURCE_CHANGE)
    @blp.response(200, SourceSchema)
    @blp.alt_response(202, schema=JobSchema, description="The change re-derives many claims: a job applies it.")
    def patch(self, changes, source_id):
        """Change a source; a new reliability or affiliation re-derives its claims (by a job when they are many).

        Every affected claim gets a history entry; past-time reads keep the old grade. When many
        claims are affected the answer is 202 with a job that applies the change whole. Without
        `If-Match` the answer is 428; with a stale one, 412. Needs the `admin` scope.
        """
        source, job = source_writes.request_source_change(
            source_id, changes, lambda source: blp.check_etag(source, SourceSchema),
            inline_limit=current_app.config["REGRADE_INLINE_LIMIT"],
            lease=timedelta(seconds=current_app.config["JOB_LEASE_SECONDS"]),
        )
        if job is None:
            return source
        jobs.start(job, current_app.config)
        return job_accepted(job)

