"""Counts at a world time from sums (service.world_tally) instead of a scan of the world-time timelines.

Creates the tables as they stood at this version (frozen copies of the models) and
sums the world-time timelines the database already holds into them.
"""

from peewee import BigIntegerField, CharField, IntegerField, Model


class _Frozen(Model):
    class Meta:
        legacy_table_names = False


class WorldTally(_Frozen):
    level = IntegerField()
    node = BigIntegerField()
    source = CharField(max_length=64)
    status = CharField(max_length=16)
    total = BigIntegerField()

    class Meta:
        indexes = ((("level", "node", "source", "status"), True),)


class WorldTallyDelta(_Frozen):
    at = BigIntegerField()
    source = CharField(max_length=64)
    status = CharField(max_length=16)
    delta = IntegerField()


TABLES = (WorldTally, WorldTallyDelta)


def up(migrator, db):
    from service.world_tally import recount

    with db.bind_ctx(TABLES):
        db.create_tables(TABLES, safe=True)
    recount()
