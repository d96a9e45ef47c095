"""Marshmallow fields that hold the spec's input rules: no NUL, real JSON numbers, aware times, bounded ids."""

import re
from dataclasses import dataclass
from datetime import timezone

from marshmallow import ValidationError, fields, validate

from .identifiers import MAX_ID, SLUG_PATTERN

# Explicit ranges, not \s: Python and JSON Schema (ECMA-262) disagree on what \s covers.
URL_PATTERN = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\x00-\x20\x7f/?#]+[^\x00-\x20\x7f]*$"


class Pattern(validate.Regexp):
    """A regular expression the whole value must match: Python's `$` would let a trailing newline through."""

    def __call__(self, value):
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


# A lone surrogate (U+D800-U+DFFF) is valid JSON escaping but no Unicode text: no encoder can store it.
LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _reject_nul(value):
    if "\x00" in value:
        raise ValidationError("Must not contain the NUL character.")
    if LONE_SURROGATE.search(value):
        raise ValidationError("Must not contain a lone surrogate (U+D800 to U+DFFF).")


class Text(fields.String):
    """A string with a length range that never contains NUL (the OpenAPI document says so too)."""

    def __init__(self, min_length=None, max_length=None, **kwargs):
        if "validate" not in kwargs:
            kwargs["metadata"] = {"pattern": "^[^\\x00]*$", **kwargs.get("metadata", {})}
        validators = [_reject_nul]
        if min_length is not None or max_length is not None:
            validators.append(validate.Length(min=min_length, max=max_length))
        super().__init__(validate=validators + list(kwargs.pop("validate", [])), **kwargs)


class Slug(Text):
    """A lower-case slug: letters, digits and inner hyphens, 1-64 characters."""

    def __init__(self, **kwargs):
        super().__init__(
            max_length=64,
            validate=[Pattern(SLUG_PATTERN, error="Must be a slug: a-z, 0-9 and inner hyphens, 1-64 characters.")],
            **kwargs,
        )


class HttpUrl(Text):
    """An absolute http(s) URL with a host, at most 2000 characters; the pattern is the whole rule."""

    def __init__(self, **kwargs):
        super().__init__(
            max_length=2000,
            validate=[Pattern(URL_PATTERN, error="Must be an http(s) URL.")],
            **kwargs,
        )


class JSONNumber(fields.Float):
    """A JSON number: rejects strings such as "0.5", booleans, NaN and Infinity."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class QueryInteger(fields.Integer):
    """An integer in a query string: ASCII digits only (Python's int() also reads Arabic-Indic and other digits)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and not re.fullmatch(r"-?[0-9]{1,19}", value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class QueryNumber(fields.Float):
    """A number in a query string: ASCII digits, an optional fraction and exponent; no NaN or Infinity."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and not re.fullmatch(r"-?[0-9]{1,19}(\.[0-9]{1,19})?([eE][-+]?[0-9]{1,3})?", value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Identifier(fields.Integer):
    """A server-set integer id: a JSON integer from 1 to 2**63-1."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, validate=validate.Range(min=1, max=MAX_ID), **kwargs)


# RFC 3339: date, time, optional fraction, Z or an offset of hours and minutes only (ASCII digits).
TIME_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})")


class AwareTime(fields.AwareDateTime):
    """An RFC 3339 time with an offset on input; always UTC on output."""

    def __init__(self, **kwargs):
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and not TIME_SHAPE.fullmatch(value):
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE)
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return moment.astimezone(timezone.utc)
        except OverflowError as error:  # e.g. 0001-01-01T00:00:00+01:00 has no UTC form
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE) from error

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None:
            value = value.astimezone(timezone.utc)
        return super()._serialize(value, attr, obj, **kwargs)


@dataclass(frozen=True)
class Enumeration:
    """A named, fixed set of strings: one OpenAPI component that every field using the set refers to."""

    name: str
    values: tuple
    description: str

    def component(self):
        """The OpenAPI schema of the set, as it appears once under components/schemas."""
        return {"type": "string", "enum": list(self.values), "description": self.description}


class Choice(fields.String):
    """A string from an `Enumeration`; the OpenAPI document refers to the set by name instead of repeating it."""

    def __init__(self, enumeration, **kwargs):
        super().__init__(validate=validate.OneOf(enumeration.values), **kwargs)
        self.enumeration = enumeration
