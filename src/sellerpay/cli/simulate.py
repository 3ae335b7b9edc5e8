"""`sellerpay simulate`: a whole marketplace through the real code on a controlled clock, with
faults, then every invariant of RELIABILITY.md checked; any breach exits 1 and says how to
replay it (the seed, the day and the step). `--twice` runs the seed twice and compares the
digests of everything that happened."""

from __future__ import annotations

import json
import os
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Final, Literal

import psycopg
import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.engine import make_url

from sellerpay.cli.runtime import console, err_console, exits_cleanly, progress_bar
from sellerpay.db import Database
from sellerpay.db.migrate import upgrade
from sellerpay.money import Money
from sellerpay.observability import configure_logging
from sellerpay.settings import get_settings
from sellerpay.simulation import RunSummary, SimulationConfig, run_simulation
from sellerpay.simulation.faults import simulation_faults
from sellerpay.simulation.world import DAY_STEPS, World

Backend = Literal["sqlite", "postgresql"]
Faults = Literal["none", "default", "chaos"]
breaches_shown_max: Final = 5
RAM_DISK: Final = Path("/dev/shm")
POSTGRES_URL: Final = os.environ.get(
    "SELLERPAY_SIMULATE_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@exits_cleanly
def simulate(
    sellers: Annotated[int, typer.Option(min=1, max=100_000, help="How many sellers.")] = 100,
    days: Annotated[int, typer.Option(min=1, max=365, help="How many days to simulate.")] = 30,
    seed: Annotated[int, typer.Option(help="The same seed gives the same run.")] = 1,
    faults: Annotated[
        Faults, typer.Option(help="none | default (a few percent) | chaos (every rate up).")
    ] = "default",
    backend: Annotated[
        Backend,
        typer.Option(
            help="sqlite: a throw-away file; postgresql: a throw-away database on the server "
            "of SELLERPAY_SIMULATE_POSTGRES_URL (default: local, user postgres)."
        ),
    ] = "sqlite",
    out: Annotated[
        Path | None,
        typer.Option(help="Keep the bank files sent and received, summary.json, journal.jsonl."),
    ] = None,
    orders: Annotated[
        float, typer.Option(min=0.0, max=50.0, help="Orders a seller gets a day, on average.")
    ] = 0.6,
    twice: Annotated[
        bool, typer.Option(help="Run the seed twice and compare the digests (determinism).")
    ] = False,
) -> None:
    """Simulate a marketplace (FR, ES, US, JP sellers) end to end — events in, payouts out to a
    simulated bank, reports and statements back — then check every invariant."""
    simulation_faults(faults)  # a bad profile fails before anything is created
    quiet_logs()
    config = SimulationConfig(
        sellers=sellers, days=days, seed=seed, faults=faults, orders_per_seller_day=orders
    )
    console.print(
        f"[bold]Sellerpay simulation[/]: {sellers} sellers, {days} days, seed {seed}, faults "
        f"{faults}, {backend}"
    )
    summary, seconds = _run_once(config, backend, out)
    print_summary(summary)
    console.print(f"digest {summary.digest} ({seconds:.1f} s)", soft_wrap=True)
    if out is not None:
        write_summary(out, summary)
    ok = summary.ok
    if twice:
        again, _ = _run_once(config, backend, None)
        same = again.digest == summary.digest
        console.print(
            f"second run: digest {again.digest} — "
            + ("[green]the same run, event for event[/]" if same else "[red]DIFFERENT[/]"),
            soft_wrap=True,
        )
        ok = ok and same
    if not ok:
        print_replay(summary, backend)
        raise typer.Exit(1)


def _run_once(
    config: SimulationConfig, backend: Backend, out: Path | None
) -> tuple[RunSummary, float]:
    steps = sum(1 for _ in DAY_STEPS) * config.days
    started = time.perf_counter()
    with throwaway_database(backend) as (db, scratch), progress_bar() as progress:
        enrol = progress.add_task("sellers joining", total=config.sellers)
        task = progress.add_task("simulating days", total=steps)

        def on_step(_day: int, _step: str) -> None:
            progress.advance(task)

        _, summary = run_simulation(
            db,
            config,
            out=out or scratch,
            on_step=on_step,
            on_seller=lambda: progress.advance(enrol),
        )
        progress.update(task, completed=steps)
    return summary, time.perf_counter() - started


@contextmanager
def throwaway_database(backend: Backend) -> Iterator[tuple[Database, Path]]:
    """A new, migrated database and a scratch folder, both removed afterwards. The SQLite file
    goes on a RAM disk when the system has one: a throw-away database needs no disk flushes."""
    with tempfile.TemporaryDirectory(prefix="sellerpay-simulate-", dir=ram_disk()) as folder:
        scratch = Path(folder)
        if backend == "sqlite":
            db = Database(f"sqlite:///{scratch / 'simulation.db'}")
            try:
                upgrade(db)
                yield db, scratch
            finally:
                db.dispose()
            return
        name = f"sellerpay_simulation_{uuid.uuid4().hex[:12]}"
        admin = make_url(POSTGRES_URL)
        libpq = admin.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(libpq, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        db = Database(admin.set(database=name).render_as_string(hide_password=False))
        try:
            upgrade(db)
            yield db, scratch
        finally:
            db.dispose()
            with psycopg.connect(libpq, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def ram_disk() -> Path | None:
    """/dev/shm when it exists and takes files (Linux), else None (the system's temp folder)."""
    if not RAM_DISK.is_dir():
        return None
    try:
        with tempfile.TemporaryFile(dir=RAM_DISK):
            return RAM_DISK
    except OSError:
        return None


def print_summary(summary: RunSummary) -> None:
    """The run in tables: money, payouts, events, the bank, and every invariant."""
    _money_table(summary)
    _payouts_line(summary)
    _events_line(summary)
    _bank_line(summary)
    _equation_lines(summary)
    _invariants_table(summary)


def _money(minor: int, currency: str) -> str:
    return Money(minor, currency).format()


def _money_table(summary: RunSummary) -> None:
    table = Table(
        "currency",
        "paid in",
        "fees",
        "paid out",
        "returned",
        "in transit",
        "owed to sellers",
        title="Money per currency",
    )
    for currency, t in summary.totals.items():
        table.add_row(
            currency,
            *(
                _money(t[k], currency)
                for k in ("paid_in", "fees", "paid_out", "returned", "in_transit", "outstanding")
            ),
        )
    console.print(table)


def _payouts_line(summary: RunSummary) -> None:
    states = ", ".join(f"{n:,} {s}" for s, n in summary.payouts_by_state.items()) or "none"
    console.print(f"payouts: {states}")
    if summary.returns:
        console.print(f"  returned by the sellers' banks: {_codes(summary.returns)}")
    if summary.failures:
        console.print(f"  rejected before execution: {_codes(summary.failures)}")


def _codes(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {code}" for code, n in counts.items())


def _events_line(summary: RunSummary) -> None:
    e = summary.events
    answers = ", ".join(f"{n:,} {s}" for s, n in e["first_answers"].items())
    console.print(
        f"marketplace: {e['orders']:,} orders, {e['refunds']:,} refunds, {e['disputes']:,} "
        f"disputes; {e['sent']:,} events arrived ({answers}); {e['parked_then_applied']:,} "
        f"parked events applied later"
    )


def _bank_line(summary: RunSummary) -> None:
    b, r = summary.bank, summary.reconciliation
    console.print(
        f"bank: {b['files_sent']} files sent {b['files_by_rail']}, {b['timeouts']} time-outs "
        f"(asked with {b['inquiries']} inquiries), files back {b['files_received']}; "
        f"reconciliation: {r['statements']} statements, {r['matched_lines']:,} lines matched, "
        f"open exceptions {r['open_exceptions'] or 'none'}"
    )
    if summary.restarts:
        killed = sum(summary.restarts.values())
        console.print(f"workers killed and restarted: {killed} ({_codes(summary.restarts)})")


def _equation_lines(summary: RunSummary) -> None:
    """Invariant 6 per currency, one line each: the ledger's balances by account kind."""
    console.print(
        "[bold]Money in = money out[/] (RELIABILITY.md invariant 6), per currency, from the "
        "ledger's balances by account kind:"
    )
    for e in summary.equations:
        c = e.currency
        left = (
            f"cash at bank {_money(e.cash_at_bank, c)} + receivables {_money(e.receivables, c)}"
            f" + FX position {_money(e.fx_position, c)} + expenses {_money(e.expenses, c)}"
        )
        right = (
            f"owed to sellers {_money(e.owed_to_sellers, c)} + owed to customers "
            f"{_money(e.owed_to_customers, c)} + in transit {_money(e.in_transit, c)} + "
            f"revenue {_money(e.revenue, c)}"
        )
        verdict = "[green]holds[/]" if e.holds else "[red]BROKEN[/]"
        console.print(f"  {c}: {left} {'=' if e.holds else '≠'} {right}: {verdict}")


def _invariants_table(summary: RunSummary) -> None:
    table = Table("invariant", "", "what was checked", title="Invariants checked")
    for check in summary.checks:
        table.add_row(
            check.name, "[green]ok[/]" if check.ok else "[red]BREACH[/]", escape(check.detail)
        )
    console.print(table)


def print_replay(summary: RunSummary, backend: str) -> None:
    """The first breaches of each check, and the command that replays the run up to them."""
    shown: Counter[str] = Counter()
    for breach in summary.breaches:
        shown[breach.check] += 1
        if shown[breach.check] > breaches_shown_max:
            continue
        err_console.print(
            f"[red]breach[/] {breach.check} on day {breach.day}, step {breach.step}: "
            f"{escape(breach.detail)}",
            soft_wrap=True,
        )
    for check, count in shown.items():
        if count > breaches_shown_max:
            err_console.print(f"… and {count - breaches_shown_max} more {check} breaches")
    err_console.print(
        f"replay: sellerpay simulate --sellers {summary.sellers} --days {summary.days} "
        f"--seed {summary.seed} --faults {summary.faults} --backend {backend}",
        soft_wrap=True,
    )


def write_summary(out: Path, summary: RunSummary, world: World | None = None) -> Path:
    """`summary.json` (and the step journal, `journal.jsonl`, when the world is given)."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "summary.json"
    path.write_text(json.dumps(summary.to_json(), indent=2, ensure_ascii=False) + "\n")
    if world is not None:
        with (out / "journal.jsonl").open("w", encoding="utf-8") as journal:
            for entry in world.journal.entries:
                journal.write(json.dumps(entry, sort_keys=True, default=str) + "\n")
    return path


def quiet_logs() -> None:
    """Errors only: a run's warnings (bank time-outs, the sanctions alert) are its faults."""
    configure_logging(get_settings().model_copy(update={"log_level": "ERROR"}))
