"""Exact rates (percentages, exchange rates) read from a Decimal or plain text, never a float.

A rate becomes an exact fraction of two integers; the amount it is applied to is rounded once,
by the caller's `RoundingMode`. Bounds keep the integers small whatever the input.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Final

from sellerpay.errors import InvalidInput

RATE_DECIMALS_MAX: Final = 12
"""More decimals than any fee schedule or FX quote uses; more is refused, not rounded."""
RATE_INTEGER_DIGITS_MAX: Final = 12
"""Digits before the decimal point: far more than any fee or exchange rate needs."""

_RATE_TEXT: Final = re.compile(r"[0-9]{1,40}(?:\.[0-9]{1,40})?")  # bounded: no huge Decimal


def rate_as_fraction(rate: Decimal | str, *, name: str) -> tuple[int, int]:
    """`rate` as an exact (numerator, denominator), denominator > 0, or `InvalidInput`.

    Accepts a finite, non-negative `Decimal` or text like "12.5" / "0.0125" ("." decimal, no
    sign, no exponent, no grouping: this is machine input, not a person's). `name` ("rate",
    "percent") names the input in the error, whose code is `invalid_rate`.
    """
    if isinstance(rate, str):
        if not _RATE_TEXT.fullmatch(rate):
            raise _invalid(rate, name, "write it as plain digits with an optional '.' part")
        rate = Decimal(rate)
    elif not isinstance(rate, Decimal):
        raise _invalid(rate, name, "it must be a Decimal or text (floats are not exact)")
    _sign, digits, exponent = rate.as_tuple()
    if not isinstance(exponent, int) or rate.is_signed():  # NaN, Infinity, negative, -0
        raise _invalid(rate, name, "it must be a finite number of zero or more")
    significant = "".join(map(str, digits)).rstrip("0")
    if not significant:
        return 0, 1
    exponent += len(digits) - len(significant)  # drop trailing zeros: "12.500" is 12.5
    if exponent < -RATE_DECIMALS_MAX:
        raise _invalid(rate, name, f"it has more than {RATE_DECIMALS_MAX} decimals")
    if len(significant) + exponent > RATE_INTEGER_DIGITS_MAX:
        raise _invalid(rate, name, f"it has more than {RATE_INTEGER_DIGITS_MAX} integer digits")
    numerator, denominator = int(significant), 1
    if exponent >= 0:
        numerator *= 10**exponent
    else:
        denominator = 10**-exponent
    return numerator, denominator


def _invalid(rate: object, name: str, reason: str) -> InvalidInput:
    shown = repr(rate) if isinstance(rate, str | Decimal) else type(rate).__name__
    return InvalidInput(f"the {name} {shown} is not valid: {reason}", code="invalid_rate")
