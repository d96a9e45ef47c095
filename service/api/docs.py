"""Swagger UI's files for /docs, served from the installed swagger-ui-bundle package: no CDN, no floating tag."""

from flask import Blueprint, abort, send_from_directory
from swagger_ui_bundle import swagger_ui_path

STATIC_URL = "/docs/static/"
# Only what /docs loads; the bundle's own index.html and its source maps are not needed.
FILES = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js")

blp = Blueprint("docs_static", __name__)


@blp.route(f"{STATIC_URL}<name>")
def swagger_ui_file(name):
    """One of Swagger UI's files, from the package's own copy."""
    if name not in FILES:
        abort(404)
    return send_from_directory(swagger_ui_path, name, max_age=3600)
