"""Deterministic, seeded simulations of a marketplace running through the real code: sellers,
money in, payouts, the simulated bank with its faults, reconciliation and compliance, day by
day on a controlled clock; every invariant of RELIABILITY.md checked at the end.

    world, summary = run_simulation(db, SimulationConfig(sellers=30, days=10, seed=1))
    summary.ok, summary.breaches, summary.digest      # the same seed gives the same digest

See docs/simulation.md.
"""

from sellerpay.simulation.report import RunSummary
from sellerpay.simulation.run import run_simulation
from sellerpay.simulation.world import SimulationConfig, World

__all__ = ["RunSummary", "SimulationConfig", "World", "run_simulation"]
