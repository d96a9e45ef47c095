"""A fixed-window request limit per client (token, or address without one), kept in each worker."""

import threading
import time

from flask import current_app, g, request

from .problems import Problem

WINDOW_SECONDS = 60


class RateLimiter:
    """Counts requests per client in the current minute; old windows are dropped as time moves on."""

    def __init__(self, per_minute, clock=time.monotonic):
        self.per_minute = per_minute
        self.clock = clock
        self.window = None
        self.counts = {}
        self.lock = threading.Lock()

    def admit(self, client):
        """Count one request; return the seconds to wait if over the limit, else None."""
        now = self.clock()
        window = int(now // WINDOW_SECONDS)
        with self.lock:
            if window != self.window:
                self.window, self.counts = window, {}
            self.counts[client] = self.counts.get(client, 0) + 1
            if self.counts[client] <= self.per_minute:
                return None
        return max(1, int((window + 1) * WINDOW_SECONDS - now) + 1)


def limit_requests():
    """before_request: answer 429 with Retry-After once a client passes its limit."""
    limiter = current_app.extensions.get("reportedly.ratelimit")
    if limiter is None or request.path == "/healthz":
        return
    token = g.get("token")
    client = f"token:{token.key_id}" if token is not None else f"addr:{request.remote_addr}"
    wait = limiter.admit(client)
    if wait is not None:
        raise Problem(429, f"Too many requests; retry in {wait} s.", headers={"Retry-After": str(wait)})


def init_rate_limit(app):
    """Give the app a limiter unless the limit is 0."""
    if app.config["RATE_LIMIT_PER_MINUTE"] > 0:
        app.extensions["reportedly.ratelimit"] = RateLimiter(app.config["RATE_LIMIT_PER_MINUTE"])
