"""Reading amounts from text: exact, locale-tolerant, refusing whatever it would have to guess."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sellerpay.errors import InvalidInput
from sellerpay.money import (
    PARSE_TEXT_LENGTH_MAX,
    Money,
    RoundingMode,
    UnknownCurrency,
    currency_codes,
    parse_money,
)

NBSP, NNBSP, THIN = "\u00a0", "\u202f", "\u2009"


@pytest.mark.parametrize(
    ("text", "code", "amount_minor"),
    [
        # plain machine text, as str() writes it
        ("12.34", "EUR", 1234),
        ("12.34 EUR", "EUR", 1234),
        ("-12.34 EUR", "EUR", -1234),
        ("EUR 12.34", "EUR", 1234),
        ("0", "EUR", 0),
        ("-0", "EUR", 0),
        ("-5", "EUR", -500),
        ("+5", "EUR", 500),
        ("\u22125", "EUR", -500),  # U+2212 MINUS SIGN
        ("12.3", "EUR", 1230),  # fewer decimals are padded
        ("12,3", "EUR", 1230),
        ("007.50", "EUR", 750),
        ("  12.34  ", "EUR", 1234),
        # people and locales
        ("12,34 €", "EUR", 1234),
        ("12,34€", "EUR", 1234),
        ("€12.34", "EUR", 1234),
        ("-€12.34", "EUR", -1234),
        ("€-12.34", "EUR", -1234),
        ("- € 12.34", "EUR", -1234),
        ("1 234,56", "EUR", 123456),
        (f"1{NNBSP}234{NNBSP}567,89{NBSP}€", "EUR", 123456789),
        (f"1{NBSP}234,56", "EUR", 123456),
        (f"1{THIN}234,56", "EUR", 123456),
        ("1,234.56", "EUR", 123456),
        ("1.234,56", "EUR", 123456),
        ("1.234.567,89 €", "EUR", 123456789),
        ("1,234,567", "EUR", 123456700),  # repeated separator: groups
        ("1.234.567", "EUR", 123456700),
        ("1 234", "EUR", 123400),  # a space always groups
        ("1'234.50 CHF", "CHF", 123450),
        ("CHF 1\u2019234.50", "CHF", 123450),
        ("EUR-5.00", "EUR", -500),  # de_CH negative pattern
        ("$12.34", "USD", 1234),
        ("US$12.34", "USD", 1234),
        ("12,34 $US", "USD", 1234),
        ("12,34 $ US", "USD", 1234),  # fr_CA, with a space inside the symbol
        ("$12.34", "CAD", 1234),  # "$" is also the Canadian dollar's symbol
        ("CA$12.34", "CAD", 1234),
        ("₹12,34,567.00", "INR", 123456700),  # Indian grouping
        ("\u200f-5.00\u00a0\u200f€", "EUR", -500),  # bidi marks as he_IL prints them
        # currencies without minor unit: a lone separator before 3 digits groups thousands
        ("¥1,000", "JPY", 1000),
        ("￥1,000", "JPY", 1000),
        ("JP¥1,000", "JPY", 1000),
        ("1.000 JPY", "JPY", 1000),
        ("12.345", "JPY", 12345),
        ("1,234,567", "JPY", 1234567),
        ("¥1000", "JPY", 1000),
        ("¥1,000.00", "CNY", 100000),  # "¥" is the yuan's symbol too
        # more decimals
        ("1.234", "BHD", 1234),
        ("1,234", "BHD", 1234),  # a lone separator is the decimal one
        ("BHD 1,234.500", "BHD", 1234500),
        ("0.0001 CLF", "CLF", 1),
        ("1,2345 CLF", "CLF", 12345),
    ],
)
def test_parse_reads_an_amount_exactly(text: str, code: str, amount_minor: int) -> None:
    assert Money.parse(text, code) == Money(amount_minor, code)
    assert parse_money(text, code) == Money(amount_minor, code)


@pytest.mark.parametrize(
    ("text", "code", "error_code"),
    [
        # more decimals than the currency has: refused, never rounded
        ("12.345", "EUR", "too_many_decimals"),
        ("12,345 €", "EUR", "too_many_decimals"),
        ("12.340", "EUR", "too_many_decimals"),  # zeros too: "1,000" must never become 1.00
        ("1,000", "EUR", "too_many_decimals"),
        ("1,234", "EUR", "too_many_decimals"),  # ambiguous: 1234 (en) or 1.234 (fr)? refused
        ("1.234", "USD", "too_many_decimals"),
        ("1,234.567", "EUR", "too_many_decimals"),
        ("12.5", "JPY", "too_many_decimals"),
        ("1.0", "JPY", "too_many_decimals"),
        ("1234,567", "JPY", "too_many_decimals"),  # 4 digits before: cannot be a group
        ("1.2345", "BHD", "too_many_decimals"),
        ("¥1,000", "CNY", "too_many_decimals"),  # the yuan has cents: ambiguous, refused
        ("0.00001", "CLF", "too_many_decimals"),
        # a marker for another currency
        ("$12", "EUR", "currency_mismatch"),
        ("12.34 USD", "EUR", "currency_mismatch"),
        ("USD 12.34", "EUR", "currency_mismatch"),
        ("€12.34", "USD", "currency_mismatch"),
        ("¥1,000", "EUR", "currency_mismatch"),
        ("12.34 XAU", "EUR", "currency_mismatch"),
        ("12,34 zł", "EUR", "currency_mismatch"),
        # not an amount at all
        ("", "EUR", "invalid_amount"),
        ("   ", "EUR", "invalid_amount"),
        ("garbage", "EUR", "invalid_amount"),
        ("NaN", "EUR", "invalid_amount"),
        ("Infinity", "EUR", "invalid_amount"),
        ("-", "EUR", "invalid_amount"),
        ("1e3", "EUR", "invalid_amount"),
        ("0x10", "EUR", "invalid_amount"),
        ("1_000", "EUR", "invalid_amount"),
        (".5", "EUR", "invalid_amount"),
        ("5.", "EUR", "invalid_amount"),
        ("--5", "EUR", "invalid_amount"),
        ("+-5", "EUR", "invalid_amount"),
        ("5-", "EUR", "invalid_amount"),
        ("(5.00)", "EUR", "invalid_amount"),
        ("12 34", "EUR", "invalid_amount"),  # groups must be thousands
        ("1,23,4.00", "EUR", "invalid_amount"),
        ("1,2345", "JPY", "too_many_decimals"),
        ("1,,234", "EUR", "invalid_amount"),
        ("1, 234", "EUR", "invalid_amount"),
        ("1.234.56", "EUR", "invalid_amount"),
        ("1,234.567.89", "EUR", "invalid_amount"),
        ("1 234.567,89", "EUR", "invalid_amount"),  # two kinds of group separator
        ("12.34.EUR", "EUR", "invalid_amount"),
        ("12 EUROS", "EUR", "invalid_amount"),
        ("12.34 eur", "EUR", "invalid_amount"),  # codes are upper case, as everywhere
        ("EUR 12.34 €", "EUR", "invalid_amount"),  # two markers
        ("12 EUR 34", "EUR", "invalid_amount"),
        ("١٢", "EUR", "invalid_amount"),  # only ASCII digits
        ("\uff11\uff12", "EUR", "invalid_amount"),  # fullwidth digits
        ("1" * (PARSE_TEXT_LENGTH_MAX + 1), "EUR", "invalid_amount"),
        ("99999999999999999999", "EUR", "invalid_amount"),  # beyond a BIGINT of cents
    ],
)
def test_parse_refuses_with_a_stable_error_code(text: str, code: str, error_code: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        Money.parse(text, code)
    assert raised.value.code == error_code


@pytest.mark.parametrize("not_text", [12.34, 12, True, None, b"12.34", ["12.34"]])
def test_parse_takes_only_text_and_never_a_float(not_text: object) -> None:
    with pytest.raises(InvalidInput) as raised:
        Money.parse(not_text, "EUR")  # type: ignore[arg-type]
    assert raised.value.code == "invalid_amount"


def test_parse_checks_the_currency_before_the_text() -> None:
    with pytest.raises(UnknownCurrency):
        Money.parse("12.34", "EUROS")
    with pytest.raises(UnknownCurrency):
        Money.parse("garbage", "eur")


def test_too_many_decimals_explains_how_to_write_a_thousands_amount() -> None:
    with pytest.raises(InvalidInput) as raised:
        Money.parse("1,234", "EUR")
    assert "1,234.00" in raised.value.detail
    assert raised.value.context["decimals_max"] == 2


codes = st.sampled_from(sorted(currency_codes()))
amounts_minor = st.one_of(
    st.integers(min_value=-(10**6), max_value=10**6),
    st.integers(min_value=-(10**15), max_value=10**15),
)


@settings(max_examples=300)
@given(amount_minor=amounts_minor, code=codes)
def test_str_parses_back_to_the_same_money(amount_minor: int, code: str) -> None:
    money = Money(amount_minor, code)
    assert Money.parse(str(money), code) == money


@given(text=st.text(max_size=20))
def test_parse_answers_any_text_with_money_or_an_invalid_input(text: str) -> None:
    try:
        money = Money.parse(text, "EUR")
    except InvalidInput:
        return
    assert money.currency == "EUR"


@given(
    text=st.text(alphabet="0123456789.,' -+€$¥\u00a0\u202fEURJPY", max_size=16),
    code=st.sampled_from(["EUR", "JPY", "BHD"]),
)
def test_parse_of_number_like_text_never_fails_unexpectedly(text: str, code: str) -> None:
    try:
        money = Money.parse(text, code)
    except InvalidInput:
        return
    # whatever it accepts, it reads back from its own plain form
    assert Money.parse(str(money), code) == money


def test_rounding_is_never_done_by_parse_but_explicitly_after() -> None:
    with pytest.raises(InvalidInput):
        Money.parse("10.005", "EUR")
    assert Money.parse("10.00", "EUR").percent("50", rounding=RoundingMode.UP) == Money(500, "EUR")
