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
from . import examples
from .base import Blueprint, idempotent

blp = Blueprint("claims", __name__, url_prefix="/v1/claims", description="Claims and their status")


@blp.route("")
class Claims(MethodView):
    """The claim collection."""
    @requires("read")
    @blp.doc(operationId="listClaims")
    @blp.arguments(ClaimQuerySchema, location="query")
    @blp.response(200, ClaimPageSchema)
    def get(self, args):
        """List claims, newest first, by status, source, relay, subject, party, words or confidence.

        Filters combine with AND; `status` may repeat. With `as_of` or `published_before` the
        filters apply to each claim as it stood then. Claims come without their attributions.
        """
        return queries.list_claims(args)

    @requires("write")
    @idempotent
    @blp.doc(operationId="createClaim")
    @blp.arguments(ClaimSchema, example=examples.CLAIM)
    @blp.response(201, ClaimSchema)
    def post(self, data):
        """Create a claim, with any attributions in the same transaction.

        The answer holds the derived status, confidence and explanation, and the claim's first
        history entry is written. Parties must be known origin groups. Needs the `write` scope.
        """
        claim = ledger.create_claim(data)
        return queries.get_claim(claim.id), 201, {"Location": f"/v1/claims/{claim.id}"}


@blp.route("/<id:claim_id>")
class ClaimItem(MethodView):
    """One claim."""
    @requires("read")
    @blp.doc(operationId="getClaim")
    @blp.etag
    @blp.arguments(TimeQuerySchema, location="query")
    @blp.response(200, ClaimSchema)
    def get(self, args, claim_id):
        """Read one claim with its attributions, now or at a past time.

        `as_of` answers as the service would have at that time (a claim created later is 404);
        `published_before` counts only statements published by then. The `ETag` is what `PATCH`
        needs in `If-Match`.
        """
        return queries.get_claim(claim_id, args.get("as_of"), args.get("published_before"))

    @requires("write")
    @blp.doc(operationId="updateClaim")
    @blp.etag
    @blp.arguments(ClaimPatchSchema(partial=True), example=examples.CLAIM_CHANGE)
    @blp.response(200, ClaimSchema)
    def patch(self, changes, claim_id):
        """Change a claim's text, subjects, parties or event time (needs If-Match).

        A change of parties re-derives the status and may add a history entry. Without
        `If-Match` the answer is 428; with a stale one, 412. Needs the `write` scope.
        """
        ledger.update_claim(
            claim_id, changes, lambda claim: blp.check_etag(queries.get_claim(claim.id), ClaimSchema)
        )
        return queries.get_claim(claim_id)


@blp.route("/<id:claim_id>/history")
class ClaimHistory(MethodView):
    """One claim's status and confidence changes."""
    @requires("read")
    @blp.doc(operationId="listClaimHistory")
    @blp.arguments(PageQuerySchema, location="query")
    @blp.response(200, HistoryPageSchema)
    def get(self, args, claim_id):
        """List a claim's status and confidence changes, oldest first.

        Each entry has its time, the new status and confidence, and its cause: the creation,
        attribution, retraction, document retraction, source change or claim change concerned.
        """
        return queries.list_history(claim_id, args)
