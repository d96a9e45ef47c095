"""Configuration: defaults in code, REPORTEDLY_* environment overrides, a dict for tests."""

import math
import os
import re
from pathlib import Path

DEFAULTS = {
    # The working folder of the default SQLite database.
    "VAR_DIR": "var",
    # Where the ledger lives: sqlite:///path/to/file.db or postgresql://user@host/db;
    # empty means reportedly.db in VAR_DIR.
    "DATABASE_URL": "",
    # Address gunicorn listens on.
    "BIND": "127.0.0.1:8000",
    # The public base URL of the service, as clients reach it (the OpenAPI document's server).
    "PUBLIC_URL": "http://127.0.0.1:8000",
    # gunicorn worker processes; explicit, because a container misreports its CPUs.
    "WORKERS": 2,
    # Whether GET requests are served without a token.
    "PUBLIC_READS": True,
    # Largest accepted request body, chunked bodies included (1 MiB).
    "MAX_BODY_BYTES": 1024 * 1024,
    # Python logging level of the service's own log lines.
    "LOG_LEVEL": "INFO",
    # Log line format: "text" for people, "json" (one object a line, access log included) for collectors.
    "LOG_FORMAT": "text",
    # Whether GET /metrics serves Prometheus metrics; off by default, as they tell traffic to anyone who asks.
    "METRICS": False,
    # SQLite durability: FULL (an acknowledged write survives a power loss) or NORMAL (it survives a
    # process crash; the last commits may be lost on a power loss).
    "SQLITE_SYNCHRONOUS": "FULL",
    # Requests one client (token, or address without one) may make in a moving window; 0 = off.
    "RATE_LIMIT_PER_MINUTE": 1200,
    # The window of that limit and of the auth-failure limit, in seconds (a minute unless changed).
    "RATE_LIMIT_WINDOW_SECONDS": 60,
    # Where the counts live: memory:// (each worker its own) or redis://host:6379 (shared by all).
    "RATE_LIMIT_STORAGE": "memory://",
    # Failed authentications one address may make in the window before 429; counted before the lookup.
    "AUTH_FAILURE_LIMIT": 30,
    # Proxies in front that set X-Forwarded-For/-Proto/-Host; 0 trusts none (the peer is the client).
    "TRUSTED_PROXIES": 0,
    # How long a SQLite writer waits for the lock before the request fails with 503.
    "SQLITE_BUSY_TIMEOUT_SECONDS": 10.0,
    # Seconds after which an unfinished Idempotency-Key is taken to belong to a dead request.
    "IDEMPOTENCY_LEASE_SECONDS": 120,
    # Whether `reportedly serve` (and the container) loads the seed files at start; loading is idempotent.
    "SEED": False,
    # Where the seed files are.
    "SEED_PATH": "seeds",
    # A source change that re-derives more claims than this is applied by a job (202 Accepted) instead of
    # inside the request.
    "REGRADE_INLINE_LIMIT": 5000,
    # Seconds after which a queued or running job is taken to have died (its change applied nothing) and no
    # longer blocks another change of the same source.
    "JOB_LEASE_SECONDS": 3600,
    # PostgreSQL connection pool: connections a worker keeps, and how long to wait for one.
    "DB_POOL_SIZE": 8,
    "DB_POOL_TIMEOUT_SECONDS": 10.0,
    # POST /v1/imports: the largest body (256 MiB), and the longest line in it (4 MiB).
    "IMPORT_MAX_BYTES": 256 * 1024 * 1024,
    "IMPORT_MAX_LINE_BYTES": 4 * 1024 * 1024,
    # Signs the web pages' session cookie; empty means a random key per server start
    # (`reportedly serve` makes one for all its workers), which logs everyone out on restart.
    "SECRET_KEY": "",
    # Who publishes the fact checks: the `author` of every ClaimReview.
    "PUBLISHER_NAME": "reportedly",
    "PUBLISHER_URL": "http://127.0.0.1:8000",
}


# Numbers that must be at least 1 (a worker count, a window); every other number must be at least 0.
POSITIVE = {"WORKERS", "RATE_LIMIT_WINDOW_SECONDS", "MAX_BODY_BYTES", "DB_POOL_SIZE"}
NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")


def _parse(name, raw, default):
    """Turn an environment string into the type of its default."""
    if isinstance(default, bool):
        lowered = raw.strip().lower()
        if lowered not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
            raise ValueError(f"REPORTEDLY_{name} must be true or false, not {raw!r}")
        return lowered in {"1", "true", "yes", "on"}
    if isinstance(default, (int, float)):
        return _parse_number(name, raw.strip(), type(default))
    return raw


def _parse_number(name, raw, kind):
    """A finite, non-negative number written in ASCII digits (no nan, inf, -1 or 1e9)."""
    shape = r"[0-9]+" if kind is int else NUMBER.pattern
    if not re.fullmatch(shape, raw):
        noun = "whole number" if kind is int else "number"
        raise ValueError(f"REPORTEDLY_{name} must be a {noun} written in digits, 0 or more, not {raw!r}")
    return kind(raw)


def check(config):
    """Refuse settings that would silently mean something else; return the config."""
    for name, default in DEFAULTS.items():
        value = config[name]
        if isinstance(default, bool) or not isinstance(default, (int, float)):
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ValueError(f"REPORTEDLY_{name} must be a finite, non-negative number, not {value!r}")
        if name in POSITIVE and value < 1:
            raise ValueError(f"REPORTEDLY_{name} must be at least 1, not {value!r}")
    url = config["DATABASE_URL"]
    if url.startswith("sqlite:") and not url.startswith("sqlite:///"):
        raise ValueError(f"REPORTEDLY_DATABASE_URL must be sqlite:///relative/path.db or sqlite:////absolute/path.db "
                         f"(three or four slashes), not {url!r}")
    if not re.fullmatch(r"(memory|redis|rediss)://.*", config["RATE_LIMIT_STORAGE"]):
        raise ValueError("REPORTEDLY_RATE_LIMIT_STORAGE must be memory:// or redis://host:port")
    return config


def load_config(overrides=None, environ=None):
    """Return the effective configuration: defaults, then REPORTEDLY_* variables, then overrides."""
    environ = os.environ if environ is None else environ
    config = dict(DEFAULTS)
    for name, default in DEFAULTS.items():
        raw = environ.get(f"REPORTEDLY_{name}")
        if raw is not None and raw != "":
            config[name] = _parse(name, raw, default)
    config.update(overrides or {})
    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = f"sqlite:///{Path(config['VAR_DIR']) / 'reportedly.db'}"
    return check(config)
