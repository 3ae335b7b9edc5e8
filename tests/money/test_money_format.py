"""Formatting for people: the locale's pattern with ISO's decimals, and it parses back."""

from __future__ import annotations

import decimal

import pytest
from babel.numbers import format_currency
from hypothesis import given, settings
from hypothesis import strategies as st

from sellerpay.money import SYMBOL_LOCALES, Money, UnknownLocale, currency_codes, format_money

NBSP, NNBSP = "\u00a0", "\u202f"


@pytest.mark.parametrize(
    ("money", "locale", "text"),
    [
        (Money(1234, "EUR"), "fr_FR", f"12,34{NBSP}€"),
        (Money(123456789, "EUR"), "fr_FR", f"1{NNBSP}234{NNBSP}567,89{NBSP}€"),
        (Money(-1234, "EUR"), "fr_FR", f"-12,34{NBSP}€"),
        (Money(123456, "EUR"), "es_ES", f"1.234,56{NBSP}€"),
        (Money(12345678, "EUR"), "es_ES", f"123.456,78{NBSP}€"),
        (Money(123456, "EUR"), "en_US", "€1,234.56"),
        (Money(-123456, "USD"), "en_US", "-$1,234.56"),
        (Money(1000, "JPY"), "ja_JP", "￥1,000"),
        (Money(1000, "JPY"), "en_US", "¥1,000"),
        (Money(1000, "JPY"), "fr_FR", f"1{NNBSP}000{NBSP}JPY"),
        (Money(1234, "BHD"), "en_US", "BHD1.234"),
        (Money(1234, "BHD"), "fr_FR", f"1,234{NBSP}BHD"),
        (Money(12345, "CLF"), "es_ES", f"1,2345{NBSP}CLF"),
        (Money(0, "EUR"), "en_US", "€0.00"),
        (Money(1234, "EUR"), "fr-FR", f"12,34{NBSP}€"),  # BCP 47 spelling accepted
    ],
)
def test_format_writes_money_as_the_locale_does(money: Money, locale: str, text: str) -> None:
    assert money.format(locale) == text
    assert format_money(money, locale) == text


def test_format_defaults_to_us_english() -> None:
    assert Money(1234, "EUR").format() == "€12.34"


def test_format_shows_iso_decimals_where_cldr_would_hide_minor_units() -> None:
    # CLDR displays IQD with 0 decimals; the ledger counts fils (ISO: 3 decimals)
    assert format_currency(1.5, "IQD", locale="en_US").endswith("2")
    assert Money(1500, "IQD").format("en_US") == "IQD1.500"
    assert Money(1501, "IQD").format("en_US") == "IQD1.501"


def test_format_is_exact_whatever_the_callers_decimal_precision() -> None:
    with decimal.localcontext() as context:
        context.prec = 4
        assert Money(123456789012, "EUR").format("en_US") == "€1,234,567,890.12"


@pytest.mark.parametrize("locale", ["xx_YY", "", "not a locale", "e" * 100, None, 12])
def test_an_unknown_locale_is_refused(locale: object) -> None:
    with pytest.raises(UnknownLocale) as raised:
        Money(1234, "EUR").format(locale)  # type: ignore[arg-type]
    assert raised.value.code == "unknown_locale"


amounts_minor = st.one_of(
    st.integers(min_value=-(10**5), max_value=10**5),
    st.integers(min_value=-(10**15), max_value=10**15),
)


@pytest.mark.parametrize("code", ["EUR", "USD", "JPY", "BHD", "CLF"])
@pytest.mark.parametrize("locale", ["fr_FR", "es_ES", "en_US", "ja_JP", "de_CH", "en_IN"])
@settings(max_examples=40)
@given(amount_minor=amounts_minor)
def test_formatted_money_parses_back_to_the_same_money(
    locale: str, code: str, amount_minor: int
) -> None:
    money = Money(amount_minor, code)
    assert Money.parse(money.format(locale), code) == money


@pytest.mark.parametrize("locale", SYMBOL_LOCALES)
def test_every_currency_formatted_in_a_known_locale_parses_back(locale: str) -> None:
    for code in sorted(currency_codes()):
        for amount_minor in (0, -1, 1234567, -123456789012):
            money = Money(amount_minor, code)
            assert Money.parse(money.format(locale), code) == money, money.format(locale)
