"""Liveness and readiness: the database answers, which kind it is, and which SQLite library or server version."""

from flask.views import MethodView

from ..db import db, is_postgresql, sqlite_library_version
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
        """Report database reachability, its kind, and the SQLite library or PostgreSQL server version.

        Needs no token. When the database cannot be reached the answer is a 503 problem.
        """
        try:
            db.execute_sql("SELECT 1")
        except Exception as error:  # any failure to reach the database means 'not ready'
            raise Problem(503, f"The database is unreachable ({type(error).__name__}).") from None
        if is_postgresql():
            return {"status": "ok", "database": "ok", "engine": "postgresql",
                    "server_version": db.execute_sql("SHOW server_version").fetchone()[0]}
        return {"status": "ok", "database": "ok", "engine": "sqlite", "sqlite_version": sqlite_library_version()}
