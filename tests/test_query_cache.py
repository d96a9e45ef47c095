"""Query strings loaded once per worker (service.query_cache): the same arguments every time, never shared state."""

from datetime import datetime, timezone

from service.query_cache import QueryCache


class Loads:
    """A load function that counts its calls and returns a fresh copy of `args` each time."""

    def __init__(self, args):
        self.args, self.calls = args, 0

    def __call__(self):
        self.calls += 1
        return {k: list(v) if isinstance(v, list) else v for k, v in self.args.items()}


def test_a_query_string_is_loaded_once_and_each_request_gets_its_own_lists():
    cache, schema = QueryCache(), object()
    load = Loads({"status": ["reported"], "limit": 50, "as_of": datetime(2026, 1, 1, tzinfo=timezone.utc)})
    first = cache.load(schema, b"status=reported", load)
    first["status"].append("confirmed")  # a view changing its arguments
    first["limit"] = 1
    second = cache.load(schema, b"status=reported", load)
    assert load.calls == 1
    assert second == load.args


def test_schemas_and_query_strings_are_kept_apart():
    cache, one, other = QueryCache(), object(), object()
    assert cache.load(one, b"limit=5", Loads({"limit": 5})) == {"limit": 5}
    assert cache.load(other, b"limit=5", Loads({"limit": 6})) == {"limit": 6}
    assert cache.load(one, b"limit=7", Loads({"limit": 7})) == {"limit": 7}


def test_mutable_values_are_never_kept():
    cache, schema = QueryCache(), object()
    load = Loads({"nested": {"a": 1}})
    cache.load(schema, b"q", load)
    cache.load(schema, b"q", load)
    assert load.calls == 2


def test_a_refusal_is_not_kept():
    cache, schema = QueryCache(), object()

    def refuse():
        raise ValueError("refused")

    for _ in range(2):
        try:
            cache.load(schema, b"limit=0", refuse)
        except ValueError:
            pass
        else:
            raise AssertionError("a refusal must be raised every time")


def test_the_cache_stays_within_its_size():
    cache, schema = QueryCache(size=3), object()
    for n in range(10):
        cache.load(schema, str(n).encode(), Loads({"limit": n}))
    assert len(cache._kept) <= 3
    assert cache.load(schema, b"9", Loads({"limit": 9})) == {"limit": 9}


def test_over_http_a_repeated_query_answers_the_same_and_a_refused_one_stays_refused(ledger):
    ledger.source("nyt")
    ledger.claim("One.", attributions=[{"source": "nyt", "stance": "supports", "basis": "secondhand",
                                        "confidence": 0.5}])
    pages = [ledger.get("/v1/claims", status="reported", limit=5) for _ in range(3)]
    assert pages[0] == pages[1] == pages[2] and len(pages[0]["items"]) == 1
    for _ in range(2):
        problem = ledger.get("/v1/claims", expect=422, limit=0)
        assert "limit" in str(problem)
