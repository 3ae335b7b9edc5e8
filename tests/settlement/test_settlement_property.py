"""THE property of money in: for any valid history of a seller's orders (payments, deliveries,
partial refunds by line or by amount, disputes won, lost or open, adjustments), delivering its
events in any order, in any batches, through any door and with any duplicates, with the
seller created before or in the middle of it, then running retry-parked and the release job
at a fixed later time, gives the same final balances as delivering them in order, one by one.

And every time: the ledger verifies (balances equal the sum of their entries), no fee exceeds
its line, no order is refunded more than was paid, every event is applied exactly once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from settlement_builders import (
    T0,
    SellerBalances,
    adjustment,
    delivered,
    dispute_closed,
    dispute_opened,
    open_seller,
    paid,
    refunded,
    seller_balances,
)
from sqlalchemy import case, func, select

from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.ledger import models as ledger_models
from sellerpay.ledger.service import verify_ledger
from sellerpay.settlement import service
from sellerpay.settlement.service import IngestStatus

RELEASED_AT = T0 + timedelta(days=60)  # after every order of a history is due


@dataclass(frozen=True)
class OrderHistory:
    lines: tuple[tuple[int, str], ...]  # (minor units, category) per line l0, l1…
    delivered_after_days: int | None
    refunds: tuple[tuple[str, Any], ...]  # ("amount", minor units) or ("lines", {line: minor})
    dispute: tuple[int, str] | None  # (minor units, "open" | "won" | "lost")


@dataclass(frozen=True)
class History:
    orders: tuple[OrderHistory, ...]
    adjustments: tuple[tuple[int, str], ...]  # (minor units, "credit" | "debit")


@st.composite
def order_histories(draw: st.DrawFn) -> OrderHistory:
    lines = tuple(
        (draw(st.integers(1, 30_000)), draw(st.sampled_from(["phones", "laptops"])))
        for _ in range(draw(st.integers(1, 3)))
    )
    left = {f"l{i}": amount for i, (amount, _) in enumerate(lines)}
    refunds: list[tuple[str, Any]] = []
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            line_id = draw(st.sampled_from(sorted(left)))
            if left[line_id]:
                amount = draw(st.integers(1, left[line_id]))
                left[line_id] -= amount
                refunds.append(("lines", {line_id: amount}))
        elif sum(left.values()):
            amount = draw(st.integers(1, sum(left.values())))
            refunds.append(("amount", amount))
            for line_id in sorted(left):  # keep the capacity it needs
                taken = min(left[line_id], amount)
                left[line_id] -= taken
                amount -= taken
    gross = sum(amount for amount, _ in lines)
    dispute = draw(
        st.none() | st.tuples(st.integers(1, gross), st.sampled_from(["open", "won", "lost"]))
    )
    return OrderHistory(
        lines=lines,
        delivered_after_days=draw(st.none() | st.integers(0, 5)),
        refunds=tuple(refunds),
        dispute=dispute,
    )


histories = st.builds(
    History,
    orders=st.lists(order_histories(), min_size=1, max_size=3).map(tuple),
    adjustments=st.lists(
        st.tuples(st.integers(1, 20_000), st.sampled_from(["credit", "debit"])), max_size=2
    ).map(tuple),
)


@dataclass
class Universe:
    """One delivery of a history: its own seller and ids, so two deliveries never mix."""

    name: str = field(default_factory=lambda: uuid.uuid4().hex[:16])

    @property
    def seller(self) -> str:
        return f"sel_{self.name}"

    def order(self, index: int) -> str:
        return f"{self.name}-o{index}"

    def events(self, history: History) -> list[dict[str, Any]]:
        """The history's events in the order they happened."""
        events: list[dict[str, Any]] = []
        for i, order in enumerate(history.orders):
            order_id = self.order(i)
            lines = [
                (f"l{j}", amount, category) for j, (amount, category) in enumerate(order.lines)
            ]
            events.append(paid(order_id, self.seller, lines))
            if order.delivered_after_days is not None:
                events.append(delivered(order_id, T0 + timedelta(days=order.delivered_after_days)))
            for k, (kind, amount) in enumerate(order.refunds):
                refund = {"amount_minor": amount} if kind == "amount" else {"lines": amount}
                events.append(refunded(order_id, f"r{k}", **refund))
            if order.dispute is not None:
                dispute_id = f"{order_id}-d"
                events.append(dispute_opened(dispute_id, order_id, order.dispute[0]))
                if order.dispute[1] != "open":
                    events.append(dispute_closed(dispute_id, order.dispute[1]))
        for k, (amount, direction) in enumerate(history.adjustments):
            events.append(adjustment(f"{self.name}-a{k}", self.seller, amount, direction=direction))
        return [{**event, "id": f"{self.name}-e{n}"} for n, event in enumerate(events)]


@dataclass(frozen=True)
class Outcome:
    order_ids: list[str]
    seller: SellerBalances
    platform: dict[str, int]  # how much each platform account moved
    orders: list[tuple[Any, ...]]


def platform_moves(db: Database, universe: Universe) -> dict[str, int]:
    """How much each platform account moved by this universe's transactions alone (their
    idempotency keys carry its ids), on the account's normal side."""
    t, e, a = ledger_models.transactions.c, ledger_models.entries.c, ledger_models.accounts.c
    signed = case((e.side == a.normal_side, e.amount_minor), else_=-e.amount_minor)
    query = (
        select(a.code, func.sum(signed))
        .join(ledger_models.entries, e.account_id == a.id)
        .join(ledger_models.transactions, t.id == e.transaction_id)
        .where(t.idempotency_key.like(f"%:{universe.name}-%"), a.code.like("platform:%"))
        .group_by(a.code)
    )
    with db.reading() as conn:
        return {code: int(total) for code, total in conn.execute(query) if int(total) != 0}


def finish_and_observe(
    db: Database, universe: Universe, history: History, clock: FixedClock
) -> Outcome:
    clock.set(RELEASED_AT)
    service.retry_parked(db, clock=clock)
    service.release_due_funds(db, clock=clock)
    orders = []
    for i in range(len(history.orders)):
        view = service.get_order(db, universe.order(i))
        o = view.order
        orders.append(
            (o.gross_minor, o.fee_minor, o.refunded_minor, o.fee_returned_minor, o.status,
             o.pending_minor, tuple(d.status for d in view.disputes))
        )  # fmt: skip
    return Outcome(
        order_ids=[universe.order(i) for i in range(len(history.orders))],
        seller=seller_balances(db, universe.seller),
        platform=platform_moves(db, universe),
        orders=orders,
    )


def deliver_in_order(db: Database, history: History) -> Outcome:
    universe, clock = Universe(), FixedClock(T0)
    open_seller(db, clock, universe.seller)
    for event in universe.events(history):
        (result,) = service.ingest_events(db, [event], source="http", clock=clock)
        assert result.status is IngestStatus.APPLIED, result
    return finish_and_observe(db, universe, history, clock)


def deliver_shuffled(db: Database, history: History, data: st.DataObject) -> Outcome:
    universe, clock = Universe(), FixedClock(T0)
    events = universe.events(history)
    stream = data.draw(st.permutations(events), label="order of delivery")
    for event in data.draw(st.lists(st.sampled_from(events), max_size=4), label="duplicates"):
        stream.insert(data.draw(st.integers(0, len(stream))), event)
    joins = data.draw(st.integers(0, len(stream)), label="events before the seller exists")
    deliver_in_batches(db, stream[:joins], clock, data)
    open_seller(db, clock, universe.seller)  # nobody retries for it: the job will
    deliver_in_batches(db, stream[joins:], clock, data)
    outcome = finish_and_observe(db, universe, history, clock)
    for event in events:  # every event stored once and applied, whatever the order
        assert service.get_event(db, event["id"]).record.status == "applied", event
    return outcome


def deliver_in_batches(
    db: Database, events: list[dict[str, Any]], clock: FixedClock, data: st.DataObject
) -> None:
    position = 0
    while position < len(events):
        batch = events[position : position + data.draw(st.integers(1, 5), label="batch size")]
        door = data.draw(st.sampled_from(["http", "amqp"]), label="door")
        results = service.ingest_events(db, batch, source=door, clock=clock)
        assert [r.event_id for r in results] == [e["id"] for e in batch]
        position += len(batch)


def check_invariants(db: Database, outcome: Outcome) -> None:
    assert outcome.seller.pending == 0  # everything was due: released
    for gross, fee, refunded_minor, fee_returned, _, pending, _ in outcome.orders:
        assert 0 <= fee <= gross
        assert 0 <= refunded_minor <= gross
        assert 0 <= fee_returned <= fee
        assert pending == 0
    for lines in service.order_fee_breakdown(db, outcome.order_ids).values():
        for line in lines:
            assert 0 <= line["fee_minor"] <= line["gross_minor"]
            assert 0 <= line["refunded_minor"] <= line["gross_minor"]
    report = verify_ledger(db)
    assert report.ok, report.breaches


@pytest.fixture
def history_db(fresh_db: Database) -> Database:
    """A database of its own, shared by the examples (each keeps to its own ids)."""
    return fresh_db


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories, data=st.data())
def test_any_order_and_any_duplicates_give_the_balances_of_the_history_in_order(
    history_db: Database, history: History, data: st.DataObject
) -> None:
    db = history_db

    expected = deliver_in_order(db, history)
    shuffled = deliver_shuffled(db, history, data)

    assert shuffled.seller == expected.seller
    assert shuffled.platform == expected.platform
    assert shuffled.orders == expected.orders
    check_invariants(db, expected)
    check_invariants(db, shuffled)
