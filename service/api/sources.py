"""Sources: who makes statements, how reliable, and which origin group they belong to."""

from flask.views import MethodView

from .. import ledger, queries
from ..auth import requires
from ..schemas import NoQuerySchema, PageQuerySchema, SourcePageSchema, SourcePatchSchema, SourceSchema
from .base import Blueprint, idempotent

blp = Blueprint("sources", __name__, url_prefix="/v1/sources", description="Sources of statements")


@blp.route("")
class Sources(MethodView):
    """The source collection."""
    @requires("read")
    @blp.arguments(PageQuerySchema, location="query")
    @blp.response(200, SourcePageSchema)
    def get(self, args):
        """List sources, newest first."""
        return queries.list_sources(args)

    @requires("admin")
    @idempotent
    @blp.arguments(SourceSchema)
    @blp.response(201, SourceSchema)
    def post(self, data):
        """Register a source."""
        source = ledger.create_source(data)
        return source, 201, {"Location": f"/v1/sources/{source.id}"}


@blp.route("/<slug:source_id>")
class SourceItem(MethodView):
    """One source."""
    @requires("read")
    @blp.etag
    @blp.arguments(NoQuerySchema, location="query")
    @blp.response(200, SourceSchema)
    def get(self, _args, source_id):
        """Read one source."""
        return queries.get_source(source_id)

    @requires("admin")
    @blp.etag
    @blp.arguments(SourcePatchSchema(partial=True))
    @blp.response(200, SourceSchema)
    def patch(self, changes, source_id):
        """Change a source; a new reliability or affiliation re-derives its claims."""
        return ledger.update_source(source_id, changes, lambda source: blp.check_etag(source, SourceSchema))

