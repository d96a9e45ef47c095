"""The page header every page repeats (navigation, who is signed in): for a visitor not signed in, the same on
every page, so made once per worker; Jinja's calls for its nine links and checks were a tenth of a board."""

from flask import current_app
from markupsafe import Markup

from . import blp
from .links import per_worker
from .session import signed_in


def page_header():
    """The header's HTML (web/header.html): kept per worker for a visitor not signed in, made at each page for
    one signed in (it shows their name, scope and CSRF token)."""
    if signed_in() is None:
        return per_worker(("page_header",), _header)
    return _header()


def _header():
    return Markup(current_app.jinja_env.get_template("web/header.html").render())


blp.add_app_template_global(page_header)
