"""Create the ledger's tables.

The models as they stood at this version. When a model's columns change, the
change gets a migration file of its own, and this file a frozen copy of the old model.
"""

from service.models import MODELS


def up(migrator, db):
    db.create_tables(MODELS)
