"""Liveness and readiness: the database answers, and which SQLite library is in use."""

from flask.views import MethodView

from ..db import db, sqlite_library_version
from ..problems import Problem
from ..schemas import HealthSchema
from .base import Blueprint

blp = Blueprint("health", __name__, description="Service health")


@blp.route("/healthz")
class Health(MethodView):
    """Whether the service can answer."""
    @blp.doc(operationId="getHealth")
    @blp.response(200, HealthSchema)
    def get(self):
        """Report database reachability and the SQLite library version.

        Needs no token. When the database cannot be reached the answer is a 503 problem.
        """
        try:
            db.execute_sql("SELECT 1")
        except Exception as error:  # any failure to reach the database means 'not ready'
            raise Problem(503, f"The database is unreachable ({type(error).__name__}).") from None
        return {"status": "ok", "database": "ok", "sqlite_version": sqlite_library_version()}
