"""How far a running job has got, told outside its own transaction so that a client polling it sees it move.

A job applies its change in one transaction (spec §9), so nothing it writes there is
seen before it commits. Its progress goes elsewhere, at most once a second: on
PostgreSQL to the job's row, through a connection of its own (the change never locks
that row); on SQLite, where the job is the one writer until it commits, to a small
file per job in a folder beside the database, which every worker on the machine reads.
"""

import os
import time
from pathlib import Path

from .db import db, is_postgresql, open_database
from .models import Job

# Seconds between two reports of one job.
REPORT_EVERY = 1.0


def _folder(config):
    """The folder of SQLite's progress files: beside the database file."""
    return Path(config["DATABASE_URL"][len("sqlite:///"):] + "-jobs")


class Reporter:
    """Reports one job's claims done, from the process applying it."""

    def __init__(self, job, config):
        self.job_id, self.config, self.last = job.id, config, 0.0
        self.database = open_database(config["DATABASE_URL"], config) if is_postgresql() else None

    def __call__(self, done, force=False):
        if not force and time.monotonic() - self.last < REPORT_EVERY:
            return
        self.last = time.monotonic()
        if self.database is not None:
            with self.database.connection_context():
                self.database.execute_sql(
                    f"UPDATE {Job._meta.table_name} SET claims_done = {self.database.param} "
                    f"WHERE id = {self.database.param}", (done, self.job_id))
            return
        folder = _folder(self.config)
        folder.mkdir(exist_ok=True)
        written = folder / f"{self.job_id}.tmp"
        written.write_text(str(done))
        os.replace(written, folder / str(self.job_id))

    def close(self):
        """Forget the job's file (its row holds the final count) and the reporting connection."""
        if self.database is not None:
            self.database.close_all()
        else:
            (_folder(self.config) / str(self.job_id)).unlink(missing_ok=True)


def claims_done(job, config):
    """How many claims a job has re-derived so far, as its process last reported."""
    if job.state != "running" or is_postgresql(db):
        return job.claims_done
    try:
        return int((_folder(config) / str(job.id)).read_text())
    except (OSError, ValueError):
        return job.claims_done
