"""Prometheus metrics of this process (or, under gunicorn, of all its workers); nothing of HTTP."""

import os

# This process's metrics, made by init_metrics: after gunicorn forks and PROMETHEUS_MULTIPROC_DIR is
# set, as prometheus-client picks its multiprocess storage when first imported.
METRICS = {}


def init_metrics():
    """Make this process's metrics once; the first import of prometheus_client happens here."""
    if METRICS:
        return METRICS
    from prometheus_client import Counter, Histogram

    METRICS.update(
        requests=Counter("reportedly_http_requests", "HTTP requests answered, by route template, method and status.",
                         ["route", "method", "status"]),
        latency=Histogram("reportedly_http_request_duration_seconds",
                          "Time to answer a request, by route template and method.", ["route", "method"],
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)),
        writes=Counter("reportedly_write_transactions", "Write requests by outcome: committed (2xx), refused (4xx), "
                       "busy (503: the database lock or pool was not had in time), failed (other 5xx).", ["outcome"]),
        lock_waits=Histogram("reportedly_write_lock_wait_seconds", "Time a write waited for a lock: SQLite's "
                             "BEGIN IMMEDIATE (its one write lock); PostgreSQL's row, advisory and table locks. Its "
                             "_count is the lock-taking statements.",
                             buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)),
        replays=Counter("reportedly_idempotent_replays", "Answers replayed for a repeated Idempotency-Key."),
        rate_limited=Counter("reportedly_rate_limit_refusals", "Requests refused with 429 by the rate limit."),
        rederived=Counter("reportedly_claims_rederived", "Claims re-derived from their inputs (writes, re-grades, "
                          "imports)."),
        jobs=Histogram("reportedly_job_duration_seconds", "Time a job took to apply its change, by kind and outcome "
                       "(done or failed); its _count is the number of jobs.", ["kind", "outcome"],
                       buckets=(0.1, 1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)),
    )
    return METRICS


def count_rederived(claims):
    """Count claims whose derived fields were recomputed (when metrics are on)."""
    if METRICS:
        METRICS["rederived"].inc(claims)


def observe_lock_wait(seconds):
    """Record how long a statement waited for its lock (when metrics are on)."""
    if METRICS:
        METRICS["lock_waits"].observe(seconds)


def observe_job(kind, outcome, seconds):
    """Record how long a job took and how it ended (when metrics are on)."""
    if METRICS:
        METRICS["jobs"].labels(kind=kind, outcome=outcome).observe(seconds)


def metrics_text():
    """Every process's metrics under gunicorn (multiprocess mode), else this process's."""
    from prometheus_client import CollectorRegistry, generate_latest, multiprocess

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()
