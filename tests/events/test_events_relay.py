"""The outbox relay, on SQLite and PostgreSQL: each recorded event becomes one delivery per
subscribed, enabled endpoint, once, however often the relay runs; the broker gets every event,
confirmed, or the events stay in the outbox for the next pass."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.errors import LimitExceeded, Unavailable
from sellerpay.events import models
from sellerpay.events.service import (
    Event,
    create_webhook_endpoint,
    disable_webhook_endpoint,
    record_event,
    relay_outbox,
)

LOCAL = "http://127.0.0.1:9/never-called"  # the relay only creates deliveries; nothing is sent


class RecordingPublisher:
    """A broker that confirms everything and remembers what it was given."""

    def __init__(self) -> None:
        self.published: list[Event] = []
        self.lock = threading.Lock()

    def publish(self, events: Sequence[Event]) -> None:
        with self.lock:
            self.published.extend(events)


class DownBroker:
    def publish(self, events: Sequence[Event]) -> None:
        raise Unavailable("RabbitMQ unavailable", code="broker_unavailable")


def record(db: Database, clock: FixedClock, event_type: str, **data: Any) -> Event:
    """A state change's event, recorded in its own unit of work as services do."""
    with db.transaction() as conn:
        return record_event(
            conn, type=event_type, subject=f"sel_{uuid.uuid4().hex}", data=data, now=clock.now()
        )


def relay_everything(db: Database, clock: FixedClock, **options: Any) -> int:
    total = 0
    while count := relay_outbox(db, clock=clock, batch_size=50, **options):
        total += count
    return total


def deliveries_of(
    db: Database, events: Sequence[Event], endpoints: Sequence[str]
) -> list[tuple[str, uuid.UUID]]:
    """(endpoint id, event id) of every delivery of these events to these endpoints (the `db`
    is shared: other tests' endpoints receive these events too)."""
    d = models.webhook_deliveries.c
    with db.reading() as conn:
        rows = conn.execute(
            select(d.endpoint_id, d.event_id).where(
                d.event_id.in_([e.id for e in events]), d.endpoint_id.in_(endpoints)
            )
        ).all()
    return sorted((row.endpoint_id, row.event_id) for row in rows)


def unrelayed(db: Database, events: Sequence[Event]) -> set[uuid.UUID]:
    o = models.outbox.c
    with db.reading() as conn:
        rows = conn.execute(
            select(o.id).where(o.id.in_([e.id for e in events]), o.relayed_at.is_(None))
        )
        return {row.id for row in rows}


def endpoint(db: Database, clock: FixedClock, *patterns: str) -> str:
    created, _secret = create_webhook_endpoint(
        db, url=LOCAL, event_types=list(patterns), allow_http=True, clock=clock
    )
    return created.id


def test_each_event_goes_to_the_enabled_endpoints_subscribed_to_its_type(
    db: Database, clock: FixedClock
) -> None:
    sellers = endpoint(db, clock, "seller.*")
    releases = endpoint(db, clock, "funds.released")
    everything_but_off = endpoint(db, clock, "*")
    disable_webhook_endpoint(db, everything_but_off, clock=clock)
    created = record(db, clock, "seller.created", id="sel_1")
    released = record(db, clock, "funds.released", order_id="ord_1")
    refunded = record(db, clock, "refund.recorded", order_id="ord_1")

    relay_everything(db, clock)

    mine = [sellers, releases, everything_but_off]
    assert deliveries_of(db, [created, released, refunded], mine) == sorted(
        [(sellers, created.id), (releases, released.id)]
    )
    assert unrelayed(db, [created, released, refunded]) == set()


def test_relaying_again_creates_no_delivery_twice_even_if_an_event_is_handed_over_again(
    db: Database, clock: FixedClock
) -> None:
    subscriber = endpoint(db, clock, "seller.updated")
    events = [record(db, clock, "seller.updated", n=n) for n in range(3)]
    relay_everything(db, clock)
    first = deliveries_of(db, events, [subscriber])

    assert relay_everything(db, clock) == 0
    with db.transaction() as conn:  # as if a crash had lost the "relayed" mark
        conn.execute(
            update(models.outbox)
            .where(models.outbox.c.id.in_([e.id for e in events]))
            .values(relayed_at=None)
        )
    assert relay_everything(db, clock) >= 3

    again = deliveries_of(db, events, [subscriber])
    assert first == again == sorted((subscriber, e.id) for e in events)


def test_a_delivery_gives_up_72_hours_after_its_event(db: Database, clock: FixedClock) -> None:
    subscriber = endpoint(db, clock, "dispute.closed")
    event = record(db, clock, "dispute.closed", dispute_id="dsp_1")
    clock.advance(timedelta(minutes=5))  # relayed a little later: the horizon counts from the event

    relay_everything(db, clock)

    d = models.webhook_deliveries.c
    with db.reading() as conn:
        row = conn.execute(
            select(d.status, d.attempts, d.next_attempt_at, d.deadline_at).where(
                d.event_id == event.id, d.endpoint_id == subscriber
            )
        ).one()
    assert (row.status, row.attempts) == ("pending", 0)
    assert row.next_attempt_at == clock.now()
    assert row.deadline_at == event.created_at + timedelta(hours=72)


def test_the_broker_gets_every_event_in_order_and_once_when_it_confirms(
    fresh_db: Database, clock: FixedClock
) -> None:
    events = [record(fresh_db, clock, "seller.created", n=n) for n in range(120)]
    broker = RecordingPublisher()

    assert relay_everything(fresh_db, clock, publisher=broker) == 120

    assert [e.id for e in broker.published] == [e.id for e in events]
    assert broker.published[7].envelope() == events[7].envelope()
    assert relay_everything(fresh_db, clock, publisher=broker) == 0
    assert len(broker.published) == 120


def test_when_the_broker_is_down_nothing_is_marked_relayed_and_the_next_pass_relays_it(
    fresh_db: Database, clock: FixedClock
) -> None:
    subscriber = endpoint(fresh_db, clock, "*")
    events = [record(fresh_db, clock, "funds.released", n=n) for n in range(3)]

    with pytest.raises(Unavailable):
        relay_outbox(fresh_db, clock=clock, publisher=DownBroker())

    assert unrelayed(fresh_db, events) == {e.id for e in events}
    assert deliveries_of(fresh_db, events, [subscriber]) == []
    broker = RecordingPublisher()
    relay_everything(fresh_db, clock, publisher=broker)
    assert {e.id for e in broker.published} >= {e.id for e in events}
    assert len(deliveries_of(fresh_db, events, [subscriber])) == 3


def test_two_relays_at_once_hand_each_event_over_exactly_once(
    fresh_db: Database, clock: FixedClock
) -> None:
    subscriber = endpoint(fresh_db, clock, "*")
    events = [record(fresh_db, clock, "order.recorded", n=n) for n in range(400)]
    broker = RecordingPublisher()
    failures: list[BaseException] = []

    def relay() -> None:
        try:
            while relay_outbox(fresh_db, clock=clock, batch_size=20, publisher=broker):
                pass
        except BaseException as error:  # reported below, not lost in the thread
            failures.append(error)

    threads = [threading.Thread(target=relay) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert failures == []
    published = [e.id for e in broker.published if e.type == "order.recorded"]
    assert sorted(published) == sorted(e.id for e in events)
    expected = sorted((subscriber, e.id) for e in events)
    assert deliveries_of(fresh_db, events, [subscriber]) == expected


@pytest.mark.parametrize("batch_size", [0, -1, 1_001])
def test_the_relay_batch_is_bounded(db: Database, clock: FixedClock, batch_size: int) -> None:
    with pytest.raises(LimitExceeded) as refused:
        relay_outbox(db, clock=clock, batch_size=batch_size)
    assert refused.value.code == "batch_size_max"
