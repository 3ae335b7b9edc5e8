"""The RabbitMQ door on the real broker: publishing with confirms, the topology, and the consumer
handing batches over, acknowledging only what was stored and dead-lettering what cannot be.

RabbitMQ is found at SELLERPAY_TEST_AMQP_URL (default: the local broker as guest). When it is
unreachable these tests are skipped with a loud reason, except in CI (CI=true), where that is a
failure. Every test uses its own exchanges and queues, named for this run, and deletes them.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pika
import pika.exceptions
import psycopg
import pytest
from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy import select
from sqlalchemy.engine import make_url

from database_support import BACKENDS, DatabaseFactory
from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.errors import Conflict, InvalidInput, Unavailable
from sellerpay.events.broker import (
    HEADER_REASON,
    HEADER_REASON_CODE,
    AmqpPublisher,
    ConsumerConfig,
    ConsumerReport,
    MarketplaceConsumer,
    MarketplaceEventPublisher,
    MarketplaceTopology,
    declare_events_exchange,
    declare_marketplace_topology,
    unrouted_name,
)
from sellerpay.events.service import Event, record_event, relay_outbox
from sellerpay.ids import uuid7
from sellerpay.ledger.service import balances_of, verify_ledger
from sellerpay.money import Money
from sellerpay.sellers.service import create_seller
from sellerpay.settlement import models as settlement_models
from sellerpay.settlement.rules import FeePlan, FeeRule, OrderLine, order_fees
from sellerpay.settlement.service import create_fee_plan, get_event, ingest_events

AMQP_URL = os.environ.get("SELLERPAY_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
RUN = f"sellerpay-test-{uuid.uuid4().hex[:10]}"
wait_timeout_s = 60.0


# --- the broker, and names of our own -------------------------------------------------------


@pytest.fixture(scope="module")
def amqp_url() -> str:
    """The URL of a reachable RabbitMQ, or skip (fail in CI) saying why."""
    try:
        pika.BlockingConnection(pika.URLParameters(f"{AMQP_URL}?socket_timeout=3")).close()
    except pika.exceptions.AMQPError as error:
        message = f"RabbitMQ unreachable at {AMQP_URL}: {error!r}"
        if IN_CI:
            pytest.fail(f"CI=true and {message}: the RabbitMQ suite is mandatory", pytrace=False)
        pytest.skip(f"SKIPPING THE RABBITMQ SUITE: {message}")
    return AMQP_URL


@pytest.fixture
def channel(amqp_url: str) -> Iterator[BlockingChannel]:
    """A channel of the test's own, to look at queues as an operator would."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    yield connection.channel()
    connection.close()


@dataclass
class Names:
    """Exchanges and queues of one test, deleted when it ends."""

    amqp_url: str
    prefix: str = field(default_factory=lambda: f"{RUN}-{uuid.uuid4().hex[:8]}")
    exchanges: list[str] = field(default_factory=list)
    queues: list[str] = field(default_factory=list)

    def topology(self) -> MarketplaceTopology:
        topology = MarketplaceTopology(
            exchange=f"{self.prefix}.marketplace", queue=f"{self.prefix}.marketplace-events"
        )
        self.exchanges += [topology.exchange, topology.dead_letter_exchange]
        self.queues += [topology.queue, topology.dead_letter_queue]
        return topology

    def exchange(self, name: str) -> str:
        self.exchanges.append(f"{self.prefix}.{name}")
        return self.exchanges[-1]

    def events_exchange(self, name: str) -> str:
        """An events exchange with its alternate exchange and queue, all deleted at the end."""
        exchange = self.exchange(name)
        self.exchanges.append(unrouted_name(exchange))
        self.queues.append(unrouted_name(exchange))
        return exchange

    def queue(self, name: str) -> str:
        self.queues.append(f"{self.prefix}.{name}")
        return self.queues[-1]

    def delete_all(self) -> None:
        connection = pika.BlockingConnection(pika.URLParameters(self.amqp_url))
        channel = connection.channel()
        for queue in self.queues:
            channel.queue_delete(queue)
        for exchange in self.exchanges:
            channel.exchange_delete(exchange)
        connection.close()


@pytest.fixture
def names(amqp_url: str) -> Iterator[Names]:
    created = Names(amqp_url)
    yield created
    created.delete_all()


@pytest.fixture
def topology(names: Names) -> MarketplaceTopology:
    return names.topology()


def drain(channel: BlockingChannel, queue: str) -> list[tuple[pika.BasicProperties, bytes]]:
    """Every message waiting in `queue`, taken off it."""
    messages = []
    while True:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            return messages
        messages.append((properties, body))


def waiting(channel: BlockingChannel, queue: str) -> int:
    return channel.queue_declare(queue, passive=True).method.message_count or 0


def wait_until(condition: Callable[[], bool], *, what: str) -> None:
    """Poll `condition` (a guard against hanging, not a measure of speed)."""
    deadline = time.monotonic() + wait_timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {wait_timeout_s:.0f} s waiting until {what}")
        time.sleep(0.05)


def sellerpay_event(event_type: str, subject: str) -> Event:
    return Event(
        uuid7(), event_type, subject, {"subject": subject}, datetime(2026, 11, 25, tzinfo=UTC)
    )


def marketplace_event(n: int, *, event_type: str = "order.shipped") -> dict[str, Any]:
    return {
        "id": f"evt_{RUN}_{n:05d}",
        "type": event_type,
        "occurred_at": "2026-11-25T10:00:00Z",
        "data": {"order_id": f"ord_{n}", "shipped_at": "2026-11-25T10:00:00Z"},
    }


# --- publishing Sellerpay's events ----------------------------------------------------------


def test_events_are_published_persistent_and_confirmed_routed_by_their_type(
    amqp_url: str, channel: BlockingChannel, names: Names
) -> None:
    exchange = names.events_exchange("events")
    everything, sellers_only = names.queue("everything"), names.queue("sellers-only")
    events = [
        sellerpay_event("seller.created", "sel_1"),
        sellerpay_event("order.recorded", "ord_1"),
        sellerpay_event("seller.updated", "sel_1"),
    ]

    declare_events_exchange(channel, exchange)  # as a subscriber would
    with AmqpPublisher(amqp_url, exchange=exchange) as publisher:
        for queue, key in ((everything, "#"), (sellers_only, "seller.*")):
            channel.queue_declare(queue, durable=True)
            channel.queue_bind(queue, exchange, routing_key=key)
        publisher.publish(events)

    received = drain(channel, everything)
    assert [json.loads(body) for _, body in received] == [e.envelope() for e in events]
    assert [p.message_id for p, _ in received] == [str(e.id) for e in events]
    assert {p.delivery_mode for p, _ in received} == {2}
    assert {p.content_type for p, _ in received} == {"application/json"}
    assert [p.type for p, _ in received] == ["seller.created", "order.recorded", "seller.updated"]
    assert [p.type for p, _ in drain(channel, sellers_only)] == ["seller.created", "seller.updated"]


def test_an_event_no_queue_is_bound_for_is_kept_in_the_unrouted_queue_not_lost(
    amqp_url: str, channel: BlockingChannel, names: Names
) -> None:
    exchange = names.events_exchange("events")
    queue = names.queue("payouts")
    declare_events_exchange(channel, exchange)

    with AmqpPublisher(amqp_url, exchange=exchange) as publisher:
        channel.queue_declare(queue, durable=True)
        channel.queue_bind(queue, exchange, routing_key="payout.*")
        publisher.publish([sellerpay_event("seller.created", "sel_1")])
        publisher.publish([sellerpay_event("payout.paid", "po_1")])

    assert [p.type for p, _ in drain(channel, queue)] == ["payout.paid"]
    assert [p.type for p, _ in drain(channel, unrouted_name(exchange))] == ["seller.created"]


def test_a_publisher_whose_connection_was_closed_reconnects(
    amqp_url: str, channel: BlockingChannel, names: Names
) -> None:
    exchange, queue = names.events_exchange("events"), names.queue("all")
    publisher = AmqpPublisher(amqp_url, exchange=exchange)
    declare_events_exchange(channel, exchange)
    channel.queue_declare(queue, durable=True)
    channel.queue_bind(queue, exchange, routing_key="#")

    publisher.publish([sellerpay_event("seller.created", "sel_1")])
    publisher.close()
    publisher.publish([sellerpay_event("seller.updated", "sel_1")])
    publisher.close()

    assert [p.type for p, _ in drain(channel, queue)] == ["seller.created", "seller.updated"]


def test_an_unreachable_broker_is_unavailable_and_a_bad_url_invalid() -> None:
    with pytest.raises(Unavailable) as down:
        AmqpPublisher("amqp://guest:secret@127.0.0.1:1/%2F").publish(
            [sellerpay_event("seller.created", "sel_1")]
        )
    with pytest.raises(InvalidInput) as bad:
        AmqpPublisher("http://127.0.0.1:5672/").publish([sellerpay_event("seller.created", "s")])

    assert down.value.code == "broker_unavailable"
    assert "secret" not in down.value.detail
    assert bad.value.code == "invalid_url"


# --- the marketplace topology ---------------------------------------------------------------


def test_declaring_the_topology_again_changes_nothing_and_keeps_waiting_messages(
    amqp_url: str, channel: BlockingChannel, topology: MarketplaceTopology
) -> None:
    with MarketplaceEventPublisher(amqp_url, topology=topology) as publisher:
        publisher.publish([marketplace_event(1)])
    declare_marketplace_topology(channel, topology)
    declare_marketplace_topology(channel, topology)

    assert waiting(channel, topology.queue) == 1
    assert waiting(channel, topology.dead_letter_queue) == 0


def test_a_queue_declared_without_dead_lettering_is_a_topology_conflict(
    amqp_url: str, channel: BlockingChannel, topology: MarketplaceTopology
) -> None:
    channel.queue_declare(topology.queue, durable=True)  # by hand, without the arguments

    with pytest.raises(Conflict) as conflict:
        MarketplaceEventPublisher(amqp_url, topology=topology).publish([marketplace_event(1)])

    assert conflict.value.code == "broker_topology_conflict"


def test_a_marketplace_event_needs_a_type_to_be_routed(
    amqp_url: str, topology: MarketplaceTopology
) -> None:
    with (
        MarketplaceEventPublisher(amqp_url, topology=topology) as publisher,
        pytest.raises(InvalidInput) as refused,
    ):
        publisher.publish([{"id": "evt_1", "data": {}}])

    assert refused.value.code == "event_type_invalid"


# --- the consumer, with a handler that records what it was given ----------------------------


@dataclass(frozen=True)
class Outcome:
    event_id: str | None
    status: str
    reason_code: str | None = None
    reason: str | None = None


@dataclass
class RecordingHandler:
    """Stands in for settlement's handler in transport tests: remembers each batch, can fail."""

    fail_with: Callable[[Sequence[Mapping[str, Any]]], BaseException | None] = lambda _: None
    unstorable: frozenset[str] = frozenset()  # ids it answers "could not store" for
    batches: list[list[str]] = field(default_factory=list)
    calls: int = 0

    def __call__(self, events: Sequence[Mapping[str, Any]]) -> list[Outcome]:
        self.calls += 1
        error = self.fail_with(events)
        if error is not None:
            raise error
        self.batches.append([str(event["id"]) for event in events])
        return [
            Outcome(None, "rejected", "invalid_event_id", "not storable")
            if event["id"] in self.unstorable
            else Outcome(str(event["id"]), "applied")
            for event in events
        ]

    @property
    def handled(self) -> list[str]:
        return [event_id for batch in self.batches for event_id in batch]


@dataclass
class RunningConsumer:
    consumer: MarketplaceConsumer
    stop: threading.Event
    thread: threading.Thread
    errors: list[BaseException]

    def finish(self) -> ConsumerReport:
        self.stop.set()
        self.thread.join(timeout=wait_timeout_s)
        assert not self.thread.is_alive(), "the consumer did not stop"
        assert not self.errors, f"the consumer failed: {self.errors!r}"
        return self.consumer.report


def start_consumer(
    amqp_url: str, topology: MarketplaceTopology, handler: Any, **settings: int
) -> RunningConsumer:
    stop = threading.Event()
    consumer = MarketplaceConsumer(
        ConsumerConfig(amqp_url, topology=topology, **settings),
        handler=handler,
        clock=FixedClock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC)),
        stop=stop,
    )
    errors: list[BaseException] = []

    def run() -> None:
        try:
            consumer.run()
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=run, name="consumer", daemon=True)
    thread.start()
    return RunningConsumer(consumer, stop, thread, errors)


def test_the_consumer_hands_over_every_event_in_order_in_batches_and_acks_them(
    amqp_url: str, channel: BlockingChannel, topology: MarketplaceTopology
) -> None:
    events = [marketplace_event(n) for n in range(250)]
    with MarketplaceEventPublisher(amqp_url, topology=topology) as publisher:
        publisher.publish(events)
    handler = RecordingHandler()

    running = start_consumer(amqp_url, topology, handler, prefetch=100, batch_size=40)
    wait_until(lambda: len(handler.handled) >= len(events), what="every event was handed over")
    report = running.finish()

    assert handler.handled == [e["id"] for e in events]
    assert max(len(batch) for batch in handler.batches) == 40
    assert report.messages == 250
    assert report.by_status == {"applied": 250}
    assert waiting(channel, topology.queue) == 0  # acknowledged, not merely delivered


def test_a_message_that_cannot_be_stored_is_dead_lettered_with_its_reason(
    amqp_url: str, channel: BlockingChannel, topology: MarketplaceTopology
) -> None:
    with MarketplaceEventPublisher(amqp_url, topology=topology) as publisher:
        publisher.publish([marketplace_event(1)])
        publisher.publish_body(b"not json at all", routing_key="order.paid", message_id="m-2")
        publisher.publish_body(b'{"type": "order.paid"}', routing_key="order.paid")
        publisher.publish_body(b'[{"id": "evt_in_a_list"}]', routing_key="order.paid")
        publisher.publish([marketplace_event(5)])
    handler = RecordingHandler()

    running = start_consumer(amqp_url, topology, handler)
    wait_until(lambda: len(handler.handled) == 2, what="the good events were handed over")
    wait_until(lambda: waiting(channel, topology.dead_letter_queue) == 3, what="3 dead letters")
    report = running.finish()

    dead = drain(channel, topology.dead_letter_queue)
    assert [(p.headers or {})[HEADER_REASON_CODE] for p, _ in dead] == [
        "not_json",
        "event_id_missing",
        "not_an_event_object",
    ]
    assert dead[0][1] == b"not json at all"  # the body as it came, for an operator to fix
    assert dead[0][0].message_id == "m-2"
    assert all((p.headers or {})[HEADER_REASON] for p, _ in dead)
    assert {(p.headers or {})["sellerpay-original-routing-key"] for p, _ in dead} == {"order.paid"}
    assert handler.handled == [marketplace_event(1)["id"], marketplace_event(5)["id"]]
    assert report.dead_lettered == {"not_json": 1, "event_id_missing": 1, "not_an_event_object": 1}
    assert waiting(channel, topology.queue) == 0


def test_while_the_database_is_down_batches_go_back_to_the_queue_and_none_is_lost(
    amqp_url: str, channel: BlockingChannel, topology: MarketplaceTopology
) -> None:
    events = [marketplace_event(n) for n in range(30)]
    with MarketplaceEventPublisher(amqp_url, topology=topology) as publisher:
        publisher.publish(events)
    outage = {"failures_left": 3}

    def database_down(_events: Sequence[Mapping[str, Any]]) -> BaseException | None:
        if outage["failures_left"] == 0:
            return None
        outage["failures_left"] -= 1
        return Unavailable("database unavailable", code="database_unavailable")

    handler = RecordingHandler(fail_with=database_down)
    running = start_consumer(amqp_url, topology, handler, batch_size=10)
    wait_until(lambda: len(set(handler.handled)) == 30, what="every event got through")
    report = running.finish()

    assert sorted(handler.handled) == sorted(e["id"] for e in events)  # each once, none lost
    assert report.requeued >= 3 * 10
    assert report.dead_lettered == {}
    assert waiting(channel, topology.queue) == 0


def test_an_event_the_handler_fails_on_is_dead_lettered_and_the_rest_of_its_batch_kept(
    amqp_url: str, channel: BlockingChannel, topology: MarketplaceTopology
) -> None:
    events = [marketplace_event(n) for n in range(12)]
    bad_id = events[4]["id"]
    with MarketplaceEventPublisher(amqp_url, topology=topology) as publisher:
        publisher.publish(events)

    def bug_on_one_event(batch: Sequence[Mapping[str, Any]]) -> BaseException | None:
        if any(event["id"] == bad_id for event in batch):
            return ValueError("a bug in the handler")
        return None

    handler = RecordingHandler(fail_with=bug_on_one_event)
    running = start_consumer(amqp_url, topology, handler, batch_size=12, batch_wait_ms=500)
    wait_until(lambda: len(handler.handled) == 11, what="the 11 other events got through")
    wait_until(lambda: waiting(channel, topology.dead_letter_queue) == 1, what="1 dead letter")
    report = running.finish()

    ((properties, body),) = drain(channel, topology.dead_letter_queue)
    assert json.loads(body)["id"] == bad_id
    assert (properties.headers or {})[HEADER_REASON_CODE] == "handler_failed"
    assert "a bug in the handler" in (properties.headers or {})[HEADER_REASON]
    assert handler.handled == [e["id"] for e in events if e["id"] != bad_id]
    assert report.dead_lettered == {"handler_failed": 1}


def test_an_event_the_handler_says_it_could_not_store_is_dead_lettered_with_its_reason(
    amqp_url: str, channel: BlockingChannel, topology: MarketplaceTopology
) -> None:
    events = [marketplace_event(n) for n in range(6)]
    with MarketplaceEventPublisher(amqp_url, topology=topology) as publisher:
        publisher.publish(events)
    handler = RecordingHandler(unstorable=frozenset({events[2]["id"]}))

    running = start_consumer(amqp_url, topology, handler, batch_size=6, batch_wait_ms=500)
    wait_until(lambda: waiting(channel, topology.dead_letter_queue) == 1, what="1 dead letter")
    wait_until(lambda: running.consumer.report.messages == 5, what="5 events were stored")
    report = running.finish()

    ((properties, body),) = drain(channel, topology.dead_letter_queue)
    assert json.loads(body)["id"] == events[2]["id"]
    assert (properties.headers or {})[HEADER_REASON_CODE] == "invalid_event_id"
    assert report.by_status == {"applied": 5}
    assert waiting(channel, topology.queue) == 0


def test_a_stopped_consumer_leaves_what_it_did_not_handle_in_the_queue(
    amqp_url: str, channel: BlockingChannel, topology: MarketplaceTopology
) -> None:
    events = [marketplace_event(n) for n in range(100)]
    with MarketplaceEventPublisher(amqp_url, topology=topology) as publisher:
        publisher.publish(events)
    stop_after_first_batch = threading.Event()

    def slow(_events: Sequence[Mapping[str, Any]]) -> None:
        stop_after_first_batch.set()
        time.sleep(0.2)  # the stop signal lands while this batch is in hand

    handler = RecordingHandler(fail_with=lambda events: slow(events))
    running = start_consumer(amqp_url, topology, handler, prefetch=50, batch_size=10)
    stop_after_first_batch.wait(wait_timeout_s)
    report = running.finish()

    assert handler.handled == [e["id"] for e in events[: len(handler.handled)]]
    assert 10 <= len(handler.handled) < 100  # the batch in hand was finished
    assert report.messages == len(handler.handled)
    wait_until(
        lambda: waiting(channel, topology.queue) == 100 - len(handler.handled),
        what="the broker requeued what was prefetched but not handled",
    )


def close_connection_from_the_broker(connection_name: str) -> None:
    """What an operator (or a broker restart) does: close the connection under the client."""
    listed = subprocess.run(
        ["rabbitmqctl", "-q", "--no-table-headers", "list_connections", "pid", "client_properties"],
        capture_output=True,
        text=True,
        check=True,
    )
    pids = [
        line.partition("\t")[0]
        for line in listed.stdout.splitlines()
        if f'{{"connection_name","{connection_name}"}}' in line
    ]
    assert len(pids) == 1, listed.stdout
    subprocess.run(["rabbitmqctl", "-q", "close_connection", pids[0], "test"], check=True)


@pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="needs rabbitmqctl on this host")
def test_a_consumer_whose_connection_the_broker_closes_reconnects_and_loses_nothing(
    amqp_url: str, channel: BlockingChannel, topology: MarketplaceTopology
) -> None:
    events = [marketplace_event(n) for n in range(400)]
    with MarketplaceEventPublisher(amqp_url, topology=topology) as publisher:
        publisher.publish(events)
    handler = RecordingHandler(fail_with=lambda _batch: time.sleep(0.1))  # 4 s in all

    running = start_consumer(amqp_url, topology, handler, prefetch=20, batch_size=10)
    wait_until(lambda: len(handler.handled) >= 10, what="the first batch was handed over")
    close_connection_from_the_broker(running.consumer.connection_name)
    wait_until(lambda: len(set(handler.handled)) == 400, what="every event was handed over")
    report = running.finish()

    assert report.reconnects == 1
    assert sorted(set(handler.handled)) == sorted(e["id"] for e in events)  # none lost
    assert len(handler.handled) - 400 <= 20  # at most what was unacknowledged came back
    assert waiting(channel, topology.queue) == 0


def test_a_consumer_that_cannot_reach_the_broker_at_start_is_unavailable(
    topology: MarketplaceTopology,
) -> None:
    consumer = MarketplaceConsumer(
        ConsumerConfig("amqp://guest:guest@127.0.0.1:1/%2F", topology=topology),
        handler=RecordingHandler(),
        clock=FixedClock(datetime(2026, 11, 25, tzinfo=UTC)),
        stop=threading.Event(),
    )

    with pytest.raises(Unavailable) as down:
        consumer.run()

    assert down.value.code == "broker_unavailable"


# --- the outbox relay, publishing through the broker ----------------------------------------


def record(db: Database, *types: str) -> list[Event]:
    with db.transaction() as conn:
        return [
            record_event(
                conn,
                type=event_type,
                subject="sel_relay",
                data={"n": n},
                now=datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
            )
            for n, event_type in enumerate(types)
        ]


def test_the_outbox_relay_publishes_recorded_events_through_the_broker(
    amqp_url: str, channel: BlockingChannel, names: Names, fresh_db: Database
) -> None:
    exchange, queue = names.events_exchange("events"), names.queue("all")
    declare_events_exchange(channel, exchange)
    channel.queue_declare(queue, durable=True)
    channel.queue_bind(queue, exchange, routing_key="#")
    recorded = record(fresh_db, "seller.created", "order.recorded")
    clock = FixedClock(datetime(2026, 11, 25, 9, 1, tzinfo=UTC))

    with AmqpPublisher(amqp_url, exchange=exchange) as publisher:
        relayed = relay_outbox(fresh_db, clock=clock, publisher=publisher)
        relayed_again = relay_outbox(fresh_db, clock=clock, publisher=publisher)

    assert (relayed, relayed_again) == (2, 0)
    received = drain(channel, queue)
    assert [p.message_id for p, _ in received] == [str(e.id) for e in recorded]
    assert [json.loads(body) for _, body in received] == [e.envelope() for e in recorded]


def test_events_nobody_subscribes_to_yet_do_not_block_the_relay(
    amqp_url: str, channel: BlockingChannel, names: Names, fresh_db: Database
) -> None:
    exchange, queue = names.events_exchange("events"), names.queue("sellers")
    declare_events_exchange(channel, exchange)
    with AmqpPublisher(amqp_url, exchange=exchange) as publisher:
        channel.queue_declare(queue, durable=True)
        channel.queue_bind(queue, exchange, routing_key="seller.*")
        record(fresh_db, "seller.created", "order.recorded")  # nobody takes order.* yet
        clock = FixedClock(datetime(2026, 11, 25, 9, 1, tzinfo=UTC))
        relayed = relay_outbox(fresh_db, clock=clock, publisher=publisher)

    assert relayed == 2
    assert [p.type for p, _ in drain(channel, queue)] == ["seller.created"]
    assert [p.type for p, _ in drain(channel, unrouted_name(exchange))] == ["order.recorded"]


# --- a small marketplace, a consumer in a subprocess, and what the database says ----------


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@dataclass
class Marketplace:
    """Sellers in France with one fee plan (12 %), and their events, deterministic by number."""

    db: Database
    sellers: list[str]
    prefix: str

    @classmethod
    def open(cls, db: Database, *, sellers: int = 4, prefix: str | None = None) -> Marketplace:
        prefix = prefix or uuid.uuid4().hex[:10]
        market = cls(db, [f"sel_{prefix}{i}" for i in range(sellers)], prefix)
        clock = FixedClock(datetime(2026, 11, 1, tzinfo=UTC))
        for seller in market.sellers:
            create_seller(db, seller_id=seller, legal_name="Refurb SARL", country="FR", clock=clock)
        create_fee_plan(
            db,
            name=f"amqp {prefix}",
            effective_from=datetime(2026, 1, 1, tzinfo=UTC),
            rules=[FeeRule(bps=1_200)],
            created_by="tests",
            clock=clock,
        )
        return market

    def order_paid(self, n: int) -> dict[str, Any]:
        return {
            "id": f"evt_{self.prefix}_paid_{n}",
            "type": "order.paid",
            "occurred_at": "2026-11-20T10:00:00+00:00",
            "data": {
                "order_id": f"ord_{self.prefix}_{n}",
                "seller_id": self.sellers[n % len(self.sellers)],
                "currency": "EUR",
                "market": "FR",
                "paid_at": "2026-11-20T10:00:00+00:00",
                "lines": [{"line_id": "l1", "category": "phones", "amount_minor": 1_000 + 37 * n}],
            },
        }

    def refund(self, n: int) -> dict[str, Any]:
        return {
            "id": f"evt_{self.prefix}_refund_{n}",
            "type": "order.refunded",
            "occurred_at": "2026-11-21T10:00:00+00:00",
            "data": {
                "order_id": f"ord_{self.prefix}_{n}",
                "refund_id": f"ref_{n}",
                "amount_minor": 500,
            },
        }

    def history(self, *, orders: int) -> list[dict[str, Any]]:
        """`orders` payments, every fifth order refunded in part after it."""
        events = []
        for n in range(orders):
            events.append(self.order_paid(n))
            if n % 5 == 4:
                events.append(self.refund(n))
        return events

    def accounts(self) -> list[tuple[str, str]]:
        codes = ["platform:psp_clearing", "platform:revenue:commission"]
        codes += [f"seller:{seller}:pending" for seller in self.sellers]
        return [(code, "EUR") for code in codes]


def statuses(db: Database, ids: Sequence[str]) -> dict[str, str]:
    e = settlement_models.marketplace_events.c
    with db.reading() as conn:
        rows = conn.execute(select(e.id, e.status).where(e.id.in_(ids))).all()
    return {row.id: row.status for row in rows}


def applied_count(db: Database, ids: Sequence[str]) -> int:
    return sum(1 for status in statuses(db, ids).values() if status == "applied")


def in_order_balances(
    database_factory: DatabaseFactory,
    backend: str,
    events: Sequence[Mapping[str, Any]],
    market: Marketplace,
) -> dict[tuple[str, str], Money]:
    """The balances the same events give when handed over once each, in order."""
    db = database_factory.create(backend)
    again = Marketplace.open(db, sellers=len(market.sellers), prefix=market.prefix)
    clock = FixedClock(datetime(2026, 11, 25, 12, tzinfo=UTC))
    for start in range(0, len(events), 100):
        ingest_events(db, events[start : start + 100], source="amqp", clock=clock)
    return balances_of(db, again.accounts())


class ConsumerProcess:
    """`sellerpay consume` in a subprocess, on the test's queue and database."""

    def __init__(
        self, amqp_url: str, topology: MarketplaceTopology, db: Database, log: Path
    ) -> None:
        self.log = log
        self._output = log.open("wb")
        env = {**os.environ, "SELLERPAY_DATABASE_URL": db.url, "SELLERPAY_LOG_LEVEL": "WARNING"}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sellerpay.cli.consume",
                "--amqp-url",
                amqp_url,
                "--queue",
                topology.queue,
                "--exchange",
                topology.exchange,
                "--prefetch",
                "40",
                "--batch-size",
                "20",
                "--batch-wait-ms",
                "20",
            ],
            env=env,
            stdout=self._output,
            stderr=subprocess.STDOUT,
        )

    def assert_running(self) -> None:
        assert self.process.poll() is None, self.log.read_text()[-2000:]

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=wait_timeout_s)
        self._output.close()

    def terminate(self) -> dict[str, Any]:
        """Stop it gracefully; its last line `stopped: {json}` is its report."""
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=wait_timeout_s)
        self._output.close()
        output = self.log.read_text()
        assert code == 0, output[-2000:]
        lines = [line for line in output.splitlines() if line.startswith("stopped: ")]
        assert lines, output[-2000:]
        report: dict[str, Any] = json.loads(lines[-1].removeprefix("stopped: "))
        return report


def test_a_consumer_killed_mid_stream_and_restarted_applies_every_event_exactly_once(
    amqp_url: str,
    channel: BlockingChannel,
    topology: MarketplaceTopology,
    database_factory: DatabaseFactory,
    backend: str,
    tmp_path: Path,
) -> None:
    db = database_factory.create(backend)
    market = Marketplace.open(db)
    events = market.history(orders=600)  # 720 events
    ids = [e["id"] for e in events]
    with MarketplaceEventPublisher(amqp_url, topology=topology) as publisher:
        publisher.publish(events)

    first = ConsumerProcess(amqp_url, topology, db, tmp_path / "first.log")
    wait_until(lambda: applied_count(db, ids) >= 60, what="the first consumer applied 60 events")
    first.kill()  # SIGKILL: no goodbye, whatever batch it had in hand
    applied_when_killed = applied_count(db, ids)
    second = ConsumerProcess(amqp_url, topology, db, tmp_path / "second.log")
    wait_until(lambda: applied_count(db, ids) == len(ids), what="every event was applied")
    second.assert_running()
    report = second.terminate()

    assert applied_when_killed < len(ids), "the kill did not land mid-stream"
    assert set(statuses(db, ids).values()) == {"applied"}
    assert report["messages"] + applied_when_killed >= len(ids)
    assert set(report["by_status"]) <= {"applied", "duplicate"}  # redelivered: no second effect
    assert report["dead_lettered"] == {}
    assert waiting(channel, topology.queue) == 0  # all acknowledged: nothing left, nothing lost
    assert waiting(channel, topology.dead_letter_queue) == 0
    verified = verify_ledger(db)
    assert verified.ok, verified.breaches
    assert verified.transactions == 600 + 2 * 120  # a payment each, a refund = 2 transactions
    assert balances_of(db, market.accounts()) == in_order_balances(
        database_factory, backend, events, market
    )


def test_events_sent_twice_are_applied_once_and_poison_messages_are_dead_lettered(
    amqp_url: str, channel: BlockingChannel, topology: MarketplaceTopology, db: Database
) -> None:
    market = Marketplace.open(db, sellers=1)
    events = [market.order_paid(n) for n in range(20)]
    reused = {**market.order_paid(3), "data": {**market.order_paid(3)["data"], "market": "DE"}}
    with MarketplaceEventPublisher(amqp_url, topology=topology) as publisher:
        publisher.publish(events)
        publisher.publish(events[:10])  # the marketplace retried: the same events again
        publisher.publish_body(b"<order id=1/>", routing_key="order.paid")
        publisher.publish_body(b'{"type": "order.paid", "data": {}}', routing_key="order.paid")
        publisher.publish([reused])  # an id reused with another body: stored, never applied
    handler = functools.partial(
        ingest_events, db, source="amqp", clock=FixedClock(datetime(2026, 11, 25, 12, tzinfo=UTC))
    )

    running = start_consumer(amqp_url, topology, handler, batch_size=8)
    wait_until(lambda: waiting(channel, topology.dead_letter_queue) == 2, what="2 dead letters")
    wait_until(lambda: running.consumer.report.messages == 31, what="31 events were stored")
    report = running.finish()

    assert report.by_status == {"applied": 20, "duplicate": 10, "rejected": 1}
    assert set(statuses(db, [e["id"] for e in events]).values()) == {"applied"}
    assert get_event(db, reused["id"]).conflicts[0].body["data"]["market"] == "DE"
    dead = drain(channel, topology.dead_letter_queue)
    assert [(p.headers or {})[HEADER_REASON_CODE] for p, _ in dead] == [
        "not_json",
        "event_id_missing",
    ]
    pending = f"seller:{market.sellers[0]}:pending"
    plan = FeePlan("fp_test", 1, (FeeRule(bps=1_200),))
    nets = [order_fees(plan, [line_of(market.order_paid(n))])[0].net for n in range(20)]
    assert balances_of(db, [(pending, "EUR")])[(pending, "EUR")] == sum(nets, Money.zero("EUR"))


def line_of(event: Mapping[str, Any]) -> OrderLine:
    (line,) = event["data"]["lines"]
    return OrderLine(line["line_id"], Money(line["amount_minor"], "EUR"), "phones", "FR")


@pytest.mark.postgresql
def test_while_postgresql_refuses_connections_no_event_is_lost(
    amqp_url: str,
    channel: BlockingChannel,
    topology: MarketplaceTopology,
    database_factory: DatabaseFactory,
) -> None:
    db = database_factory.create("postgresql")
    market = Marketplace.open(db, sellers=2)
    events = market.history(orders=40)
    with MarketplaceEventPublisher(amqp_url, topology=topology) as publisher:
        publisher.publish(events)
    handler = functools.partial(
        ingest_events, db, source="amqp", clock=FixedClock(datetime(2026, 11, 25, 12, tzinfo=UTC))
    )

    database_down(db, down=True)
    try:
        running = start_consumer(amqp_url, topology, handler, batch_size=10)
        wait_until(lambda: running.consumer.report.requeued >= 20, what="batches went back twice")
    finally:
        database_down(db, down=False)
    wait_until(lambda: running.consumer.report.messages == len(events), what="all were stored")
    report = running.finish()

    assert report.by_status == {"applied": len(events)}
    assert report.dead_lettered == {}
    assert set(statuses(db, [e["id"] for e in events]).values()) == {"applied"}
    assert verify_ledger(db).ok


def database_down(db: Database, *, down: bool) -> None:
    """Make PostgreSQL refuse (or accept again) every connection to the test's database."""
    name = db.engine.url.database
    admin = make_url(db.url).set(database="postgres", drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(
            f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {"false" if down else "true"}'
        )
        if down:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
            )
