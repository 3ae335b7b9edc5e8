"""`sellerpay db …`: create or upgrade the schema, and show where it stands."""

from __future__ import annotations

import typer

from sellerpay.cli.runtime import console, exits_cleanly, open_database
from sellerpay.db.migrate import current_revision, head_revision, upgrade

app = typer.Typer(help="The database schema (Alembic migrations).", no_args_is_help=True)


@app.command("upgrade")
@exits_cleanly
def upgrade_command() -> None:
    """Create the schema or bring it up to the newest migration (safe to run again)."""
    db = open_database()
    before = current_revision(db)
    upgrade(db)
    after = current_revision(db)
    console.print(f"{db!r}: schema at [bold]{after}[/] (was {before or 'empty'})")


@app.command("status")
@exits_cleanly
def status_command() -> None:
    """Show the schema's revision and whether migrations are pending (exit 1 if so)."""
    db = open_database()
    current, head = current_revision(db), head_revision()
    console.print(f"{db!r}: at {current or 'empty'}, newest is {head}")
    if current != head:
        raise typer.Exit(1)
