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
from sellerpay.money import Money, RoundingMode, allocate, exponent

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
        for currency in (*rule.min_minor, *rule.max_minor):
            exponent(currency)  # UnknownCurrency
        for currency, low in rule.min_minor.items():
            if low < 0 or low > rule.max_minor.get(currency, low):
                raise InvalidInput(
                    f"minimum {low} {currency} is negative or above the maximum",
                    code="invalid_fee_bounds",
                )
        if any(high < 0 for high in rule.max_minor.values()):
            raise InvalidInput("a maximum fee cannot be negative", code="invalid_fee_bounds")
    for currency, amount in plan.fixed_fee_per_order.items():
        exponent(currency)  # UnknownCurrency
        if amount < 0:
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


def fee_returned(line: LineFee, *, refunded: Money, policy: RefundPolicy) -> Money:
    """The commission given back once `refunded` of `line` has been refunded in all: the fee in
    proportion to the refunded part of the line, half-even on the exact fraction (in integers).

    Cumulative on purpose: the commission given back by one refund is the difference of this
    function before and after it, so partial refunds in any number of steps give back exactly
    the fee once the whole line is refunded, never more than it, and never lose a unit.
    """
    if policy is RefundPolicy.RETAIN or refunded.is_zero():
        return Money.zero(line.gross.currency)
    if refunded.is_negative() or refunded > line.gross:
        raise InvalidInput(
            f"{refunded} refunded of line {line.line_id} paid {line.gross}",
            code="over_refund",
            line_id=line.line_id,
        )
    quotient, remainder = divmod(
        line.fee.amount_minor * refunded.amount_minor, line.gross.amount_minor
    )
    if remainder * 2 > line.gross.amount_minor or (
        remainder * 2 == line.gross.amount_minor and quotient % 2 == 1
    ):
        quotient += 1
    return Money(quotient, line.gross.currency)


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
    platform = fee_returned(line, refunded=after, policy=policy) - fee_returned(
        line, refunded=refunded_before, policy=policy
    )
    return RefundSplit(seller=refund - platform, platform=platform)


@dataclass(frozen=True, slots=True)
class RefundTotals:
    """Everything refunded on an order so far: by line (`line_id` → amount) and by amount.

    Refunds by amount are kept as one total, spread over the lines only when the effect of a
    refund is computed (`refund_effect`), so the split never depends on the order in which
    refunds arrive.
    """

    by_line: Mapping[str, Money]
    by_amount: Money

    def plus(self, refund: RefundTotals) -> RefundTotals:
        by_line = dict(self.by_line)
        for line_id, amount in refund.by_line.items():
            by_line[line_id] = by_line.get(line_id, Money.zero(amount.currency)) + amount
        return RefundTotals(by_line, self.by_amount + refund.by_amount)

    def total(self) -> Money:
        return sum(self.by_line.values(), self.by_amount)


@dataclass(frozen=True, slots=True)
class LineRefunded:
    """Where a line stands after refunds: refunded in all, and the commission given back."""

    line_id: str
    refunded: Money
    fee_returned: Money


def refunded_per_line(lines: Sequence[LineFee], totals: RefundTotals) -> list[Money]:
    """How much of each line has been refunded: its refunds by line, plus its share of the
    refunds by amount spread over what each line has left after refunds by line (`allocate`,
    so the shares add up exactly). `InvalidInput(over_refund)` when more than paid is refunded;
    `InvalidInput(unknown_line)` for a line the order does not have."""
    currency = lines[0].gross.currency
    known = {line.line_id for line in lines}
    for line_id in totals.by_line:
        if line_id not in known:
            raise InvalidInput(
                f"the order has no line {line_id!r}", code="unknown_line", line_id=line_id
            )
    by_line = [totals.by_line.get(line.line_id, Money.zero(currency)) for line in lines]
    for line, refunded in zip(lines, by_line, strict=True):
        if refunded > line.gross:
            raise InvalidInput(
                f"{refunded} refunded of line {line.line_id}, which was paid {line.gross}",
                code="over_refund",
                line_id=line.line_id,
            )
    left = [
        (line.gross - refunded).amount_minor for line, refunded in zip(lines, by_line, strict=True)
    ]
    if totals.by_amount.amount_minor > sum(left):
        raise InvalidInput(
            f"{totals.total()} refunded of an order paid "
            f"{sum((line.gross for line in lines), Money.zero(currency))}",
            code="over_refund",
        )
    if totals.by_amount.is_zero():
        return by_line
    shares = allocate(totals.by_amount, left)
    return [refunded + share for refunded, share in zip(by_line, shares, strict=True)]


@dataclass(frozen=True, slots=True)
class RefundEffect:
    """What one refund does: `seller + platform = refund` (either part may be negative by a
    unit when refunds by amount are spread again), and where each line stands after it."""

    refund: Money
    seller: Money
    platform: Money
    lines: tuple[LineRefunded, ...]


def refund_effect(
    lines: Sequence[LineFee], *, before: RefundTotals, refund: RefundTotals, policy: RefundPolicy
) -> RefundEffect:
    """The effect of `refund` on an order whose refunds so far are `before`.

    The commission given back is the difference of the cumulative `fee_returned` of every line
    after and before, so the final state depends only on which refunds were applied, never on
    their order: delivering the same refunds in any order gives the same balances.
    """
    amount = refund.total()
    if not amount.is_positive():
        raise InvalidInput(f"a refund must be positive, not {amount}", code="amount_not_positive")
    after = before.plus(refund)
    old = refunded_per_line(lines, before)
    new = refunded_per_line(lines, after)
    currency = amount.currency
    returned_before = sum(
        (fee_returned(ln, refunded=r, policy=policy) for ln, r in zip(lines, old, strict=True)),
        Money.zero(currency),
    )
    states = tuple(
        LineRefunded(ln.line_id, r, fee_returned(ln, refunded=r, policy=policy))
        for ln, r in zip(lines, new, strict=True)
    )
    platform = sum((s.fee_returned for s in states), Money.zero(currency)) - returned_before
    return RefundEffect(refund=amount, seller=amount - platform, platform=platform, lines=states)


@dataclass(frozen=True, slots=True)
class Draw:
    """An amount taken from a seller: first from the order's pending funds, the rest from
    available (which may go negative: a balance to recover from later releases)."""

    from_pending: Money
    from_available: Money


def draw(amount: Money, *, pending: Money) -> Draw:
    """Take `amount` (positive) from `pending` first, the rest from available."""
    if amount.is_negative():
        raise InvalidInput(f"cannot draw a negative amount {amount}", code="amount_not_positive")
    taken = min(amount, max(pending, Money.zero(amount.currency)))
    return Draw(from_pending=taken, from_available=amount - taken)


def needs_approval(amount: Money, *, threshold_minor: Mapping[str, int]) -> bool:
    """A manual adjustment above the currency's threshold needs a second person; a currency
    without a threshold always does (the safe default)."""
    limit = threshold_minor.get(amount.currency)
    return limit is None or amount.amount_minor > limit


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
