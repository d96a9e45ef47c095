"""Form input in, schema-checked data out; every refusal turned into messages beside fields, here only.

A form field is named by the dotted path the API's errors use ("attributions.0.source"),
so marshmallow's errors and the ledger's `Invalid(field, reason)` land beside the field
that caused them without any table of names.
"""

from dataclasses import dataclass, field

from marshmallow import ValidationError

from ..clock import to_micros
from ..errors import Conflict, Invalid, LedgerError, NotFound, PreconditionFailed, field_errors

# Fields typed into one box, separated by commas, that the API takes as lists (by the last part of the
# name, so "attributions.2.via" is one too).
LIST_FIELDS = {"subjects", "parties", "via"}
# Fields the API wants as JSON numbers or integers; a box always gives text.
NUMBER_FIELDS = {"confidence"}
INTEGER_FIELDS = {"document_id"}
STALE = "This changed meanwhile (someone else saved first). The page now shows the current version; check it and try again."


@dataclass
class Outcome:
    """What a form submission came to: field messages, and one message for the whole form."""

    errors: dict = field(default_factory=dict)
    message: str | None = None
    status: int = 200

    def __bool__(self):
        return bool(self.errors or self.message)


def refusal(error):
    """The one mapping of a refused input to messages: schema errors and domain errors alike."""
    if isinstance(error, ValidationError):
        return Outcome(field_errors(_as_dict(error.messages)), "Some fields need attention.", 422)
    if isinstance(error, Invalid):
        return Outcome(error.errors, "Some fields need attention.", 422)
    if isinstance(error, PreconditionFailed):
        return Outcome({}, STALE, 412)
    if isinstance(error, Conflict):
        return Outcome({}, error.detail, 409)
    if isinstance(error, NotFound):
        return Outcome({}, error.detail, 404)
    raise TypeError(f"not a refusal: {error!r}")


REFUSALS = (ValidationError, LedgerError)


def _as_dict(messages):
    return messages if isinstance(messages, dict) else {"_form": messages}


def form_data(form, names):
    """The named fields of a submitted form as the API's JSON would carry them; blank means absent."""
    data = {}
    for name in names:
        raw = form.get(name, "").strip()
        if raw == "":
            continue
        data[name] = _typed(name, raw)
    return data


def _typed(name, raw):
    name = name.rpartition(".")[2]
    if name in LIST_FIELDS:
        return [part.strip() for part in raw.split(",") if part.strip()]
    if name in NUMBER_FIELDS:
        return _number(raw, float)
    if name in INTEGER_FIELDS:
        return _number(raw, int)
    return raw


def _number(raw, kind):
    try:
        return kind(raw)
    except ValueError:
        return raw  # left as text, so the schema refuses it with its own message


def numbered(data, name):
    """Split dotted names "<name>.<n>.<field>" into {n: {field: value}}; the rest of `data` as it was."""
    items, rest = {}, {}
    for key, value in data.items():
        head, _, tail = key.partition(".")
        number, _, inner = tail.partition(".")
        if head == name and number.isdigit() and inner:
            items.setdefault(int(number), {})[inner] = value
        else:
            rest[key] = value
    return rest, items


def renumbered(outcome, name, numbers):
    """The outcome with "<name>.<i>." field names turned back into the form's own numbers[i]."""
    def field(key):
        head, _, tail = key.partition(".")
        number, dot, inner = tail.partition(".")
        if head != name or not number.isdigit() or int(number) >= len(numbers):
            return key
        return f"{name}.{numbers[int(number)]}{dot}{inner}"
    outcome.errors = {field(key): messages for key, messages in outcome.errors.items()}
    return outcome


def query_args(args, list_names=("status",)):
    """GET arguments as a query schema loads them: repeated names as lists, blank ones dropped."""
    data = {}
    for name in args:
        values = [v for v in args.getlist(name) if v.strip() != ""]
        if values:
            data[name] = values if name in list_names else values[-1]
    return data


def version_of(moment):
    """A record's version as a form carries it: its updated_at in microseconds."""
    return str(to_micros(moment))


def unchanged_since(version):
    """A ledger precondition, as If-Match is for the API: the record still has the form's version."""
    def check(record):
        if version_of(record.updated_at) != version:
            raise PreconditionFailed("The record changed since the form was drawn.")
    return check
