"""Converting currencies at a quoted rate: exact, rescaled by ISO exponents, rounded once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sellerpay.errors import InvalidInput
from sellerpay.money import CurrencyMismatch, ExchangeRate, Money, RoundingMode, UnknownCurrency


def test_converting_euros_to_yen_rescales_minor_units_and_rounds_once() -> None:
    eur_jpy = ExchangeRate("EUR", "JPY", Decimal("160.25"))
    ten_euros = Money(1000, "EUR")
    assert eur_jpy.convert(ten_euros, rounding=RoundingMode.HALF_UP) == Money(1603, "JPY")
    assert eur_jpy.convert(ten_euros, rounding=RoundingMode.HALF_EVEN) == Money(1602, "JPY")
    assert eur_jpy.convert(-ten_euros, rounding=RoundingMode.HALF_UP) == Money(-1603, "JPY")


def test_converting_yen_to_euros_and_euros_to_dinars() -> None:
    jpy_eur = ExchangeRate("JPY", "EUR", Decimal("0.0062"))
    assert jpy_eur.convert(Money(1000, "JPY"), rounding=RoundingMode.DOWN) == Money(620, "EUR")
    eur_bhd = ExchangeRate("EUR", "BHD", Decimal("0.4087"))
    assert eur_bhd.convert(Money(1001, "EUR"), rounding=RoundingMode.HALF_UP) == Money(
        4091, "BHD"
    )  # 4.091087 BHD


def test_a_rate_converts_only_its_base_currency() -> None:
    eur_usd = ExchangeRate("EUR", "USD", Decimal("1.0842"))
    with pytest.raises(CurrencyMismatch):
        eur_usd.convert(Money(100, "USD"), rounding=RoundingMode.HALF_UP)


@pytest.mark.parametrize(
    "rate", [1.0842, "1.0842", Decimal(0), Decimal("-1.08"), Decimal("NaN"), Decimal("1E-20")]
)
def test_an_exchange_rate_must_be_an_exact_positive_decimal(rate: object) -> None:
    with pytest.raises(InvalidInput) as raised:
        ExchangeRate("EUR", "USD", rate)  # type: ignore[arg-type]
    assert raised.value.code == "invalid_rate"


def test_an_exchange_rate_needs_two_known_currencies() -> None:
    with pytest.raises(UnknownCurrency):
        ExchangeRate("EUR", "XAU", Decimal("0.0004"))
    with pytest.raises(InvalidInput) as raised:
        ExchangeRate("EUR", "EUR", Decimal(1))
    assert raised.value.code == "exchange_rate_same_currency"
