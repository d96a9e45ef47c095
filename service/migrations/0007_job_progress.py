"""Jobs tell how many claims they have re-derived so far (service.progress)."""

from peewee import IntegerField


def up(migrator, db):
    migrator.migrate(migrator.add_column("job", "claims_done", IntegerField(default=0)))
