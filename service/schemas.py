"""Marshmallow schemas: one per resource (load_only/dump_only), query-argument schemas beside them."""

from marshmallow import Schema, ValidationError, fields, validate, validates

from .fields import (
    AwareTime,
    Choice,
    Enumeration,
    HttpUrl,
    Identifier,
    JSONNumber,
    Pattern,
    QueryInteger,
    QueryNumber,
    Slug,
    Text,
)
from .formats.attribution_line import LANGUAGES
from .formats.provenance import FORMATS as PROV_FORMATS
from .rules import BASES, RELIABILITY_GRADES, STANCES, STATUSES

SOURCE_KINDS = (
    "state_media",
    "news_outlet",
    "wire_service",
    "government",
    "intelligence_service",
    "international_body",
    "ngo",
    "person",
    "other",
)
MAX_DOCUMENT_TEXT_BYTES = 512 * 1024
CAUSE_KINDS = ("created", "attribution", "retraction", "document_retraction", "source_change", "claim_change")

# Each set is one named component of the OpenAPI document, so that client generators make one type of it.
STATUS = Enumeration("Status", STATUSES, "A claim's status, derived from its active attributions by the status rules.")
STANCE = Enumeration("Stance", STANCES, "Whether a source supports or denies a claim.")
BASIS = Enumeration("Basis", BASES, "How the source knows what it states.")
RELIABILITY = Enumeration("Reliability", RELIABILITY_GRADES, "Source reliability, A (reliable) to F (cannot be judged).")
SOURCE_KIND = Enumeration("SourceKind", SOURCE_KINDS, "What sort of body a source is.")
CAUSE_KIND = Enumeration("CauseKind", CAUSE_KINDS, "What changed a claim's status or confidence.")
JOB_KIND = Enumeration("JobKind", ("source_change",), "What a job applies.")
JOB_STATE = Enumeration("JobState", ("queued", "running", "done", "failed"), "Where a job stands.")
ENGINE = Enumeration("DatabaseEngine", ("sqlite", "postgresql"), "The database the service runs on.")
IMPORT_STATE = Enumeration("ImportState", ("running", "completed", "failed"), "Where an import stands.")
LANGUAGE = Enumeration("Language", tuple(LANGUAGES), "The language of the attribution line.")
PROV_FORMAT = Enumeration("ProvFormat", tuple(PROV_FORMATS), "A W3C PROV serialisation.")


class SourceSchema(Schema):
    """An outlet, agency or body that makes statements."""

    id = Slug(required=True)
    name = Text(1, 200, required=True)
    kind = Choice(SOURCE_KIND, required=True)
    reliability = Choice(RELIABILITY, load_default="F")
    affiliation = Slug(allow_none=True, load_default=None)
    country = fields.String(allow_none=True, load_default=None, validate=Pattern(r"^[A-Z]{2}$"))
    url = HttpUrl(allow_none=True, load_default=None)
    description = Text(max_length=2000, allow_none=True, load_default=None)
    created_at = AwareTime(dump_only=True)
    updated_at = AwareTime(dump_only=True)


class SourcePatchSchema(SourceSchema):
    """The fields of a source that PATCH may change (the id is immutable)."""

    class Meta:
        exclude = ("id",)


class DocumentSchema(Schema):
    """A publication in which statements appear."""

    id = fields.Integer(dump_only=True)
    publisher = Slug(required=True, attribute="publisher_id")
    title = Text(1, 500, required=True)
    url = HttpUrl(allow_none=True, load_default=None)
    published_at = AwareTime(allow_none=True, load_default=None)
    language = fields.String(
        allow_none=True,
        load_default=None,
        validate=[
            Pattern(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,6}$", error="Must be a BCP 47 tag such as en or pt-BR."),
            validate.Length(max=35),
        ],
    )
    text = Text(allow_none=True, load_default=None)
    created_at = AwareTime(dump_only=True)
    retracted_at = AwareTime(dump_only=True, allow_none=True)
    retraction_reason = fields.String(dump_only=True, allow_none=True)

    @validates("text")
    def _text_fits(self, value, data_key):
        if value is not None and len(value.encode("utf-8")) > MAX_DOCUMENT_TEXT_BYTES:
            raise ValidationError("Must be at most 512 KiB of UTF-8.")


class ClaimStatusSchema(Schema):
    """The derived fields of a claim, as returned after a write that changed them."""

    id = fields.Integer(dump_only=True)
    status = Choice(STATUS, dump_only=True)
    confidence = fields.Float(dump_only=True, allow_none=True)
    likelihood = fields.String(dump_only=True, allow_none=True)
    explanation = fields.List(fields.String(), dump_only=True)
    attribution_line = fields.String(
        dump_only=True, metadata={"description": "The newsroom sentence for this state of the reporting (`lang`)."}
    )


class AttributionSchema(Schema):
    """One source taking a stance on one claim, possibly relayed by others."""

    id = fields.Integer(dump_only=True)
    claim_id = fields.Integer(dump_only=True)
    source = Slug(required=True)
    via = fields.List(Slug(), load_default=list, validate=validate.Length(max=20), metadata={"uniqueItems": True})
    document_id = Identifier(allow_none=True, load_default=None)
    stance = Choice(STANCE, required=True)
    basis = Choice(BASIS, required=True)
    confidence = JSONNumber(required=True, validate=validate.Range(min=0, max=1))
    quote = Text(max_length=2000, allow_none=True, load_default=None)
    published_at = AwareTime(allow_none=True, load_default=None)
    recorded_at = AwareTime(dump_only=True)
    retracted_at = AwareTime(dump_only=True, allow_none=True)
    retraction_reason = fields.String(dump_only=True, allow_none=True)

    @validates("via")
    def _via_distinct(self, value, data_key):
        if len(set(value)) != len(value):
            raise ValidationError("Must not name a source twice.")


class AttributionResultSchema(AttributionSchema):
    """An attribution after a write, with the claim's new derived fields."""

    claim = fields.Nested(ClaimStatusSchema, dump_only=True)


class OriginSchema(Schema):
    """One origin group taking one stance."""

    group = fields.String()
    sources = fields.List(fields.String())
    relays = fields.List(fields.String(), metadata={"description": "Sources that relayed this origin's statements."})
    bases = fields.List(Choice(BASIS))
    stance = Choice(STANCE)
    credible = fields.Boolean()
    interested = fields.Boolean()
    confidence = fields.Float()


class ClaimSchema(ClaimStatusSchema):
    """One proposition, with who says it and its derived status."""

    text = Text(1, 2000, required=True)
    subjects = fields.List(Text(1, 200), load_default=list, validate=validate.Length(max=50))
    parties = fields.List(Slug(), load_default=list, validate=validate.Length(max=50), metadata={"uniqueItems": True})
    event_time = AwareTime(allow_none=True, load_default=None)
    created_at = AwareTime(dump_only=True)
    updated_at = AwareTime(dump_only=True)
    origins = fields.List(fields.Nested(OriginSchema), dump_only=True)
    attributions = fields.List(fields.Nested(AttributionSchema), load_default=list, validate=validate.Length(max=100))

    @validates("parties")
    def _parties_distinct(self, value, data_key):
        if len(set(value)) != len(value):
            raise ValidationError("Must not name a party twice.")


class ClaimListItemSchema(ClaimSchema):
    """A claim as it appears in lists: without its attributions."""

    class Meta:
        exclude = ("attributions",)


class ClaimPatchSchema(ClaimSchema):
    """The fields of a claim that PATCH may change."""

    class Meta:
        exclude = ("attributions",)


class RetractionSchema(Schema):
    """Why an attribution or document is withdrawn."""

    reason = Text(1, 2000, required=True)


class CauseSchema(Schema):
    """What caused a history entry: its kind and the id concerned."""
    kind = Choice(CAUSE_KIND)
    id = fields.Raw(metadata={"oneOf": [{"type": "integer"}, {"type": "string"}]})


class HistoryEntrySchema(Schema):
    """A change of a claim's status or confidence."""

    at = AwareTime()
    status = Choice(STATUS)
    confidence = fields.Float(allow_none=True)
    cause = fields.Nested(CauseSchema)


class StatusCountsSchema(Schema):
    """A count per status, every status present."""
    confirmed = fields.Integer()
    disputed = fields.Integer()
    denied = fields.Integer()
    reported = fields.Integer()
    unconfirmed = fields.Integer()


class SourceCountsSchema(Schema):
    """The counts of the claims one source originates."""
    source = fields.String()
    by_status = fields.Nested(StatusCountsSchema)


class SummarySchema(Schema):
    """How many claims stand at each status, overall and per origin source."""

    total = fields.Integer()
    by_status = fields.Nested(StatusCountsSchema)
    by_source = fields.List(fields.Nested(SourceCountsSchema))


class JobSchema(Schema):
    """A change applied by a process of its own; poll it until `state` is done or failed."""

    id = fields.Integer()
    kind = Choice(JOB_KIND)
    subject = fields.String(metadata={"description": "The id of the source being changed."})
    changes = fields.Dict(keys=fields.String(), values=fields.Raw())
    state = Choice(JOB_STATE)
    claims_total = fields.Integer(metadata={"description": "How many claims the change re-derives."})
    claims_done = fields.Integer(metadata={"description": "How many of them it has re-derived so far (reported "
                                                          "about once a second); claims_total once done."})
    created_at = AwareTime()
    started_at = AwareTime(allow_none=True)
    finished_at = AwareTime(allow_none=True)
    error = fields.String(allow_none=True)


class HealthSchema(Schema):
    """What /healthz reports."""
    status = fields.String()
    database = fields.String()
    engine = Choice(ENGINE)
    sqlite_version = fields.String(metadata={"description": "On SQLite only: the library in use."})
    server_version = fields.String(metadata={"description": "On PostgreSQL only: the server's version."})


def page_of(item_schema, name):
    """A list envelope schema: {"items": [...], "next_cursor": str | null}."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema)),
            "next_cursor": fields.String(allow_none=True),
        },
        name=name,
    )


SourcePageSchema = page_of(SourceSchema, "SourcePage")
ClaimPageSchema = page_of(ClaimListItemSchema, "ClaimPage")
AttributionPageSchema = page_of(AttributionSchema, "AttributionPage")
HistoryPageSchema = page_of(HistoryEntrySchema, "HistoryPage")


class PageQuerySchema(Schema):
    """Keyset pagination: how many items, and where the previous page ended."""

    limit = QueryInteger(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = Text(1, 200)


class TimeQuerySchema(Schema):
    """Knowledge time (`as_of`) and world time (`published_before`)."""

    as_of = AwareTime()
    published_before = AwareTime()


class LangQuerySchema(Schema):
    """The language of the attribution line."""

    lang = Choice(LANGUAGE, load_default="en")


class ClaimReadQuerySchema(TimeQuerySchema, LangQuerySchema):
    """A single claim: at which times, with the attribution line in which language."""


class ProvenanceQuerySchema(Schema):
    """Which PROV serialisation; without it, the Accept header decides (PROV-JSON by default)."""

    format = Choice(PROV_FORMAT)


class ClaimQuerySchema(PageQuerySchema, TimeQuerySchema, LangQuerySchema):
    """Filters of the claim list; they combine with AND."""

    status = fields.List(Choice(STATUS))
    source = Slug()
    relayed_by = Slug()
    subject = Text(1, 200)
    party = Slug()
    q = Text(1, 200, metadata={"description": "Words the claim's text holds, every one; at least one letter or digit."})
    min_confidence = QueryNumber(validate=validate.Range(min=0, max=1))


# --- bulk import (spec §10) --------------------------------------------------------


class RetractedLineSchema(Schema):
    """Keys a bulk line may carry beside the API's own: an imported retraction."""

    retracted = fields.Boolean(truthy={True}, falsy={False}, load_default=False)
    retraction_reason = Text(1, 2000, allow_none=True, load_default=None)


class DocumentLineSchema(RetractedLineSchema):
    """The bulk-only keys of a document line: the client key later lines cite it by."""

    key = Text(1, 200, allow_none=True, load_default=None)


class AttributionLineSchema(RetractedLineSchema):
    """The bulk-only keys of an attribution on a claim line: the client key of its document."""

    document_key = Text(1, 200, allow_none=True, load_default=None)


class ImportBatchSchema(Schema):
    """Where one batch of an import began and ended, and whether it was written."""

    first_line = fields.Integer()
    last_line = fields.Integer()
    written = fields.Boolean()
    at = fields.String(allow_none=True, metadata={"format": "date-time",
                                                  "description": "The time its claims' `created` entries carry."})


class ImportLineErrorSchema(Schema):
    """A line that stopped the import: its number, the dotted field (null for the whole line) and why."""

    line = fields.Integer()
    field = fields.String(allow_none=True)
    reason = fields.String()


class ImportCountsSchema(Schema):
    """How many of each thing the written batches created."""

    sources = fields.Integer()
    documents = fields.Integer()
    claims = fields.Integer()
    attributions = fields.Integer()


class ImportCreatedSchema(Schema):
    """The ids the import created: source ids, and document and claim ids as inclusive [first, last] ranges."""

    sources = fields.List(fields.String())
    documents = fields.List(fields.List(fields.Integer()))
    claims = fields.List(fields.List(fields.Integer()))


class ImportReportSchema(Schema):
    """What an import did: its state, batches, counts, created ids and line errors."""

    id = fields.Integer(allow_none=True, metadata={"description": "Null for a dry run, which is not kept."})
    state = Choice(IMPORT_STATE)
    origin = fields.String()
    dry_run = fields.Boolean()
    started_at = AwareTime()
    finished_at = AwareTime(allow_none=True)
    batch_size = fields.Integer()
    lines = fields.Integer()
    counts = fields.Nested(ImportCountsSchema)
    batches = fields.List(fields.Nested(ImportBatchSchema))
    created = fields.Nested(ImportCreatedSchema)
    errors = fields.List(fields.Nested(ImportLineErrorSchema))


class ImportQuerySchema(Schema):
    """Options of POST /v1/imports."""

    dry_run = fields.Boolean(load_default=False)
    batch_size = fields.Integer(validate=validate.Range(min=1, max=100_000))


class NoQuerySchema(Schema):
    """A resource that takes no query parameters: any one given is a 422."""
