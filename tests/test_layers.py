"""The edge stays where it is: the domain imports nothing of HTTP, so the CLI, importer, jobs and pages reuse it.

Every module of the service package is the domain unless it is named an edge below, so a module
added later is checked without anyone remembering to list it; a domain module may import neither
the HTTP layer nor an edge (through an edge it would reach HTTP all the same).
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SERVICE = Path(__file__).resolve().parent.parent / "service"
# The HTTP layer, in our package and outside it.
HTTP = ("service.api", "service.schemas", "service.fields", "service.problems", "service.auth",
        "service.ratelimit", "service.web", "flask", "flask_smorest", "webargs", "werkzeug", "marshmallow")
# The edges: the HTTP layer, the app and process around it, the CLI, and the readers of outside input that
# validate with the API's own schemas (bulk import and its fast claim reader, seed files).
EDGES = HTTP[:7] + ("service.app", "service.observability", "service.http_headers", "service.context_proxies",
                    "service.workers", "service.gunicorn_conf", "service.healthcheck", "service.wsgi", "service.cli",
                    "service.bulk", "service.bulk_lines", "service.claim_lines", "service.seeding")


def module_name(path):
    """service/api/claims.py -> service.api.claims; a package's __init__.py is the package."""
    parts = path.relative_to(SERVICE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_of(path):
    """The package a module's relative imports start from: its own name for an __init__.py."""
    name = module_name(path)
    return name if path.name == "__init__.py" else name.rsplit(".", 1)[0]


def imported_modules(source, package="service"):
    """Every module a piece of source imports (and each name it takes from one, which may be a module),
    relative imports resolved against the package of the module that holds the source."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]) if node.level else ""
            module = ".".join(part for part in (base, node.module) if part)
            if node.module:  # `from . import x` imports x, not the package's __init__
                yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def is_under(name, prefixes):
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def all_modules():
    return {module_name(path): path for path in sorted(SERVICE.rglob("*.py"))}


def domain_modules():
    return {name: path for name, path in all_modules().items() if not is_under(name, EDGES)}


@pytest.mark.parametrize("name", sorted(domain_modules()))
def test_the_domain_imports_nothing_of_http(name):
    path = domain_modules()[name]
    leaks = sorted(m for m in set(imported_modules(path.read_text(), package_of(path))) if is_under(m, EDGES + HTTP))
    assert leaks == [], f"{name} imports the HTTP layer or an edge: {leaks}"


def test_the_domain_is_what_the_ledger_is_made_of():
    """Nothing stale among the edges, and the modules named in the issue are checked as domain."""
    names = all_modules()
    assert [edge for edge in EDGES if edge.startswith("service.") and edge not in names] == []
    assert {"service.ledger", "service.queries", "service.facts", "service.jobs", "service.verify",
            "service.errors", "service.backup", "service.export", "service.idempotency", "service.db",
            "service.formats.provenance", "service.migrations"} <= set(domain_modules())


def test_the_cli_and_the_importer_start_without_the_web_stack():
    """`reportedly`, its import and its jobs load no Flask: the package's __init__ builds nothing, the app factory
    lives in service.app, and the CLI loads service.auth only in the commands that need it (start 0.7 -> 0.2 s)."""
    probe = "import sys, service.cli, service.bulk, service.jobs; print(' '.join(sorted(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert [m for m in loaded if m.split(".")[0] in ("flask", "flask_smorest", "werkzeug", "webargs")] == []
    assert "service.cli" in loaded and "service.bulk" in loaded


def test_the_check_sees_a_leak():
    """The walker itself: relative and absolute imports of the HTTP layer are caught, at any package depth."""
    found = set(imported_modules("from .problems import Problem\nimport flask\nfrom . import errors\n"))
    assert {m for m in found if is_under(m, HTTP)} == {"service.problems", "service.problems.Problem", "flask"}
    nested = set(imported_modules("from .. import schemas\nfrom .attribution_line import x\n",
                                  "service.formats"))
    assert nested == {"service.schemas", "service.formats.attribution_line", "service.formats.attribution_line.x"}
    assert is_under("service.bulk.import_ndjson", EDGES) and not is_under("service.bulky", EDGES)
