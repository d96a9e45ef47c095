"""What every table of the ledger is made of: its database, and the stored forms of times and JSON."""

import orjson
from peewee import BigIntegerField, Model, TextField

from .clock import from_micros, to_micros
from .db import db


class UTCTimeField(BigIntegerField):
    """An aware datetime kept as microseconds since the epoch."""

    def db_value(self, value):
        return to_micros(value) if value is not None and not isinstance(value, int) else value

    def python_value(self, value):
        return from_micros(value) if value is not None else None


class JSONField(TextField):
    """A JSON document kept as text, which every database stores alike."""

    def db_value(self, value):
        return orjson.dumps(value).decode() if value is not None else None

    def python_value(self, value):
        return orjson.loads(value) if value is not None else None


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False
