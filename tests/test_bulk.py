"""Bulk import and export (spec §10): same results as POST, round trips, batches, interruption, HTTP."""

import dataclasses
import io
import json
import os
import signal
import subprocess
import time
import types
from datetime import datetime, timezone

import pytest
from conftest import build_app, connected
from servers import BIN

from service import bulk, creation, export
from service.clock import to_micros
from service.db import is_postgresql
from service.models import Attribution, Claim, ClaimRevision, ClaimState, HistoryEntry, ImportReport
from service.rules import Statement

SOURCES = [
    {"type": "source", "id": "nyt", "name": "The New York Times", "kind": "news_outlet", "reliability": "B"},
    {"type": "source", "id": "reuters", "name": "Reuters", "kind": "wire_service", "reliability": "A"},
    {"type": "source", "id": "blog", "name": "A blog", "kind": "other", "reliability": "E"},
    {"type": "source", "id": "kcna", "name": "KCNA", "kind": "state_media", "reliability": "D",
     "affiliation": "dprk-state"},
    {"type": "source", "id": "dprk-gov", "name": "DPRK government", "kind": "government", "reliability": "B",
     "affiliation": "dprk-state"},
    {"type": "source", "id": "el-heraldo", "name": "El Heraldo", "kind": "news_outlet", "reliability": "C"},
]
ARTICLE = "Kim left Pyongyang by train. Photos show the train. Officials deny it."
ORIGINS = ["nyt", "reuters", "blog", "kcna", "dprk-gov", "el-heraldo"]
BASES = ["official", "documentary", "firsthand", "secondhand", "assessment"]


def attribution(i, k):
    """The k-th attribution of the i-th generated claim: a spread of sources, stances, bases and relays."""
    source = ORIGINS[(i + 2 * k) % len(ORIGINS)]
    body = {
        "source": source, "stance": "denies" if (i + k) % 5 == 0 else "supports",
        "basis": BASES[(i * 3 + k) % len(BASES)], "confidence": round(0.2 + ((i + k) % 8) / 10, 2),
        "via": ["el-heraldo"] if (i + k) % 3 == 0 and source != "el-heraldo" else [],
    }
    if (i + k) % 4 == 0:
        body.update(document_key="article", quote=["Kim left Pyongyang", "the train", "deny it"][i % 3])
    return body


def claim_line(i):
    return {
        "type": "claim", "text": f"Claim number {i} about the train.", "subjects": ["Kim Jong Un", f"S{i % 4}"],
        "parties": ["dprk-state"] if i % 2 else [], "event_time": "2026-05-01T10:00:00+02:00" if i % 3 else None,
        "attributions": [attribution(i, k) for k in range(i % 4)],
    }


def content(claims=24):
    """Sources, one document and `claims` claims as bulk lines."""
    document = {"type": "document", "key": "article", "publisher": "el-heraldo", "title": "The article",
                "published_at": "2026-05-02T08:00:00Z", "text": ARTICLE, "language": "es"}
    return [*SOURCES, document, *[claim_line(i) for i in range(claims)]]


def ndjson(lines):
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def import_bytes(app, data, **options):
    with connected(app):
        return bulk.import_ndjson(io.BytesIO(data), **options)


def export_text(app, as_of=None):
    with connected(app):
        out = io.StringIO()
        export.export_ndjson(out, as_of)
        return out.getvalue()


def post_one_by_one(ledger, lines):
    """The same content through the API, one POST per source, document and claim."""
    keys = {}
    for line in lines:
        body = {k: v for k, v in line.items() if k not in ("type", "key")}
        if line["type"] == "source":
            ledger.post("/v1/sources", body)
        elif line["type"] == "document":
            keys[line["key"]] = ledger.post("/v1/documents", body)["id"]
        else:
            for a in body["attributions"]:
                if "document_key" in a:
                    a["document_id"] = keys[a.pop("document_key")]
            ledger.post("/v1/claims", body)


def claim_states(client, app):
    """Every claim as GET shows it, without server-set ids and times, with its history kinds."""
    with connected(app):
        ids = [c.id for c in Claim.select(Claim.id).order_by(Claim.id)]
    states = []
    for claim_id in ids:
        claim = client.get(f"/v1/claims/{claim_id}").get_json()
        history = client.get(f"/v1/claims/{claim_id}/history").get_json()["items"]
        for key in ("id", "created_at", "updated_at"):
            claim.pop(key)
        for a in claim["attributions"]:
            for key in ("id", "claim_id", "recorded_at", "document_id"):
                a.pop(key)
            a["retracted_at"] = a["retracted_at"] is not None  # an import retracts at its own time
        states.append((claim, [(h["status"], h["confidence"], h["cause"]["kind"]) for h in history]))
    return states


def test_a_bulk_import_gives_what_posting_one_by_one_gives(app, ledger, fresh_database):
    lines = content()
    post_one_by_one(ledger, lines)
    bulk_app = build_app(fresh_database())
    report = import_bytes(bulk_app, ndjson(lines), batch_size=7)
    assert report["errors"] == [] and report["state"] == "completed"
    assert report["counts"] == {"sources": 6, "documents": 1, "claims": 24,
                                "attributions": sum(i % 4 for i in range(24))}
    posted, imported = claim_states(app.test_client(), app), claim_states(bulk_app.test_client(), bulk_app)
    assert len(posted) == 24 and imported == posted
    assert {s["status"] for s, _ in posted} >= {"confirmed", "reported", "unconfirmed", "denied"}
    assert all(kinds == [(s["status"], s["confidence"], "created")] for s, kinds in imported)


def test_each_created_entry_traces_to_its_import(app):
    report = import_bytes(app, ndjson(content(12)), batch_size=5)
    with connected(app):
        kept = bulk.get_report(report["id"])
        entries = list(HistoryEntry.select().order_by(HistoryEntry.claim))
    assert kept["state"] == "completed" and kept["created"]["claims"] == [[1, 12]]
    batch_times = {b["at"] for b in kept["batches"] if b["at"]}
    assert len(entries) == 12 and all(e.cause_kind == "created" and e.cause_id == str(e.claim_id) for e in entries)
    assert {e.at.isoformat() for e in entries} <= batch_times


def build_retracting_ledger(ledger):
    """A ledger made through the API with edits, relays, a retracted attribution and a retracted document."""
    for line in SOURCES:
        ledger.post("/v1/sources", {k: v for k, v in line.items() if k != "type"})
    article = ledger.post("/v1/documents", {"publisher": "el-heraldo", "title": "Article", "text": ARTICLE,
                                            "published_at": "2026-05-02T08:00:00Z"})
    pulled = ledger.post("/v1/documents", {"publisher": "blog", "title": "Pulled post"})
    first = ledger.claim("Kim left by train.", parties=["dprk-state"], subjects=["Kim Jong Un"], attributions=[
        {"source": "nyt", "via": ["el-heraldo"], "document_id": article["id"], "stance": "supports",
         "basis": "secondhand", "confidence": 0.6, "quote": "Kim left Pyongyang"},
        {"source": "kcna", "stance": "supports", "basis": "documentary", "confidence": 0.9}])
    second = ledger.claim("The train was armoured.", attributions=[
        {"source": "blog", "document_id": pulled["id"], "stance": "supports", "basis": "assessment",
         "confidence": 0.4}])
    denial = ledger.attribute(first["id"], "dprk-gov", stance="denies", basis="official", confidence=0.7)
    ledger.retract(denial["id"], "misquoted")
    ledger.post(f"/v1/documents/{pulled['id']}/retraction", {"reason": "taken down"}, expect=200)
    ledger.attribute(second["id"], "reuters", basis="firsthand", confidence=0.8, published_at="2026-05-03T00:00:00Z")
    ledger.claim("Nobody said anything yet.")
    return first, second


def test_export_import_export_gives_the_same_bytes(app, ledger, fresh_database):
    build_retracting_ledger(ledger)
    exported = export_text(app)
    assert '"retracted":true,"retraction_reason":"misquoted"' in exported
    assert '"retracted":true,"retraction_reason":"taken down"' in exported
    copy = build_app(fresh_database())
    report = import_bytes(copy, exported.encode(), batch_size=3)
    assert report["errors"] == []
    assert export_text(copy) == exported
    originals, copies = claim_states(app.test_client(), app), claim_states(copy.test_client(), copy)
    assert [s for s, _ in copies] == [s for s, _ in originals]


def test_an_export_as_of_a_past_time_leaves_out_what_came_later(app, ledger):
    for line in SOURCES:
        ledger.post("/v1/sources", {k: v for k, v in line.items() if k != "type"})
    claim = ledger.claim("Before.", attributions=[
        {"source": "nyt", "stance": "supports", "basis": "secondhand", "confidence": 0.5}])
    with connected(app):
        moment = Claim.get_by_id(claim["id"]).updated_at
    ledger.retract(claim["attributions"][0]["id"])
    ledger.claim("After.")
    then, now = export_text(app, moment), export_text(app)
    assert '"text":"After."' in now and '"text":"After."' not in then
    assert '"retracted":true' in now and '"retracted":true' not in then


@pytest.mark.parametrize("bad, field", [
    ({"source": "nobody", "stance": "supports", "basis": "secondhand", "confidence": 0.5},
     "attributions.1.source"),
    ({"source": "nyt", "stance": "supports", "basis": "secondhand", "confidence": "0.5"},
     "attributions.1.confidence"),
    ({"source": "nyt", "document_key": "missing", "stance": "supports", "basis": "secondhand", "confidence": 0.5},
     "attributions.1.document_key"),
])
def test_a_bad_line_in_batch_3_leaves_batches_1_and_2_written(app, bad, field):
    lines = content(20)  # 7 header lines, then claims; batches of 5 lines: line 12 is in batch 3 (lines 11-15)
    lines[11] = {**claim_line(11), "attributions": [attribution(11, 0), bad]}
    report = import_bytes(app, ndjson(lines), batch_size=5)
    assert report["state"] == "failed"
    assert [(e["line"], e["field"]) for e in report["errors"]] == [(12, field)]
    assert [(b["first_line"], b["last_line"], b["written"]) for b in report["batches"]] == [
        (1, 5, True), (6, 10, True), (11, 15, False)]
    with connected(app):
        assert Claim.select().count() == 3 == report["counts"]["claims"]  # lines 8-10
        assert ImportReport.get_by_id(report["id"]).state == "failed"


def test_a_file_saved_on_windows_imports_as_the_same_lines(app, fresh_database):
    """A byte order mark before the first line and CRLF line ends (a Windows editor's file) import as the plain file
    does; the mark does not count toward the first line's byte limit. A mark on a later line is a bad line."""
    plain = ndjson(content(6))
    longest = max(len(line) for line in plain.splitlines())
    windows = b"\xef\xbb\xbf" + plain.replace(b"\n", b"\r\n")
    report = import_bytes(app, windows, max_line_bytes=longest)
    assert report["errors"] == [] and report["counts"]["claims"] == 6 and report["counts"]["sources"] == 6
    copy = build_app(fresh_database())
    assert import_bytes(copy, plain)["errors"] == []
    assert export_text(app) == export_text(copy)
    marked_later = plain + b"\xef\xbb\xbf" + ndjson([claim_line(7)])
    errors = import_bytes(build_app(fresh_database()), marked_later)["errors"]
    assert [(e["line"], e["field"]) for e in errors] == [(14, None)]
    assert errors[0]["reason"].startswith("Not valid JSON")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_a_file_in_another_unicode_encoding_fails_at_line_1_with_what_to_do(app, encoding):
    """Notepad's "Unicode" is UTF-16 with a byte order mark: one error, at line 1, saying to save as UTF-8, rather
    than a report of every line's undecodable bytes."""
    text = ndjson(content(2)).decode()
    data = text.encode(encoding) if encoding != "utf-16-be" else b"\xfe\xff" + text.encode(encoding)
    report = import_bytes(app, data)
    name = encoding.upper()[:6]
    assert report["errors"] == [{"line": 1, "field": None,
                                 "reason": f"The file is {name} text; JSON Lines are UTF-8: save it as UTF-8."}]
    assert report["counts"]["sources"] == 0 and report["lines"] == 1


def test_a_line_that_is_not_utf8_names_the_byte(app):
    source = {"type": "source", "id": "agencia", "name": "Agência", "kind": "news_outlet", "reliability": "C"}
    latin1 = json.dumps(source, ensure_ascii=False).encode("latin-1") + b"\n"
    report = import_bytes(app, ndjson(SOURCES) + latin1)
    position = latin1.index(b"\xea") + 1
    assert report["errors"] == [{"line": 7, "field": None,
                                 "reason": f"Not UTF-8 text: byte 0xea at byte {position} of the line."}]


def test_a_dry_run_validates_and_writes_nothing(app):
    report = import_bytes(app, ndjson(content(10)), dry_run=True)
    assert report["errors"] == [] and report["id"] is None and report["counts"]["claims"] == 10
    with connected(app):
        assert Claim.select().count() == 0 and ImportReport.select().count() == 0


def test_an_import_leaves_its_connection_as_it_found_it(app):
    """The import's page cache and WAL checkpoints (SQLite) are its own: the connection is lent back as it was."""
    with connected(app) as database:
        def settings():
            return () if is_postgresql() else (database.pragma("cache_size"), database.checkpoint_pages())

        before = settings()
        report = bulk.import_ndjson(io.BytesIO(ndjson(content(10))), batch_size=5)
        assert report["errors"] == [] and report["counts"]["claims"] == 10
        assert settings() == before and (is_postgresql() or before[1] > 0)


def test_a_killed_import_leaves_whole_batches_only(database_url, tmp_path):
    app = build_app(database_url)
    claims = 40_000
    path = tmp_path / "big.ndjson"
    path.write_bytes(ndjson([*SOURCES, *({"type": "claim", "text": f"Claim {i}.", "attributions": [
        {"source": "nyt", "stance": "supports", "basis": "secondhand", "confidence": 0.5},
        {"source": "reuters", "via": ["el-heraldo"], "stance": "supports", "basis": "firsthand", "confidence": 0.7},
    ]} for i in range(claims))]))
    env = {**os.environ, "REPORTEDLY_DATABASE_URL": database_url}
    process = subprocess.Popen([BIN / "reportedly", "import", "--batch-size", "500", str(path)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            with connected(app):
                row = ImportReport.select().first()
                if row is not None and sum(b["written"] for b in row.body["batches"]) >= 3:
                    break
            time.sleep(0.05)
        assert process.poll() is None, "the import ended before it could be interrupted"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    with connected(app):
        row = ImportReport.select().first()
        written = [b for b in row.body["batches"] if b["written"]]
        count = Claim.select().count()
        assert row.state == "running" and 3 <= len(written) < claims // 500
        assert written[-1]["last_line"] == 500 * len(written) and count == written[-1]["last_line"] - len(SOURCES)
        assert count == row.body["counts"]["claims"]
        assert Attribution.select().count() == 2 * count and HistoryEntry.select().count() == count


# --- HTTP ------------------------------------------------------------------------------


def post_import(client, data, token=None, content_type="application/x-ndjson", **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post("/v1/imports", data=data, headers=headers, content_type=content_type, query_string=params)


def test_the_import_endpoint_needs_the_admin_scope(client, tokens):
    data = ndjson(content(3))
    assert post_import(client, data).status_code == 401
    assert post_import(client, data, tokens["write"]).status_code == 403
    response = post_import(client, data, tokens["admin"])
    assert response.status_code == 201, response.get_json()
    report = response.get_json()
    assert report["counts"]["claims"] == 3 and response.headers["Location"] == f"/v1/imports/{report['id']}"
    assert client.get(f"/v1/imports/{report['id']}").status_code == 401
    kept = client.get(f"/v1/imports/{report['id']}", headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert kept.status_code == 200 and kept.get_json() == report
    assert client.get("/v1/imports/999", headers={"Authorization": f"Bearer {tokens['admin']}"}).status_code == 404


def test_the_import_endpoint_reports_bad_lines_and_dry_runs(client, tokens):
    lines = content(6)
    lines[9] = {**lines[9], "text": ""}
    response = post_import(client, ndjson(lines), tokens["admin"], batch_size=8)
    body = response.get_json()
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert body["errors"] == {"lines.10.text": ["Length must be between 1 and 2000."]}
    assert "up to line 8" in body["detail"]
    kept = client.get(response.headers["Location"], headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert kept.get_json()["state"] == "failed" and kept.get_json()["counts"]["claims"] == 1
    dry = post_import(client, ndjson([claim_line(i) for i in range(3)]), tokens["admin"], dry_run="true")
    assert dry.status_code == 200, dry.get_json()
    assert dry.get_json()["id"] is None and dry.get_json()["counts"]["claims"] == 3
    assert len(client.get("/v1/claims").get_json()["items"]) == 1
    assert post_import(client, b"{}", tokens["admin"], content_type="application/json").status_code == 415
    assert post_import(client, b"", tokens["admin"]).status_code == 400


def test_the_import_endpoint_limits_body_and_line_size(database_url):
    app = build_app(database_url, IMPORT_MAX_BYTES=4000, IMPORT_MAX_LINE_BYTES=300)
    client = app.test_client()
    with connected(app):
        from service.auth import create_token
        token = create_token("importer", "admin")
    too_big = post_import(client, b"\n" * 4001, token)
    assert too_big.status_code == 413 and too_big.mimetype == "application/problem+json"
    long_line = ndjson(SOURCES[:1]) + json.dumps({"type": "claim", "text": "x" * 400}).encode() + b"\n"
    response = post_import(client, long_line, token)
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"lines.2": ["Longer than 300 bytes."]}


def test_the_commands_import_and_export_through_files_and_pipes(database_url, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from service.cli import main

    build_app(database_url)
    monkeypatch.setenv("REPORTEDLY_DATABASE_URL", database_url)
    runner = CliRunner()
    lines = content(8)
    bad = runner.invoke(main, ["import", "--batch-size", "4", "-"], input=ndjson([*lines[:9], {"type": "claim"}]))
    assert bad.exit_code == 1
    assert json.loads(bad.stdout)["errors"] == [{"line": 10, "field": "text", "reason": "Missing data for required field."}]
    assert "import: 8 lines" in bad.stderr  # plain progress lines when not on a terminal
    (tmp_path / "in.ndjson").write_bytes(ndjson([claim_line(i) for i in (0, 1, 2, 4)]))
    good = runner.invoke(main, ["import", str(tmp_path / "in.ndjson")])
    assert good.exit_code == 0 and json.loads(good.stdout)["counts"]["claims"] == 4
    exported = runner.invoke(main, ["export", "-"])
    assert exported.exit_code == 0 and exported.stdout.count('"type":"claim"') == 5
    assert runner.invoke(main, ["export", "--as-of", "yesterday", "-"]).exit_code == 2


def test_rows_copied_from_new_claims_equal_the_rows_built_one_by_one(fresh_database, monkeypatch):
    """Claims whose ids run unbroken get their first revisions, states and history entries copied by SQL from
    their rows; the same import with ids that do not (a concurrent writer on PostgreSQL) builds each in Python."""
    def rows(app):
        with connected(app):
            claims = {c.id: to_micros(c.created_at) for c in Claim.select(Claim.id, Claim.created_at)}
            found = {}
            for model, moment in ((ClaimRevision, "valid_from"), (ClaimState, "valid_from"), (HistoryEntry, "at")):
                found[model.__name__] = [
                    ({k: v for k, v in row.items() if k not in ("valid_to", moment)}, micros(row[moment]) == claims[row["claim"]])
                    for row in model.select().order_by(model.id).dicts()
                ]
        return found

    def micros(moment):
        return moment if isinstance(moment, int) else to_micros(moment)

    data = ndjson(content(30))
    copied = build_app(fresh_database())
    assert import_bytes(copied, data, batch_size=8)["errors"] == []
    monkeypatch.setattr(creation, "_in_one_run", lambda claim_ids: False)
    built = build_app(fresh_database())
    assert import_bytes(built, data, batch_size=8)["errors"] == []
    expected = rows(built)
    assert [len(expected[name]) for name in ("ClaimRevision", "ClaimState", "HistoryEntry")] == [30, 30, 30]
    assert all(at_creation for table in expected.values() for *_, at_creation in table)
    assert rows(copied) == expected


def test_a_statement_made_for_a_new_claim_is_the_rules_statement():
    """creation._statement fills a Statement's fields directly (quicker than its frozen __init__): the same object."""
    now, published = datetime(2026, 5, 2, tzinfo=timezone.utc), datetime(2026, 5, 1, tzinfo=timezone.utc)
    document = types.SimpleNamespace(published_at=published)
    cases = [
        ({"source": "nyt", "stance": "supports", "basis": "secondhand", "confidence": 0.6, "via": ["el-heraldo"]},
         document, dict(via=("el-heraldo",), published_at=published)),
        ({"source": "kcna", "stance": "denies", "basis": "official", "confidence": 1.0, "via": [],
          "published_at": now, "retracted_at": now}, None, dict(published_at=now, retracted_at=now)),
    ]
    assert not hasattr(Statement, "__post_init__")
    for data, cited, expected in cases:
        made = creation._statement(9, data, cited, now)
        rules = Statement(id=9, source=data["source"], stance=data["stance"], basis=data["basis"],
                          confidence=data["confidence"], recorded_at=now, **expected)
        assert made == rules and hash(made) == hash(rules) and repr(made) == repr(rules)
        assert list(vars(made)) == [field.name for field in dataclasses.fields(Statement)]
        with pytest.raises(dataclasses.FrozenInstanceError):
            made.stance = "supports"
