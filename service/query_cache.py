"""What the pages and the API make from a query string alone, kept per worker.

Loading a query string through a schema is a function of the two alone, and cost about 80 µs
for the claim list's (a tenth of the request); the board's filter form, filled from the query
string, a sixth of the board. Clients repeat few query strings (a board's links, a poller's
page). Refusals are not kept. Loaded arguments are kept only when every value is immutable or
a list of such values, and lists are copied for each request, so no view can change what the
next one gets.
"""

from datetime import datetime

IMMUTABLE = (str, int, float, bool, type(None), datetime)


class Kept:
    """Values made by key, at most `size` of them (all dropped when full)."""

    def __init__(self, size=256):
        self.size = size
        self._kept = {}
        # The value kept for a key, or None, making nothing: for a hot loop that only asks (the one dict lookup).
        self.lookup = self._kept.get

    def get(self, key, make, keep=lambda value: True):
        """The value kept for `key`, or make()'s, kept when keep(value) says so."""
        value = self._kept.get(key)
        if value is None:
            value = make()
            if keep(value):
                self.keep(key, value)
        return value

    def keep(self, key, value):
        """Keep `value` for `key`, made by the caller after lookup(key) found none."""
        if len(self._kept) >= self.size:
            self._kept.clear()
        self._kept[key] = value


class QueryCache(Kept):
    """Loaded arguments by (schema, query string)."""

    def load(self, schema, query_string, load):
        """The arguments `load()` gives for this schema and query string, loaded once while kept."""
        args = self.get((schema, query_string), load, lambda args: all(map(_immutable, args.values())))
        return {name: list(value) if isinstance(value, list) else value for name, value in args.items()}


def _immutable(value):
    return isinstance(value, IMMUTABLE) or isinstance(value, list) and all(isinstance(v, IMMUTABLE) for v in value)
