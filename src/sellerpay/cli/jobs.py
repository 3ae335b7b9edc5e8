"""`sellerpay jobs …`: run a job of money in now (release due funds, retry parked events), or
the in-process scheduler that runs them periodically (embedded mode)."""

from __future__ import annotations

import signal
import threading
from collections import Counter
from types import FrameType
from typing import Annotated, Final

import typer
from rich.table import Table

from sellerpay.cli.runtime import (
    console,
    exits_cleanly,
    open_database,
    progress_bar,
    system_clock,
)
from sellerpay.jobs.scheduler import run_scheduler
from sellerpay.settlement.service import due_order_count, release_due_funds, retry_parked

rows_shown_max: Final = 20

app = typer.Typer(help="Background jobs: fund release, parked event retries.", no_args_is_help=True)
run_app = typer.Typer(help="Run one job now, once.", no_args_is_help=True)
app.add_typer(run_app, name="run")


@run_app.command("release")
@exits_cleanly
def release(
    limit: Annotated[
        int, typer.Option(min=1, max=10_000_000, help="Release at most this many orders.")
    ] = 1_000_000,
) -> None:
    """Release the funds of every order due by now: pending → available, once per order.

    Safe to run twice, or at the same time as another run: no order is released twice.
    """
    db, clock = open_database(), system_clock()
    due = min(due_order_count(db, clock=clock), limit)
    with progress_bar() as progress:
        task = progress.add_task("releasing due funds", total=due)
        report = release_due_funds(
            db, clock=clock, limit=limit, on_progress=lambda n: progress.update(task, advance=n)
        )
    if not report.released:
        console.print("nothing was due: no funds released")
        return
    totals = Table("currency", "orders", "released")
    orders_by_currency = Counter(order.amount.currency for order in report.released)
    for currency, total in sorted(report.totals().items()):
        totals.add_row(currency, f"{orders_by_currency[currency]:,}", total.format("en_US"))
    console.print(totals)
    shown = Table("order", "seller", "released", title="released orders")
    for order in report.released[:rows_shown_max]:
        shown.add_row(order.order_id, order.seller_id, order.amount.format("en_US"))
    console.print(shown)
    more = len(report.released) - rows_shown_max
    if more > 0:
        console.print(f"… and {more:,} more")
    console.print(f"[green]released the funds of {len(report.released):,} orders[/]")


@run_app.command("retry-parked")
@exits_cleanly
def retry_parked_events() -> None:
    """Retry every parked event whose dependency now exists (order, seller, dispute, plan)."""
    db, clock = open_database(), system_clock()
    with console.status("retrying parked events"):
        results = retry_parked(db, clock=clock)
    if not results:
        console.print("no parked event could be retried: nothing they wait for exists yet")
        return
    by_status = Counter(result.status.value for result in results)
    console.print(", ".join(f"{count:,} {status}" for status, count in sorted(by_status.items())))
    shown = Table("event", "status", "reason", "waiting for")
    for result in results[:rows_shown_max]:
        shown.add_row(
            result.event_id or "-",
            result.status.value,
            result.reason_code or "",
            result.waiting_for or "",
        )
    console.print(shown)


@app.command("scheduler")
@exits_cleanly
def scheduler(
    interval: Annotated[
        float, typer.Option(min=1.0, max=86_400.0, help="Seconds between rounds.")
    ] = 60.0,
) -> None:
    """Run the jobs every INTERVAL seconds until SIGINT or SIGTERM (embedded mode)."""
    stop_event = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        stop_event.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    console.print(f"scheduler running every {interval:g} s; Ctrl-C stops it")
    rounds = run_scheduler(open_database(), system_clock(), stop_event, interval)
    console.print(f"scheduler stopped after {rounds:,} rounds")
