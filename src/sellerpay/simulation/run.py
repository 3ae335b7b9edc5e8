"""One call for a whole simulated run: build the world, run it, judge it, sum it up."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sellerpay.crypto import KeyRing
from sellerpay.db import Database
from sellerpay.simbank import SimulatedBank
from sellerpay.simulation.invariants import check_world
from sellerpay.simulation.report import RunSummary, summarize
from sellerpay.simulation.world import SimulationConfig, World

__all__ = ["run_simulation"]


def run_simulation(
    db: Database,
    config: SimulationConfig,
    *,
    keyring: KeyRing | None = None,
    out: Path | None = None,
    bank_class: type[SimulatedBank] | None = None,
    on_step: Callable[[int, str], None] | None = None,
    on_seller: Callable[[], None] | None = None,
) -> tuple[World, RunSummary]:
    """Run `config` on `db` (migrated, empty) and check every invariant at the end.

    `bank_class` replaces the simulated bank (a test gives a broken one); `out` keeps the bank files
    sent and received; `on_step` and `on_seller` report progress. The summary's `breaches`
    say what broke, with the day and step to replay it with the same seed.
    """
    world = World(
        db,
        config,
        keyring=keyring,
        out=out,
        bank_class=bank_class,
        on_step=on_step,
        on_seller=on_seller,
    )
    world.run()
    checks, equations = check_world(world)
    return world, summarize(world, checks, equations)
