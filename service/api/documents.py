"""Documents: publications in which statements appear, and their retraction."""

from flask.views import MethodView

from .. import ledger, queries
from ..auth import requires
from ..schemas import DocumentSchema, NoQuerySchema, RetractionSchema
from . import examples
from .base import Blueprint, idempotent

blp = Blueprint("documents", __name__, url_prefix="/v1/documents", description="Documents")


@blp.route("")
class Documents(MethodView):
    """The document collection."""
    @requires("write")
    @idempotent
    @blp.doc(operationId="createDocument")
    @blp.arguments(DocumentSchema, example=examples.DOCUMENT)
    @blp.response(201, DocumentSchema)
    def post(self, data):
        """Record a document.

        Attributions may then cite it by id; its `published_at` stands in for theirs when they
        have none. Needs the `write` scope.
        """
        document = ledger.create_document(data)
        return document, 201, {"Location": f"/v1/documents/{document.id}"}


@blp.route("/<id:document_id>")
class DocumentItem(MethodView):
    """One document."""
    @requires("read")
    @blp.doc(operationId="getDocument")
    @blp.arguments(NoQuerySchema, location="query")
    @blp.response(200, DocumentSchema)
    def get(self, _args, document_id):
        """Read one document.

        A retracted document shows `retracted_at` and `retraction_reason`.
        """
        return queries.get_document(document_id)


@blp.route("/<id:document_id>/retraction")
class DocumentRetraction(MethodView):
    """Retracting a document."""
    @requires("write")
    @idempotent
    @blp.doc(operationId="retractDocument")
    @blp.arguments(RetractionSchema, example=examples.DOCUMENT_RETRACTION)
    @blp.response(200, DocumentSchema)
    def post(self, data, document_id):
        """Retract a document and every attribution in it.

        Every claim that cited it is re-derived, with history. Retracting it twice is 409, and a
        retracted document cannot be cited again. Needs the `write` scope.
        """
        return ledger.retract_document(document_id, data["reason"])
