"""Attributions: who takes which stance on a claim, and their retraction."""

from flask.views import MethodView

from .. import ledger, queries, reads
from ..auth import requires
from ..claim_lines import read_attribution
from ..interchange import with_attribution_line
from ..schemas import (
    AttributionPageSchema,
    AttributionResultSchema,
    AttributionSchema,
    PageQuerySchema,
    RetractionSchema,
)
from ..timeline import stored_shape
from . import examples
from .base import Blueprint, idempotent, json_response

blp = Blueprint("attributions", __name__, url_prefix="/v1", description="Attributions of claims to sources")


@blp.route("/claims/<id:claim_id>/attributions")
class ClaimAttributions(MethodView):
    """A claim's attributions."""
    @requires("read")
    @blp.doc(operationId="listAttributions")
    @blp.arguments(PageQuerySchema, location="query")
    @blp.response(200, AttributionPageSchema)
    def get(self, args, claim_id):
        """List a claim's attributions, newest first, retracted ones marked.

        Retracted attributions stay in the list with `retracted_at` and `retraction_reason` set.
        """
        return queries.list_attributions(claim_id, args)

    @requires("write")
    @idempotent
    @blp.doc(operationId="createAttribution")
    @blp.arguments(AttributionSchema, example=examples.ATTRIBUTION, plain=read_attribution)
    @blp.response(201, AttributionResultSchema)
    def post(self, data, claim_id):
        """Attribute the claim to a source; answers with the claim's new status.

        `source` is the origin; sources in `via` only relayed the statement. A `quote` must
        appear in the cited document's text when it has one. Needs the `write` scope.
        """
        attribution, claim = ledger.add_attribution(claim_id, data)
        view = reads.attribution_view_of(attribution.stored, data.get("via"))
        return _result(view, claim_id, claim.fields, 201, claim.source_names)


@blp.route("/attributions/<id:attribution_id>/retraction")
class AttributionRetraction(MethodView):
    """Withdrawing one attribution."""
    @requires("write")
    @idempotent
    @blp.doc(operationId="retractAttribution")
    @blp.arguments(RetractionSchema, example=examples.ATTRIBUTION_RETRACTION)
    @blp.response(200, AttributionResultSchema)
    def post(self, data, attribution_id):
        """Retract an attribution; answers with the claim's new status.

        The attribution is kept, marked retracted, and no longer counts from now on; past-time
        reads still see it. Retracting it twice is 409. Needs the `write` scope.
        """
        attribution, claim = ledger.retract_attribution(attribution_id, data["reason"])
        return _result(reads.attribution_view(attribution.id), claim.id, stored_shape(claim), 200)


def _result(view, claim_id, derived, status, source_names=None):
    """The attribution's view with its claim's derived fields after the write (ClaimStatusSchema: no origins);
    `source_names` spares the line a query when the write read them."""
    derived = with_attribution_line({"id": claim_id, **derived}, source_names=source_names)
    del derived["origins"]
    return json_response({**view, "claim": derived}, status)
