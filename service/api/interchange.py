"""Claims in the formats newsrooms and archives read: ClaimReview JSON-LD, its DataFeed, and W3C PROV."""

from flask import Response, request
from flask.views import MethodView

from .. import interchange
from ..auth import requires
from ..formats import provenance
from ..schemas import NoQuerySchema, PageQuerySchema, ProvenanceQuerySchema
from .base import Blueprint
from .media import CLAIM_REVIEW_DOC, LD_JSON, jsonld_response, settings

blp = Blueprint("interchange", __name__, url_prefix="/v1", description="ClaimReview and W3C PROV exports")

FEED_DOC = {"type": "object", "description": "schema.org DataFeed of ClaimReviews (JSON-LD), with `next_cursor`."}
PROV_DOC = {"type": "object", "description": "A W3C PROV document."}


@blp.route("/claims/<id:claim_id>/claimreview")
class ClaimReview(MethodView):
    """One claim as a schema.org ClaimReview."""
    @requires("read")
    @blp.doc(operationId="getClaimReview")
    @blp.arguments(NoQuerySchema, location="query")
    @blp.response(200, CLAIM_REVIEW_DOC, content_type=LD_JSON)
    def get(self, _args, claim_id):
        """Read a claim as schema.org ClaimReview JSON-LD, as it stands now.

        `reviewRating.alternateName` is the status and likelihood; `itemReviewed` is the claim
        with its origins as authors and its documents as appearances.
        """
        return jsonld_response(interchange.claim_review(claim_id, settings()))


@blp.route("/claimreview")
class ClaimReviewFeed(MethodView):
    """Every claim as a schema.org DataFeed."""
    @requires("read")
    @blp.doc(operationId="listClaimReviews")
    @blp.arguments(PageQuerySchema, location="query")
    @blp.response(200, FEED_DOC, content_type=LD_JSON)
    def get(self, args):
        """List ClaimReviews as a DataFeed, newest claim first, paged by `cursor`.

        Each page is a schema.org DataFeed; the next page is named in `next_cursor` and a `Link` header.
        """
        feed, next_cursor = interchange.claim_review_feed(args, settings())
        feed["next_cursor"] = next_cursor
        response = jsonld_response(feed)
        if next_cursor is not None:
            response.headers["Link"] = f'<{request.base_url}?limit={args["limit"]}&cursor={next_cursor}>; rel="next"'
        return response


@blp.route("/claims/<id:claim_id>/provenance")
class ClaimProvenance(MethodView):
    """One claim's provenance in W3C PROV."""
    @requires("read")
    @blp.doc(operationId="getClaimProvenance")
    @blp.arguments(ProvenanceQuerySchema, location="query")
    @blp.response(200, PROV_DOC, description="PROV-JSON")
    @blp.alt_response(200, success=True, content_type="text/provenance-notation", schema={"type": "string"},
                      description="PROV-N (`format=provn`)")
    @blp.alt_response(200, success=True, content_type=LD_JSON, schema=PROV_DOC,
                      description="PROV-JSON-LD (`format=prov-jsonld`)")
    @blp.alt_response(200, success=True, content_type="text/turtle", schema={"type": "string"},
                      description="PROV-O in Turtle (`format=turtle`)")
    def get(self, args, claim_id):
        """Read a claim's provenance: sources, statements, relays, retractions and every assessment.

        PROV-JSON by default; `format=` or `Accept` chooses PROV-N, PROV-JSON-LD or Turtle.
        """
        name = args.get("format") or _negotiated_format()
        document = interchange.claim_provenance(claim_id, settings())
        media_type = provenance.FORMATS[name][0]
        return Response(provenance.serialize(document, name), mimetype=media_type, headers={"Vary": "Accept"})


def _negotiated_format():
    """The PROV format the Accept header prefers; PROV-JSON when it names none of them."""
    best = request.accept_mimetypes.best_match(["application/json", *provenance.MEDIA_TYPES])
    return provenance.MEDIA_TYPES.get(best, "prov-json")
