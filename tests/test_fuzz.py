"""A fuzz pass: hostile strings in every field of every operation get a 4xx problem+json and write nothing.

Hostile: a lone surrogate, NUL, right-to-left overrides with combining marks, 10,000
characters, JSON nested 10,000 deep. Right-to-left text is legitimate in free text and
must then be stored exactly as sent; 10,000 characters fit only a document's text.
Everywhere else each is refused with a 4xx (a 422 naming the field when it is a field's
fault), and the row counts of every table are the same before and after.
"""

import json
import re
import urllib.parse
from pathlib import Path

import pytest
from test_errors import assert_problem, row_counts

HOSTILE = {
    "surrogate": "a\ud800b",
    "nul": "a\x00b",
    "nested": "NESTED",  # replaced by JSON nested 10,000 deep when the body is written
    "long": "x" * 10_000,
    "rtl": "\u202eكلام\u0301\u0651 \u05e2\u05d1\u05e8\u05d9\u05ea\u200f",
}
NESTED_JSON = "[" * 10_000 + "]" * 10_000
# Fields where right-to-left text and combining marks are ordinary input.
FREE_TEXT = {"name", "description", "title", "text", "reason", "subjects.0", "quote", "attributions.0.quote"}
LONG_TEXT = {("POST", "/v1/documents", "text")}

ATTRIBUTION = {"source": "nyt", "stance": "supports", "basis": "secondhand", "confidence": 0.5}


def writes(ids):
    """(method, path, a valid body, its string fields) for every write."""
    return [
        ("POST", "/v1/sources", {"id": "new", "name": "New", "kind": "other", "affiliation": "grp", "country": "FR",
                                 "url": "https://new.example", "description": "d"},
         ["id", "name", "kind", "reliability", "affiliation", "country", "url", "description"]),
        ("PATCH", "/v1/sources/nyt", {}, ["name", "kind", "reliability", "affiliation", "country", "url",
                                          "description"]),
        ("POST", "/v1/documents", {"publisher": "nyt", "title": "T", "language": "en"},
         ["publisher", "title", "url", "published_at", "language", "text"]),
        ("POST", "/v1/claims", {"text": "C", "subjects": ["s"], "parties": ["grp"], "attributions": [ATTRIBUTION]},
         ["text", "subjects.0", "parties.0", "event_time", "attributions.0.source", "attributions.0.stance",
          "attributions.0.quote", "attributions.0.published_at"]),
        ("PATCH", f"/v1/claims/{ids['claim']}", {}, ["text", "subjects.0", "parties.0", "event_time"]),
        ("POST", f"/v1/claims/{ids['claim']}/attributions", dict(ATTRIBUTION),
         ["source", "via.0", "stance", "basis", "quote", "published_at"]),
        ("POST", f"/v1/attributions/{ids['attribution']}/retraction", {}, ["reason"]),
        ("POST", f"/v1/documents/{ids['document']}/retraction", {}, ["reason"]),
    ]


def reads(ids):
    """(path, its query parameters) for every read."""
    claim = ids["claim"]
    return [
        ("/v1/claims", ["status", "source", "relayed_by", "subject", "party", "q", "min_confidence", "as_of",
                        "published_before", "limit", "cursor"]),
        (f"/v1/claims/{claim}", ["as_of", "published_before"]),
        (f"/v1/claims/{claim}/history", ["limit", "cursor"]),
        (f"/v1/claims/{claim}/attributions", ["limit", "cursor"]),
        ("/v1/sources", ["limit", "cursor"]),
        ("/v1/sources/nyt", []),
        (f"/v1/documents/{ids['document']}", []),
        ("/v1/summary", ["as_of", "published_before"]),
        ("/v1/claimreview", ["limit", "cursor"]),
        (f"/v1/claims/{claim}/claimreview", []),
        (f"/v1/claims/{claim}/provenance", ["format"]),
        (f"/v1/imports/{ids['import']}", []),
        ("/v1/jobs/999", []),
    ]


def with_value(body, path, value):
    """A copy of body with the dotted path set to value (list indexes as digits)."""
    body = json.loads(json.dumps(body))
    *parents, last = path.split(".")
    node = body
    for key in parents:
        if isinstance(node, list):
            node = node[int(key)]
        else:
            node = node.setdefault(key, [] if key in {"subjects", "parties", "via"} else {})
    if isinstance(node, list):
        node[int(last):] = [value]
    else:
        node[last] = value
    return body


def encode(body):
    return json.dumps(body).replace('"NESTED"', NESTED_JSON)


def stored(response_json, field):
    node = response_json
    for key in ("retraction_reason" if field == "reason" else field).split("."):
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


@pytest.fixture
def ids(ledger):
    ledger.source("nyt")
    ledger.source("kcna", affiliation="grp")
    document = ledger.post("/v1/documents", {"publisher": "nyt", "title": "Report"})
    claim = ledger.claim("Kim left.", attributions=[ATTRIBUTION])
    imported = ledger.client.post("/v1/imports", data=b'{"type": "claim", "text": "Imported."}\n',
                                  headers=ledger.auth(), content_type="application/x-ndjson")
    assert imported.status_code == 201, imported.get_json()
    return {"claim": claim["id"], "attribution": claim["attributions"][0]["id"], "document": document["id"],
            "import": imported.get_json()["id"]}


def send(client, ledger, method, path, data):
    headers = {**ledger.auth(), "Content-Type": "application/json"}
    if method == "PATCH":
        headers["If-Match"] = client.get(path).headers["ETag"]
    return client.open(path, method=method, data=data, headers=headers)


def test_the_fuzz_covers_every_operation_of_the_contract(ids):
    """Every operation in schema/openapi.json is fuzzed here, but the health check, which reads no input."""
    contract = json.loads((Path(__file__).parents[1] / "schema" / "openapi.json").read_text())
    operations = {(method.upper(), re.sub(r"\{[^}]+\}", "{}", path))
                  for path, item in contract["paths"].items() for method in item if method != "parameters"}
    fuzzed = ([(method, path) for method, path, *_ in writes(ids)] + [("GET", path) for path, _ in reads(ids)]
              + [("POST", "/v1/imports")])
    assert {(method, re.sub(r"/(\d+|nyt)(?=/|$)", "/{}", path)) for method, path in fuzzed} == operations - {
        ("GET", "/healthz")}


def test_hostile_strings_in_every_write(client, ledger, ids):
    accepted = 0
    # Right-to-left last: an accepted retraction would make the next one a 409 for another reason.
    for kind in ("surrogate", "nul", "nested", "long", "rtl"):
        for n, (method, path, body, fields) in enumerate(writes(ids)):
            for field in fields:
                value = HOSTILE[kind]
                if method == "POST" and path == "/v1/sources" and field != "id":
                    body = {**body, "id": f"fz-{kind}-{n}-{len(field)}-{field.replace('.', '-')}"}
                before = row_counts()
                response = send(client, ledger, method, path, encode(with_value(body, field, value)))
                legitimate = (kind == "rtl" and field in FREE_TEXT) or (
                    kind == "long" and (method, path, field) in LONG_TEXT)
                case = (kind, method, path, field)
                if legitimate:
                    assert response.status_code in (200, 201), (case, response.get_data(as_text=True))
                    assert stored(response.get_json(), field) == value, case
                    accepted += 1
                    continue
                problem = assert_problem(response, 400 if kind == "nested" else 422)
                if kind != "nested":
                    assert field in problem["errors"], (case, problem)
                assert row_counts() == before, case
    assert accepted == 1 + sum(f in FREE_TEXT for *_, fields in writes(ids) for f in fields)


def test_hostile_bodies_in_every_write(client, ledger, ids):
    for method, path, _, _ in writes(ids):
        before = row_counts()
        for data in (NESTED_JSON, '{"a": ' * 10_000 + "1" + "}" * 10_000, json.dumps(HOSTILE["long"])):
            status = send(client, ledger, method, path, data).status_code
            assert status in (400, 422), (method, path, data[:20])
        assert row_counts() == before


def test_hostile_strings_in_every_query(client, ledger, ids):
    before = row_counts()
    free_text_params = {"subject", "q"}
    for kind, value in HOSTILE.items():
        if kind == "nested":
            value = NESTED_JSON
        for path, params in reads(ids):
            for param in params + ["unknown"]:
                # A lone surrogate as a client would send it: its UTF-8-style bytes, percent-encoded.
                encoded = urllib.parse.quote(value.encode("utf-8", "surrogatepass"))
                response = client.get(f"{path}?{param}={encoded}", headers=ledger.auth())
                if response.status_code == 200:
                    assert param in free_text_params and kind in ("rtl", "surrogate"), (kind, path, param)
                    continue
                problem = assert_problem(response, 422)
                assert {name.split(".")[0] for name in problem["errors"]} == {param}, (kind, path, param, problem)
    assert row_counts() == before


IMPORT_LINES = [
    ({"type": "source", "id": "imp", "name": "Imported", "kind": "other", "affiliation": "grp", "url": "https://i.example",
      "description": "d"}, ["id", "name", "kind", "reliability", "affiliation", "country", "url", "description"]),
    ({"type": "document", "key": "doc", "publisher": "nyt", "title": "T", "language": "en"},
     ["key", "publisher", "title", "url", "published_at", "language"]),
    ({"type": "claim", "text": "C", "subjects": ["s"], "parties": ["grp"], "attributions": [ATTRIBUTION]},
     ["text", "subjects.0", "parties.0", "event_time", "attributions.0.source", "attributions.0.stance",
      "attributions.0.published_at"]),
]


def test_hostile_strings_in_every_import_line(client, ledger, ids):
    """POST /v1/imports: a hostile value in any field of a line is a 422 naming the line, and writes nothing
    but the import's own report."""
    for kind in ("surrogate", "nul", "nested", "long"):
        for line, fields in IMPORT_LINES:
            for field in fields:
                before = row_counts()
                data = encode(with_value(line, field, HOSTILE[kind])) + "\n"
                response = client.post("/v1/imports", data=data.encode("utf-8", "surrogatepass"),
                                       headers=ledger.auth(), content_type="application/x-ndjson")
                case = (kind, line["type"], field)
                problem = assert_problem(response, 422)
                assert any(name.startswith("lines.1") for name in problem["errors"]), (case, problem)
                assert row_counts() == before, case  # (import reports are not among them)
