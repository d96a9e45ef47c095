"""Index only the attributions that cite a document: the two reads by document ask for one document's (a document
and its citations, a document's retraction), and most attributions cite none, yet each of them added an entry to the
index, one more page for every `POST /v1/claims/{id}/attributions` to write."""


def up(migrator, db):
    db.execute_sql('DROP INDEX IF EXISTS "attribution_document_id"')
    db.execute_sql('CREATE INDEX "attribution_document_id" ON "attribution" ("document_id") '
                   'WHERE "document_id" IS NOT NULL')
