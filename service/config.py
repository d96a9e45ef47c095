"""Configuration: defaults in code, REPORTEDLY_* environment overrides, a dict for tests."""

import os
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
    # Requests a minute one client (token, or address without one) may make per worker; 0 = off.
    "RATE_LIMIT_PER_MINUTE": 1200,
    # SQLite durability: FULL (an acknowledged write survives a power loss) or NORMAL (it survives a
    # process crash; the last commits may be lost on a power loss).
    "SQLITE_SYNCHRONOUS": "FULL",
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


def _parse(name, raw, default):
    """Turn an environment string into the type of its default."""
    if isinstance(default, bool):
        lowered = raw.strip().lower()
        if lowered not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
            raise ValueError(f"REPORTEDLY_{name} must be true or false, not {raw!r}")
        return lowered in {"1", "true", "yes", "on"}
    try:
        return type(default)(raw)
    except ValueError:
        kind = "whole number" if isinstance(default, int) else "number"
        raise ValueError(f"REPORTEDLY_{name} must be a {kind}, not {raw!r}") from None


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
    return config
