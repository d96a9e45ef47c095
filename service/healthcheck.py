"""`python -m service.healthcheck`: exit 0 when /healthz answers 200 (the container's HEALTHCHECK, no curl needed)."""

import sys
import urllib.request

from service.config import load_config


def healthz_url(bind):
    """The URL of /healthz for a gunicorn bind address; a wildcard host is reached on loopback."""
    host, _, port = bind.rpartition(":")
    if host in ("", "0.0.0.0", "[::]", "::"):
        host = "127.0.0.1"
    return f"http://{host}:{port}/healthz"


def main():
    """0 if /healthz answers 200, else 1."""
    try:
        with urllib.request.urlopen(healthz_url(load_config()["BIND"]), timeout=4) as response:
            return 0 if response.status == 200 else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
