"""The pages that read: board, claim, sources, source, document; all through service.queries."""

from dataclasses import dataclass

from flask import current_app, render_template, request, url_for
from markupsafe import Markup, escape
from marshmallow import ValidationError

from .. import queries, reads
from ..errors import Invalid, NotFound
from ..query_cache import Kept, QueryCache
from ..rules import BASES, RELIABILITY_GRADES, STANCES, STATUSES
from ..schemas import ClaimQuerySchema, PageQuerySchema, TimeQuerySchema
from . import blp
from .badges import badge
from .forms import REFUSALS, Outcome, query_args, refusal, version_of
from .graph import provenance_svg
from .links import link_maker, link_parts
from .marks import marked_passages

FILTERS = ("status", "source", "relayed_by", "subject", "party", "q", "min_confidence", "as_of", "published_before")
EMPTY_PAGE = {"items": [], "next_cursor": None}
STANCE_TEXT = {stance: f" ({escape(stance)})" for stance in STANCES}
# The API's query schemas, made once: making one copies every field, a tenth of a small page's time.
CLAIM_QUERY, TIME_QUERY, PAGE_QUERY = ClaimQuerySchema(), TimeQuerySchema(), PageQuerySchema()
QUERIES = QueryCache()
FILTER_FORMS = Kept()
BOARD_LINKS = Kept()
COUNTS_SECTIONS = Kept()
ROW_CONTEXTS, ROWS = Kept(64), Kept(4096)
blp.add_app_template_filter(version_of, "version")


class SourceBook:
    """Sources by id for one page: the first 200 in one read, any other through queries.get_source."""

    def __init__(self):
        self.known = {s.id: s for s in queries.list_sources({"limit": 200})["items"]}

    def __getitem__(self, source_id):
        if source_id not in self.known:
            try:
                self.known[source_id] = queries.get_source(source_id)
            except NotFound:
                self.known[source_id] = None
        return self.known[source_id]

    def name(self, source_id):
        """The source's name, or its id when it is unknown."""
        source = self[source_id]
        return source.name if source is not None else source_id


def source_labels():
    """Source id -> "Name (id)" for a picker, up to 200 sources."""
    return {s.id: f"{s.name} ({s.id})" for s in queries.list_sources({"limit": 200})["items"]}


def load_args(schema):
    """The request's query arguments through the API's schema, loaded once per query string while kept:
    (loaded args, Outcome of any refusal)."""
    try:
        return QUERIES.load(schema, request.query_string, lambda: schema.load(query_args(request.args))), Outcome()
    except ValidationError as error:
        return None, refusal(error)


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


@blp.get("/")
def board():
    """The board: counts by status, the API's filters, claims newest first, keyset paging."""
    args, outcome = load_args(CLAIM_QUERY)
    claims, counts = EMPTY_PAGE, None
    if args is not None:
        try:
            # stored_json: the board shows none of the JSON fields it leaves unparsed (subjects, parties, explanation)
            claims = queries.list_claims(args, stored_json=True)
            counts = queries.summary(args.get("as_of"), args.get("published_before"))
        except Invalid as error:
            outcome = refusal(error)
    links = board_links(request.args)
    return render_template(
        "web/board.html", claims=claims, rows=board_rows(claims["items"], request.args), counts=counts,
        counts_section=counts and counts_section(counts, links), filters=filter_form(outcome), form=request.args,
        links=links,
        next_link=claims["next_cursor"] and links.next(request.args, claims["next_cursor"]),
    ), outcome.status if outcome else 200


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


def all_history(claim_id):
    """Every history entry of a claim, oldest first, page by page."""
    entries, args = [], {"limit": 200}
    while True:
        result = queries.list_history(claim_id, args)
        entries += result["items"]
        if not result["next_cursor"]:
            return entries
        args = {"limit": 200, "cursor": result["next_cursor"]}


def claim_context(claim_id, args):
    """What the claim page shows, as known at args' times (now when absent)."""
    as_of, published_before = args.get("as_of"), args.get("published_before")
    claim = queries.get_claim(claim_id, as_of, published_before)
    ids = {a["source"] for a in claim["attributions"]} | {v for a in claim["attributions"] for v in a["via"]}
    sources_then = queries.sources_at(ids, as_of)  # grades and groups as they stood at the page's time
    return {
        "claim": claim, "history": all_history(claim_id), "book": SourceBook(), "sources_then": sources_then,
        "graph": provenance_svg(claim, sources_then),
        "as_of": as_of, "published_before": published_before,
        "past": as_of is not None or published_before is not None,
        "source_labels": source_labels(),
        "stances": STANCES, "bases": BASES,
    }


def render_claim(claim_id, args=None, outcomes=None, status=200):
    """The claim page, with any form's refusal beside it."""
    context = claim_context(claim_id, args or {})
    return render_template("web/claim.html", outcomes=outcomes or {}, form=request.form, **context), status


@blp.get("/claims/<id:claim_id>")
def claim(claim_id):
    """One claim: badge, explanation, origins, attributions, history, time travel, provenance graph."""
    args, outcome = load_args(TIME_QUERY)
    if args is None:
        return render_claim(claim_id, {}, {"time": outcome}, outcome.status)
    return render_claim(claim_id, args)


@blp.get("/sources")
def sources():
    """Every source with its grade, affiliation and claims by status."""
    args, outcome = load_args(PAGE_QUERY)
    listing = EMPTY_PAGE
    if args is not None:
        try:
            listing = queries.list_sources(args)
        except REFUSALS as error:
            outcome = refusal(error)
    counts = {row["source"]: row["by_status"] for row in queries.summary()["by_source"]}
    return render_template("web/sources.html", listing=listing, counts=counts, statuses=STATUSES,
                           outcome=outcome), outcome.status if outcome else 200


def render_source(source_id, outcome=None, status=200):
    """One source: its details, its claims, its re-grade history, and the re-grade form."""
    source = queries.get_source(source_id)
    claims = queries.list_claims({"source": source_id, "limit": 100})
    revisions = queries.list_source_revisions(source_id)
    return render_template("web/source.html", source=source, claims=claims, revisions=revisions,
                           grades=RELIABILITY_GRADES, outcome=outcome or Outcome(), form=request.form), status


@blp.get("/sources/<slug:source_id>")
def source(source_id):
    """One source page."""
    return render_source(source_id)


def render_document(document_id, outcome=None, status=200):
    """One document: its text with every quoted passage marked and linked to its attribution."""
    document = queries.get_document(document_id)
    attributions = queries.list_document_attributions(document_id)
    passages = marked_passages(document.text or "", attributions)
    return render_template(
        "web/document.html", document=document, attributions=attributions, book=SourceBook(),
        passages=passages, marked={a["id"] for _, a in passages if a}, outcome=outcome or Outcome(),
        form=request.form,
    ), status


@blp.get("/documents/<id:document_id>")
def document(document_id):
    """One document page."""
    return render_document(document_id)
