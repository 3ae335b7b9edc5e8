"""Payout schedules: how often a seller's balance in one currency is paid, and the least amount
worth a payout. Pure: dates in, dates out.

    daily      due every day the payout run runs
    weekly     due on `weekday` (0 = Monday … 6 = Sunday)
    monthly    due on `day_of_month` (1..31); a day past the month's end falls on its last
               day (31 → 30 April, 28 or 29 February); `LAST_DAY` (0) is always the last day
    manual     never due from a payout run: only payouts asked for on demand

A run that did not happen on a due day is caught up by the next run: `is_due` looks for a due
date after the seller's last run, not only at the run's own day.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Final, Literal

from sellerpay.errors import InvalidInput
from sellerpay.money import Money

__all__ = [
    "LAST_DAY",
    "Interval",
    "InvalidSchedule",
    "PayoutSchedule",
    "due_date_in_month",
    "is_due",
    "next_due_date",
    "previous_due_date",
]

LAST_DAY: Final = 0
"""`day_of_month` of a monthly schedule paying on the last day of every month."""
day_of_month_max: Final = 31
weekday_max: Final = 6


class Interval(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    MANUAL = "manual"


class InvalidSchedule(InvalidInput):
    """A schedule whose fields do not fit together; `field` names the one at fault."""

    default_code = "invalid_payout_schedule"


@dataclass(frozen=True, slots=True)
class PayoutSchedule:
    """How often a balance is paid out, and the least amount worth a payout.

    `interval` is an `Interval` (text is accepted and converted); `weekday` is set for weekly
    schedules only, `day_of_month` for monthly ones only (1..31, or `LAST_DAY`). Built with
    the wrong fields for its interval, it raises `InvalidSchedule` naming the field.
    """

    interval: str
    minimum: Money
    weekday: int | None = None
    day_of_month: int | None = None

    def __post_init__(self) -> None:
        try:
            interval = Interval(self.interval)
        except ValueError:
            raise InvalidSchedule(
                f"interval {self.interval!r} is not one of {', '.join(i.value for i in Interval)}",
                field="interval",
            ) from None
        object.__setattr__(self, "interval", interval)
        _check_minimum(self.minimum)
        _check_weekday(interval, self.weekday)
        _check_day_of_month(interval, self.day_of_month)

    @classmethod
    def daily(cls, minimum: Money) -> PayoutSchedule:
        return cls(Interval.DAILY, minimum)

    @classmethod
    def weekly(cls, weekday: int, minimum: Money) -> PayoutSchedule:
        return cls(Interval.WEEKLY, minimum, weekday=weekday)

    @classmethod
    def monthly(cls, day: int | Literal["last"], minimum: Money) -> PayoutSchedule:
        """Monthly on `day` (1..31) or on the `"last"` day of every month."""
        return cls(Interval.MONTHLY, minimum, day_of_month=LAST_DAY if day == "last" else day)

    @classmethod
    def manual(cls, minimum: Money) -> PayoutSchedule:
        return cls(Interval.MANUAL, minimum)


def _check_minimum(minimum: Money) -> None:
    if not isinstance(minimum, Money):
        raise InvalidSchedule("minimum must be Money", field="minimum")
    if minimum.amount_minor < 0:
        raise InvalidSchedule(f"minimum {minimum} is negative", field="minimum")


def _check_weekday(interval: Interval, weekday: int | None) -> None:
    if interval is not Interval.WEEKLY:
        if weekday is not None:
            raise InvalidSchedule(f"a {interval.value} schedule has no weekday", field="weekday")
        return
    if type(weekday) is not int or not 0 <= weekday <= weekday_max:
        raise InvalidSchedule(
            f"a weekly schedule needs a weekday 0 (Monday) to {weekday_max} (Sunday), "
            f"not {weekday!r}",
            field="weekday",
        )


def _check_day_of_month(interval: Interval, day: int | None) -> None:
    if interval is not Interval.MONTHLY:
        if day is not None:
            raise InvalidSchedule(
                f"a {interval.value} schedule has no day of the month", field="day_of_month"
            )
        return
    if type(day) is not int or not LAST_DAY <= day <= day_of_month_max:
        raise InvalidSchedule(
            f"a monthly schedule needs a day of the month 1 to {day_of_month_max}, or "
            f"{LAST_DAY} for the last day, not {day!r}",
            field="day_of_month",
        )


# --- due dates ------------------------------------------------------------------------------


def due_date_in_month(day_of_month: int, year: int, month: int) -> date:
    """The day a monthly schedule pays in `year`-`month`: `day_of_month`, or the month's last
    day when the month is shorter or `day_of_month` is `LAST_DAY`."""
    last = calendar.monthrange(year, month)[1]
    return date(year, month, last if day_of_month == LAST_DAY else min(day_of_month, last))


def _month_after(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def _month_before(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def next_due_date(schedule: PayoutSchedule, after: date) -> date | None:
    """The first due date strictly after `after`; None for a manual schedule (never due).

    Monthly dates fall in every month in turn: from 31 January, day 31 is next due on the
    28th (or 29th) of February, then on 31 March.
    """
    if schedule.interval is Interval.MANUAL:
        return None
    if schedule.interval is Interval.DAILY:
        return after + timedelta(days=1)
    if schedule.interval is Interval.WEEKLY:
        assert schedule.weekday is not None  # checked when the schedule was built
        return after + timedelta(days=(schedule.weekday - after.weekday() - 1) % 7 + 1)
    assert schedule.day_of_month is not None
    this_month = due_date_in_month(schedule.day_of_month, after.year, after.month)
    if this_month > after:
        return this_month
    return due_date_in_month(schedule.day_of_month, *_month_after(after.year, after.month))


def previous_due_date(schedule: PayoutSchedule, on: date) -> date | None:
    """The last due date on or before `on`; None for a manual schedule."""
    if schedule.interval is Interval.MANUAL:
        return None
    if schedule.interval is Interval.DAILY:
        return on
    if schedule.interval is Interval.WEEKLY:
        assert schedule.weekday is not None
        return on - timedelta(days=(on.weekday() - schedule.weekday) % 7)
    assert schedule.day_of_month is not None
    this_month = due_date_in_month(schedule.day_of_month, on.year, on.month)
    if this_month <= on:
        return this_month
    return due_date_in_month(schedule.day_of_month, *_month_before(on.year, on.month))


def is_due(schedule: PayoutSchedule, on: date, last_run_on: date | None) -> bool:
    """Whether a payout run on `on` pays this balance.

    `last_run_on` is the day of the last run that paid or considered it (None: never). Due
    when a due date falls after that run and on or before `on`, so a due day that no run saw
    is paid by the next run; without a last run, only on a due date itself. Manual: never.
    """
    if last_run_on is not None and last_run_on >= on:
        return False  # already run today (or a run of a later day was made)
    previous = previous_due_date(schedule, on)
    if previous is None:
        return False
    if last_run_on is None:
        return previous == on
    return previous > last_run_on
