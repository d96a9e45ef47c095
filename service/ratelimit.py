"""Rate limits (Flask-Limiter, moving window): requests per client, and failed authentications per address.

With REPORTEDLY_RATE_LIMIT_STORAGE=redis://... the counts live in Redis, so every
worker of every instance shares one limit; the default, memory://, counts in each
worker process. Failed authentications are counted per address and checked before
a presented token is looked up, so guessing tokens is throttled too.
"""

import math
import time

import limits
from flask import current_app, g, request
from flask_limiter import Limiter

from .problems import Problem, problem_response

EXEMPT_PATHS = ("/healthz",)


def client_key():
    """Whom a request counts against: its token, or its address without one."""
    token = g.get("token")
    return f"token:{token.key_id}" if token is not None else f"addr:{request.remote_addr}"


def _retry_after(reset_at):
    return str(max(1, math.ceil(reset_at - time.time())))


def _too_many(request_limit):
    """on_breach: the problem+json 429, with Retry-After from the moving window."""
    reset_at, _ = request_limit.window
    wait = _retry_after(reset_at)
    return problem_response(429, f"Too many requests; retry in {wait} s.", headers={"Retry-After": wait})


def init_rate_limit(app):
    """Give the app its limiter: the request limit and the auth-failure limit, each unless it is 0."""
    per_window, window = app.config["RATE_LIMIT_PER_MINUTE"], app.config["RATE_LIMIT_WINDOW_SECONDS"]
    failures = app.config["AUTH_FAILURE_LIMIT"]
    if per_window <= 0 and failures <= 0:
        return
    limiter = Limiter(
        key_func=client_key,
        app=app,
        default_limits=[f"{per_window} per {window} second"] if per_window > 0 else [],
        default_limits_exempt_when=lambda: request.path in EXEMPT_PATHS,
        strategy="moving-window",
        storage_uri=app.config["RATE_LIMIT_STORAGE"],
        # Redis down: count in this process rather than refuse every request or count nothing.
        in_memory_fallback_enabled=True,
        on_breach=_too_many,
        key_prefix="reportedly",
    )
    app.extensions["reportedly.ratelimit"] = limiter
    if failures > 0:
        app.extensions["reportedly.auth_failure_limit"] = limits.parse(f"{failures} per {window} second")


def _auth_failure_limit():
    limiter = current_app.extensions.get("reportedly.ratelimit")
    item = current_app.extensions.get("reportedly.auth_failure_limit")
    return (limiter.limiter, item) if limiter is not None and item is not None else (None, None)


def check_auth_failures():
    """Before a presented token is looked up: 429 if this address has failed authentication too often."""
    strategy, item = _auth_failure_limit()
    if strategy is None:
        return
    address = f"auth-failure:{request.remote_addr}"
    if not strategy.test(item, address):
        reset_at, _ = strategy.get_window_stats(item, address)
        wait = _retry_after(reset_at)
        raise Problem(429, f"Too many failed authentications; retry in {wait} s.", headers={"Retry-After": wait})


def count_auth_failure():
    """Count one failed authentication against the request's address."""
    strategy, item = _auth_failure_limit()
    if strategy is not None:
        strategy.hit(item, f"auth-failure:{request.remote_addr}")
