"""The status badge on every page: a glyph and a word as well as a colour, so status never rests on colour alone."""

import functools

from markupsafe import Markup

from . import blp

GLYPHS = {"confirmed": "●", "reported": "◐", "disputed": "◆", "denied": "✖", "unconfirmed": "○"}


@functools.lru_cache(maxsize=256)
def badge(status, likelihood=None, large=False):
    """The badge's HTML, made once per status and likelihood: a board shows fifty, and a template macro
    made each one again."""
    return Markup(
        '<span class="badge s-{status}{large}"><span aria-hidden="true">{glyph}</span> {status}{likelihood}</span>'
    ).format(status=status, large=Markup(" large") if large else "", glyph=GLYPHS.get(status, "?"),
             likelihood=Markup('<span class="likelihood"> · {}</span>').format(likelihood) if likelihood else "")


blp.add_app_template_global(badge)
