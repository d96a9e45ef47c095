"""schemathesis against the app's own OpenAPI document: every operation, positive and negative data.

schemathesis parametrizes when the module is collected, so the apps are built
then: one on a temporary SQLite file, one in a PostgreSQL schema of its own when
REPORTEDLY_TEST_DATABASE_URL is set. Both hold the seed article.
"""

import tempfile
import uuid
from pathlib import Path

import pytest
import schemathesis
from schemathesis.generation.modes import GenerationMode

from service.auth import create_token
from service.db import close_all, db
from service.seeding import load_seeds
from tests.conftest import POSTGRESQL_URL, build_app, postgresql_admin, with_search_path

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
# If-None-Match: * is a 304 (RFC 9110). Schema-valid data may still refer to records
# that do not exist, or carry a cursor this service never issued: a 422 the OpenAPI
# document cannot foresee. A positive case's 422 is admitted only when every field it
# names is one of these references.
REFERENCE_FIELDS = {"source", "via", "document_id", "publisher", "parties", "cursor", "quote", "affiliation", "id"}


def seeded_app(database_url):
    app = build_app(database_url)
    with db.connection_context():
        load_seeds(SEEDS)
        app.config["TEST_TOKEN"] = create_token("schemathesis", "admin")
    return app


def schema_of(app):
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=40, deterministic=True
    )
    # Point path ids at seeded records so generated writes reach the handlers, not only 404s.
    schema.config.update(parameters={"claim_id": 9, "source_id": "nyt", "document_id": 1, "attribution_id": 3})
    schema.config.checks.positive_data_acceptance.expected_statuses = [
        "2XX", "304", "401", "403", "404", "409", "412", "422", "428"]
    # RFC 6585: a PATCH without the required If-Match header is 428 Precondition Required.
    schema.config.checks.missing_required_header.expected_statuses = ["400", "401", "403", "422", "428"]
    return schema


def conforms(app, case):
    headers = {"Authorization": f"Bearer {app.config['TEST_TOKEN']}"}
    if case.method == "PATCH":
        # the database is shared by every generated case: read the current tag first
        current = app.test_client().get(case.formatted_path)
        headers["If-Match"] = current.headers.get("ETag", '"none"')
    response = case.call_and_validate(headers=headers)
    if case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE and response.status_code == 422:
        named = {field.split(".")[-1] for field in response.json().get("errors", {})}
        assert named <= REFERENCE_FIELDS, f"schema-valid input rejected for {named}: {response.text}"


SQLITE_APP = seeded_app(f"sqlite:///{Path(tempfile.mkdtemp(prefix='schemathesis-')) / 'ledger.db'}")
sqlite_schema = schema_of(SQLITE_APP)


@sqlite_schema.parametrize()
def test_api_conforms_on_sqlite(case):
    conforms(SQLITE_APP, case)


if POSTGRESQL_URL:
    PG_SCHEMA = f"test_{uuid.uuid4().hex[:12]}"
    postgresql_admin(f"CREATE SCHEMA {PG_SCHEMA}")
    POSTGRESQL_APP = seeded_app(with_search_path(POSTGRESQL_URL, PG_SCHEMA))
    postgresql_schema = schema_of(POSTGRESQL_APP)

    @pytest.fixture(scope="module", autouse=True)
    def drop_postgresql_schema():
        yield
        close_all(POSTGRESQL_APP.extensions["reportedly.db"])
        postgresql_admin(f"DROP SCHEMA {PG_SCHEMA} CASCADE")

    @postgresql_schema.parametrize()
    def test_api_conforms_on_postgresql(case):
        conforms(POSTGRESQL_APP, case)

else:

    def test_api_conforms_on_postgresql():
        pytest.skip("PostgreSQL half: set REPORTEDLY_TEST_DATABASE_URL to run it")
