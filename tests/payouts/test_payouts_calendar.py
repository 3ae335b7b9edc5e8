"""Banking calendars of the rails: known holidays, weekends, cut-offs in each rail's own time
zone, and execution dates that are always banking days and never before the day of asking."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sellerpay.errors import InvalidInput
from sellerpay.payouts.calendar import (
    DEFAULT_CUTOFFS,
    CutOff,
    arrival_date,
    bacs_processing_date,
    banking_days_between,
    cutoff_of,
    execution_date,
    is_banking_day,
    local_date,
    next_banking_day,
    parse_cutoff,
)
from sellerpay.rails.instructions import RailName

RAILS: tuple[RailName, ...] = get_args(RailName)
INSTANT: tuple[RailName, ...] = ("sepa_instant", "fps", "provider")
CLOSED_ON_WEEKENDS: tuple[RailName, ...] = ("sepa", "ach", "zengin", "bacs")


@pytest.mark.parametrize(
    ("rail", "holiday"),
    [
        ("sepa", date(2026, 12, 25)),  # TARGET: Christmas
        ("sepa", date(2025, 12, 26)),  # TARGET: 26 December (a Friday in 2025)
        ("sepa", date(2027, 1, 1)),  # TARGET: New Year
        ("sepa", date(2026, 4, 3)),  # TARGET: Good Friday
        ("sepa", date(2026, 4, 6)),  # TARGET: Easter Monday
        ("sepa", date(2026, 5, 1)),  # TARGET: Labour Day
        ("ach", date(2026, 11, 26)),  # Thanksgiving
        ("ach", date(2027, 7, 5)),  # Independence Day on a Sunday: observed Monday
        ("ach", date(2026, 6, 19)),  # Juneteenth
        ("zengin", date(2027, 1, 1)),  # New Year (national)
        ("zengin", date(2027, 1, 2)),  # bank holiday (a Saturday in 2027 anyway)
        ("zengin", date(2027, 1, 3)),  # bank holiday
        ("zengin", date(2026, 1, 2)),  # bank holiday on a Friday
        ("zengin", date(2026, 12, 31)),  # bank holiday on a Thursday
        ("zengin", date(2026, 5, 6)),  # Constitution Day's substitute holiday
        ("bacs", date(2026, 12, 28)),  # Boxing Day on a Saturday: substitute Monday
        ("bacs", date(2026, 8, 31)),  # Summer bank holiday (England)
    ],
)
def test_known_holidays_are_closed(rail: RailName, holiday: date) -> None:
    assert not is_banking_day(rail, holiday)


@pytest.mark.parametrize(
    ("rail", "open_day"),
    [
        ("ach", date(2026, 7, 3)),  # 4 July 2026 is a Saturday: the Fed is open the Friday
        ("ach", date(2027, 12, 24)),  # Christmas 2027 on a Saturday: Fed open on the 24th
        ("ach", date(2027, 12, 31)),  # New Year 2028 on a Saturday: Fed open on the 31st
        ("sepa", date(2026, 12, 24)),  # TARGET is open on Christmas Eve
        ("sepa", date(2026, 11, 26)),  # Thanksgiving is not a TARGET holiday
        ("bacs", date(2026, 11, 26)),
        ("zengin", date(2027, 1, 4)),  # the first banking day of 2027 in Japan
        ("bacs", date(2026, 8, 3)),  # Scotland's summer holiday is not England's
    ],
)
def test_other_countries_holidays_and_saturday_holidays_do_not_close_a_rail(
    rail: RailName, open_day: date
) -> None:
    assert is_banking_day(rail, open_day)


@pytest.mark.parametrize("rail", CLOSED_ON_WEEKENDS)
def test_weekends_are_closed_except_on_instant_rails(rail: RailName) -> None:
    saturday, sunday = date(2026, 11, 28), date(2026, 11, 29)

    assert not is_banking_day(rail, saturday) and not is_banking_day(rail, sunday)
    assert all(is_banking_day(instant, d) for instant in INSTANT for d in (saturday, sunday))
    assert all(is_banking_day(i, date(2026, 12, 25)) for i in INSTANT)


def test_the_next_banking_day_skips_weekends_and_holidays() -> None:
    assert next_banking_day("sepa", date(2026, 12, 24)) == date(2026, 12, 28)
    assert next_banking_day("bacs", date(2026, 12, 24)) == date(2026, 12, 29)
    assert next_banking_day("ach", date(2026, 11, 25)) == date(2026, 11, 27)
    assert next_banking_day("zengin", date(2026, 12, 30)) == date(2027, 1, 4)
    assert next_banking_day("fps", date(2026, 12, 24)) == date(2026, 12, 25)


def test_banking_days_between_counts_the_open_days_after_the_start_up_to_the_end() -> None:
    assert banking_days_between("sepa", date(2026, 12, 24), date(2026, 12, 28)) == 1
    assert banking_days_between("sepa", date(2026, 12, 21), date(2026, 12, 31)) == 7  # 22-24, 28-31
    assert banking_days_between("fps", date(2026, 12, 21), date(2026, 12, 31)) == 10
    assert banking_days_between("ach", date(2026, 12, 31), date(2026, 12, 1)) == 0


def test_a_range_longer_than_the_bound_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        banking_days_between("sepa", date(2000, 1, 1), date(2030, 1, 1))

    assert refused.value.code == "date_range_too_long"


# --- execution dates and cut-offs -----------------------------------------------------------


def paris(hour: int, minute: int = 0, day: date = date(2026, 11, 25)) -> datetime:
    return datetime.combine(day, time(hour, minute), timezone(timedelta(hours=1)))


def test_before_the_cut_off_on_a_banking_day_a_payout_executes_today() -> None:
    assert execution_date("sepa", paris(14, 59)) == date(2026, 11, 25)


def test_at_or_after_the_cut_off_it_executes_the_next_banking_day() -> None:
    assert execution_date("sepa", paris(15, 0)) == date(2026, 11, 26)
    assert execution_date("sepa", paris(15, 0, day=date(2026, 12, 24))) == date(2026, 12, 28)


def test_the_cut_off_is_read_in_the_rails_own_time_zone() -> None:
    # 18:30 UTC on Wednesday 25 Nov is 13:30 in New York (before ACH's 14:00) ...
    assert execution_date("ach", datetime(2026, 11, 25, 18, 30, tzinfo=UTC)) == date(2026, 11, 25)
    # ... and 19:00 UTC is 14:00 there: the next banking day, which skips Thanksgiving.
    assert execution_date("ach", datetime(2026, 11, 25, 19, 0, tzinfo=UTC)) == date(2026, 11, 27)
    # 23:30 UTC on Wednesday is already 08:30 on Thursday in Tokyo.
    assert execution_date("zengin", datetime(2026, 11, 25, 23, 30, tzinfo=UTC)) == date(
        2026, 11, 26
    )


def test_on_a_closed_day_it_executes_the_next_banking_day_whatever_the_time() -> None:
    saturday_morning = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)

    assert execution_date("sepa", saturday_morning) == date(2026, 11, 30)
    assert execution_date("zengin", datetime(2026, 12, 31, 1, 0, tzinfo=UTC)) == date(2027, 1, 4)


def test_instant_rails_execute_today_at_any_hour_of_any_day() -> None:
    christmas_night = datetime(2026, 12, 25, 22, 59, tzinfo=UTC)

    assert execution_date("sepa_instant", christmas_night) == date(2026, 12, 25)
    assert execution_date("fps", christmas_night) == date(2026, 12, 25)
    assert execution_date("provider", christmas_night) == date(2026, 12, 25)
    assert cutoff_of("fps") is None


def test_a_deployment_overrides_a_cut_off_for_its_bank() -> None:
    later = {"sepa": parse_cutoff("17:30 Europe/Paris")}

    assert execution_date("sepa", paris(16, 0), cutoffs=later) == date(2026, 11, 25)
    assert execution_date("sepa", paris(16, 0)) == date(2026, 11, 26)
    assert cutoff_of("ach", later) == DEFAULT_CUTOFFS["ach"]
    assert str(later["sepa"]) == "17:30 Europe/Paris"


@pytest.mark.parametrize(
    "text", ["25:00 Europe/Paris", "15:00", "15h Europe/Paris", "15:00 Mars/Olympus"]
)
def test_a_cut_off_that_cannot_be_read_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_cutoff(text)

    assert refused.value.code == "invalid_cutoff"


def test_a_naive_time_or_an_unknown_rail_is_refused_naming_it() -> None:
    with pytest.raises(InvalidInput) as naive:
        execution_date("sepa", datetime(2026, 11, 25, 10, 0))
    with pytest.raises(InvalidInput) as unknown:
        is_banking_day("swift", date(2026, 11, 25))  # type: ignore[arg-type]

    assert naive.value.context["field"] == "now"
    assert unknown.value.code == "unknown_rail" and unknown.value.context["field"] == "rail"


def test_a_cut_off_with_its_own_zone_in_the_time_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        CutOff(time(15, 0, tzinfo=UTC), "Europe/Paris")

    assert refused.value.context["field"] == "at"


def test_bacs_runs_a_three_day_cycle_and_sepa_credits_by_the_next_banking_day() -> None:
    thursday = date(2026, 12, 24)

    assert bacs_processing_date(thursday) == date(2026, 12, 29)  # 25, 26-28 closed
    assert arrival_date("bacs", thursday) == date(2026, 12, 30)
    assert arrival_date("sepa", thursday) == date(2026, 12, 28)
    assert arrival_date("ach", thursday) == thursday
    assert arrival_date("fps", thursday) == thursday


# --- properties -----------------------------------------------------------------------------

moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
)
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))


@given(st.sampled_from(RAILS), moments)
def test_an_execution_date_is_a_banking_day_never_before_the_day_of_asking(
    rail: RailName, now: datetime
) -> None:
    executed = execution_date(rail, now)
    today = local_date(rail, now)

    assert is_banking_day(rail, executed)
    assert executed >= today
    assert abs((today - now.date()).days) <= 1  # a rail's today is UTC's, give or take a day
    assert (executed - today).days <= 6  # no rail closes for longer (Japan's New Year: 5)
    if rail in INSTANT:
        assert executed == today


@given(st.sampled_from(RAILS), days)
def test_the_next_banking_day_is_the_first_open_day_after(rail: RailName, day: date) -> None:
    following = next_banking_day(rail, day)

    assert following > day and is_banking_day(rail, following)
    assert not any(
        is_banking_day(rail, day + timedelta(days=n)) for n in range(1, (following - day).days)
    )
    assert banking_days_between(rail, day, following) == 1
