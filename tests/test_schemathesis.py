"""schemathesis against the app's own OpenAPI document: every operation, positive and negative data.

The schema is loaded when the module is collected (schemathesis parametrizes at
collection time), from an app on its own temporary SQLite file with the seeds loaded.
"""

import tempfile
from pathlib import Path

import schemathesis
from schemathesis.generation.modes import GenerationMode

from service.auth import create_token
from service.db import db
from service.seeding import load_seeds
from tests.conftest import build_app

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def seeded_app():
    app = build_app(f"sqlite:///{Path(tempfile.mkdtemp(prefix='schemathesis-')) / 'ledger.db'}")
    db.connect(reuse_if_open=True)
    try:
        load_seeds(SEEDS)
        app.config["TEST_TOKEN"] = create_token("schemathesis", "admin")
    finally:
        db.close()
    return app


APP = seeded_app()
schema = schemathesis.openapi.from_wsgi("/openapi.json", APP)
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=40, deterministic=True
)
# Point path ids at seeded records so generated writes reach the handlers, not only 404s.
schema.config.update(parameters={"claim_id": 9, "source_id": "nyt", "document_id": 1, "attribution_id": 3})
# If-None-Match: * is a 304 (RFC 9110). Schema-valid data may still refer to records that do not exist, or carry a cursor this
# service never issued: a 422 the OpenAPI document cannot foresee. The test below admits
# such a 422 only when every field it names is one of these references.
REFERENCE_FIELDS = {"source", "via", "document_id", "publisher", "parties", "cursor", "quote", "affiliation", "id"}
schema.config.checks.positive_data_acceptance.expected_statuses = ["2XX", "304", "401", "403", "404", "409", "412", "422", "428"]
# RFC 6585: a PATCH without the required If-Match header is 428 Precondition Required.
schema.config.checks.missing_required_header.expected_statuses = ["400", "401", "403", "422", "428"]


@schema.parametrize()
def test_api_conforms_to_its_own_openapi_document(case):
    headers = {"Authorization": f"Bearer {APP.config['TEST_TOKEN']}"}
    if case.method == "PATCH":
        # the app database is shared by every generated case: read the current tag first
        current = APP.test_client().get(case.formatted_path)
        headers["If-Match"] = current.headers.get("ETag", '"none"')
    response = case.call_and_validate(headers=headers)
    if case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE and response.status_code == 422:
        named = {field.split(".")[-1] for field in response.json().get("errors", {})}
        assert named <= REFERENCE_FIELDS, f"schema-valid input rejected for {named}: {response.text}"
