"""The `reportedly` command: serve, migrate, seed, keys, verify, openapi, backup, restore, import, export."""

import contextlib
import json
import os
import sys
from pathlib import Path

import click

from .config import load_config
from .db import close_all, init_database
from .migrations import migrate as apply_migrations
from .models import SCOPES, Token

SCHEMA_PATH = Path("schema/openapi.json")
# Differences `reportedly verify` prints before it only counts them.
MAX_REPORTED = 50


@contextlib.contextmanager
def connected():
    """The configured database, connected for one command."""
    database = init_database(load_config())
    database.connect()
    try:
        yield database
    finally:
        close_all(database)


class Commands(click.Group):
    """The command group, the CLI's one edge: a domain error from any command is a message and exit status 1."""

    def invoke(self, ctx):
        from .errors import Invalid, LedgerError

        try:
            return super().invoke(ctx)
        except LedgerError as error:
            raise click.ClickException(error.reason if isinstance(error, Invalid) else error.detail) from None


@click.group(cls=Commands)
def main():
    """reportedly: what is confirmed, and what is only reported."""


@main.command()
def serve():
    """Serve the API with gunicorn (migrating first), configured by REPORTEDLY_* variables."""
    os.execv(sys.executable, [sys.executable, "-m", "gunicorn", "--config", "python:service.gunicorn_conf", "service.wsgi:app"])


@main.command()
def migrate():
    """Create or upgrade the database schema."""
    with connected():
        version = apply_migrations()
    click.echo(f"schema at version {version}")


@main.command()
@click.argument("path", default="seeds", type=click.Path(exists=True, path_type=Path))
def seed(path):
    """Load the example ledger from PATH (a seed file or folder); loading twice changes nothing."""
    from .seeding import load_seeds

    with connected():
        counts = load_seeds(path)
    click.echo(", ".join(f"{n} {kind} added" for kind, n in counts.items()))


@main.group()
def keys():
    """Create, list and revoke bearer tokens."""


@keys.command("create")
@click.option("--name", required=True, help="A unique name for the token.")
@click.option("--scope", required=True, type=click.Choice(SCOPES), help="read < write < admin.")
def keys_create(name, scope):
    """Create a token; it is printed once, alone on the last line."""
    from . import auth  # here, not at the top: it brings Flask, which no other command needs

    with connected():
        try:
            token = auth.create_token(name, scope)
        except ValueError as error:
            raise click.ClickException(str(error)) from None
    click.echo(f"created {scope} token {name!r}; it is shown only now:", err=True)
    click.echo(token)


@keys.command("list")
def keys_list():
    """List tokens (never their secrets)."""
    with connected():
        for token in Token.select().order_by(Token.created_at):
            state = f"revoked {token.revoked_at.isoformat()}" if token.revoked_at else "active"
            click.echo(f"{token.name}\t{token.scope}\t{token.created_at.isoformat()}\t{state}")


@keys.command("revoke")
@click.argument("name")
def keys_revoke(name):
    """Revoke the token called NAME."""
    from . import auth  # here, not at the top: it brings Flask, which no other command needs

    with connected():
        if not auth.revoke_token(name):
            raise click.ClickException(f"no active token named {name!r}")
    click.echo(f"revoked {name!r}")


@main.command()
def verify():
    """Re-derive every claim and check stored fields, history, timelines and counts; exit 1 on a difference."""
    from .verify import claims_count, verify_ledger

    with connected():
        with click.progressbar(length=claims_count(), label="verifying claims", file=sys.stderr) as bar:
            seen = [0]

            def progress(done):
                bar.update(done - seen[0])
                seen[0] = done

            differences = verify_ledger(progress)
    for difference in differences[:MAX_REPORTED]:
        click.echo(difference)
    if differences:
        more = f" ({len(differences) - MAX_REPORTED} more not shown)" if len(differences) > MAX_REPORTED else ""
        raise click.ClickException(f"{len(differences)} differences between stored and derived{more}")
    click.echo("ledger verified: every stored field, history entry, timeline and count matches its inputs")


@main.command()
@click.option("--output", default=str(SCHEMA_PATH), help="Where to write the document; - for stdout.")
def openapi(output):
    """Write the OpenAPI document generated from the code."""
    text = openapi_text()
    if output == "-":
        sys.stdout.write(text)
    else:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(text)
        click.echo(f"wrote {output}")


def openapi_text():
    """The OpenAPI document as stable, pretty JSON."""
    from .app import create_app

    app = create_app(with_database=False)
    with app.app_context():
        document = app.extensions["reportedly.api"].spec.to_dict()
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup(path):
    """Write a consistent copy of the live SQLite ledger to PATH, while it serves (PostgreSQL: use pg_dump)."""
    from .backup import backup_database

    counts = backup_database(load_config()["DATABASE_URL"], path)
    click.echo(f"backed up to {path}: " + describe_counts(counts))


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore(path):
    """Restore a backup made by `reportedly backup` into the configured SQLite database, which must be empty."""
    from .backup import restore_database

    counts = restore_database(load_config()["DATABASE_URL"], path)
    click.echo(f"restored from {path}: " + describe_counts(counts))


def describe_counts(counts):
    """'12 claim, 3 source, ...' for the tables that hold rows."""
    return ", ".join(f"{n} {table}" for table, n in counts.items() if n) or "no rows"


@main.command("import")
@click.argument("file", type=click.File("rb"))
@click.option("--dry-run", is_flag=True, help="Validate every line, write nothing.")
@click.option("--batch-size", default=10_000, show_default=True, type=click.IntRange(1, 1_000_000),
              help="Lines per all-or-nothing batch.")
def import_command(file, dry_run, batch_size):
    """Import JSON Lines of sources, documents and claims from FILE (- for standard input)."""
    from .bulk import import_ndjson

    with connected(), import_progress(file) as progress:
        report = import_ndjson(file, batch_size=batch_size, dry_run=dry_run,
                               origin=f"cli:{getattr(file, 'name', '-')}"[:200], progress=progress)
    click.echo(json.dumps(report, default=lambda moment: moment.isoformat(), indent=2))
    if report["errors"]:
        raise SystemExit(1)


@contextlib.contextmanager
def import_progress(file):
    """A progress callback: a bar on a terminal, a plain line per batch otherwise."""
    if not sys.stderr.isatty():
        yield lambda report: click.echo(
            f"import: {report['lines']} lines, {report['counts']['claims']} claims written", err=True)
        return
    from tqdm import tqdm

    total = os.fstat(file.fileno()).st_size if file.seekable() else None
    with tqdm(total=total, unit="B", unit_scale=True, desc="import", file=sys.stderr) as bar:
        yield lambda report: (bar.update(file.tell() - bar.n) if total else bar.update(0),
                              bar.set_postfix(claims=report["counts"]["claims"]))


@main.command("export")
@click.argument("file", type=click.File("w", encoding="utf-8", lazy=True))
@click.option("--as-of", help="Export the ledger as it stood at this RFC 3339 time (JSON Lines only).")
@click.option("--format", "format_name", default="ndjson", show_default=True,
              type=click.Choice(["ndjson", "prov-json", "provn", "prov-jsonld", "turtle"]),
              help="JSON Lines that import back, or the whole ledger as one W3C PROV document.")
def export_command(file, as_of, format_name):
    """Export sources, documents and claims to FILE (- for standard output): JSON Lines, or W3C PROV."""
    if format_name != "ndjson":
        if as_of is not None:
            raise click.BadParameter("goes with --format ndjson only", param_hint="--as-of")
        export_provenance(file, format_name)
        return
    from marshmallow import ValidationError

    from .export import export_ndjson
    from .fields import AwareTime

    moment = None
    if as_of is not None:
        try:
            moment = AwareTime().deserialize(as_of)
        except ValidationError:
            raise click.BadParameter("must be an RFC 3339 time with an offset", param_hint="--as-of") from None
    with connected():
        count = export_ndjson(file, moment)
    click.echo(f"export: {count} lines", err=True)


def export_provenance(file, format_name):
    """The whole ledger as one W3C PROV document (built in memory: prov serialises whole documents)."""
    from .formats.provenance import serialize
    from .interchange import ledger_provenance

    with connected():
        file.write(serialize(ledger_provenance(load_config()), format_name))
    click.echo(f"export: the ledger as {format_name}", err=True)
