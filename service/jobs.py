"""Jobs: changes too large for one request, applied by a process of their own (`python -m service.jobs ID`).

A source change behind more claims than REGRADE_INLINE_LIMIT is queued as a Job
by source_writes.request_source_change; start() launches a process that applies it
through the same ledger function a small change uses, in one transaction, so
every reader sees the change whole or not at all and all its history entries
carry one time. The job row tells a client polling it where it stands, and
service.progress how many claims it has re-derived so far.
"""

import os
import subprocess
import sys
import time

from . import progress
from .clock import utcnow
from .config import DEFAULTS, load_config
from .db import close_all, db, init_database
from .errors import LedgerError
from .metrics import init_metrics, observe_job
from .models import Job
from .source_writes import update_source

RUNNERS = {"source_change": lambda job, progress: update_source(job.subject, job.changes, progress=progress)}


def start(job, config):
    """Launch the process that applies a queued job, with the app's own settings."""
    env = {**os.environ, **{f"REPORTEDLY_{name}": str(config[name]) for name in DEFAULTS if name in config}}
    subprocess.Popen([sys.executable, "-m", "service.jobs", str(job.id)], env=env,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True)


def run(job_id, config):
    """Apply one queued job, telling its progress as it goes, and record how it ended; returns the job."""
    with db.atomic():
        job = Job.get_by_id(job_id)
        if job.state != "queued":
            return job
        job.state, job.started_at = "running", utcnow()
        job.save()
    started = time.monotonic()
    reporter = progress.Reporter(job, config)
    try:
        RUNNERS[job.kind](job, reporter)
        job.state, job.claims_done = "done", job.claims_total
    except LedgerError as error:
        job.state, job.error = "failed", error.detail
    except Exception as error:  # the job's own record says it failed; its transaction left nothing behind
        job.state, job.error = "failed", f"{type(error).__name__} while applying the change"
        raise
    finally:
        job.finished_at = utcnow()
        with db.atomic():
            job.save()
        reporter.close()
        observe_job(job.kind, job.state, time.monotonic() - started)
    return job


def main(argv):
    """Entry point of the job process; under gunicorn with metrics on, it adds to the workers' metrics."""
    config = load_config()
    if config["METRICS"] and os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        init_metrics()
    database = init_database(config)
    database.connect()
    try:
        run(int(argv[1]), config)
    finally:
        close_all(database)


if __name__ == "__main__":
    main(sys.argv)
