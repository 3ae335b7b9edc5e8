"""Pure rules of money in: fee plans and the fee of each order line, refund splits, release dates.

Every amount is `Money`; every rounding is named; a fee never exceeds its line, and the parts
of a split always add up to the whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from sellerpay.errors import InvalidInput
from sellerpay.money import Money, RoundingMode, allocate

ANY: Final = "*"
commission_rounding: Final = RoundingMode.HALF_EVEN


class RefundPolicy(StrEnum):
    PROPORTIONAL = "proportional"  # the commission is returned in proportion to what is refunded
    RETAIN = "retain"  # the platform keeps its commission; the seller bears the whole refund


@dataclass(frozen=True, slots=True)
class FeeRule:
    """Commission for lines of a category in a market (`*` matches any)."""

    category: str = ANY
    market: str = ANY
    bps: int = 0
    min_minor: Mapping[str, int] = field(default_factory=dict)  # per currency
    max_minor: Mapping[str, int] = field(default_factory=dict)  # per currency

    @property
    def specificity(self) -> int:
        return (self.category != ANY) * 2 + (self.market != ANY)


@dataclass(frozen=True, slots=True)
class FeePlan:
    """A versioned fee plan: rules, a fixed fee per order per currency, a refund policy."""

    id: str
    version: int
    rules: tuple[FeeRule, ...]
    fixed_fee_per_order: Mapping[str, int] = field(default_factory=dict)
    refund_policy: RefundPolicy = RefundPolicy.PROPORTIONAL


@dataclass(frozen=True, slots=True)
class OrderLine:
    line_id: str
    amount: Money
    category: str
    market: str


@dataclass(frozen=True, slots=True)
class LineFee:
    """The fee breakdown of one order line; `commission + fixed_fee = fee`, `fee + net = gross`."""

    line_id: str
    gross: Money
    bps: int
    commission: Money
    fixed_fee: Money
    fee: Money
    net: Money

    def as_dict(self) -> dict[str, int | str]:
        return {
            "line_id": self.line_id,
            "currency": self.gross.currency,
            "gross_minor": self.gross.amount_minor,
            "bps": self.bps,
            "commission_minor": self.commission.amount_minor,
            "fixed_fee_minor": self.fixed_fee.amount_minor,
            "fee_minor": self.fee.amount_minor,
            "net_minor": self.net.amount_minor,
        }


def validate_fee_plan(plan: FeePlan) -> None:
    if not plan.rules:
        raise InvalidInput("a fee plan needs at least one rule", code="fee_plan_empty")
    seen: set[tuple[str, str]] = set()
    for rule in plan.rules:
        if not 0 <= rule.bps <= 10_000:
            raise InvalidInput(f"bps {rule.bps} must be between 0 and 10000", code="invalid_bps")
        if (rule.category, rule.market) in seen:
            raise InvalidInput(
                f"two rules for {rule.category}/{rule.market}", code="duplicate_fee_rule"
            )
        seen.add((rule.category, rule.market))
        for currency, low in rule.min_minor.items():
            if low < 0 or low > rule.max_minor.get(currency, low):
                raise InvalidInput(
                    f"minimum {low} {currency} is negative or above the maximum",
                    code="invalid_fee_bounds",
                )
    if any(amount < 0 for amount in plan.fixed_fee_per_order.values()):
        raise InvalidInput("a fixed fee cannot be negative", code="invalid_fixed_fee")


def matching_rule(plan: FeePlan, category: str, market: str) -> FeeRule:
    """The most specific rule: (category, market), then category, then market, then `*`."""
    candidates = [
        r for r in plan.rules if r.category in (category, ANY) and r.market in (market, ANY)
    ]
    if not candidates:
        raise InvalidInput(
            f"fee plan {plan.id} has no rule for {category} in {market}",
            code="no_fee_rule",
            category=category,
            market=market,
        )
    return max(candidates, key=lambda r: r.specificity)


def order_fees(plan: FeePlan, lines: Sequence[OrderLine]) -> list[LineFee]:
    """Fee breakdown of each line: commission by rule (clamped to min/max), then the order's
    fixed fee shared across lines in proportion to their amounts (so no unit is lost); the fee
    of a line is capped at the line's amount."""
    if not lines:
        raise InvalidInput("an order needs at least one line", code="order_without_lines")
    currency = lines[0].amount.currency
    if any(line.amount.currency != currency for line in lines):
        raise InvalidInput("all lines of an order are in one currency", code="currency_mismatch")
    if any(not line.amount.is_positive() for line in lines):
        raise InvalidInput("line amounts must be positive", code="amount_not_positive")
    fixed_total = Money(plan.fixed_fee_per_order.get(currency, 0), currency)
    fixed_shares = allocate(fixed_total, [line.amount.amount_minor for line in lines])
    fees = []
    for line, fixed in zip(lines, fixed_shares, strict=True):
        rule = matching_rule(plan, line.category, line.market)
        commission = line.amount.fee_bps(rule.bps, rounding=commission_rounding)
        low = rule.min_minor.get(currency)
        high = rule.max_minor.get(currency)
        if low is not None and commission.amount_minor < low:
            commission = Money(low, currency)
        if high is not None and commission.amount_minor > high:
            commission = Money(high, currency)
        commission = min(commission, line.amount)
        fixed = min(fixed, line.amount - commission)
        fee = commission + fixed
        fees.append(
            LineFee(line.line_id, line.amount, rule.bps, commission, fixed, fee, line.amount - fee)
        )
    return fees


@dataclass(frozen=True, slots=True)
class RefundSplit:
    """Who bears a refund: `seller + platform = refund`."""

    seller: Money
    platform: Money


def refund_split(
    line: LineFee, *, refunded_before: Money, refund: Money, policy: RefundPolicy
) -> RefundSplit:
    """Split `refund` of `line` (after `refunded_before` was already refunded) between the seller's
    share and the commission given back. Cumulative rounding: after a full refund, exactly the
    whole fee has been given back, whatever the partial refunds before."""
    after = refunded_before + refund
    if refund.amount_minor <= 0 or after > line.gross:
        raise InvalidInput(
            f"refund {refund} on line {line.line_id}: {refunded_before} already refunded of "
            f"{line.gross}",
            code="over_refund",
            line_id=line.line_id,
        )
    if policy is RefundPolicy.RETAIN:
        return RefundSplit(seller=refund, platform=Money.zero(refund.currency))

    def fee_back(refunded: Money) -> int:
        numerator = line.fee.amount_minor * refunded.amount_minor
        quotient, remainder = divmod(numerator, line.gross.amount_minor)
        # half-even on the exact fraction, done in integers
        if remainder * 2 > line.gross.amount_minor or (
            remainder * 2 == line.gross.amount_minor and quotient % 2 == 1
        ):
            quotient += 1
        return quotient

    platform = Money(fee_back(after) - fee_back(refunded_before), refund.currency)
    return RefundSplit(seller=refund - platform, platform=platform)


@dataclass(frozen=True, slots=True)
class HoldingPeriods:
    """Days funds stay pending after delivery, by risk tier, and the cap without delivery."""

    days_by_tier: Mapping[str, int]
    without_delivery_days: int


def release_due_at(
    *, paid_at: datetime, delivered_at: datetime | None, risk_tier: str, holding: HoldingPeriods
) -> datetime:
    """When pending funds of an order become available: delivery + the tier's holding period
    (the customer's return window runs from delivery), or, while no delivery event has come,
    payment + the cap."""
    if delivered_at is None:
        return paid_at + timedelta(days=holding.without_delivery_days)
    return delivered_at + timedelta(days=holding.days_by_tier[risk_tier])
