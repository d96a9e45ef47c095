"""End to end: the real gunicorn, 2 workers, a temporary SQLite file, over HTTP."""

import http.client
import itertools
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest
import requests

from tests.servers import Gunicorn, reportedly

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(fresh_database, tmp_path):
    """gunicorn with 2 workers through the project's config module, as `reportedly serve` runs it."""
    env = {"REPORTEDLY_DATABASE_URL": fresh_database(), "REPORTEDLY_MAX_BODY_BYTES": "4096"}
    reportedly(env, "migrate")
    token = reportedly(env, "keys", "create", "--name", "e2e", "--scope", "admin").strip().splitlines()[-1]
    gunicorn = Gunicorn(tmp_path / "gunicorn.log", **env).start()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    yield {"base": gunicorn.base, "http": session, "port": gunicorn.port, "env": env}
    assert gunicorn.stop() == 0
    assert "Traceback" not in gunicorn.logs()


def test_create_attribute_retract_as_of_history(server):
    base, http_ = server["base"], server["http"]
    for source in ({"id": "nyt", "name": "The New York Times", "kind": "news_outlet", "reliability": "B"},
                   {"id": "rok-nis", "name": "South Korean intelligence", "kind": "intelligence_service",
                    "reliability": "B"}):
        assert http_.post(f"{base}/v1/sources", json=source).status_code == 201
    claim = http_.post(f"{base}/v1/claims", json={"text": "The Kremlin proposed joint naval drills."}).json()
    assert claim["status"] == "unconfirmed"

    first = http_.post(f"{base}/v1/claims/{claim['id']}/attributions",
                       json={"source": "nyt", "stance": "supports", "basis": "secondhand", "confidence": 0.6}).json()
    assert first["claim"]["status"] == "reported"
    second = http_.post(f"{base}/v1/claims/{claim['id']}/attributions",
                        json={"source": "rok-nis", "stance": "supports", "basis": "secondhand", "confidence": 0.5})
    assert second.status_code == 201 and second.json()["claim"]["status"] == "confirmed"
    confirmed_at = datetime.now(timezone.utc).isoformat()
    time.sleep(0.01)

    retracted = http_.post(f"{base}/v1/attributions/{second.json()['id']}/retraction", json={"reason": "misread"})
    assert retracted.status_code == 200 and retracted.json()["claim"]["status"] == "reported"

    assert requests.get(f"{base}/v1/claims/{claim['id']}").json()["status"] == "reported"
    then = requests.get(f"{base}/v1/claims/{claim['id']}", params={"as_of": confirmed_at}).json()
    assert then["status"] == "confirmed" and then["confidence"] == 0.8
    assert then["attributions"][1]["retracted_at"] is None

    history = requests.get(f"{base}/v1/claims/{claim['id']}/history").json()["items"]
    assert [(h["status"], h["cause"]["kind"]) for h in history] == [
        ("unconfirmed", "created"), ("reported", "attribution"), ("confirmed", "attribution"), ("reported", "retraction"),
    ]


def test_concurrent_writes_through_both_workers_stay_consistent(server):
    base, http_ = server["base"], server["http"]
    for source_id in ("wire", "nyt"):
        created = http_.post(f"{base}/v1/sources", json={"id": source_id, "name": source_id, "kind": "news_outlet"})
        assert created.status_code == 201
    claim = http_.post(f"{base}/v1/claims", json={"text": "Many hands write at once."}).json()

    def attribute(i):
        session = requests.Session()
        session.headers.update(http_.headers)
        body = {"source": "wire" if i % 2 else "nyt", "stance": "supports" if i % 3 else "denies",
                "basis": "secondhand", "confidence": round(0.1 + (i % 9) / 10, 2)}
        return session.post(f"{base}/v1/claims/{claim['id']}/attributions", json=body).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(attribute, range(40)))
    assert statuses == [201] * 40

    stored = requests.get(f"{base}/v1/claims/{claim['id']}").json()
    fresh = requests.get(f"{base}/v1/claims/{claim['id']}",
                         params={"as_of": datetime.now(timezone.utc).isoformat()}).json()
    assert len(stored["attributions"]) == 40
    assert {k: stored[k] for k in ("status", "confidence", "explanation", "origins")} == \
           {k: fresh[k] for k in ("status", "confidence", "explanation", "origins")}
    history = requests.get(f"{base}/v1/claims/{claim['id']}/history", params={"limit": 200}).json()["items"]
    changes = [(h["status"], h["confidence"]) for h in history]
    assert all(a != b for a, b in itertools.pairwise(changes)), "a history entry without a change"
    assert changes[-1] == (stored["status"], stored["confidence"])
    assert "ledger verified" in reportedly(server["env"], "verify")


def test_an_oversized_chunked_body_is_413(server):
    connection = http.client.HTTPConnection("127.0.0.1", server["port"], timeout=10)
    chunks = [b'{"text": "' + b"x" * 2000, b"x" * 4000 + b'"}']
    connection.request("POST", "/v1/claims", body=iter(chunks), encode_chunked=True,
                       headers={"Content-Type": "application/json",
                                "Authorization": server["http"].headers["Authorization"]})
    response = connection.getresponse()
    assert response.status == 413
    assert response.getheader("Content-Type") == "application/problem+json"


def test_health_reports_the_bundled_sqlite(server):
    health = requests.get(f"{server['base']}/healthz").json()
    assert health["database"] == "ok"
    if health["engine"] == "postgresql":  # PostgreSQL names its server, never a SQLite library it does not use
        assert health["server_version"] and "sqlite_version" not in health
        return
    major, minor, patch = (int(p) for p in health["sqlite_version"].split("."))
    assert (major, minor, patch) >= (3, 51, 3)
