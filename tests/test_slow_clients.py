"""Slow clients: one client holding 50 connections that trickle their headers must not take the service down."""

import socket
import threading
import time

import pytest
import requests
from servers import Gunicorn

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SLOW_CONNECTIONS = 50
HOLD_SECONDS = 30
PROBE_EVERY = 0.5


def trickle(port, stop, opened):
    """Open a connection and send one header line every 5 s, never ending the request."""
    sock = socket.create_connection(("127.0.0.1", port))
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        opened.release()
        while not stop.wait(5):
            sock.sendall(b"X-Trickle: 1\r\n")
    except OSError:
        pass  # the server may drop a connection; a slow client would open another
    finally:
        sock.close()


def probe(base, seconds):
    """Ask /healthz every PROBE_EVERY seconds; return (answered in time, asked)."""
    answered = asked = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        asked += 1
        try:
            answered += requests.get(f"{base}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            pass
        time.sleep(PROBE_EVERY)
    return answered, asked


def test_the_service_answers_while_50_slow_connections_are_held(database_url, tmp_path):
    server = Gunicorn(tmp_path / "gunicorn.log", REPORTEDLY_DATABASE_URL=database_url).start()
    stop, opened = threading.Event(), threading.Semaphore(0)
    slow = [threading.Thread(target=trickle, args=(server.port, stop, opened)) for _ in range(SLOW_CONNECTIONS)]
    try:
        for thread in slow:
            thread.start()
        for _ in slow:
            assert opened.acquire(timeout=10), "a slow connection could not be opened"
        answered, asked = probe(server.base, HOLD_SECONDS)
    finally:
        stop.set()
        for thread in slow:
            thread.join()
        assert server.stop() == 0
    assert answered >= 0.95 * asked, f"{answered} of {asked} probes answered within 1 s"
    assert asked >= 40, "probes were not answered in time to ask every 0.5 s"
