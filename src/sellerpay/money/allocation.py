"""Splitting an amount in minor units by integer ratios, exactly: the largest-remainder method.

Used wherever one amount becomes several (an order across sellers, a fee across line items): the
shares always add up to the total, so no minor unit is ever created or lost in a split.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from sellerpay.errors import InvalidInput, LimitExceeded, invariant

ALLOCATION_RATIOS_MAX: Final = 10_000
"""More shares than any order has lines or sellers; bounds the work of one split."""


def split_minor_units(total_minor: int, ratios: Sequence[int]) -> list[int]:
    """Split `total_minor` into `len(ratios)` integer shares proportional to `ratios`.

    Largest remainder (Hamilton): each share first gets the floor of its exact proportional
    value; the minor units left over (fewer than the number of shares) go one each to the
    shares with the largest fractional parts, ties to the earliest index, so the split is
    deterministic and each share is within one minor unit of its exact value. A zero ratio
    always gets exactly zero.

    A negative total is split as the mirror of the positive one (`split(-t) == -split(t)`), so
    reversing a split amount reverses every share exactly.

    Ratios are non-negative ints, not all zero, at most `ALLOCATION_RATIOS_MAX` of them; callers
    turn weights into ints (e.g. line amounts in minor units, or basis points).
    """
    _check_ratios(ratios)
    magnitude = abs(total_minor)
    ratio_sum = sum(ratios)
    shares: list[int] = []
    remainders: list[int] = []
    for ratio in ratios:
        share, remainder = divmod(magnitude * ratio, ratio_sum)
        shares.append(share)
        remainders.append(remainder)
    leftover = magnitude - sum(shares)
    by_largest_remainder = sorted(range(len(ratios)), key=lambda i: (-remainders[i], i))
    for index in by_largest_remainder[:leftover]:
        shares[index] += 1
    signed = [-share for share in shares] if total_minor < 0 else shares
    invariant(sum(signed) == total_minor, "an allocation must add up to its total")
    return signed


def _check_ratios(ratios: Sequence[int]) -> None:
    if isinstance(ratios, str | bytes) or not isinstance(ratios, Sequence):
        raise InvalidInput(
            "ratios must be a list or tuple of ints", code="allocation_ratio_not_int"
        )
    if not ratios:
        raise InvalidInput("there must be at least one ratio", code="allocation_ratios_empty")
    if len(ratios) > ALLOCATION_RATIOS_MAX:
        raise LimitExceeded(
            f"at most {ALLOCATION_RATIOS_MAX} ratios can be allocated at once",
            code="allocation_ratios_max",
            ratios_max=ALLOCATION_RATIOS_MAX,
        )
    for index, ratio in enumerate(ratios):
        if type(ratio) is not int:
            raise InvalidInput(
                f"ratio {index} is a {type(ratio).__name__}; ratios are ints "
                "(convert weights first, e.g. to basis points)",
                code="allocation_ratio_not_int",
                index=index,
            )
        if ratio < 0:
            raise InvalidInput(
                f"ratio {index} is negative ({ratio})",
                code="allocation_ratio_negative",
                index=index,
            )
    if not any(ratios):
        raise InvalidInput("at least one ratio must be positive", code="allocation_ratios_all_zero")
