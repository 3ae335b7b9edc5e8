"""Whole runs at small size, with faults on, on SQLite and PostgreSQL: every invariant holds,
the same seed replays the same run event for event, and a broken bank is caught."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from simulation_builders import BankThatPaysTwice, small_run

from database_support import DatabaseFactory
from sellerpay.db import Database
from sellerpay.errors import InvariantViolation
from sellerpay.payouts.rules import PayoutStatus
from sellerpay.simulation import World


@pytest.mark.parametrize(("seed", "faults"), [(1, "default"), (2, "chaos")])
def test_a_small_marketplace_with_faults_keeps_every_invariant(
    fresh_db: Database, seed: int, faults: str
) -> None:
    world, summary = small_run(fresh_db, seed=seed, faults=faults)

    assert summary.breaches == [], summary.breaches
    assert [c.name for c in summary.checks if not c.ok] == []
    assert {c.name for c in summary.checks} >= {
        "ledger_verified",
        "money_equation",
        "bank_at_most_once",
        "payout_states",
        "in_transit_matches",
        "bank_agrees",
        "events_not_lost",
        "nothing_in_flight",
    }
    assert summary.payouts_by_state.get("paid", 0) > 0, "money reached the sellers' banks"
    assert summary.events["first_answers"].get("duplicate", 0) > 0, "duplicates were sent"
    assert sum(world.restarts.killed.values()) > 0, "workers died and jobs ran again"
    assert all(e.holds for e in summary.equations)


def test_chaos_brings_timeouts_rejections_and_returns_and_still_nothing_is_paid_twice(
    database_factory: DatabaseFactory,
) -> None:
    world, summary = small_run(database_factory.create("sqlite"), seed=5, faults="chaos")

    stats = world.bank.stats()
    assert stats.timeouts_before_accept + stats.timeouts_after_accept > 0
    assert stats.inquiries > 0, "unknown outcomes were asked about, never resent blindly"
    assert (
        summary.payouts_by_state.get("failed", 0) + summary.payouts_by_state.get("returned", 0) > 0
    )
    assert stats.executed_more_than_once() == []
    assert summary.ok, summary.breaches


def test_the_same_seed_gives_the_same_run_event_for_event(
    database_factory: DatabaseFactory,
) -> None:
    first_world, first = small_run(database_factory.create("sqlite"), seed=11)
    _, second = small_run(database_factory.create("sqlite"), seed=11)

    assert first.digest == second.digest
    assert first.to_json() == second.to_json()
    assert first.payouts_by_state.get("paid", 0) > 0, "a run with payouts, not an empty one"
    assert len(first_world.journal.entries) > 10 * 12, "a journal entry per step and more"


@pytest.mark.postgresql
def test_the_same_seed_replays_on_postgresql_too(database_factory: DatabaseFactory) -> None:
    _, first = small_run(database_factory.create("postgresql"), seed=21, sellers=12)
    _, second = small_run(database_factory.create("postgresql"), seed=21, sellers=12)

    assert first.ok, first.breaches
    assert first.payouts_by_state.get("paid", 0) > 0
    assert first.digest == second.digest


def test_a_bank_that_executes_a_file_twice_is_caught_with_the_step_to_replay(
    database_factory: DatabaseFactory,
) -> None:
    world, summary = small_run(
        database_factory.create("sqlite"), seed=3, faults="none", bank_class=BankThatPaysTwice
    )

    assert not summary.ok
    breach = next(b for b in summary.breaches if b.check == "bank_at_most_once")
    assert breach.step == "bank_midday", "seen when the bank booked the file, not at the end"
    assert breach.day is not None and 0 < breach.day < 10
    failed = {c.name for c in summary.checks if not c.ok}
    assert {"bank_at_most_once", "bank_agrees"} <= failed
    paid = [p for p in world.all_payouts() if p.status is PayoutStatus.PAID]
    assert paid, "the payouts themselves went through: only the bank misbehaved"


def test_a_step_that_fails_ends_the_run_with_a_breach_naming_day_and_step(
    database_factory: DatabaseFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = World._step_payout_run

    def broken_on_day_6(self: World) -> Mapping[str, Any]:
        if self.day == 6:
            raise InvariantViolation("a balance disagrees with its entries")
        return real(self)

    monkeypatch.setattr(World, "_step_payout_run", broken_on_day_6)

    world, summary = small_run(database_factory.create("sqlite"), seed=4, faults="none")

    failed = [b for b in summary.breaches if b.check == "step_failed"]
    assert [(b.day, b.step) for b in failed] == [(6, "payout_run")]
    assert "InvariantViolation: a balance disagrees" in failed[0].detail
    assert world.day == 6, "no day ran after the failure"
    assert not summary.ok
