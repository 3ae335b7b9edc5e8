"""`sellerpay serve`: run the HTTP API with uvicorn (OpenAPI docs at /docs)."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from sellerpay.cli.runtime import console, err_console, exits_cleanly, open_database
from sellerpay.db.migrate import current_revision, head_revision
from sellerpay.errors import Unavailable
from sellerpay.settings import get_settings


@exits_cleanly
def serve(
    host: Annotated[
        str, typer.Option(help="Interface to listen on; 0.0.0.0 to accept remote clients.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port to listen on.")] = 8000,
) -> None:
    """Serve the HTTP API until interrupted; the database schema must be up to date."""
    import uvicorn  # only this command needs the server

    from sellerpay.api import create_app

    db = open_database()
    try:
        revision = current_revision(db)
    except SQLAlchemyError as error:
        raise Unavailable(
            f"cannot read the database: {error}", code="database_unavailable"
        ) from error
    if revision != head_revision():
        err_console.print(
            f"[red]error[/] the database schema is at {revision or 'nothing'}, not "
            f"{head_revision()}: run `sellerpay db upgrade` first",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(2)
    console.print(f"Sellerpay API on http://{host}:{port} (docs: http://{host}:{port}/docs)")
    try:
        uvicorn.run(
            create_app(db=db), host=host, port=port, log_level=get_settings().log_level.lower()
        )
    finally:
        db.dispose()
