"""Error pages of the web blueprint: HTML for people, where the API answers problem+json."""

from flask import render_template
from werkzeug.exceptions import HTTPException

from ..errors import NotFound
from . import blp

TITLES = {400: "Bad request", 401: "Sign in needed", 403: "Not allowed", 404: "Not found",
          405: "Not allowed here", 413: "Too large", 429: "Slow down"}


def error_page(status, detail):
    """An error page with a sentence that says what to do."""
    title = TITLES.get(status, "Something went wrong")
    return render_template("web/error.html", status=status, title=title, detail=detail), status


@blp.errorhandler(NotFound)
def not_found(error):
    """A claim, source or document that does not exist (at the time asked)."""
    return error_page(404, error.detail)


@blp.errorhandler(HTTPException)
def http_error(error):
    """Werkzeug's errors (abort(400/401/403), a body too large), as pages."""
    if error.code >= 500:
        return error_page(error.code, "The server could not complete the request.")
    return error_page(error.code, error.description)
