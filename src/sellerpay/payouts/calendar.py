"""Banking calendars of the rails: which days each rail moves money, its daily cut-off, and the
date a payout submitted now is executed on. Pure: no database, no clock (time is a parameter).

Which days each rail is open, and its default cut-off:

- sepa: Monday to Friday except the TARGET closing days (ECB: 1 Jan, Good Friday, Easter
  Monday, 1 May, 25 and 26 Dec); 15:00 Europe/Paris.
- sepa_instant, fps, provider: every day, all day; no cut-off (a provider applies the
  destination's calendar itself).
- ach: Monday to Friday except the Federal Reserve's holidays (a holiday on a Saturday is not
  moved, one on a Sunday is observed on the Monday: not `holidays.US`, whose federal
  government rules close the Friday); 14:00 America/New_York.
- zengin: Monday to Friday except Japan's national holidays (with substitute days) and the
  bank holidays 31 Dec, 2 Jan and 3 Jan; 14:00 Asia/Tokyo.
- bacs: Monday to Friday except the bank holidays of England and Wales (with substitute
  days: 28 Dec 2026 for Boxing Day); 20:30 Europe/London.

What `execution_date` means on each rail — the date that goes into the bank file:

- sepa: the requested execution date (pain.001 `ReqdExctnDt`): our bank debits us and sends the
  transfer that day; the seller's bank is credited the same day, at the latest the next
  banking day (PSD2 art. 83: D+1).
- sepa_instant, fps, provider: the day of submission; the seller is credited within seconds
  (FPS: minutes at most).
- ach: the effective entry date of the NACHA batch; before the cut-off that is today and the
  entry settles as Same Day ACH, after it the next banking day. Funds settle that day.
- zengin: the designated transfer date (振込指定日): the seller is credited that day.
- bacs: day 1 of the three-day cycle, the input day. Bacs processes on day 2 (the Standard 18
  processing date: `bacs_processing_date`) and the seller is credited on day 3
  (`arrival_date`). The cut-off leaves margin before Bacs's 22:30 input deadline.

Cut-offs are the defaults of a typical sending bank: a deployment passes its own bank's as
`cutoffs` (parsed from text with `parse_cutoff`, e.g. "15:00 Europe/Paris").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Final, cast, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from sellerpay.errors import InvalidInput
from sellerpay.rails.instructions import RailName

__all__ = [
    "DEFAULT_CUTOFFS",
    "CutOff",
    "arrival_date",
    "bacs_processing_date",
    "banking_days_between",
    "cutoff_of",
    "execution_date",
    "is_banking_day",
    "local_date",
    "next_banking_day",
    "parse_cutoff",
]

banking_days_between_max: Final = 3_660  # ten years of days: a bound on every walk
_EVERY_DAY: Final[frozenset[RailName]] = frozenset({"sepa_instant", "fps", "provider"})
_RAILS: Final[frozenset[str]] = frozenset(get_args(RailName))
_ZENGIN_BANK_HOLIDAYS: Final = ((12, 31), (1, 2), (1, 3))  # beside Japan's national holidays
_CUTOFF_TEXT: Final = re.compile(r"(?P<hour>[01][0-9]|2[0-3]):(?P<minute>[0-5][0-9]) (?P<zone>\S+)")


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"{name!r} is not an IANA time zone", code="invalid_cutoff", field="zone"
        ) from None


@dataclass(frozen=True, slots=True)
class CutOff:
    """The time of day, in the rail's time zone, after which a submission waits a banking day."""

    at: time
    zone: str

    def __post_init__(self) -> None:
        if self.at.tzinfo is not None:
            raise InvalidInput(
                "a cut-off is a wall-clock time; the zone goes in `zone`",
                code="invalid_cutoff",
                field="at",
            )
        _zone(self.zone)

    def __str__(self) -> str:
        return f"{self.at:%H:%M} {self.zone}"


DEFAULT_CUTOFFS: Final[Mapping[RailName, CutOff]] = {
    "sepa": CutOff(time(15, 0), "Europe/Paris"),
    "ach": CutOff(time(14, 0), "America/New_York"),
    "zengin": CutOff(time(14, 0), "Asia/Tokyo"),
    "bacs": CutOff(time(20, 30), "Europe/London"),
}
"""The rails with a cut-off; the instant rails and providers take submissions at any time."""

_LOCAL_ZONES: Final[Mapping[RailName, str]] = {
    "sepa": "Europe/Paris",
    "sepa_instant": "Europe/Paris",
    "ach": "America/New_York",
    "zengin": "Asia/Tokyo",
    "bacs": "Europe/London",
    "fps": "Europe/London",
    "provider": "UTC",
}
"""Whose today a submission belongs to, on rails without a cut-off."""


def parse_cutoff(text: str) -> CutOff:
    """`"15:00 Europe/Paris"` → `CutOff(15:00, "Europe/Paris")`; `InvalidInput` otherwise."""
    match = _CUTOFF_TEXT.fullmatch(text.strip())
    if match is None:
        raise InvalidInput(
            f"{text!r} is not a cut-off: write HH:MM and an IANA zone, e.g. '15:00 Europe/Paris'",
            code="invalid_cutoff",
            field="cutoff",
        )
    return CutOff(time(int(match["hour"]), int(match["minute"])), match["zone"])


def _check_rail(rail: str) -> RailName:
    if rail not in _RAILS:
        raise InvalidInput(
            f"{rail!r} is not a rail: one of {', '.join(sorted(_RAILS))}",
            code="unknown_rail",
            field="rail",
        )
    return cast(RailName, rail)


# --- holidays -------------------------------------------------------------------------------


@lru_cache(maxsize=512)
def _holidays(rail: RailName, year: int) -> frozenset[date]:
    """The closing days of `rail` in `year` (cached: holiday objects are slow and not
    thread-safe while they grow, a frozenset is both fast and safe)."""
    calendar: Mapping[date, str]
    if rail == "sepa":
        calendar = holidays.financial_holidays("ECB", years=year)
    elif rail == "ach":
        calendar = holidays.financial_holidays("FED", years=year)
    elif rail == "zengin":
        calendar = holidays.country_holidays("JP", years=year)
        extra = {date(year, month, day) for month, day in _ZENGIN_BANK_HOLIDAYS}
        return frozenset(calendar) | extra
    elif rail == "bacs":
        calendar = holidays.country_holidays("GB", subdiv="ENG", years=year)
    else:
        return frozenset()
    return frozenset(calendar)


def is_banking_day(rail: RailName, day: date) -> bool:
    """Whether `rail` moves money on `day`: instant rails every day, others Monday to Friday
    except their holidays."""
    rail = _check_rail(rail)
    if rail in _EVERY_DAY:
        return True
    return day.weekday() < 5 and day not in _holidays(rail, day.year)


def next_banking_day(rail: RailName, day: date) -> date:
    """The first banking day of `rail` strictly after `day`."""
    candidate = day + timedelta(days=1)
    for _ in range(banking_days_between_max):
        if is_banking_day(rail, candidate):
            return candidate
        candidate += timedelta(days=1)
    raise AssertionError(f"{rail} has no banking day for ten years after {day}")  # pragma: no cover


def banking_day_on_or_after(rail: RailName, day: date) -> date:
    """`day` if it is a banking day of `rail`, else the next one."""
    return day if is_banking_day(rail, day) else next_banking_day(rail, day)


def banking_days_between(rail: RailName, start: date, end: date) -> int:
    """The banking days of `rail` in (`start`, `end`]: 0 when `end` is not after `start`.

    E.g. from a Friday to the next Monday on sepa is 1. Bounded by `banking_days_between_max`
    calendar days, past which it refuses rather than loop for ever.
    """
    if end <= start:
        return 0
    if (end - start).days > banking_days_between_max:
        raise InvalidInput(
            f"more than {banking_days_between_max} days between {start} and {end}",
            code="date_range_too_long",
            field="end",
        )
    days = (start + timedelta(days=n) for n in range(1, (end - start).days + 1))
    return sum(1 for day in days if is_banking_day(rail, day))


# --- cut-offs and execution dates -----------------------------------------------------------


def cutoff_of(rail: RailName, cutoffs: Mapping[str, CutOff] | None = None) -> CutOff | None:
    """The cut-off of `rail`: from `cutoffs` if it names the rail, else the default (None:
    submissions are taken at any time)."""
    rail = _check_rail(rail)
    if cutoffs is not None and rail in cutoffs:
        return cutoffs[rail]
    return DEFAULT_CUTOFFS.get(rail)


def execution_date(
    rail: RailName, now: datetime, *, cutoffs: Mapping[str, CutOff] | None = None
) -> date:
    """The date a payout submitted at `now` is executed on `rail` (see the module's table).

    Today in the rail's time zone if that is a banking day and `now` is before the cut-off,
    else the next banking day. Never before today there.
    """
    if now.tzinfo is None:
        raise InvalidInput("now must carry a time zone", code="naive_datetime", field="now")
    cutoff = cutoff_of(rail, cutoffs)
    local = now.astimezone(_zone(cutoff.zone if cutoff is not None else _LOCAL_ZONES[rail]))
    today = local.date()
    if not is_banking_day(rail, today):
        return next_banking_day(rail, today)
    if cutoff is not None and local.time() >= cutoff.at:
        return next_banking_day(rail, today)
    return today


def local_date(
    rail: RailName, now: datetime, *, cutoffs: Mapping[str, CutOff] | None = None
) -> date:
    """Today on `rail` at `now`: the date in the zone of its cut-off (or of its country)."""
    if now.tzinfo is None:
        raise InvalidInput("now must carry a time zone", code="naive_datetime", field="now")
    cutoff = cutoff_of(rail, cutoffs)
    return now.astimezone(_zone(cutoff.zone if cutoff is not None else _LOCAL_ZONES[rail])).date()


def bacs_processing_date(input_day: date) -> date:
    """Day 2 of the Bacs cycle submitted on `input_day` (day 1): the Standard 18 processing
    date, the first banking day after the input day."""
    return next_banking_day("bacs", input_day)


def arrival_date(rail: RailName, executed_on: date) -> date:
    """The banking day by which the seller's bank has the money of a payout executed on
    `executed_on` under the scheme's rules: bacs day 3, sepa the next banking day (D+1), the
    other rails the day itself."""
    rail = _check_rail(rail)
    if rail == "bacs":
        return next_banking_day("bacs", bacs_processing_date(executed_on))
    if rail == "sepa":
        return next_banking_day("sepa", executed_on)
    return executed_on
