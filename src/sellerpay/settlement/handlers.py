"""How each marketplace event changes orders, refunds, disputes, adjustments and the ledger.

One function per event type, working on a `Unit` (no SQL here). Each checks everything first
and only then changes the unit, so an event that is refused, parked or already applied leaves
no trace: refusals raise a `SellerpayError` (the event is rejected with its code), `Park`
(the event waits for `waiting_for`) or `AlreadyApplied` (its effect is already there).

Ledger effects (ARCHITECTURE.md chart; every transaction's idempotency key is derived from the
business ids, so applying an event twice can never post twice):

    order.paid       Dr psp_clearing gross; Cr seller pending net; Cr revenue:commission fees
    order.refunded   Cr refunds_payable refund; Dr seller pending (what is still pending), then
                     available; Dr revenue:commission the commission given back — then
                     Dr refunds_payable, Cr psp_clearing (the provider refunded the customer)
    dispute.opened   Dr seller pending (what is still pending), then available; Cr dispute_hold
    dispute.won      Dr dispute_hold; Cr pending (if the order is not released yet) / available
    dispute.lost     Dr dispute_hold, Cr psp_clearing; Dr available, Cr revenue:dispute_fees
    adjustment       credit: Dr platform:adjustments, Cr available; debit: the mirror
    release          Dr seller pending, Cr available (the release job, `release_order`)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pydantic import BaseModel

from sellerpay.errors import InvalidInput, Rejected, invariant
from sellerpay.ledger.rules import EntryRequest, JsonScalar, Side, TransactionRequest
from sellerpay.money import CurrencyMismatch, Money, exponent, sum_money
from sellerpay.sellers.rules import SellerStatus
from sellerpay.settlement import schemas
from sellerpay.settlement.rules import (
    LineFee,
    OrderLine,
    RefundEffect,
    RefundPolicy,
    RefundTotals,
    draw,
    needs_approval,
    order_fees,
    refund_effect,
    release_due_at,
)
from sellerpay.settlement.state import (
    AdjustmentRecord,
    DisputeRecord,
    FeePlanRecord,
    LineRecord,
    OrderRecord,
    RefundRecord,
    Unit,
)

PSP_CLEARING: Final = "platform:psp_clearing"
COMMISSION: Final = "platform:revenue:commission"
DISPUTE_FEES: Final = "platform:revenue:dispute_fees"
REFUNDS_PAYABLE: Final = "platform:refunds_payable"
ADJUSTMENTS: Final = "platform:adjustments"


def pending_account(seller_id: str) -> str:
    return f"seller:{seller_id}:pending"


def available_account(seller_id: str) -> str:
    return f"seller:{seller_id}:available"


def dispute_hold_account(seller_id: str) -> str:
    return f"seller:{seller_id}:dispute_hold"


# --- outcomes ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Applied:
    """The event took effect; `unlocks` names what parked events may have waited for."""

    unlocks: tuple[str, ...] = ()
    note_code: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class AwaitingApproval:
    """Stored, waiting for a second person (a large manual adjustment)."""

    note: str


Outcome = Applied | AwaitingApproval


class Park(Exception):
    """The event cannot be applied yet: it waits for `waiting_for` (e.g. `order:ord_1`)."""

    def __init__(self, waiting_for: str, code: str, detail: str) -> None:
        super().__init__(detail)
        self.waiting_for = waiting_for
        self.code = code
        self.detail = detail


class AlreadyApplied(Exception):
    """Another event (another id, the same business fact) already had this effect."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def data_hash(data: BaseModel) -> str:
    """SHA-256 of an event's data as understood: the same fact sent twice hashes the same."""
    text = json.dumps(data.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


# --- small shared pieces ---------------------------------------------------------------------


def amount_of(amount_minor: int | None, amount: str | None, currency: str) -> Money:
    """The amount an event gives as minor units or exact text, in `currency`; never rounded."""
    money = Money(amount_minor, currency) if amount_minor is not None else None
    if money is None:
        invariant(amount is not None, "the schema requires one of amount_minor and amount")
        assert amount is not None
        money = Money.parse(amount, currency)  # TooManyDecimals, InvalidAmount
    if not money.is_positive():
        raise InvalidInput(f"an amount must be positive, not {money}", code="amount_not_positive")
    return money


def check_currency(given: str | None, expected: str) -> None:
    if given is not None and given != expected:
        raise CurrencyMismatch(
            f"the event is in {given}, the order in {expected}", expected=expected, found=given
        )


def transaction(
    key: str,
    kind: str,
    currency: str,
    legs: Sequence[tuple[str, int]],
    *,
    references: Mapping[str, str],
    metadata: Mapping[str, JsonScalar] | None = None,
) -> TransactionRequest:
    """A transaction from signed legs (positive: debit, negative: credit); zero legs dropped."""
    invariant(sum(amount for _, amount in legs) == 0, f"{key} balances")
    entries = tuple(
        EntryRequest(
            account, Side.DEBIT if amount > 0 else Side.CREDIT, Money(abs(amount), currency)
        )
        for account, amount in legs
        if amount != 0
    )
    return TransactionRequest(
        idempotency_key=key,
        kind=kind,
        entries=entries,
        references=dict(references),
        metadata=dict(metadata or {}),
    )


def _order_or_park(unit: Unit, order_id: str, what: str) -> OrderRecord:
    order = unit.orders.get(order_id)
    if order is None:
        raise Park(
            f"order:{order_id}", "unknown_order", f"{what} of order {order_id}, not paid yet"
        )
    return order


def _seller_or_park(unit: Unit, seller_id: str, what: str) -> None:
    if unit.seller(seller_id) is None:
        raise Park(
            f"seller:{seller_id}", "unknown_seller", f"{what} for unknown seller {seller_id}"
        )


# --- order.paid ----------------------------------------------------------------------------


def order_paid(unit: Unit, event: schemas.OrderPaidEvent, *, event_id: str) -> Outcome:
    data = event.data
    request_hash = data_hash(data)
    existing = unit.orders.get(data.order_id)
    if existing is not None:
        if existing.request_hash == request_hash:
            raise AlreadyApplied(
                "order_already_paid",
                f"order {data.order_id} was recorded by event {existing.paid_event_id}",
            )
        raise Rejected(
            f"order {data.order_id} was paid with other details (event {existing.paid_event_id})",
            code="order_id_reused",
        )
    lines = _order_lines(data)
    _seller_or_park(unit, data.seller_id, f"order {data.order_id}")
    seller = unit.seller(data.seller_id)
    assert seller is not None
    if seller.status is SellerStatus.CLOSED:
        raise Rejected(f"seller {seller.id} is closed: no new orders", code="seller_closed")
    waiting = f"fee_plan:{seller.id}"
    record = unit.fee_plan_for(seller.id, at=data.paid_at)
    if record is None:
        raise Park(
            waiting, "no_fee_plan", f"no fee plan in force for {seller.id} on {data.paid_at}"
        )
    try:
        fees = order_fees(record.plan, lines)
    except InvalidInput as error:
        if error.code != "no_fee_rule":
            raise
        raise Park(waiting, "no_fee_rule", error.detail) from error
    _record_order(
        unit, event, fees, plan=record, risk_tier=seller.risk_tier.value, key=request_hash
    )
    order = unit.orders.get(data.order_id)
    assert order is not None
    gross, fee, net = order.gross_minor, order.fee_minor, order.net_minor
    unit.post(
        transaction(
            f"order.paid:{data.order_id}",
            "order.paid",
            data.currency,
            [(PSP_CLEARING, gross), (pending_account(seller.id), -net), (COMMISSION, -fee)],
            references={"order_id": data.order_id, "event_id": event_id, "seller_id": seller.id},
            metadata={"fee_plan_id": record.id, "fee_plan_version": record.version},
        )
    )
    unit.record(
        "order.recorded", data.order_id, order_summary(order, unit.lines_of(order.order_id))
    )
    return Applied(unlocks=(f"order:{data.order_id}",))


def _order_lines(data: schemas.OrderPaidData) -> list[OrderLine]:
    exponent(data.currency)  # UnknownCurrency
    seen: set[str] = set()
    lines = []
    for line in data.lines:
        if line.line_id in seen:
            raise InvalidInput(f"line {line.line_id} appears twice", code="duplicate_line_id")
        seen.add(line.line_id)
        check_currency(line.currency, data.currency)
        amount = amount_of(line.amount_minor, line.amount, data.currency)
        lines.append(OrderLine(line.line_id, amount, line.category, data.market))
    return lines


def _record_order(
    unit: Unit,
    event: schemas.OrderPaidEvent,
    fees: Sequence[LineFee],
    *,
    plan: FeePlanRecord,
    risk_tier: str,
    key: str,
) -> None:
    data = event.data
    currency = data.currency
    gross = sum_money((f.gross for f in fees), currency)
    fee = sum_money((f.fee for f in fees), currency)
    due = release_due_at(
        paid_at=data.paid_at, delivered_at=None, risk_tier=risk_tier, holding=unit.policy.holding
    )
    unit.orders.add(
        OrderRecord(
            order_id=data.order_id,
            seller_id=data.seller_id,
            currency=currency,
            market=data.market,
            status="paid",
            risk_tier=risk_tier,
            gross_minor=gross.amount_minor,
            fee_minor=fee.amount_minor,
            net_minor=(gross - fee).amount_minor,
            refunded_minor=0,
            refunded_by_amount_minor=0,
            fee_returned_minor=0,
            pending_minor=(gross - fee).amount_minor,
            released_minor=0,
            fee_plan_id=plan.id,
            fee_plan_version=plan.version,
            refund_policy=plan.refund_policy.value,
            paid_at=data.paid_at,
            shipped_at=None,
            delivered_at=None,
            release_due_at=due,
            released_at=None,
            paid_event_id=event.id,
            request_hash=key,
            created_at=unit.now,
            updated_at=unit.now,
        )
    )
    unit.add_lines(
        [
            LineRecord(
                order_id=data.order_id,
                line_id=f.line_id,
                position=position,
                category=line.category,
                gross_minor=f.gross.amount_minor,
                bps=f.bps,
                commission_minor=f.commission.amount_minor,
                fixed_fee_minor=f.fixed_fee.amount_minor,
                fee_minor=f.fee.amount_minor,
                net_minor=f.net.amount_minor,
                refunded_by_line_minor=0,
                refunded_minor=0,
                fee_returned_minor=0,
            )
            for position, (f, line) in enumerate(zip(fees, data.lines, strict=True))
        ]
    )


def order_summary(order: OrderRecord, lines: Sequence[LineRecord]) -> dict[str, Any]:
    """An order as outbox events show it."""
    return {
        "order_id": order.order_id,
        "seller_id": order.seller_id,
        "currency": order.currency,
        "gross_minor": order.gross_minor,
        "fee_minor": order.fee_minor,
        "net_minor": order.net_minor,
        "paid_at": order.paid_at.isoformat(),
        "release_due_at": order.release_due_at.isoformat(),
        "lines": [line.fee(order.currency).as_dict() for line in lines],
    }


# --- fulfilment ----------------------------------------------------------------------------


def order_shipped(unit: Unit, event: schemas.OrderShippedEvent, *, event_id: str) -> Outcome:
    order = _order_or_park(unit, event.data.order_id, "shipment")
    shipped_at = event.data.shipped_at
    if order.shipped_at is not None and order.shipped_at <= shipped_at:
        return Applied(note_code="no_change", note="an earlier shipment is already recorded")
    order.shipped_at = shipped_at
    order.updated_at = unit.now
    unit.orders.touch(order)
    unit.record(
        "order.shipment_recorded",
        order.order_id,
        {
            "order_id": order.order_id,
            "seller_id": order.seller_id,
            "shipped_at": shipped_at.isoformat(),
        },
    )
    return Applied()


def order_delivered(unit: Unit, event: schemas.OrderDeliveredEvent, *, event_id: str) -> Outcome:
    """Delivery starts the holding period; the earliest delivery counts, whatever the order in
    which deliveries arrive. An order already released keeps its release."""
    order = _order_or_park(unit, event.data.order_id, "delivery")
    delivered_at = event.data.delivered_at
    if order.delivered_at is not None and order.delivered_at <= delivered_at:
        return Applied(note_code="no_change", note="an earlier delivery is already recorded")
    order.delivered_at = delivered_at
    if order.released_at is None:
        order.release_due_at = release_due_at(
            paid_at=order.paid_at,
            delivered_at=delivered_at,
            risk_tier=order.risk_tier,
            holding=unit.policy.holding,
        )
    order.updated_at = unit.now
    unit.orders.touch(order)
    unit.record(
        "order.delivery_recorded",
        order.order_id,
        {
            "order_id": order.order_id,
            "seller_id": order.seller_id,
            "delivered_at": delivered_at.isoformat(),
            "release_due_at": order.release_due_at.isoformat(),
        },
    )
    return Applied()


# --- order.refunded ------------------------------------------------------------------------


def order_refunded(unit: Unit, event: schemas.OrderRefundedEvent, *, event_id: str) -> Outcome:
    data = event.data
    order = _order_or_park(unit, data.order_id, f"refund {data.refund_id}")
    request_hash = data_hash(data)
    existing = unit.refunds.get((order.order_id, data.refund_id))
    if existing is not None:
        if existing.request_hash == request_hash:
            raise AlreadyApplied(
                "refund_already_recorded",
                f"refund {data.refund_id} was recorded by event {existing.event_id}",
            )
        raise Rejected(
            f"refund {data.refund_id} of order {order.order_id} was recorded with other "
            f"details (event {existing.event_id})",
            code="refund_id_reused",
        )
    check_currency(data.currency, order.currency)
    refund = _refund_totals(data, order.currency)
    lines = unit.lines_of(order.order_id)
    effect = refund_effect(
        [line.fee(order.currency) for line in lines],
        before=_refunds_so_far(order, lines),
        refund=refund,
        policy=RefundPolicy(order.refund_policy),
    )
    legs, from_pending, from_available = _seller_legs(order, -effect.seller.amount_minor)
    amount = effect.refund.amount_minor
    legs += [(COMMISSION, effect.platform.amount_minor), (REFUNDS_PAYABLE, -amount)]
    references = {"order_id": order.order_id, "refund_id": data.refund_id, "event_id": event_id}
    key = f"{order.order_id}:{data.refund_id}"
    unit.post(
        transaction(
            f"order.refunded:{key}", "order.refunded", order.currency, legs, references=references
        )
    )
    executed = [(REFUNDS_PAYABLE, amount), (PSP_CLEARING, -amount)]
    unit.post(
        transaction(
            f"refund.executed:{key}",
            "refund.executed",
            order.currency,
            executed,
            references=references,
        )
    )
    record = RefundRecord(
        order_id=order.order_id,
        refund_id=data.refund_id,
        amount_minor=amount,
        by_line={k: v.amount_minor for k, v in refund.by_line.items()} or None,
        seller_minor=effect.seller.amount_minor,
        platform_minor=effect.platform.amount_minor,
        from_pending_minor=from_pending,
        from_available_minor=from_available,
        reason=data.reason,
        event_id=event_id,
        request_hash=request_hash,
        created_at=unit.now,
    )
    _record_refund(unit, order, lines, refund, effect, record)
    return Applied()


def _record_refund(
    unit: Unit,
    order: OrderRecord,
    lines: Sequence[LineRecord],
    refund: RefundTotals,
    effect: RefundEffect,
    record: RefundRecord,
) -> None:
    """Where the order and its lines stand after the refund, and the refund itself."""
    for line, state in zip(lines, effect.lines, strict=True):
        by_line = refund.by_line.get(line.line_id)
        line.refunded_by_line_minor += by_line.amount_minor if by_line else 0
        line.refunded_minor = state.refunded.amount_minor
        line.fee_returned_minor = state.fee_returned.amount_minor
        unit.lines.touch(line)
    order.refunded_minor += effect.refund.amount_minor
    order.refunded_by_amount_minor += refund.by_amount.amount_minor
    order.fee_returned_minor += effect.platform.amount_minor
    order.pending_minor -= record.from_pending_minor
    order.status = "refunded" if order.refunded_minor == order.gross_minor else "partially_refunded"
    order.updated_at = unit.now
    unit.orders.touch(order)
    unit.refunds.add(record)
    unit.record("refund.recorded", order.order_id, refund_summary(order, record))


def _refund_totals(data: schemas.OrderRefundedData, currency: str) -> RefundTotals:
    if data.lines is None:
        return RefundTotals({}, amount_of(data.amount_minor, data.amount, currency))
    by_line: dict[str, Money] = {}
    for line in data.lines:
        if line.line_id in by_line:
            raise InvalidInput(f"line {line.line_id} appears twice", code="duplicate_line_id")
        by_line[line.line_id] = amount_of(line.amount_minor, line.amount, currency)
    return RefundTotals(by_line, Money.zero(currency))


def _refunds_so_far(order: OrderRecord, lines: Sequence[LineRecord]) -> RefundTotals:
    return RefundTotals(
        {line.line_id: order.money(line.refunded_by_line_minor) for line in lines},
        order.money(order.refunded_by_amount_minor),
    )


def _seller_legs(order: OrderRecord, credit_minor: int) -> tuple[list[tuple[str, int]], int, int]:
    """Legs moving `credit_minor` to the seller (negative: taken from the seller): taken from
    what the order still has pending first, then available; given back to pending while the
    order is not released, else to available. Returns (legs, from pending, from available),
    the last two negative when money was given."""
    seller = order.seller_id
    if credit_minor <= 0:
        taken = draw(order.money(-credit_minor), pending=order.money(order.pending_minor))
        pending, available = taken.from_pending.amount_minor, taken.from_available.amount_minor
    elif order.released_at is None:
        pending, available = -credit_minor, 0
    else:
        pending, available = 0, -credit_minor
    legs = [(pending_account(seller), pending), (available_account(seller), available)]
    return legs, pending, available


def refund_summary(order: OrderRecord, refund: RefundRecord) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "seller_id": order.seller_id,
        "refund_id": refund.refund_id,
        "currency": order.currency,
        "amount_minor": refund.amount_minor,
        "seller_minor": refund.seller_minor,
        "fee_returned_minor": refund.platform_minor,
        "from_pending_minor": refund.from_pending_minor,
        "from_available_minor": refund.from_available_minor,
    }


# --- disputes ------------------------------------------------------------------------------


def dispute_opened(unit: Unit, event: schemas.DisputeOpenedEvent, *, event_id: str) -> Outcome:
    data = event.data
    order = _order_or_park(unit, data.order_id, f"dispute {data.dispute_id}")
    request_hash = data_hash(data)
    existing = unit.disputes.get(data.dispute_id)
    if existing is not None:
        if existing.request_hash == request_hash:
            raise AlreadyApplied(
                "dispute_already_opened",
                f"dispute {data.dispute_id} was opened by event {existing.opened_event_id}",
            )
        raise Rejected(
            f"dispute {data.dispute_id} was opened with other details", code="dispute_id_reused"
        )
    check_currency(data.currency, order.currency)
    amount = amount_of(data.amount_minor, data.amount, order.currency)
    if amount.amount_minor > order.gross_minor:
        raise Rejected(
            f"dispute of {amount} on order {order.order_id} paid {order.money(order.gross_minor)}",
            code="dispute_exceeds_order",
        )
    legs, from_pending, from_available = _seller_legs(order, -amount.amount_minor)
    legs.append((dispute_hold_account(order.seller_id), -amount.amount_minor))
    references = {"order_id": order.order_id, "dispute_id": data.dispute_id, "event_id": event_id}
    unit.post(
        transaction(
            f"dispute.opened:{data.dispute_id}",
            "dispute.opened",
            order.currency,
            legs,
            references=references,
        )
    )
    order.pending_minor -= from_pending
    order.updated_at = unit.now
    unit.orders.touch(order)
    dispute = unit.disputes.add(
        DisputeRecord(
            dispute_id=data.dispute_id,
            order_id=order.order_id,
            seller_id=order.seller_id,
            currency=order.currency,
            amount_minor=amount.amount_minor,
            status="open",
            from_pending_minor=from_pending,
            from_available_minor=from_available,
            fee_minor=0,
            reason=data.reason,
            opened_event_id=event_id,
            closed_event_id=None,
            request_hash=request_hash,
            opened_at=unit.now,
            closed_at=None,
        )
    )
    unit.record("dispute.hold_placed", order.order_id, dispute_summary(dispute))
    return Applied(unlocks=(f"dispute:{data.dispute_id}",))


def dispute_won(unit: Unit, event: schemas.DisputeWonEvent, *, event_id: str) -> Outcome:
    dispute, order = _open_dispute(unit, event.data.dispute_id, "won")
    seller, amount = order.seller_id, dispute.amount_minor
    back_to_pending = dispute.from_pending_minor if order.released_at is None else 0
    legs = [
        (dispute_hold_account(seller), amount),
        (pending_account(seller), -back_to_pending),
        (available_account(seller), -(amount - back_to_pending)),
    ]
    order.pending_minor += back_to_pending
    return _close_dispute(unit, dispute, order, "won", legs, event_id=event_id)


def dispute_lost(unit: Unit, event: schemas.DisputeLostEvent, *, event_id: str) -> Outcome:
    dispute, order = _open_dispute(unit, event.data.dispute_id, "lost")
    seller, amount = order.seller_id, dispute.amount_minor
    fee = unit.policy.dispute_fee_minor.get(order.currency, 0)
    legs = [
        (dispute_hold_account(seller), amount),
        (PSP_CLEARING, -amount),
        (available_account(seller), fee),
        (DISPUTE_FEES, -fee),
    ]
    dispute.fee_minor = fee
    return _close_dispute(unit, dispute, order, "lost", legs, event_id=event_id)


def _open_dispute(unit: Unit, dispute_id: str, outcome: str) -> tuple[DisputeRecord, OrderRecord]:
    dispute = unit.disputes.get(dispute_id)
    if dispute is None:
        raise Park(
            f"dispute:{dispute_id}",
            "unknown_dispute",
            f"dispute {dispute_id} {outcome} before it was opened",
        )
    if dispute.status != "open":
        if dispute.status == outcome:
            raise AlreadyApplied(
                "dispute_already_closed", f"dispute {dispute_id} was already {outcome}"
            )
        raise Rejected(
            f"dispute {dispute_id} was already {dispute.status}", code="dispute_already_closed"
        )
    order = unit.orders.get(dispute.order_id)
    invariant(order is not None, f"dispute {dispute_id} has its order")
    assert order is not None
    return dispute, order


def _close_dispute(
    unit: Unit,
    dispute: DisputeRecord,
    order: OrderRecord,
    outcome: str,
    legs: list[tuple[str, int]],
    *,
    event_id: str,
) -> Outcome:
    references = {
        "order_id": order.order_id,
        "dispute_id": dispute.dispute_id,
        "event_id": event_id,
    }
    unit.post(
        transaction(
            f"dispute.{outcome}:{dispute.dispute_id}",
            f"dispute.{outcome}",
            order.currency,
            legs,
            references=references,
        )
    )
    dispute.status = outcome
    dispute.closed_event_id = event_id
    dispute.closed_at = unit.now
    unit.disputes.touch(dispute)
    order.updated_at = unit.now
    unit.orders.touch(order)
    unit.record("dispute.closed", order.order_id, {**dispute_summary(dispute), "outcome": outcome})
    return Applied()


def dispute_summary(dispute: DisputeRecord) -> dict[str, Any]:
    return {
        "dispute_id": dispute.dispute_id,
        "order_id": dispute.order_id,
        "seller_id": dispute.seller_id,
        "currency": dispute.currency,
        "amount_minor": dispute.amount_minor,
        "from_pending_minor": dispute.from_pending_minor,
        "from_available_minor": dispute.from_available_minor,
        "fee_minor": dispute.fee_minor,
        "status": dispute.status,
    }


# --- adjustments ---------------------------------------------------------------------------


def adjustment(unit: Unit, event: schemas.AdjustmentEvent, *, event_id: str) -> Outcome:
    data = event.data
    request_hash = data_hash(data)
    existing = unit.adjustments.get(data.adjustment_id)
    if existing is not None:
        if existing.request_hash == request_hash:
            raise AlreadyApplied(
                "adjustment_already_recorded",
                f"adjustment {data.adjustment_id} was recorded by event {existing.event_id}",
            )
        raise Rejected(
            f"adjustment {data.adjustment_id} was recorded with other details",
            code="adjustment_id_reused",
        )
    exponent(data.currency)  # UnknownCurrency
    amount = amount_of(data.amount_minor, data.amount, data.currency)
    _seller_or_park(unit, data.seller_id, f"adjustment {data.adjustment_id}")
    waits = needs_approval(amount, threshold_minor=unit.policy.adjustment_approval_threshold_minor)
    record = unit.adjustments.add(
        AdjustmentRecord(
            adjustment_id=data.adjustment_id,
            seller_id=data.seller_id,
            currency=data.currency,
            direction=data.direction,
            amount_minor=amount.amount_minor,
            reason=data.reason,
            requested_by=data.requested_by,
            status="awaiting_approval" if waits else "applied",
            event_id=event_id,
            request_hash=request_hash,
            decided_by=None,
            decision_note=None,
            decided_at=None,
            created_at=unit.now,
        )
    )
    if waits:
        unit.record("adjustment.awaiting_approval", record.seller_id, adjustment_summary(record))
        return AwaitingApproval(
            f"{amount} is above the approval threshold: a second person approves"
        )
    post_adjustment(unit, record)
    return Applied()


def post_adjustment(unit: Unit, record: AdjustmentRecord) -> None:
    """Post an adjustment to the seller's available balance and record that it was applied."""
    signed = record.amount_minor if record.direction == "credit" else -record.amount_minor
    legs = [(ADJUSTMENTS, signed), (available_account(record.seller_id), -signed)]
    references = {
        "adjustment_id": record.adjustment_id,
        "event_id": record.event_id,
        "seller_id": record.seller_id,
    }
    unit.post(
        transaction(
            f"adjustment:{record.adjustment_id}",
            "adjustment",
            record.currency,
            legs,
            references=references,
            metadata={"requested_by": record.requested_by, "approved_by": record.decided_by},
        )
    )
    unit.record("adjustment.applied", record.seller_id, adjustment_summary(record))


def adjustment_summary(record: AdjustmentRecord) -> dict[str, Any]:
    return {
        "adjustment_id": record.adjustment_id,
        "seller_id": record.seller_id,
        "currency": record.currency,
        "direction": record.direction,
        "amount_minor": record.amount_minor,
        "reason": record.reason,
        "requested_by": record.requested_by,
        "status": record.status,
        "decided_by": record.decided_by,
    }


# --- release -------------------------------------------------------------------------------


def release_order(unit: Unit, order: OrderRecord) -> int:
    """Move what the order still has pending to available, once; returns the minor units."""
    amount = order.pending_minor
    if amount > 0:
        seller = order.seller_id
        unit.post(
            transaction(
                f"release:{order.order_id}",
                "release",
                order.currency,
                [(pending_account(seller), amount), (available_account(seller), -amount)],
                references={"order_id": order.order_id, "seller_id": seller},
            )
        )
    order.pending_minor = 0
    order.released_minor += amount
    order.released_at = unit.now
    order.updated_at = unit.now
    unit.orders.touch(order)
    unit.record(
        "funds.released",
        order.order_id,
        {
            "order_id": order.order_id,
            "seller_id": order.seller_id,
            "currency": order.currency,
            "amount_minor": amount,
            "release_due_at": order.release_due_at.isoformat(),
        },
    )
    return amount


HANDLERS: Final[Mapping[str, Callable[..., Outcome]]] = {
    "order.paid": order_paid,
    "order.shipped": order_shipped,
    "order.delivered": order_delivered,
    "order.refunded": order_refunded,
    "dispute.opened": dispute_opened,
    "dispute.won": dispute_won,
    "dispute.lost": dispute_lost,
    "adjustment": adjustment,
}
