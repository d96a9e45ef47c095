"""The image, built and run by a real container engine (podman), as an operator would run it.

No image registry is reachable from these machines, so `FROM python:3.11-slim-bookworm`
is satisfied by a local STAND-IN of that name: Debian bookworm's own python3.11 from
debootstrap (minbase), with pip and venv, `python`/`pip` linked into /usr/local/bin and
the machine's CA bundle copied in. What differs from the real base: Python is Debian's
3.11 in /usr (not a source build in /usr/local), pip is Debian's, and the root file
system is minbase rather than the official image's package set. What is proved here is
the Dockerfile itself: its stages, user, volume, HEALTHCHECK, CMD and stop behaviour.
The stand-in is built once per machine and kept (podman image exists) between runs.
"""

import hashlib
import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.conftest import POSTGRESQL_URL, postgresql_admin, with_search_path
from tests.servers import free_port

pytestmark = pytest.mark.container

ROOT = Path(__file__).resolve().parent.parent
BASE_IMAGE = "docker.io/library/python:3.11-slim-bookworm"
# Tagged per checkout: several checkouts on one machine (one engine, one image store) may run this test at
# once, and one must never run another's build. Each checkout's tags keep its build cache for its next run.
CHECKOUT = hashlib.sha256(str(ROOT).encode()).hexdigest()[:10]
IMAGE = f"localhost/reportedly:test-{CHECKOUT}"
BUILDER_IMAGE = f"localhost/reportedly-builder:test-{CHECKOUT}"
# The default crun runtime and the default ulimits are refused on these machines.
PODMAN = ["podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs"]
ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]
# The Dockerfile's gunicorn graceful_timeout is 8 s; podman's default stop period is 10 s.
STOP_SECONDS = 10

if not shutil.which("podman"):
    if os.environ.get("CI"):
        pytest.fail("podman is missing: .ci/run installs it, and CI must not skip the image tests", pytrace=False)
    pytest.skip("podman is not installed (.ci/run installs it)", allow_module_level=True)


def podman(*args, check=True, timeout=600):
    """Run podman with this machine's runtime settings; return the completed process."""
    result = subprocess.run([*PODMAN, *args], capture_output=True, text=True, timeout=timeout)
    if check:
        assert result.returncode == 0, f"podman {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


def debian_mirror():
    """The Debian mirror this machine's apt already uses (deb822 or one-line sources)."""
    for path in sorted(Path("/etc/apt/sources.list.d").glob("*")) + [Path("/etc/apt/sources.list")]:
        if not path.is_file() or path.suffix not in (".sources", ".list"):
            continue
        for line in path.read_text().splitlines():
            words = line.split()
            if path.suffix == ".sources" and line.startswith("URIs:"):
                uri = words[1]
            elif path.suffix == ".list" and words[:1] == ["deb"]:
                uri = next(w for w in words[1:] if not w.startswith("["))
            else:
                continue
            if "security" not in uri:
                return uri
    raise AssertionError("no Debian mirror found in /etc/apt/sources.list.d")


def build_stand_in_base(workdir):
    """Make the stand-in python:3.11-slim-bookworm with debootstrap, unless this machine has it already."""
    if podman("image", "exists", BASE_IMAGE, check=False).returncode == 0:
        return
    root = workdir / "rootfs"
    packages = "python3.11,python3-pip,python3.11-venv,ca-certificates"
    command = ["debootstrap", "--variant=minbase", f"--include={packages}", "bookworm", str(root), debian_mirror()]
    subprocess.run(command, check=True, capture_output=True, timeout=1200)
    (root / "usr/lib/python3.11/EXTERNALLY-MANAGED").unlink(missing_ok=True)
    for name, target in (("python", "/usr/bin/python3.11"), ("pip", "/usr/bin/pip3")):
        link = root / "usr/local/bin" / name
        link.unlink(missing_ok=True)
        link.symlink_to(target)
    # pip reaches the package index through this machine's certificate chain.
    shutil.copy("/etc/ssl/certs/ca-certificates.crt", root / "etc/ssl/certs/ca-certificates.crt")
    tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
    imported = subprocess.run([*PODMAN, "import", "-", BASE_IMAGE], stdin=tar.stdout, capture_output=True, text=True)
    tar.stdout.close()
    assert tar.wait() == 0 and imported.returncode == 0, imported.stderr
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    """The project's Dockerfile built by podman on the stand-in base (docker format keeps HEALTHCHECK)."""
    build_stand_in_base(tmp_path_factory.mktemp("base"))
    build = ["build", "--pull=never", "--network", "host", "--format", "docker", *ULIMITS]
    # The builder stage tagged too, so it stays as the next run's cache while older builds are removed.
    podman(*build, "--target", "builder", "-t", BUILDER_IMAGE, str(ROOT), timeout=1200)
    podman(*build, "-t", IMAGE, str(ROOT), timeout=1200)
    remove_older_builds()
    return IMAGE


def remove_older_builds():
    """Untagged images of earlier runs' builds (this project's labels only); the disk is shared."""
    for title in ("reportedly", "reportedly-builder"):
        older = podman("images", "--quiet", "--filter", "dangling=true",
                       "--filter", f"label=org.opencontainers.image.title={title}").stdout.split()
        if older:
            podman("rmi", *sorted(set(older)), check=False)


class Container:
    """One `podman run -d` of the image; removed (with nothing else) when the test ends."""

    def __init__(self, image, *options, port=None):
        self.name = f"reportedly-test-{uuid.uuid4().hex[:10]}"
        self.port = port
        self.image = image
        self.options = options

    def create(self):
        publish = ["--publish", f"127.0.0.1:{self.port}:8000"] if self.port else []
        podman("create", "--name", self.name, *ULIMITS, *publish, *self.options, self.image)
        return self

    def start(self):
        podman("start", self.name)
        return self.wait_healthy()

    def wait_healthy(self, seconds=60):
        """Until podman's own run of the image's HEALTHCHECK passes."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.state()["Status"] != "running":
                raise AssertionError("the container stopped:\n" + self.logs())
            if podman("healthcheck", "run", self.name, check=False).returncode == 0:
                return self
            time.sleep(0.5)
        raise AssertionError("never healthy:\n" + self.logs())

    def state(self):
        return json.loads(podman("inspect", "--format", "{{json .State}}", self.name).stdout)

    def exec(self, *args):
        return podman("exec", self.name, *args).stdout

    def wait_for_log(self, text, seconds=STOP_SECONDS):
        """Until `text` appears in the container's output."""
        deadline = time.monotonic() + seconds
        while text not in self.logs():
            assert time.monotonic() < deadline, f"{text!r} never logged:\n" + self.logs()
            time.sleep(0.1)

    def logs(self):
        result = podman("logs", self.name, check=False)
        return result.stdout + result.stderr

    def stop(self):
        """SIGTERM, then SIGKILL after the grace period, as `docker stop` does; returns the exit code."""
        podman("stop", "--time", str(STOP_SECONDS), self.name, timeout=STOP_SECONDS + 30)
        return self.state()["ExitCode"]

    def remove(self):
        podman("rm", "--force", "--volumes", "--time", "0", self.name, check=False)


@pytest.fixture
def containers():
    made = []
    yield lambda *args, **kwargs: made.append(Container(*args, **kwargs)) or made[-1]
    for container in made:
        container.remove()


@pytest.fixture
def volume():
    name = f"reportedly-data-{uuid.uuid4().hex[:10]}"
    podman("volume", "create", name)
    yield name
    podman("volume", "rm", "--force", name, check=False)


def slow_post(port, path, token, body):
    """Send a request's headers and half its body; return a function that sends the rest and reads the answer."""
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


def make_token(container):
    """`reportedly keys create` inside the container; the token is the last line printed."""
    return container.exec("reportedly", "keys", "create", "--name", "ops", "--scope", "admin").strip().splitlines()[-1]


def run_verify(container):
    """`reportedly verify` inside the container: every stored field re-derived and matched."""
    assert "ledger verified" in container.exec("reportedly", "verify")


def test_image_serves_as_non_root_keeps_data_and_stops_gracefully(image, containers, volume):
    port = free_port()
    container = containers(image, "--volume", f"{volume}:/data", port=port).create().start()
    base = f"http://127.0.0.1:{port}"
    assert container.exec("id", "-u").strip() == "10001", "exec runs as the image's USER"
    assert container.exec("stat", "-c", "%u", "/proc/1").strip() == "10001", "gunicorn (PID 1) is not root"
    token = make_token(container)
    auth = {"Authorization": f"Bearer {token}"}
    assert requests.get(f"{base}/v1/claims", timeout=10).json()["items"] == [], "seeding must be opt-in"
    created = requests.post(f"{base}/v1/claims", json={"text": "Kim left by train."}, headers=auth, timeout=10)
    assert created.status_code == 201, created.text
    assert created.headers["X-Request-ID"]

    finish = slow_post(port, "/v1/claims", token, {"text": "Sent while the container stops."})
    time.sleep(0.5)  # a worker is now inside the request, reading its body
    stopper = subprocess.Popen([*PODMAN, "stop", "--time", str(STOP_SECONDS), container.name],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    container.wait_for_log("Handling signal: term")  # the master has the SIGTERM and passes it to the workers
    time.sleep(0.5)
    assert container.state()["Status"] in ("running", "stopping"), "the in-flight request holds the container open"
    answer = finish()
    assert answer.startswith("HTTP/1.1 201"), answer
    assert stopper.wait(timeout=STOP_SECONDS + 30) == 0
    state = container.state()
    assert state["ExitCode"] == 0, container.logs()
    assert "Traceback" not in container.logs()

    container.start()
    texts = [c["text"] for c in requests.get(f"{base}/v1/claims", params={"limit": 200}, timeout=10).json()["items"]]
    assert sorted(texts) == ["Kim left by train.", "Sent while the container stops."]
    run_verify(container)
    assert container.stop() == 0


@pytest.mark.skipif(not POSTGRESQL_URL, reason="set REPORTEDLY_TEST_DATABASE_URL to run the image on PostgreSQL")
def test_image_runs_on_the_machines_postgresql(image, containers):
    schema = f"test_{uuid.uuid4().hex[:12]}"
    postgresql_admin(f"CREATE SCHEMA {schema}")
    try:
        port = free_port()
        env = ["--env", f"REPORTEDLY_DATABASE_URL={with_search_path(POSTGRESQL_URL, schema)}",
               "--env", f"REPORTEDLY_BIND=127.0.0.1:{port}", "--env", "REPORTEDLY_SEED=true",
               "--env", "REPORTEDLY_METRICS=true", "--env", "REPORTEDLY_LOG_FORMAT=json"]
        container = containers(image, "--network", "host", *env).create().start()
        claims = requests.get(f"http://127.0.0.1:{port}/v1/claims", params={"limit": 200}, timeout=10).json()
        assert len(claims["items"]) == 19, "the seeds, loaded into PostgreSQL"
        token = make_token(container)
        created = requests.post(f"http://127.0.0.1:{port}/v1/claims", json={"text": "Stored in PostgreSQL."},
                                headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert created.status_code == 201, created.text
        metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        assert 'reportedly_http_requests_total{method="POST",route="/v1/claims",status="201"} 1.0' in metrics
        run_verify(container)
        assert container.stop() == 0
        assert all(json.loads(line)["request_id"] for line in container.logs().splitlines() if line.strip())
        import psycopg

        with psycopg.connect(POSTGRESQL_URL) as connection:
            texts = [row[0] for row in connection.execute(f"SELECT text FROM {schema}.claim")]
        assert "Stored in PostgreSQL." in texts
    finally:
        postgresql_admin(f"DROP SCHEMA {schema} CASCADE")
