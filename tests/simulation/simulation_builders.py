"""Builders of the simulation tests: small runs, and a bank that breaks invariant 5 on purpose."""

from __future__ import annotations

from sellerpay.db import Database
from sellerpay.simbank import Receipt, SimulatedBank
from sellerpay.simulation import RunSummary, SimulationConfig, World, run_simulation

SMALL_SELLERS = 20
SMALL_DAYS = 12


def small_run(
    db: Database,
    *,
    seed: int,
    faults: str = "default",
    bank_class: type[SimulatedBank] | None = None,
    sellers: int = SMALL_SELLERS,
) -> tuple[World, RunSummary]:
    """A run small enough for `make test`: 20 sellers over 12 days (plus the drain days)."""
    config = SimulationConfig(
        sellers=sellers, days=SMALL_DAYS, seed=seed, faults=faults, orders_per_seller_day=1.0
    )
    return run_simulation(db, config, bank_class=bank_class)


class BankThatPaysTwice(SimulatedBank):
    """A broken bank: it takes every file twice on arrival (as a bank replaying its intake
    after a crash of its own would), so each transfer in it is executed twice."""

    def receive(self, rail: str, filename: str, content: bytes, message_id: str) -> Receipt:
        first = super().receive(rail, filename, content, message_id)
        with self._lock:
            self._files.pop(message_id)  # forget the message id: the file is new again
            self._take(rail, filename, content, message_id)
        return first


__all__ = ["SMALL_DAYS", "SMALL_SELLERS", "BankThatPaysTwice", "small_run"]
