"""Scale-out: two gunicorn instances on one database, concurrent writes and retries sent to both.

On PostgreSQL this is the path past one machine; on SQLite it is four worker
processes writing one WAL file.
"""

import itertools
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest
import requests

from tests.servers import Gunicorn, reportedly

SOURCES = [("nyt", "B"), ("reuters", "A"), ("blog", "E"), ("rok-nis", "B"), ("tass", "C")]
CLAIMS = 4
WRITES = 60


@pytest.fixture
def cluster(fresh_database, tmp_path):
    """Two instances started at the same moment: both masters migrate the empty database at once."""
    env = {"REPORTEDLY_DATABASE_URL": fresh_database(), "REPORTEDLY_DB_POOL_SIZE": "4"}
    instances = [Gunicorn(tmp_path / f"gunicorn-{i}.log", **env).launch() for i in range(2)]
    for instance in instances:
        instance.wait_healthy()
    token = reportedly(env, "keys", "create", "--name", "load", "--scope", "admin").strip().splitlines()[-1]
    yield instances, {"Authorization": f"Bearer {token}"}, env
    for instance in instances:
        assert instance.stop() == 0
        assert "Traceback" not in instance.logs(), instance.logs()


def post_until_answered(base, path, body, headers, key):
    """POST with an Idempotency-Key, retrying while the key is in flight elsewhere (409)."""
    for _ in range(200):
        response = requests.post(f"{base}{path}", json=body, headers={**headers, "Idempotency-Key": key}, timeout=30)
        if response.status_code != 409 or "in flight" not in response.json()["detail"]:
            return response
        time.sleep(0.02)
    raise AssertionError(f"{key} stayed in flight")


def test_concurrent_writes_and_retries_on_two_instances(cluster):
    (first, second), auth, env = cluster
    for source_id, grade in SOURCES:
        assert requests.post(f"{first.base}/v1/sources", headers=auth, timeout=10, json={
            "id": source_id, "name": source_id, "kind": "news_outlet", "reliability": grade}).status_code == 201
    claims = [requests.post(f"{second.base}/v1/claims", json={"text": f"Claim {i}"}, headers=auth,
                            timeout=10).json()["id"] for i in range(CLAIMS)]
    document = requests.post(f"{first.base}/v1/documents", json={"publisher": "nyt", "title": "Roundup"},
                             headers=auth, timeout=10).json()["id"]

    rng = random.Random(7)
    writes = []
    for n in range(WRITES):
        body = {"source": rng.choice(SOURCES)[0], "stance": rng.choice(["supports", "supports", "denies"]),
                "basis": "secondhand", "confidence": rng.choice([0.2, 0.5, 0.6, 0.9])}
        if n % 3 == 0:
            body["document_id"] = document  # these race the document's retraction below
        writes.append((f"attr-{n}", f"/v1/claims/{rng.choice(claims)}/attributions", body))
    retract_document = ("retract-document", f"/v1/documents/{document}/retraction", {"reason": "pulled"})
    answers, lock = {}, threading.Lock()

    def send(job):
        (key, path, body), base = job
        response = post_until_answered(base, path, body, auth, key)
        with lock:
            answers.setdefault(key, []).append((response.status_code, response.json()))

    # every write goes to both instances at once (a retry racing its original), plus once more
    jobs = [(w, b) for w in writes for b in (first.base, second.base)] + [(w, second.base) for w in writes[::3]]
    random.Random(3).shuffle(jobs)
    jobs.insert(len(jobs) // 2, (retract_document, first.base))
    with ThreadPoolExecutor(max_workers=12) as pool:
        list(pool.map(send, jobs))

    assert answers.pop("retract-document")[0][0] == 200
    for key, results in answers.items():
        statuses = {status for status, _ in results}
        # a write citing the document after its retraction is refused, however often retried
        assert statuses == {201} or statuses == {409}, (key, results)
        # A refusal is answered afresh each time, under its own request id; a success is replayed as it was.
        assert all(answer(body) == answer(results[0][1]) for _, body in results), f"{key}: a replay differs"
    acknowledged = {results[0][1]["id"] for results in answers.values() if results[0][0] == 201}
    refused = [key for key, results in answers.items() if results[0][0] == 409]
    assert len(acknowledged) + len(refused) == WRITES
    assert all("document_id" in dict((w[0], w[2]) for w in writes)[key] for key in refused)

    # retract a few, again through both instances at once
    retractions = [(f"retract-{a}", f"/v1/attributions/{a}/retraction", {"reason": "r"})
                   for a in sorted(acknowledged)[::5]]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(send, [(r, b) for r in retractions for b in (first.base, second.base)]))
    assert all({s for s, _ in answers[key]} <= {200, 409} for key, _, _ in retractions)

    stored_attributions = set()
    for claim_id in claims:
        verify_claim(first.base, claim_id)
        stored_attributions |= {a["id"] for a in requests.get(f"{second.base}/v1/claims/{claim_id}").json()["attributions"]}
    assert stored_attributions == acknowledged, "every acknowledged write is stored exactly once"
    # every stored field, history entry, timeline and count equals a re-derivation from the inputs
    assert "ledger verified" in reportedly(env, "verify")


def answer(body):
    """A body without the id of the request that carried it."""
    return {k: v for k, v in body.items() if k != "request_id"}


def verify_claim(base, claim_id):
    """As of now equals now; history holds one entry per change, in order."""
    now = datetime.now(timezone.utc).isoformat()
    stored = requests.get(f"{base}/v1/claims/{claim_id}").json()
    fresh = requests.get(f"{base}/v1/claims/{claim_id}", params={"as_of": now}).json()
    assert {k: v for k, v in stored.items() if k != "attributions"} == \
           {k: v for k, v in fresh.items() if k != "attributions"}

    history = requests.get(f"{base}/v1/claims/{claim_id}/history", params={"limit": 200}).json()["items"]
    changes = [(h["status"], h["confidence"]) for h in history]
    assert all(a != b for a, b in itertools.pairwise(changes)), "an entry without a change"
    assert [h["at"] for h in history] == sorted(h["at"] for h in history), "history out of commit order"
    assert changes[-1] == (stored["status"], stored["confidence"])
    for entry in history:
        then = requests.get(f"{base}/v1/claims/{claim_id}", params={"as_of": entry["at"]}).json()
        assert (then["status"], then["confidence"]) == (entry["status"], entry["confidence"])
    # and no change went unrecorded: at every attribution's time, the latest entry holds
    for attribution in stored["attributions"]:
        moments = [attribution["recorded_at"]] + ([attribution["retracted_at"]] if attribution["retracted_at"] else [])
        for moment in moments:
            then = requests.get(f"{base}/v1/claims/{claim_id}", params={"as_of": moment}).json()
            latest = [h for h in history if h["at"] <= moment][-1]
            assert (then["status"], then["confidence"]) == (latest["status"], latest["confidence"])
