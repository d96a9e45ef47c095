"""Documents: publications in which statements appear, and their retraction."""

from flask.views import MethodView

from .. import ledger, queries
from ..auth import requires
from ..schemas import DocumentSchema, NoQuerySchema, RetractionSchema
from .base import Blueprint, idempotent

blp = Blueprint("documents", __name__, url_prefix="/v1/documents", description="Documents")


@blp.route("")
class Documents(MethodView):
    """The document collection."""
    @requires("write")
    @idempotent
    @blp.arguments(DocumentSchema)
    @blp.response(201, DocumentSchema)
    def post(self, data):
        """Record a document."""
        document = ledger.create_document(data)
        return document, 201, {"Location": f"/v1/documents/{document.id}"}


@blp.route("/<id:document_id>")
class DocumentItem(MethodView):
    """One document."""
    @requires("read")
    @blp.arguments(NoQuerySchema, location="query")
    @blp.response(200, DocumentSchema)
    def get(self, _args, document_id):
        """Read one document."""
        return queries.get_document(document_id)


@blp.route("/<id:document_id>/retraction")
class DocumentRetraction(MethodView):
    """Retracting a document."""
    @requires("write")
    @idempotent
    @blp.arguments(RetractionSchema)
    @blp.response(200, DocumentSchema)
    def post(self, data, document_id):
        """Retract a document and every attribution in it."""
        return ledger.retract_document(document_id, data["reason"])
