"""`sellerpay beat`: Celery beat of the distributed mode, sending each periodic task of
`sellerpay.jobs.tasks` to RabbitMQ at its period; or, with `--send-now`, one task once."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import kombu.exceptions
import typer

from sellerpay.cli.runtime import console, exits_cleanly
from sellerpay.errors import InvalidInput, Unavailable
from sellerpay.jobs.tasks import TASKS
from sellerpay.observability import configure_logging
from sellerpay.settings import get_settings


@exits_cleanly
def beat(
    schedule_file: Annotated[
        Path,
        typer.Option(
            help="Where beat remembers when it last sent each task (losing it only makes "
            "each task run once early: every task is idempotent).",
        ),
    ] = Path(tempfile.gettempdir()) / "sellerpay-beat-schedule",
    send_now: Annotated[
        str | None,
        typer.Option(
            help=f"Send this task once now and exit, instead of running the schedule: "
            f"{', '.join(n for n, s in TASKS.items() if s.period_s is not None)}.",
        ),
    ] = None,
    run_on: Annotated[
        str | None,
        typer.Option(help="With --send-now payout-run: the day of the run (YYYY-MM-DD)."),
    ] = None,
) -> None:
    """Send the periodic tasks on schedule until SIGTERM. Run one beat; a second one is safe
    (every scheduled task runs under a lease, so it never runs twice at once), only wasteful."""
    from sellerpay.jobs.celery_app import create_celery_app, send

    settings = get_settings()
    app = create_celery_app(settings)
    if send_now is not None:
        params = _params(send_now, run_on)
        try:
            send(app, send_now, params)
        except kombu.exceptions.OperationalError as error:
            raise Unavailable(
                f"RabbitMQ unavailable: {error}", code="broker_unavailable"
            ) from error
        console.print(f"sent {send_now} {params or ''}".rstrip())
        return
    configure_logging(settings)
    app.start(
        [
            "beat",
            f"--schedule={schedule_file}",
            f"--loglevel={settings.log_level.upper()}",
        ]
    )


def _params(name: str, run_on: str | None) -> dict[str, Any]:
    periodic = [n for n, spec in TASKS.items() if spec.period_s is not None]
    if name not in periodic:
        raise InvalidInput(
            f"unknown task {name}: one of {', '.join(periodic)}", code="unknown_task"
        )
    if run_on is None:
        return {}
    if name != "payout-run":
        raise InvalidInput("--run-on goes with --send-now payout-run", code="run_on_unexpected")
    try:
        return {"run_on": date.fromisoformat(run_on).isoformat()}
    except ValueError as error:
        raise InvalidInput(
            f"--run-on is a day as YYYY-MM-DD, not {run_on!r}", code="invalid_date"
        ) from error
