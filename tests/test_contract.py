"""The OpenAPI document as tools this project did not write read it.

openapi-python-client generates a client without a warning and that client runs the README's
walk-through against a live gunicorn; Spectral (`spectral:oas`) finds nothing; openapi-typescript's
types compile with `tsc --strict`. The npm tools are pinned by tests/package-lock.json and
installed by `make test` into tests/node_modules.
"""

import importlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from service.api import examples
from service.app import create_app
from service.cli import openapi_text
from service.db import db
from service.seeding import load_seeds
from tests.servers import serve_ledger

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
NODE_BIN = ROOT / "tests" / "node_modules" / ".bin"
ENUMERATIONS = {"Status", "Stance", "Basis", "Reliability", "SourceKind", "CauseKind", "JobKind", "JobState",
                "DatabaseEngine", "ImportState", "Language", "ProvFormat"}


def run(*command, cwd=None, env=None):
    """Run a tool; fail the test with its output when it fails."""
    result = subprocess.run([str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{command[0]} failed:\n{result.stdout}\n{result.stderr}"
    return result


def operations(document):
    """(method, path, operation) for every operation of the document."""
    return [(method, path, operation)
            for path, item in document["paths"].items()
            for method, operation in item.items() if method != "parameters"]


def enum_holders(node, where=""):
    """The JSON pointers of every schema in `node` that lists `enum` values."""
    if isinstance(node, dict):
        found = [where] if "enum" in node else []
        return found + [p for key, value in node.items() for p in enum_holders(value, f"{where}/{key}")]
    if isinstance(node, list):
        return [p for index, value in enumerate(node) for p in enum_holders(value, f"{where}/{index}")]
    return []


@pytest.fixture(scope="module")
def document_path(tmp_path_factory):
    """The app's OpenAPI document (as served at /openapi.json and committed in schema/)."""
    path = tmp_path_factory.mktemp("contract") / "openapi.json"
    path.write_text(openapi_text())
    return path


@pytest.fixture(scope="module")
def document(document_path):
    return json.loads(document_path.read_text())


def test_every_operation_has_an_id_a_summary_and_a_description(document):
    found = operations(document)
    ids = [operation.get("operationId") for _, _, operation in found]
    assert None not in ids and len(set(ids)) == len(ids) == len(found)
    assert {"createClaim", "listClaims", "getClaim", "updateClaim", "retractAttribution", "getHealth"} <= set(ids)
    for method, path, operation in found:
        assert operation.get("summary") and operation.get("description"), (method, path)


def test_each_set_of_values_is_one_named_component_used_by_reference(document):
    assert sorted(enum_holders(document)) == sorted(f"/components/schemas/{name}" for name in ENUMERATIONS)
    assert document["components"]["schemas"]["Status"]["enum"] == [
        "confirmed", "disputed", "denied", "reported", "unconfirmed"]
    claim = document["components"]["schemas"]["Claim"]["properties"]
    assert claim["status"] == {"allOf": [{"$ref": "#/components/schemas/Status"}], "readOnly": True}
    [status_filter] = [p for p in document["paths"]["/v1/claims"]["get"]["parameters"] if p["name"] == "status"]
    assert status_filter["schema"]["items"] == {"$ref": "#/components/schemas/Status"}


def test_servers_contact_and_licence_come_from_configuration(document):
    assert document["servers"][0]["url"] == "http://127.0.0.1:8000"
    assert document["info"]["license"]["name"] == "MIT" and document["info"]["contact"]["name"]
    app = create_app({"PUBLIC_URL": "https://claims.example.org/reportedly/"}, with_database=False)
    with app.app_context():
        spec = app.extensions["reportedly.api"].spec.to_dict()
    assert [server["url"] for server in spec["servers"]] == ["https://claims.example.org/reportedly"]


def test_every_request_body_example_is_accepted_on_the_seeded_ledger(document, app, ledger):
    bodies = [(operation["operationId"], method, path, media_type, content)
              for method, path, operation in operations(document)
              for media_type, content in operation.get("requestBody", {}).get("content", {}).items()]
    assert {media_type for *_, media_type, _ in bodies} == {"application/json", "application/x-ndjson"}
    assert [operation_id for operation_id, *_, content in bodies if "example" not in content] == []
    examples = {operation_id: (method, path, content)
                for operation_id, method, path, media_type, content in bodies if media_type == "application/json"}
    # The source example is one of the seed's sources: register it first, then load the rest of the seeds.
    method, path, content = examples.pop("createSource")
    assert ledger.post(path, content["example"])["id"] == "kcna"
    with db.connection_context():
        load_seeds(ROOT / "seeds")
    ids = {"claim_id": 15, "attribution_id": 1, "document_id": 1, "source_id": "kcna"}
    # Retractions last: the other examples cite document 1.
    for operation_id, (method, path, content) in sorted(examples.items(), key=lambda e: "retract" in e[0]):
        url = re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)
        headers = ledger.auth()
        if method == "patch":
            headers["If-Match"] = ledger.client.get(url).headers["ETag"]
        response = ledger.client.open(url, method=method.upper(), json=content["example"], headers=headers)
        assert response.status_code in (200, 201), (operation_id, response.get_json())
    [lines] = [content["example"] for operation_id, *_, content in bodies if operation_id == "createImport"]
    report = ledger.client.post("/v1/imports", data=lines, content_type="application/x-ndjson", headers=ledger.auth())
    assert report.status_code == 201, report.get_json()
    assert report.get_json()["counts"] == {"sources": 0, "documents": 1, "claims": 1, "attributions": 1}


@pytest.fixture(scope="module")
def python_client(document_path, tmp_path_factory):
    """openapi-python-client's output for the document, installed into a folder on sys.path."""
    work = tmp_path_factory.mktemp("python-client")
    # Its post-generation hooks run ruff, which is in this virtualenv.
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    generated = run(BIN / "openapi-python-client", "generate", "--path", document_path, "--meta", "setup",
                    "--config", Path(__file__).parent / "openapi-python-client.yaml", "--fail-on-warning",
                    cwd=work, env=env)
    site = work / "site"
    run(sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", site,
        work / "reportedly-client")
    sys.path.insert(0, str(site))
    yield {"output": generated.stdout + generated.stderr, "folder": work / "reportedly-client"}
    sys.path.remove(str(site))
    for name in [name for name in sys.modules if name.split(".")[0] == "reportedly_client"]:
        del sys.modules[name]


@pytest.mark.contract
def test_openapi_python_client_generates_every_operation_without_warnings(python_client, document):
    assert python_client["output"].strip() == f"Generating {python_client['folder']}"
    for _, _, operation in operations(document):
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", operation["operationId"]).lower()
        module = importlib.import_module(f"reportedly_client.api.{operation['tags'][0].lower()}.{snake}")
        assert callable(module.sync), operation["operationId"]


@pytest.mark.contract
def test_every_schema_keeps_its_name_in_the_generated_client(python_client, document):
    # A name the generator must change (ImportError shadows Python's builtin: ImportError_) is one a user trips on.
    models = importlib.import_module("reportedly_client.models")
    assert sorted(set(document["components"]["schemas"]) - set(models.__all__)) == []


def readme_walk_through():
    """The Python block of the README's "Use it from code" section."""
    section = (ROOT / "README.md").read_text().split("## Use it from code", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


@pytest.mark.contract
@pytest.mark.e2e
def test_the_readme_walk_through_runs_with_the_generated_client(python_client, fresh_database, tmp_path,
                                                               monkeypatch, capsys):
    from reportedly_client.models import AttributionResult, CauseKind, Claim, HistoryEntry, Status

    with serve_ledger(fresh_database(), tmp_path / "gunicorn.log", seeds=ROOT / "seeds") as (base, token):
        (tmp_path / "var").mkdir()
        (tmp_path / "var" / "admin.token").write_text(token + "\n")
        monkeypatch.chdir(tmp_path)
        walk = readme_walk_through().replace("http://127.0.0.1:8000", base)
        names = {}
        exec(compile(walk, "README.md (Use it from code)", "exec"), names)

    claim, added, history, then = names["claim"], names["added"], names["history"], names["then"]
    assert isinstance(claim, Claim) and claim.status is Status.REPORTED
    assert isinstance(added, AttributionResult) and added.claim.status is Status.CONFIRMED
    assert added.claim.explanation[0].startswith("confirmed: independent credible origins")
    assert all(isinstance(entry, HistoryEntry) for entry in history)
    assert [(entry.cause.kind, entry.status) for entry in history] == [
        (CauseKind.CREATED, Status.REPORTED), (CauseKind.ATTRIBUTION, Status.CONFIRMED)]
    assert history[0].at.tzinfo is not None
    assert isinstance(then, Claim) and then.status is Status.REPORTED and len(then.attributions) == 1
    # Each print's comment in the README is what it prints ("..." standing for the rest of a line).
    shown = [line.split("# ", 1)[1] for line in readme_walk_through().splitlines() if line.startswith("print(")]
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == len(shown) == 4
    for expected, line in zip(shown, printed, strict=True):
        assert re.fullmatch(re.escape(expected).replace(re.escape("..."), ".*"), line), (expected, line)


@pytest.mark.contract
@pytest.mark.e2e
def test_the_generated_client_drives_imports_jobs_and_interchange(python_client, fresh_database, tmp_path):
    """The operations added after the walk-through, called the way a generated client calls them."""
    from reportedly_client import AuthenticatedClient, models
    from reportedly_client.api.claims import list_claims
    from reportedly_client.api.health import get_health
    from reportedly_client.api.imports import create_import, get_import
    from reportedly_client.api.interchange import get_claim_provenance, get_claim_review, list_claim_reviews
    from reportedly_client.api.jobs import get_job
    from reportedly_client.api.sources import get_source, update_source
    from reportedly_client.api.summary import get_summary
    from reportedly_client.types import File

    # A source behind one claim or more is re-graded by a job: the 202 answer of PATCH /v1/sources/{id}.
    database_url = fresh_database()
    with serve_ledger(database_url, tmp_path / "gunicorn.log", seeds=ROOT / "seeds",
                      REPORTEDLY_REGRADE_INLINE_LIMIT="0") as (base, token):
        api = AuthenticatedClient(base, token=token)
        report = create_import.sync(client=api, body=File(payload=io.BytesIO(examples.IMPORT.encode())))
        assert isinstance(report, models.ImportReport) and report.state is models.ImportState.COMPLETED, report
        assert get_import.sync(report.id, client=api).counts.claims == 1
        [[claim_id, _]] = report.created.claims

        etag = get_source.sync_detailed("el-heraldo", client=api).headers["ETag"]
        change = models.SourcePatch(reliability=models.Reliability.D)
        job = update_source.sync("el-heraldo", client=api, body=change, if_match=etag)
        assert isinstance(job, models.Job) and job.kind is models.JobKind.SOURCE_CHANGE, job
        assert get_job.sync(job.id, client=api).state in set(models.JobState)

        wanted = {models.Status.CONFIRMED, models.Status.REPORTED}
        page = list_claims.sync(client=api, status=sorted(wanted))
        assert isinstance(page, models.ClaimPage) and {item.status for item in page.items} <= wanted
        assert claim_id in [item.id for item in page.items]
        review = get_claim_review.sync(claim_id, client=api).to_dict()
        assert review["@type"] == "ClaimReview"
        assert review["claimReviewed"] == "Kim Jong-un arrived in Vladivostok by train."
        assert list_claim_reviews.sync(client=api).to_dict()["@type"] == "DataFeed"
        assert "entity" in get_claim_provenance.sync(claim_id, client=api).to_dict()
        summary = get_summary.sync(client=api)
        assert isinstance(summary, models.Summary) and summary.total == 20
        health = get_health.sync(client=api)
        assert isinstance(health, models.Health)
        assert health.engine is models.DatabaseEngine(database_url.split(":")[0])


@pytest.mark.contract
def test_spectral_oas_finds_no_error_and_no_warning(document_path, tmp_path):
    report = tmp_path / "spectral.json"
    run(NODE_BIN / "spectral", "lint", "--ruleset", ROOT / ".spectral.yaml", "--format", "json", "--output", report,
        "--fail-severity", "hint", "--quiet", document_path)
    findings = json.loads(report.read_text())
    assert [(f["code"], "/".join(map(str, f["path"])), f["message"]) for f in findings] == []


@pytest.mark.contract
def test_openapi_typescript_types_compile_strict_with_a_usage_file(document_path, tmp_path):
    run(NODE_BIN / "openapi-typescript", document_path, "--output", tmp_path / "schema.d.ts")
    shutil.copy(ROOT / "tests" / "typescript" / "read-status.ts", tmp_path)
    run(NODE_BIN / "tsc", "--strict", "--noEmit", "--target", "es2022", "--module", "esnext",
        "--moduleResolution", "bundler", "schema.d.ts", "read-status.ts", cwd=tmp_path)
