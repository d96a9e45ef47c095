"""gunicorn settings for `reportedly serve` and the container: REPORTEDLY_* variables, explicit defaults."""

from service.config import load_config

_config = load_config()

bind = _config["BIND"]
# Explicit worker count: a container reports the host's CPUs, not its own share.
workers = _config["WORKERS"]
worker_class = "sync"
timeout = 30
# Shorter than Docker's default 10 s stop period, so in-flight requests finish first.
graceful_timeout = 8
keepalive = 5
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
accesslog = "-"
errorlog = "-"
loglevel = _config["LOG_LEVEL"].lower()
# The app (and its database) is created in each worker after fork: no connection crosses a fork.
preload_app = False


def on_starting(server):
    """Migrate once, in the master, before any worker starts."""
    from service.db import init_database
    from service.migrations import migrate

    database = init_database(_config)
    database.connect()
    try:
        version = migrate(database)
    finally:
        database.close()
    server.log.info("reportedly schema at version %d", version)
