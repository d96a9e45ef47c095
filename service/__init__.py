"""reportedly: a claim-provenance ledger that tells what is confirmed from what is only reported."""

import logging

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import auth, idempotency, ratelimit
from .api import register_api
from .api.docs import STATIC_URL
from .config import load_config
from .db import init_database, register_connection_hooks
from .http_headers import add_security_headers
from .problems import register_error_handlers


def create_app(config=None):
    """Build the application: config, database, request hooks, API, error handlers."""
    app = Flask(__name__)
    configure(app, config)
    trust_proxies(app)
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
        OPENAPI_SWAGGER_UI_URL=STATIC_URL,
        API_SPEC_OPTIONS={
            "info": {"description": "What is confirmed, and what is only reported: a ledger of claims."},
        },
    )
    logging.getLogger("reportedly").setLevel(app.config["LOG_LEVEL"].upper())
    # `//` in a path is a 404, never a redirect: a redirect would be built from a forged Host header.
    app.url_map.merge_slashes = False
    app.url_map.strict_slashes = False


def trust_proxies(app):
    """Behind REPORTEDLY_TRUSTED_PROXIES proxies, take the client's address, scheme and host from them."""
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def register_request_hooks(app, database):
    """Per request, in order: connect, authenticate (failures limited first), rate-limit, claim an Idempotency-Key."""
    register_connection_hooks(app, database)
    app.before_request(auth.authenticate)
    ratelimit.init_rate_limit(app)
    app.before_request(idempotency.claim_key)
    app.after_request(idempotency.store_answer)
    app.teardown_request(idempotency.release_on_error)
    app.after_request(add_security_headers)
