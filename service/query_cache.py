"""What query schemas loaded from query strings, kept per worker.

Loading a query string through a schema is a function of the two alone, and cost about 80 µs
for the claim list's (a tenth of the request); clients repeat few query strings (a board's
links, a poller's page). Refusals are not kept. Arguments are kept only when every value is
immutable or a list of such values, and lists are copied for each request, so no view can
change what the next one gets.
"""

from datetime import datetime

IMMUTABLE = (str, int, float, bool, type(None), datetime)


class QueryCache:
    """Loaded arguments by (schema, query string), at most `size` of them (all dropped when full)."""

    def __init__(self, size=256):
        self.size = size
        self._kept = {}

    def load(self, schema, query_string, load):
        """The arguments `load()` gives for this schema and query string, loaded once while kept."""
        key = (schema, query_string)
        args = self._kept.get(key)
        if args is None:
            args = load()
            if not all(map(_immutable, args.values())):
                return args
            if len(self._kept) >= self.size:
                self._kept.clear()
            self._kept[key] = args
        return {name: list(value) if isinstance(value, list) else value for name, value in args.items()}


def _immutable(value):
    return isinstance(value, IMMUTABLE) or isinstance(value, list) and all(isinstance(v, IMMUTABLE) for v in value)
