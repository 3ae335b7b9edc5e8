"""Payout schedules: which runs pay a balance, month ends (30-day months, February, leap years),
catching up a due day no run saw, and schedules whose fields do not fit refused by name."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sellerpay.money import Money
from sellerpay.payouts.schedules import (
    LAST_DAY,
    Interval,
    InvalidSchedule,
    PayoutSchedule,
    due_date_in_month,
    is_due,
    next_due_date,
    previous_due_date,
)

FLOOR = Money(2_500, "EUR")
DAILY = PayoutSchedule.daily(FLOOR)
MONDAYS = PayoutSchedule.weekly(0, FLOOR)
ON_THE_31ST = PayoutSchedule.monthly(31, FLOOR)
LAST_OF_MONTH = PayoutSchedule.monthly("last", FLOOR)
MANUAL = PayoutSchedule.manual(FLOOR)


def test_text_from_the_database_becomes_an_interval_and_last_is_day_zero() -> None:
    stored = PayoutSchedule(interval="monthly", day_of_month=0, minimum=FLOOR)

    assert stored.interval is Interval.MONTHLY
    assert stored == LAST_OF_MONTH and LAST_OF_MONTH.day_of_month == LAST_DAY


# --- month ends ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "year", "month", "due"),
    [
        (31, 2026, 4, date(2026, 4, 30)),  # a 30-day month
        (31, 2027, 2, date(2027, 2, 28)),
        (30, 2028, 2, date(2028, 2, 29)),  # a leap year
        (29, 2100, 2, date(2100, 2, 28)),  # not a leap year (a century)
        (29, 2000, 2, date(2000, 2, 29)),  # a leap year (divisible by 400)
        (LAST_DAY, 2026, 6, date(2026, 6, 30)),
        (15, 2026, 2, date(2026, 2, 15)),
    ],
)
def test_a_day_past_the_months_end_falls_on_its_last_day(
    day: int, year: int, month: int, due: date
) -> None:
    assert due_date_in_month(day, year, month) == due


def test_monthly_on_the_31st_is_paid_in_every_month_in_turn() -> None:
    dues = [date(2027, 1, 1)]
    for _ in range(4):
        following = next_due_date(ON_THE_31ST, dues[-1])
        assert following is not None
        dues.append(following)

    assert dues[1:] == [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]


def test_the_next_due_date_of_each_interval() -> None:
    wednesday = date(2026, 11, 25)

    assert next_due_date(DAILY, wednesday) == date(2026, 11, 26)
    assert next_due_date(MONDAYS, wednesday) == date(2026, 11, 30)
    assert next_due_date(MONDAYS, date(2026, 11, 30)) == date(2026, 12, 7)  # strictly after
    assert next_due_date(LAST_OF_MONTH, date(2028, 2, 28)) == date(2028, 2, 29)
    assert next_due_date(LAST_OF_MONTH, date(2026, 12, 31)) == date(2027, 1, 31)
    assert next_due_date(MANUAL, wednesday) is None


# --- is_due ---------------------------------------------------------------------------------


def test_daily_is_due_once_a_day() -> None:
    today = date(2026, 11, 25)

    assert is_due(DAILY, today, None)
    assert is_due(DAILY, today, today - timedelta(days=1))
    assert not is_due(DAILY, today, today)  # this day's run already paid it


def test_weekly_is_due_on_its_weekday_and_catches_up_a_missed_one() -> None:
    monday, tuesday, wednesday = date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2)

    assert is_due(MONDAYS, monday, None)
    assert not is_due(MONDAYS, tuesday, None)
    assert is_due(MONDAYS, tuesday, date(2026, 11, 27))  # Monday's run did not happen
    assert not is_due(MONDAYS, wednesday, monday)  # Monday's run paid it


def test_monthly_on_the_31st_is_due_on_the_30th_of_a_30_day_month() -> None:
    assert is_due(ON_THE_31ST, date(2026, 4, 30), None)
    assert not is_due(ON_THE_31ST, date(2026, 4, 29), None)
    assert is_due(ON_THE_31ST, date(2026, 5, 1), date(2026, 4, 29))  # the 30th was missed
    assert not is_due(ON_THE_31ST, date(2026, 5, 1), date(2026, 4, 30))


def test_manual_is_never_due_from_a_run() -> None:
    assert not is_due(MANUAL, date(2026, 11, 25), None)
    assert not is_due(MANUAL, date(2026, 11, 25), date(2020, 1, 1))
    assert previous_due_date(MANUAL, date(2026, 11, 25)) is None


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"interval": "fortnightly"}, "interval"),
        ({"interval": "weekly"}, "weekday"),
        ({"interval": "weekly", "weekday": 7}, "weekday"),
        ({"interval": "weekly", "weekday": True}, "weekday"),
        ({"interval": "daily", "weekday": 0}, "weekday"),
        ({"interval": "monthly"}, "day_of_month"),
        ({"interval": "monthly", "day_of_month": 32}, "day_of_month"),
        ({"interval": "monthly", "day_of_month": -1}, "day_of_month"),
        ({"interval": "manual", "day_of_month": 1}, "day_of_month"),
        ({"interval": "daily", "minimum": Money(-1, "EUR")}, "minimum"),
        ({"interval": "daily", "minimum": 2500}, "minimum"),
    ],
)
def test_a_schedule_whose_fields_do_not_fit_is_refused_naming_the_field(
    fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidSchedule) as refused:
        PayoutSchedule(**{"minimum": FLOOR, **fields})

    assert refused.value.code == "invalid_payout_schedule"
    assert refused.value.context["field"] == field
    assert refused.value.status == 422


# --- properties -----------------------------------------------------------------------------

days = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))
schedules = st.one_of(
    st.just(DAILY),
    st.integers(0, 6).map(lambda weekday: PayoutSchedule.weekly(weekday, FLOOR)),
    st.integers(0, 31).map(lambda day: PayoutSchedule.monthly(day, FLOOR)),
)
monthly = st.integers(0, 31).map(lambda day: PayoutSchedule.monthly(day, FLOOR))


@given(schedules, days)
def test_the_next_due_date_is_after_the_date_and_nothing_is_due_in_between(
    schedule: PayoutSchedule, after: date
) -> None:
    following = next_due_date(schedule, after)

    assert following is not None and following > after
    assert previous_due_date(schedule, following) == following
    before = previous_due_date(schedule, following - timedelta(days=1))
    assert before is not None and before <= after  # none due in (after, following)
    assert is_due(schedule, following, None)
    assert (following - after).days <= 31


@given(monthly, days, st.integers(1, 30))
def test_monthly_due_dates_never_skip_a_month(
    schedule: PayoutSchedule, start: date, count: int
) -> None:
    dues: list[date] = []
    after = start
    for _ in range(count):
        following = next_due_date(schedule, after)
        assert following is not None
        dues.append(following)
        after = following

    months = [(d.year, d.month) for d in dues]
    for (year, month), (next_year, next_month) in pairwise(months):
        assert (next_year * 12 + next_month) - (year * 12 + month) == 1


@given(schedules, days, st.integers(1, 60))
def test_a_run_every_day_pays_exactly_on_the_due_dates(
    schedule: PayoutSchedule, start: date, length: int
) -> None:
    """Daily runs, each remembering the day before: due exactly when a due date falls."""
    last_run: date | None = start
    for offset in range(1, length + 1):
        today = start + timedelta(days=offset)
        assert is_due(schedule, today, last_run) == (previous_due_date(schedule, today) == today)
        last_run = today


@given(schedules, days, st.integers(1, 90))
def test_a_gap_between_runs_pays_once_if_any_due_date_fell_in_it(
    schedule: PayoutSchedule, last_run: date, gap: int
) -> None:
    today = last_run + timedelta(days=gap)
    following = next_due_date(schedule, last_run)

    assert following is not None
    assert is_due(schedule, today, last_run) == (following <= today)
    assert not is_due(schedule, today, today)
