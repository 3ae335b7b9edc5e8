"""`sellerpay demo` (what `make demo` runs): a month of a marketplace in embedded mode — sellers
onboarded and screened, orders and refunds coming in, payouts going out to a simulated bank
with its faults, reports and statements coming back — the bank files written to `demo-out/`,
a summary of what was paid, returned, parked and blocked, every invariant checked; then the
API served with sample keys until Ctrl-C.

The database is a SQLite file in a temporary folder, in memory-backed storage when the system
has it (/dev/shm): the demo's data is thrown away when it ends, and a RAM disk spares the
hundred thousand commits of the month their disk flushes. `demo-out/` keeps the files.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated, Final

import typer
from rich.markup import escape
from rich.table import Table

from sellerpay.access.rules import Role
from sellerpay.access.service import create_api_key
from sellerpay.bankaccounts.service import configured_keyring
from sellerpay.cli.runtime import console, exits_cleanly, progress_bar
from sellerpay.cli.simulate import (
    Faults,
    print_replay,
    print_summary,
    quiet_logs,
    ram_disk,
    write_summary,
)
from sellerpay.clock import SystemClock
from sellerpay.db import Database
from sellerpay.db.migrate import upgrade
from sellerpay.money import Money
from sellerpay.payouts.rules import PayoutStatus
from sellerpay.simulation import RunSummary, SimulationConfig, World, run_simulation
from sellerpay.simulation.world import DAY_STEPS

DEFAULT_SELLERS: Final = 400
OUTPUT_FOLDERS: Final = ("sent", "received", "documents")
SAMPLE_ROLES: Final = (Role.ADMIN, Role.OPERATOR, Role.APPROVER, Role.FINANCE, Role.COMPLIANCE)


@exits_cleanly
def demo(
    sellers: Annotated[
        int, typer.Option(min=8, max=100_000, help="How many sellers.")
    ] = DEFAULT_SELLERS,
    days: Annotated[int, typer.Option(min=5, max=365, help="How many days to simulate.")] = 30,
    seed: Annotated[int, typer.Option(help="The same seed gives the same month.")] = 42,
    faults: Annotated[
        Faults, typer.Option(help="What goes wrong: none, default or chaos.")
    ] = "default",
    orders: Annotated[
        float, typer.Option(min=0.0, max=50.0, help="Orders a seller gets a day, on average.")
    ] = 0.3,
    out: Annotated[Path, typer.Option(help="Folder for the bank files and summary.json.")] = Path(
        "demo-out"
    ),
    serve: Annotated[
        bool, typer.Option(help="Serve the API on the demo's data afterwards, until Ctrl-C.")
    ] = True,
    host: Annotated[str, typer.Option(help="Interface the API listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port the API listens on.")] = 8000,
) -> None:
    """Simulate a month of a marketplace (sellers in FR, ES, US and JP) through the real code,
    print what happened, then serve the API on it."""
    quiet_logs()
    started = time.perf_counter()
    _clean(out)
    config = SimulationConfig(
        sellers=sellers, days=days, seed=seed, faults=faults, orders_per_seller_day=orders
    )
    with _demo_database() as (db, folder):
        console.print(
            f"[bold]Sellerpay demo[/]: {sellers:,} sellers in FR, ES, US and JP over {days} days,"
            f" seed {seed}, faults {faults}; embedded SQLite database in {folder}"
        )
        world, summary = _simulate(db, config, out)
        print_summary(summary)
        _print_stories(summary)
        write_summary(out, summary, world)
        seconds = time.perf_counter() - started
        console.print(
            f"bank files sent and received, summary.json and journal.jsonl are in {out}/; "
            f"digest {summary.digest[:16]}…; [bold]{seconds:.1f} s[/]"
        )
        if not summary.ok:
            print_replay(summary, "sqlite")
            raise typer.Exit(1)
        if serve:
            _serve(db, world, host=host, port=port)


def _clean(out: Path) -> None:
    """Files of an earlier demo would mix with this one's."""
    for name in OUTPUT_FOLDERS:
        shutil.rmtree(out / name, ignore_errors=True)
    for name in ("summary.json", "journal.jsonl"):
        (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


@contextmanager
def _demo_database() -> Iterator[tuple[Database, Path]]:
    """A migrated SQLite database in a temporary folder, on a RAM disk when there is one."""
    with tempfile.TemporaryDirectory(prefix="sellerpay-demo-", dir=ram_disk()) as folder:
        db = Database(f"sqlite:///{Path(folder) / 'sellerpay.db'}")
        try:
            upgrade(db)
            yield db, Path(folder)
        finally:
            db.dispose()


def _simulate(db: Database, config: SimulationConfig, out: Path) -> tuple[World, RunSummary]:
    steps = len(DAY_STEPS) * config.days
    with progress_bar() as progress:
        joining = progress.add_task("sellers onboarded", total=config.sellers)
        days = progress.add_task("days simulated", total=steps)
        world, summary = run_simulation(
            db,
            config,
            keyring=configured_keyring(db),  # the served API reads the accounts with it
            out=out,
            on_step=lambda _day, _step: progress.advance(days),
            on_seller=lambda: progress.advance(joining),
        )
        progress.update(days, completed=steps)
    return world, summary


def _print_stories(summary: RunSummary) -> None:
    """Who was paid where, and what was blocked and why."""
    table = Table("country", "currency", "sellers paid", "payouts", "amount", title="Paid out")
    for row in summary.paid_by_country:
        amount = Money(row["amount_minor"], row["currency"]).format()
        table.add_row(
            row["country"], row["currency"], f"{row['sellers']:,}", f"{row['payouts']:,}", amount
        )
    console.print(table)
    blocked = Table("why", "detail", "sellers", "runs", title="Payouts blocked, and why")
    for b in summary.blocked:
        shown = ", ".join(b.sellers[:3]) + ("…" if len(b.sellers) > 3 else "")
        blocked.add_row(b.reason, escape(b.detail), f"{len(b.sellers)} ({shown})", str(b.runs))
    console.print(blocked)
    for who, story in summary.stories.items():
        console.print(f"  {who}: {escape(story)}")
    still = summary.events["still_parked"]
    console.print(
        f"parked events: {summary.events['first_answers'].get('parked', 0):,} parked on "
        f"arrival, {summary.events['parked_then_applied']:,} applied once what they waited for "
        f"arrived, still parked: {still or 'none'}; rejected and kept for an operator: "
        f"{summary.events['rejected'] or 'none'}"
    )


def _serve(db: Database, world: World, *, host: str, port: int) -> None:
    """Serve the API on the demo's database with a key per role, until Ctrl-C."""
    import uvicorn  # only serving needs the server

    from sellerpay.api import create_app

    clock = SystemClock()
    console.print("[bold]Sample API keys[/] (header Authorization: Bearer <key>):")
    for role in SAMPLE_ROLES:
        _, plaintext = create_api_key(db, name=f"demo {role.value}", role=role, clock=clock)
        console.print(f"  {role.value:<12} {plaintext}", soft_wrap=True)
    seller = _a_paid_seller(world)
    _, plaintext = create_api_key(
        db, name=f"demo seller {seller}", role=Role.SELLER, seller_id=seller, clock=clock
    )
    console.print(f"  {'seller':<12} {plaintext}  ({seller})", soft_wrap=True)
    console.print(
        f"Sellerpay API on http://{host}:{port} (docs: http://{host}:{port}/docs); try "
        f"GET /v1/payouts with the finance key, or /v1/sellers/{seller}/balance with the "
        "seller's. Ctrl-C stops it and deletes the demo database."
    )
    signal.signal(signal.SIGTERM, _stop)  # like Ctrl-C: the demo database is deleted
    uvicorn.run(create_app(db=db, clock=clock), host=host, port=port, log_level="warning")


def _stop(_signal: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


def _a_paid_seller(world: World) -> str:
    for payout in world.all_payouts():
        if payout.status is PayoutStatus.PAID:
            return payout.seller_id
    return world.sellers[0].id
