"""Marketplace events that are wrong are stored as rejected with the precise reason, never
dropped and never half-applied; parked and rejected events can be replayed (audited); the
event log lists and shows them. On SQLite and PostgreSQL."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
from settlement_builders import (
    dispute_opened,
    envelope,
    paid,
    refunded,
    seller_balances,
    send,
    unique,
)
from sqlalchemy import select

from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.errors import Conflict, NotFound
from sellerpay.events import models as event_models
from sellerpay.settlement import service
from sellerpay.settlement.service import IngestStatus


def with_data(event: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `event` with `value` at the dotted `path` (`data.lines.0.amount_minor`); the
    value `...` removes the key."""
    changed = copy.deepcopy(event)
    *parents, last = path.split(".")
    node: Any = changed
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is ...:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return changed


BAD_ORDERS = [
    ("data.currency", "EURO", "unknown_currency", "data.currency"),
    ("data.currency", "XYZ", "unknown_currency", None),
    ("data.lines.0.amount_minor", -500, "amount_not_positive", "data.lines.0.amount_minor"),
    ("data.lines.0.amount_minor", 0, "amount_not_positive", "data.lines.0.amount_minor"),
    ("data.lines.0.amount_minor", 12.5, "invalid_amount", "data.lines.0.amount_minor"),
    ("data.lines.0.amount_minor", "1000", "invalid_amount", "data.lines.0.amount_minor"),
    ("data.lines.0.amount_minor", 2**63, "invalid_amount", "data.lines.0.amount_minor"),
    (
        "data.lines.0",
        {"line_id": "l1", "amount": "12.345", "category": "phones"},
        "too_many_decimals",
        None,
    ),
    (
        "data.lines.0",
        {"line_id": "l1", "amount": "-12.00", "category": "phones"},
        "amount_not_positive",
        None,
    ),
    (
        "data.lines.0",
        {"line_id": "l1", "amount": "0.00", "category": "phones"},
        "amount_not_positive",
        None,
    ),
    (
        "data.lines.0",
        {"line_id": "l1", "amount": "1,000", "category": "phones"},
        "invalid_amount",
        None,
    ),
    (
        "data.lines.0",
        {"line_id": "l1", "amount_minor": 1, "amount": "0.01", "category": "phones"},
        "exactly_one_amount",
        None,
    ),
    (
        "data.lines.0",
        {"line_id": "l1", "amount_minor": 100, "category": "phones", "currency": "USD"},
        "currency_mismatch",
        None,
    ),
    ("data.lines", [], "invalid_event", "data.lines"),
    (
        "data.lines",
        [{"line_id": f"l{i}", "amount_minor": 1, "category": "c"} for i in range(101)],
        "invalid_event",
        "data.lines",
    ),
    (
        "data.lines",
        [{"line_id": "l1", "amount_minor": 1, "category": "c"}] * 2,
        "duplicate_line_id",
        None,
    ),
    ("data.seller_id", "seller-42", "invalid_event", "data.seller_id"),
    ("data.market", "France", "invalid_event", "data.market"),
    ("data.order_id", "x" * 101, "invalid_event", "data.order_id"),
    ("data.paid_at", "2026-01-05T09:00:00", "invalid_event", "data.paid_at"),
    ("data.paid_at", 1767603600, "invalid_event", "data.paid_at"),
    ("data.tip", 100, "unknown_field", "data.tip"),
    ("data.order_id", ..., "invalid_event", "data.order_id"),
    ("occurred_at", "yesterday", "invalid_event", "occurred_at"),
    ("type", "order.teleported", "unknown_event_type", None),
    ("type", ..., "invalid_event", None),
]


@pytest.mark.parametrize(("path", "value", "code", "field"), BAD_ORDERS)
def test_an_invalid_order_is_stored_as_rejected_with_the_precise_reason(
    db: Database,
    clock: FixedClock,
    seller: str,
    path: str,
    value: Any,
    code: str,
    field: str | None,
) -> None:
    event = with_data(paid(unique("ord"), seller), path, value)

    (result,) = send(db, clock, event)

    assert (result.status, result.reason_code) == (IngestStatus.REJECTED, code), result.reason
    assert result.reason
    if field is not None:
        assert result.field == field
    stored = service.get_event(db, event["id"]).record
    assert (stored.status, stored.reason_code, stored.body) == ("rejected", code, event)
    assert seller_balances(db, seller).pending == 0


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (
            lambda o: refunded(o, "r1", amount_minor=100, lines={"l1": 100}),
            "refund_lines_or_amount",
        ),
        (lambda o: refunded(o, "r1"), "refund_lines_or_amount"),
        (lambda o: refunded(o, "r1", amount_minor=10_001), "over_refund"),
        (lambda o: refunded(o, "r1", lines={"l1": 10_001}), "over_refund"),
        (lambda o: refunded(o, "r1", lines={"zz": 1}), "unknown_line"),
        (lambda o: refunded(o, "r1", lines={"l1": 1, "l1 ": 1}), "invalid_event"),
        (lambda o: refunded(o, "r1", amount_minor=100, currency="USD"), "currency_mismatch"),
        (lambda o: dispute_opened(unique("dp"), o, 10_001), "dispute_exceeds_order"),
        (lambda o: dispute_opened(unique("dp"), o, -1), "amount_not_positive"),
        (lambda o: envelope("dispute.won", {"dispute_id": ""}), "invalid_event"),
    ],
)
def test_an_invalid_refund_or_dispute_is_rejected_and_changes_nothing(
    db: Database, clock: FixedClock, seller: str, make: Any, code: str
) -> None:
    order_id = unique("ord")
    send(db, clock, paid(order_id, seller))
    before = seller_balances(db, seller)

    (result,) = send(db, clock, make(order_id))

    assert (result.status, result.reason_code) == (IngestStatus.REJECTED, code), result.reason
    assert seller_balances(db, seller) == before
    assert service.get_order(db, order_id).order.refunded_minor == 0


def test_refunding_in_several_steps_past_the_order_is_refused_at_the_step_that_overflows(
    db: Database, clock: FixedClock, seller: str
) -> None:
    order_id = unique("ord")
    send(db, clock, paid(order_id, seller))

    results = send(
        db,
        clock,
        refunded(order_id, "r1", amount_minor=6_000),
        refunded(order_id, "r2", amount_minor=4_001),
        refunded(order_id, "r3", amount_minor=4_000),
    )

    assert [(r.status.value, r.reason_code) for r in results] == [
        ("applied", None), ("rejected", "over_refund"), ("applied", None)
    ]  # fmt: skip
    assert service.get_order(db, order_id).order.status == "refunded"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not an object", "invalid_envelope"),
        ([1, 2], "invalid_envelope"),
        ({"type": "order.paid"}, "invalid_event_id"),
        ({"id": 42, "type": "order.paid"}, "invalid_event_id"),
        ({"id": "", "type": "order.paid"}, "invalid_event_id"),
        ({"id": "x" * 101}, "invalid_event_id"),
        ({"id": "evt\n1"}, "invalid_event_id"),
    ],
)
def test_an_event_without_a_usable_id_cannot_be_stored_and_says_so(
    db: Database, clock: FixedClock, raw: Any, code: str
) -> None:
    (result,) = service.ingest_events(db, [raw], source="amqp", clock=clock)

    assert (result.event_id, result.status, result.reason_code) == (
        None,
        IngestStatus.REJECTED,
        code,
    )


def test_an_oversized_or_unstorable_event_is_kept_as_a_stand_in_and_rejected(
    db: Database, clock: FixedClock, seller: str
) -> None:
    huge = with_data(
        paid(unique("ord"), seller), "data.note", "x" * (service.event_body_bytes_max + 1)
    )
    nul = with_data(paid(unique("ord"), seller), "data.order_id", "ord\x00")
    nan = with_data(paid(unique("ord"), seller), "data.lines.0.amount_minor", float("nan"))

    results = send(db, clock, huge, nul, nan)

    assert [r.reason_code for r in results] == ["event_too_large", "invalid_json", "invalid_json"]
    stored = service.get_event(db, huge["id"]).record
    assert stored.body["truncated"] is True and stored.body["type"] == "order.paid"
    assert service.get_event(db, nul["id"]).record.body["unreadable"] is True
    assert send(db, clock, huge)[0].status is IngestStatus.DUPLICATE


def test_one_bad_event_in_a_batch_costs_the_others_nothing(
    db: Database, clock: FixedClock, seller: str
) -> None:
    first, second = unique("ord"), unique("ord")
    bad = with_data(paid(unique("ord"), seller), "data.currency", "EURO")

    results = send(db, clock, paid(first, seller), bad, paid(second, seller))

    assert [r.status.value for r in results] == ["applied", "rejected", "applied"]
    assert seller_balances(db, seller).pending == 2 * 8_770


def test_replaying_a_parked_event_whose_cause_is_still_missing_keeps_it_parked_and_audits_it(
    db: Database, clock: FixedClock, seller: str
) -> None:
    order_id = unique("ord")
    refund = refunded(order_id, "r1", amount_minor=500)
    send(db, clock, refund)

    result = service.replay_event(db, refund["id"], replayed_by="ops bob", clock=clock)

    assert (result.status, result.waiting_for) == (IngestStatus.PARKED, f"order:{order_id}")
    assert service.get_event(db, refund["id"]).record.attempts == 2
    assert [a["replayed_by"] for a in audits(db, refund["id"])] == ["ops bob"]
    assert send(db, clock, paid(order_id, seller))[0].status is IngestStatus.APPLIED
    assert service.get_order(db, order_id).order.refunded_minor == 500


def audits(db: Database, event_id: str) -> list[dict[str, Any]]:
    o = event_models.outbox.c
    with db.reading() as conn:
        rows = conn.execute(
            select(o.data)
            .where(o.subject == event_id, o.type == "marketplace_event.replayed")
            .order_by(o.id)
        )
        return [dict(row.data) for row in rows]


def test_an_event_that_fails_unexpectedly_is_kept_as_rejected_and_applies_once_replayed(
    db: Database, clock: FixedClock, seller: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sellerpay.settlement import handlers

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("a bug in the refund handler")

    order_id, other = unique("ord"), unique("ord")
    send(db, clock, paid(order_id, seller))
    refund = refunded(order_id, "r1", amount_minor=700)
    monkeypatch.setitem(handlers.HANDLERS, "order.refunded", broken)

    failed, fine = send(db, clock, refund, paid(other, seller))

    assert (failed.status, failed.reason_code) == (IngestStatus.REJECTED, "internal_error")
    assert fine.status is IngestStatus.APPLIED  # the bug cost the other event nothing
    assert service.get_order(db, order_id).order.refunded_minor == 0
    monkeypatch.undo()  # the fix is deployed

    with pytest.raises(Conflict) as not_replayable:
        service.replay_event(db, fine.event_id or "", replayed_by="ops", clock=clock)
    replayed = service.replay_event(db, refund["id"], replayed_by="ops bob", clock=clock)

    assert not_replayable.value.code == "event_not_replayable"
    assert replayed.status is IngestStatus.APPLIED
    assert service.get_order(db, order_id).order.refunded_minor == 700
    assert service.get_event(db, refund["id"]).record.attempts == 2
    assert [a["status"] for a in audits(db, refund["id"])] == ["applied"]


def test_replaying_an_unknown_event_is_not_found(db: Database, clock: FixedClock) -> None:
    with pytest.raises(NotFound) as missing:
        service.replay_event(db, unique("evt"), replayed_by="ops", clock=clock)
    assert missing.value.code == "event_not_found"


def test_the_event_log_lists_newest_first_by_status_and_type_page_by_page(
    db: Database, clock: FixedClock, seller: str
) -> None:
    order_id = unique("ord")
    clock.advance(timedelta(days=3650))  # newer than every other test's
    parked_ids = []
    for index in range(5):
        event = refunded(unique("ord"), f"r{index}", amount_minor=1)
        send(db, clock, event)
        parked_ids.append(event["id"])
        clock.advance(timedelta(seconds=1))
    send(db, clock, paid(order_id, seller))

    first, cursor = service.list_events(db, status=IngestStatus.PARKED, limit=2)
    second, cursor2 = service.list_events(db, status=IngestStatus.PARKED, before=cursor, limit=2)
    paid_events, _ = service.list_events(db, type="order.paid", limit=1)

    assert [e.id for e in first + second] == parked_ids[::-1][:4]
    assert cursor2 is not None
    assert paid_events[0].type == "order.paid" and paid_events[0].received_at == clock.now()


def test_a_bug_in_a_parked_event_is_not_blamed_on_the_payment_that_unlocks_it(
    db: Database, clock: FixedClock, seller: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sellerpay.settlement import handlers

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("a bug in the refund handler")

    order_id = unique("ord")
    refund = refunded(order_id, "r1", amount_minor=700)
    send(db, clock, refund)  # parked: the order is unknown
    monkeypatch.setitem(handlers.HANDLERS, "order.refunded", broken)

    (payment,) = send(db, clock, paid(order_id, seller))

    assert payment.status is IngestStatus.APPLIED
    stored = service.get_event(db, refund["id"]).record
    assert (stored.status, stored.reason_code) == ("rejected", "internal_error")
    assert seller_balances(db, seller).pending == 8_770
