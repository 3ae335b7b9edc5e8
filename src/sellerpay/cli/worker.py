"""`sellerpay worker`: a Celery worker of the distributed mode, running the tasks of
`sellerpay.jobs.tasks` from RabbitMQ (docs/deploy.md)."""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Annotated

import typer

from sellerpay.cli.runtime import exits_cleanly, open_database, require_current_schema
from sellerpay.errors import InvalidInput
from sellerpay.jobs.tasks import QUEUES
from sellerpay.observability import configure_logging
from sellerpay.settings import get_settings


class Pool(StrEnum):
    """How a worker runs tasks: `prefork` (processes; time limits enforced, a killed process's
    task is delivered again), `threads`, or `solo` (one task at a time in the worker itself)."""

    PREFORK = "prefork"
    THREADS = "threads"
    SOLO = "solo"


def worker_argv(
    queues: list[str], *, concurrency: int, pool: Pool, loglevel: str, hostname: str
) -> list[str]:
    """The arguments of `celery worker` that `sellerpay worker` runs."""
    return [
        "worker",
        f"--queues={','.join(queues)}",
        f"--concurrency={concurrency}",
        f"--pool={pool.value}",
        f"--loglevel={loglevel}",
        f"--hostname={hostname}",
        "--without-gossip",  # workers need not know each other: the database coordinates
        "--without-mingle",
        "--without-heartbeat",
    ]


@exits_cleanly
def worker(
    queues: Annotated[
        list[str] | None,
        typer.Option(
            "--queues",
            "-Q",
            help=f"Queues to take tasks from (repeat the option): {', '.join(QUEUES)}. "
            "Default: all of them.",
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option(min=1, max=64, help="Tasks run at once by this worker.")
    ] = 2,
    pool: Annotated[Pool, typer.Option(help="prefork enforces the hard time limits.")] = (
        Pool.PREFORK
    ),
) -> None:
    """Run tasks from RabbitMQ (SELLERPAY_AMQP_URL) until SIGTERM: finishes the tasks in hand,
    then stops; a task it was killed in the middle of is delivered to another worker.

    Queues: jobs (release, parked events, payout run starts, rescreening), payout-chunks (the
    chunks of a payout run, spread over every worker), bank (submission, status inquiries,
    bank reports), events (outbox relay, webhooks). Run as many workers as you like.
    """
    from sellerpay.jobs.celery_app import create_celery_app, queue_name

    settings = get_settings()
    chosen = queues or list(QUEUES)
    unknown = sorted(set(chosen) - set(QUEUES))
    if unknown:
        raise InvalidInput(
            f"unknown queue {', '.join(unknown)}: the queues are {', '.join(QUEUES)}",
            code="unknown_queue",
        )
    configure_logging(settings)
    db = open_database()
    try:
        require_current_schema(db)
    finally:
        db.dispose()
    app = create_celery_app(settings)
    app.worker_main(
        worker_argv(
            [queue_name(settings, q) for q in chosen],
            concurrency=concurrency,
            pool=pool,
            loglevel=settings.log_level.upper(),
            hostname=f"sellerpay-{os.getpid()}@%h",
        )
    )


if __name__ == "__main__":  # `python -m sellerpay.cli.worker`: the same command, on its own
    typer.run(worker)
