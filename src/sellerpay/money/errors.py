"""The errors the money package raises: all are `InvalidInput` (HTTP 422), each with a stable code.

    InvalidInput
    ├── UnknownCurrency     unknown_currency    not an ISO 4217 code with a minor unit
    ├── CurrencyMismatch    currency_mismatch   two currencies where one was required
    ├── InvalidAmount       invalid_amount      not an exact amount (float, bool, NaN, garbage…)
    ├── TooManyDecimals     too_many_decimals   more decimals than the currency has: never rounded
    └── UnknownLocale       unknown_locale      a locale babel (CLDR) does not know

Rules that take other inputs (ratios, basis points, rates) raise plain `InvalidInput` with a
code named for the rule that failed, e.g. `allocation_ratios_all_zero`.
"""

from __future__ import annotations

from sellerpay.errors import InvalidInput


class UnknownCurrency(InvalidInput):
    """The code is not an ISO 4217 currency with a minor unit (e.g. "EUROS", "eur", "XAU")."""

    default_code = "unknown_currency"
    title = "Unknown currency"


class CurrencyMismatch(InvalidInput):
    """Two amounts (or an amount and a text's currency marker) are in different currencies."""

    default_code = "currency_mismatch"
    title = "Currency mismatch"


class InvalidAmount(InvalidInput):
    """The value is not an exact amount: a float, a bool, NaN, an unparsable text, out of range."""

    default_code = "invalid_amount"
    title = "Invalid amount"


class TooManyDecimals(InvalidInput):
    """The amount has more decimals than the currency's minor unit; we refuse rather than round."""

    default_code = "too_many_decimals"
    title = "Too many decimals"


class UnknownLocale(InvalidInput):
    """The locale is not one babel (CLDR) knows, so the amount cannot be formatted for it."""

    default_code = "unknown_locale"
    title = "Unknown locale"
