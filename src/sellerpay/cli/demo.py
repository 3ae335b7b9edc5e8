"""`sellerpay demo`: a simulated marketplace's month of money coming in, shown as tables."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sellerpay.cli.runtime import console, exits_cleanly, progress_bar
from sellerpay.db import Database
from sellerpay.db.migrate import upgrade
from sellerpay.ledger.service import balances_of, verify_ledger
from sellerpay.money import Money
from sellerpay.simulation.marketplace import Marketplace, Report, Seller, demo_start

_PLATFORM = (
    "platform:psp_clearing",
    "platform:adjustments",
    "platform:refunds_payable",
    "platform:revenue:commission",
    "platform:revenue:dispute_fees",
)
_SELLER_ACCOUNTS = ("pending", "available", "dispute_hold")


@exits_cleanly
def demo(
    sellers: Annotated[int, typer.Option(min=1, max=100_000, help="How many sellers.")] = 200,
    days: Annotated[int, typer.Option(min=1, max=365, help="How many days to simulate.")] = 30,
    seed: Annotated[int, typer.Option(help="The same seed gives the same run.")] = 42,
    out: Annotated[Path, typer.Option(help="Folder for the demo's database.")] = Path("demo-out"),
) -> None:
    """Simulate a marketplace (FR, ES, US, JP sellers): orders, refunds and disputes arrive as
    events, late, duplicated and out of order; fees are taken; funds are released."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "sellerpay-demo.db"
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    db = Database(f"sqlite:///{path.resolve()}")
    upgrade(db)
    market = Marketplace(db, sellers=sellers, seed=seed, start=demo_start())
    console.print(
        f"[bold]Sellerpay demo[/]: {sellers} sellers, {days} days, seed {seed}, "
        f"embedded database {path}"
    )
    started = time.perf_counter()
    market.open()
    with progress_bar() as progress:
        task = progress.add_task("simulating days", total=days)
        report = market.run(days, on_day=lambda _day: progress.advance(task))
    seconds = time.perf_counter() - started
    console.print(
        f"{report.orders:,} orders, {report.refunds:,} refunds, {report.disputes:,} "
        f"disputes: {report.events_sent:,} events in {seconds:.1f} s"
    )
    _events_table(report)
    balances = _seller_balances(market)
    _sellers_table(market, balances)
    _flows_table(market, report)
    _seller_sample(market, balances)
    ok = _platform_table(market, balances) & _verify(db)
    if not ok:
        raise typer.Exit(1)


def _events_table(report: Report) -> None:
    table = Table(
        "sent",
        "applied",
        "duplicates",
        "parked → applied",
        "still parked",
        "rejected",
        title="Marketplace events in (one handler for HTTP and RabbitMQ)",
    )
    s = report.statuses
    table.add_row(
        f"{report.events_sent:,}",
        f"{s['applied']:,}",
        f"{s['duplicate']:,}",
        f"{report.parked_then_applied:,}",
        f"{s['parked'] - report.parked_then_applied:,}",
        f"{s['rejected']:,}",
    )
    console.print(table)
    for code, count in report.rejected_reasons.most_common():
        console.print(f"  rejected and kept for an operator: {count} {code}")


def _seller_balances(market: Marketplace) -> dict[tuple[str, str], Money]:
    keys = [(f"seller:{s.id}:{p}", s.currency) for s in market.sellers for p in _SELLER_ACCOUNTS]
    return balances_of(market.db, keys)


def _sellers_table(market: Marketplace, balances: dict[tuple[str, str], Money]) -> None:
    rows: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for s in market.sellers:
        row = rows[(s.country, s.currency)]
        row["sellers"] += 1
        for purpose in _SELLER_ACCOUNTS:
            row[purpose] += balances[(f"seller:{s.id}:{purpose}", s.currency)].amount_minor
        available = balances[(f"seller:{s.id}:available", s.currency)].amount_minor
        if available < 0:
            row["negative"] += 1
            row["to_recover"] -= available
    table = Table(
        "country",
        "sellers",
        "pending",
        "available",
        "dispute hold",
        "negative (to recover)",
        title="Seller balances by country",
    )
    for (country, currency), row in sorted(rows.items()):
        money = {k: Money(row[k], currency).format() for k in (*_SELLER_ACCOUNTS, "to_recover")}
        table.add_row(
            country,
            str(row["sellers"]),
            money["pending"],
            money["available"],
            money["dispute_hold"],
            f"{row['negative']} ({money['to_recover']})",
        )
    console.print(table)


def _flows_table(market: Marketplace, report: Report) -> None:
    currencies = sorted(report.paid_by_customers)
    revenue = balances_of(
        market.db,
        [
            (c, cur)
            for cur in currencies
            for c in ("platform:revenue:commission", "platform:revenue:dispute_fees")
        ],
    )
    table = Table(
        "currency",
        "paid by customers",
        "fees earned",
        "dispute fees",
        "released to available",
        title="Money flows",
    )
    for c in currencies:
        table.add_row(
            c,
            Money(report.paid_by_customers[c], c).format(),
            revenue[("platform:revenue:commission", c)].format(),
            revenue[("platform:revenue:dispute_fees", c)].format(),
            Money(report.released[c], c).format(),
        )
    console.print(table)


def _seller_sample(market: Marketplace, balances: dict[tuple[str, str], Money]) -> None:
    """One seller per country, formatted in the seller's own locale."""
    table = Table("seller", "locale", "pending", "available", title="One seller per country")
    first_of_country: dict[str, Seller] = {}
    for seller in market.sellers:
        first_of_country.setdefault(seller.country, seller)
    for s in first_of_country.values():
        pending = balances[(f"seller:{s.id}:pending", s.currency)]
        available = balances[(f"seller:{s.id}:available", s.currency)]
        table.add_row(s.id, s.locale, pending.format(s.locale), available.format(s.locale))
    console.print(table)


def _platform_table(market: Marketplace, sellers: dict[tuple[str, str], Money]) -> bool:
    """Platform accounts, and money in = money out (RELIABILITY.md invariant 6) per currency."""
    currencies = sorted(market.report.paid_by_customers)
    balances = balances_of(market.db, [(code, c) for code in _PLATFORM for c in currencies])
    owed: Counter[str] = Counter()
    for (_, currency), amount in sellers.items():
        owed[currency] += amount.amount_minor
    table = Table("account", *currencies, title="Platform accounts")
    for code in _PLATFORM:
        table.add_row(code, *(balances[(code, c)].format() for c in currencies))
    checks = []
    for c in currencies:
        b = {code: balances[(code, c)].amount_minor for code in _PLATFORM}
        held = b["platform:psp_clearing"] + b["platform:adjustments"]
        owed_total = owed[c] + b["platform:refunds_payable"]
        revenue = b["platform:revenue:commission"] + b["platform:revenue:dispute_fees"]
        checks.append(held == owed_total + revenue)
    table.add_row(
        "[bold]cash + expenses = owed to sellers and customers + revenue[/]",
        *("[green]holds[/]" if held else "[red]BROKEN[/]" for held in checks),
    )
    console.print(table)
    return all(checks)


def _verify(db: Database) -> bool:
    report = verify_ledger(db)
    if report.ok:
        console.print(
            f"[green]ledger verified[/]: {report.transactions:,} transactions and "
            f"{report.entries:,} entries balance; every balance equals its entries"
        )
        return True
    for breach in report.breaches:
        console.print(f"[red]breach[/] {breach.check} {breach.subject}: {breach.detail}")
    return False
