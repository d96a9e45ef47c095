"""Measure `reportedly import`: claims a second into SQLite and the importer's peak memory.

Writes a JSON Lines file of CLAIMS claims (two attributions each, one relayed, half
citing a document with a quote), imports it into a fresh SQLite file with the real
command in a subprocess, and reports wall time, claims/s and the subprocess's peak
RSS (from wait4). 100,000 claims by default; `--claims 1000000` for the full run.
Targets (issue 8): >= 20,000 claims/s, 1M in under a minute, peak RSS <= 200 MB.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
SOURCES = [("nyt", "B", None), ("reuters", "A", None), ("blog", "E", None), ("kcna", "D", "dprk-state"),
           ("dprk-gov", "B", "dprk-state"), ("el-heraldo", "C", None)]
ORIGINS = [s for s, _, _ in SOURCES if s != "el-heraldo"]
DOCUMENTS = 100


def write_file(path, claims):
    """The benchmark's input: sources, DOCUMENTS documents, then the claims."""
    with open(path, "w", encoding="utf-8") as out:
        for source_id, grade, affiliation in SOURCES:
            out.write(json.dumps({"type": "source", "id": source_id, "name": source_id.upper(), "kind": "other",
                                  "reliability": grade, "affiliation": affiliation}) + "\n")
        for d in range(DOCUMENTS):
            out.write(json.dumps({"type": "document", "key": f"k{d}", "publisher": "el-heraldo",
                                  "title": f"Article {d}", "published_at": "2026-05-01T08:00:00Z",
                                  "text": f"Article {d} says the train left and officials deny it."}) + "\n")
        for i in range(claims):
            first = {"source": ORIGINS[i % 5], "via": ["el-heraldo"], "stance": "supports", "basis": "secondhand",
                     "confidence": 0.6}
            if i % 2:
                first.update(document_key=f"k{i % DOCUMENTS}", quote="the train left")
            second = {"source": ORIGINS[(i + 2) % 5], "stance": "denies" if i % 7 == 0 else "supports",
                      "basis": "documentary" if i % 3 == 0 else "assessment", "confidence": 0.3 + (i % 5) / 10}
            out.write(json.dumps({"type": "claim", "text": f"Claim {i}: the train left on day {i % 365}.",
                                  "subjects": ["Kim Jong Un", f"place-{i % 50}"],
                                  "parties": ["dprk-state"] if i % 4 == 0 else [],
                                  "attributions": [first, second]}) + "\n")


def run_import(path, database, batch_size):
    """Run `reportedly import` on a migrated database; (seconds, CPU seconds, peak RSS in MiB, exit status)."""
    env = {**os.environ, "REPORTEDLY_DATABASE_URL": f"sqlite:///{database}"}
    subprocess.run([BIN / "reportedly", "migrate"], env=env, check=True, capture_output=True)
    started = time.monotonic()
    process = subprocess.Popen([BIN / "reportedly", "import", "--batch-size", str(batch_size), str(path)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    cpu = usage.ru_utime + usage.ru_stime
    return time.monotonic() - started, cpu, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="import-bench-") as folder:
        path = Path(folder) / "claims.ndjson"
        write_file(path, args.claims)
        seconds, cpu, rss, code = run_import(path, Path(folder) / "ledger.db", args.batch_size)
    if code != 0:
        raise SystemExit(f"reportedly import failed with status {code}")
    # CPU seconds beside wall seconds: on a shared machine the wall clock also measures the neighbours.
    print("## Bulk import speed (`bench/import_speed.py`)\n")
    print("| claims (2 attributions each) | batch | wall s | claims/s (wall) | CPU s | claims per CPU s "
          "| peak RSS (MiB) |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {args.claims:,} | {args.batch_size:,} | {seconds:.1f} | {args.claims / seconds:,.0f} | {cpu:.1f} "
          f"| {args.claims / cpu:,.0f} | {rss:.0f} |")
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
