"""gunicorn settings for `reportedly serve` and the container, from REPORTEDLY_* variables with explicit defaults."""

import os
import secrets
import shutil
import tempfile

from service.config import load_config

_config = load_config()
if _config["LOG_FORMAT"] not in ("text", "json"):
    raise ValueError(f"REPORTEDLY_LOG_FORMAT must be text or json, not {_config['LOG_FORMAT']!r}")

# Metrics from every worker: prometheus-client's multiprocess mode keeps each process's values
# in files of one folder. Set before any worker imports prometheus_client; emptied by the master.
_made_metrics_dir = _config["METRICS"] and not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _made_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
        prefix="reportedly-metrics-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)

# One web session key for every worker of this server: without REPORTEDLY_SECRET_KEY each
# worker would make its own and a login would hold on one worker only.
if not _config["SECRET_KEY"]:
    os.environ["REPORTEDLY_SECRET_KEY"] = secrets.token_hex(32)

bind = _config["BIND"]
# Explicit, never the CPU count: a container reports the host's CPUs, not its own share.
workers = _config["WORKERS"]
# gevent: a slow or idle client parks one greenlet, not a whole worker, so 50 slow connections cannot
# starve /healthz (tests/test_slow_clients.py). The subclass keeps peewee's state per greenlet.
worker_class = "service.workers.GeventWorker"
# Connections one worker holds at once; past this, new ones wait in the listen backlog.
worker_connections = 1000
# The app (and its database) is created in each worker after fork: no connection crosses a fork.
preload_app = False
# Heartbeat files in memory: an overlay or volume filesystem can stall them.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

timeout = 30
# Shorter than Docker's default 10 s stop period, so in-flight requests finish before SIGKILL.
graceful_timeout = 8
keepalive = 5
# gunicorn's own limits (answered 414 / 431 / 400 as problem+json by service.workers), set explicitly:
# a request line up to 8 KiB, up to 100 header fields of up to 8 KiB each.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
# No runtime control socket: nothing here needs it, and a read-only home cannot hold it.
control_socket_disable = True

loglevel = _config["LOG_LEVEL"].lower()
accesslog = "-"
# The access line's message; the request id goes in the line's [brackets] (or its JSON member).
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s "%(a)s" %(D)sus'
logger_class = "service.observability.AccessLogger"
# Everything to stdout, where containers and process managers collect it; every line carries its request id.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "service.observability.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s [%(process)d] [%(levelname)s] %(name)s [%(request_id)s]: %(message)s"},
        "json": {"()": "service.observability.JsonFormatter"},
    },
    "handlers": {"stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout",
                            "formatter": "json" if _config["LOG_FORMAT"] == "json" else "plain",
                            "filters": ["request_id"]}},
    "root": {"handlers": ["stdout"], "level": "WARNING"},
    "loggers": {
        "gunicorn.error": {"handlers": ["stdout"], "level": _config["LOG_LEVEL"].upper(), "propagate": False},
        "gunicorn.access": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
        "reportedly": {"handlers": ["stdout"], "level": _config["LOG_LEVEL"].upper(), "propagate": False},
    },
}


def on_starting(server):
    """In the master, before any worker exists: migrate once, seed if asked, close the connection."""
    from service.db import close_all, init_database
    from service.migrations import migrate
    from service.seeding import load_seeds

    prometheus_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if _config["METRICS"] and prometheus_dir:
        shutil.rmtree(prometheus_dir, ignore_errors=True)  # no counts of a previous run's workers
        os.makedirs(prometheus_dir, exist_ok=True)
    database = init_database(_config)
    database.connect()
    try:
        server.log.info("reportedly schema at version %d", migrate())
        if _config["SEED"]:
            server.log.info("seeds from %s: %s", _config["SEED_PATH"], load_seeds(_config["SEED_PATH"]))
    finally:
        close_all(database)


def post_fork(server, worker):
    """A worker starts with no database connection of the master's (on_starting closed it)."""
    from service.db import db

    if db.obj is not None and not db.is_closed():
        db.close()


def child_exit(server, worker):
    """In the master, when a worker exits: fold its live gauges out of the metrics."""
    if _config["METRICS"]:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """In the master, last: remove the metrics folder it made for this run."""
    if _made_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
