"""Past time by index: timelines of claims' derived fields and terms, counts by status (service.timeline), and jobs.

Creates the tables as they stood at this version (frozen copies of the models),
replaces the text-search indexes of version 2 with the words kept as term spans
(one tokenizer for every database), and rebuilds the timelines of any claims the
database already holds from their recorded inputs.
"""

import importlib

from peewee import BigIntegerField, CharField, DoubleField, IntegerField, Model, TextField


class _Frozen(Model):
    class Meta:
        legacy_table_names = False


class TermSpan(_Frozen):
    claim_id = BigIntegerField()
    kind = CharField(max_length=8)
    term = TextField()
    valid_from = BigIntegerField()
    valid_to = BigIntegerField()

    class Meta:
        indexes = ((("kind", "term", "claim_id", "valid_from"), True), (("claim_id", "valid_to"), False))


class ClaimState(_Frozen):
    claim_id = BigIntegerField()
    valid_from = BigIntegerField()
    valid_to = BigIntegerField()
    status = CharField(max_length=16)
    confidence = DoubleField(null=True)
    likelihood = CharField(max_length=32, null=True)
    explanation = TextField()
    origins = TextField()

    class Meta:
        indexes = ((("claim_id", "valid_from"), True), (("status", "claim_id"), False),
                   (("confidence", "claim_id"), False))


class WorldState(_Frozen):
    claim_id = BigIntegerField()
    published_from = BigIntegerField()
    published_to = BigIntegerField()
    status = CharField(max_length=16)
    confidence = DoubleField(null=True)
    likelihood = CharField(max_length=32, null=True)
    explanation = TextField()
    origins = TextField()

    class Meta:
        indexes = ((("claim_id", "published_from"), True), (("status", "claim_id"), False),
                   (("published_from", "published_to"), False))


class WorldSource(_Frozen):
    claim_id = BigIntegerField()
    published_from = BigIntegerField()
    published_to = BigIntegerField()
    source = CharField(max_length=64)
    status = CharField(max_length=16)

    class Meta:
        indexes = ((("claim_id", "published_from", "source"), True), (("published_from", "published_to"), False))


class TallyDelta(_Frozen):
    at = BigIntegerField(index=True)
    source = CharField(max_length=64)
    status = CharField(max_length=16)
    delta = IntegerField()


class TallyCheckpoint(_Frozen):
    at = BigIntegerField(index=True)
    through_id = BigIntegerField()


class TallyCount(_Frozen):
    checkpoint_id = BigIntegerField(index=True)
    source = CharField(max_length=64)
    status = CharField(max_length=16)
    total = BigIntegerField()


class Job(_Frozen):
    kind = CharField(max_length=24)
    subject = CharField(max_length=64)
    changes = TextField()
    state = CharField(max_length=12, index=True)
    claims_total = IntegerField()
    created_at = BigIntegerField()
    started_at = BigIntegerField(null=True)
    finished_at = BigIntegerField(null=True)
    error = TextField(null=True)


TABLES = (TermSpan, ClaimState, WorldState, WorldSource, TallyDelta, TallyCheckpoint, TallyCount, Job)
SQLITE_DROPS = (
    "DROP TRIGGER IF EXISTS claim_fts_insert",
    "DROP TRIGGER IF EXISTS claim_fts_update",
    "DROP TRIGGER IF EXISTS claim_fts_delete",
    "DROP TABLE IF EXISTS claim_fts",
)
POSTGRESQL_DROPS = ("DROP INDEX IF EXISTS claim_text_search", "ALTER TABLE claim DROP COLUMN IF EXISTS text_search")


def up(migrator, db):
    from service.db import is_postgresql
    from service.rebuild import rebuild_all

    for statement in POSTGRESQL_DROPS if is_postgresql(db) else SQLITE_DROPS:
        db.execute_sql(statement)
    with db.bind_ctx(TABLES):
        db.create_tables(TABLES, safe=True)
    if db.execute_sql("SELECT COUNT(*) FROM claim").fetchone()[0]:
        # The rebuild is the live code's, which keeps the words where migration 0010 moved them.
        importlib.import_module("service.migrations.0010_word_spans").create_table(db)
        rebuild_all()
    db.execute_sql("DELETE FROM claim_term")
