"""Property over HTTP: an `as_of` answer for a past time never changes, whatever is written later."""

import time
from datetime import datetime, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.auth import create_token
from service.db import db
from tests.conftest import build_app

SOURCES = [("nyt", "B", None), ("reuters", "A", None), ("blog", "E", None), ("kcna", "D", "dprk-state"),
           ("dprk-gov", "B", "dprk-state")]
source_ids = st.sampled_from([s[0] for s in SOURCES])

operations = st.lists(
    st.one_of(
        st.tuples(st.just("claim"), st.booleans()),
        st.tuples(st.just("attribute"), st.integers(0, 5), source_ids, st.sampled_from(["supports", "denies"]),
                  st.sampled_from(["documentary", "secondhand"]), st.floats(0, 1).map(lambda x: round(x, 2))),
        st.tuples(st.just("retract"), st.integers(0, 20)),
        st.tuples(st.just("regrade"), source_ids, st.sampled_from("ABCDEF")),
        st.tuples(st.just("reparty"), st.integers(0, 5), st.booleans()),
        st.tuples(st.just("snapshot"),),
    ),
    min_size=3,
    max_size=25,
)


class Session:
    """Applies random writes over HTTP and remembers what `as_of` answered at each snapshot."""

    def __init__(self, database_url):
        app = build_app(database_url)
        with db.connection_context():
            token = create_token("prop", "admin")
        self.client = app.test_client()
        self.auth = {"Authorization": f"Bearer {token}"}
        self.claims, self.attributions, self.snapshots = [], [], []
        for source_id, grade, affiliation in SOURCES:
            self.post("/v1/sources", {"id": source_id, "name": source_id, "kind": "other",
                                      "reliability": grade, "affiliation": affiliation})

    def post(self, path, body):
        response = self.client.post(path, json=body, headers=self.auth)
        assert response.status_code < 500, response.get_data(as_text=True)
        return response.get_json()

    def patch(self, path, body):
        etag = self.client.get(path).headers["ETag"]
        response = self.client.patch(path, json=body, headers={**self.auth, "If-Match": etag})
        assert response.status_code == 200, response.get_data(as_text=True)

    def apply(self, operation):
        kind, *args = operation
        getattr(self, kind)(*args)

    def claim(self, party):
        self.claims.append(self.post("/v1/claims", {"text": f"Claim {len(self.claims)}",
                                                    "parties": ["dprk-state"] if party else []})["id"])

    def attribute(self, index, source, stance, basis, confidence):
        if self.claims:
            claim_id = self.claims[index % len(self.claims)]
            body = {"source": source, "stance": stance, "basis": basis, "confidence": confidence}
            self.attributions.append(self.post(f"/v1/claims/{claim_id}/attributions", body)["id"])

    def retract(self, index):
        if self.attributions:
            self.post(f"/v1/attributions/{self.attributions[index % len(self.attributions)]}/retraction",
                      {"reason": "r"})

    def regrade(self, source, grade):
        self.patch(f"/v1/sources/{source}", {"reliability": grade})

    def reparty(self, index, party):
        if self.claims:
            self.patch(f"/v1/claims/{self.claims[index % len(self.claims)]}",
                       {"parties": ["dprk-state"] if party else []})

    def snapshot(self):
        # Not a wait for anything: the pauses put the moment strictly between two writes' microsecond times.
        time.sleep(0.001)
        moment = datetime.now(timezone.utc).isoformat()
        time.sleep(0.001)
        self.snapshots.append((moment, self.answers(moment)))

    def answers(self, moment, claim_ids=None):
        query = {"as_of": moment}
        result = {
            "list": self.client.get("/v1/claims", query_string=query).get_json(),
            "summary": self.client.get("/v1/summary", query_string=query).get_json(),
        }
        for claim_id in self.claims if claim_ids is None else claim_ids:
            result[claim_id] = self.client.get(f"/v1/claims/{claim_id}", query_string=query).get_json()
        return result


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(before=operations, after=operations)
def test_an_as_of_answer_never_changes(fresh_database, before, after):
    session = Session(fresh_database())
    for operation in before:
        session.apply(operation)
    session.snapshot()
    for operation in after:
        session.apply(operation)
    for moment, answers in session.snapshots:
        claims_then = [key for key in answers if isinstance(key, int)]
        assert session.answers(moment, claims_then) == answers, moment
