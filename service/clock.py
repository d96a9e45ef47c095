"""Time in one form: aware UTC datetimes, stored as integer microseconds since the epoch."""

from datetime import datetime, timedelta, timezone

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MICROSECOND = timedelta(microseconds=1)
# The ends of stored time, in microseconds: an interval that never ends runs to FOREVER;
# one open to the past (a claim's world time before any dated statement) starts at BEGINNING.
FOREVER = 2**62
BEGINNING = -(2**62)


def utcnow():
    """The current time, aware, in UTC."""
    return datetime.now(timezone.utc)


def to_micros(moment):
    """An aware datetime as integer microseconds since the epoch (exact, sortable, portable)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not stored: give an offset")
    return (moment - EPOCH) // MICROSECOND


def from_micros(micros):
    """Integer microseconds since the epoch as an aware UTC datetime."""
    return EPOCH + micros * MICROSECOND
