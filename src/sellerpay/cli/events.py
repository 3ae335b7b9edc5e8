"""`sellerpay events …`: relay the outbox, deliver webhooks, or both in one process.

    sellerpay events relay   [--once] [--amqp]   outbox → deliveries (+ RabbitMQ with --amqp)
    sellerpay events deliver [--once]            due deliveries → signed POSTs to endpoints
    sellerpay events run     [--amqp]            both, in one process (embedded mode)

Without `--once` a command runs until SIGTERM or Ctrl-C, then finishes its pass and exits.
Several relays and deliverers may run at once on PostgreSQL (they claim rows with SKIP LOCKED).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Annotated, Final

import httpx
import typer

from sellerpay.cli.runtime import console, exits_cleanly, open_database, system_clock
from sellerpay.events.service import (
    USER_AGENT,
    EventPublisher,
    deliver_due,
    delivery_batch_size_max,
    relay_batch_size_max,
    relay_outbox,
    run_event_loop,
)
from sellerpay.settings import get_settings

app = typer.Typer(help="Events out: the outbox relay and webhook deliveries.", no_args_is_help=True)

interval_s_max: Final = 3600.0
OnceOption = Annotated[
    bool, typer.Option("--once", help="Drain what is due now, then exit (for cron and tests).")
]
IntervalOption = Annotated[
    float,
    typer.Option(min=0.05, max=interval_s_max, help="Seconds between passes when idle."),
]
AmqpOption = Annotated[
    bool,
    typer.Option(
        "--amqp/--no-amqp",
        help="Also publish every event to RabbitMQ (topic exchange sellerpay.events, routing "
        "key = event type, publisher confirms): distributed mode.",
    ),
]
AmqpUrlOption = Annotated[
    str | None,
    typer.Option(
        "--amqp-url", help="Broker URL (default: SELLERPAY_AMQP_URL).", show_default=False
    ),
]


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGTERM or SIGINT, so a loop finishes its pass and exits cleanly."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        console.print(f"received {signal.Signals(signum).name}: finishing the current pass")
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def _publisher(amqp: bool, amqp_url: str | None) -> Iterator[EventPublisher | None]:
    if not amqp:
        yield None
        return
    from sellerpay.events.broker import AmqpPublisher  # only distributed mode needs pika

    publisher = AmqpPublisher(amqp_url or get_settings().amqp_url)
    try:
        yield publisher
    finally:
        publisher.close()


@app.command("relay")
@exits_cleanly
def relay(
    once: OnceOption = False,
    amqp: AmqpOption = False,
    amqp_url: AmqpUrlOption = None,
    batch_size: Annotated[
        int, typer.Option(min=1, max=relay_batch_size_max, help="Events per unit of work.")
    ] = 100,
    interval_s: IntervalOption = 1.0,
) -> None:
    """Relay recorded events: one delivery per subscribed webhook endpoint, and the broker."""
    db, clock = open_database(), system_clock()
    relayed = 0
    with _publisher(amqp, amqp_url) as publisher, _stop_on_signals() as stop:
        while not stop.is_set():
            count = relay_outbox(db, clock=clock, batch_size=batch_size, publisher=publisher)
            relayed += count
            if count < batch_size:
                if once:
                    break
                stop.wait(interval_s)
    console.print(f"relayed {relayed} event(s)")


@app.command("deliver")
@exits_cleanly
def deliver(
    once: OnceOption = False,
    limit: Annotated[
        int, typer.Option(min=1, max=delivery_batch_size_max, help="Deliveries per pass.")
    ] = 50,
    interval_s: IntervalOption = 1.0,
) -> None:
    """Post due webhook deliveries, signed; log each attempt and schedule retries."""
    db, clock = open_database(), system_clock()
    totals = {"succeeded": 0, "retrying": 0, "failed": 0}
    with (
        httpx.Client(headers={"User-Agent": USER_AGENT}) as http,
        _stop_on_signals() as stop,
    ):
        while not stop.is_set():
            report = deliver_due(db, clock=clock, http=http, limit=limit)
            totals["succeeded"] += report.succeeded
            totals["retrying"] += report.retrying
            totals["failed"] += report.failed
            if report.claimed < limit:
                if once:
                    break
                stop.wait(interval_s)
    console.print(
        f"{totals['succeeded']} delivered, {totals['retrying']} to retry later, "
        f"{totals['failed']} failed for good"
    )


@app.command("run")
@exits_cleanly
def run(
    amqp: AmqpOption = False,
    amqp_url: AmqpUrlOption = None,
    interval_s: IntervalOption = 1.0,
) -> None:
    """Relay and deliver in one process until stopped (embedded mode's events worker)."""
    db, clock = open_database(), system_clock()
    with _publisher(amqp, amqp_url) as publisher, _stop_on_signals() as stop:
        console.print("relaying events and delivering webhooks; Ctrl-C to stop")
        run_event_loop(db, clock, stop, interval_s, publisher=publisher)
    console.print("stopped")
