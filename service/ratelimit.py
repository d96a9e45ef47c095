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
from limits.storage import MemoryStorage, storage_from_string
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
        # Counted in this process's memory (no request limit, memory://), no failure is there to check until one is.
        in_process = per_window <= 0 and isinstance(counter.storage, MemoryStorage)
        app.extensions["reportedly.auth_failure_limit"] = AuthFailureLimit(
            strategy, limits.parse(f"{failures} per {window} second"), in_process)


class AuthFailureLimit:
    """The auth-failure limit of an app: its strategy (a function giving the limiter in use), the limit, and,
    when the failures are counted in this process alone, whether one ever was."""

    def __init__(self, strategy, item, in_process):
        self.strategy, self.item = strategy, item
        self.none_counted = in_process  # stays False when other processes count too: then every check asks

    def limiter(self):
        """The limiter that counts the failures, or None when none can be counted yet (so none need be checked)."""
        return None if self.none_counted else self.strategy()


def check_auth_failures():
    """Before a presented token is looked up: 429 if this address has failed authentication too often."""
    limit = current_app.extensions.get("reportedly.auth_failure_limit")
    strategy = None if limit is None else limit.limiter()
    if strategy is None:
        return
    item = limit.item
    address = f"auth-failure:{request.remote_addr}"
    if not strategy.test(item, address):
        reset_at, _ = strategy.get_window_stats(item, address)
        wait = _retry_after(reset_at)
        raise Problem(429, f"Too many failed authentications; retry in {wait} s.", headers={"Retry-After": wait})


def count_auth_failure():
    """Count one failed authentication against the request's address."""
    limit = current_app.extensions.get("reportedly.auth_failure_limit")
    if limit is not None:
        limit.none_counted = False
        limit.strategy().hit(limit.item, f"auth-failure:{request.remote_addr}")
