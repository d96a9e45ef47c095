"""A quick reading of the common bulk claim line: exactly what the API's schemas would load, or None.

Validating each line with marshmallow's ClaimSchema and AttributionLineSchema cost
more than writing it. This reads a claim line that is plainly valid (known keys only,
the right types, lengths, slugs, choices and ranges) and returns what the schemas
would have returned. Anything else, including every line with an error, gets None,
and the caller validates it with the schemas, which say what is wrong in their own
words: the report's messages never come from here. Times are read by the schemas'
own fields. tests/test_claim_lines.py holds the two readings equal.
"""

import functools

import orjson
from marshmallow import ValidationError

from .fields import LONE_SURROGATE
from .identifiers import MAX_ID, SLUG
from .rules import BASES, STANCES
from .schemas import AttributionSchema, ClaimSchema

CLAIM_KEYS = frozenset({"text", "subjects", "parties", "event_time", "attributions"})
ATTRIBUTION_KEYS = frozenset({"source", "via", "document_id", "stance", "basis", "confidence", "quote", "published_at"})
LINE_KEYS = frozenset({"retracted", "retraction_reason", "document_key"})
ATTRIBUTION_LINE_KEYS = ATTRIBUTION_KEYS | LINE_KEYS
EVENT_TIME = ClaimSchema().fields["event_time"]
PUBLISHED_AT = AttributionSchema().fields["published_at"]


class NotPlain(Exception):
    """The line is not plainly valid: the schemas must read it."""


def read_claim_bytes(raw):
    """read_claim_line of a line as bytes, `type` included: (data, extras), or None when it is not a plainly
    valid claim line (then the caller reads it as any other line).

    orjson reads JSON several times faster than the standard library, to the same value
    but for integers beyond 64 bits (floats to orjson), which no plainly valid line holds:
    read_claim_line takes a number only as a confidence within [0, 1] or an integer id.
    """
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if type(obj) is not dict or obj.pop("type", None) != "claim":
        return None
    return read_claim_line(obj)


def read_claim_line(obj):
    """(data, extras) as bulk_lines.parse_line would get them from the schemas for a claim line (`type` taken
    off), or None when the line is not plainly valid. `obj` is left as it was."""
    try:
        return _claim(obj)
    except NotPlain:
        return None


def _claim(obj):
    _require(CLAIM_KEYS.issuperset(obj))
    get = obj.get
    subjects, parties = get("subjects", []), get("parties", [])
    _require(type(subjects) is list and len(subjects) <= 50 and type(parties) is list and len(parties) <= 50)
    data = {
        "text": _text(get("text"), 1, 2000),
        "subjects": [_text(s, 1, 200) for s in subjects],
        "parties": _slugs(parties),
        "event_time": _time(EVENT_TIME, get("event_time")),
    }
    if "attributions" not in obj:
        data["attributions"] = []
        return data, None
    read = [_attribution(a) for a in _list(obj, "attributions", 100)]
    data["attributions"] = [attribution for attribution, _ in read]
    return data, [extras for _, extras in read]


def _attribution(obj):
    # One condition for the common checks: each call of a helper cost more than the test it made.
    _require(isinstance(obj, dict) and ATTRIBUTION_LINE_KEYS.issuperset(obj))
    get = obj.get
    confidence, document_id = get("confidence"), get("document_id")
    stance, basis, source, via = get("stance"), get("basis"), get("source"), get("via", [])
    retracted = get("retracted", False)
    _require(type(confidence) in (int, float) and 0 <= confidence <= 1
             and (document_id is None or (type(document_id) is int and 1 <= document_id <= MAX_ID))
             and isinstance(stance, str) and stance in STANCES and isinstance(basis, str) and basis in BASES
             and isinstance(source, str) and _is_slug(source) and type(via) is list and len(via) <= 20
             and (retracted is True or retracted is False))
    quote, reason, key = get("quote"), get("retraction_reason"), get("document_key")
    attribution = {
        "source": source,
        "via": _slugs(via),
        "document_id": document_id,
        "stance": stance,
        "basis": basis,
        "confidence": float(confidence),
        "quote": None if quote is None else _text(quote, None, 2000),
        "published_at": _time(PUBLISHED_AT, get("published_at")),
    }
    extras = {
        "retracted": retracted,
        "retraction_reason": None if reason is None else _text(reason, 1, 2000),
        "document_key": None if key is None else _text(key, 1, 200),
    }
    _require(retracted == (reason is not None))
    return attribution, extras


def _require(condition):
    if not condition:
        raise NotPlain


def _list(obj, key, longest):
    items = obj.get(key, [])
    _require(type(items) is list and len(items) <= longest)
    return items


def _text(value, shortest, longest):
    _require(isinstance(value, str) and (shortest is None or len(value) >= shortest) and len(value) <= longest
             and "\x00" not in value and (value.isascii() or LONE_SURROGATE.search(value) is None))
    return value


def _slugs(items):
    """A new list of distinct slugs, or NotPlain."""
    _require(all([isinstance(item, str) and _is_slug(item) for item in items]) and len(set(items)) == len(items))
    return list(items)


@functools.lru_cache(maxsize=4096)
def _is_slug(value):
    """Whether a string is a slug, kept: lines name the same few sources and parties thousands of times."""
    try:
        _text(value, None, 64)
    except NotPlain:
        return False
    return SLUG.fullmatch(value) is not None


def _time(field, value):
    if value is None:
        return None
    try:
        return field.deserialize(value)
    except ValidationError:
        raise NotPlain from None


def read_attribution(obj):
    """What AttributionSchema loads of a plainly valid attribution (a POST's body: no line keys), or None, for the
    schema to read (and word what is wrong)."""
    if type(obj) is not dict or not ATTRIBUTION_KEYS.issuperset(obj):
        return None
    try:
        return _attribution(obj)[0]
    except NotPlain:
        return None
