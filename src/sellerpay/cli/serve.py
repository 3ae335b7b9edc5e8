"""`sellerpay serve`: run the HTTP API with uvicorn (OpenAPI docs at /docs)."""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from sellerpay.cli.runtime import (
    console,
    exits_cleanly,
    open_database,
    require_current_schema,
    system_clock,
)
from sellerpay.events.service import run_event_loop
from sellerpay.jobs.scheduler import start_scheduler
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
            help="Embedded mode: also run the jobs (fund release, parked events) and the events "
            "loop (outbox relay, webhook deliveries) in background threads. Turn off when "
            "separate processes run them (distributed mode).",
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
    stops: list[threading.Event] = []
    if workers:
        _, scheduler_stop = start_scheduler(db, clock, interval_s=interval_s)
        events_stop = threading.Event()
        threading.Thread(
            target=run_event_loop,
            args=(db, clock, events_stop, interval_s),
            name="sellerpay-events",
            daemon=True,
        ).start()
        stops += [scheduler_stop, events_stop]
    console.print(
        f"Sellerpay API on http://{host}:{port} (docs: http://{host}:{port}/docs)"
        + ("; embedded workers: release, parked events, outbox relay, webhooks" if workers else "")
    )
    try:
        uvicorn.run(
            create_app(db=db), host=host, port=port, log_level=get_settings().log_level.lower()
        )
    finally:
        for stop in stops:
            stop.set()
        db.dispose()
