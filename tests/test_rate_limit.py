"""Rate limits: a moving window per client, shared by every worker through Redis; failed authentication
counted per address before any token is looked up; client addresses from trusted proxies only."""

import os
import re
import threading
import time

import pytest
import requests
from conftest import build_app
from test_errors import assert_problem

from tests.servers import Gunicorn, reportedly

REDIS_URL = os.environ.get("REPORTEDLY_TEST_REDIS_URL")
BAD_TOKEN = "rpt_0123456789abcdef_not-the-secret"


def test_over_the_limit_is_a_429_problem_with_retry_after(database_url):
    client = build_app(database_url, RATE_LIMIT_PER_MINUTE=3).test_client()
    assert [client.get("/v1/claims").status_code for _ in range(3)] == [200, 200, 200]
    response = client.get("/v1/claims")
    assert_problem(response, 429)
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert client.get("/healthz").status_code == 200, "health checks are never limited"


def test_failed_authentication_is_limited_per_address_before_the_token_is_looked_up(database_url, tokens):
    client = build_app(database_url, AUTH_FAILURE_LIMIT=3).test_client()
    bad = {"Authorization": f"Bearer {BAD_TOKEN}"}
    assert [client.get("/v1/claims", headers=bad).status_code for _ in range(3)] == [401, 401, 401]
    response = client.get("/v1/claims", headers=bad)
    assert_problem(response, 429)
    assert int(response.headers["Retry-After"]) >= 1
    # Refused before the lookup: even a good token from this address waits now.
    assert_problem(client.get("/v1/claims", headers={"Authorization": f"Bearer {tokens['read']}"}), 429)
    assert client.get("/v1/claims").status_code == 200, "requests without a token are not authentication failures"
    other = {"REMOTE_ADDR": "192.0.2.7"}
    assert client.get("/v1/claims", headers=bad, environ_base=other).status_code == 401


@pytest.mark.parametrize("trusted, separate", [(0, False), (1, True)])
def test_forwarded_addresses_count_only_behind_trusted_proxies(database_url, trusted, separate):
    client = build_app(database_url, RATE_LIMIT_PER_MINUTE=2, TRUSTED_PROXIES=trusted).test_client()
    first, second = ({"X-Forwarded-For": address} for address in ("198.51.100.1", "198.51.100.2"))
    assert [client.get("/v1/claims", headers=first).status_code for _ in range(2)] == [200, 200]
    assert client.get("/v1/claims", headers=first).status_code == 429
    assert client.get("/v1/claims", headers=second).status_code == (200 if separate else 429)


@pytest.mark.e2e
@pytest.mark.slow
def test_one_limit_across_two_workers_in_any_window(database_url, tmp_path):
    """60 per window across 2 gunicorn workers sharing Redis: never more than 60 accepted in any window."""
    if not REDIS_URL:
        pytest.skip("shared limit: set REPORTEDLY_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0) to run it")
    window, limit = 10, 60
    env = {"REPORTEDLY_DATABASE_URL": database_url}
    reportedly(env, "migrate")
    token = reportedly(env, "keys", "create", "--name", "limited", "--scope", "read").strip().splitlines()[-1]
    server = Gunicorn(tmp_path / "gunicorn.log", **env, REPORTEDLY_RATE_LIMIT_PER_MINUTE=str(limit),
                      REPORTEDLY_RATE_LIMIT_WINDOW_SECONDS=str(window),
                      REPORTEDLY_RATE_LIMIT_STORAGE=REDIS_URL).start()
    accepted, refused, lock = [], [], threading.Lock()
    auth = {"Authorization": f"Bearer {token}", "Connection": "close"}
    deadline = time.monotonic() + 2.5 * window

    def hammer():
        # A new connection per request, so both workers take a share (a kept-alive one stays with one worker).
        while time.monotonic() < deadline:
            sent = time.monotonic()
            status = requests.get(f"{server.base}/v1/claims", params={"limit": 1}, headers=auth).status_code
            with lock:
                (accepted if status == 200 else refused).append((sent, status))

    try:
        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        assert server.stop() == 0
    served_by = set(re.findall(r"\[(\d+)\] \[INFO\] gunicorn.access \[[^]]*\]: .* \"GET /v1/claims", server.logs()))
    assert len(served_by) == 2, "both workers must have answered"
    assert {status for _, status in refused} == {429}
    times = sorted(sent for sent, _ in accepted)
    # Sent within (window - 1) s means arrived within one window (answers here take milliseconds).
    busiest = max(sum(1 for t in times if start <= t < start + window - 1) for start in times)
    assert limit * 0.9 <= busiest <= limit, f"{busiest} accepted in one window"
    assert len(times) <= 3 * limit, "2.5 windows admit at most 3 windows' worth"
