"""Past-time reads, summaries and re-grades as the ledger grows: p50/p99 at each size, and their ratios.

Builds a ledger of N claims with `reportedly import` in a process of its own (two
attributions each, the first relayed, 5% of the pool's sources re-graded afterwards, one
attribution in 50 retracted), then times requests through the app in this process
(Flask's test client: the service's own work, no gunicorn or network), so this
process's peak RSS is what a worker serving them needs. Re-grades behind 1% and 10% of
the claims run inline; the one behind 100% runs as the service runs it, a job in a
process of its own (`python -m service.jobs ID`: its time includes the process's
start), while a writer in this process adds an attribution every WRITE_EVERY seconds
and counts how long each waited and how many failed; the job process's peak RSS is
reported too. Run: `python bench/scale.py 10000 100000` (sizes).
REPORTEDLY_BENCH_DATABASE_URL set to a PostgreSQL URL adds a run there (in a new schema);
--postgresql-only runs only that one.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service import source_writes  # noqa: E402
from service.app import create_app  # noqa: E402
from service.auth import create_token  # noqa: E402
from service.db import close_all, db  # noqa: E402
from service.migrations import migrate  # noqa: E402

BIN = Path(sys.executable).parent
POOL = [f"s{i:03d}" for i in range(200)]
ROUNDS = 25
# Seconds between two attributions the writer adds while the big re-grade runs.
WRITE_EVERY = 0.2


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


def write_ndjson(path, lines):
    with open(path, "w", encoding="utf-8") as out:
        out.writelines(json.dumps(line) + "\n" for line in lines)


def run_import(database_url, path):
    """`reportedly import` of a file, in a process of its own (so its memory is not this process's)."""
    env = {**os.environ, "REPORTEDLY_DATABASE_URL": database_url}
    subprocess.run([BIN / "reportedly", "import", str(path)], env=env, check=True, capture_output=True)


def build(database_url, size, folder):
    """Import the ledger in two halves; the moment between them is the past time asked about."""
    app = create_app({"DATABASE_URL": database_url, "RATE_LIMIT_PER_MINUTE": 0, "REGRADE_INLINE_LIMIT": 10**9})
    with db.connection_context():
        migrate()
    started = time.perf_counter()
    write_ndjson(folder / "sources.ndjson", sources())
    run_import(database_url, folder / "sources.ndjson")
    write_ndjson(folder / "first.ndjson", claims(0, size // 2))
    run_import(database_url, folder / "first.ndjson")
    middle = datetime.now(timezone.utc)
    write_ndjson(folder / "second.ndjson", claims(size // 2, size))
    run_import(database_url, folder / "second.ndjson")
    with db.connection_context():
        for source in POOL[: len(POOL) // 20]:  # 5% of the pool re-graded
            source_writes.update_source(source, {"reliability": "E"})
        token = create_token(f"bench-{uuid.uuid4().hex[:6]}", "write")
    return app, middle, time.perf_counter() - started, token


def timed(client, path, params, rounds=ROUNDS):
    samples = []
    for _ in range(rounds):
        begin = time.perf_counter()
        response = client.get(path, query_string=params)
        samples.append((time.perf_counter() - begin) * 1000)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1 if len(samples) >= 100 else -1]


def measure(database_url, size, folder):
    app, middle, built, token = build(database_url, size, folder)
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
        # `q`: a word of every claim's text, then the number only one claim's text holds.
        "words: common, now": ("/v1/claims", {"q": "train"}),
        "words: common, as_of": ("/v1/claims", {"q": "train", "as_of": then}),
        "words: one claim's, now": ("/v1/claims", {"q": f"claim {claim_id}"}),
        "words: one claim's, as_of": ("/v1/claims", {"q": f"claim {claim_id}", "as_of": then}),
        "summary now": ("/v1/summary", {}),
        "summary as_of": ("/v1/summary", {"as_of": then}),
        "summary published_before": ("/v1/summary", {"published_before": "2023-09-10T00:00:00Z"}),
    }
    results = {name: timed(client, path, params) for name, (path, params) in reads.items()}
    with db.connection_context():
        for name, source in (("re-grade behind 1%", "hundredth"), ("re-grade behind 10%", "tenth")):
            begin = time.perf_counter()
            source_writes.update_source(source, {"reliability": "A"})
            results[name] = ((time.perf_counter() - begin) * 1000, None)
    results["peak RSS, this process (MiB)"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, None)
    results.update(regrade_job(database_url, client, token, size))
    close_all(app.extensions["reportedly.db"])
    return results, built


def regrade_job(database_url, client, token, size):
    """Re-grade the source behind every claim as a job in its own process, with a writer beside it."""
    with db.connection_context():
        _, job = source_writes.request_source_change("wire", {"reliability": "A"}, inline_limit=0)
    writes, stop = [], threading.Event()

    def write():
        i = 0
        while not stop.is_set():
            begin = time.perf_counter()
            response = client.post(f"/v1/claims/{1 + i * 7919 % size}/attributions",
                                   headers={"Authorization": f"Bearer {token}"},
                                   json={"source": "s000", "stance": "supports", "basis": "secondhand",
                                         "confidence": 0.5})
            writes.append((response.status_code, time.perf_counter() - begin))
            i += 1
            stop.wait(WRITE_EVERY)

    writer = threading.Thread(target=write)
    env = {**os.environ, "REPORTEDLY_DATABASE_URL": database_url}
    begin = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "service.jobs", str(job.id)], env=env,
                               stderr=subprocess.DEVNULL)
    writer.start()
    peak = 0
    while process.poll() is None:
        peak = max(peak, high_water_mark(process.pid))
        time.sleep(0.05)
    elapsed = time.perf_counter() - begin
    stop.set()
    writer.join()
    assert process.returncode == 0, f"the job process failed ({process.returncode})"
    failed = sum(1 for code, _ in writes if code != 201)
    return {
        "re-grade behind 100% (a job, process start included)": (elapsed * 1000, None),
        "peak RSS, job process (MiB)": (peak / 1024, None),
        "writes during it: longest wait (ms)": (max(t for _, t in writes) * 1000, None),
        "writes during it: failed of all": (failed, len(writes)),
    }


def high_water_mark(pid):
    """A running process's peak resident memory in KiB (its own: wait4's figure would count the parent's,
    whose memory the child had until it exec'd)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)


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
        if name.startswith("writes during it: failed"):
            cells = [f"{results[name][0]} of {results[name][1]}" for results, _ in runs]
            print(f"| {name} | " + " | ".join(cells) + " | |")
            continue
        ratio = runs[-1][0][name][0] / runs[0][0][name][0]
        print(f"| {name} | " + " | ".join(cells) + f" | {ratio:.2f} |")
    print("| ledger built in (s) | " + " | ".join(f"{built:.0f}" for _, built in runs) + " | |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000], help="ledger sizes, in claims")
    parser.add_argument("--postgresql-only", action="store_true",
                        help="only the PostgreSQL run (REPORTEDLY_BENCH_DATABASE_URL)")
    args = parser.parse_intermixed_args()
    folder = Path(tempfile.mkdtemp(prefix="reportedly-scale-"))
    if not args.postgresql_only:
        runs = [measure(f"sqlite:///{folder / f'ledger-{size}.db'}", size, folder) for size in args.sizes]
        report("SQLite", args.sizes, runs)
    url = os.environ.get("REPORTEDLY_BENCH_DATABASE_URL")
    if url:
        runs = [measure(postgresql_schema(url), size, folder) for size in args.sizes]
        report("PostgreSQL", args.sizes, runs)


if __name__ == "__main__":
    main()
