"""One line of a bulk import (spec §10): read, validated by the API's own schemas, or refused with its errors.

The bulk-only keys `type`, `key`, `document_key`, `retracted` and `retraction_reason` are
taken off first; a plainly valid claim line is read by service.claim_lines to the same
result, faster.
"""

import codecs
import json

from marshmallow import ValidationError

from .claim_lines import read_claim_bytes
from .errors import field_errors
from .schemas import AttributionLineSchema, ClaimSchema, DocumentLineSchema, DocumentSchema, SourceSchema

# Byte order marks of the encodings a Windows editor saves "Unicode" text in, longest first (UTF-32 LE's
# begins with UTF-16 LE's).
OTHER_BOMS = ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"), (codecs.BOM_UTF16_LE, "UTF-16"),
              (codecs.BOM_UTF16_BE, "UTF-16"))
SCHEMAS = {"source": SourceSchema(), "document": DocumentSchema(), "claim": ClaimSchema()}
DOCUMENT_LINE = DocumentLineSchema()
ATTRIBUTION_LINE = AttributionLineSchema()


class BatchFailed(Exception):
    """Lines that stop the import; their batch is not written."""

    def __init__(self, errors):
        super().__init__(f"{len(errors)} bad line(s)")
        self.errors = errors


class Unreadable:
    """Stands for a line that is not read: one over the byte limit (not read into memory), or a file that is not
    UTF-8 at all. It ends the import."""

    def __init__(self, reason):
        self.reason = reason


def line_error(number, field, reason):
    """One entry of a report's `errors`."""
    return {"line": number, "field": field, "reason": reason}


def read_lines(stream, max_line_bytes=None):
    """(number, bytes) for each line of a binary stream; an Unreadable, and no more lines, for one it cannot read.

    A UTF-8 byte order mark before the first line is passed over, as RFC 8259 lets a JSON
    reader do: editors and spreadsheet exports on Windows write one, and a file that is
    otherwise good should not fail at its first byte. Anywhere else it is a bad line. A
    UTF-16 or UTF-32 mark ends the import at line 1 with what to do, rather than a report
    of every line's undecodable bytes.
    """
    number = 0
    while True:
        mark = len(codecs.BOM_UTF8) if number == 0 else 0
        raw = stream.readline(max_line_bytes + 2 + mark) if max_line_bytes else stream.readline()
        if not raw:
            return
        number += 1
        if mark and raw.startswith(codecs.BOM_UTF8):
            raw = raw[mark:]
        elif mark:
            encoding = next((name for bom, name in OTHER_BOMS if raw.startswith(bom)), None)
            if encoding is not None:
                yield number, Unreadable(f"The file is {encoding} text; JSON Lines are UTF-8: save it as UTF-8.")
                return
        if max_line_bytes and len(raw.rstrip(b"\r\n")) > max_line_bytes:
            yield number, Unreadable(f"Longer than {max_line_bytes} bytes.")
            return
        yield number, raw


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def parse_line(number, raw):
    """(kind, data, extras) of one line, validated; None for a blank line; BatchFailed when it is bad."""
    if isinstance(raw, Unreadable):
        raise BatchFailed([line_error(number, None, raw.reason)])
    if not raw.strip():
        return None
    plain = read_claim_bytes(raw)
    if plain is not None:
        return "claim", *plain
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        reason = f"Not UTF-8 text: byte {error.object[error.start]:#04x} at byte {error.start + 1} of the line."
        raise BatchFailed([line_error(number, None, reason)]) from None
    try:
        obj = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:
        raise BatchFailed([line_error(number, None, f"Not valid JSON: {error}.")]) from None
    if not isinstance(obj, dict):
        raise BatchFailed([line_error(number, None, "Must be a JSON object.")])
    kind = obj.pop("type", None)
    if kind not in SCHEMAS:
        raise BatchFailed([line_error(number, "type", "Must be one of: source, document, claim.")])
    return kind, *read_with_schemas(number, kind, obj)


def read_with_schemas(number, kind, obj):
    """(data, extras) of one line's object (`type` taken off) by the API's schemas; BatchFailed when it is bad."""
    errors, extras = {}, None
    if kind == "document":
        extras = _take(obj, DOCUMENT_LINE, errors)
    elif kind == "claim" and isinstance(obj.get("attributions"), list):
        extras = [
            _take(a, ATTRIBUTION_LINE, errors, f"attributions.{i}.") if isinstance(a, dict) else {}
            for i, a in enumerate(obj["attributions"])
        ]
    try:
        data = SCHEMAS[kind].load(obj)
    except ValidationError as error:
        errors.update(field_errors(error.messages))
    if errors:
        raise BatchFailed([line_error(number, f, r) for f, reasons in errors.items() for r in reasons])
    return data, extras


def _take(obj, schema, errors, prefix=""):
    """Remove the bulk-only keys of `schema` from `obj` and return them validated."""
    raw = {k: obj.pop(k) for k in list(obj) if k in schema.fields}
    try:
        extras = schema.load(raw)
    except ValidationError as error:
        errors.update(field_errors(error.messages, prefix))
        return {}
    if extras["retracted"] != (extras["retraction_reason"] is not None):
        errors[f"{prefix}retraction_reason"] = ["Is given exactly when `retracted` is true."]
    return extras
