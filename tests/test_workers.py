"""The gunicorn worker's waits for PostgreSQL under gevent (service.workers.wait_cooperatively), in a process of
their own: gevent's patch cannot be undone in the test process."""

import subprocess
import sys

import pytest

from tests.conftest import POSTGRESQL_URL

GEVENT_CLIENT = """
from gevent import monkey; monkey.patch_all()
import sys, time, gevent
from service.workers import cooperative_psycopg
cooperative_psycopg()
import psycopg

ticks = []
def tick():
    while True:
        ticks.append(time.monotonic())
        gevent.sleep(0.02)

with psycopg.connect(sys.argv[1], autocommit=True) as connection:
    ticker = gevent.spawn(tick)
    gevent.sleep(0)
    started = time.monotonic()
    connection.execute("SELECT pg_sleep(0.5)")
    print("ticks while the server slept", sum(started < t < time.monotonic() for t in ticks), flush=True)
    ticker.kill()
    with connection.pipeline():
        cursor = connection.cursor()
        cursor.execute("CREATE TEMPORARY TABLE numbers (n integer)")
        cursor.executemany("INSERT INTO numbers VALUES (%s)", [(n,) for n in range(2000)])
        print("pipelined sum", cursor.execute("SELECT sum(n) FROM numbers").fetchone()[0], flush=True)
    started = time.monotonic()
    list(connection.notifies(timeout=0.3))
    print("waited for notifications", time.monotonic() - started, flush=True)
    try:
        connection.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    except psycopg.OperationalError:
        print("closed by the server", flush=True)
"""


@pytest.mark.skipif(not POSTGRESQL_URL, reason="PostgreSQL half: set REPORTEDLY_TEST_DATABASE_URL to run it")
def test_a_gevent_worker_waits_for_postgresql_in_its_own_greenlet():
    """While one request waits for the server, the worker's other greenlets run; pipelined statements all arrive
    and answer in order; a wait with a time limit ends at it; a connection the server drops is an error, not a
    hang."""
    done = subprocess.run([sys.executable, "-c", GEVENT_CLIENT, POSTGRESQL_URL], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("ticks while the server slept")
    assert int(lines[0].split()[-1]) >= 3  # about 25 on an idle machine; none if the query held the worker
    assert lines[1] == "pipelined sum 1999000"
    assert lines[2].startswith("waited for notifications")
    assert 0.3 <= float(lines[2].split()[-1]) < 10  # the limit, not before it and not forever
    assert lines[3:] == ["closed by the server"]
