"""Attributions: who takes which stance on a claim, and their retraction."""

from flask.views import MethodView

from .. import ledger, queries
from ..auth import requires
from ..models import Attribution
from ..schemas import (
    AttributionPageSchema,
    AttributionResultSchema,
    AttributionSchema,
    PageQuerySchema,
    RetractionSchema,
)
from .base import Blueprint, idempotent

blp = Blueprint("attributions", __name__, url_prefix="/v1", description="Attributions of claims to sources")


@blp.route("/claims/<id:claim_id>/attributions")
class ClaimAttributions(MethodView):
    """A claim's attributions."""
    @requires("read")
    @blp.arguments(PageQuerySchema, location="query")
    @blp.response(200, AttributionPageSchema)
    def get(self, args, claim_id):
        """List a claim's attributions, newest first, retracted ones marked."""
        return queries.list_attributions(claim_id, args)

    @requires("write")
    @idempotent
    @blp.arguments(AttributionSchema)
    @blp.response(201, AttributionResultSchema)
    def post(self, data, claim_id):
        """Attribute the claim to a source; answers with the claim's new status."""
        attribution, claim = ledger.add_attribution(claim_id, data)
        return _result(attribution, claim), 201


@blp.route("/attributions/<id:attribution_id>/retraction")
class AttributionRetraction(MethodView):
    """Withdrawing one attribution."""
    @requires("write")
    @idempotent
    @blp.arguments(RetractionSchema)
    @blp.response(200, AttributionResultSchema)
    def post(self, data, attribution_id):
        """Retract an attribution; answers with the claim's new status."""
        attribution, claim = ledger.retract_attribution(attribution_id, data["reason"])
        return _result(attribution, claim)


def _result(attribution, claim):
    """The attribution with its claim's derived fields after the write."""
    [view] = queries.attribution_views(Attribution.select().where(Attribution.id == attribution.id))
    return {**view, "claim": {"id": claim.id, **queries.stored_derivation(claim)}}
