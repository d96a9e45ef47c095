"""The Dockerfile without an engine: lint, structure, gunicorn config. tests/test_image.py builds and runs it."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
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
