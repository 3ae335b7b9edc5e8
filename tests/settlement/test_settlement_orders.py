"""Orders paid: the seller's share lands in pending and the fees in revenue; fees are stored
per line; events arriving early wait (parked) and apply by themselves once what they wait for
arrives; duplicates have one effect; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from settlement_builders import (
    FIXED_FEE_EUR,
    T0,
    delivered,
    envelope,
    give_plan,
    open_seller,
    paid,
    platform_balances,
    refunded,
    seller_balances,
    send,
    shipped,
    statuses,
    unique,
)
from sqlalchemy import func, select

from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.errors import InvalidInput, LimitExceeded, NotFound
from sellerpay.events import models as event_models
from sellerpay.ledger.service import get_transaction
from sellerpay.sellers.rules import RiskTier, SellerStatus
from sellerpay.sellers.service import create_seller, update_seller
from sellerpay.settlement import service
from sellerpay.settlement.service import IngestStatus


def outbox_types(db: Database, subject: str) -> list[str]:
    o = event_models.outbox.c
    with db.reading() as conn:
        rows = conn.execute(select(o.type).where(o.subject == subject).order_by(o.id))
        return [row[0] for row in rows]


def test_an_order_paid_puts_the_sellers_share_in_pending_and_the_fees_in_revenue(
    db: Database, clock: FixedClock, seller: str
) -> None:
    order_id = unique("ord")
    before = platform_balances(db)

    (result,) = send(db, clock, paid(order_id, seller, [("l1", 6_000), ("l2", 4_000, "laptops")]))

    assert result.status is IngestStatus.APPLIED
    # l1: 12 % of 60.00 = 7.20 + 18 of the fixed 30; l2: 8 % of 40.00 = 3.20 + 12
    assert seller_balances(db, seller).pending == 10_000 - (720 + 18) - (320 + 12)
    after = platform_balances(db)
    assert after["platform:psp_clearing"] - before["platform:psp_clearing"] == 10_000
    assert after["platform:revenue:commission"] - before["platform:revenue:commission"] == 1_070
    view = service.get_order(db, order_id)
    assert (view.order.gross_minor, view.order.fee_minor, view.order.net_minor) == (
        10_000,
        1_070,
        8_930,
    )
    assert view.order.release_due_at == T0 + timedelta(days=30)  # not delivered yet
    assert outbox_types(db, order_id) == ["order.recorded"]


def test_the_fee_breakdown_of_every_line_is_stored_and_read_in_one_call(
    db: Database, clock: FixedClock, seller: str
) -> None:
    first, second = unique("ord"), unique("ord")
    send(
        db,
        clock,
        paid(first, seller, [("a", 6_000), ("b", 4_000, "laptops")]),
        paid(second, seller, [("c", 999)]),
    )

    breakdown = service.order_fee_breakdown(db, [first, second, "ord_that_does_not_exist"])

    assert set(breakdown) == {first, second}
    a, b = breakdown[first]
    assert a == {
        "line_id": "a", "currency": "EUR", "gross_minor": 6_000, "bps": 1_200,
        "commission_minor": 720, "fixed_fee_minor": 18, "fee_minor": 738, "net_minor": 5_262,
        "category": "phones", "refunded_minor": 0, "fee_returned_minor": 0,
    }  # fmt: skip
    assert (b["bps"], b["fee_minor"], b["category"]) == (800, 332, "laptops")
    (c,) = breakdown[second]
    assert c["fixed_fee_minor"] == FIXED_FEE_EUR
    assert c["commission_minor"] == 120  # 119.88 rounded half-even


def test_the_ledger_transaction_of_an_order_carries_its_references_and_plan(
    db: Database, clock: FixedClock, seller: str
) -> None:
    order_id = unique("ord")
    event = paid(order_id, seller)
    send(db, clock, event)

    view = service.get_order(db, order_id)
    with db.reading() as conn:
        from sellerpay.ledger import models as ledger_models

        t = ledger_models.transactions.c
        row = conn.execute(select(t.id).where(t.idempotency_key == f"order.paid:{order_id}")).one()
    transaction = get_transaction(db, row.id)
    assert transaction.kind == "order.paid"
    assert transaction.references == {
        "order_id": order_id,
        "event_id": event["id"],
        "seller_id": seller,
    }
    assert transaction.metadata["fee_plan_id"] == view.order.fee_plan_id


def test_delivery_starts_the_holding_period_of_the_sellers_risk_tier(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    seller = open_seller(db, clock, seller_id, risk_tier=RiskTier.HIGH)
    order_id = unique("ord")
    send(db, clock, paid(order_id, seller), shipped(order_id, T0 + timedelta(days=1)))

    send(db, clock, delivered(order_id, T0 + timedelta(days=3)))
    send(db, clock, delivered(order_id, T0 + timedelta(days=5)))  # a later delivery changes nothing

    order = service.get_order(db, order_id).order
    assert order.shipped_at == T0 + timedelta(days=1)
    assert order.delivered_at == T0 + timedelta(days=3)
    assert order.release_due_at == T0 + timedelta(days=3 + 14)


def test_the_same_event_twice_is_a_duplicate_with_no_second_effect(
    db: Database, clock: FixedClock, seller: str
) -> None:
    event = paid(unique("ord"), seller)
    send(db, clock, event)
    pending = seller_balances(db, seller).pending

    again = send(db, clock, event, event, source="amqp")

    assert statuses(again) == ["duplicate", "duplicate"]
    assert again[0].reason_code == "already_received"
    assert seller_balances(db, seller).pending == pending


def test_the_same_order_sent_under_another_event_id_is_recognised_and_not_paid_twice(
    db: Database, clock: FixedClock, seller: str
) -> None:
    order_id = unique("ord")
    send(db, clock, paid(order_id, seller))
    pending = seller_balances(db, seller).pending

    (same,) = send(db, clock, paid(order_id, seller))
    (other,) = send(db, clock, paid(order_id, seller, [("l1", 20_000)]))

    assert (same.status, same.reason_code) == (IngestStatus.DUPLICATE, "order_already_paid")
    assert (other.status, other.reason_code) == (IngestStatus.REJECTED, "order_id_reused")
    assert seller_balances(db, seller).pending == pending


def test_an_event_id_reused_with_another_body_is_rejected_and_both_bodies_are_kept(
    db: Database, clock: FixedClock, seller: str
) -> None:
    event = paid(unique("ord"), seller)
    impostor = {**paid(unique("ord"), seller), "id": event["id"]}
    send(db, clock, event)

    (result,) = send(db, clock, impostor)
    send(db, clock, impostor)  # the same other body again is kept once

    assert (result.status, result.reason_code) == (IngestStatus.REJECTED, "event_id_reused")
    stored = service.get_event(db, event["id"])
    assert stored.record.status == "applied"
    assert stored.record.body == event
    assert [c.body for c in stored.conflicts] == [impostor]
    with pytest.raises(NotFound):  # the impostor's order was never recorded
        service.get_order(db, impostor["data"]["order_id"])


def test_a_refund_before_its_payment_is_parked_then_applied_when_the_payment_arrives(
    db: Database, clock: FixedClock, seller: str
) -> None:
    order_id = unique("ord")
    refund = refunded(order_id, "r1", amount_minor=2_500)

    (parked,) = send(db, clock, refund)
    assert (parked.status, parked.waiting_for) == (IngestStatus.PARKED, f"order:{order_id}")
    assert parked.reason_code == "unknown_order"
    assert seller_balances(db, seller).pending == 0

    (payment,) = send(db, clock, paid(order_id, seller))

    assert payment.status is IngestStatus.APPLIED
    stored = service.get_event(db, refund["id"]).record
    assert (stored.status, stored.attempts, stored.waiting_for) == ("applied", 2, None)
    assert service.get_order(db, order_id).order.refunded_minor == 2_500
    assert outbox_types(db, refund["id"]) == ["marketplace_event.parked"]


def test_parked_events_in_the_same_batch_as_their_payment_are_applied_and_say_so(
    db: Database, clock: FixedClock, seller: str
) -> None:
    order_id = unique("ord")

    results = send(
        db,
        clock,
        refunded(order_id, "r1", amount_minor=1_000),
        delivered(order_id, T0 + timedelta(days=1)),
        paid(order_id, seller),
    )

    assert statuses(results) == ["applied", "applied", "applied"]
    order = service.get_order(db, order_id).order
    assert order.refunded_minor == 1_000
    assert order.delivered_at == T0 + timedelta(days=1)


def test_an_order_for_an_unknown_seller_is_parked_then_applied_when_the_seller_is_created(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    order_id = unique("ord")
    (parked,) = send(db, clock, paid(order_id, seller_id))
    assert (parked.status, parked.reason_code) == (IngestStatus.PARKED, "unknown_seller")
    assert parked.waiting_for == f"seller:{seller_id}"

    open_seller(db, clock, seller_id)  # creates the seller, then their fee plan
    retried = service.retry_parked_for(db, f"seller:{seller_id}", clock=clock)

    assert statuses(retried) == ["applied"]
    assert seller_balances(db, seller_id).pending > 0


def test_the_retry_job_finds_parked_events_whose_seller_now_exists(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    order_id = unique("ord")
    pay, refund = paid(order_id, seller_id), refunded(order_id, "r1", amount_minor=100)
    send(db, clock, pay, refund)
    open_seller(db, clock, seller_id)  # nobody calls retry_parked_for: the job must find it

    retried = service.retry_parked(db, clock=clock)

    mine = {r.event_id: r.status.value for r in retried if r.event_id in {pay["id"], refund["id"]}}
    assert mine == {pay["id"]: "applied", refund["id"]: "applied"}
    assert service.get_order(db, order_id).order.refunded_minor == 100
    again = service.retry_parked(db, clock=clock)
    assert not {r.event_id for r in again} & {pay["id"], refund["id"]}


def test_an_order_without_a_fee_plan_is_parked_until_the_seller_gets_one(
    fresh_db: Database, clock: FixedClock, seller_id: str
) -> None:
    db = fresh_db  # no platform plan here
    seller = open_seller(db, clock, seller_id, with_plan=False)
    order_id = unique("ord")

    (parked,) = send(db, clock, paid(order_id, seller))
    assert (parked.reason_code, parked.waiting_for) == ("no_fee_plan", f"fee_plan:{seller}")

    give_plan(db, clock, seller)  # retries what waited for a plan

    assert service.get_event(db, parked.event_id or "").record.status == "applied"


def test_the_platform_plan_applies_to_sellers_without_their_own_and_a_new_version_supersedes(
    fresh_db: Database, clock: FixedClock, seller_id: str
) -> None:
    db = fresh_db
    seller = open_seller(db, clock, seller_id, with_plan=False)
    early = unique("ord")
    (parked,) = send(db, clock, paid(early, seller))
    assert parked.reason_code == "no_fee_plan"

    first = give_plan(db, clock, None, bps=1_000)  # applies the parked order
    second = give_plan(db, clock, None, bps=500, effective_from=T0 + timedelta(days=1))
    later = unique("ord")
    send(db, clock, paid(later, seller, paid_at=T0 + timedelta(days=2)))

    assert (first.version, second.version) == (1, 2)
    assert service.get_order(db, early).order.fee_plan_id == first.id
    assert service.get_order(db, later).order.fee_plan_id == second.id
    with db.reading() as conn:
        assert service.fee_plan_for_in(conn, seller, T0) == first
        assert service.fee_plan_for_in(conn, seller, T0 + timedelta(days=1)) == second
        assert service.fee_plan_for_in(conn, seller, T0 - timedelta(days=400)) is None


def test_a_closed_seller_receives_no_new_orders(
    db: Database, clock: FixedClock, seller: str
) -> None:
    update_seller(db, seller, status=SellerStatus.CLOSED, clock=clock)

    (result,) = send(db, clock, paid(unique("ord"), seller))

    assert (result.status, result.reason_code) == (IngestStatus.REJECTED, "seller_closed")
    assert seller_balances(db, seller).pending == 0


def test_an_order_in_yen_is_priced_in_whole_yen(
    db: Database, clock: FixedClock, seller: str
) -> None:
    order_id = unique("ord")

    (result,) = send(
        db, clock, paid(order_id, seller, [("l1", 12_345)], currency="JPY", market="JP")
    )

    assert result.status is IngestStatus.APPLIED
    order = service.get_order(db, order_id).order
    assert order.fee_minor == 1_481 + 50  # 12 % of ¥12,345 = 1,481.4 → 1,481; fixed ¥50
    assert seller_balances(db, seller, "JPY").pending == 12_345 - 1_531


def test_every_event_received_is_stored_with_its_source_and_status(
    db: Database, clock: FixedClock, seller: str
) -> None:
    good, bad = paid(unique("ord"), seller), envelope("order.paid", {"order_id": "x"})
    send(db, clock, good, bad, source="amqp")

    records, _ = service.list_events(db, status=IngestStatus.REJECTED, limit=500)
    assert bad["id"] in {r.id for r in records}
    stored = service.get_event(db, good["id"]).record
    assert (stored.source, stored.status, stored.type, stored.attempts) == (
        "amqp",
        "applied",
        "order.paid",
        1,
    )
    with db.reading() as conn:
        from sellerpay.settlement import models

        count = conn.execute(
            select(func.count()).where(models.marketplace_events.c.id.in_([good["id"], bad["id"]]))
        ).scalar_one()
    assert count == 2


def test_an_unknown_source_or_an_oversized_batch_is_refused_as_a_whole(
    db: Database, clock: FixedClock
) -> None:
    with pytest.raises(InvalidInput) as source:
        service.ingest_events(db, [], source="fax", clock=clock)
    with pytest.raises(LimitExceeded) as size:
        service.ingest_events(
            db, [{}] * (service.ingest_batch_size_max + 1), source="http", clock=clock
        )
    assert (source.value.code, size.value.code) == ("invalid_source", "batch_size_max")


def test_a_chain_of_waits_unwinds_seller_then_fee_plan_then_order(
    fresh_db: Database, clock: FixedClock, seller_id: str
) -> None:
    db = fresh_db  # no platform plan here
    order_id = unique("ord")
    refund, payment = refunded(order_id, "r1", amount_minor=300), paid(order_id, seller_id)
    send(db, clock, refund, payment)

    create_seller(db, seller_id=seller_id, legal_name="Late SAS", country="FR", clock=clock)
    (waiting,) = service.retry_parked_for(db, f"seller:{seller_id}", clock=clock)
    assert (waiting.event_id, waiting.waiting_for) == (payment["id"], f"fee_plan:{seller_id}")

    give_plan(db, clock, seller_id)

    assert service.get_order(db, order_id).order.refunded_minor == 300
    assert service.get_event(db, refund["id"]).record.status == "applied"
