"""Splitting an amount by ratios: shares add up exactly, remainders go where they are largest."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sellerpay.errors import InvalidInput, LimitExceeded
from sellerpay.money import ALLOCATION_RATIOS_MAX, InvalidAmount, Money, allocate


def eur(amount_minor: int) -> Money:
    return Money.of_minor(amount_minor, "EUR")


def minors(shares: list[Money]) -> list[int]:
    return [share.amount_minor for share in shares]


def test_a_euro_split_three_ways_gives_the_extra_cent_to_the_first_share() -> None:
    assert allocate(eur(100), [1, 1, 1]) == [eur(34), eur(33), eur(33)]
    assert eur(100).allocate([1, 1, 1]) == [eur(34), eur(33), eur(33)]


@pytest.mark.parametrize(
    ("total_minor", "ratios", "shares"),
    [
        (100, [1], [100]),
        (100, [1, 1], [50, 50]),
        (101, [1, 1], [51, 50]),  # tie: the earliest share gets the cent
        (5, [1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0]),
        (100, [70, 20, 10], [70, 20, 10]),
        (1000, [1, 2, 3], [167, 333, 500]),  # 166.67, 333.33, 500: largest fraction first
        (10, [3, 3, 4], [3, 3, 4]),
        (7, [0, 1, 0, 1], [0, 4, 0, 3]),  # a zero ratio gets exactly zero
        (2, [1, 1, 1], [1, 1, 0]),
        (0, [1, 2], [0, 0]),
        (1, [999_999, 1], [1, 0]),
    ],
)
def test_allocation_follows_the_largest_remainder_method(
    total_minor: int, ratios: list[int], shares: list[int]
) -> None:
    assert minors(allocate(eur(total_minor), ratios)) == shares


def test_a_negative_total_splits_as_the_mirror_of_the_positive_one() -> None:
    assert minors(allocate(eur(-100), [1, 1, 1])) == [-34, -33, -33]
    assert minors(allocate(eur(-1000), [1, 2, 3])) == [-167, -333, -500]


def test_shares_keep_the_currency_of_the_total() -> None:
    shares = allocate(Money(1000, "JPY"), [1, 2])
    assert shares == [Money(333, "JPY"), Money(667, "JPY")]


@pytest.mark.parametrize(
    ("ratios", "error_code"),
    [
        ([], "allocation_ratios_empty"),
        ((), "allocation_ratios_empty"),
        ([0, 0, 0], "allocation_ratios_all_zero"),
        ([0], "allocation_ratios_all_zero"),
        ([1, -1], "allocation_ratio_negative"),
        ([-1, -1], "allocation_ratio_negative"),
        ([1.5, 1], "allocation_ratio_not_int"),
        ([1, 0.5], "allocation_ratio_not_int"),
        ([True, False], "allocation_ratio_not_int"),
        ([Fraction(1, 2)], "allocation_ratio_not_int"),
        ("11", "allocation_ratio_not_int"),
        (None, "allocation_ratio_not_int"),
    ],
)
def test_ratios_that_cannot_split_an_amount_are_refused(ratios: object, error_code: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        allocate(eur(100), ratios)  # type: ignore[arg-type]
    assert raised.value.code == error_code


def test_too_many_ratios_hit_a_named_limit() -> None:
    with pytest.raises(LimitExceeded) as raised:
        allocate(eur(100), [1] * (ALLOCATION_RATIOS_MAX + 1))
    assert raised.value.code == "allocation_ratios_max"
    assert len(allocate(eur(100), [1] * ALLOCATION_RATIOS_MAX)) == ALLOCATION_RATIOS_MAX


def test_only_money_is_allocated() -> None:
    with pytest.raises(InvalidAmount):
        allocate(100, [1, 1])  # type: ignore[arg-type]


ratio_lists = st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=30).filter(
    any
)
totals_minor = st.one_of(
    st.integers(min_value=-1000, max_value=1000),
    st.integers(min_value=-(10**15), max_value=10**15),
)


@settings(max_examples=300)
@given(total_minor=totals_minor, ratios=ratio_lists)
def test_shares_add_up_to_the_total_and_stay_within_a_cent_of_their_exact_value(
    total_minor: int, ratios: list[int]
) -> None:
    shares = minors(allocate(eur(total_minor), ratios))
    assert len(shares) == len(ratios)
    assert sum(shares) == total_minor
    for share, ratio in zip(shares, ratios, strict=True):
        exact = Fraction(total_minor * ratio, sum(ratios))
        assert abs(share - exact) < 1
        if ratio == 0:
            assert share == 0


@given(total_minor=totals_minor, ratios=ratio_lists)
def test_allocation_is_deterministic_and_symmetric_in_sign(
    total_minor: int, ratios: list[int]
) -> None:
    shares = minors(allocate(eur(total_minor), ratios))
    assert shares == minors(allocate(eur(total_minor), tuple(ratios)))
    assert minors(allocate(eur(-total_minor), ratios)) == [-share for share in shares]
