"""The ledger's tables: sources, documents, claims, attributions, history, tokens, idempotency records.

Every time is stored as integer microseconds (UTCTimeField) so ordering and
`as_of` comparisons are exact and identical on SQLite and PostgreSQL.
Lists (subjects, parties, explanation, origins) are JSON text; the terms and words
that filters search are kept over time in TermSpan and WordSpan rows, which are indexed.
A foreign key with `index=False` is indexed otherwise, first in a wider index of its
table or (Attribution.document) only where set: an index of its own would serve no
read and cost every write (migrations 0008 and 0009).
The counts of claims by status are in service.count_models, and what every table is
made of (its database, the stored forms of times and JSON) in service.model_base;
MODELS lists them all.
"""

from peewee import (
    BigIntegerField,
    CharField,
    DoubleField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from .count_models import TallyCheckpoint, TallyCount, TallyDelta, WorldTally, WorldTallyDelta
from .model_base import BaseModel, JSONField, UTCTimeField


class Source(BaseModel):
    """An outlet, agency or body that makes statements; its id is a client-chosen slug."""

    id = CharField(primary_key=True, max_length=64)
    name = CharField(max_length=200)
    kind = CharField(max_length=32)
    reliability = CharField(max_length=1)
    affiliation = CharField(max_length=64, null=True, index=True)
    country = CharField(max_length=2, null=True)
    url = TextField(null=True)
    description = TextField(null=True)
    created_at = UTCTimeField()
    updated_at = UTCTimeField()


class SourceRevision(BaseModel):
    """What the status rules read of a source from `valid_from` on, so `as_of` sees the past."""

    source = ForeignKeyField(Source, backref="revisions", on_delete="CASCADE", index=False)
    valid_from = UTCTimeField()
    name = CharField(max_length=200)
    reliability = CharField(max_length=1)
    affiliation = CharField(max_length=64, null=True)

    class Meta:
        indexes = ((("source", "valid_from"), False),)


class Document(BaseModel):
    """A publication in which statements appear."""

    publisher = ForeignKeyField(Source, backref="documents")
    title = CharField(max_length=500)
    url = TextField(null=True)
    published_at = UTCTimeField(null=True)
    language = CharField(max_length=35, null=True)
    text = TextField(null=True)
    created_at = UTCTimeField()
    retracted_at = UTCTimeField(null=True)
    retraction_reason = TextField(null=True)


class Claim(BaseModel):
    """One proposition; its status fields are derived by service.rules and stored for filtering."""

    text = TextField()
    subjects = JSONField()
    parties = JSONField()
    event_time = UTCTimeField(null=True)
    created_at = UTCTimeField(index=True)
    updated_at = UTCTimeField()
    status = CharField(max_length=16, index=True)
    confidence = DoubleField(null=True, index=True)
    likelihood = CharField(max_length=32, null=True)
    explanation = JSONField()
    origins = JSONField()


class ClaimRevision(BaseModel):
    """The claim's own fields from `valid_from` on, so `as_of` reads the text and parties of then."""

    claim = ForeignKeyField(Claim, backref="revisions", on_delete="CASCADE", index=False)
    valid_from = UTCTimeField()
    text = TextField()
    subjects = JSONField()
    parties = JSONField()
    event_time = UTCTimeField(null=True)

    class Meta:
        indexes = ((("claim", "valid_from"), False),)


class ClaimTerm(BaseModel):
    """Schema version 1-2 only: the terms of a claim as they stand now (TermSpan replaced it in version 3)."""

    claim = ForeignKeyField(Claim, backref="terms", on_delete="CASCADE")
    kind = CharField(max_length=8)
    # Text, not varchar(200): case folding can lengthen a 200-character subject ("ß" -> "ss").
    term = TextField()

    class Meta:
        indexes = ((("kind", "term", "claim"), True),)


class TermSpan(BaseModel):
    """One searchable term of a claim (a subject or a party) over knowledge time; the words of its text are
    WordSpans.

    It holds from `valid_from` until `valid_to` (FOREVER while it still holds), both in
    microseconds, so filters read the terms of now and of any past time from one index.
    """

    claim = ForeignKeyField(Claim, on_delete="CASCADE", index=False)
    kind = CharField(max_length=8)
    # Text, not varchar(200): case folding can lengthen a 200-character subject ("ß" -> "ss").
    term = TextField()
    valid_from = BigIntegerField()
    valid_to = BigIntegerField()

    class Meta:
        indexes = (
            (("kind", "term", "claim", "valid_from"), True),
            (("claim", "valid_to"), False),
        )


class WordSpan(BaseModel):
    """The words of a claim's text over knowledge time: one row for each run of time its text held the same words.

    `words` holds them as service.search.word_list writes them, sorted, each between single
    spaces (" artillery shells "), so that a filter finds a word by the position of " word "
    in it, on SQLite and PostgreSQL alike. One row a text, not one a word: the words were
    most of the rows a new claim wrote. A text with no words has no row.
    """

    claim = ForeignKeyField(Claim, on_delete="CASCADE", index=False)
    words = TextField()
    valid_from = BigIntegerField()
    valid_to = BigIntegerField()

    class Meta:
        indexes = ((("claim", "valid_to"), False),)


# PostgreSQL alone also indexes each WordSpan's words, as an array, to find `q`'s claims from its words
# (migration 0010, service.filters.holds_words); peewee's indexes do not say `USING gin` over an expression.
POSTGRESQL_WORD_INDEX = "word_span_words"


class DerivedFields(BaseModel):
    """The fields service.rules derives for a claim, as the timelines keep them (no table of its own)."""

    status = CharField(max_length=16)
    confidence = DoubleField(null=True)
    likelihood = CharField(max_length=32, null=True)
    explanation = JSONField()
    origins = JSONField()


class ClaimState(DerivedFields):
    """A claim's derived fields over knowledge time: what it was from `valid_from` until `valid_to`.

    Every write that changes a derivation closes the open row and opens another at its
    own time, so `as_of` reads a stored row instead of re-deriving. Microseconds; the open
    row's `valid_to` is FOREVER.
    """

    claim = ForeignKeyField(Claim, on_delete="CASCADE", index=False)
    valid_from = BigIntegerField()
    valid_to = BigIntegerField()

    class Meta:
        indexes = (
            (("claim", "valid_from"), True),
            (("status", "claim"), False),
            (("confidence", "claim"), False),
        )


class WorldState(DerivedFields):
    """A claim's derived fields over world time, as known now: what it is when only statements published
    before a moment in [`published_from`, `published_to`) count. Rewritten by every write to the claim."""

    claim = ForeignKeyField(Claim, on_delete="CASCADE", index=False)
    published_from = BigIntegerField()
    published_to = BigIntegerField()

    class Meta:
        indexes = (
            (("claim", "published_from"), True),
            (("status", "claim"), False),
        )


class WorldSource(BaseModel):
    """One origin source of a WorldState interval, for the summary by source at a world time."""

    claim = ForeignKeyField(Claim, on_delete="CASCADE", index=False)
    published_from = BigIntegerField()
    published_to = BigIntegerField()
    source = CharField(max_length=64)
    status = CharField(max_length=16)

    class Meta:
        indexes = ((("claim", "published_from", "source"), True),)


class Attribution(BaseModel):
    """One source taking a stance on one claim; never deleted, only retracted."""

    claim = ForeignKeyField(Claim, backref="attributions", index=True)
    source = ForeignKeyField(Source, backref="attributions", index=False)
    document = ForeignKeyField(Document, backref="attributions", null=True, index=False)
    stance = CharField(max_length=8)
    basis = CharField(max_length=16)
    confidence = DoubleField()
    quote = TextField(null=True)
    published_at = UTCTimeField(null=True)
    recorded_at = UTCTimeField()
    retracted_at = UTCTimeField(null=True)
    retraction_reason = TextField(null=True)

    class Meta:
        indexes = ((("source", "claim"), False),)


# Only the attributions that cite a document are found by it: those that cite none stay out of the index.
Attribution.add_index(Attribution.index(Attribution.document).where(Attribution.document.is_null(False)))


class Relay(BaseModel):
    """One source that relayed an attribution, at its place in `via` (outermost first)."""

    attribution = ForeignKeyField(Attribution, backref="relays", on_delete="CASCADE", index=False)
    position = IntegerField()
    source = ForeignKeyField(Source, backref="relays", index=True)

    class Meta:
        indexes = ((("attribution", "position"), True),)


class HistoryEntry(BaseModel):
    """A change of a claim's status or confidence, with what caused it."""

    claim = ForeignKeyField(Claim, backref="history", on_delete="CASCADE", index=False)
    at = UTCTimeField()
    status = CharField(max_length=16)
    confidence = DoubleField(null=True)
    cause_kind = CharField(max_length=24)
    cause_id = CharField(max_length=64)

    class Meta:
        indexes = ((("claim", "id"), False),)


class Job(BaseModel):
    """A change too large for one request (a re-grade behind many claims), applied by a process of its own.

    The change itself runs as one transaction, so readers see all of it or none; the job
    row says where it stands: queued, running, done or failed.
    """

    kind = CharField(max_length=24)
    subject = CharField(max_length=64)
    changes = JSONField()
    state = CharField(max_length=12, index=True)
    claims_total = IntegerField()
    # While running, the count lives outside the job's transaction (service.progress).
    claims_done = IntegerField(default=0)
    created_at = UTCTimeField()
    started_at = UTCTimeField(null=True)
    finished_at = UTCTimeField(null=True)
    error = TextField(null=True)


# A token's scopes: each includes the ones before it.
SCOPES = ("read", "write", "admin")


class Token(BaseModel):
    """A bearer token: its public key id and the SHA-256 of its secret, never the secret."""

    name = CharField(max_length=100, unique=True)
    key_id = CharField(max_length=32, unique=True)
    secret_hash = CharField(max_length=64)
    scope = CharField(max_length=8)
    created_at = UTCTimeField()
    revoked_at = UTCTimeField(null=True)


class IdempotencyRecord(BaseModel):
    """The first response to a POST with an Idempotency-Key, replayed for retries."""

    client = CharField(max_length=64)
    key = CharField(max_length=255)
    fingerprint = CharField(max_length=64)
    state = CharField(max_length=12)
    status_code = IntegerField(null=True)
    body = TextField(null=True)
    headers = JSONField(null=True)
    created_at = UTCTimeField(index=True)

    class Meta:
        indexes = ((("client", "key"), True),)


class ImportReport(BaseModel):
    """One bulk import: its state, where its batches ended, what it created and why it stopped."""

    started_at = UTCTimeField()
    finished_at = UTCTimeField(null=True)
    state = CharField(max_length=12)  # running, completed, failed
    origin = CharField(max_length=200)
    body = JSONField()


MODELS = (
    Source,
    SourceRevision,
    Document,
    Claim,
    ClaimRevision,
    ClaimTerm,
    TermSpan,
    WordSpan,
    ClaimState,
    WorldState,
    WorldSource,
    TallyDelta,
    TallyCheckpoint,
    TallyCount,
    WorldTally,
    WorldTallyDelta,
    Attribution,
    Relay,
    HistoryEntry,
    Job,
    Token,
    IdempotencyRecord,
)
