"""Claims: propositions with their derived status, filters, past-time reads and history."""

from flask.views import MethodView

from .. import ledger, queries
from ..auth import requires
from ..schemas import (
    ClaimPageSchema,
    ClaimPatchSchema,
    ClaimQuerySchema,
    ClaimSchema,
    HistoryPageSchema,
    PageQuerySchema,
    TimeQuerySchema,
)
from .base import Blueprint, idempotent

blp = Blueprint("claims", __name__, url_prefix="/v1/claims", description="Claims and their status")


@blp.route("")
class Claims(MethodView):
    """The claim collection."""
    @requires("read")
    @blp.arguments(ClaimQuerySchema, location="query")
    @blp.response(200, ClaimPageSchema)
    def get(self, args):
        """List claims, newest first, by status, source, relay, subject, party, words or confidence."""
        return queries.list_claims(args)

    @requires("write")
    @idempotent
    @blp.arguments(ClaimSchema)
    @blp.response(201, ClaimSchema)
    def post(self, data):
        """Create a claim, with any attributions in the same transaction."""
        claim = ledger.create_claim(data)
        return queries.get_claim(claim.id), 201, {"Location": f"/v1/claims/{claim.id}"}


@blp.route("/<id:claim_id>")
class ClaimItem(MethodView):
    """One claim."""
    @requires("read")
    @blp.etag
    @blp.arguments(TimeQuerySchema, location="query")
    @blp.response(200, ClaimSchema)
    def get(self, args, claim_id):
        """Read one claim with its attributions, now or at a past time."""
        return queries.get_claim(claim_id, args.get("as_of"), args.get("published_before"))

    @requires("write")
    @blp.etag
    @blp.arguments(ClaimPatchSchema(partial=True))
    @blp.response(200, ClaimSchema)
    def patch(self, changes, claim_id):
        """Change a claim's text, subjects, parties or event time (needs If-Match)."""
        ledger.update_claim(
            claim_id, changes, lambda claim: blp.check_etag(queries.get_claim(claim.id), ClaimSchema)
        )
        return queries.get_claim(claim_id)


@blp.route("/<id:claim_id>/history")
class ClaimHistory(MethodView):
    """One claim's status and confidence changes."""
    @requires("read")
    @blp.arguments(PageQuerySchema, location="query")
    @blp.response(200, HistoryPageSchema)
    def get(self, args, claim_id):
        """List a claim's status and confidence changes, oldest first."""
        return queries.list_history(claim_id, args)
