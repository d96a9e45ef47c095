"""The `reportedly` command: migrate, seed, keys create|list|revoke, openapi."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from service.cli import main, openapi_text
from service.migrations import LATEST

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("REPORTEDLY_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(main, list(args), catch_exceptions=False)
        return result

    return invoke


def test_keys_lifecycle(run):
    assert run("migrate").output.strip() == f"schema at version {LATEST}"
    created = run("keys", "create", "--name", "desk", "--scope", "write")
    assert created.exit_code == 0
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("rpt_") and len(token) > 40
    listed = run("keys", "list")
    assert "desk\twrite" in listed.output and token not in listed.output
    assert run("keys", "create", "--name", "desk", "--scope", "read").exit_code != 0
    assert run("keys", "revoke", "desk").exit_code == 0
    assert "revoked" in run("keys", "list").output
    assert run("keys", "revoke", "desk").exit_code != 0


def test_seed_is_idempotent(run):
    run("migrate")
    assert run("seed", str(ROOT / "seeds")).output.strip() == "7 sources added, 1 documents added, 19 claims added"
    assert run("seed", str(ROOT / "seeds")).output.strip() == "0 sources added, 0 documents added, 0 claims added"


def test_a_domain_error_in_any_command_is_a_message_and_exit_1(run, tmp_path):
    """A seed citing an unknown source: the ledger's Invalid reaches the user as a line, not a traceback."""
    seed = tmp_path / "bad.json"
    seed.write_text(json.dumps({"claims": [{"text": "A claim.", "attributions": [
        {"source": "nobody", "stance": "supports", "basis": "secondhand", "confidence": 0.5}]}]}))
    run("migrate")
    refused = run("seed", str(seed))
    assert refused.exit_code == 1 and refused.output == "Error: Unknown source: nobody.\n"


def test_verify_finds_what_was_tampered_with(run):
    run("migrate")
    run("seed", str(ROOT / "seeds"))
    checked = run("verify")
    assert checked.exit_code == 0 and "ledger verified" in checked.output
    from service.config import load_config
    from service.count_models import TallyDelta
    from service.db import close_all, init_database
    from service.models import Claim, TermSpan, WordSpan

    database = init_database(load_config())
    with database.connection_context():
        Claim.update(status="disputed").where(Claim.id == 3).execute()
        TallyDelta.update(delta=TallyDelta.delta + 1).where(TallyDelta.id == 1).execute()
        WordSpan.update(words=WordSpan.words.concat("extra ")).where(WordSpan.claim == 4).execute()
        term = TermSpan.select().order_by(TermSpan.id).first()
        term.delete_instance()
    close_all(database)
    tampered = run("verify")
    assert tampered.exit_code == 1
    assert "claim 3: stored fields differ" in tampered.output and "counts by status (now) differ" in tampered.output
    assert "claim 4: indexed words differ" in tampered.output
    assert f"claim {term.claim_id}: indexed terms differ" in tampered.output


def test_the_committed_openapi_document_matches_the_code():
    committed = (ROOT / "schema" / "openapi.json").read_text()
    assert committed == openapi_text(), "schema/openapi.json is stale: run `reportedly openapi`"
    document = json.loads(committed)
    assert document["openapi"].startswith("3.") and "/v1/claims" in document["paths"]


def test_describing_the_api_leaves_the_process_database_bound_as_it_was(app, client):
    """The database is set up once per process: neither the OpenAPI document nor a request re-points it."""
    from service.db import db

    bound = app.extensions["reportedly.db"]
    assert db.obj is bound
    openapi_text()
    assert db.obj is bound
    assert client.get("/v1/claims").status_code == 200
    assert db.obj is bound


def test_the_app_serves_its_openapi_document_and_a_browsable_page(client):
    served = client.get("/openapi.json")
    assert served.status_code == 200 and served.get_json() == json.loads(openapi_text())
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html" and "/openapi.json" in page.get_data(as_text=True)


def test_every_setting_is_in_the_readme_table():
    from service.config import DEFAULTS

    readme = (ROOT / "README.md").read_text()
    missing = [name for name in DEFAULTS if f"| `REPORTEDLY_{name}` |" not in readme]
    assert not missing, f"README's configuration table lacks {missing}"


def test_invalid_settings_fail_with_the_variable_named():
    from service.config import load_config

    with pytest.raises(ValueError, match="REPORTEDLY_PUBLIC_READS"):
        load_config(environ={"REPORTEDLY_PUBLIC_READS": "maybe"})
    with pytest.raises(ValueError, match="REPORTEDLY_WORKERS must be a whole number"):
        load_config(environ={"REPORTEDLY_WORKERS": "two"})
    assert load_config(environ={"REPORTEDLY_PUBLIC_READS": "false", "REPORTEDLY_WORKERS": "4"})["WORKERS"] == 4


@pytest.mark.parametrize("name, raw", [
    ("SQLITE_BUSY_TIMEOUT_SECONDS", "nan"),
    ("SQLITE_BUSY_TIMEOUT_SECONDS", "inf"),
    ("SQLITE_BUSY_TIMEOUT_SECONDS", "-1"),
    ("DB_POOL_TIMEOUT_SECONDS", "1e3"),
    ("RATE_LIMIT_PER_MINUTE", "-5"),
    ("MAX_BODY_BYTES", "٣"),
    ("WORKERS", "0"),
    ("RATE_LIMIT_WINDOW_SECONDS", "0"),
    ("DATABASE_URL", "sqlite://x.db"),
    ("RATE_LIMIT_STORAGE", "redis//localhost"),
])
def test_settings_that_would_mean_something_else_are_refused(name, raw):
    from service.config import load_config

    with pytest.raises(ValueError, match=f"REPORTEDLY_{name} must"):
        load_config(environ={f"REPORTEDLY_{name}": raw})


def test_overrides_are_checked_too():
    from service.config import load_config

    with pytest.raises(ValueError, match="REPORTEDLY_SQLITE_BUSY_TIMEOUT_SECONDS must be a finite"):
        load_config({"SQLITE_BUSY_TIMEOUT_SECONDS": float("nan")}, environ={})
    assert load_config(environ={"REPORTEDLY_DATABASE_URL": "sqlite:////tmp/x.db"})["DATABASE_URL"] == "sqlite:////tmp/x.db"
