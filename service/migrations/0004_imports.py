"""Kept reports of bulk imports (service.bulk), so a `created` history entry can be traced to its import.

The model is frozen here as it stood at this version; service.models holds the live one.
"""

from peewee import BigIntegerField, CharField, Model, TextField


def up(migrator, db):
    class ImportReport(Model):
        started_at = BigIntegerField()
        finished_at = BigIntegerField(null=True)
        state = CharField(max_length=12)
        origin = CharField(max_length=200)
        body = TextField()

        class Meta:
            database = db
            table_name = "import_report"

    db.create_tables([ImportReport])
