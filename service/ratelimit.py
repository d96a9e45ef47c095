"""Rate limits (moving window): requests per client (Flask-Limiter), and failed authentications per address.

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
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

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
    """Give the app its limits: the request limit and the auth-failure limit, each unless it is 0."""
    per_window, window = app.config["RATE_LIMIT_PER_MINUTE"], app.config["RATE_LIMIT_WINDOW_SECONDS"]
    failures = app.config["AUTH_FAILURE_LIMIT"]
    if per_window > 0:
        limiter = Limiter(
            key_func=client_key,
            app=app,
            default_limits=[f"{per_window} per {window} second"],
            default_limits_exempt_when=lambda: request.path in EXEMPT_PATHS,
            strategy="moving-window",
            storage_uri=app.config["RATE_LIMIT_STORAGE"],
            # Redis down: count in this process rather than refuse every request or count nothing.
            in_memory_fallback_enabled=True,
            on_breach=_too_many,
            key_prefix="reportedly",
        )
        strategy = lambda: limiter.limiter  # noqa: E731 (Flask-Limiter's, or its fallback while Redis is down)
    elif failures > 0:
        # Without a request limit Flask-Limiter would still examine every request (a sixth of a health
        # check's cost): failed authentications are counted with its `limits` library alone.
        counter = MovingWindowRateLimiter(storage_from_string(app.config["RATE_LIMIT_STORAGE"]))
        strategy = lambda: counter  # noqa: E731
    if failures > 0:
        app.extensions["reportedly.auth_failure_limit"] = (strategy, limits.parse(f"{failures} per {window} second"))


def _auth_failure_limit():
    strategy, item = current_app.extensions.get("reportedly.auth_failure_limit", (lambda: None, None))
    return strategy(), item


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
