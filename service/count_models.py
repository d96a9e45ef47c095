"""The ledger's counts of claims by status: deltas a write appends, and the sums they are folded into.

Summaries read them instead of counting claims (service.tally at knowledge times,
service.world_tally at world times), so a count costs the same at any size of the ledger.
"""

from peewee import BigIntegerField, CharField, ForeignKeyField, IntegerField

from .model_base import BaseModel

# The source of a count over all claims (TallyDelta, TallyCount, WorldTally): no source id is empty.
OVERALL = ""


class TallyDelta(BaseModel):
    """How one write changed the count of claims by status, overall (source '') and per origin source."""

    at = BigIntegerField()
    source = CharField(max_length=64)
    status = CharField(max_length=16)
    delta = IntegerField()

    class Meta:
        indexes = ((("at",), False),)


class TallyCheckpoint(BaseModel):
    """The counts as they stood at `at`, summed from every delta up to `through_id`, so a summary
    at any time adds only the deltas since the checkpoint before it."""

    at = BigIntegerField(index=True)
    through_id = BigIntegerField()


class TallyCount(BaseModel):
    """One count of a checkpoint: claims of `status` (overall, or originated by `source`)."""

    checkpoint = ForeignKeyField(TallyCheckpoint, on_delete="CASCADE", index=True)
    source = CharField(max_length=64)
    status = CharField(max_length=16)
    total = BigIntegerField()


class WorldTally(BaseModel):
    """Claims of `status` (overall, or originated by `source`) summed over a span of world time (service.world_tally).

    Level 0 holds the net count that starts at one moment (`node` = microseconds since
    BEGINNING); each level above sums the moments of its buckets (`node` = bucket number).
    """

    level = IntegerField()
    node = BigIntegerField()
    source = CharField(max_length=64)
    status = CharField(max_length=16)
    total = BigIntegerField()

    class Meta:
        indexes = ((("level", "node", "source", "status"), True),)


class WorldTallyDelta(BaseModel):
    """How a rewrite of world-time timelines moved the count starting at `at`: appended, then folded into WorldTally."""

    at = BigIntegerField()
    source = CharField(max_length=64)
    status = CharField(max_length=16)
    delta = IntegerField()
