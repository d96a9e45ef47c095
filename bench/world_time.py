"""Counts at a world time as the ledger grows, and what keeping them costs a write: wall and CPU, in process.

Builds each ledger as bench/scale.py does (or reuses one kept by an earlier run with
--ledgers DIR, upgrading a copy with `migrate`, timed), then times through the app in this
process (Flask's test client): `GET /v1/summary?published_before=` at moments inside and
around the claims' publication dates, and `POST /v1/claims/{id}/attributions` published
in the past (each rewrites a claim's world-time timeline), with the part of each POST
spent in service.world_tally.rewrite where that module exists. p50 of wall and CPU ms.
Run: `python bench/world_time.py 10000 100000` or `python bench/world_time.py --ledgers DIR 10000`.
"""

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scale  # noqa: E402

from service.app import create_app  # noqa: E402
from service.auth import create_token  # noqa: E402
from service.db import close_all, db  # noqa: E402
from service.migrations import migrate  # noqa: E402

MOMENTS = {
    "before every publication": "2020-01-01T00:00:00Z",
    "a day's start": "2023-09-10T00:00:00Z",
    "at a publication time": "2023-09-15T12:00:00Z",
    "half an hour after one": "2023-09-15T12:30:00Z",
}
SUMMARY_ROUNDS = 25
POSTS = 1000


def ledger(folder, size):
    """A ledger of `size` claims to measure on: a copy of the kept one, migrated (timed), or a new one."""
    kept = folder / f"ledger-{size}.db"
    if not kept.exists():
        app, _, _ = scale.build(f"sqlite:///{kept}", size)
        close_all(app.extensions["reportedly.db"])
    work = Path(tempfile.mkdtemp(prefix="reportedly-world-")) / "ledger.db"
    shutil.copy(kept, work)
    app = create_app({"DATABASE_URL": f"sqlite:///{work}", "RATE_LIMIT_PER_MINUTE": 0})
    db.connect()
    started = time.perf_counter()
    migrate()
    migrated = time.perf_counter() - started
    token = create_token("bench-world", "write")
    db.close()
    return app, token, migrated


def clocked(action):
    """(wall ms, CPU ms) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def p50s(samples):
    return tuple(statistics.median(column) for column in zip(*samples, strict=True))


def means(samples):
    return tuple(statistics.fmean(column) for column in zip(*samples, strict=True))


def summaries(client):
    def ask(moment):
        response = client.get("/v1/summary", query_string={"published_before": moment})
        assert response.status_code == 200, response.get_data(as_text=True)[:300]

    return {name: p50s([clocked(lambda m=moment: ask(m)) for _ in range(SUMMARY_ROUNDS)])
            for name, moment in MOMENTS.items()}


def posts(client, token, size):
    """p50 (wall, CPU) of a POST of a past-dated attribution; p50 and mean of the world_tally part of it."""
    inside = []
    try:
        from service import world_tally
    except ImportError:
        world_tally = None
    if world_tally is not None:
        rewrite = world_tally.rewrite

        def timed_rewrite(worlds):
            inside.append(clocked(lambda: rewrite(worlds)))

        world_tally.rewrite = timed_rewrite
    samples = []
    try:
        for i in range(POSTS):
            body = {"source": scale.POOL[i % len(scale.POOL)], "stance": "supports", "basis": "firsthand",
                    "confidence": 0.5, "published_at": f"2023-09-{1 + i % 28:02d}T08:00:00+00:00"}

            def post(claim_id=1 + (i * 7919) % size, body=body):
                response = client.post(f"/v1/claims/{claim_id}/attributions", json=body,
                                       headers={"Authorization": f"Bearer {token}"})
                assert response.status_code == 201, response.get_data(as_text=True)[:300]

            samples.append(clocked(post))
    finally:
        if world_tally is not None:
            world_tally.rewrite = rewrite
    return p50s(samples), (p50s(inside) + means(inside) if inside else None)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000])
    parser.add_argument("--ledgers", type=Path, help="keep the built ledgers here and reuse them")
    args = parser.parse_args(argv[1:])
    folder = args.ledgers or Path(tempfile.mkdtemp(prefix="reportedly-world-"))
    folder.mkdir(parents=True, exist_ok=True)
    print("| claims | measure | wall p50 (ms) | CPU p50 (ms) |\n|---|---|---|---|")
    for size in args.sizes:
        app, token, migrated = ledger(folder, size)
        client = app.test_client()
        print(f"| {size:,} | migrate (pending migrations of the kept ledger) | {migrated * 1000:.0f} | |")
        for name, (wall, cpu) in summaries(client).items():
            print(f"| {size:,} | summary published_before, {name} | {wall:.1f} | {cpu:.1f} |")
        (wall, cpu), inside = posts(client, token, size)
        print(f"| {size:,} | POST attribution (published in the past) | {wall:.2f} | {cpu:.2f} |")
        if inside:
            print(f"| {size:,} | of which world_tally.rewrite | {inside[0]:.2f} | {inside[1]:.2f} |")
            print(f"| {size:,} | of which world_tally.rewrite, mean (folds included) | {inside[2]:.2f} "
                  f"| {inside[3]:.2f} |")
        close_all(app.extensions["reportedly.db"])
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv)
