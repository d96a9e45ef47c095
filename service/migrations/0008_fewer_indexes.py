"""Drop the indexes no query uses, each of which every write to a claim paid for.

Five repeat the first column of a wider index on the same table (peewee indexes every
foreign key unless told not to), which serves every lookup they served. The world-time
timelines' two indexes by (published_from, published_to) serve no read either: every
world-time read plans through (claim_id, published_from) or (status, claim_id), on SQLite
and PostgreSQL alike, and the counts at a world time are sums since 0006. Together they
were a quarter of the pages a `POST /v1/claims/{id}/attributions` wrote (34 -> 25 on SQLite).
"""

INDEXES = (
    "source_revision_source_id",
    "claim_revision_claim_id",
    "attribution_source_id",
    "relay_attribution_id",
    "history_entry_claim_id",
    "world_state_published_from_published_to",
    "world_source_published_from_published_to",
)


def up(migrator, db):
    for name in INDEXES:
        db.execute_sql(f'DROP INDEX IF EXISTS "{name}"')
