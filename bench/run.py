"""Measure what storing derived fields buys: stored reads versus re-derived past-time reads.

Builds a ledger of CLAIMS claims on a temporary SQLite file (and, when
REPORTEDLY_BENCH_DATABASE_URL names a PostgreSQL database, in a fresh schema
there), then times the same requests through the app with and without `as_of`
(which re-derives every claim it looks at) and reports medians, ratios and peak
Python memory. Run: make bench.
"""

import os
import statistics
import sys
import tempfile
import time
import tracemalloc
import urllib.parse
import uuid
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service import create_app, ledger  # noqa: E402
from service.auth import create_token  # noqa: E402
from service.db import db  # noqa: E402
from service.migrations import migrate  # noqa: E402

CLAIMS = 2000
ROUNDS = 15
SOURCES = [("nyt", "B", None), ("reuters", "A", None), ("blog", "E", None), ("kcna", "D", "dprk-state"),
           ("dprk-gov", "B", "dprk-state"), ("el-heraldo", "C", None)]


def postgresql_schema(url):
    """A new schema in the database at `url`, and the URL that works inside it."""
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.urlencode([("options", f"-csearch_path={schema}")])
    return urllib.parse.urlunsplit(parts._replace(query=query)), schema


def build(database_url):
    app = create_app({"DATABASE_URL": database_url, "RATE_LIMIT_PER_MINUTE": 0})
    db.connect()
    migrate()
    token = create_token("bench", "admin")
    for source_id, grade, affiliation in SOURCES:
        ledger.create_source({"id": source_id, "name": source_id, "kind": "other", "reliability": grade,
                              "affiliation": affiliation})
    for i in range(CLAIMS):
        attributions = [
            {"source": SOURCES[(i + k) % len(SOURCES)][0], "via": ["el-heraldo"] if k == 0 and (i + k) % len(SOURCES) != 5 else [],
             "stance": "denies" if (i + k) % 7 == 0 else "supports",
             "basis": "documentary" if k == 0 else "secondhand", "confidence": 0.3 + (i % 5) / 10}
            for k in range(1 + i % 3)
        ]
        ledger.create_claim({"text": f"Claim {i} about the armored train", "subjects": ["Kim Jong Un"],
                             "parties": ["dprk-state"] if i % 4 == 0 else [], "event_time": None,
                             "attributions": attributions})
    db.close()
    return app, token


def timed(client, path, **params):
    """Median milliseconds of ROUNDS requests, and the peak Python memory of one."""
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        response = client.get(path, query_string=params)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.get_data(as_text=True)
    tracemalloc.start()
    client.get(path, query_string=params)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return statistics.median(samples), peak / 1024


def timed_writes(client, token, n=200):
    headers = {"Authorization": f"Bearer {token}"}
    samples = []
    for i in range(n):
        body = {"source": "reuters", "stance": "supports", "basis": "secondhand", "confidence": 0.5}
        start = time.perf_counter()
        response = client.post(f"/v1/claims/{1 + i}/attributions", json=body, headers=headers)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 201
    return statistics.median(samples)


def main():
    sqlite_url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-')) / 'ledger.db'}"
    measure("SQLite (APSW, WAL, synchronous=FULL)", sqlite_url)
    postgresql_url = os.environ.get("REPORTEDLY_BENCH_DATABASE_URL")
    if postgresql_url:
        url, schema = postgresql_schema(postgresql_url)
        try:
            measure("PostgreSQL", url)
        finally:
            import psycopg

            db.obj.close_all()
            with psycopg.connect(postgresql_url, autocommit=True) as connection:
                connection.execute(f"DROP SCHEMA {schema} CASCADE")


def measure(title, database_url):
    started = time.perf_counter()
    app, token = build(database_url)
    print(f"\n## {title}\n\nbuilt {CLAIMS} claims in {time.perf_counter() - started:.1f} s\n")
    client = app.test_client()
    now = datetime.now(timezone.utc).isoformat()
    cases = [
        ("list, status filter, 50 items", "/v1/claims", {"status": "reported"}),
        ("list, rare match (min_confidence 0.95)", "/v1/claims", {"min_confidence": 0.95}),
        ("summary", "/v1/summary", {}),
        ("single claim", "/v1/claims/1000", {}),
    ]
    print("| request | stored (ms) | re-derived with as_of (ms) | ratio | peak memory stored / as_of (KiB) |")
    print("|---|---|---|---|---|")
    for name, path_, params in cases:
        stored, stored_mem = timed(client, path_, **params)
        derived, derived_mem = timed(client, path_, as_of=now, **params)
        print(f"| {name} | {stored:.2f} | {derived:.2f} | {derived / stored:.1f}x | "
              f"{stored_mem:.0f} / {derived_mem:.0f} |")
    print(f"\nmedian POST attribution (derive + store + history, one transaction): {timed_writes(client, token):.2f} ms")


if __name__ == "__main__":
    main()
