"""The summary: how many claims stand at each status, overall and per origin source."""

from flask.views import MethodView

from .. import queries
from ..auth import requires
from ..schemas import SummarySchema, TimeQuerySchema
from .base import Blueprint, json_response

blp = Blueprint("summary", __name__, url_prefix="/v1/summary", description="Counts by status")


@blp.route("")
class Summary(MethodView):
    """Counts of claims by status."""
    @requires("read")
    @blp.doc(operationId="getSummary")
    @blp.arguments(TimeQuerySchema, location="query")
    @blp.response(200, SummarySchema)
    def get(self, args):
        """Count claims by status, overall and per origin source, now or at a past time.

        Every status is present, 0 included; a claim counts under each of its origin sources.
        """
        return json_response(queries.summary(args.get("as_of"), args.get("published_before")))
