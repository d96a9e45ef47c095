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
from .base import Blueprint, idempotent, json_response
from .media import CLAIM_REVIEW_DOC, CSV, CSV_DOC, LD_JSON, csv_response, jsonld_response, settings, wants

blp = Blueprint("claims", __name__, url_prefix="/v1/claims", description="Claims and their status")


@blp.route("")
class Claims(MethodView):
    """The claim collection."""
    @requires("read")
    @blp.arguments(ClaimQuerySchema, location="query")
    @blp.response(200, ClaimPageSchema)
    @blp.alt_response(200, success=True, content_type=CSV, schema=CSV_DOC,
                      description="With `Accept: text/csv`: every matching claim, streamed, no paging.")
    def get(self, args):
        """List claims, newest first, by status, source, relay, subject, party, words or confidence."""
        if wants(CSV):
            return csv_response(args)
        page = queries.list_claims(args)
        with_attribution_lines(page["items"], args["lang"], args.get("as_of"))
        return json_response(page)

    @requires("write")
    @idempotent
    @blp.arguments(LangQuerySchema, location="query", unknown=RAISE)
    @blp.arguments(ClaimSchema)
    @blp.response(201, ClaimSchema)
    def post(self, query, data):
        """Create a claim, with any attributions in the same transaction."""
        claim = ledger.create_claim(data)
        view = with_attribution_line(queries.get_claim(claim.id), query["lang"])
        return view, 201, {"Location": f"/v1/claims/{claim.id}"}


@blp.route("/<id:claim_id>")
class ClaimItem(MethodView):
    """One claim."""
    @requires("read")
    @blp.etag
    @blp.arguments(ClaimReadQuerySchema, location="query")
    @blp.response(200, ClaimSchema)
    @blp.alt_response(200, success=True, content_type=LD_JSON, schema=CLAIM_REVIEW_DOC,
                      description="With `Accept: application/ld+json`: the claim as it stands now, "
                                  "as a schema.org ClaimReview.")
    def get(self, args, claim_id):
        """Read one claim with its attributions, now or at a past time."""
        if wants(LD_JSON):
            review = claim_review(claim_id, settings())
            blp.set_etag(review)
            return jsonld_response(review)
        view = queries.get_claim(claim_id, args.get("as_of"), args.get("published_before"))
        # The ETag is the representation's in every language: If-Match works whatever `lang` was read.
        blp.set_etag(view, ClaimSchema)
        return with_attribution_line(view, args["lang"], args.get("as_of"))

    @requires("write")
    @blp.etag
    @blp.arguments(LangQuerySchema, location="query", unknown=RAISE)
    @blp.arguments(ClaimPatchSchema(partial=True))
    @blp.response(200, ClaimSchema)
    def patch(self, query, changes, claim_id):
        """Change a claim's text, subjects, parties or event time (needs If-Match)."""
        ledger.update_claim(
            claim_id, changes, lambda claim: blp.check_etag(queries.get_claim(claim.id), ClaimSchema)
        )
        view = queries.get_claim(claim_id)
        blp.set_etag(view, ClaimSchema)
        return with_attribution_line(view, query["lang"])


@blp.route("/<id:claim_id>/history")
class ClaimHistory(MethodView):
    """One claim's status and confidence changes."""
    @requires("read")
    @blp.arguments(PageQuerySchema, location="query")
    @blp.response(200, HistoryPageSchema)
    def get(self, args, claim_id):
        """List a claim's status and confidence changes, oldest first."""
        return queries.list_history(claim_id, args)
