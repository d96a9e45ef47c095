"""Property: `q` means the same words everywhere. For random Unicode texts, the claims `q` finds now, with
`as_of`, with `published_before`, on SQLite and on PostgreSQL, are exactly those whose text holds every word
by one tokenizer (NFKC, case-folded, runs of letters and digits), checked against an oracle written here."""

import unicodedata
from datetime import datetime, timezone

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from service import ledger
from service.db import db
from tests.conftest import build_app

# Letters, digits, marks, punctuation and spaces from many scripts, with the cases the issue names.
ALPHABET = st.characters(categories=("L", "M", "N", "P", "Zs"), exclude_characters="\x00")
SPECIALS = st.sampled_from(["İstanbul", "istanbul", "cafe\u0301", "café", "CAFÉ", "kcna.kp", "2.5", "zqx_wvy",
                            "ß", "SS", "ﬁre", "Ⅻ", "١٠", "e-mail@example.org", "!!!", "zqx", "kp", "5", "fire",
                            "cafe", "example", "xii", "ss"])
TEXT = st.lists(st.one_of(st.text(ALPHABET, min_size=1, max_size=12), SPECIALS), min_size=1, max_size=6).map(" ".join)


def oracle_words(text):
    """The tokenizer, written again from the spec: NFKC, case fold, NFKC, runs of letters and digits."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    words, current = set(), ""
    for character in folded + " ":
        if unicodedata.category(character)[0] in "LN":
            current += character
        elif current:
            words.add(current[:100])
            current = ""
    return words


def found(client, query, **times):
    ids, cursor = [], None
    while True:
        params = {"q": query, "limit": 200, **times, **({"cursor": cursor} if cursor else {})}
        response = client.get("/v1/claims", query_string=params)
        if response.status_code == 422:
            return None  # a query with no words
        body = response.get_json()
        ids += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return sorted(ids)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@example(texts=["zqx_wvy", "kcna.kp 2.5", "cafe\u0301 au lait", "İstanbul", "ﬁre Ⅻ"],
         queries=["zqx", "kp", "café", "i\u0307stanbul", "fire", "xii", "!!!"])
@given(texts=st.lists(TEXT, min_size=1, max_size=6), queries=st.lists(TEXT, min_size=1, max_size=4))
def test_q_finds_the_same_claims_on_every_path(fresh_database, texts, queries):
    app = build_app(fresh_database())
    client = app.test_client()
    with db.connection_context():
        claims = {}
        for text in texts:
            claim = ledger.create_claim({"text": text[:2000], "subjects": [], "parties": [], "event_time": None})
            claims[claim.id] = text[:2000]
        now = datetime.now(timezone.utc).isoformat()
        for query in queries + [texts[0]]:
            asked = oracle_words(query)
            expected = sorted(i for i, text in claims.items() if asked <= oracle_words(text)) if asked else None
            assert found(client, query) == expected, query
            assert found(client, query, as_of=now) == expected, query
            assert found(client, query, published_before=now) == expected, query
