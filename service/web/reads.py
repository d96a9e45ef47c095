"""The pages that read: board, claim, sources, source, document; all through service.queries."""

from flask import render_template, request
from marshmallow import ValidationError

from .. import queries
from ..errors import Invalid, NotFound
from ..query_cache import QueryCache
from ..rules import BASES, RELIABILITY_GRADES, STANCES, STATUSES
from ..schemas import ClaimQuerySchema, PageQuerySchema, TimeQuerySchema
from . import blp
from .board import board_links, board_rows, counts_section, filter_form
from .forms import REFUSALS, Outcome, query_args, refusal, version_of
from .graph import provenance_svg
from .marks import marked_passages

EMPTY_PAGE = {"items": [], "next_cursor": None}
# The API's query schemas, made once: making one copies every field, a tenth of a small page's time.
CLAIM_QUERY, TIME_QUERY, PAGE_QUERY = ClaimQuerySchema(), TimeQuerySchema(), PageQuerySchema()
QUERIES = QueryCache()
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
