"""The pure rules of money in: fees of order lines, refund splits, release dates, draws from
pending, approval thresholds, fee plan validation. No database here."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from sellerpay.errors import InvalidInput
from sellerpay.money import Money, UnknownCurrency
from sellerpay.settlement.rules import (
    FeePlan,
    FeeRule,
    HoldingPeriods,
    LineFee,
    OrderLine,
    RefundPolicy,
    RefundTotals,
    draw,
    fee_returned,
    matching_rule,
    needs_approval,
    order_fees,
    refund_effect,
    refund_split,
    refunded_per_line,
    release_due_at,
    validate_fee_plan,
)

EUR = "EUR"
PAID = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
HOLDING = HoldingPeriods({"low": 3, "standard": 7, "high": 14}, without_delivery_days=30)


def eur(amount_minor: int) -> Money:
    return Money(amount_minor, EUR)


def plan(
    *rules: FeeRule, fixed: int = 0, policy: RefundPolicy = RefundPolicy.PROPORTIONAL
) -> FeePlan:
    return FeePlan("fp_test", 1, rules or (FeeRule(bps=1200),), {EUR: fixed}, policy)


def line(line_id: str, amount_minor: int, category: str = "phones") -> OrderLine:
    return OrderLine(line_id, eur(amount_minor), category, "FR")


amounts = st.integers(min_value=1, max_value=10_000_000)
line_amounts = st.lists(amounts, min_size=1, max_size=8)
rules = st.builds(
    FeeRule,
    bps=st.integers(0, 10_000),
    min_minor=st.one_of(st.just({}), st.builds(lambda v: {EUR: v}, st.integers(0, 500))),
    max_minor=st.one_of(st.just({}), st.builds(lambda v: {EUR: v}, st.integers(500, 100_000))),
)


def fees_of(amounts_minor: list[int], *, bps: int = 1200, fixed: int = 30) -> list[LineFee]:
    lines = [line(f"l{i}", a) for i, a in enumerate(amounts_minor)]
    return order_fees(plan(FeeRule(bps=bps), fixed=fixed), lines)


# --- fees ----------------------------------------------------------------------------------


@given(rule=rules, fixed=st.integers(0, 100_000), amounts_minor=line_amounts)
def test_a_line_fee_never_exceeds_the_line_and_fee_plus_net_is_the_line(
    rule: FeeRule, fixed: int, amounts_minor: list[int]
) -> None:
    fees = order_fees(
        plan(rule, fixed=fixed), [line(f"l{i}", a) for i, a in enumerate(amounts_minor)]
    )

    for fee, amount in zip(fees, amounts_minor, strict=True):
        assert eur(0) <= fee.fee <= fee.gross == eur(amount)
        assert fee.commission + fee.fixed_fee == fee.fee
        assert fee.fee + fee.net == fee.gross
        assert fee.net >= eur(0)
    assert sum(f.fixed_fee.amount_minor for f in fees) <= fixed


@given(
    fixed=st.integers(0, 10_000),
    amounts_minor=st.lists(st.integers(10_000, 10**7), min_size=1, max_size=10),
)
def test_the_fixed_fee_is_shared_across_the_lines_to_the_last_unit(
    fixed: int, amounts_minor: list[int]
) -> None:
    fees = fees_of(amounts_minor, bps=0, fixed=fixed)

    assert sum(f.fixed_fee.amount_minor for f in fees) == fixed
    for fee, amount in zip(fees, amounts_minor, strict=True):
        exact = fixed * amount / sum(amounts_minor)
        assert abs(fee.fixed_fee.amount_minor - exact) < 1


def test_commission_is_the_rate_rounded_half_even_then_held_within_the_rules_bounds() -> None:
    bounded = FeeRule(bps=1000, min_minor={EUR: 50}, max_minor={EUR: 2_000})

    small, middle, large = order_fees(
        plan(bounded), [line("a", 100), line("b", 10_000), line("c", 100_000)]
    )
    even, odd = order_fees(plan(FeeRule(bps=1000)), [line("d", 125), line("e", 135)])

    assert small.commission == eur(50)  # 10 % of 1.00 is 0.10: the minimum is 0.50
    assert middle.commission == eur(1_000)
    assert large.commission == eur(2_000)  # 10 000 capped
    assert (even.commission, odd.commission) == (eur(12), eur(14))  # 12.5 → 12, 13.5 → 14


def test_a_minimum_fee_never_takes_more_than_the_line() -> None:
    (fee,) = order_fees(plan(FeeRule(bps=100, min_minor={EUR: 500}), fixed=100), [line("a", 300)])

    assert fee.fee == eur(300)
    assert fee.net == eur(0)


def test_the_most_specific_rule_wins_category_before_market() -> None:
    fee_plan = plan(
        FeeRule(bps=1000),
        FeeRule(market="FR", bps=1100),
        FeeRule(category="laptops", bps=800),
        FeeRule(category="laptops", market="FR", bps=700),
    )

    assert matching_rule(fee_plan, "laptops", "FR").bps == 700
    assert matching_rule(fee_plan, "laptops", "ES").bps == 800
    assert matching_rule(fee_plan, "phones", "FR").bps == 1100
    assert matching_rule(fee_plan, "phones", "ES").bps == 1000


def test_a_plan_without_a_rule_for_the_line_refuses_it_by_name() -> None:
    with pytest.raises(InvalidInput) as refused:
        order_fees(plan(FeeRule(category="laptops", bps=800)), [line("a", 1_000, "phones")])
    assert refused.value.code == "no_fee_rule"


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        ([], "order_without_lines"),
        ([line("a", 100), OrderLine("b", Money(100, "USD"), "phones", "FR")], "currency_mismatch"),
        ([line("a", 0)], "amount_not_positive"),
    ],
)
def test_an_order_the_rules_cannot_price_is_refused(lines: list[OrderLine], code: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        order_fees(plan(), lines)
    assert refused.value.code == code


# --- refunds -------------------------------------------------------------------------------


@st.composite
def line_and_partial_refunds(draw_: st.DrawFn) -> tuple[LineFee, list[int]]:
    gross = draw_(st.integers(1, 1_000_000))
    bps = draw_(st.integers(0, 10_000))
    fixed = draw_(st.integers(0, 1_000))
    (fee,) = order_fees(plan(FeeRule(bps=bps), fixed=fixed), [line("a", gross)])
    cuts = sorted(draw_(st.sets(st.integers(1, gross - 1), max_size=6))) if gross > 1 else []
    parts = [b - a for a, b in itertools.pairwise([0, *cuts, gross])]
    return fee, parts


@given(case=line_and_partial_refunds(), data=st.data())
def test_a_full_refund_in_any_number_of_steps_gives_back_exactly_the_fee(
    case: tuple[LineFee, list[int]], data: st.DataObject
) -> None:
    fee, parts = case
    parts = data.draw(st.permutations(parts))
    refunded, given_back = eur(0), eur(0)

    for part in parts:
        split = refund_split(
            fee, refunded_before=refunded, refund=eur(part), policy=RefundPolicy.PROPORTIONAL
        )
        assert split.seller + split.platform == eur(part)
        assert eur(0) <= split.platform
        refunded += eur(part)
        given_back += split.platform
        assert given_back <= fee.fee  # never more commission back than was taken

    assert refunded == fee.gross
    assert given_back == fee.fee


@given(case=line_and_partial_refunds())
def test_partial_refunds_never_give_back_more_commission_than_their_share(
    case: tuple[LineFee, list[int]],
) -> None:
    fee, parts = case
    refunded = eur(0)
    for part in parts[:-1]:  # everything but the last part: a partial refund
        refunded += eur(part)
        returned = fee_returned(fee, refunded=refunded, policy=RefundPolicy.PROPORTIONAL)
        exact = fee.fee.amount_minor * refunded.amount_minor / fee.gross.amount_minor
        assert abs(returned.amount_minor - exact) <= 0.5
        assert returned <= fee.fee


def test_under_the_retain_policy_the_seller_bears_the_whole_refund() -> None:
    (fee,) = fees_of([10_000])

    split = refund_split(fee, refunded_before=eur(0), refund=eur(4_000), policy=RefundPolicy.RETAIN)

    assert split.seller == eur(4_000)
    assert split.platform == eur(0)


@pytest.mark.parametrize(("before", "refund"), [(0, 10_001), (6_000, 4_001), (0, 0), (0, -5)])
def test_refunding_more_than_the_line_or_nothing_is_refused(before: int, refund: int) -> None:
    (fee,) = fees_of([10_000])

    with pytest.raises(InvalidInput) as refused:
        refund_split(
            fee, refunded_before=eur(before), refund=eur(refund), policy=RefundPolicy.PROPORTIONAL
        )
    assert refused.value.code == "over_refund"


@st.composite
def order_and_refunds(draw_: st.DrawFn) -> tuple[list[LineFee], list[RefundTotals]]:
    """A priced order of a few lines (categories with different rates) and a set of refunds,
    by line or by amount, that together never exceed what was paid."""
    amounts_minor = draw_(st.lists(st.integers(1, 50_000), min_size=1, max_size=4))
    lines = [
        line(f"l{i}", a, draw_(st.sampled_from(["phones", "laptops"])))
        for i, a in enumerate(amounts_minor)
    ]
    fee_plan = plan(
        FeeRule(bps=1200), FeeRule(category="laptops", bps=800), fixed=draw_(st.integers(0, 99))
    )
    fees = order_fees(fee_plan, lines)
    left = {f.line_id: f.gross.amount_minor for f in fees}
    refunds = []
    for _ in range(draw_(st.integers(1, 5))):
        if draw_(st.booleans()):
            line_id = draw_(st.sampled_from(sorted(left)))
            if left[line_id] == 0:
                continue
            amount = draw_(st.integers(1, left[line_id]))
            left[line_id] -= amount
            refunds.append(RefundTotals({line_id: eur(amount)}, eur(0)))
        else:
            remaining = sum(left.values())
            if remaining == 0:
                continue
            amount = draw_(st.integers(1, remaining))
            rest = amount
            for line_id in sorted(left):  # keep the capacity it needs on some lines
                taken = min(left[line_id], rest)
                left[line_id] -= taken
                rest -= taken
            refunds.append(RefundTotals({}, eur(amount)))
    assume(refunds)
    return fees, refunds


def apply_refunds(
    fees: list[LineFee], refunds: list[RefundTotals]
) -> tuple[list[tuple[int, int]], int, int]:
    """Apply refunds in order; returns each line's (refunded, fee returned), and the totals of
    the platform's and the seller's shares."""
    so_far = RefundTotals({}, eur(0))
    platform = seller = 0
    effect = None
    for refund in refunds:
        effect = refund_effect(fees, before=so_far, refund=refund, policy=RefundPolicy.PROPORTIONAL)
        assert effect.seller + effect.platform == refund.total()
        platform += effect.platform.amount_minor
        seller += effect.seller.amount_minor
        so_far = so_far.plus(refund)
    assert effect is not None
    return (
        [(s.refunded.amount_minor, s.fee_returned.amount_minor) for s in effect.lines],
        platform,
        seller,
    )


@given(case=order_and_refunds(), data=st.data())
def test_refunds_in_any_order_end_with_the_same_split_of_every_line(
    case: tuple[list[LineFee], list[RefundTotals]], data: st.DataObject
) -> None:
    fees, refunds = case
    in_order = apply_refunds(fees, refunds)
    shuffled = apply_refunds(fees, data.draw(st.permutations(refunds)))

    assert shuffled == in_order
    lines, platform, seller = in_order
    assert platform + seller == sum(r.total().amount_minor for r in refunds)
    for fee, (refunded, returned) in zip(fees, lines, strict=True):
        assert 0 <= refunded <= fee.gross.amount_minor
        assert 0 <= returned <= fee.fee.amount_minor
    assert platform == sum(returned for _, returned in lines)


def test_a_refund_by_amount_is_spread_over_what_each_line_has_left() -> None:
    fees = fees_of([6_000, 4_000], fixed=0)
    already = RefundTotals({"l0": eur(4_000)}, eur(0))  # line l0 has 2 000 left, l1 4 000

    spread = refunded_per_line(fees, already.plus(RefundTotals({}, eur(3_000))))

    assert spread == [eur(5_000), eur(2_000)]  # 3 000 spread 1 : 2 over what is left


def test_a_refund_of_an_unknown_line_or_of_more_than_was_paid_is_refused() -> None:
    fees = fees_of([6_000, 4_000])
    nothing = RefundTotals({}, eur(0))

    with pytest.raises(InvalidInput) as unknown:
        refund_effect(
            fees,
            before=nothing,
            refund=RefundTotals({"zz": eur(1)}, eur(0)),
            policy=RefundPolicy.PROPORTIONAL,
        )
    with pytest.raises(InvalidInput) as too_much:
        refund_effect(
            fees,
            before=nothing,
            refund=RefundTotals({}, eur(10_001)),
            policy=RefundPolicy.PROPORTIONAL,
        )
    with pytest.raises(InvalidInput) as line_too_much:
        refund_effect(
            fees,
            before=nothing,
            refund=RefundTotals({"l1": eur(4_001)}, eur(0)),
            policy=RefundPolicy.PROPORTIONAL,
        )

    assert (unknown.value.code, too_much.value.code, line_too_much.value.code) == (
        "unknown_line", "over_refund", "over_refund"
    )  # fmt: skip


# --- release dates, draws, approvals -------------------------------------------------------


@given(
    delay=st.integers(0, 60 * 24 * 90),
    tier=st.sampled_from(["low", "standard", "high"]),
)
def test_funds_are_released_the_tiers_holding_period_after_delivery(delay: int, tier: str) -> None:
    delivered_at = PAID + timedelta(minutes=delay)

    due = release_due_at(paid_at=PAID, delivered_at=delivered_at, risk_tier=tier, holding=HOLDING)

    assert due == delivered_at + timedelta(days=HOLDING.days_by_tier[tier])
    assert due >= delivered_at


def test_an_order_never_delivered_is_released_after_the_cap_from_payment() -> None:
    due = release_due_at(paid_at=PAID, delivered_at=None, risk_tier="high", holding=HOLDING)

    assert due == PAID + timedelta(days=30)


def test_a_higher_risk_tier_holds_funds_longer() -> None:
    dues = [
        release_due_at(paid_at=PAID, delivered_at=PAID, risk_tier=tier, holding=HOLDING)
        for tier in ("low", "standard", "high")
    ]
    assert dues == sorted(dues) and len(set(dues)) == 3


@given(amount=st.integers(0, 10**6), pending=st.integers(-100, 10**6))
def test_a_draw_takes_pending_funds_first_then_available(amount: int, pending: int) -> None:
    taken = draw(eur(amount), pending=eur(pending))

    assert taken.from_pending + taken.from_available == eur(amount)
    assert taken.from_pending == eur(max(0, min(amount, pending)))
    assert taken.from_available >= eur(0)


@pytest.mark.parametrize(
    ("amount", "currency", "needed"),
    [(50_000, "EUR", False), (50_001, "EUR", True), (1, "CHF", True), (5_000_000, "JPY", False)],
)
def test_only_adjustments_above_the_threshold_need_a_second_person(
    amount: int, currency: str, needed: bool
) -> None:
    thresholds = {"EUR": 50_000, "JPY": 5_000_000}

    assert needs_approval(Money(amount, currency), threshold_minor=thresholds) is needed


# --- fee plans -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fee_plan", "code"),
    [
        (FeePlan("fp", 1, ()), "fee_plan_empty"),
        (FeePlan("fp", 1, (FeeRule(bps=10_001),)), "invalid_bps"),
        (FeePlan("fp", 1, (FeeRule(bps=1), FeeRule(bps=2))), "duplicate_fee_rule"),
        (
            FeePlan("fp", 1, (FeeRule(bps=1, min_minor={EUR: 9}, max_minor={EUR: 8}),)),
            "invalid_fee_bounds",
        ),
        (FeePlan("fp", 1, (FeeRule(bps=1, max_minor={EUR: -1}),)), "invalid_fee_bounds"),
        (FeePlan("fp", 1, (FeeRule(bps=1),), {EUR: -1}), "invalid_fixed_fee"),
        (FeePlan("fp", 1, (FeeRule(bps=1),), {"EURO": 1}), "unknown_currency"),
        (FeePlan("fp", 1, (FeeRule(bps=1, min_minor={"XXX": 1}),)), "unknown_currency"),
    ],
)
def test_an_invalid_fee_plan_is_refused_by_the_rule_it_breaks(fee_plan: FeePlan, code: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_fee_plan(fee_plan)
    assert refused.value.code == code
    if code == "unknown_currency":
        assert isinstance(refused.value, UnknownCurrency)
