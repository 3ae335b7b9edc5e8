"""Disputes hold the disputed amount and give it back or lose it; manual adjustments credit or
debit a seller, and large ones need a second person. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from settlement_builders import (
    T0,
    adjustment,
    dispute_closed,
    dispute_opened,
    paid,
    platform_balances,
    seller_balances,
    send,
    statuses,
    unique,
)

from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.errors import Conflict, Forbidden, NotFound
from sellerpay.settlement import service
from sellerpay.settlement.service import IngestStatus

NET = 8_770
DISPUTE_FEE = 1_500  # settings.dispute_fee_minor["EUR"]


def release_all(db: Database, clock: FixedClock) -> None:
    clock.set(T0 + timedelta(days=30))
    service.release_due_funds(db, clock=clock)


def test_an_opened_dispute_holds_the_amount_out_of_pending(
    db: Database, clock: FixedClock, seller: str
) -> None:
    order_id, dispute_id = unique("ord"), unique("dp")
    send(db, clock, paid(order_id, seller))

    (result,) = send(db, clock, dispute_opened(dispute_id, order_id, 3_000))

    assert result.status is IngestStatus.APPLIED
    balances = seller_balances(db, seller)
    assert (balances.pending, balances.available, balances.dispute_hold) == (NET - 3_000, 0, 3_000)
    (dispute,) = service.get_order(db, order_id).disputes
    assert (dispute.status, dispute.from_pending_minor, dispute.from_available_minor) == (
        "open",
        3_000,
        0,
    )


def test_a_dispute_above_what_is_pending_takes_the_rest_from_available(
    db: Database, clock: FixedClock, seller: str
) -> None:
    order_id = unique("ord")
    send(db, clock, paid(order_id, seller), dispute_opened(unique("dp"), order_id, 10_000))

    balances = seller_balances(db, seller)
    assert (balances.pending, balances.available, balances.dispute_hold) == (
        0,
        NET - 10_000,
        10_000,
    )


def test_a_dispute_won_before_release_goes_back_where_it_came_from_then_is_released(
    db: Database, clock: FixedClock, seller: str
) -> None:
    order_id, dispute_id = unique("ord"), unique("dp")
    send(db, clock, paid(order_id, seller), dispute_opened(dispute_id, order_id, 10_000))

    (won,) = send(db, clock, dispute_closed(dispute_id, "won"))

    assert won.status is IngestStatus.APPLIED
    assert seller_balances(db, seller) == seller_balances(db, seller).__class__(NET, 0, 0)
    release_all(db, clock)
    assert seller_balances(db, seller) == seller_balances(db, seller).__class__(0, NET, 0)


def test_a_dispute_won_after_release_goes_back_to_available(
    db: Database, clock: FixedClock, seller: str
) -> None:
    order_id, dispute_id = unique("ord"), unique("dp")
    send(db, clock, paid(order_id, seller), dispute_opened(dispute_id, order_id, 4_000))
    release_all(db, clock)
    assert seller_balances(db, seller).available == NET - 4_000

    send(db, clock, dispute_closed(dispute_id, "won"))

    assert seller_balances(db, seller) == seller_balances(db, seller).__class__(0, NET, 0)


def test_a_lost_dispute_returns_the_money_to_the_customer_and_charges_the_dispute_fee(
    db: Database, clock: FixedClock, seller: str
) -> None:
    order_id, dispute_id = unique("ord"), unique("dp")
    send(db, clock, paid(order_id, seller), dispute_opened(dispute_id, order_id, 4_000))
    before = platform_balances(db)

    (lost,) = send(db, clock, dispute_closed(dispute_id, "lost"))

    assert lost.status is IngestStatus.APPLIED
    balances = seller_balances(db, seller)
    assert (balances.pending, balances.available, balances.dispute_hold) == (
        NET - 4_000,
        -DISPUTE_FEE,
        0,
    )
    after = platform_balances(db)
    assert after["platform:psp_clearing"] - before["platform:psp_clearing"] == -4_000
    assert (
        after["platform:revenue:dispute_fees"] - before["platform:revenue:dispute_fees"]
        == DISPUTE_FEE
    )
    (dispute,) = service.get_order(db, order_id).disputes
    assert (dispute.status, dispute.fee_minor) == ("lost", DISPUTE_FEE)


def test_a_dispute_outcome_before_its_opening_waits_for_it(
    db: Database, clock: FixedClock, seller: str
) -> None:
    order_id, dispute_id = unique("ord"), unique("dp")
    won = dispute_closed(dispute_id, "won")

    results = send(db, clock, won, dispute_opened(dispute_id, order_id, 1_000))
    assert [(r.status.value, r.waiting_for) for r in results] == [
        ("parked", f"dispute:{dispute_id}"), ("parked", f"order:{order_id}")
    ]  # fmt: skip

    send(db, clock, paid(order_id, seller))

    assert service.get_event(db, won["id"]).record.status == "applied"
    assert seller_balances(db, seller) == seller_balances(db, seller).__class__(NET, 0, 0)


def test_a_dispute_is_closed_once(db: Database, clock: FixedClock, seller: str) -> None:
    order_id, dispute_id = unique("ord"), unique("dp")
    send(db, clock, paid(order_id, seller), dispute_opened(dispute_id, order_id, 1_000))
    send(db, clock, dispute_closed(dispute_id, "lost"))
    after_loss = seller_balances(db, seller)

    same, other = send(
        db, clock, dispute_closed(dispute_id, "lost"), dispute_closed(dispute_id, "won")
    )
    reopened = send(db, clock, dispute_opened(dispute_id, order_id, 2_000))[0]

    assert (same.status, same.reason_code) == (IngestStatus.DUPLICATE, "dispute_already_closed")
    assert (other.status, other.reason_code) == (IngestStatus.REJECTED, "dispute_already_closed")
    assert (reopened.status, reopened.reason_code) == (IngestStatus.REJECTED, "dispute_id_reused")
    assert seller_balances(db, seller) == after_loss


# --- adjustments ---------------------------------------------------------------------------


def test_a_small_adjustment_credits_or_debits_available_at_once(
    db: Database, clock: FixedClock, seller: str
) -> None:
    before = platform_balances(db)

    results = send(
        db,
        clock,
        adjustment(unique("adj"), seller, 2_000),
        adjustment(unique("adj"), seller, 500, direction="debit"),
    )

    assert statuses(results) == ["applied", "applied"]
    assert seller_balances(db, seller).available == 1_500
    after = platform_balances(db)
    assert after["platform:adjustments"] - before["platform:adjustments"] == 1_500  # an expense


def test_a_large_adjustment_waits_for_a_second_person_who_is_not_the_requester(
    db: Database, clock: FixedClock, seller: str
) -> None:
    adjustment_id = unique("adj")
    (result,) = send(db, clock, adjustment(adjustment_id, seller, 50_001, requested_by="alice"))
    assert (result.status, result.reason_code) == (
        IngestStatus.AWAITING_APPROVAL,
        "approval_required",
    )
    assert seller_balances(db, seller).available == 0

    with pytest.raises(Forbidden) as own:
        service.approve_adjustment(
            db, adjustment_id, approver_id="k1", approver_name="alice", clock=clock
        )
    with pytest.raises(Forbidden) as own_key:
        service.approve_adjustment(
            db, adjustment_id, approver_id="alice", approver_name="x", clock=clock
        )
    approved = service.approve_adjustment(
        db, adjustment_id, approver_id="k2", approver_name="bob", clock=clock
    )
    replayed = service.approve_adjustment(
        db, adjustment_id, approver_id="k2", approver_name="bob", clock=clock
    )

    assert own.value.code == own_key.value.code == "four_eyes"
    assert (approved.status, approved.decided_by) == ("applied", "bob")
    assert replayed == approved
    assert seller_balances(db, seller).available == 50_001
    assert service.get_event(db, result.event_id or "").record.status == "applied"


def test_a_rejected_adjustment_posts_nothing_and_cannot_be_approved_afterwards(
    db: Database, clock: FixedClock, seller: str
) -> None:
    adjustment_id = unique("adj")
    (result,) = send(db, clock, adjustment(adjustment_id, seller, 90_000, direction="debit"))

    rejected = service.reject_adjustment(
        db, adjustment_id, approver_id="k2", approver_name="bob", note="no ticket", clock=clock
    )
    with pytest.raises(Conflict) as late:
        service.approve_adjustment(
            db, adjustment_id, approver_id="k3", approver_name="carol", clock=clock
        )
    with pytest.raises(NotFound) as missing:
        service.approve_adjustment(
            db, unique("adj"), approver_id="k3", approver_name="carol", clock=clock
        )

    assert (rejected.status, rejected.decision_note) == ("rejected", "no ticket")
    assert late.value.code == "adjustment_not_awaiting_approval"
    assert missing.value.code == "adjustment_not_found"
    stored = service.get_event(db, result.event_id or "").record
    assert (stored.status, stored.reason_code) == ("rejected", "adjustment_rejected")
    assert seller_balances(db, seller).available == 0


def test_an_adjustment_for_an_unknown_seller_waits_then_still_needs_approval(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    from settlement_builders import open_seller

    adjustment_id = unique("adj")
    (parked,) = send(db, clock, adjustment(adjustment_id, seller_id, 60_000))
    assert parked.waiting_for == f"seller:{seller_id}"

    open_seller(db, clock, seller_id)
    (retried,) = service.retry_parked_for(db, f"seller:{seller_id}", clock=clock)

    assert retried.status is IngestStatus.AWAITING_APPROVAL
    same_id_other_body = adjustment(adjustment_id, seller_id, 10)
    (reused,) = send(db, clock, same_id_other_body)
    assert reused.reason_code == "adjustment_id_reused"
