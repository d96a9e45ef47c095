"""Re-grades at any size: a change behind many claims is a job the client polls; it applies whole, at one time."""

import threading
import time

from service import jobs, progress, source_writes
from service.db import db
from service.models import HistoryEntry, Job
from service.verify import verify_ledger
from tests.conftest import LedgerClient, build_app


def regrade_world(database_url, tokens_for, inline_limit):
    app = build_app(database_url, REGRADE_INLINE_LIMIT=inline_limit)
    client = app.test_client()
    with db.connection_context():
        from service.auth import create_token

        tokens = {"admin": create_token("jobs-admin", "admin"), "read": create_token("jobs-read", "read")}
    helper = LedgerClient(client, tokens)
    helper.source("nyt", reliability="B")
    helper.source("reuters", reliability="A")
    claims = [helper.claim(f"Claim {i}", attributions=[
        {"source": "nyt", "stance": "supports", "basis": "secondhand", "confidence": 0.6},
        {"source": "reuters", "stance": "supports", "basis": "firsthand", "confidence": 0.5}])["id"] for i in range(6)]
    return app, client, helper, claims


def patch_source(client, helper, changes):
    etag = client.get("/v1/sources/nyt").headers["ETag"]
    return client.patch("/v1/sources/nyt", json=changes, headers={**helper.auth(), "If-Match": etag})


def wait_for(client, location, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = client.get(location).get_json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"the job never finished: {job}")


def test_a_regrade_behind_many_claims_is_a_job_applied_whole(database_url):
    app, client, helper, claims = regrade_world(database_url, None, inline_limit=3)
    assert all(helper.get(f"/v1/claims/{c}")["status"] == "confirmed" for c in claims)
    response = patch_source(client, helper, {"reliability": "E"})
    assert response.status_code == 202, response.get_json()
    job = response.get_json()
    assert job["state"] == "queued" and job["claims_total"] == 6 and job["subject"] == "nyt"
    assert response.headers["Location"] == f"/v1/jobs/{job['id']}"
    finished = wait_for(client, response.headers["Location"])
    assert finished["state"] == "done" and finished["error"] is None, finished
    assert helper.get("/v1/sources/nyt")["reliability"] == "E"
    assert all(helper.get(f"/v1/claims/{c}")["status"] == "reported" for c in claims)
    with db.connection_context():
        times = {e.at for e in HistoryEntry.select().where(HistoryEntry.cause_kind == "source_change")}
        assert len(times) == 1
        assert verify_ledger() == []


def test_a_small_regrade_is_applied_in_the_request(database_url):
    app, client, helper, claims = regrade_world(database_url, None, inline_limit=100)
    response = patch_source(client, helper, {"reliability": "E"})
    assert response.status_code == 200 and response.get_json()["reliability"] == "E"
    assert helper.get(f"/v1/claims/{claims[0]}")["status"] == "reported"


def test_a_second_change_waits_for_the_pending_job(database_url):
    app, client, helper, claims = regrade_world(database_url, None, inline_limit=3)
    with db.connection_context():
        _, job = source_writes.request_source_change("nyt", {"reliability": "C"}, inline_limit=3)
        assert job.state == "queued"
    response = patch_source(client, helper, {"reliability": "E"})
    assert response.status_code == 409 and response.mimetype == "application/problem+json"
    assert helper.get(f"/v1/jobs/{job.id}")["state"] == "queued"
    assert client.get("/v1/jobs/999999").status_code == 404
    with db.connection_context():
        assert Job.select().count() == 1


def test_a_running_job_tells_how_far_it_has_got(database_url, monkeypatch):
    app, client, helper, claims = regrade_world(database_url, None, inline_limit=3)
    monkeypatch.setattr(source_writes, "REDERIVE_BATCH", 2)
    monkeypatch.setattr(progress, "REPORT_EVERY", 0)
    with db.connection_context():
        _, job = source_writes.request_source_change("nyt", {"reliability": "E"}, inline_limit=3)
    seen = []
    report = progress.Reporter.__call__

    def report_and_poll(reporter, done, force=False):
        report(reporter, done, force)
        # A client polling from elsewhere: another thread, its own connection, outside the job's transaction.
        polled = {}

        def poll():
            polled.update(client.get(f"/v1/jobs/{job.id}").get_json())
            polled["claim"] = client.get(f"/v1/claims/{claims[0]}").get_json()["status"]

        poller = threading.Thread(target=poll)
        poller.start()
        poller.join()
        seen.append((polled["state"], polled["claims_done"], polled["claim"]))

    monkeypatch.setattr(progress.Reporter, "__call__", report_and_poll)
    with app.app_context(), db.connection_context():
        assert jobs.run(job.id, app.config).state == "done"
    # Progress moves while the change itself stays unseen until it commits whole.
    assert seen == [("running", 2, "confirmed"), ("running", 4, "confirmed"), ("running", 6, "confirmed")]
    finished = helper.get(f"/v1/jobs/{job.id}")
    assert (finished["state"], finished["claims_done"], finished["claims_total"]) == ("done", 6, 6)
    assert helper.get(f"/v1/claims/{claims[0]}")["status"] == "reported"
