"""What goes wrong in a simulated run, and how often: one profile for the marketplace's
producers, the bank and our own workers; and the injector that kills a job between two steps.

Every rate is a probability (a float is right here: it is never money), drawn from the run's
one seeded `random.Random`, so a seed replays the same faults at the same moments:

    marketplace  duplicate    an event is sent again, the same day or up to 2 days later
                 late         an event arrives 1 to 3 days after it happened
                 reordered    a day's batch arrives shuffled (a refund before its payment)
                 late_seller  a seller is created here days after its first sales
                 invalid      a producer bug: an event no handler may apply (kept, rejected)
    bank         the simulated bank's `FaultConfig` (time-outs before and after accepting a
                 file, rejections, returns days later, duplicate, late and pending reports)
    restart      a worker dies between two steps of a job (after a chunk of a payout run,
                 after the bank took a file, between two imported files...) and the job runs
                 again: every job must be idempotent
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from typing import Final, get_args

from sellerpay.errors import InvalidInput
from sellerpay.simbank import FaultConfig, FaultProfile, fault_profile

__all__ = [
    "FAULT_PROFILES",
    "MarketplaceFaults",
    "Restarts",
    "SimulationFaults",
    "WorkerCrash",
    "simulation_faults",
]

FAULT_PROFILES: Final[tuple[FaultProfile, ...]] = get_args(FaultProfile)
restarts_per_job_max: Final = 3
"""A job is killed at most this many times in a row; then it runs to its end (no livelock)."""


@dataclass(frozen=True, slots=True)
class MarketplaceFaults:
    """How often the marketplace's producers misbehave (see the module docstring)."""

    duplicate_rate: float = 0.0
    late_rate: float = 0.0
    reordered_rate: float = 0.0
    late_seller_rate: float = 0.0
    invalid_rate: float = 0.0


@dataclass(frozen=True, slots=True)
class SimulationFaults:
    """A named fault profile of the whole run."""

    name: FaultProfile
    marketplace: MarketplaceFaults
    bank: FaultConfig
    restart_rate: float


_PROFILES: Final[dict[str, SimulationFaults]] = {
    "none": SimulationFaults("none", MarketplaceFaults(), fault_profile("none"), 0.0),
    "default": SimulationFaults(
        "default",
        MarketplaceFaults(
            duplicate_rate=0.03,
            late_rate=0.02,
            reordered_rate=0.3,
            late_seller_rate=0.04,
            invalid_rate=0.15,
        ),
        fault_profile("default"),
        0.05,
    ),
    "chaos": SimulationFaults(
        "chaos",
        MarketplaceFaults(
            duplicate_rate=0.15,
            late_rate=0.10,
            reordered_rate=1.0,
            late_seller_rate=0.10,
            invalid_rate=0.5,
        ),
        fault_profile("chaos", latency_ms=0),  # latency is the HTTP server's: not in-process
        0.25,
    ),
}


def simulation_faults(name: str) -> SimulationFaults:
    """The profile `none` (nothing goes wrong), `default` (a few percent of everything) or
    `chaos` (every rate turned up); `InvalidInput(unknown_fault_profile)` otherwise."""
    if name not in _PROFILES:
        raise InvalidInput(
            f"fault profile {name!r} is not one of {', '.join(FAULT_PROFILES)}",
            code="unknown_fault_profile",
            field="faults",
        )
    return _PROFILES[name]


class WorkerCrash(Exception):
    """A simulated worker death between two steps of a job: the job is run again from the
    start, as a supervisor (Celery with `acks_late`, the embedded scheduler) would."""

    def __init__(self, where: str) -> None:
        super().__init__(f"worker killed {where}")
        self.where = where


class Restarts:
    """Decides, with the run's dice, where workers die; counts where they did."""

    def __init__(self, rng: random.Random, rate: float) -> None:
        self._rng = rng
        self._rate = rate
        self._armed = True
        self.killed: Counter[str] = Counter()

    def point(self, where: str) -> None:
        """A place a worker may die: raise `WorkerCrash` with the profile's probability."""
        if self._armed and self._rate and self._rng.random() < self._rate:
            self.killed[where] += 1
            raise WorkerCrash(where)

    def disarm(self) -> None:
        """No more deaths (the last attempt of a job, and the end-of-run checks)."""
        self._armed = False

    def arm(self) -> None:
        self._armed = True
