"""The HTTP hot path against its floor, in one run: the service and a bare Flask route under one gunicorn.

Builds a SQLite ledger (CLAIMS claims, loaded with `reportedly import`), then serves
it and bench/bare_app.py with the same gunicorn settings (service/gunicorn_conf.py:
2 workers of its gevent worker class; rate limit off) on 127.0.0.1, and alternates `wrk -t1 -c8` runs
between the two so both see the same machine load. Reports requests/s and the
ratio to the bare route for reads and for POST attribution (a wrk Lua script with a
token, FULL and, when the build has REPORTEDLY_SQLITE_SYNCHRONOUS, NORMAL), the web
board against the JSON list it shows (the same filters, in turns), POSTs and reads at
the same time (the rate of each), the
bare single-row synchronous=FULL/NORMAL APSW commit rate on the same disk, and
Datasette (from the separate .venv-bench, never a project dependency) on the same
file. Every wrk run is bounded (DURATION seconds) and talks to 127.0.0.1 only.
Run: make bench (needs the Debian package wrk).
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

import apsw  # noqa: E402
import requests  # noqa: E402

from bench.import_speed import write_file  # noqa: E402
from service.config import DEFAULTS  # noqa: E402

BIN = Path(sys.executable).parent
DATASETTE = ROOT / ".venv-bench" / "bin" / "datasette"
BOARD_QUERY = "status=reported&limit=50"
POST_SCRIPT = """
counter = 0
request = function()
  counter = counter + 1
  local path = "/v1/claims/" .. (counter %% %(claims)d + 1) .. "/attributions"
  return wrk.format("POST", path, {["Authorization"] = "Bearer %(token)s",
    ["Content-Type"] = "application/json"},
    '{"source":"reuters","stance":"supports","basis":"secondhand","confidence":0.5}')
end
"""


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A process serving HTTP on 127.0.0.1, stopped when the benchmark ends."""

    def __init__(self, command, env, log):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        command = [str(c).replace("{port}", str(self.port)) for c in command]
        env = {**env, "REPORTEDLY_BIND": f"127.0.0.1:{self.port}"}
        self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)

    def wait(self, path, seconds=120):
        """The server once it answers `path`; stopped, and an error, if it never does."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if requests.get(self.base + path, timeout=10).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit(f"server never answered {path}: {self.process.args}")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def wrk(url, duration, script=None, connections=8):
    """Requests/s of one bounded wrk run; fails loudly on any non-2xx answer."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "5s"]
    if script:
        command += ["-s", script]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} non-2xx answers\n{output}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))


def alternate_runs(first, second, rounds):
    """The rps of each run of two measurements taken in turns, after a round of both that is not counted: a
    server's first run on a new machine also fills its caches and the database's (once 0.55x of the rate of
    the runs after it): (first's runs, second's runs)."""
    first(), second()
    a, b = [], []
    for _ in range(rounds):
        a.append(first())
        b.append(second())
    return a, b


def alternate(first, second, rounds):
    """Median rps of two measurements taken in turns: (first, second)."""
    a, b = alternate_runs(first, second, rounds)
    return statistics.median(a), statistics.median(b)


def commit_rate(folder, synchronous, seconds=3.0):
    """Bare single-row commits per second through APSW in WAL mode at this synchronous level."""
    connection = apsw.Connection(str(folder / f"commits-{synchronous}.db"))
    connection.execute("PRAGMA journal_mode=wal")
    connection.execute(f"PRAGMA synchronous={synchronous}")
    connection.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)")
    count, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        connection.execute("BEGIN IMMEDIATE; INSERT INTO t (v) VALUES ('x'); COMMIT")
        count += 1
    connection.close()
    return count / seconds


def build_ledger(folder, claims, url=None):
    """A ledger (by default a SQLite file in `folder`) loaded through `reportedly import`, and an admin token."""
    env = {**os.environ, "REPORTEDLY_DATABASE_URL": url or f"sqlite:///{folder / 'ledger.db'}"}
    write_file(folder / "claims.ndjson", claims)
    subprocess.run([BIN / "reportedly", "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([BIN / "reportedly", "import", str(folder / "claims.ndjson")], env=env, check=True,
                   capture_output=True)
    created = subprocess.run([BIN / "reportedly", "keys", "create", "--name", "bench", "--scope", "admin"],
                             env=env, check=True, capture_output=True, text=True)
    return env, created.stdout.strip().splitlines()[-1]


def gunicorn(app, env, log, synchronous=None):
    env = {**env, "REPORTEDLY_WORKERS": "2", "REPORTEDLY_RATE_LIMIT_PER_MINUTE": "0", "REPORTEDLY_LOG_LEVEL": "WARNING"}
    if synchronous:
        env["REPORTEDLY_SQLITE_SYNCHRONOUS"] = synchronous
    command = [BIN / "gunicorn", "--config", "python:service.gunicorn_conf", "--access-logfile", "/dev/null", app]
    return Server(command, env, log)


def wrk_arguments(parser):
    """The options of a benchmark that alternates wrk runs; its arguments, once wrk is known to be installed."""
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="alternations per measure")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk (make bench does)")
    return args


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=10_000)
    args = wrk_arguments(parser)
    folder = Path(tempfile.mkdtemp(prefix="http-bench-"))
    env, token = build_ledger(folder, args.claims)
    log = open(folder / "servers.log", "w")
    servers = []
    try:
        bare = gunicorn("bench.bare_app:app", env, log).wait("/bare")
        service = gunicorn("service.wsgi:app", env, log).wait("/healthz")
        servers += [bare, service]
        script = folder / "post.lua"
        script.write_text(POST_SCRIPT % {"claims": args.claims, "token": token})
        run = lambda server, path, script=None: lambda: wrk(server.base + path, args.duration, script)  # noqa: E731
        cases = [
            ("`GET /v1/claims/{id}`", f"/v1/claims/{args.claims // 2}", None, 0.60),
            ("`GET /v1/claims?status=reported&limit=50`", "/v1/claims?status=reported&limit=50", None, 0.35),
            ("`GET /v1/summary`", "/v1/summary", None, 0.50),
            ("`POST /v1/claims/{id}/attributions` (FULL)", "/", str(script), 0.25),
        ]
        rows = []
        for name, path, lua, goal in cases:
            floor, ours = alternate(run(bare, "/bare"), run(service, path, lua), args.rounds)
            rows.append((name, ours, floor, goal))
        # The bound for the web board: no more than twice the time of the JSON list it shows.
        board = alternate(run(service, f"/?{BOARD_QUERY}"), run(service, f"/v1/claims?{BOARD_QUERY}"), args.rounds)
        mixed = writes_beside_reads(service, args, str(script))
        normal = None
        if "SQLITE_SYNCHRONOUS" in DEFAULTS:
            service.stop()
            servers.remove(service)
            service = gunicorn("service.wsgi:app", env, log, synchronous="NORMAL").wait("/healthz")
            servers.append(service)
            floor, normal = alternate(run(bare, "/bare"), run(service, "/", str(script)), args.rounds)
            rows.append(("`POST /v1/claims/{id}/attributions` (NORMAL)", normal, floor, None))
        commits = {level: commit_rate(folder, level) for level in ("FULL", "NORMAL")}
        datasette = measure_datasette(folder, args, service, log, servers)
    finally:
        for server in servers:
            server.stop()
        log.close()
    report(args, rows, board, mixed, commits, datasette)
    shutil.rmtree(folder, ignore_errors=True)


def writes_beside_reads(service, args, script):
    """POSTs (FULL) and single-claim GETs at the same time, 4 wrk connections each: medians of (POST rps, GET rps).
    Writes should keep a share of the workers under a load of reads (docs/benchmarks.md, section 09:40)."""
    posts, gets = [], []
    for _ in range(args.rounds):
        with ThreadPoolExecutor(2) as pool:
            post = pool.submit(wrk, service.base + "/", args.duration, script, 4)
            get = pool.submit(wrk, f"{service.base}/v1/claims/{args.claims // 2}", args.duration, None, 4)
            posts.append(post.result())
            gets.append(get.result())
    return statistics.median(posts), statistics.median(gets)


def measure_datasette(folder, args, service, log, servers):
    """Datasette and the service on the same file, in turns: [(name, datasette rps, our rps, goal)]."""
    if not DATASETTE.exists():
        print("(Datasette skipped: make bench installs it into .venv-bench)", file=sys.stderr)
        return []
    command = [DATASETTE, "serve", folder / "ledger.db", "--host", "127.0.0.1", "--port", "{port}"]
    datasette = Server(command, os.environ, log).wait("/ledger.json")
    servers.append(datasette)
    run = lambda server, path: lambda: wrk(server.base + path, args.duration)  # noqa: E731
    claim = args.claims // 2
    cases = [
        ("point lookup", f"/ledger/claim/{claim}.json", f"/v1/claims/{claim}", 3),
        ("filtered list (status, 50 rows)", "/ledger/claim.json?status=reported&_size=50",
         "/v1/claims?status=reported&limit=50", 50),
    ]
    return [(name, *alternate(run(datasette, theirs), run(service, ours), args.rounds), goal)
            for name, theirs, ours, goal in cases]


def report(args, rows, board, mixed, commits, datasette):
    print("## HTTP hot path against a bare Flask route (`bench/http_rates.py`)\n")
    print(f"SQLite ledger of {args.claims:,} claims (two attributions each); gunicorn as in "
          f"service/gunicorn_conf.py (2 workers of the service's gevent worker class), rate limit off; "
          f"`wrk -t1 -c8`, {args.duration} s a run, medians of {args.rounds} alternating runs "
          "after a round not counted.\n")
    print("| request | rps | bare route rps | ratio | goal |")
    print("|---|---|---|---|---|")
    for name, ours, floor, goal in rows:
        target = f"≥ {goal:.2f}×" if goal else "—"
        print(f"| {name} | {ours:,.0f} | {floor:,.0f} | {ours / floor:.2f}× | {target} |")
    print(f"\nThe web board `/?{BOARD_QUERY}` against the JSON list it shows, `/v1/claims?{BOARD_QUERY}`, in turns: "
          f"{board[0]:,.0f} against {board[1]:,.0f} rps, {board[0] / board[1]:.2f}× (goal ≥ 0.50×: no more than "
          f"twice the time).")
    print(f"\nWrites beside reads (FULL; POST attribution and `GET /v1/claims/{{id}}` at the same time, 4 connections "
          f"each): {mixed[0]:,.0f} POSTs and {mixed[1]:,.0f} GETs a second.")
    print(f"\nBare single-row APSW commits on the same disk, same run: synchronous=FULL {commits['FULL']:,.0f}/s, "
          f"NORMAL {commits['NORMAL']:,.0f}/s.")
    if "SQLITE_SYNCHRONOUS" not in DEFAULTS:
        print("(No NORMAL POST figure: this build has no REPORTEDLY_SQLITE_SYNCHRONOUS.)")
    if datasette:
        print("\n## Datasette on the same SQLite file (`bench/http_rates.py`)\n")
        print("| request | Datasette rps | our rps | ours ÷ Datasette | goal |")
        print("|---|---|---|---|---|")
        for name, theirs, ours, goal in datasette:
            ratio = f"{ours / theirs:.1f}×" if theirs else "— (Datasette finished no request within wrk's 5 s timeout)"
            print(f"| {name} | {theirs:,.0f} | {ours:,.0f} | {ratio} | ≥ {goal}× |")
    # On a shared machine the neighbours' load moves every figure: ratios from one run are what compare.
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
