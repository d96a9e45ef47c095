"""Past-time reads, summaries and re-grades as the ledger grows: p50/p99 at each size, and their ratios.

Builds a ledger of N claims through the bulk importer (two attributions each, the
first relayed, 5% of the pool's sources re-graded afterwards, one attribution in 50
retracted), then times requests through the app in this process (Flask's test client:
the service's own work, no gunicorn or network) and re-grades behind 1%, 10% and 100%
of the claims. Run: `python bench/scale.py 10000 100000` (sizes), or `make bench-scale`.
REPORTEDLY_BENCH_DATABASE_URL set to a PostgreSQL URL adds a run there (in a new schema).
"""

import io
import json
import os
import resource
import statistics
import sys
import tempfile
import time
import urllib.parse
import uuid
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service import create_app, ledger  # noqa: E402
from service.bulk import import_ndjson  # noqa: E402
from service.db import close_all, db  # noqa: E402
from service.migrations import migrate  # noqa: E402

POOL = [f"s{i:03d}" for i in range(200)]
ROUNDS = 25


def sources():
    yield {"type": "source", "id": "wire", "name": "The Wire", "kind": "wire_service", "reliability": "B"}
    yield {"type": "source", "id": "tenth", "name": "Tenth", "kind": "news_outlet", "reliability": "C"}
    yield {"type": "source", "id": "hundredth", "name": "Hundredth", "kind": "news_outlet", "reliability": "B"}
    yield {"type": "source", "id": "relay", "name": "Relay", "kind": "news_outlet", "reliability": "C"}
    for i, source in enumerate(POOL):
        yield {"type": "source", "id": source, "name": source.upper(), "kind": "news_outlet", "reliability": "ABCDEF"[i % 6]}


def claims(start, stop):
    """Two attributions each: the first from a pool source (or `tenth`/`hundredth`) relayed, the second from `wire`."""
    for i in range(start, stop):
        first = "tenth" if i % 10 == 0 else "hundredth" if i % 100 == 1 else POOL[i % len(POOL)]
        yield {"type": "claim", "text": f"Claim {i}: the train left for the {['north', 'east', 'south'][i % 3]}",
               "subjects": [["Kim", "Putin", "Shoigu"][i % 3]],
               "attributions": [
                   {"source": first, "via": ["relay"], "stance": "supports", "basis": "secondhand",
                    "confidence": round(0.3 + (i % 7) / 10, 2),
                    "published_at": f"2023-09-{1 + i % 28:02d}T12:00:00+00:00",
                    **({"retracted": True, "retraction_reason": "withdrawn"} if i % 50 == 0 else {})},
                   {"source": "wire", "stance": "denies" if i % 13 == 0 else "supports", "basis": "firsthand",
                    "confidence": round(0.2 + (i % 5) / 10, 2)},
               ]}


def ndjson(lines):
    return io.BytesIO("".join(json.dumps(line) + "\n" for line in lines).encode())


def build(database_url, size):
    """Import the ledger in two halves; the moment between them is the past time asked about."""
    app = create_app({"DATABASE_URL": database_url, "RATE_LIMIT_PER_MINUTE": 0, "REGRADE_INLINE_LIMIT": 10**9})
    db.connect()
    migrate()
    started = time.perf_counter()
    import_ndjson(ndjson(sources()), origin="bench")
    for start in range(0, size // 2, 50_000):
        import_ndjson(ndjson(claims(start, min(size // 2, start + 50_000))), origin="bench")
    middle = datetime.now(timezone.utc)
    for start in range(size // 2, size, 50_000):
        import_ndjson(ndjson(claims(start, min(size, start + 50_000))), origin="bench")
    for source in POOL[: len(POOL) // 20]:  # 5% of the pool re-graded
        ledger.update_source(source, {"reliability": "E"})
    built = time.perf_counter() - started
    db.close()
    return app, middle, built


def timed(client, path, params, rounds=ROUNDS):
    samples = []
    for _ in range(rounds):
        begin = time.perf_counter()
        response = client.get(path, query_string=params)
        samples.append((time.perf_counter() - begin) * 1000)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1 if len(samples) >= 100 else -1]


def measure(database_url, size):
    app, middle, built = build(database_url, size)
    client = app.test_client()
    then = middle.isoformat()
    claim_id = size // 3
    reads = {
        "single claim now": ("/v1/claims/%d" % claim_id, {}),
        "single claim as_of": ("/v1/claims/%d" % claim_id, {"as_of": then}),
        "list of 50 by status now": ("/v1/claims", {"status": "reported"}),
        "list of 50 by status as_of": ("/v1/claims", {"status": "reported", "as_of": then}),
        "list of 50 by status published_before": ("/v1/claims", {"status": "reported",
                                                                  "published_before": "2023-09-10T00:00:00Z"}),
        "rare-match list as_of": ("/v1/claims", {"min_confidence": 0.99, "as_of": then}),
        "summary now": ("/v1/summary", {}),
        "summary as_of": ("/v1/summary", {"as_of": then}),
        "summary published_before": ("/v1/summary", {"published_before": "2023-09-10T00:00:00Z"}),
    }
    results = {name: timed(client, path, params) for name, (path, params) in reads.items()}
    db.connect(reuse_if_open=True)
    for name, source in (("re-grade behind 1%", "hundredth"), ("re-grade behind 10%", "tenth"),
                         ("re-grade behind 100%", "wire")):
        begin = time.perf_counter()
        ledger.update_source(source, {"reliability": "A"})
        results[name] = ((time.perf_counter() - begin) * 1000, None)
    db.close()
    results["peak RSS (MiB)"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, None)
    close_all(app.extensions["reportedly.db"])
    return results, built


def postgresql_schema(url):
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.urlencode([("options", f"-csearch_path={schema}")])
    return urllib.parse.urlunsplit(parts._replace(query=query))


def report(title, sizes, runs):
    print(f"\n### {title}\n")
    print("| measure | " + " | ".join(f"{s:,} p50 / p99 (ms)" for s in sizes) + f" | p50 {sizes[-1]:,} ÷ {sizes[0]:,} |")
    print("|---|" + "---|" * (len(sizes) + 1))
    for name in runs[0][0]:
        cells = []
        for results, _ in runs:
            p50, p99 = results[name]
            cells.append(f"{p50:.1f}" if p99 is None else f"{p50:.1f} / {p99:.1f}")
        ratio = runs[-1][0][name][0] / runs[0][0][name][0]
        print(f"| {name} | " + " | ".join(cells) + f" | {ratio:.2f} |")
    print("| ledger built in (s) | " + " | ".join(f"{built:.0f}" for _, built in runs) + " | |")


def main(argv):
    sizes = [int(a) for a in argv[1:]] or [10_000, 100_000]
    folder = Path(tempfile.mkdtemp(prefix="reportedly-scale-"))
    runs = [measure(f"sqlite:///{folder / f'ledger-{size}.db'}", size) for size in sizes]
    report("SQLite", sizes, runs)
    url = os.environ.get("REPORTEDLY_BENCH_DATABASE_URL")
    if url:
        runs = [measure(postgresql_schema(url), size) for size in sizes]
        report("PostgreSQL", sizes, runs)


if __name__ == "__main__":
    main(sys.argv)
