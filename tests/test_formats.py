"""Interchange formats checked by tools this project did not write: prov and its PROV-JSON schema,
structured-data-testing-tool's Google ClaimReview preset, Python's csv module."""

import csv
import io
import json
import re
import subprocess
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from prov.model import ProvDocument

from service import interchange
from service.db import db
from service.formats.claimreview import SHORT_CLAIM, short_text
from service.formats.csv import COLUMNS
from service.seeding import load_seeds

ROOT = Path(__file__).resolve().parent.parent
SDTT = ROOT / "tests" / "node_modules" / ".bin" / "sdtt"
PROV_FORMATS = ("prov-json", "provn", "prov-jsonld", "turtle")


def direct(app, function, *args, **kwargs):
    """Call a domain function on the app's database, outside any request (requests close the connection)."""
    with app.app_context(), db.connection_context():
        return function(*args, **kwargs)


@pytest.fixture
def seeded(app):
    direct(app, load_seeds, ROOT / "seeds")
    return app


def all_claims(client, **params):
    items, cursor = [], None
    while True:
        page = client.get("/v1/claims", query_string={"limit": 200, **params, **({"cursor": cursor} if cursor else {})})
        items += page.get_json()["items"]
        cursor = page.get_json()["next_cursor"]
        if cursor is None:
            return items


# --- CSV ----------------------------------------------------------------------------


def read_csv(response):
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True), newline="")))


def expected_cells(item):
    """What a JSON list item looks like as text cells."""
    origin_sources = list(dict.fromkeys(s for o in item["origins"] for s in o["sources"]))
    return {
        "id": str(item["id"]), "text": item["text"], "status": item["status"],
        "confidence": "" if item["confidence"] is None else repr(item["confidence"]),
        "likelihood": item["likelihood"] or "", "attribution_line": item["attribution_line"],
        "explanation": "; ".join(item["explanation"]), "origin_sources": "; ".join(origin_sources),
        "subjects": "; ".join(item["subjects"]), "parties": "; ".join(item["parties"]),
        "event_time": item["event_time"] or "", "created_at": item["created_at"], "updated_at": item["updated_at"],
    }


def test_csv_reads_back_equal_to_the_json_list_across_batches(seeded, client, monkeypatch):
    monkeypatch.setattr(interchange, "BATCH", 4)  # 19 seed claims: five batches
    response = client.get("/v1/claims", headers={"Accept": "text/csv"})
    assert response.get_data(as_text=True).split("\r\n")[0] == ",".join(COLUMNS)
    rows = read_csv(response)
    assert rows == [expected_cells(item) for item in all_claims(client)]
    assert len(rows) == 19
    filtered = read_csv(client.get("/v1/claims?status=reported&lang=es", headers={"Accept": "text/csv"}))
    assert filtered == [expected_cells(item) for item in all_claims(client, status="reported", lang="es")]
    assert len(filtered) == 8 and filtered[0]["attribution_line"].startswith("Según")


def test_csv_neutralises_formulas_and_quotes_per_rfc_4180(ledger):
    ledger.claim('=HYPERLINK("http://example.invalid","click")', subjects=["@SUM(A1)"])
    ledger.claim('He said "no", then\r\nleft, quickly.')
    ledger.claim("-2+3 is a claim too")
    raw = ledger.client.get("/v1/claims", headers={"Accept": "text/csv"}).get_data(as_text=True)
    assert '"He said ""no"", then\r\nleft, quickly."' in raw
    rows = list(csv.DictReader(io.StringIO(raw, newline="")))
    assert [r["text"] for r in rows] == [
        "'-2+3 is a claim too", 'He said "no", then\r\nleft, quickly.', '\'=HYPERLINK("http://example.invalid","click")']
    assert rows[2]["subjects"] == "'@SUM(A1)"


def test_csv_with_a_bad_cursor_is_a_422_not_a_broken_stream(ledger):
    response = ledger.client.get("/v1/claims?cursor=nonsense", headers={"Accept": "text/csv"})
    assert response.status_code == 422 and "cursor" in response.get_json()["errors"]


def test_json_stays_the_default_representation(ledger):
    ledger.claim("A claim.")
    for accept in (None, "*/*", "application/json", "text/csv;q=0.5, application/json"):
        response = ledger.client.get("/v1/claims", headers={"Accept": accept} if accept else {})
        assert response.mimetype == "application/json", accept


# --- ClaimReview -----------------------------------------------------------------------


def claim_reviews(client):
    reviews = []
    for item in all_claims(client):
        response = client.get(f"/v1/claims/{item['id']}", headers={"Accept": "application/ld+json"})
        assert response.status_code == 200 and response.mimetype == "application/ld+json"
        review = json.loads(response.get_data(as_text=True))
        same = client.get(f"/v1/claims/{item['id']}/claimreview")
        assert same.mimetype == "application/ld+json" and json.loads(same.get_data(as_text=True)) == review
        reviews.append((item, review))
    return reviews


def run_sdtt(reviews, tmp_path):
    """Google's ClaimReview checks by structured-data-testing-tool on a page embedding the reviews."""
    scripts = "".join(f'<script type="application/ld+json">{json.dumps(r)}</script>' for r in reviews)
    page = tmp_path / "claims.html"
    page.write_text(f"<!doctype html><html><head><title>Claims</title>{scripts}</head><body></body></html>")
    assert SDTT.exists(), "install the test tools: make install-test (npm ci in tests/)"
    return subprocess.run([str(SDTT), "--file", str(page), "--presets", "Google"], cwd=ROOT / "tests",
                          capture_output=True, text=True, timeout=120)


# What Google's fact-check guide marks required (R) or recommended (r), by dotted path; the tool checks only some.
GOOGLE_FIELDS = {
    "claimReviewed": "R", "reviewRating": "R", "url": "R",
    "author": "r", "author.name": "r", "author.url": "r", "datePublished": "r", "itemReviewed": "r",
    "reviewRating.alternateName": "R", "reviewRating.name": "r", "reviewRating.ratingValue": "r",
    "reviewRating.bestRating": "r", "reviewRating.worstRating": "r",
    "itemReviewed.author": "r", "itemReviewed.appearance": "r", "itemReviewed.datePublished": "r",
    "itemReviewed.firstAppearance": "r",
}


def field(node, path):
    for name in path.split("."):
        node = node.get(name) if isinstance(node, dict) else None
    return node


def test_seed_claim_reviews_carry_every_field_google_requires_or_recommends(seeded, client):
    for item, review in claim_reviews(client):
        missing = [path for path in GOOGLE_FIELDS if field(review, path) in (None, "", [])]
        assert not missing, (item["text"], missing)
        assert review["reviewRating"]["name"] == review["reviewRating"]["alternateName"]
        assert all(author["name"] for author in review["itemReviewed"]["author"])


def test_seed_claim_reviews_pass_googles_checks(seeded, client, tmp_path):
    reviews = claim_reviews(client)
    result = run_sdtt([review for _, review in reviews], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    for n in range(len(reviews)):
        assert f"Google > ClaimReview > #{n} (jsonld) - 100%" in result.stdout
    assert re.search(r"Failed: 0\b", result.stdout)
    for item, review in reviews:
        # Not checked by that tool: the rating's name is the status and likelihood.
        rating = review["reviewRating"]
        assert rating["alternateName"] == f"{item['status'].capitalize()} ({item['likelihood']})"
        assert rating["worstRating"] <= rating["ratingValue"] <= rating["bestRating"]
        assert len(review["claimReviewed"]) <= SHORT_CLAIM and review["itemReviewed"]["text"] == item["text"]
        claim = review["itemReviewed"]
        assert claim["@type"] == "Claim" and claim["author"] and claim["appearance"]
        assert claim["firstAppearance"] == claim["appearance"][0]
        assert review["url"] == f"http://127.0.0.1:8000/v1/claims/{item['id']}"


def test_the_tool_does_fail_a_review_without_what_google_requires(seeded, client, tmp_path):
    [(_, review)] = claim_reviews(client)[:1]
    del review["claimReviewed"]
    result = run_sdtt([review], tmp_path)
    assert result.returncode != 0 and "claimReviewed" in result.stdout


def test_first_appearance_is_the_earliest_published_document(ledger):
    ledger.source("nyt", name="The New York Times")
    ledger.source("el-heraldo", reliability="C", name="El Heraldo")
    late = ledger.post("/v1/documents", {"publisher": "el-heraldo", "title": "Relay",
                                         "published_at": "2023-09-11T18:00:00-06:00"})
    early = ledger.post("/v1/documents", {"publisher": "nyt", "title": "Report", "url": "https://nyt.example/r",
                                          "published_at": "2023-09-04T12:00:00-04:00"})
    claim = ledger.claim("Arms.", attributions=[
        {"source": "nyt", "via": ["el-heraldo"], "document_id": late["id"], "stance": "supports",
         "basis": "secondhand", "confidence": 0.6},
        {"source": "nyt", "document_id": early["id"], "stance": "supports", "basis": "firsthand", "confidence": 0.6}])
    review = json.loads(ledger.client.get(f"/v1/claims/{claim['id']}/claimreview").get_data(as_text=True))
    first = review["itemReviewed"]["firstAppearance"]
    assert first["headline"] == "Report" and first["url"] == "https://nyt.example/r"
    assert [w["headline"] for w in review["itemReviewed"]["appearance"]] == ["Report", "Relay"]


def test_publisher_and_urls_come_from_configuration(fresh_database):
    from conftest import build_app

    app = build_app(fresh_database(), PUBLIC_URL="https://facts.example.org/", PUBLISHER_NAME="Example Desk",
                    PUBLISHER_URL="https://example.org")
    direct(app, load_seeds, ROOT / "seeds")
    review = json.loads(app.test_client().get("/v1/claims/1/claimreview").get_data(as_text=True))
    assert review["url"] == "https://facts.example.org/v1/claims/1"
    assert review["author"] == {"@type": "Organization", "name": "Example Desk", "url": "https://example.org"}


def test_the_data_feed_walks_every_claim_once(seeded, client):
    seen, cursor = [], None
    while True:
        response = client.get("/v1/claimreview", query_string={"limit": 7, **({"cursor": cursor} if cursor else {})})
        feed = json.loads(response.get_data(as_text=True))
        assert feed["@type"] == "DataFeed" and response.mimetype == "application/ld+json"
        seen += [element["url"] for element in feed["dataFeedElement"]]
        assert all(e["@type"] == "ClaimReview" and "@context" not in e for e in feed["dataFeedElement"])
        cursor = feed["next_cursor"]
        assert ("Link" in response.headers) == (cursor is not None)
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 19


def test_claim_reviewed_is_cut_at_a_word():
    text = "Marshals Ri Pyong-chol and Pak Jong-chon, members of the Politburo Presidium, travel with Kim."
    short = short_text(text)
    assert len(short) <= SHORT_CLAIM and short.endswith("…") and text.startswith(short[:-1])
    assert short_text("Short.") == "Short."


# --- W3C PROV ------------------------------------------------------------------------------


def shipped_schema(name):
    """A JSON Schema that ships inside the prov wheel, read from the installed package."""
    schema_file = resources.files("prov") / "tests" / "schemas" / name
    return json.loads(schema_file.read_text(encoding="utf-8"))


def schema_errors(schema_name, text):
    schema = shipped_schema(schema_name)
    validator = jsonschema.validators.validator_for(schema)(schema, format_checker=jsonschema.FormatChecker())
    return sorted(validator.iter_errors(json.loads(text)), key=str)


def assert_valid_prov(texts, expected):
    """Each serialisation validates (PROV-JSON and PROV-JSON-LD against the schemas prov ships; PROV-N by the
    Recommendation's grammar alone) and reads back as the expected document."""
    errors = schema_errors("prov-json.schema.json", texts["prov-json"])
    assert not errors, errors[:3]
    errors = schema_errors("prov-jsonld.schema.json", texts["prov-jsonld"])
    assert not errors, errors[:3]
    assert ProvDocument.deserialize(content=texts["prov-json"], format="json") == expected
    assert ProvDocument.deserialize(content=texts["provn"], format="provn", profile="strict") == expected
    assert ProvDocument.deserialize(content=texts["prov-jsonld"], format="jsonld") == expected
    assert ProvDocument.deserialize(content=texts["turtle"], format="rdf", rdf_format="turtle") == expected


def records_of(document, kind):
    return [r for r in document.get_records() if r.get_type().localpart == kind]


@pytest.fixture
def retracted_world(ledger):
    """A relayed report, then an independent confirmation that is retracted, then a document retraction."""
    ledger.source("nyt", name="The New York Times")
    ledger.source("yonhap", name="Yonhap", kind="wire_service")
    ledger.source("el-heraldo", reliability="C", name="El Heraldo")
    document = ledger.post("/v1/documents", {"publisher": "el-heraldo", "title": "Relay",
                                             "published_at": "2023-09-11T18:00:00-06:00"})
    claim = ledger.claim("Drills were proposed.", attributions=[
        {"source": "nyt", "via": ["el-heraldo"], "document_id": document["id"], "stance": "supports",
         "basis": "secondhand", "confidence": 0.6}])
    confirmation = ledger.attribute(claim["id"], "yonhap")
    ledger.retract(confirmation["id"], reason="Yonhap withdrew the story")
    ledger.post(f"/v1/documents/{document['id']}/retraction", {"reason": "corrected"}, expect=200)
    return claim


def test_claim_provenance_maps_relays_retractions_and_assessments(retracted_world, client, app):
    claim_id = retracted_world["id"]
    texts = {}
    for name in PROV_FORMATS:
        response = client.get(f"/v1/claims/{claim_id}/provenance", query_string={"format": name})
        assert response.status_code == 200
        texts[name] = response.get_data(as_text=True)
    expected = direct(app, interchange.claim_provenance, claim_id, app.config)
    assert_valid_prov(texts, expected)

    statements = {str(r.identifier) for r in records_of(expected, "Entity") if "stmt" in str(r.identifier)}
    assert statements == {"stmt:1", "stmt:1-relay-0", "stmt:2"}
    derivations = records_of(expected, "Derivation")
    kinds = [str(dict(d.attributes).get(expected.valid_qualified_name("prov:type"))) for d in derivations]
    assert kinds.count("prov:Quotation") == 1 and kinds.count("prov:PrimarySource") == 1
    assert kinds.count("prov:Revision") == 3  # four history entries: created, attribution, two retractions
    invalidated = {str(dict(r.formal_attributes)[expected.valid_qualified_name("prov:entity")])
                   for r in records_of(expected, "Invalidation")}
    assert invalidated == {"stmt:1", "stmt:2", "doc:1"}
    history = client.get(f"/v1/claims/{claim_id}/history").get_json()["items"]
    assert len([r for r in records_of(expected, "Entity") if "assessment" in str(r.identifier)]) == len(history)
    # Each assessment is derived from exactly the statements active when it was made.
    used = {}
    for d in derivations:
        attributes = dict(d.formal_attributes)
        generated = str(attributes[expected.valid_qualified_name("prov:generatedEntity")])
        if generated.startswith("assessment:") and not d.extra_attributes:
            used.setdefault(generated, set()).add(str(attributes[expected.valid_qualified_name("prov:usedEntity")]))
    assessments = sorted((str(r.identifier) for r in records_of(expected, "Entity")
                          if str(r.identifier).startswith("assessment:")), key=lambda name: int(name.split(":")[1]))
    assert [used.get(name, set()) for name in assessments] == [{"stmt:1"}, {"stmt:1", "stmt:2"}, {"stmt:1"}, set()]


def test_provenance_format_follows_accept(retracted_world, client):
    cases = {"text/turtle": "text/turtle", "text/provenance-notation": "text/provenance-notation",
             "application/ld+json": "application/ld+json", "*/*": "application/json"}
    for accept, media_type in cases.items():
        response = client.get(f"/v1/claims/{retracted_world['id']}/provenance", headers={"Accept": accept})
        assert response.mimetype == media_type, accept
    assert client.get(f"/v1/claims/{retracted_world['id']}/provenance?format=xml").status_code == 422


def test_seed_claims_each_validate_and_round_trip(seeded, client):
    for item in all_claims(client):
        texts = {name: client.get(f"/v1/claims/{item['id']}/provenance?format={name}").get_data(as_text=True)
                 for name in PROV_FORMATS}
        assert_valid_prov(texts, direct(seeded, interchange.claim_provenance, item["id"], seeded.config))


def test_export_writes_the_whole_ledger_in_every_prov_format(seeded, database_url, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from service.cli import main

    monkeypatch.setenv("REPORTEDLY_DATABASE_URL", database_url)
    monkeypatch.setattr(interchange, "BATCH", 5)
    texts = {}
    for name in PROV_FORMATS:
        output = tmp_path / f"ledger.{name}"
        result = CliRunner().invoke(main, ["export", "--format", name, str(output)])
        assert result.exit_code == 0, result.output
        texts[name] = output.read_text(encoding="utf-8")
    expected = direct(seeded, interchange.ledger_provenance, seeded.config, batch=7)
    assert_valid_prov(texts, expected)
    claims = [r for r in records_of(expected, "Entity") if str(r.identifier).startswith("claim:")]
    assert len(claims) == 19
    agents = [str(r.identifier) for r in records_of(expected, "Agent")]
    assert len(agents) == len(set(agents)) == 8  # seven sources and the service itself
