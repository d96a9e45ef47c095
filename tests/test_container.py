"""The container, proven without a Docker engine: lint, structure, config, and a rehearsal of what it runs."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def dockerfile():
    parser = DockerfileParser(path=str(ROOT / "Dockerfile"))
    return parser


def instructions(dockerfile, name):
    return [i for i in dockerfile.structure if i["instruction"] == name]


def runtime_stage(dockerfile):
    """The instructions after the last FROM."""
    last_from = max(i for i, ins in enumerate(dockerfile.structure) if ins["instruction"] == "FROM")
    return dockerfile.structure[last_from:]


def test_hadolint_finds_nothing_at_warning_or_above():
    result = subprocess.run([BIN / "hadolint", "--failure-threshold", "warning", str(ROOT / "Dockerfile")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_structure(dockerfile):
    [last_user] = [i["value"] for i in instructions(dockerfile, "USER")][-1:]
    assert last_user.split(":")[0] not in ("root", "0")
    assert instructions(dockerfile, "HEALTHCHECK")
    [cmd] = instructions(dockerfile, "CMD")
    assert isinstance(json.loads(cmd["value"]), list), "CMD must be exec form"
    for base in instructions(dockerfile, "FROM"):
        image = base["value"].split()[0]
        assert ":" in image and not image.endswith(":latest"), f"{image} is not pinned to a tag"
    assert len(instructions(dockerfile, "FROM")) >= 2, "multi-stage"
    envs = dockerfile.envs
    assert envs["PYTHONDONTWRITEBYTECODE"] == "1" and envs["PYTHONUNBUFFERED"] == "1"
    assert [v["value"] for v in instructions(dockerfile, "VOLUME")] == ['["/data"]']
    assert dockerfile.labels["org.opencontainers.image.title"] == "reportedly"
    assert (ROOT / ".dockerignore").is_file()
    version = next(line.split("=")[1].strip() for line in (ROOT / "setup.cfg").read_text().splitlines()
                   if line.startswith("version"))
    assert f"reportedly[postgres]=={version}" in str(dockerfile.structure), "the image installs this version"
    assert dockerfile.labels["org.opencontainers.image.version"] == version


def test_gunicorn_accepts_the_config_module():
    result = subprocess.run([BIN / "gunicorn", "--check-config", "--config", "python:service.gunicorn_conf",
                             "service.wsgi:app"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


# --- the rehearsal --------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def image(dockerfile, tmp_path_factory):
    """The wheel built as the builder stage builds it, installed into a fresh virtualenv."""
    base = tmp_path_factory.mktemp("image")
    context = base / "src"
    context.mkdir()
    for name in ("pyproject.toml", "setup.cfg", "README.md"):
        shutil.copy(ROOT / name, context)
    shutil.copytree(ROOT / "service", context / "service", ignore=shutil.ignore_patterns("__pycache__"))
    wheels, venv = base / "wheels", base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    for stage, workdir in ((dockerfile.structure, context), (runtime_stage(dockerfile), base)):
        [run] = [i["value"] for i in stage if i["instruction"] == "RUN" and "pip " in i["value"]][:1]
        # pip here is the fresh virtualenv's, standing in for the image's interpreter
        subprocess.run(["sh", "-c", run.replace("/wheels", str(wheels))], cwd=workdir, check=True,
                       capture_output=True, env={**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}"})
    app_dir = base / "app"
    app_dir.mkdir()
    shutil.copytree(ROOT / "seeds", app_dir / "seeds")
    return {"venv": venv, "app": app_dir}


class Container:
    """The Dockerfile's CMD with its ENV, run from its WORKDIR, the data volume in a temporary folder."""

    def __init__(self, dockerfile, image, data, **env):
        self.port = free_port()
        self.env = {
            "PATH": f"{image['venv'] / 'bin'}:/usr/bin:/bin",
            **dockerfile.envs,
            "REPORTEDLY_DATABASE_URL": f"sqlite:///{data / 'reportedly.db'}",
            "REPORTEDLY_BIND": f"0.0.0.0:{self.port}",
            "REPORTEDLY_SEED_PATH": str(image["app"] / "seeds"),
            **env,
        }
        self.cwd = image["app"]
        self.cmd = json.loads(instructions(dockerfile, "CMD")[0]["value"])
        healthcheck = instructions(dockerfile, "HEALTHCHECK")[0]["value"]
        self.healthcheck = json.loads(healthcheck[healthcheck.index("CMD") + 3:].strip())
        self.base = f"http://127.0.0.1:{self.port}"

    def run(self, args, **kwargs):
        return subprocess.run(args, env=self.env, cwd=self.cwd, capture_output=True, text=True, **kwargs)

    def start(self):
        self.log = open(self.cwd / f"gunicorn-{self.port}.log", "w")
        self.process = subprocess.Popen(self.cmd, env=self.env, cwd=self.cwd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while self.run(self.healthcheck).returncode != 0:
            assert self.process.poll() is None, self.logs()
            assert time.monotonic() < deadline, "never became healthy:\n" + self.logs()
            time.sleep(0.2)
        return self

    def logs(self):
        return (self.cwd / f"gunicorn-{self.port}.log").read_text()

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=20)
        self.log.close()
        return code


def slow_post(port, path, token, body):
    """Send a request's headers and half its body; return the socket and a function that finishes it."""
    data = json.dumps(body).encode()
    connection = socket.create_connection(("127.0.0.1", port))
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\nConnection: close\r\n\r\n").encode()
    connection.sendall(head + data[: len(data) // 2])

    def finish():
        connection.sendall(data[len(data) // 2:])
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
        connection.close()
        return answer.decode()

    return finish


def test_container_rehearsal(dockerfile, image, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    container = Container(dockerfile, image, data).start()
    created = container.run(["reportedly", "keys", "create", "--name", "first", "--scope", "admin"])
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    auth = {"Authorization": f"Bearer {token}"}
    assert requests.get(f"{container.base}/v1/claims").json()["items"] == [], "seeding must be opt-in"
    claim = requests.post(f"{container.base}/v1/claims", json={"text": "Kim left by train."}, headers=auth)
    assert claim.status_code == 201

    finish = slow_post(container.port, "/v1/claims", token, {"text": "Sent while the container stops."})
    time.sleep(0.5)  # a worker is now inside the request, reading its body
    container.process.send_signal(signal.SIGTERM)
    time.sleep(1)
    answer = finish()
    assert answer.startswith("HTTP/1.1 201"), answer
    assert container.process.wait(timeout=20) == 0, container.logs()
    container.log.close()
    assert "Traceback" not in container.logs()

    again = Container(dockerfile, image, data, REPORTEDLY_SEED="true").start()
    try:
        texts = [c["text"] for c in requests.get(f"{again.base}/v1/claims", params={"limit": 200}).json()["items"]]
        assert "Kim left by train." in texts and "Sent while the container stops." in texts
        assert len(texts) == 2 + 19, "the opt-in seeds load on top"
    finally:
        assert again.stop() == 0
    assert {p.name for p in data.iterdir()} >= {"reportedly.db"}
