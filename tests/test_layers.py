"""The edge stays where it is: the domain imports nothing of HTTP, so the CLI, importer, jobs and pages reuse it."""

import ast
from pathlib import Path

import pytest

SERVICE = Path(__file__).resolve().parent.parent / "service"
# The ledger's own modules: rules, reads, writes, time, jobs, checks. They raise service.errors, never HTTP.
DOMAIN = ("rules", "facts", "ledger", "creation", "derived", "sql", "reads", "progress", "filters", "rebuild",
          "metrics", "queries", "timeline", "jobs", "verify", "search", "models", "errors", "identifiers", "clock", "db",
          "idempotency", "tally", "world_tally", "interchange")
# The HTTP layer, in our package and outside it.
HTTP = ("service.api", "service.schemas", "service.fields", "service.problems", "service.auth",
        "service.ratelimit", "service.web", "flask", "flask_smorest", "webargs", "werkzeug", "marshmallow")


def imported_modules(source):
    """Every module a piece of source imports, relative imports resolved against the service package."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "service" if node.level else ""
            module = ".".join(part for part in (base, node.module) if part)
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def domain_files():
    # The interchange formats are pure too: service/formats/ imports neither HTTP nor the database.
    return [SERVICE / f"{name}.py" for name in DOMAIN if (SERVICE / f"{name}.py").exists()] + sorted(
        (SERVICE / "formats").glob("*.py"))


@pytest.mark.parametrize("path", domain_files(), ids=lambda p: p.stem)
def test_the_domain_imports_nothing_of_http(path):
    leaks = sorted(m for m in set(imported_modules(path.read_text())) if m.startswith(HTTP))
    assert leaks == [], f"{path.name} imports the HTTP layer: {leaks}"


def test_the_check_sees_a_leak():
    """The walker itself: relative and absolute imports of the HTTP layer are caught."""
    found = set(imported_modules("from .problems import Problem\nimport flask\nfrom . import errors\n"))
    assert {m for m in found if m.startswith(HTTP)} == {"service.problems", "service.problems.Problem", "flask"}
