"""Currencies: ISO 4217 codes and their minor-unit exponents, read from ISO's own table.

Why ISO and not CLDR: the exponent decides what one minor unit is, so it must be the one banks
and card schemes settle in (ISO 4217 "minor unit": IQD 3, ISK 0, CLF 4). CLDR's "digits" are a
display preference (CLDR shows IQD with 0) and would silently change stored amounts. The table
comes from the `iso4217` package, which ships ISO's XML list; nothing here is typed by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

import iso4217

from sellerpay.money.errors import UnknownCurrency


@dataclass(frozen=True, slots=True)
class Currency:
    """One ISO 4217 currency: `exponent` is its number of minor-unit decimals (EUR 2, JPY 0)."""

    code: str
    exponent: int
    name: str


def _load_iso_table() -> tuple[dict[str, Currency], frozenset[str]]:
    """Read the iso4217 table; codes with no minor unit ("N.A.": XAU, XDR, XXX…) are set aside.

    Those are metals, fund units and test codes: no seller is paid in them, and without an
    exponent there is no minor unit to count.
    """
    usable: dict[str, Currency] = {}
    all_codes: set[str] = set()
    for entry in iso4217.Currency:
        all_codes.add(entry.code)
        entry_exponent = entry.exponent
        if entry_exponent is not None:
            usable[entry.code] = Currency(
                code=entry.code, exponent=entry_exponent, name=entry.currency_name
            )
    return usable, frozenset(all_codes)


_usable, _all_codes = _load_iso_table()
_CURRENCIES: Final = MappingProxyType(_usable)
_EXPONENTS: Final = MappingProxyType({code: c.exponent for code, c in _usable.items()})
_ISO_CODES: Final = _all_codes


def _unknown(code: object) -> UnknownCurrency:
    shown = code if isinstance(code, str) else type(code).__name__
    return UnknownCurrency(
        f"{shown!r} is not an ISO 4217 currency code with a minor unit "
        "(codes are three upper-case letters, e.g. 'EUR')",
        currency=shown,
    )


def currency(code: str) -> Currency:
    """The currency for an upper-case ISO 4217 code, or `UnknownCurrency`.

    Case-sensitive on purpose: "eur" is refused rather than fixed up, so a code stored or sent
    anywhere is always in the one canonical spelling.
    """
    try:
        return _CURRENCIES[code]
    except (KeyError, TypeError):
        raise _unknown(code) from None


def exponent(code: str) -> int:
    """The number of minor-unit decimals of `code` (EUR 2, JPY 0, BHD 3), for hot paths."""
    try:
        return _EXPONENTS[code]
    except (KeyError, TypeError):
        raise _unknown(code) from None


def currency_codes() -> frozenset[str]:
    """Every code `currency` accepts, e.g. to validate a settings file or build an enum."""
    return frozenset(_CURRENCIES)


def is_iso4217_code(text: str) -> bool:
    """Whether `text` is any ISO 4217 code, including those without a minor unit (XAU)."""
    return text in _ISO_CODES
