"""Hostile clients over real HTTP: bad framing, gunicorn's own limits, races on group keys, concurrent greenlets."""

import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.servers import Gunicorn, reportedly

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(fresh_database, tmp_path):
    """gunicorn as `reportedly serve` runs it (2 gevent workers), with an admin and a read token."""
    env = {"REPORTEDLY_DATABASE_URL": fresh_database()}
    reportedly(env, "migrate")
    tokens = {scope: reportedly(env, "keys", "create", "--name", scope, "--scope", scope).strip().splitlines()[-1]
              for scope in ("read", "admin")}
    gunicorn = Gunicorn(tmp_path / "gunicorn.log", **env).start()
    yield {"base": gunicorn.base, "port": gunicorn.port, "tokens": tokens}
    assert gunicorn.stop() == 0
    assert "Traceback" not in gunicorn.logs()


def exchange(port, data):
    """Send raw bytes; return (status, headers, body) of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
    return int(status_line.split()[1]), headers, body


def assert_raw_problem(answer, status):
    code, headers, body = answer
    assert code == status, answer
    assert headers["content-type"] == "application/problem+json", answer
    problem = json.loads(body)
    assert problem["status"] == status and problem["type"].startswith("urn:reportedly:problem:")
    return problem


def chunked_post(token, path, extra_headers=b""):
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n").encode() \
        + extra_headers + b"\r\nzz\r\n{}\r\n0\r\n\r\n"


def test_a_malformed_chunked_body_is_a_400(server):
    answer = exchange(server["port"], chunked_post(server["tokens"]["admin"], "/v1/claims"))
    assert_raw_problem(answer, 400)
    assert requests.get(f"{server['base']}/v1/claims").json()["items"] == []


def test_the_scope_is_checked_before_an_idempotent_body_is_read(server):
    request = chunked_post(server["tokens"]["read"], "/v1/claims", b"Idempotency-Key: k1\r\n")
    assert_raw_problem(exchange(server["port"], request), 403)


def test_gunicorns_own_refusals_are_problems(server):
    port = server["port"]
    assert_raw_problem(exchange(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n"), 400)
    assert_raw_problem(exchange(port, b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"), 414)
    many = b"".join(b"X-%d: 1\r\n" % n for n in range(120))
    assert_raw_problem(exchange(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n"), 431)


def test_a_double_slash_with_a_forged_host_is_no_redirect(server):
    code, headers, _ = exchange(server["port"], b"GET /v1/claims//1 HTTP/1.1\r\nHost: evil.example\r\n"
                                                b"Connection: close\r\n\r\n")
    assert code == 404 and "location" not in headers


def test_racing_group_keys_never_both_succeed(server):
    """{"id": "y"} and {"id": "x", "affiliation": "y"} at once: one of them must be refused (spec: keys never mix)."""
    base, auth = server["base"], {"Authorization": f"Bearer {server['tokens']['admin']}"}
    outcomes = []
    for n in range(15):
        key, other = f"key-{n}", f"member-{n}"
        bodies = [{"id": key, "name": "K", "kind": "other"},
                  {"id": other, "name": "M", "kind": "other", "affiliation": key}]
        start = threading.Barrier(2)

        def post(body, start=start):
            start.wait()
            return requests.post(f"{base}/v1/sources", json=body, headers=auth, timeout=30).status_code

        with ThreadPoolExecutor(2) as pool:
            statuses = sorted(pool.map(post, bodies))
        outcomes.append(statuses)
        assert statuses == [201, 422], outcomes
    sources = requests.get(f"{base}/v1/sources", params={"limit": 200}).json()["items"]
    ids = {s["id"] for s in sources}
    assert not any(s["affiliation"] in ids and s["affiliation"] != s["id"] for s in sources)


def start_slow_post(port, token, body):
    """Send a POST's headers and half its body; return the socket, and the rest to send later."""
    data = json.dumps(body).encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sock.sendall(f"POST /v1/claims HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                 f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\nConnection: close\r\n\r\n"
                 .encode() + data[:len(data) // 2])
    return sock, data[len(data) // 2:]


def finish_slow_post(sock, rest):
    with sock:
        sock.sendall(rest)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer.split(b" ", 2)[1]


def test_concurrent_requests_in_one_worker_keep_their_own_connections(server):
    """Greenlets of one worker must not share a database connection (peewee's state is per greenlet):
    requests waiting for the rest of their body hold a connection while others come and go."""
    base, auth = server["base"], {"Authorization": f"Bearer {server['tokens']['admin']}"}
    assert requests.post(f"{base}/v1/sources", json={"id": "nyt", "name": "NYT", "kind": "news_outlet"},
                         headers=auth).status_code == 201
    slow = [start_slow_post(server["port"], server["tokens"]["admin"], {"text": f"Slow {n}."}) for n in range(4)]

    def write(n):
        body = {"text": f"Claim {n}.", "attributions": [
            {"source": "nyt", "stance": "supports", "basis": "secondhand", "confidence": 0.5}]}
        response = requests.post(f"{base}/v1/claims", json=body, headers=auth, timeout=60)
        return response.status_code, response.json().get("text")

    # Within each worker's pool (8): slow and fast requests together never wait for a connection.
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(write, range(48)))
    assert results == [(201, f"Claim {n}.") for n in range(48)]
    assert [finish_slow_post(sock, rest) for sock, rest in slow] == [b"201"] * len(slow)
    claims = requests.get(f"{base}/v1/claims", params={"limit": 200}).json()["items"]
    expected = [f"Claim {n}." for n in range(48)] + [f"Slow {n}." for n in range(len(slow))]
    assert sorted(c["text"] for c in claims) == sorted(expected)
