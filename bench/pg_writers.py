"""Concurrent writers on PostgreSQL: POST attribution by 16 clients at once against one at a time.

Issue 8 asks that 16 concurrent writers reach at least 3x the sequential rate on
PostgreSQL, where commits from several connections share a WAL flush (group commit)
and row locks, not one file lock, order the writers. This builds a ledger in a
database of its own on the PostgreSQL server (created and dropped here), serves it
with the service's gunicorn settings (2 workers, the service's gevent worker, a pool
of DB_POOL_SIZE connections each), and alternates bounded `wrk -t1` runs of POST
attribution with 1 and with 16 connections. Every POST goes to a claim of its own
turn (claims in rotation), as in bench/http_rates.py. The same is measured, in the
same run, for the floor: bench/bare_app.py's bare durable write (one INSERT committed)
under the same gunicorn, which shows what concurrency can add on this machine at all.
Run: python bench/pg_writers.py [--server postgresql://postgres@127.0.0.1:5432/postgres]
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import urllib.parse  # noqa: E402

import psycopg  # noqa: E402

from bench.http_rates import POST_SCRIPT, alternate_runs, build_ledger, gunicorn, wrk, wrk_arguments  # noqa: E402

DATABASE = "reportedly_bench_writers"


def create_database(server):
    """A fresh, empty database on the server; its URL."""
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        connection.execute(f"CREATE DATABASE {DATABASE}")
    return urllib.parse.urlsplit(server)._replace(path=f"/{DATABASE}").geturl()


def drop_database(server):
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a database on the server to connect to while creating the benchmark's own")
    parser.add_argument("--claims", type=int, default=2_000)
    parser.add_argument("--writers", type=int, default=16)
    args = wrk_arguments(parser)
    folder = Path(tempfile.mkdtemp(prefix="pg-writers-"))
    url = create_database(args.server)
    log = open(folder / "server.log", "w")
    servers = []
    try:
        env, token = build_ledger(folder, args.claims, url)
        service = gunicorn("service.wsgi:app", env, log).wait("/healthz")
        servers.append(service)
        script = folder / "post.lua"
        script.write_text(POST_SCRIPT % {"claims": args.claims, "token": token})
        post = lambda connections: lambda: wrk(service.base + "/", args.duration, str(script),  # noqa: E731
                                               connections=connections)
        one, many = alternate_runs(post(1), post(args.writers), args.rounds)
        bare = gunicorn("bench.bare_app:app", env, log).wait("/bare")
        servers.append(bare)
        floor_script = folder / "bare-write.lua"
        floor_script.write_text('wrk.method = "POST"\n')
        floor = lambda connections: lambda: wrk(bare.base + "/bare-write", args.duration, str(floor_script),  # noqa: E731
                                                connections=connections)
        floor_one, floor_many = alternate_runs(floor(1), floor(args.writers), args.rounds)
    finally:
        for server in servers:
            server.stop()
        log.close()
        drop_database(args.server)
    print("## Concurrent writers on PostgreSQL (`bench/pg_writers.py`)\n")
    print(f"PostgreSQL ledger of {args.claims:,} claims; gunicorn as in service/gunicorn_conf.py (2 workers); "
          f"POST attribution, `wrk -t1`, {args.duration} s a run, medians of {args.rounds} alternating runs "
          "(slowest–fastest run in brackets) after a round not counted.\n")
    print("| writers | POST attribution/s | ÷ one writer | goal | bare durable write/s | ÷ one writer |")
    print("|---|---|---|---|---|---|")
    print(f"| 1 | {_rate(one)} | 1.00× | | {_rate(floor_one)} | 1.00× |")
    print(f"| {args.writers} | {_rate(many)} | {_ratio(many, one)} | ≥ 3× | {_rate(floor_many)} | "
          f"{_ratio(floor_many, floor_one)} |")
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    shutil.rmtree(folder, ignore_errors=True)


def _rate(runs):
    """A measurement's median rate and its range, e.g. 172 (157–182)."""
    return f"{statistics.median(runs):,.0f} ({min(runs):,.0f}–{max(runs):,.0f})"


def _ratio(runs, baseline):
    """The ratio of two measurements' medians."""
    return f"{statistics.median(runs) / statistics.median(baseline):.2f}×"


if __name__ == "__main__":
    main()
