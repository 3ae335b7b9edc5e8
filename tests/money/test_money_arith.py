"""Money arithmetic: exact, single-currency, no floats; fees in basis points and percent."""

from __future__ import annotations

import decimal
import operator
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sellerpay.errors import InvalidInput
from sellerpay.money import (
    AMOUNT_MINOR_MAX,
    CurrencyMismatch,
    InvalidAmount,
    Money,
    RoundingMode,
    TooManyDecimals,
    UnknownCurrency,
    sum_money,
)


def eur(amount_minor: int) -> Money:
    return Money.of_minor(amount_minor, "EUR")


amounts_minor = st.integers(min_value=-(10**15), max_value=10**15)
rounding_modes = st.sampled_from(list(RoundingMode))

# -- construction ---------------------------------------------------------------------------


def test_money_is_minor_units_of_one_currency() -> None:
    price = Money.of_minor(1234, "EUR")
    assert price == Money(1234, "EUR")
    assert price.amount_minor == 1234
    assert price.currency == "EUR"
    assert price.exponent == 2
    assert Money.zero("JPY") == Money(0, "JPY")


@pytest.mark.parametrize(
    "not_minor_units",
    [1.0, 12.34, float("nan"), float("inf"), True, False, Decimal("12"), "12", None, Fraction(1)],
)
def test_money_refuses_anything_but_an_int_of_minor_units(not_minor_units: object) -> None:
    with pytest.raises(InvalidAmount) as raised:
        Money(not_minor_units, "EUR")  # type: ignore[arg-type]
    assert raised.value.code == "invalid_amount"
    with pytest.raises(InvalidAmount):
        Money.of_minor(not_minor_units, "EUR")  # type: ignore[arg-type]


def test_money_in_an_unknown_currency_is_refused() -> None:
    with pytest.raises(UnknownCurrency):
        Money(100, "EUROS")
    with pytest.raises(UnknownCurrency):
        Money.zero("eur")


def test_an_amount_beyond_what_a_bigint_column_holds_is_refused_where_it_appears() -> None:
    assert Money(AMOUNT_MINOR_MAX, "EUR").amount_minor == 2**63 - 1
    assert (-Money(AMOUNT_MINOR_MAX, "EUR")).amount_minor == -(2**63 - 1)
    with pytest.raises(InvalidAmount):
        Money(AMOUNT_MINOR_MAX + 1, "EUR")
    with pytest.raises(InvalidAmount):
        eur(AMOUNT_MINOR_MAX) + eur(1)


def test_money_is_immutable_and_hashable() -> None:
    price = eur(100)
    with pytest.raises(AttributeError):
        price.amount_minor = 5  # type: ignore[misc]
    assert len({eur(100), eur(100), Money(100, "USD")}) == 2


# -- decimals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "code", "amount_minor"),
    [
        ("12.34", "EUR", 1234),
        ("-12.34", "EUR", -1234),
        ("12.3", "EUR", 1230),
        ("12.340", "EUR", 1234),  # a Decimal's trailing zeros carry no value
        ("1000", "JPY", 1000),
        ("1E+3", "JPY", 1000),
        ("1.234", "BHD", 1234),
        ("0.0001", "CLF", 1),
        ("0", "EUR", 0),
        ("-0.00", "EUR", 0),
        ("0E-50", "EUR", 0),
    ],
)
def test_from_decimal_converts_exact_major_units(value: str, code: str, amount_minor: int) -> None:
    assert Money.from_decimal(Decimal(value), code) == Money(amount_minor, code)


@pytest.mark.parametrize(
    ("value", "code"),
    [("12.345", "EUR"), ("12.5", "JPY"), ("0.0005", "BHD"), ("1E-999999", "EUR")],
)
def test_from_decimal_refuses_to_round(value: str, code: str) -> None:
    with pytest.raises(TooManyDecimals) as raised:
        Money.from_decimal(Decimal(value), code)
    assert raised.value.code == "too_many_decimals"


@pytest.mark.parametrize(
    "value",
    [
        Decimal("NaN"),
        Decimal("sNaN"),
        Decimal("Infinity"),
        Decimal("1E+999999"),
        12.34,
        12,
        True,
        "12.34",
    ],
)
def test_from_decimal_refuses_what_is_not_a_finite_decimal_in_range(value: object) -> None:
    with pytest.raises(InvalidAmount):
        Money.from_decimal(value, "EUR")  # type: ignore[arg-type]


@given(amount_minor=amounts_minor, code=st.sampled_from(["EUR", "JPY", "BHD", "CLF"]))
def test_to_decimal_and_from_decimal_are_exact_inverses(amount_minor: int, code: str) -> None:
    money = Money(amount_minor, code)
    value = money.to_decimal()
    assert value == Decimal(amount_minor).scaleb(-money.exponent)
    assert Money.from_decimal(value, code) == money


def test_to_decimal_stays_exact_whatever_the_callers_decimal_precision() -> None:
    with decimal.localcontext() as context:
        context.prec = 3
        assert str(eur(123456789).to_decimal()) == "1234567.89"


@pytest.mark.parametrize(
    ("money", "text"),
    [
        (eur(1234), "12.34 EUR"),
        (eur(-5), "-0.05 EUR"),
        (eur(0), "0.00 EUR"),
        (Money(1000, "JPY"), "1000 JPY"),
        (Money(-1234, "BHD"), "-1.234 BHD"),
        (Money(1, "CLF"), "0.0001 CLF"),
        (eur(123456789), "1234567.89 EUR"),
    ],
)
def test_str_is_plain_machine_stable_text(money: Money, text: str) -> None:
    assert str(money) == text
    assert f"{money}" == text


def test_sign_predicates() -> None:
    assert eur(0).is_zero() and not eur(0).is_positive() and not eur(0).is_negative()
    assert eur(1).is_positive() and eur(-1).is_negative()


# -- arithmetic -----------------------------------------------------------------------------


def test_adding_and_subtracting_amounts_of_one_currency() -> None:
    assert eur(1000) + eur(234) == eur(1234)
    assert eur(1000) - eur(1234) == eur(-234)
    assert -eur(5) == eur(-5)
    assert abs(eur(-5)) == eur(5)
    assert eur(250) * 3 == eur(750)
    assert 3 * eur(250) == eur(750)
    assert eur(250) * -2 == eur(-500)


def test_adding_euros_to_dollars_is_a_currency_mismatch() -> None:
    with pytest.raises(CurrencyMismatch) as raised:
        eur(100) + Money(100, "USD")
    assert raised.value.code == "currency_mismatch"
    assert raised.value.context == {"expected": "EUR", "found": "USD"}
    with pytest.raises(CurrencyMismatch):
        eur(100) - Money(100, "USD")


def test_ordering_amounts_of_different_currencies_raises_but_equality_is_false() -> None:
    assert eur(100) != Money(100, "USD")
    assert eur(0) != Money(0, "JPY")
    for compare in (operator.lt, operator.le, operator.gt, operator.ge):
        with pytest.raises(CurrencyMismatch):
            compare(eur(1), Money(2, "USD"))


def test_amounts_of_one_currency_are_ordered() -> None:
    assert eur(1) < eur(2) <= eur(2) < eur(3)
    assert eur(3) > eur(-3) >= eur(-3)
    assert max(eur(5), eur(-7), eur(3)) == eur(5)
    assert sorted([eur(3), eur(-1), eur(2)]) == [eur(-1), eur(2), eur(3)]


@pytest.mark.parametrize("factor", [1.5, 2.0, Decimal("1.5"), Decimal(2), True, Fraction(3, 2)])
def test_money_is_multiplied_only_by_whole_numbers(factor: object) -> None:
    with pytest.raises(InvalidAmount):
        eur(100) * factor  # type: ignore[operator]
    with pytest.raises(InvalidAmount):
        factor * eur(100)  # type: ignore[arg-type]


def test_money_does_not_mix_with_bare_numbers() -> None:
    with pytest.raises(TypeError):
        eur(100) + 1  # type: ignore[operator]
    with pytest.raises(TypeError):
        eur(100) < 1  # type: ignore[operator]  # noqa: B015
    a_bare_number: object = 100
    assert eur(100) != a_bare_number


def test_sum_money_totals_amounts_in_the_given_currency() -> None:
    assert sum_money([eur(100), eur(250), eur(-50)], "EUR") == eur(300)
    assert sum_money([], "JPY") == Money.zero("JPY")
    assert sum_money((eur(n) for n in range(5)), "EUR") == eur(10)


def test_sum_money_refuses_an_item_in_another_currency_even_alone() -> None:
    with pytest.raises(CurrencyMismatch):
        sum_money([Money(100, "USD")], "EUR")
    with pytest.raises(InvalidAmount):
        sum_money([eur(1), 5], "EUR")  # type: ignore[list-item]
    with pytest.raises(UnknownCurrency):
        sum_money([], "EUROS")


# -- fees and percentages -------------------------------------------------------------------


def exact_rounded(value: Decimal, rounding: RoundingMode) -> int:
    with decimal.localcontext() as context:
        context.prec = 100
        return int(value.quantize(Decimal(1), rounding=rounding.value))


@pytest.mark.parametrize(
    ("rounding", "expected"),
    [
        # 2.5 % of 10.10 EUR is 25.25 cents; of -10.10 EUR, -25.25 cents
        (RoundingMode.HALF_EVEN, (25, -25)),
        (RoundingMode.HALF_UP, (25, -25)),
        (RoundingMode.DOWN, (25, -25)),
        (RoundingMode.UP, (26, -26)),
        (RoundingMode.FLOOR, (25, -26)),
        (RoundingMode.CEILING, (26, -25)),
    ],
)
def test_a_fee_in_basis_points_is_rounded_by_the_rules_mode(
    rounding: RoundingMode, expected: tuple[int, int]
) -> None:
    assert eur(1010).fee_bps(250, rounding=rounding) == eur(expected[0])
    assert eur(-1010).fee_bps(250, rounding=rounding) == eur(expected[1])


@pytest.mark.parametrize(
    ("rounding", "half_of_5", "half_of_7", "half_of_minus_5"),
    [
        (RoundingMode.HALF_EVEN, 2, 4, -2),
        (RoundingMode.HALF_UP, 3, 4, -3),
        (RoundingMode.DOWN, 2, 3, -2),
        (RoundingMode.UP, 3, 4, -3),
        (RoundingMode.FLOOR, 2, 3, -3),
        (RoundingMode.CEILING, 3, 4, -2),
    ],
)
def test_an_exact_half_cent_goes_where_the_rounding_mode_says(
    rounding: RoundingMode, half_of_5: int, half_of_7: int, half_of_minus_5: int
) -> None:
    assert eur(5).fee_bps(5000, rounding=rounding) == eur(half_of_5)
    assert eur(7).fee_bps(5000, rounding=rounding) == eur(half_of_7)
    assert eur(-5).fee_bps(5000, rounding=rounding) == eur(half_of_minus_5)


@given(
    amount_minor=amounts_minor,
    bps=st.integers(min_value=0, max_value=10_000),
    rounding=rounding_modes,
)
def test_a_fee_never_exceeds_its_amount_and_equals_exact_decimal_arithmetic(
    amount_minor: int, bps: int, rounding: RoundingMode
) -> None:
    fee = eur(amount_minor).fee_bps(bps, rounding=rounding)
    assert abs(fee.amount_minor) <= abs(amount_minor)
    assert fee.amount_minor * amount_minor >= 0  # a fee has the sign of its amount
    assert fee.amount_minor == exact_rounded(Decimal(amount_minor) * bps / 10_000, rounding)


@pytest.mark.parametrize("bps", [-1, 10_001, 2.5, True, Decimal(250), "250"])
def test_a_fee_outside_0_to_10000_basis_points_or_not_an_int_is_refused(bps: object) -> None:
    with pytest.raises(InvalidInput) as raised:
        eur(1000).fee_bps(bps, rounding=RoundingMode.HALF_UP)  # type: ignore[arg-type]
    assert raised.value.code == "invalid_fee_bps"


def test_a_fee_needs_a_rounding_mode_not_a_decimal_constant() -> None:
    with pytest.raises(InvalidInput) as raised:
        eur(1000).fee_bps(250, rounding=decimal.ROUND_HALF_UP)  # type: ignore[arg-type]
    assert raised.value.code == "invalid_rounding_mode"


def test_percent_reads_12_5_as_twelve_and_a_half_percent() -> None:
    assert eur(10_000).percent("12.5", rounding=RoundingMode.HALF_UP) == eur(1250)
    assert eur(10_000).percent(Decimal("12.5"), rounding=RoundingMode.HALF_UP) == eur(1250)
    assert eur(1001).percent("12.5", rounding=RoundingMode.HALF_EVEN) == eur(125)  # 125.125
    assert eur(-1001).percent("12.5", rounding=RoundingMode.UP) == eur(-126)
    assert eur(999).percent("100", rounding=RoundingMode.DOWN) == eur(999)
    assert eur(999).percent("0", rounding=RoundingMode.UP) == eur(0)
    assert Money(1000, "JPY").percent("3.25", rounding=RoundingMode.HALF_UP) == Money(33, "JPY")


@given(
    amount_minor=amounts_minor,
    rate=st.decimals(min_value=0, max_value=100, places=4, allow_nan=False),
    rounding=rounding_modes,
)
def test_percent_equals_exact_decimal_arithmetic_rounded_once(
    amount_minor: int, rate: Decimal, rounding: RoundingMode
) -> None:
    share = eur(amount_minor).percent(rate, rounding=rounding)
    assert share.amount_minor == exact_rounded(Decimal(amount_minor) * rate / 100, rounding)
    assert abs(share.amount_minor) <= abs(amount_minor)


@pytest.mark.parametrize(
    "rate",
    [
        12.5,  # a float: never
        True,
        12,  # an int is not a Decimal or text either: write "12"
        "12,5",
        "12.5%",
        "-1",
        "1e1",
        " 12.5",
        "NaN",
        "",
        "100.01",
        "0.0000000000001",  # more than 12 decimals
        Decimal("-0"),
        Decimal("NaN"),
        Decimal("Infinity"),
        Decimal("1E+999999"),
        Decimal("1E-999999"),
        Decimal("101"),
    ],
)
def test_a_percentage_that_is_not_an_exact_rate_from_0_to_100_is_refused(rate: object) -> None:
    with pytest.raises(InvalidInput) as raised:
        eur(1000).percent(rate, rounding=RoundingMode.HALF_UP)  # type: ignore[arg-type]
    assert raised.value.code == "invalid_rate"
