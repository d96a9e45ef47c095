"""The `reportedly` command: serve, migrate, seed, keys, openapi."""

import contextlib
import json
import os
import sys
from pathlib import Path

import click

from . import auth
from .config import load_config
from .db import close_all, init_database
from .migrations import migrate as apply_migrations
from .models import Token

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


@click.group()
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
@click.option("--scope", required=True, type=click.Choice(auth.SCOPES), help="read < write < admin.")
def keys_create(name, scope):
    """Create a token; it is printed once, alone on the last line."""
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
    from . import create_app

    app = create_app(with_database=False)
    with app.app_context():
        document = app.extensions["reportedly.api"].spec.to_dict()
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
