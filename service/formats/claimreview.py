"""schema.org ClaimReview JSON-LD for a claim, and a DataFeed of them, as Google's fact-check markup reads them.

The rating maps the status onto a 1-5 scale (RATING_VALUES, documented in the README):
the state of the reporting, not a verdict of this service on the world.
"""

SCHEMA_ORG = "https://schema.org"
# Google's guide: keep claimReviewed under 75 characters; the full text is itemReviewed.text.
SHORT_CLAIM = 75
RATING_VALUES = {"confirmed": 5, "reported": 4, "disputed": 3, "unconfirmed": 2, "denied": 1}
BEST_RATING, WORST_RATING = 5, 1


def claim_review(claim, sources, documents, settings):
    """A ClaimReview for a claim view that holds its attributions and attribution line."""
    base = settings["PUBLIC_URL"].rstrip("/")
    url = f"{base}/v1/claims/{claim['id']}"
    return {
        "@context": SCHEMA_ORG,
        "@type": "ClaimReview",
        "@id": f"{url}#claimreview",
        "url": url,
        "claimReviewed": short_text(claim["text"]),
        "datePublished": claim["created_at"].date().isoformat(),
        "dateModified": claim["updated_at"].isoformat(),
        "author": publisher(settings),
        "reviewRating": review_rating(claim),
        "itemReviewed": reviewed_claim(claim, sources, documents, base),
    }


def data_feed(reviews, settings):
    """A schema.org DataFeed holding ClaimReviews (each without its own @context)."""
    base = settings["PUBLIC_URL"].rstrip("/")
    elements = [{k: v for k, v in review.items() if k != "@context"} for review in reviews]
    modified = max((r["dateModified"] for r in reviews), default=None)
    feed = {
        "@context": SCHEMA_ORG,
        "@type": "DataFeed",
        "name": f"{settings['PUBLISHER_NAME']}: claims and the state of their reporting",
        "url": f"{base}/v1/claimreview",
        "author": publisher(settings),
        "dataFeedElement": elements,
    }
    if modified is not None:
        feed["dateModified"] = modified
    return feed


def short_text(text, limit=SHORT_CLAIM):
    """The claim cut at a word boundary to fit `limit` characters, marked with an ellipsis when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] if " " in text[: limit - 1] else text[: limit - 1]
    return cut.rstrip(" ,;:") + "…"


def publisher(settings):
    """The organisation that publishes these reviews, from configuration."""
    return {"@type": "Organization", "name": settings["PUBLISHER_NAME"], "url": settings["PUBLISHER_URL"]}


def review_rating(claim):
    """The Rating: status and likelihood as alternateName (and name), the status on a 1-5 scale as ratingValue."""
    status = claim["status"]
    name = status.capitalize() + (f" ({claim['likelihood']})" if claim.get("likelihood") else "")
    rating = {
        "@type": "Rating",
        "ratingValue": RATING_VALUES[status],
        "bestRating": BEST_RATING,
        "worstRating": WORST_RATING,
        # Google's guide requires alternateName and recommends name; both carry the same short phrase.
        "alternateName": name,
        "name": name,
    }
    if claim.get("attribution_line"):
        rating["ratingExplanation"] = claim["attribution_line"]
    return rating


def reviewed_claim(claim, sources, documents, base):
    """The Claim reviewed: who originates it, where it appeared, and where first."""
    active = [a for a in claim["attributions"] if a["retracted_at"] is None]
    authors = [s for o in claim["origins"] if o["stance"] == "supports" for s in o["sources"]]
    appearances = sorted(
        {a["document_id"] for a in active if a["document_id"] is not None},
        key=lambda d: (documents[d]["published_at"] is None, documents[d]["published_at"] or 0, d),
    )
    item = {
        "@type": "Claim",
        "text": claim["text"],
        "author": [agent(sources[s], base) for s in dict.fromkeys(authors)],
        "appearance": [creative_work(documents[d], sources, base) for d in appearances],
    }
    published = sorted(a["published_at"] for a in active if a["stance"] == "supports" and a["published_at"])
    if published:
        item["datePublished"] = published[0].isoformat()
    if appearances and documents[appearances[0]]["published_at"] is not None:
        item["firstAppearance"] = item["appearance"][0]
    return item


def agent(source, base):
    """A source as a schema.org Organization (or Person)."""
    node = {
        "@type": "Person" if source["kind"] == "person" else "Organization",
        "@id": f"{base}/v1/sources/{source['id']}",
        "name": source["name"],
    }
    if source.get("url"):
        node["url"] = source["url"]
    return node


def creative_work(document, sources, base):
    """A document as the CreativeWork in which the claim appeared."""
    work = {
        "@type": "CreativeWork",
        "@id": f"{base}/v1/documents/{document['id']}",
        "url": document["url"] or f"{base}/v1/documents/{document['id']}",
        "headline": document["title"],
        "author": agent(sources[document["publisher"]], base),
    }
    if document["published_at"] is not None:
        work["datePublished"] = document["published_at"].isoformat()
    if document.get("language"):
        work["inLanguage"] = document["language"]
    return work
