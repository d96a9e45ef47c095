"""Read what the interchange formats need from the ledger, a page or a batch at a time.

service.formats holds the pure functions; this module is their shell: it turns
claim views (from service.queries) into attribution lines, ClaimReview
documents, PROV documents and CSV rows, with a fixed number of queries per page.
"""

import orjson

from . import reads
from .facts import derive_many, inputs_many
from .formats import claimreview, provenance
from .formats.attribution_line import attribution_line, retracted_origins
from .models import Attribution, Claim, Document, HistoryEntry, Source
from .queries import attribution_views, get_claim, history_view, list_claims

# Claims read per round trip when a format walks every claim (CSV, DataFeed, whole-ledger PROV).
BATCH = 200


def with_attribution_lines(views, lang="en", as_of=None, published_before=None, source_names=None):
    """Add `attribution_line` to each claim view, naming sources as they stood at `as_of` (one query, and
    for claims with no active origin, the few more that find whose statements were retracted).

    `source_names` ({id: name} now) is what a write read in its transaction: it spares the query
    when it names every source the lines need.
    """
    views = list(views)
    _repair_legacy_origins(views)
    retracted = _retracted_origins([v["id"] for v in views if not v["origins"]], as_of, published_before)
    ids = {s for origins in _distinct_origins(views) for o in origins for s in (*o["sources"], *o["relays"])}
    ids |= {s for origins in retracted.values() for o in origins for s in (*o.sources, *o.relays)}
    names = source_names
    if names is None or as_of is not None or not ids <= names.keys():
        names = reads.source_names(ids, as_of)
    page = {}  # lines made or checked for this page, whose names do not change within it
    for view in views:
        view["attribution_line"] = _line(view, names, lang, retracted.get(view["id"], ()), page)
    return views


def _retracted_origins(claim_ids, as_of, published_before):
    """For claims with no active origin: the origins of their statements retracted by `as_of`, by claim id.

    One indexed query finds which of them had a retraction by then; only those pay for their rule inputs,
    so a page of claims never attributed costs one statement more, and a page with origins none.
    """
    if not claim_ids:
        return {}
    query = (
        Attribution.select(Attribution.claim)
        .where(Attribution.claim.in_(claim_ids), Attribution.retracted_at.is_null(False))
        .distinct()
    )
    if as_of is not None:
        query = query.where(Attribution.retracted_at <= as_of)
    withdrawn = [row.claim_id for row in query]
    if not withdrawn:
        return {}
    claims = Claim.select().where(Claim.id.in_(withdrawn)).order_by(Claim.id)
    return {
        shot.id: retracted_origins(statements, sources, shot.parties, as_of, published_before)
        for shot, statements, sources in inputs_many(claims, as_of)
    }


# Lines this worker made last: (status, origins as JSON, language, retracted origins) -> (line, the (source,
# name) pairs it used).
# A line is a pure function of these and its sources' names, and a page repeats few of them (claims
# share sources and stances); one made under other names than a view's is made again.
_LINES = {}
LINES_KEPT = 4096


def _line(view, names, lang, retracted, page):
    """A view's attribution line, remade only when this worker has not made it under the same names; checked
    against the names once per page."""
    origins = view["origins"]
    key = (view["status"], origins.stored if isinstance(origins, reads.Origins) else orjson.dumps(origins), lang,
           tuple(retracted))
    line = page.get(key)
    if line is None:
        line = page[key] = _kept_line(key, view, names, lang, retracted)
    return line


def _kept_line(key, view, names, lang, retracted):
    kept = _LINES.get(key)
    if kept is not None and all(names.get(source_id) == name for source_id, name in kept[1]):
        return kept[0]
    line = attribution_line(view, names, lang, retracted)
    involved = {s for o in view["origins"] for s in (*o["sources"], *o.get("relays", ()))}
    involved |= {s for o in retracted for s in (*o.sources, *o.relays)}
    if len(_LINES) >= LINES_KEPT:
        _LINES.clear()
    _LINES[key] = (line, tuple((source_id, names.get(source_id)) for source_id in involved))
    return line


def with_attribution_line(view, lang="en", as_of=None, published_before=None, source_names=None):
    """One claim view with its attribution line."""
    [view] = with_attribution_lines([view], lang, as_of, published_before, source_names)
    return view


def _distinct_origins(views):
    """The origins lists these views hold, each once: views of claims with the same stored origins share one
    (service.reads keeps them by their text), so a page looks at a few instead of one per claim."""
    return {id(view["origins"]): view["origins"] for view in views}.values()


def _repair_legacy_origins(views):
    """Origins stored before they carried relays and bases are re-derived (now) for the line."""
    if all("bases" in o for origins in _distinct_origins(views) for o in origins):
        return
    legacy = {v["id"]: v for v in views if any("bases" not in o for o in v["origins"])}
    claims = list(Claim.select().where(Claim.id.in_(list(legacy))).order_by(Claim.id))
    for shot, _, derivation in derive_many(claims):
        legacy[shot.id]["origins"] = [o.as_dict() for o in derivation.origins]


# --- ClaimReview -----------------------------------------------------------------


def claim_review(claim_id, settings):
    """The ClaimReview of one claim as it stands now."""
    names = {}
    view = with_attribution_line(get_claim(claim_id, names=names), source_names=names)
    sources, documents = _sources_and_documents([view["attributions"]])
    return claimreview.claim_review(view, sources, documents, settings)


def claim_review_feed(args, settings):
    """A DataFeed page of ClaimReviews, newest claim first, and the next page's cursor."""
    page = list_claims({"limit": args["limit"], "cursor": args.get("cursor")})
    views = with_attribution_lines(page["items"])
    by_claim = _attributions_by_claim([v["id"] for v in views])
    sources, documents = _sources_and_documents(by_claim.values())
    reviews = [
        claimreview.claim_review({**v, "attributions": by_claim[v["id"]]}, sources, documents, settings)
        for v in views
    ]
    return claimreview.data_feed(reviews, settings), page["next_cursor"]


def _attributions_by_claim(claim_ids):
    query = (
        Attribution.select()
        .where(Attribution.claim.in_(claim_ids))
        .order_by(Attribution.id)
    )
    result = {claim_id: [] for claim_id in claim_ids}
    for view in attribution_views(query):
        result[view["claim_id"]].append(view)
    return result


def _sources_and_documents(attribution_lists):
    """The sources (origins, relays, publishers) and documents these attributions name, as plain dicts."""
    attributions = [a for group in attribution_lists for a in group]
    document_ids = {a["document_id"] for a in attributions if a["document_id"] is not None}
    documents = {d.id: document_record(d) for d in Document.select().where(Document.id.in_(list(document_ids)))}
    source_ids = {a["source"] for a in attributions} | {r for a in attributions for r in a["via"]}
    source_ids |= {d["publisher"] for d in documents.values()}
    sources = {s.id: source_record(s) for s in Source.select().where(Source.id.in_(list(source_ids)))}
    return sources, documents


def source_record(source):
    """A Source row as the formats read it."""
    return {
        "id": source.id, "name": source.name, "kind": source.kind, "reliability": source.reliability,
        "affiliation": source.affiliation, "country": source.country, "url": source.url,
    }


def document_record(document):
    """A Document row as the formats read it (without its text)."""
    return {
        "id": document.id, "publisher": document.publisher_id, "title": document.title, "url": document.url,
        "published_at": document.published_at, "language": document.language,
        "retracted_at": document.retracted_at, "retraction_reason": document.retraction_reason,
    }


# --- PROV ------------------------------------------------------------------------


def claim_provenance(claim_id, settings):
    """The PROV document of one claim: its statements, their sources and documents, its assessments."""
    view = get_claim(claim_id)
    history = _history_by_claim([claim_id])
    sources, documents = _sources_and_documents([view["attributions"]])
    bundle = provenance.ClaimRecord(view, view["attributions"], history[claim_id])
    return provenance.provenance_document([bundle], sources, documents, settings["PUBLIC_URL"])


def ledger_provenance(settings, batch=None):
    """The PROV document of the whole ledger, read BATCH claims at a time."""
    writer = provenance.ProvenanceWriter(settings["PUBLIC_URL"])
    cursor = None
    while True:
        page = list_claims({"limit": batch or BATCH, "cursor": cursor})
        ids = [v["id"] for v in page["items"]]
        by_claim, history = _attributions_by_claim(ids), _history_by_claim(ids)
        sources, documents = _sources_and_documents(by_claim.values())
        records = [provenance.ClaimRecord(v, by_claim[v["id"]], history[v["id"]]) for v in page["items"]]
        writer.add_claims(records, sources, documents)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    for sources in _all_sources(batch or BATCH):
        writer.add_sources(sources)
    return writer.document


def _all_sources(batch):
    """Every source, by id, `batch` at a time."""
    last = None
    while True:
        query = Source.select().order_by(Source.id).limit(batch)
        rows = list(query.where(Source.id > last) if last is not None else query)
        if not rows:
            return
        yield [source_record(s) for s in rows]
        last = rows[-1].id


def _history_by_claim(claim_ids):
    query = (
        HistoryEntry.select()
        .where(HistoryEntry.claim.in_(claim_ids))
        .order_by(HistoryEntry.id)
    )
    result = {claim_id: [] for claim_id in claim_ids}
    for entry in query:
        result[entry.claim_id].append({**history_view(entry), "id": entry.id})
    return result


# --- CSV -------------------------------------------------------------------------


def claim_views_in_batches(args, lang="en", batch=None):
    """Every claim matching the list filters, newest first, BATCH at a time, with attribution lines."""
    cursor = args.get("cursor")
    while True:
        page = list_claims({**args, "limit": batch or BATCH, "cursor": cursor})
        yield with_attribution_lines(page["items"], lang, args.get("as_of"), args.get("published_before"))
        cursor = page["next_cursor"]
        if cursor is None:
            return
