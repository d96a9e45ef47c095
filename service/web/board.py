"""The board's parts: its links, counts, filter form and rows, each made once while it can be kept.

The board is the page most opened and most repeated: a newsroom keeps it open and pages through
it. Each part here is a function of a few inputs (the query string, the counts, a claim's row
fields and its sources' names) and is kept per worker by exactly those, so a repeated board
makes only what changed; issue 10 bounds the board at twice the JSON list's cost.
"""

from dataclasses import dataclass

from flask import current_app, render_template, request, url_for
from markupsafe import Markup, escape

from .. import reads
from ..query_cache import Kept
from ..rules import STANCES, STATUSES
from .badges import badge
from .links import link_maker, link_parts

FILTERS = ("status", "source", "relayed_by", "subject", "party", "q", "min_confidence", "as_of", "published_before")
STANCE_TEXT = {stance: f" ({escape(stance)})" for stance in STANCES}
FILTER_FORMS = Kept()
BOARD_LINKS = Kept()
COUNTS_SECTIONS = Kept()
ROW_CONTEXTS, ROWS = Kept(64), Kept(4096)


def filter_link(args, **changes):
    """The board's URL with these filters changed (None drops one); the cursor always resets."""
    kept = {k: v for k, v in args.lists() if k in FILTERS + ("limit",) and k not in changes}
    kept.update({k: v for k, v in changes.items() if v is not None})
    return url_for("web.board", **kept)


def status_links(args):
    """status -> the board's URL with only that status, other filters kept, from one url_for rather than one
    per status: filter_link puts a changed filter last, and a status needs no quoting."""
    url = filter_link(args, status=["-"])
    if not url.endswith("status=-"):
        return {status: filter_link(args, status=[status]) for status in STATUSES}
    head = url.removesuffix("-")
    return {status: head + status for status in STATUSES}


@dataclass(frozen=True)
class BoardLinks:
    """The links a board makes from its query string: by status, to the first page, and to the next page's."""

    status: dict
    first: str
    next_head: str | None  # the next page's link is next_head + its cursor, when not None

    def next(self, args, cursor):
        """The link to the page from `cursor` on, filters kept (a cursor needs no quoting: URL-safe base64)."""
        return self.next_head + cursor if self.next_head is not None else filter_link(args, cursor=cursor)


def board_links(args):
    """The board's links for the request's query string, made once per query string while kept: three url_for
    calls were a twentieth of the board."""
    def make():
        url = filter_link(args, cursor="-")
        return BoardLinks(status_links(args), filter_link(args),
                          url.removesuffix("-") if url.endswith("cursor=-") else None)

    return BOARD_LINKS.get((request.script_root, request.query_string), make)


def counts_section(counts, links):
    """The board's counts by status (web/counts.html): a function of the counts, the status links and as_of,
    so made once per these while kept (its loops and badges were a tenth of the board); every page of a board
    shares it."""
    def make():
        return Markup(current_app.jinja_env.get_template("web/counts.html").render(
            counts=counts, links=links, form=request.args, statuses=STATUSES))

    key = (request.args.get("as_of"), *links.status.values(), counts["total"], *counts["by_status"].values())
    return COUNTS_SECTIONS.get(key, make)


def filter_form(outcome):
    """The board's filter form, filled from the query string: with nothing refused, a function of the query
    string alone, so made once per query string while kept (it was a sixth of the board's time)."""
    def make():
        return Markup(render_template("web/filters.html", outcome=outcome, form=request.args, statuses=STATUSES))

    if outcome:
        return make()
    return FILTER_FORMS.get((request.script_root, request.query_string), make)


def board_rows(views, args):
    """The board's claim rows as one piece of HTML: each row's badge, confidence, link at the board's times,
    and origins.

    Made here rather than in the template, with links from one url_for per kind of page and the origins'
    names in one query: url_for per link, Jinja's loops and a macro per badge made the board render in
    several times the JSON list's time (issue 10 bounds it at twice). Each part is escaped as it goes in,
    and the page of rows is marked safe once rather than row by row.
    """
    # A claim's link is its id between two escaped parts: an id needs no escaping.
    head, tail = map(escape, link_parts("web.claim", "claim_id", as_of=args.get("as_of") or None,
                                        published_before=args.get("published_before") or None))
    source_link = link_maker("web.source", "source_id")
    ids = {s for v in views for o in v["origins"] for s in o["sources"]}
    names = reads.source_names(ids)
    anchors = {s: f'<a href="{escape(source_link(s))}">{escape(names.get(s, s))}</a>' for s in ids}
    # Rows are kept by everything they show: the page's context (the claim links' times, the origin sources' names
    # and links) and the claim's id, status, likelihood, confidence, text and stored origins. A board shows the
    # same claims page after page, and making each row again was a quarter of the board.
    context = ROW_CONTEXTS.get((head, tail, *sorted(anchors.items())), object)
    origins_made, rows = {}, []  # a row not kept makes its origins once per page: claims share few
    for view in views:
        origins = view["origins"]
        stored = getattr(origins, "stored", None)  # None: origins re-derived at both times, made on the spot
        key = (context, view["id"], view["status"], view["likelihood"], view["confidence"], view["text"], stored)
        row = ROWS.lookup(key)
        if row is None:
            made = origins_made.get(id(origins))
            if made is None:
                made = origins_made[id(origins)] = origins_html(origins, anchors)
            row = board_row(view, f"{head}{view['id']}{tail}", made)
            if stored is not None:
                ROWS.keep(key, row)
        rows.append(row)
    return Markup("".join(rows))


def board_row(view, link, origins):
    """One claim's row of the board (an <li>, with the whitespace the template around it expects) from its
    escaped link and origins."""
    confidence = "—" if view["confidence"] is None else f"{view['confidence']:.2f}"
    return (
        f'\n    <li class="claim-row" data-claim="{view["id"]}">\n'
        f'      <div class="claim-head">{badge(view["status"], view["likelihood"])}\n'
        f'        <span class="confidence">confidence {confidence}</span></div>\n'
        f'      <a class="claim-text" href="{link}">#{view["id"]} {escape(view["text"])}</a>\n'
        f'      <p class="origins">Origins:\n        {origins}\n      </p>\n    </li>\n  '
    )


def origins_html(origins, anchors):
    """A row's origins as "<a>Name</a>, <a>Name</a> (stance); …", or "none", from each source's escaped link
    (made once per page: a page repeats few sources)."""
    return "; ".join([
        ", ".join([anchors[s] for s in origin["sources"]]) + STANCE_TEXT[origin["stance"]] for origin in origins
    ]) or "none"
