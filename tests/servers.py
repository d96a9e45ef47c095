"""Start and stop a real gunicorn with the project's config module, for tests that talk HTTP."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

BIN = Path(sys.executable).parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reportedly(env, *args):
    """Run the `reportedly` command with this environment; return its standard output."""
    result = subprocess.run([BIN / "reportedly", *args], env={**os.environ, **env}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


class Gunicorn:
    """gunicorn as `reportedly serve` runs it, on a free port, logging to a file."""

    def __init__(self, log_path, **env):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "REPORTEDLY_BIND": f"127.0.0.1:{self.port}", "REPORTEDLY_WORKERS": "2",
                    "REPORTEDLY_RATE_LIMIT_PER_MINUTE": "0", "REPORTEDLY_AUTH_FAILURE_LIMIT": "0", **env}
        self.log_path = log_path

    def launch(self):
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [BIN / "gunicorn", "--config", "python:service.gunicorn_conf", "service.wsgi:app"],
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        return self

    def wait_healthy(self, seconds=30):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.logs()
            try:
                if requests.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return self
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or a worker still booting
                pass
            time.sleep(0.1)
        raise AssertionError("gunicorn never became healthy:\n" + self.logs())

    def start(self):
        return self.launch().wait_healthy()

    def logs(self):
        return Path(self.log_path).read_text()

    def stop(self):
        """SIGTERM, as a container stop sends; returns the exit code."""
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        self.log.close()
        return code


@contextlib.contextmanager
def serve_ledger(database_url, log_path, seeds=None, **env):
    """A migrated (and, given `seeds`, seeded) ledger served by gunicorn; yields its base URL and an admin token."""
    env = {"REPORTEDLY_DATABASE_URL": database_url, **env}
    reportedly(env, "migrate")
    if seeds is not None:
        reportedly(env, "seed", str(seeds))
    token = reportedly(env, "keys", "create", "--name", "tests", "--scope", "admin").strip().splitlines()[-1]
    gunicorn = Gunicorn(log_path, **env).start()
    try:
        yield gunicorn.base, token
    finally:
        code = gunicorn.stop()
    assert code == 0
    assert "Traceback" not in gunicorn.logs()
