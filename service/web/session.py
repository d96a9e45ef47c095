"""Who is signed in to the web pages, and the CSRF token every form carries.

The session cookie (Flask's, signed with SECRET_KEY, HttpOnly, SameSite=Strict) holds
the token's key id, never the token: a stolen cookie cannot be replayed against the
API, and revoking the token ends the session at its next request.
"""

import functools
import hmac
import secrets

from flask import abort, current_app, g, request, session
from flask.sessions import SecureCookieSessionInterface

from ..auth import allows, find_token, live_token
from . import blp

# Pages anyone may open even when reads need a token (REPORTEDLY_PUBLIC_READS=false).
OPEN_ENDPOINTS = {"web.login", "web.static"}


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, costing an API call (no cookie, session untouched) next to nothing."""

    def get_signing_serializer(self, app):
        signer = app.extensions.get("reportedly.session_signer")
        if signer is None:
            signer = app.extensions["reportedly.session_signer"] = super().get_signing_serializer(app)
        return signer

    def open_session(self, app, request):
        """A request without cookies (every API call) starts an empty session without parsing any."""
        if not request.environ.get("HTTP_COOKIE") and self.get_signing_serializer(app) is not None:
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        """Nothing to do for a session nobody read, changed or filled (every API call)."""
        if session or session.modified or session.accessed:
            super().save_session(app, session, response)


def csrf_token():
    """This session's CSRF token, made on first use."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf():
    """before_request: every POST carries the session's CSRF token, or it is refused (400)."""
    if request.method != "POST":
        return
    sent = request.form.get("csrf_token", "")
    if not sent or "csrf" not in session or not hmac.compare_digest(sent, session["csrf"]):
        abort(400, "The form has no valid CSRF token; reload the page and try again.")


def load_signed_in():
    """before_request: g.web_token is the live token this session acts as, or None."""
    g.web_token = live_token(session.get("key_id"))
    if g.web_token is None:
        session.pop("key_id", None)
    if (not current_app.config["PUBLIC_READS"] and g.web_token is None
            and request.endpoint not in OPEN_ENDPOINTS):
        abort(401, "Sign in with a token to read the ledger.")


def sign_in(presented):
    """Start a session for a presented token; False if it is unknown or revoked."""
    token = find_token(presented.strip())
    if token is None:
        return False
    session.clear()  # a fresh session (and CSRF token) at every sign-in
    session["key_id"] = token.key_id
    return True


def sign_out():
    """End the session."""
    session.clear()


def signed_in():
    """The token this session acts as, or None."""
    return g.get("web_token")


def may(scope):
    """Whether the signed-in token holds `scope` (templates use it to show or hide forms)."""
    return allows(g.get("web_token"), scope)


def requires(scope):
    """Decorate a write view: sign-in needed (401), and the scope the API would need (403)."""
    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if g.get("web_token") is None:
                abort(401, "Sign in with a token first.")
            if not may(scope):
                abort(403, f"This needs the {scope!r} scope; your token has {g.web_token.scope!r}.")
            return view(*args, **kwargs)
        return wrapper
    return decorator


blp.before_request(load_signed_in)
blp.before_request(check_csrf)
for helper in (csrf_token, may, signed_in):  # globals, so imported macros see them without "with context"
    blp.add_app_template_global(helper)
