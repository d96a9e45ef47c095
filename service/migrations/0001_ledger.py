"""Create the ledger's tables as they were at schema version 1.

Frozen: these are the models of service/models.py as they stood when this file was
added (commit 1aae983), with the custom fields written as the columns they make
(UTCTimeField -> BIGINT microseconds, JSONField -> TEXT). Never import the live
models here: a later column change would silently change what a fresh install
creates, and the migrations after it would then fail. Change the schema with a new file.
"""

from peewee import BigIntegerField, CharField, DoubleField, ForeignKeyField, IntegerField, Model, TextField


def version_1_models(database):
    """The version-1 models, bound to `database`, in the order their tables are created."""

    class BaseModel(Model):
        class Meta:
            legacy_table_names = False

    class Source(BaseModel):
        id = CharField(primary_key=True, max_length=64)
        name = CharField(max_length=200)
        kind = CharField(max_length=32)
        reliability = CharField(max_length=1)
        affiliation = CharField(max_length=64, null=True, index=True)
        country = CharField(max_length=2, null=True)
        url = TextField(null=True)
        description = TextField(null=True)
        created_at = BigIntegerField()
        updated_at = BigIntegerField()

    class SourceRevision(BaseModel):
        source = ForeignKeyField(Source, on_delete="CASCADE")
        valid_from = BigIntegerField()
        name = CharField(max_length=200)
        reliability = CharField(max_length=1)
        affiliation = CharField(max_length=64, null=True)

        class Meta:
            indexes = ((("source", "valid_from"), False),)

    class Document(BaseModel):
        publisher = ForeignKeyField(Source)
        title = CharField(max_length=500)
        url = TextField(null=True)
        published_at = BigIntegerField(null=True)
        language = CharField(max_length=35, null=True)
        text = TextField(null=True)
        created_at = BigIntegerField()
        retracted_at = BigIntegerField(null=True)
        retraction_reason = TextField(null=True)

    class Claim(BaseModel):
        text = TextField()
        subjects = TextField()
        parties = TextField()
        event_time = BigIntegerField(null=True)
        created_at = BigIntegerField(index=True)
        updated_at = BigIntegerField()
        status = CharField(max_length=16, index=True)
        confidence = DoubleField(null=True, index=True)
        likelihood = CharField(max_length=32, null=True)
        explanation = TextField()
        origins = TextField()

    class ClaimRevision(BaseModel):
        claim = ForeignKeyField(Claim, on_delete="CASCADE")
        valid_from = BigIntegerField()
        text = TextField()
        subjects = TextField()
        parties = TextField()
        event_time = BigIntegerField(null=True)

        class Meta:
            indexes = ((("claim", "valid_from"), False),)

    class ClaimTerm(BaseModel):
        claim = ForeignKeyField(Claim, on_delete="CASCADE")
        kind = CharField(max_length=8)
        term = TextField()

        class Meta:
            indexes = ((("kind", "term", "claim"), True),)

    class Attribution(BaseModel):
        claim = ForeignKeyField(Claim, index=True)
        source = ForeignKeyField(Source)
        document = ForeignKeyField(Document, null=True, index=True)
        stance = CharField(max_length=8)
        basis = CharField(max_length=16)
        confidence = DoubleField()
        quote = TextField(null=True)
        published_at = BigIntegerField(null=True)
        recorded_at = BigIntegerField()
        retracted_at = BigIntegerField(null=True)
        retraction_reason = TextField(null=True)

        class Meta:
            indexes = ((("source", "claim"), False),)

    class Relay(BaseModel):
        attribution = ForeignKeyField(Attribution, on_delete="CASCADE")
        position = IntegerField()
        source = ForeignKeyField(Source, index=True)

        class Meta:
            indexes = ((("attribution", "position"), True),)

    class HistoryEntry(BaseModel):
        claim = ForeignKeyField(Claim, on_delete="CASCADE")
        at = BigIntegerField()
        status = CharField(max_length=16)
        confidence = DoubleField(null=True)
        cause_kind = CharField(max_length=24)
        cause_id = CharField(max_length=64)

        class Meta:
            indexes = ((("claim", "id"), False),)

    class Token(BaseModel):
        name = CharField(max_length=100, unique=True)
        key_id = CharField(max_length=32, unique=True)
        secret_hash = CharField(max_length=64)
        scope = CharField(max_length=8)
        created_at = BigIntegerField()
        revoked_at = BigIntegerField(null=True)

    class IdempotencyRecord(BaseModel):
        client = CharField(max_length=64)
        key = CharField(max_length=255)
        fingerprint = CharField(max_length=64)
        state = CharField(max_length=12)
        status_code = IntegerField(null=True)
        body = TextField(null=True)
        headers = TextField(null=True)
        created_at = BigIntegerField(index=True)

        class Meta:
            indexes = ((("client", "key"), True),)

    models = (Source, SourceRevision, Document, Claim, ClaimRevision, ClaimTerm,
              Attribution, Relay, HistoryEntry, Token, IdempotencyRecord)
    for model in models:
        model.bind(database, bind_refs=False, bind_backrefs=False)
    return models


def up(migrator, db):
    db.create_tables(version_1_models(db))
