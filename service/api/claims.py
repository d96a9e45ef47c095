"""Claims: propositions with their derived status, filters, past-time reads and history; CSV and ClaimReview too."""

from flask.views import MethodView
from marshmallow import RAISE

from .. import ledger, queries
from ..auth import requires
from ..interchange import claim_review, with_attribution_line, with_attribution_lines
from ..schemas import (
    ClaimPageSchema,
    ClaimPatchSchema,
    ClaimQuerySchema,
    ClaimReadQuerySchema,
    ClaimSchema,
    HistoryPageSchema,
    LangQuerySchema,
    PageQuerySchema,
)
from . import examples
from .base import Blueprint, idempotent, json_response
from .media import CLAIM_REVIEW_DOC, CSV, CSV_DOC, LD_JSON, csv_response, jsonld_response, settings, wants

blp = Blueprint("claims", __name__, url_prefix="/v1/claims", description="Claims and their status")


@blp.route("")
class Claims(MethodView):
    """The claim collection."""
    @requires("read")
    @blp.doc(operationId="listClaims")
    @blp.arguments(ClaimQuerySchema, location="query")
    @blp.response(200, ClaimPageSchema)
    @blp.alt_response(200, success=True, content_type=CSV, schema=CSV_DOC,
                      description="With `Accept: text/csv`: every matching claim, streamed, no paging.")
    def get(self, args):
        """List claims, newest first, by status, source, relay, subject, party, words or confidence.

        Filters combine with AND; `status` may repeat. With `as_of` or `published_before` the
        filters apply to each claim as it stood then. Claims come without their attributions. A page
        may hold fewer items than `limit` (even none) with a `next_cursor` when the scan budget ran
        out first: follow the cursor until it is null. With `Accept: text/csv`, every match, streamed.
        """
        if wants(CSV):
            return csv_response(args)
        page = queries.list_claims(args, stored_json=True)
        with_attribution_lines(page["items"], args["lang"], args.get("as_of"), args.get("published_before"))
        return json_response(page)

    @requires("write")
    @idempotent
    @blp.doc(operationId="createClaim")
    @blp.arguments(LangQuerySchema, location="query", unknown=RAISE)
    @blp.arguments(ClaimSchema, example=examples.CLAIM)
    @blp.response(201, ClaimSchema)
    def post(self, query, data):
        """Create a claim, with any attributions in the same transaction.

        The answer holds the derived status, confidence and explanation, and the claim's first
        history entry is written. Parties must be known origin groups. Needs the `write` scope.
        """
        claim = ledger.create_claim(data)
        names = {}
        view = with_attribution_line(queries.get_claim(claim.id, names=names), query["lang"], source_names=names)
        return view, 201, {"Location": f"/v1/claims/{claim.id}"}


@blp.route("/<id:claim_id>")
class ClaimItem(MethodView):
    """One claim."""
    @requires("read")
    @blp.doc(operationId="getClaim")
    @blp.etag
    @blp.arguments(ClaimReadQuerySchema, location="query")
    @blp.response(200, ClaimSchema)
    @blp.alt_response(200, success=True, content_type=LD_JSON, schema=CLAIM_REVIEW_DOC,
                      description="With `Accept: application/ld+json`: the claim as it stands now, "
                                  "as a schema.org ClaimReview.")
    def get(self, args, claim_id):
        """Read one claim with its attributions, now or at a past time.

        `as_of` answers as the service would have at that time (a claim created later is 404);
        `published_before` counts only statements published by then. The `ETag` is what `PATCH`
        needs in `If-Match`. With `Accept: application/ld+json`, a schema.org ClaimReview.
        """
        if wants(LD_JSON):
            review = claim_review(claim_id, settings())
            blp.set_etag(review)
            return jsonld_response(review)
        names = {}
        view = queries.get_claim(claim_id, args.get("as_of"), args.get("published_before"), names)
        # The ETag is the representation's in every language: If-Match works whatever `lang` was read.
        blp.set_etag(view)
        return json_response(with_attribution_line(view, args["lang"], args.get("as_of"), args.get("published_before"),
                                                   source_names=names))

    @requires("write")
    @blp.doc(operationId="updateClaim")
    @blp.etag
    @blp.arguments(LangQuerySchema, location="query", unknown=RAISE)
    @blp.arguments(ClaimPatchSchema(partial=True), example=examples.CLAIM_CHANGE)
    @blp.response(200, ClaimSchema)
    def patch(self, query, changes, claim_id):
        """Change a claim's text, subjects, parties or event time (needs If-Match).

        A change of parties re-derives the status and may add a history entry. Without
        `If-Match` the answer is 428; with a stale one, 412. Needs the `write` scope.
        """
        ledger.update_claim(
            claim_id, changes, lambda claim: blp.check_etag(queries.get_claim(claim.id))
        )
        names = {}
        view = queries.get_claim(claim_id, names=names)
        blp.set_etag(view)
        return with_attribution_line(view, query["lang"], source_names=names)


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
