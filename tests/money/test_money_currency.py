"""Currencies come from ISO 4217's own table: exponents, names, and what is refused."""

from __future__ import annotations

import pytest

from sellerpay.errors import InvalidInput
from sellerpay.money import Currency, UnknownCurrency, currency, currency_codes, exponent


@pytest.mark.parametrize(
    ("code", "expected_exponent"),
    [("EUR", 2), ("JPY", 0), ("USD", 2), ("BHD", 3), ("CLF", 4), ("KWD", 3), ("ISK", 0)],
)
def test_each_currency_has_the_iso_4217_minor_unit_exponent(
    code: str, expected_exponent: int
) -> None:
    assert exponent(code) == expected_exponent
    assert currency(code).exponent == expected_exponent


def test_iqd_has_three_decimals_as_iso_says_not_cldrs_display_zero() -> None:
    assert exponent("IQD") == 3


def test_a_currency_carries_its_code_and_iso_name() -> None:
    assert currency("EUR") == Currency(code="EUR", exponent=2, name="Euro")
    assert currency("JPY").name == "Yen"


@pytest.mark.parametrize(
    "code",
    [
        "EUROS",  # not a code
        "eur",  # case-sensitive on purpose: one canonical spelling everywhere
        "Eur",
        "XAU",  # gold: ISO code without a minor unit, nobody is paid in it
        "XXX",  # "no currency"
        "XTS",  # ISO's testing code
        "ABC",
        "",
        " EUR",
    ],
)
def test_an_unknown_or_unpayable_currency_code_is_refused(code: str) -> None:
    with pytest.raises(UnknownCurrency) as raised:
        currency(code)
    assert raised.value.code == "unknown_currency"
    assert raised.value.context["currency"] == code
    with pytest.raises(UnknownCurrency):
        exponent(code)


@pytest.mark.parametrize("not_a_code", [None, 978, 2.0, ["EUR"], b"EUR"])
def test_a_currency_code_that_is_not_text_is_an_unknown_currency(not_a_code: object) -> None:
    with pytest.raises(UnknownCurrency):
        currency(not_a_code)  # type: ignore[arg-type]
    with pytest.raises(UnknownCurrency):
        exponent(not_a_code)  # type: ignore[arg-type]


def test_unknown_currency_is_an_invalid_input_answered_with_422() -> None:
    with pytest.raises(InvalidInput) as raised:
        currency("EUROS")
    assert raised.value.status == 422


def test_currency_codes_lists_every_payable_currency_and_no_metal() -> None:
    codes = currency_codes()
    assert {"EUR", "USD", "JPY", "BHD", "CLF", "GBP", "CHF"} <= codes
    assert codes.isdisjoint({"XAU", "XAG", "XXX", "XTS", "XDR"})
    assert all(len(code) == 3 and code.isupper() for code in codes)
