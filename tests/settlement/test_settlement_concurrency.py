"""Money in under concurrency: the same events through two doors at once take effect once;
refunds racing the release job on the same orders stay exact. Threads, on SQLite (writers
queue on the database lock) and PostgreSQL (row locks, SKIP LOCKED, retried unique races)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from settlement_builders import (
    T0,
    delivered,
    open_seller,
    paid,
    refunded,
    seller_balances,
    unique,
)

from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.ledger.service import verify_ledger
from sellerpay.settlement import service
from sellerpay.settlement.service import IngestResult

NET = 8_770


def at_once(*work: Callable[[], Any]) -> list[Any]:
    """Run each callable in its own thread, started together; re-raise the first error."""
    barrier = threading.Barrier(len(work))
    results: list[Any] = [None] * len(work)
    errors: list[BaseException] = []

    def run(index: int, job: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = job()
        except BaseException as error:  # re-raised below: a thread's error fails the test
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(work)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def test_the_same_events_through_two_doors_at_once_take_effect_once(
    fresh_db: Database, clock: FixedClock, seller_id: str
) -> None:
    db = fresh_db  # a database of its own: the whole ledger is verified at the end
    seller = open_seller(db, clock, seller_id)
    orders = [unique("ord") for _ in range(12)]
    events = []
    for order_id in orders:
        events += [
            paid(order_id, seller),
            delivered(order_id, T0 + timedelta(days=1)),
            refunded(order_id, "r1", amount_minor=1_000),
        ]

    http, amqp = at_once(
        lambda: service.ingest_events(db, events, source="http", clock=clock),
        lambda: service.ingest_events(db, events[::-1], source="amqp", clock=clock),
    )

    results: list[IngestResult] = [*http, *amqp]
    applied = sorted(r.event_id or "" for r in results if r.status.value == "applied")
    assert applied == sorted(e["id"] for e in events)  # each applied once, by one door or the other
    for order_id in orders:
        order = service.get_order(db, order_id).order
        assert (order.refunded_minor, order.fee_returned_minor) == (1_000, 123)
    assert seller_balances(db, seller).pending == len(orders) * (NET - (1_000 - 123))
    assert verify_ledger(db).ok


def test_refunds_racing_the_release_of_their_orders_stay_exact(
    fresh_db: Database, clock: FixedClock, seller_id: str
) -> None:
    db = fresh_db  # a database of its own: the whole ledger is verified at the end
    seller = open_seller(db, clock, seller_id)
    orders = [unique("ord") for _ in range(10)]
    service.ingest_events(db, [paid(o, seller) for o in orders], source="http", clock=clock)
    clock.set(T0 + timedelta(days=30))
    refunds = [refunded(o, "r1", amount_minor=5_000) for o in orders]

    at_once(
        lambda: service.release_due_funds(db, clock=clock),
        lambda: [service.ingest_events(db, [r], source="http", clock=clock) for r in refunds],
    )

    # an order busy with its refund is skipped (SKIP LOCKED), not waited for: the next run
    # releases it
    service.release_due_funds(db, clock=clock)

    # before or after its release, each refund takes 50.00 less half the fee from the seller
    balances = seller_balances(db, seller)
    assert (balances.pending, balances.available) == (0, len(orders) * (NET - 4_385))
    for order_id in orders:
        order = service.get_order(db, order_id).order
        (refund,) = service.get_order(db, order_id).refunds
        assert order.released_minor + refund.from_pending_minor == NET
    assert verify_ledger(db).ok
