"""Showing an amount to a person in their locale (babel/CLDR), with ISO's number of decimals.

Why not babel's defaults: `format_currency` uses CLDR's digits per currency, a display choice
that differs from ISO 4217 for some currencies (CLDR shows IQD, RSD, IRR with 0 decimals, ISO
has 3, 2, 2). A statement that hides minor units the ledger holds would not add up, so we take
the locale's currency pattern and force its fraction to exactly the ISO exponent.
"""

from __future__ import annotations

import decimal
import functools
from decimal import Decimal
from typing import Final

from babel import Locale, UnknownLocaleError
from babel.numbers import NumberPattern, format_currency

from sellerpay.money.currencies import exponent
from sellerpay.money.errors import UnknownLocale

LOCALE_LENGTH_MAX: Final = 32
"""Longer locale identifiers are refused before babel sees them."""

_DECIMAL_PRECISION: Final = 60
"""babel normalises the value with the current decimal context; ours is wide enough for any
in-range amount, whatever precision the caller's thread context happens to have."""


def format_amount(value: Decimal, currency: str, locale: str) -> str:
    """`value` (exact, with at most the ISO exponent of decimals) as `locale` writes money.

    E.g. 1234.5 EUR: en_US "€1,234.50", fr_FR "1 234,50 €" (narrow no-break space groups,
    no-break space before €); ja_JP 1000 JPY "￥1,000"; en_US 1.234 BHD "BHD1.234".
    """
    places = exponent(currency)
    if not isinstance(locale, str) or not 0 < len(locale) <= LOCALE_LENGTH_MAX:
        raise UnknownLocale(f"{locale!r} is not a locale identifier such as 'fr_FR'")
    babel_locale = _locale(locale)
    with decimal.localcontext() as context:
        context.prec = _DECIMAL_PRECISION
        return format_currency(
            value,
            currency,
            format=_iso_pattern(babel_locale, places),
            locale=babel_locale,
            currency_digits=False,  # never CLDR's digits: the pattern carries ISO's exponent
            decimal_quantization=True,
        )


@functools.lru_cache(maxsize=256)
def _locale(identifier: str) -> Locale:
    """The babel locale for "fr_FR" (or the BCP 47 spelling "fr-FR"), or `UnknownLocale`."""
    try:
        return Locale.parse(identifier.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        raise UnknownLocale(
            f"{identifier!r} is not a locale known to CLDR", locale=identifier
        ) from None


@functools.lru_cache(maxsize=256)
def _iso_pattern(locale: Locale, places: int) -> NumberPattern:
    """The locale's standard currency pattern with exactly `places` fraction digits."""
    standard = locale.currency_formats["standard"]
    return NumberPattern(
        standard.pattern,
        standard.prefix,
        standard.suffix,
        standard.grouping,
        standard.int_prec,
        (places, places),
        standard.exp_prec,
        standard.exp_plus,
        standard.number_pattern,
    )
