"""What happens to each transfer at the simulated bank, decided by seeded dice; banking days.

A draw is a hash of (seed, purpose, key): the same seed gives every transfer the same fate
whatever order files arrive in, and one transfer's fate never shifts another's (a shared
`random.Random` would). Keys are what the bank can see: the end-to-end id as the file carries
it for transfers, the message id and attempt number for files.

Reason codes follow each rail's usage. A rejection is answered in the status report with an
ISO 20022 status reason; ACH has no per-entry status report, so an entry the receiving bank
cannot post comes back as a return (R03, R04) one banking day after settlement, as it does on
the real network. Returns carry ISO 20022 return reasons, NACHA codes for ACH.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from sellerpay.simbank.faults import FaultConfig

REJECT_REASONS: Final = ("AC01", "AC04", "AC06", "AM04", "MS03", "RC01")
RETURN_REASONS: Final = ("AC04", "AC06", "MD07", "MS02")
ACH_RETURN_REASONS: Final = ("R01", "R02", "R03", "R04")
ACH_REJECT_REASONS: Final = ("R03", "R04")
ACH_REJECT_RETURN_DAYS: Final = 1
SATURDAY: Final = 5


class Dice:
    """Deterministic draws in [0, 1) from a seed, one per (purpose, key)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def draw(self, purpose: str, *key: object) -> float:
        text = "\x1f".join([str(self.seed), purpose, *(str(part) for part in key)])
        digest = hashlib.sha256(text.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def happens(self, rate: float, purpose: str, *key: object) -> bool:
        return rate > 0 and self.draw(purpose, *key) < rate

    def choice(self, options: Sequence[str], purpose: str, *key: object) -> str:
        return options[int(self.draw(purpose, *key) * len(options))]

    def between(self, low: int, high: int, purpose: str, *key: object) -> int:
        return low + int(self.draw(purpose, *key) * (high - low + 1))


@dataclass(frozen=True, slots=True)
class Outcome:
    """A transfer's fate: rejected with a reason, or paid and maybe returned N banking days
    later; `pending_hours` is how long an inquiry answers "pending" after receipt."""

    reject_reason: str | None = None
    return_reason: str | None = None
    return_delay_days: int = 0
    pending_hours: int = 0


def decide_outcome(dice: Dice, faults: FaultConfig, rail: str, reference: str) -> Outcome:
    """The fate of the transfer `reference` on `rail`, the same for the same seed."""
    pending = (
        faults.pending_status_hours
        if dice.happens(faults.pending_status_rate, "pending", rail, reference)
        else 0
    )
    if dice.happens(faults.reject_rate, "reject", rail, reference):
        if rail == "ach":
            reason = dice.choice(ACH_REJECT_REASONS, "reject-reason", rail, reference)
            return Outcome(None, reason, ACH_REJECT_RETURN_DAYS, pending)
        return Outcome(
            dice.choice(REJECT_REASONS, "reject-reason", rail, reference), None, 0, pending
        )
    if dice.happens(faults.return_rate, "return", rail, reference):
        reasons = ACH_RETURN_REASONS if rail == "ach" else RETURN_REASONS
        low, high = faults.return_delay_days_min, faults.return_delay_days_max
        delay = dice.between(low, high, "return-delay", rail, reference)
        return Outcome(None, dice.choice(reasons, "return-reason", rail, reference), delay, pending)
    return Outcome(pending_hours=pending)


# -- banking days (UTC dates; Saturdays and Sundays are closed, holidays are not modelled) -----


def is_banking_day(day: date) -> bool:
    return day.weekday() < SATURDAY


def banking_day_on_or_after(day: date) -> date:
    while not is_banking_day(day):
        day += timedelta(days=1)
    return day


def add_banking_days(day: date, days: int) -> date:
    """`days` banking days after `day` (0: `day` itself if it is one, else the next)."""
    day = banking_day_on_or_after(day)
    for _ in range(days):
        day = banking_day_on_or_after(day + timedelta(days=1))
    return day


def start_of(day: date) -> datetime:
    """Midnight UTC at the start of `day`: when its bookings may begin."""
    return datetime.combine(day, time(), tzinfo=UTC)
