"""Pure rules of payouts: the state machine, decisions and skip reasons, approvals, the
composition (always sums to the payout), FX at payout (paid + margin = mid, never more)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sellerpay.errors import Conflict, Forbidden, InvalidInput
from sellerpay.money import ExchangeRate, Money
from sellerpay.payouts.rules import (
    TERMINAL,
    TRANSITIONS,
    ApprovalReason,
    Candidate,
    Cursor,
    Destination,
    PayoutStatus,
    SkipReason,
    StreamItem,
    approval_reasons,
    check_approver,
    check_transition,
    compose,
    convert_for_payout,
    decide,
    end_to_end_id,
)

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
EUR = "EUR"


def destination(**changes: object) -> Destination:
    values: dict[str, object] = {
        "bank_account_id": "ba_1",
        "currency": EUR,
        "rail": "sepa",
        "verified": True,
        "cooldown_until": NOW - timedelta(hours=1),
        "hold_released": False,
        "disabled_reason": None,
    }
    values.update(changes)
    return Destination(**values)  # type: ignore[arg-type]


def candidate(available: int | Money = 10_000, **changes: object) -> Candidate:
    values: dict[str, object] = {
        "seller_id": "sel_1",
        "available": available if isinstance(available, Money) else Money(available, EUR),
        "minimum": Money(100, EUR),
        "payouts_enabled": True,
        "payouts_disabled_reason": None,
        "destination": destination(),
    }
    values.update(changes)
    return Candidate(**values)  # type: ignore[arg-type]


# --- state machine ---------------------------------------------------------------------------


def test_every_status_has_its_transitions_and_terminals_have_none() -> None:
    assert set(TRANSITIONS) == set(PayoutStatus)
    assert {PayoutStatus.FAILED, PayoutStatus.RETURNED, PayoutStatus.CANCELED} == TERMINAL


@given(st.sampled_from(list(PayoutStatus)), st.sampled_from(list(PayoutStatus)))
def test_check_transition_allows_exactly_the_table(
    current: PayoutStatus, new: PayoutStatus
) -> None:
    if new in TRANSITIONS[current]:
        check_transition("po_1", current, new)
    else:
        with pytest.raises(Conflict) as raised:
            check_transition("po_1", current, new)
        assert raised.value.code == "invalid_transition"


def test_nothing_is_canceled_once_at_the_bank() -> None:
    for status in (PayoutStatus.PROCESSING, PayoutStatus.SUBMITTED, PayoutStatus.PAID):
        assert PayoutStatus.CANCELED not in TRANSITIONS[status]
    assert PayoutStatus.RETURNED in TRANSITIONS[PayoutStatus.PAID]
    assert PayoutStatus.RETURNED not in TRANSITIONS[PayoutStatus.SUBMITTED]


# --- decisions -------------------------------------------------------------------------------


def test_a_healthy_seller_is_paid_the_whole_available_balance() -> None:
    decision = decide(candidate(12_345), now=NOW)
    assert decision.skip_reason is None
    assert decision.amount == Money(12_345, EUR)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"payouts_enabled": False}, SkipReason.PAYOUTS_DISABLED),
        ({"available": Money(-1, EUR)}, SkipReason.NEGATIVE_BALANCE),
        ({"available": Money(0, EUR)}, SkipReason.NOTHING_AVAILABLE),
        ({"destination": None}, SkipReason.NO_BANK_ACCOUNT),
        ({"destination": destination(verified=False)}, SkipReason.NO_BANK_ACCOUNT),
        ({"destination": destination(disabled_reason="AC04")}, SkipReason.BANK_ACCOUNT_DISABLED),
        (
            {"destination": destination(cooldown_until=NOW + timedelta(hours=5))},
            SkipReason.BANK_ACCOUNT_COOLDOWN,
        ),
        ({"available": Money(99, EUR)}, SkipReason.BELOW_MINIMUM),
    ],
)
def test_each_skip_reason(changes: dict[str, object], reason: SkipReason) -> None:
    decision = decide(candidate(**changes), now=NOW)
    assert decision.amount is None
    assert decision.skip_reason is reason
    assert decision.detail


def test_an_approver_released_cooldown_is_paid() -> None:
    held = destination(cooldown_until=NOW + timedelta(hours=5), hold_released=True)
    assert decide(candidate(destination=held), now=NOW).amount == Money(10_000, EUR)


@given(st.integers(-(10**9), 10**9), st.integers(0, 10**6), st.booleans(), st.booleans())
def test_a_payout_never_exceeds_available_nor_is_below_minimum(
    available: int, minimum: int, enabled: bool, verified: bool
) -> None:
    decision = decide(
        candidate(
            available,
            minimum=Money(minimum, EUR),
            payouts_enabled=enabled,
            destination=destination(verified=verified),
        ),
        now=NOW,
    )
    assert (decision.amount is None) != (decision.skip_reason is None)
    if decision.amount is not None:
        assert 0 < decision.amount.amount_minor == available
        assert available >= minimum and enabled and verified


# --- approvals -------------------------------------------------------------------------------


def test_approval_reasons() -> None:
    thresholds = {EUR: 100_000}
    assert (
        approval_reasons(
            Money(100_000, EUR), thresholds=thresholds, first_to_account=False, manual=False
        )
        == ()
    )
    assert approval_reasons(
        Money(100_001, EUR), thresholds=thresholds, first_to_account=True, manual=True
    ) == (
        ApprovalReason.ABOVE_THRESHOLD,
        ApprovalReason.FIRST_PAYOUT_TO_ACCOUNT,
        ApprovalReason.MANUAL,
    )
    # a currency without a threshold never needs approval for its amount
    assert (
        approval_reasons(
            Money(10**12, "JPY"), thresholds=thresholds, first_to_account=False, manual=False
        )
        == ()
    )


def test_four_eyes() -> None:
    check_approver("po_1", "alice", requested_by="bob", bank_account_changed_by="carol")
    with pytest.raises(Forbidden) as own:
        check_approver("po_1", "bob", requested_by="bob", bank_account_changed_by=None)
    assert own.value.code == "approver_is_requester"
    with pytest.raises(Forbidden) as changed:
        check_approver("po_1", "carol", requested_by="bob", bank_account_changed_by="carol")
    assert changed.value.code == "approver_changed_bank_account"


# --- composition -----------------------------------------------------------------------------

movements = st.lists(st.integers(-50_000, 100_000).filter(lambda n: n != 0), max_size=30)


def stream_of(amounts: list[int], start: int = 1) -> list[StreamItem]:
    return [
        StreamItem(
            start + i, f"tx{start + i}", "order.paid" if a > 0 else "refund", Money(a, EUR), {}
        )
        for i, a in enumerate(amounts)
    ]


@given(movements, st.integers(0, 50_000), st.data())
def test_composition_always_sums_to_the_payout(
    amounts: list[int], carried: int, data: st.DataObject
) -> None:
    cursor = Cursor(0, Money(carried, EUR), "tx0", "order.paid")
    unpaid = carried + sum(amounts)
    if unpaid <= 0:
        with pytest.raises(InvalidInput):
            compose(cursor, stream_of(amounts), Money(max(unpaid, 0) + 1, EUR))
        return
    amount = data.draw(st.integers(1, unpaid))
    items, after = compose(cursor, stream_of(amounts), Money(amount, EUR))
    assert sum(i.amount.amount_minor for i in items) == amount
    assert all(i.amount.amount_minor != 0 for i in items)
    # what is left unpaid is exactly the rest: carried + later movements
    later = sum(a for i, a in enumerate(amounts, start=1) if i > after.account_version)
    assert after.carried.amount_minor + later == unpaid - amount
    assert after.carried.amount_minor >= 0


@given(movements, st.integers(1, 10))
def test_paying_in_parts_pays_every_movement_exactly_once(amounts: list[int], parts: int) -> None:
    """Payouts one after the other cover the movements in order, each unit once."""
    total = sum(amounts)
    if total <= 0:
        return
    cursor = Cursor(0, Money(0, EUR))
    stream = stream_of(amounts)
    paid = 0
    shares = [total // parts + (1 if i < total % parts else 0) for i in range(parts)]
    for share in (s for s in shares if s > 0):
        rest = [s for s in stream if s.account_version > cursor.account_version]
        items, cursor = compose(cursor, rest, Money(share, EUR))
        assert sum(i.amount.amount_minor for i in items) == share
        paid += share
    assert paid == total
    later = sum(s.amount.amount_minor for s in stream if s.account_version > cursor.account_version)
    assert cursor.carried.amount_minor + later == 0


def test_a_partial_payout_splits_the_crossing_credit() -> None:
    items, after = compose(
        Cursor(0, Money(0, EUR)), stream_of([5_000, -1_000, 7_000]), Money(8_000, EUR)
    )
    assert [(i.transaction_id, i.amount.amount_minor, i.partial) for i in items] == [
        ("tx1", 5_000, False),
        ("tx2", -1_000, False),
        ("tx3", 4_000, True),
    ]
    assert after == Cursor(3, Money(3_000, EUR), "tx3", "order.paid")
    rest, final = compose(after, [], Money(3_000, EUR))
    assert [(i.transaction_id, i.amount.amount_minor, i.partial) for i in rest] == [
        ("tx3", 3_000, True)
    ]
    assert final.carried == Money(0, EUR)


# --- FX --------------------------------------------------------------------------------------


@given(st.integers(1, 10**10), st.decimals("0.0001", "500", places=4), st.integers(0, 1_000))
def test_fx_paid_plus_margin_is_the_mid_amount(minor: int, rate: Decimal, margin_bps: int) -> None:
    conversion = convert_for_payout(
        Money(minor, EUR), ExchangeRate(EUR, "JPY", rate), margin_bps=margin_bps
    )
    assert conversion.paid + conversion.margin == conversion.mid
    assert conversion.paid.currency == conversion.margin.currency == "JPY"
    assert conversion.margin.amount_minor >= 0
    # rounded down: never more than the exact conversion
    exact = Decimal(minor) / 100 * rate
    assert conversion.mid.amount_minor <= exact


def test_fx_example_eur_to_usd() -> None:
    conversion = convert_for_payout(
        Money(10_000, EUR), ExchangeRate(EUR, "USD", Decimal("1.0842")), margin_bps=50
    )
    assert conversion.mid == Money(10_842, "USD")
    assert conversion.margin == Money(54, "USD")
    assert conversion.paid == Money(10_788, "USD")


def test_fx_margin_bounds() -> None:
    with pytest.raises(InvalidInput):
        convert_for_payout(
            Money(1, EUR), ExchangeRate(EUR, "USD", Decimal("1.1")), margin_bps=1_001
        )


# --- end-to-end ids --------------------------------------------------------------------------


@given(st.text(min_size=1, max_size=60))
def test_end_to_end_ids_fit_every_rail(payout_id: str) -> None:
    e2e = end_to_end_id(payout_id)
    assert len(e2e) == 20 and e2e.isalnum() and e2e.isupper() is not False
    assert e2e == end_to_end_id(payout_id)
