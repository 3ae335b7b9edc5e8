"""`sellerpay consume`: the RabbitMQ door in, handing marketplace events to the one handler."""

from __future__ import annotations

import functools
import json
import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Annotated

import typer

from sellerpay.cli.runtime import (
    console,
    exits_cleanly,
    open_database,
    require_current_schema,
    system_clock,
)
from sellerpay.events.broker import (
    MARKETPLACE_EXCHANGE,
    MARKETPLACE_QUEUE,
    ConsumerConfig,
    ConsumerReport,
    MarketplaceConsumer,
    MarketplaceTopology,
    batch_size_max,
    batch_wait_ms_max,
    prefetch_max,
    redact_url,
)
from sellerpay.settings import get_settings


@exits_cleanly
def consume(
    amqp_url: Annotated[
        str | None,
        typer.Option(
            "--amqp-url",
            help="RabbitMQ URL (default: SELLERPAY_AMQP_URL, else amqp://guest:guest@127.0.0.1).",
        ),
    ] = None,
    prefetch: Annotated[
        int,
        typer.Option(min=1, max=prefetch_max, help="Unacknowledged messages held at most."),
    ] = 200,
    batch_size: Annotated[
        int,
        typer.Option(
            min=1, max=batch_size_max, help="Events handed to the handler at once (≤ prefetch)."
        ),
    ] = 100,
    batch_wait_ms: Annotated[
        int,
        typer.Option(
            min=0, max=batch_wait_ms_max, help="Longest wait for a batch to fill after its first."
        ),
    ] = 50,
    queue: Annotated[
        str, typer.Option(help="Queue to consume; the dead-letter queue is QUEUE.dead.")
    ] = MARKETPLACE_QUEUE,
    exchange: Annotated[
        str, typer.Option(help="Topic exchange the marketplace publishes to, bound to QUEUE.")
    ] = MARKETPLACE_EXCHANGE,
) -> None:
    """Consume marketplace events from RabbitMQ until SIGTERM or Ctrl-C (docs/rabbitmq.md).

    Each batch goes to the handler of the HTTP door and is acknowledged once stored; a message
    that is not JSON or has no event id goes to the dead-letter queue with its reason; while
    the database is down, batches go back to the queue after a backoff. Declares the exchange
    and queues if they are missing. Exit codes: 0 stopped by a signal, 2 bad option or topology
    conflict, 3 broker or database unavailable.
    """
    from sellerpay.settlement.service import ingest_events  # the consumer's one handler

    logging.getLogger("pika").setLevel(logging.CRITICAL)  # its failures reach us as errors

    config = ConsumerConfig(
        amqp_url or get_settings().amqp_url,
        topology=MarketplaceTopology(exchange=exchange, queue=queue),
        prefetch=prefetch,
        batch_size=batch_size,
        batch_wait_ms=batch_wait_ms,
    )
    db = open_database()
    try:
        require_current_schema(db)
        clock = system_clock()
        stop = threading.Event()
        consumer = MarketplaceConsumer(
            config,
            handler=functools.partial(ingest_events, db, source="amqp", clock=clock),
            clock=clock,
            stop=stop,
        )
        console.print(
            f"sellerpay consume: {queue} on {redact_url(config.amqp_url)} (prefetch {prefetch}, "
            f"batches of {batch_size} or {batch_wait_ms} ms); SIGTERM or Ctrl-C stops it",
            highlight=False,
            soft_wrap=True,
        )
        with _stop_on_signals(stop):
            report = consumer.run()
    finally:
        db.dispose()
    console.print(_summary(report), highlight=False, soft_wrap=True)


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM or SIGINT: finish the batch in hand, acknowledge it, close. A second signal
    stops at once (what was not acknowledged goes back to the queue)."""

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        # os.write, not print: a signal may land while the console is writing
        os.write(2, f"{signal.Signals(signum).name}: stopping after this batch\n".encode())
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _summary(report: ConsumerReport) -> str:
    return "stopped: " + json.dumps(report.as_dict())


if __name__ == "__main__":  # `python -m sellerpay.cli.consume`, as `sellerpay consume`
    typer.run(consume)
