"""The simulated marketplace drives the real money-in services; the demo shows it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from database_support import DatabaseFactory
from sellerpay.cli.main import app
from sellerpay.db import Database
from sellerpay.ledger.service import balances_of, verify_ledger
from sellerpay.simulation.marketplace import Marketplace, demo_start


def _run(db: Database, *, seed: int) -> Marketplace:
    market = Marketplace(db, sellers=24, seed=seed, start=demo_start())
    market.open()
    market.run(16)
    return market


def test_a_month_of_late_duplicated_and_invalid_events_leaves_a_ledger_that_verifies(
    fresh_db: Database,
) -> None:
    market = _run(fresh_db, seed=7)
    report = market.report

    assert report.orders > 100 and report.refunds > 0
    assert sum(report.statuses.values()) == report.events_sent, "one answer per event sent"
    assert report.statuses["duplicate"] > 0, "the producer's repeats were recognised"
    assert report.parked_then_applied == report.statuses["parked"], "nothing stays parked"
    assert verify_ledger(fresh_db).ok
    currencies = sorted(report.paid_by_customers)
    platform = balances_of(fresh_db, [("platform:psp_clearing", c) for c in currencies])
    sellers = balances_of(
        fresh_db,
        [(f"seller:{s.id}:{p}", s.currency) for s in market.sellers for p in ("pending",)],
    )
    assert all(amount.amount_minor >= 0 for amount in sellers.values())
    assert all(amount.is_positive() for amount in platform.values())


def test_the_same_seed_gives_the_same_run(database_factory: DatabaseFactory) -> None:
    first = _run(database_factory.create("sqlite"), seed=11)
    second = _run(database_factory.create("sqlite"), seed=11)
    other = _run(database_factory.create("sqlite"), seed=12)

    def seller_balances(market: Marketplace) -> dict[tuple[str, str], int]:
        keys = [
            (f"seller:{s.id}:{p}", s.currency)
            for s in market.sellers
            for p in ("pending", "available", "dispute_hold")
        ]
        return {k: m.amount_minor for k, m in balances_of(market.db, keys).items()}

    assert first.report == second.report
    assert seller_balances(first) == seller_balances(second)
    assert seller_balances(first) != seller_balances(other)


def test_make_demo_prints_balances_and_verifies_the_ledger(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["demo", "--sellers", "12", "--days", "10", "--out", str(tmp_path / "demo")]
    )

    assert result.exit_code == 0, result.output
    assert "Seller balances by country" in result.output
    assert "holds" in result.output and "BROKEN" not in result.output
    assert "ledger verified" in result.output
