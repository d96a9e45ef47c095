"""The newsroom web pages: a server-rendered blueprint over the same queries and ledger as the API."""

import secrets

from flask import Blueprint

blp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/web-static")

# Every page: no inline script, no framing, no third-party origin; forms post only here.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@blp.after_request
def add_security_headers(response):
    """after_request: the web pages' safety headers; pages that may show a session are never cached."""
    response.headers.update(SECURITY_HEADERS)
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"
    return response


def register_web(app):
    """Session cookie settings, then the web blueprint with its pages, forms and error pages."""
    app.config.update(
        SECRET_KEY=app.config["SECRET_KEY"] or secrets.token_hex(32),
        SESSION_COOKIE_NAME="reportedly_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
    )
    app.session_interface = session.CookieSessions()
    app.register_blueprint(blp)
    return blp


# The pages, forms, session hooks and error pages attach themselves to blp when imported.
from . import badges, chrome, errors, links, reads, session, widgets, writes  # noqa: E402, F401, I001
