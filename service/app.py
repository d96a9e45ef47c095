"""The app factory: Flask with the configuration, database, API, web pages and error handlers, in named steps.

Kept out of the package's __init__ so that the CLI and the importer, which need no web stack, start without
loading one.
"""

import logging

from flask import Flask, current_app, g
from werkzeug.middleware.proxy_fix import ProxyFix

from . import auth, observability, ratelimit
from .api import register_api
from .api.docs import STATIC_URL
from .api.openapi import spec_options
from .config import load_config
from .context_proxies import quicken_flask_proxies
from .db import borrow, give_back, init_database
from .http_headers import AnswerHeaders
from .problems import register_error_handlers
from .web import register_web


class App(Flask):
    """Flask, deciding once per function (not at every call) that a hook or view is synchronous.

    Flask asks `inspect.iscoroutinefunction` of every hook and view at every request: eleven
    times for each request here. None of ours is async, and the answer for a function never changes.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._synchronous = set()

    def ensure_sync(self, func):
        function = getattr(func, "__func__", func)  # a MethodView's bound method is new at every request
        if function in self._synchronous:
            return func
        wrapped = super().ensure_sync(func)
        if wrapped is func:
            self._synchronous.add(function)
        return wrapped


def create_app(config=None, with_database=True):
    """Build the application: Flask's proxies quickened, config, database, observability, answer headers, request
    hooks, API, web pages, error handlers.

    `with_database=False` builds the app only to describe it (the OpenAPI document): no database is set up.
    """
    quicken_flask_proxies()
    app = App(__package__)  # named for the package, as when this factory lived in its __init__
    configure(app, config)
    observability.init_observability(app, read_guard=auth.requires("read"))
    trust_proxies(app)
    app.wsgi_app = AnswerHeaders(app.wsgi_app)
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
        OPENAPI_SWAGGER_UI_URL=STATIC_URL,
        API_SPEC_OPTIONS=spec_options(app.config["PUBLIC_URL"]),
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


def register_request_hooks(app):
    """Per request, in order: borrow the connection, authenticate (failures limited first), rate-limit; give the
    connection back."""
    app.before_request(_borrow_connection)
    app.before_request(auth.authenticate)
    ratelimit.init_rate_limit(app)
    app.teardown_request(_give_back_connection)


def _borrow_connection():
    g.opened_connection = borrow(current_app.extensions["reportedly.db"])


def _give_back_connection(error):
    give_back(g.pop("opened_connection", False), error or g.pop("database_error", None))
