"""`sellerpay demo`: a simulated marketplace's month of money moving through the ledger."""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sellerpay.cli.runtime import console, exits_cleanly, progress_bar
from sellerpay.db import Database
from sellerpay.db.migrate import upgrade
from sellerpay.ledger.service import balances_of, verify_ledger
from sellerpay.money import Money
from sellerpay.simulation.marketplace import BANK, Marketplace, Seller, demo_start

_PLATFORM = (
    "platform:psp_clearing",
    BANK,
    "platform:payouts_in_transit",
    "platform:refunds_payable",
    "platform:revenue:commission",
)


@exits_cleanly
def demo(
    sellers: Annotated[int, typer.Option(min=1, max=100_000, help="How many sellers.")] = 200,
    days: Annotated[int, typer.Option(min=1, max=365, help="How many days to simulate.")] = 30,
    seed: Annotated[int, typer.Option(help="The same seed gives the same run.")] = 42,
    out: Annotated[Path, typer.Option(help="Folder for the demo's database.")] = Path("demo-out"),
) -> None:
    """Simulate a marketplace (FR, ES, US, JP sellers) and show the ledger at work."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "sellerpay-demo.db"
    path.unlink(missing_ok=True)
    db = Database(f"sqlite:///{path.resolve()}")
    upgrade(db)
    market = Marketplace(db, sellers=sellers, seed=seed, start=demo_start())
    console.print(
        f"[bold]Sellerpay demo[/]: {sellers} sellers, {days} days, seed {seed}, "
        f"embedded database {path}"
    )
    started = time.perf_counter()
    with progress_bar() as progress:
        task = progress.add_task("simulating days", total=days)
        totals = market.run(days, on_day=lambda _day: progress.advance(task))
    seconds = time.perf_counter() - started
    console.print(
        f"{totals.orders:,} orders, {totals.refunds:,} refunds, {totals.payouts:,} "
        f"payouts: {totals.transactions:,} ledger transactions in {seconds:.1f} s"
    )
    _sellers_table(market)
    _seller_sample(market)
    ok = _platform_table(market) & _verify(db)
    if not ok:
        raise typer.Exit(1)


def _sellers_table(market: Marketplace) -> None:
    keys = [
        (f"seller:{s.id}:{p}", s.currency) for s in market.sellers for p in ("pending", "available")
    ]
    balances = balances_of(market.db, keys)
    rows: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for s in market.sellers:
        row = rows[(s.country, s.currency)]
        row["sellers"] += 1
        for purpose in ("pending", "available"):
            row[purpose] += balances[(f"seller:{s.id}:{purpose}", s.currency)].amount_minor
    table = Table("country", "sellers", "pending", "available", title="Seller balances by country")
    for (country, currency), row in sorted(rows.items()):
        table.add_row(
            country,
            str(row["sellers"]),
            Money(row["pending"], currency).format(),
            Money(row["available"], currency).format(),
        )
    console.print(table)
    flows = Table(
        "currency", "paid by customers", "commission", "refunded", "paid out", title="Money flows"
    )
    t = market.totals
    for currency in sorted(t.gross):
        flows.add_row(
            currency,
            *(
                Money(v[currency], currency).format()
                for v in (t.gross, t.commission, t.refunded, t.paid_out)
            ),
        )
    console.print(flows)


def _seller_sample(market: Marketplace) -> None:
    """One seller per country, formatted in the seller's own locale."""
    table = Table("seller", "locale", "pending", "available", title="One seller per country")
    first_of_country: dict[str, Seller] = {}
    for seller in market.sellers:
        first_of_country.setdefault(seller.country, seller)
    sample = list(first_of_country.values())
    keys = [(f"seller:{s.id}:{p}", s.currency) for s in sample for p in ("pending", "available")]
    balances = balances_of(market.db, keys)
    for s in sample:
        pending = balances[(f"seller:{s.id}:pending", s.currency)]
        available = balances[(f"seller:{s.id}:available", s.currency)]
        table.add_row(s.id, s.locale, pending.format(s.locale), available.format(s.locale))
    console.print(table)


def _platform_table(market: Marketplace) -> bool:
    """Platform accounts, and money in = money out (RELIABILITY.md invariant 6) per currency."""
    currencies = sorted(market.totals.gross)
    balances = balances_of(market.db, [(code, c) for code in _PLATFORM for c in currencies])
    seller_keys = [
        (f"seller:{s.id}:{p}", s.currency) for s in market.sellers for p in ("pending", "available")
    ]
    owed: dict[str, int] = defaultdict(int)
    for (_, currency), amount in balances_of(market.db, seller_keys).items():
        owed[currency] += amount.amount_minor
    table = Table("account", *currencies, title="Platform accounts")
    for code in _PLATFORM:
        table.add_row(code, *(balances[(code, c)].format() for c in currencies))
    checks = []
    for c in currencies:
        b = {code: balances[(code, c)].amount_minor for code in _PLATFORM}
        assets = b["platform:psp_clearing"] + b[BANK]
        owed_total = owed[c] + b["platform:payouts_in_transit"] + b["platform:refunds_payable"]
        checks.append(assets == owed_total + b["platform:revenue:commission"])
    table.add_row(
        "[bold]cash = owed to sellers and customers + revenue[/]",
        *("[green]holds[/]" if held else "[red]BROKEN[/]" for held in checks),
    )
    ok = all(checks)
    console.print(table)
    return ok


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
