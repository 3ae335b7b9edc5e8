"""`sellerpay serve`: run the HTTP API with uvicorn (OpenAPI docs at /docs)."""

from __future__ import annotations

from typing import Annotated

import typer

from sellerpay.cli.runtime import (
    console,
    exits_cleanly,
    open_database,
    require_current_schema,
    system_clock,
)
from sellerpay.jobs.embedded import EmbeddedWorkers
from sellerpay.settings import get_settings


@exits_cleanly
def serve(
    host: Annotated[
        str, typer.Option(help="Interface to listen on; 0.0.0.0 to accept remote clients.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port to listen on.")] = 8000,
    workers: Annotated[
        bool,
        typer.Option(
            help="Embedded mode: also run every job (release, parked events, payout runs, bank "
            "submission and reports, outbox relay, webhooks, rescreening) in background "
            "threads. Turn off when Celery workers run them (distributed mode).",
        ),
    ] = True,
    interval_s: Annotated[
        float, typer.Option(min=0.1, max=3600, help="Seconds between rounds of the workers.")
    ] = 5.0,
) -> None:
    """Serve the HTTP API until interrupted; the database schema must be up to date."""
    import uvicorn  # only this command needs the server

    from sellerpay.api import create_app

    db = open_database()
    require_current_schema(db)
    clock = system_clock()
    settings = get_settings()
    embedded = EmbeddedWorkers(db, clock, settings) if workers else None
    if embedded is not None:  # the same task functions the Celery workers run (jobs/tasks.py)
        embedded.start(interval_s=interval_s)
    console.print(
        f"Sellerpay API on http://{host}:{port} (docs: http://{host}:{port}/docs)"
        + (
            f"; embedded workers: {', '.join(spec.name for spec in embedded.periodic)}"
            if embedded is not None
            else ""
        )
    )
    if embedded is not None and not settings.bank_url:
        console.print("no SELLERPAY_BANK_URL: payouts are decided but not sent to a bank")
    try:
        uvicorn.run(create_app(db=db), host=host, port=port, log_level=settings.log_level.lower())
    finally:
        if embedded is not None:
            embedded.stop()
        db.dispose()
