"""The shapes of ids, shared by the domain and the HTTP edge: slugs for sources, 64-bit integers for the rest."""

import re

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
SLUG = re.compile(SLUG_PATTERN)
# The largest id both SQLite and PostgreSQL store in a 64-bit integer.
MAX_ID = 2**63 - 1


def is_slug(value):
    """Whether a string is a well-formed source id or group key."""
    return isinstance(value, str) and SLUG.fullmatch(value) is not None
