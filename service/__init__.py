"""reportedly: a claim-provenance ledger that tells what is confirmed from what is only reported."""

import logging

from flask import Flask

from . import auth, idempotency, ratelimit
from .api import register_api
from .api.openapi import spec_options
from .config import load_config
from .db import init_database, register_connection_hooks
from .problems import register_error_handlers


def create_app(config=None):
    """Build the application: config, database, request hooks, API, error handlers."""
    app = Flask(__name__)
    configure(app, config)
    database = app.extensions["reportedly.db"] = init_database(app.config)
    register_request_hooks(app, database)
    app.extensions["reportedly.api"] = register_api(app)
    register_error_handlers(app)
    return app


def configure(app, overrides=None):
    """Effective settings plus what Flask and flask-smorest need."""
    app.config.update(load_config(overrides))
    app.config.update(
        MAX_CONTENT_LENGTH=app.config["MAX_BODY_BYTES"],
        API_TITLE="reportedly",
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/",
        API_SPEC_OPTIONS=spec_options(app.config["PUBLIC_URL"]),
    )
    logging.getLogger("reportedly").setLevel(app.config["LOG_LEVEL"].upper())


def register_request_hooks(app, database):
    """Per request, in order: connect, authenticate, rate-limit, claim an Idempotency-Key."""
    register_connection_hooks(app, database)
    app.before_request(auth.authenticate)
    ratelimit.init_rate_limit(app)
    app.before_request(ratelimit.limit_requests)
    app.before_request(idempotency.claim_key)
    app.after_request(idempotency.store_answer)
    app.teardown_request(idempotency.release_on_error)
