"""What can go wrong in the ledger, in the ledger's own terms.

The domain (ledger, queries, facts, jobs, verify, backup: every module that
tests/test_layers.py does not name an edge) raises these and nothing HTTP; the
bulk importer and seeding, edges that validate outside input with the API's
schemas, raise them too. Each caller maps them once at its own edge:
service.problems to RFC 9457 answers, the web pages to messages beside form
fields, the CLI to a message and an exit code.
"""


class LedgerError(Exception):
    """Something the caller asked for cannot be done; `detail` says why in a sentence."""

    def __init__(self, detail):
        super().__init__(detail)
        self.detail = detail


class NotFound(LedgerError):
    """The thing named does not exist (or did not exist at the time asked about)."""


class Conflict(LedgerError):
    """The request clashes with the ledger's state: an id taken, something retracted already."""


class PreconditionFailed(LedgerError):
    """The caller's view of a record is stale: it changed since the caller read it."""


class Invalid(LedgerError):
    """One input field breaks a rule: `field` is its dotted path (e.g. `attributions.0.source`)."""

    def __init__(self, field, reason):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    @property
    def errors(self):
        """The field-error map every caller shows: dotted path -> list of reasons."""
        return {self.field: [self.reason]}


def field_errors(errors, prefix=""):
    """One shape for every field error: dotted path -> list of messages.

    marshmallow nests errors ({"attributions": {"0": {"source": [...]}}}) and keys
    list items by int; the domain names fields by dotted path already
    ("attributions.0.source"). Both come out as {"attributions.0.source": [...]}.
    """
    flat = {}
    for key, value in errors.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(field_errors(value, path + "."))
        else:
            flat.setdefault(path, []).extend(value if isinstance(value, list) else [value])
    return flat
