"""What can go wrong at the simulated bank, and how often: `FaultConfig` and its named profiles.

Every fault is a rate between 0 and 1 (a probability, not money, so a float is right here)
drawn per file or per transfer with the bank's seeded dice, so a seed reproduces a run:

    timeout_before_accept_rate  send times out and the bank never got the file (inquire: unknown)
    timeout_after_accept_rate   send times out but the bank has the file (inquire: its states)
    reject_rate                 a transfer is rejected in the status report (AC01, AC04, AM04…)
    return_rate                 a transfer is paid, then returned after return_delay_days
    duplicate_report_rate       a report file is delivered twice
    pending_status_rate         inquire says "pending" for pending_status_hours after receipt
    late_report_rate            a status report comes late_report_hours after receipt, not at once
    latency_ms, timeout_hold_s  the HTTP server only: delay of every answer, and how long a
                                time-out holds the connection before it answers 504
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Final, Literal, get_args

from sellerpay.errors import InvalidInput

FaultProfile = Literal["none", "default", "chaos"]
FAULT_PROFILES: Final[tuple[FaultProfile, ...]] = get_args(FaultProfile)
DELAY_DAYS_MAX: Final = 60
HOURS_MAX: Final = 24 * 30
LATENCY_MS_MAX: Final = 60_000
TIMEOUT_HOLD_S_MAX: Final = 600.0


def _check_number(
    name: str, value: object, minimum: float, maximum: float, *, integer: bool = False
) -> None:
    valid = (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and (isinstance(value, int) or not integer)
        and math.isfinite(value)
        and minimum <= value <= maximum
    )
    if not valid:
        what = "a whole number" if integer else "a number"
        raise InvalidInput(
            f"{name} must be {what} from {minimum:g} to {maximum:g}, not {value!r}",
            code="invalid_fault",
            field=name,
        )


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """How often each fault happens; all zero is a perfect bank (`FaultConfig()`)."""

    timeout_before_accept_rate: float = 0.0
    timeout_after_accept_rate: float = 0.0
    reject_rate: float = 0.0
    return_rate: float = 0.0
    return_delay_days_min: int = 1
    return_delay_days_max: int = 5
    duplicate_report_rate: float = 0.0
    pending_status_rate: float = 0.0
    pending_status_hours: int = 24
    late_report_rate: float = 0.0
    late_report_hours: int = 30
    latency_ms: int = 0
    timeout_hold_s: float = 0.0

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name.endswith("_rate"):
                _check_number(field.name, value, 0.0, 1.0)
        days_min, days_max = self.return_delay_days_min, self.return_delay_days_max
        _check_number("return_delay_days_min", days_min, 0, DELAY_DAYS_MAX, integer=True)
        _check_number("return_delay_days_max", days_max, 0, DELAY_DAYS_MAX, integer=True)
        if days_max < days_min:
            raise InvalidInput(
                f"return_delay_days_max ({days_max}) is below return_delay_days_min ({days_min})",
                code="invalid_fault",
                field="return_delay_days_max",
            )
        _check_number("pending_status_hours", self.pending_status_hours, 0, HOURS_MAX, integer=True)
        _check_number("late_report_hours", self.late_report_hours, 0, HOURS_MAX, integer=True)
        _check_number("latency_ms", self.latency_ms, 0, LATENCY_MS_MAX, integer=True)
        _check_number("timeout_hold_s", self.timeout_hold_s, 0.0, TIMEOUT_HOLD_S_MAX)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> FaultConfig:
        """A config from JSON-like values; unknown names are refused (a typo is not a no-op)."""
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InvalidInput(
                f"unknown fault setting {unknown[0]!r}", code="unknown_fault", field=unknown[0]
            )
        return cls(**values)


_PROFILES: Final[dict[FaultProfile, FaultConfig]] = {
    "none": FaultConfig(),
    "default": FaultConfig(
        timeout_before_accept_rate=0.02,
        timeout_after_accept_rate=0.02,
        reject_rate=0.03,
        return_rate=0.02,
        duplicate_report_rate=0.05,
        pending_status_rate=0.05,
        late_report_rate=0.05,
    ),
    "chaos": FaultConfig(
        timeout_before_accept_rate=0.15,
        timeout_after_accept_rate=0.15,
        reject_rate=0.10,
        return_rate=0.10,
        duplicate_report_rate=0.30,
        pending_status_rate=0.30,
        late_report_rate=0.30,
        latency_ms=50,
    ),
}


def fault_profile(name: str, **overrides: Any) -> FaultConfig:
    """The named profile (none, default, chaos), with some settings overridden."""
    if name not in _PROFILES:
        raise InvalidInput(
            f"fault profile {name!r} is not one of {', '.join(FAULT_PROFILES)}",
            code="unknown_fault_profile",
            field="faults",
        )
    profile = _PROFILES[name]
    return FaultConfig.from_dict({**profile.to_dict(), **overrides}) if overrides else profile
