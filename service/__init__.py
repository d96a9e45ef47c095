"""reportedly: a claim-provenance ledger that tells what is confirmed from what is only reported."""

import logging

from flask import Flask, g

from . import auth, ratelimit
from .api import register_api
from .config import load_config
from .db import borrow, give_back, init_database
from .problems import register_error_handlers
from .web import register_web


def create_app(config=None, with_database=True):
    """Build the application: config, database, request hooks, API, web pages, error handlers.

    `with_database=False` builds the app only to describe it (the OpenAPI document): no database is set up.
    """
    app = Flask(__name__)
    configure(app, config)
    if with_database:
        app.extensions["reportedly.db"] = init_database(app.config)
        register_request_hooks(app)
    app.extensions["reportedly.api"] = register_api(app)
    register_web(app)
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
        API_SPEC_OPTIONS={
            "info": {"description": "What is confirmed, and what is only reported: a ledger of claims."},
        },
    )
    logging.getLogger("reportedly").setLevel(app.config["LOG_LEVEL"].upper())


def register_request_hooks(app):
    """Per request, in order: borrow the connection, authenticate, rate-limit; give the connection back."""
    app.before_request(_borrow_connection)
    app.before_request(auth.authenticate)
    ratelimit.init_rate_limit(app)
    app.before_request(ratelimit.limit_requests)
    app.teardown_request(_give_back_connection)


def _borrow_connection():
    g.opened_connection = borrow()


def _give_back_connection(error):
    give_back(g.pop("opened_connection", False), error)
