"""The hot path in instructions per request: the service against a bare Flask route, counted by callgrind.

Requests per second on a machine shared with others move with the neighbours' load;
instructions do not. This runs each request in a Python process under
`valgrind --tool=callgrind` twice, with FEW and with MANY repetitions, and reports the
difference per request: the request's own cost in process (Flask's test client, no
gunicorn or network), for the bare route of bench/bare_app.py and for the service on
a SQLite ledger built as bench/http_rates.py builds it. The ratio bare ÷ ours is what
the service would reach against the bare route if both were bound by the CPU alone
and nothing outside the app cost anything; over HTTP, gunicorn's and the socket's fixed
cost per request narrows the gap (bench/http_rates.py measures that).
Run: python bench/instructions.py (needs valgrind).
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402

from bench.http_rates import build_ledger  # noqa: E402

FEW, MANY = 10, 60
DRIVER = """
import os, sys
sys.path.insert(0, {root!r})
path, method, token, times = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
if path == "/bare":
    from bench.bare_app import app
else:
    from service.app import create_app
    app = create_app()
client = app.test_client()
body = {{"source": "reuters", "stance": "supports", "basis": "secondhand", "confidence": 0.5}}
for i in range(times):
    if method == "POST":
        response = client.post(path, json=body, headers={{"Authorization": "Bearer " + token}})
    else:
        response = client.get(path)
    assert response.status_code < 300, response.get_data(as_text=True)
"""


def instructions(driver, env, path, method, token, times):
    """Instructions callgrind counts for a process that serves `times` requests."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, str(driver),
               path, method, token, str(times)]
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stderr
    return int(re.search(r"Collected : (\d+)", output).group(1))


def per_request(driver, env, path, method="GET", token=""):
    """A request's own instructions: the difference between MANY and FEW requests, per request."""
    few = instructions(driver, env, path, method, token, FEW)
    many = instructions(driver, env, path, method, token, MANY)
    return (many - few) / (MANY - FEW)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=10_000)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is missing: apt-get install valgrind")
    folder = Path(tempfile.mkdtemp(prefix="instructions-"))
    env, token = build_ledger(folder, args.claims)
    env = {**env, "REPORTEDLY_RATE_LIMIT_PER_MINUTE": "0", "REPORTEDLY_LOG_LEVEL": "WARNING"}
    driver = folder / "driver.py"
    driver.write_text(DRIVER.format(root=str(ROOT)))
    bare = per_request(driver, env, "/bare")
    cases = [
        ("`GET /healthz` (the fixed cost of every request)", "/healthz", "GET", None),
        ("`GET /v1/claims/{id}`", f"/v1/claims/{args.claims // 2}", "GET", 0.60),
        ("`GET /v1/claims?status=reported&limit=50`", "/v1/claims?status=reported&limit=50", "GET", 0.35),
        ("`GET /v1/summary`", "/v1/summary", "GET", 0.50),
        ("`POST /v1/claims/{id}/attributions`", f"/v1/claims/{args.claims // 2}/attributions", "POST", 0.25),
    ]
    print("## The hot path in instructions per request (`bench/instructions.py`)\n")
    print(f"callgrind, in process (Flask's test client), SQLite ledger of {args.claims:,} claims, rate limit off; "
          f"per request = (instructions for {MANY} requests − for {FEW}) ÷ {MANY - FEW}.\n")
    print("| request | instructions | bare route | bare ÷ ours | HTTP goal |")
    print("|---|---|---|---|---|")
    print(f"| bare Flask route | {bare:,.0f} | | 1.00 | |")
    for name, path, method, goal in cases:
        ours = per_request(driver, env, path, method, token)
        target = f"≥ {goal:.2f}×" if goal else "—"
        print(f"| {name} | {ours:,.0f} | {bare:,.0f} | {bare / ours:.2f} | {target} |")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
