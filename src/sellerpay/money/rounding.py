"""Rounding modes and exact integer division rounded by a mode: how fees become minor units.

Every fee, percentage and conversion is computed as one exact fraction of integers and rounded
once, here; no intermediate value is ever a float or a context-limited Decimal.
"""

from __future__ import annotations

import decimal
import enum

from sellerpay.errors import InvalidInput


class RoundingMode(enum.Enum):
    """How a fraction of a minor unit is settled. Values are the `decimal` module's constants.

    Which mode to use is a business decision written in the fee rule (e.g. a marketplace fee
    rounded HALF_UP, a reserve rounded UP so it never falls short), never a library default;
    that is why every rounding method takes the mode as a required keyword.
    """

    HALF_EVEN = decimal.ROUND_HALF_EVEN
    """To the nearest unit; an exact half goes to the even neighbour (banker's rounding)."""
    HALF_UP = decimal.ROUND_HALF_UP
    """To the nearest unit; an exact half goes away from zero (2.5 -> 3, -2.5 -> -3)."""
    DOWN = decimal.ROUND_DOWN
    """Toward zero (truncate): 2.9 -> 2, -2.9 -> -2."""
    UP = decimal.ROUND_UP
    """Away from zero: 2.1 -> 3, -2.1 -> -3."""
    FLOOR = decimal.ROUND_FLOOR
    """Toward negative infinity: 2.9 -> 2, -2.1 -> -3."""
    CEILING = decimal.ROUND_CEILING
    """Toward positive infinity: 2.1 -> 3, -2.9 -> -2."""


def divide_rounded(numerator: int, denominator: int, rounding: RoundingMode) -> int:
    """`numerator / denominator` rounded to an integer by `rounding`, exactly, for any size.

    `denominator` must be positive; the sign of the result is the sign of `numerator`.
    """
    if not isinstance(rounding, RoundingMode):
        raise InvalidInput(
            f"rounding must be a RoundingMode, not {rounding!r}", code="invalid_rounding_mode"
        )
    if denominator <= 0:
        raise InvalidInput("the denominator must be positive", code="invalid_denominator")
    floor, remainder = divmod(numerator, denominator)  # floor division: 0 <= remainder < d
    if remainder == 0:
        return floor
    ceiling = floor + 1
    if rounding is RoundingMode.FLOOR:
        return floor
    if rounding is RoundingMode.CEILING:
        return ceiling
    if rounding is RoundingMode.DOWN:
        return floor if numerator > 0 else ceiling
    if rounding is RoundingMode.UP:
        return ceiling if numerator > 0 else floor
    twice = 2 * remainder
    if twice != denominator:
        return ceiling if twice > denominator else floor
    if rounding is RoundingMode.HALF_UP:
        return ceiling if numerator > 0 else floor
    return floor if floor % 2 == 0 else ceiling  # HALF_EVEN
