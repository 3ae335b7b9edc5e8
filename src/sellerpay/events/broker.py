"""RabbitMQ, both ways: the topology, publishers with confirms, the consumer of marketplace events.

    marketplace ──▶ sellerpay.marketplace (topic, durable)
                     │ binding "#"
                     ▼
                   sellerpay.marketplace-events (durable queue, x-dead-letter-exchange)
                     │ MarketplaceConsumer: batches ──▶ the handler (settlement's ingest_events)
                     │ ack after the handler committed; a transient failure: nack + requeue
                     ▼ a message the handler cannot store (not JSON, no event id)
                   sellerpay.marketplace.dead (fanout) ──▶ sellerpay.marketplace-events.dead

    outbox relay ──▶ AmqpPublisher ──▶ sellerpay.events (topic, durable; routing key = event type)

Every message is persistent and every publish is confirmed by the broker (publisher confirms,
`mandatory`): a publish that the broker refuses, cannot route or never confirms raises
`Unavailable`, so the caller keeps what it tried to publish and tries again later.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import random
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Final, Protocol
from urllib.parse import urlsplit, urlunsplit

import pika
import pika.exceptions
import structlog
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection
from pika.spec import Basic, BasicProperties
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from sellerpay.clock import Clock
from sellerpay.db import is_transient_error
from sellerpay.errors import Conflict, InvalidInput, LimitExceeded, Unavailable, invariant
from sellerpay.events.service import Event

EVENTS_EXCHANGE: Final = "sellerpay.events"
MARKETPLACE_EXCHANGE: Final = "sellerpay.marketplace"
MARKETPLACE_QUEUE: Final = "sellerpay.marketplace-events"
MARKETPLACE_BINDING_KEY: Final = "#"  # every marketplace event type

message_bytes_max: Final = 1_048_576  # one marketplace event; the HTTP door's batch is larger
event_id_length_max: Final = 100  # as the handler's envelope: 1..100 printable characters
event_type_length_max: Final = 255  # an AMQP routing key is a short string
name_length_max: Final = 200  # exchange and queue names (AMQP allows 255 bytes; ".dead" is added)
prefetch_max: Final = 10_000
batch_size_max: Final = 1_000  # the HTTP door's batch limit (settings.api_batch_size_max)
batch_wait_ms_max: Final = 60_000
events_per_publish_max: Final = 10_000
reason_length_max: Final = 500
backoff_base_s: Final = 0.25
backoff_cap_s: Final = 30.0
broker_timeout_s: Final = 30.0  # longest wait while the broker blocks publishers (an alarm)
reconnect_attempts_max: Final = 20  # consecutive failed reconnections before the consumer gives up
idle_poll_s: Final = 0.2  # how often an idle consumer looks at its stop signal

HEADER_REASON_CODE: Final = "sellerpay-dead-letter-reason"
HEADER_REASON: Final = "sellerpay-dead-letter-detail"
HEADER_DEAD_LETTERED_AT: Final = "sellerpay-dead-lettered-at"
HEADER_ORIGINAL_EXCHANGE: Final = "sellerpay-original-exchange"
HEADER_ORIGINAL_ROUTING_KEY: Final = "sellerpay-original-routing-key"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]*")
log = structlog.get_logger(__name__)


# --- topology ------------------------------------------------------------------------------


def check_name(name: str, *, what: str) -> str:
    """`name` if it may name an exchange or queue of ours, else `InvalidInput`."""
    if not 1 <= len(name) <= name_length_max or not _NAME.fullmatch(name):
        raise InvalidInput(
            f"{what} name must be 1 to {name_length_max} characters of A-Z a-z 0-9 _ . : -",
            code="invalid_amqp_name",
        )
    if name.startswith("amq."):
        raise InvalidInput(
            f"{what} names starting with amq. are the broker's", code="reserved_name"
        )
    return name


@dataclass(frozen=True, slots=True)
class MarketplaceTopology:
    """Where marketplace events arrive and where the ones that cannot be stored go.

    The defaults are the production names; tests (and several environments on one broker)
    give their own, and the dead-letter names follow from them.
    """

    exchange: str = MARKETPLACE_EXCHANGE
    queue: str = MARKETPLACE_QUEUE
    binding_key: str = MARKETPLACE_BINDING_KEY

    def __post_init__(self) -> None:
        check_name(self.exchange, what="exchange")
        check_name(self.queue, what="queue")
        if not 1 <= len(self.binding_key) <= event_type_length_max:
            raise InvalidInput("a binding key is 1 to 255 characters", code="invalid_amqp_name")

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.exchange}.dead"

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.queue}.dead"


def declare_marketplace_topology(channel: BlockingChannel, topology: MarketplaceTopology) -> None:
    """Declare the exchanges, queues and bindings of `topology`; declaring again changes nothing.

    A queue that exists with other arguments (declared by hand without the dead-letter exchange)
    makes the broker close the channel: that is `Conflict(broker_topology_conflict)`.
    """
    try:
        channel.exchange_declare(topology.exchange, exchange_type="topic", durable=True)
        channel.exchange_declare(
            topology.dead_letter_exchange, exchange_type="fanout", durable=True
        )
        channel.queue_declare(topology.dead_letter_queue, durable=True)
        channel.queue_bind(topology.dead_letter_queue, topology.dead_letter_exchange)
        channel.queue_declare(
            topology.queue,
            durable=True,
            arguments={"x-dead-letter-exchange": topology.dead_letter_exchange},
        )
        channel.queue_bind(topology.queue, topology.exchange, routing_key=topology.binding_key)
    except pika.exceptions.ChannelClosedByBroker as error:
        raise Conflict(
            f"the broker refused the topology of {topology.queue}: {error.reply_text}",
            code="broker_topology_conflict",
        ) from error


def unrouted_name(exchange: str) -> str:
    """The alternate exchange, and its queue, that keep events no subscriber is bound for."""
    return f"{exchange}.unrouted"


def declare_events_exchange(channel: BlockingChannel, exchange: str = EVENTS_EXCHANGE) -> None:
    """Declare the durable topic exchange that Sellerpay's own events are published to.

    It has an alternate exchange (`<exchange>.unrouted`, fanout, with a durable queue of the
    same name): an event of a type nobody subscribes to yet is kept there instead of blocking
    the outbox relay or being dropped.
    """
    exchange = check_name(exchange, what="exchange")
    unrouted = unrouted_name(exchange)
    try:
        channel.exchange_declare(unrouted, "fanout", durable=True)
        channel.queue_declare(unrouted, durable=True)
        channel.queue_bind(unrouted, unrouted)
        channel.exchange_declare(
            exchange, "topic", durable=True, arguments={"alternate-exchange": unrouted}
        )
    except pika.exceptions.ChannelClosedByBroker as error:
        raise Conflict(
            f"the broker refused the events exchange {exchange}: {error.reply_text}",
            code="broker_topology_conflict",
        ) from error


# --- connections ---------------------------------------------------------------------------


def redact_url(amqp_url: str) -> str:
    """The URL without its password, fit for logs and error messages."""
    parts = urlsplit(amqp_url)
    if parts.password is None:
        return amqp_url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def connect(amqp_url: str, *, connection_name: str) -> BlockingConnection:
    """A blocking connection to the broker at `amqp_url`, or `Unavailable(broker_unavailable)`."""
    if urlsplit(amqp_url).scheme not in ("amqp", "amqps"):
        raise InvalidInput("the broker URL must start with amqp:// or amqps://", code="invalid_url")
    try:
        parameters = pika.URLParameters(amqp_url)
    except (ValueError, TypeError) as error:
        raise InvalidInput(f"bad broker URL: {error}", code="invalid_url") from error
    if parameters.blocked_connection_timeout is None:
        parameters.blocked_connection_timeout = broker_timeout_s
    parameters.client_properties = {"connection_name": connection_name}
    try:
        return BlockingConnection(parameters)
    except pika.exceptions.AMQPError as error:
        cause = _cause(error)
        raise Unavailable(
            f"RabbitMQ unavailable at {redact_url(amqp_url)}: {cause}", code="broker_unavailable"
        ) from error


def _cause(error: BaseException) -> str:
    """What pika's nested errors say, in one line (`ConnectionRefusedError(111, …)`)."""
    if not error.args:
        return type(error).__name__
    first = error.args[0]
    return repr(first) if isinstance(first, BaseException) else str(first)


def _close_quietly(connection: BlockingConnection | None) -> None:
    if connection is not None and connection.is_open:
        with contextlib.suppress(pika.exceptions.AMQPError):  # already going away
            connection.close()


class _ConfirmingChannel:
    """One connection and one channel in confirm mode, opened on first use and after a failure."""

    def __init__(
        self,
        amqp_url: str,
        *,
        declare: Callable[[BlockingChannel], None],
        connection_name: str,
    ) -> None:
        self._amqp_url = amqp_url
        self._declare = declare
        self._connection_name = connection_name
        self._connection: BlockingConnection | None = None
        self._channel: BlockingChannel | None = None

    def _open(self) -> BlockingChannel:
        if self._channel is not None and self._channel.is_open:
            return self._channel
        self.close()
        self._connection = connect(self._amqp_url, connection_name=self._connection_name)
        try:
            channel = self._connection.channel()
            self._declare(channel)
            channel.confirm_delivery()
        except BaseException:
            self.close()
            raise
        self._channel = channel
        return channel

    def send(
        self, *, exchange: str, routing_key: str, body: bytes, properties: BasicProperties
    ) -> None:
        """Publish one message and wait for the broker's confirm; raise `Unavailable` if none."""
        channel = self._open()
        try:
            channel.basic_publish(exchange, routing_key, body, properties, mandatory=True)
        except pika.exceptions.UnroutableError as error:
            raise Unavailable(
                f"no queue is bound to {exchange} for {routing_key!r}: the message was returned",
                code="broker_unroutable",
            ) from error
        except pika.exceptions.NackError as error:
            raise Unavailable(
                f"the broker refused a message for {exchange}", code="broker_nacked"
            ) from error
        except pika.exceptions.AMQPError as error:
            self.close()
            raise Unavailable(
                f"RabbitMQ closed the channel while publishing: {error!r}",
                code="broker_unavailable",
            ) from error

    def close(self) -> None:
        _close_quietly(self._connection)
        self._connection, self._channel = None, None


# --- publishing ----------------------------------------------------------------------------


def event_message(event: Event) -> tuple[bytes, BasicProperties]:
    """The body (the event's envelope, as webhooks carry it) and properties of `event`."""
    body = json.dumps(event.envelope(), separators=(",", ":"), ensure_ascii=False).encode()
    properties = BasicProperties(
        content_type="application/json",
        delivery_mode=pika.DeliveryMode.Persistent,
        message_id=str(event.id),
        type=event.type,
        timestamp=int(event.created_at.timestamp()),
        app_id="sellerpay",
    )
    return body, properties


def _check_publish_size(count: int) -> None:
    if count > events_per_publish_max:
        raise LimitExceeded(
            f"publish at most {events_per_publish_max} events at once",
            code="events_per_publish_max",
        )


class AmqpPublisher:
    """Publishes Sellerpay's events to `sellerpay.events` (routing key = the event type), each
    persistent and confirmed: the outbox relay's `EventPublisher` in distributed mode.

    `publish` returns only when the broker has confirmed every event; otherwise it raises
    `Unavailable` (`broker_unavailable`, `broker_nacked`), and the relay keeps the events to
    publish again. An event no queue is bound for goes to the alternate exchange's queue
    `<exchange>.unrouted` (see `declare_events_exchange`), so it neither blocks nor vanishes.
    Delivery is at least once: subscribers deduplicate by `message_id` (the event id).
    """

    def __init__(self, amqp_url: str, *, exchange: str = EVENTS_EXCHANGE) -> None:
        self.exchange = check_name(exchange, what="exchange")
        self._channel = _ConfirmingChannel(
            amqp_url,
            declare=lambda channel: declare_events_exchange(channel, self.exchange),
            connection_name="sellerpay events publisher",
        )

    def publish(self, events: Sequence[Event]) -> None:
        _check_publish_size(len(events))
        for event in events:
            body, properties = event_message(event)
            self._channel.send(
                exchange=self.exchange, routing_key=event.type, body=body, properties=properties
            )

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> AmqpPublisher:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.close()


class MarketplaceEventPublisher:
    """Publishes marketplace events (`{"id", "type", "occurred_at", "data"}`) to the marketplace
    exchange, persistent and confirmed, as the marketplace would: for the demo, the benchmark,
    tests and tools. Declares the topology first, so nothing published before the consumer
    starts is lost."""

    def __init__(self, amqp_url: str, *, topology: MarketplaceTopology | None = None) -> None:
        self.topology = topology or MarketplaceTopology()
        self._channel = _ConfirmingChannel(
            amqp_url,
            declare=lambda channel: declare_marketplace_topology(channel, self.topology),
            connection_name="sellerpay marketplace publisher",
        )

    def publish(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Publish each event with its type as routing key and its id as message id."""
        _check_publish_size(len(events))
        for event in events:
            event_type, event_id = event.get("type"), event.get("id")
            if not isinstance(event_type, str) or not 1 <= len(event_type) <= event_type_length_max:
                raise InvalidInput("a marketplace event needs a type", code="event_type_invalid")
            body = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
            self.publish_body(
                body,
                routing_key=event_type,
                message_id=event_id if isinstance(event_id, str) else None,
            )

    def publish_body(self, body: bytes, *, routing_key: str, message_id: str | None = None) -> None:
        """Publish `body` as it is (even a message the consumer will dead-letter)."""
        properties = BasicProperties(
            content_type="application/json",
            delivery_mode=pika.DeliveryMode.Persistent,
            message_id=message_id,
            app_id="sellerpay",
        )
        self._channel.send(
            exchange=self.topology.exchange,
            routing_key=routing_key,
            body=body,
            properties=properties,
        )

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> MarketplaceEventPublisher:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.close()


# --- consuming: pure decisions -------------------------------------------------------------


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def read_marketplace_message(body: bytes) -> dict[str, Any]:
    """The event in `body`, or `InvalidInput` when the handler could not even store it: too
    large (`message_too_large`), not JSON (`not_json`), not an object (`not_an_event_object`),
    no id (`event_id_missing`) or an id that is not 1..100 printable characters
    (`event_id_invalid`). Everything else, however wrong, is the handler's to store and judge."""
    if len(body) > message_bytes_max:
        raise LimitExceeded(
            f"a message holds at most {message_bytes_max} bytes, this one {len(body)}",
            code="message_too_large",
        )
    try:
        value = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise InvalidInput(f"the message is not JSON: {error}", code="not_json") from error
    if not isinstance(value, dict):
        raise InvalidInput(
            f"a marketplace event is a JSON object, not {type(value).__name__}",
            code="not_an_event_object",
        )
    if "id" not in value or value["id"] is None:
        raise InvalidInput("the event has no id", code="event_id_missing")
    event_id = value["id"]
    if (
        not isinstance(event_id, str)
        or not 1 <= len(event_id) <= event_id_length_max
        or not event_id.isprintable()
    ):
        raise InvalidInput(
            f"an event id is a string of 1 to {event_id_length_max} printable characters",
            code="event_id_invalid",
        )
    return value


def redelivery_backoff_s(attempt: int, *, jitter: float) -> float:
    """Seconds to wait before handing a batch back after its `attempt`-th failure in a row:
    doubling from `backoff_base_s` up to `backoff_cap_s`, half of it fixed and half scaled by
    `jitter` (in [0, 1]), so that consumers failing together do not retry in step."""
    if attempt < 1 or not 0.0 <= jitter <= 1.0:
        raise ValueError("attempt starts at 1 and jitter is in [0, 1]")
    ceiling: float = min(backoff_cap_s, backoff_base_s * float(2 ** min(attempt - 1, 32)))
    return ceiling / 2 + ceiling / 2 * jitter


def is_transient_failure(error: BaseException) -> bool:
    """True when the same batch may succeed later (the database or a dependency is down)."""
    if isinstance(error, Unavailable | OperationalError | InterfaceError):
        return True
    if isinstance(error, DBAPIError) and (
        error.connection_invalidated or is_transient_error(error)
    ):
        return True
    return isinstance(error, ConnectionError | TimeoutError)


def dead_letter_headers(
    *, original: Mapping[str, Any] | None, code: str, detail: str, exchange: str,
    routing_key: str, now: datetime,
) -> dict[str, Any]:  # fmt: skip
    """The original headers plus why and when the message was dead-lettered."""
    return {
        **dict(original or {}),
        HEADER_REASON_CODE: code,
        HEADER_REASON: detail[:reason_length_max],
        HEADER_DEAD_LETTERED_AT: now.isoformat(),
        HEADER_ORIGINAL_EXCHANGE: exchange,
        HEADER_ORIGINAL_ROUTING_KEY: routing_key,
    }


# --- consuming -----------------------------------------------------------------------------


class IngestOutcome(Protocol):
    """What the handler says of one event (settlement's `IngestResult`); no `event_id` means
    the handler could not store it (its id is unusable), so the message is dead-lettered."""

    @property
    def event_id(self) -> str | None: ...

    @property
    def status(self) -> str: ...

    @property
    def reason_code(self) -> str | None: ...

    @property
    def reason(self) -> str | None: ...


IngestHandler = Callable[[Sequence[Mapping[str, Any]]], Sequence[IngestOutcome]]
"""Stores and applies a batch of events in order, returning one outcome per event once committed."""


@dataclass(frozen=True, slots=True)
class ConsumerConfig:
    """How `MarketplaceConsumer` reads: `prefetch` unacknowledged messages at most, in batches
    of up to `batch_size` messages or `batch_wait_ms` after the first, whichever comes first."""

    amqp_url: str
    topology: MarketplaceTopology = field(default_factory=MarketplaceTopology)
    prefetch: int = 200
    batch_size: int = 100
    batch_wait_ms: int = 50

    def __post_init__(self) -> None:
        if not 1 <= self.prefetch <= prefetch_max:
            raise InvalidInput(f"prefetch must be 1 to {prefetch_max}", code="invalid_prefetch")
        if not 1 <= self.batch_size <= min(batch_size_max, self.prefetch):
            raise InvalidInput(
                f"batch size must be 1 to {batch_size_max} and at most the prefetch "
                f"({self.prefetch}): a batch is made of unacknowledged messages",
                code="invalid_batch_size",
            )
        if not 0 <= self.batch_wait_ms <= batch_wait_ms_max:
            raise InvalidInput(
                f"batch wait must be 0 to {batch_wait_ms_max} ms", code="invalid_batch_wait"
            )


@dataclass(slots=True)
class ConsumerReport:
    """What a consumer did: messages settled, by the handler's status and by dead-letter reason."""

    batches: int = 0
    messages: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    dead_lettered: Counter[str] = field(default_factory=Counter)
    requeued: int = 0
    reconnects: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "batches": self.batches,
            "messages": self.messages,
            "by_status": dict(sorted(self.by_status.items())),
            "dead_lettered": dict(sorted(self.dead_lettered.items())),
            "requeued": self.requeued,
            "reconnects": self.reconnects,
        }


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message as the broker delivered it, not yet acknowledged."""

    tag: int
    exchange: str
    routing_key: str
    properties: BasicProperties
    body: bytes


class MarketplaceConsumer:
    """Consumes the marketplace queue until `stop` is set, handing batches to `handler`.

    A batch is acknowledged only after the handler returned (committed); a killed consumer's
    unacknowledged messages go back to the queue and are handed over again, which the handler's
    event-id deduplication makes harmless. A transient failure (database down) hands the batch
    back to the queue after a backoff; a message the handler cannot store is dead-lettered with
    its reason; nothing is dropped. After `stop`, the batch in hand is finished and acknowledged,
    and the connection closed (the broker requeues what was prefetched but not handled).
    """

    def __init__(
        self,
        config: ConsumerConfig,
        *,
        handler: IngestHandler,
        clock: Clock,
        stop: threading.Event,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.report = ConsumerReport()
        self._handler = handler
        self._clock = clock
        self._stop = stop
        self._rng = rng or random.Random()
        self._failures_in_a_row = 0

    @property
    def connection_name(self) -> str:
        """How the broker's tools name this consumer's connection."""
        return f"sellerpay consume {self.config.topology.queue}"

    def run(self) -> ConsumerReport:
        """Consume until stopped; reconnect when the broker goes away after the first connection
        (a first connection that fails raises `Unavailable` at once)."""
        connected_before, attempts = False, 0
        while not self._stop.is_set():
            try:
                connection = connect(self.config.amqp_url, connection_name=self.connection_name)
            except Unavailable:
                attempts += 1
                if not connected_before or attempts > reconnect_attempts_max:
                    raise
                self._stop.wait(redelivery_backoff_s(attempts, jitter=self._rng.random()))
                continue
            connected_before, attempts = True, 0
            try:
                self._serve(connection)
            except (pika.exceptions.AMQPConnectionError, pika.exceptions.ChannelClosed) as error:
                # unacknowledged messages go back to the queue: handing them over again is safe
                log.warning("amqp.connection_lost", error=repr(error))
                self.report.reconnects += 1
            finally:
                _close_quietly(connection)
        return self.report

    def _serve(self, connection: BlockingConnection) -> None:
        config = self.config
        channel = connection.channel()
        declare_marketplace_topology(channel, config.topology)
        channel.basic_qos(prefetch_count=config.prefetch)
        dead_letters = connection.channel()
        dead_letters.confirm_delivery()
        inbox: deque[Delivery] = deque()

        def on_message(
            _channel: BlockingChannel,
            method: Basic.Deliver,
            properties: BasicProperties,
            body: bytes,
        ) -> None:
            invariant(method.delivery_tag is not None, "a delivery without a delivery tag")
            inbox.append(
                Delivery(
                    tag=method.delivery_tag or 0,
                    exchange=method.exchange or "",
                    routing_key=method.routing_key or "",
                    properties=properties,
                    body=body,
                )
            )

        consumer_tag = channel.basic_consume(config.topology.queue, on_message, auto_ack=False)
        log.info(
            "amqp.consuming", queue=config.topology.queue, url=redact_url(config.amqp_url),
            prefetch=config.prefetch, batch_size=config.batch_size,
            batch_wait_ms=config.batch_wait_ms,
        )  # fmt: skip
        while not self._stop.is_set():
            batch = self._collect(connection, inbox)
            if batch:
                self._settle(connection, channel, dead_letters, batch)
        channel.basic_cancel(consumer_tag)
        log.info("amqp.stopped", **self.report.as_dict())

    def _collect(self, connection: BlockingConnection, inbox: deque[Delivery]) -> list[Delivery]:
        """Up to `batch_size` deliveries: wait for the first, then at most `batch_wait_ms` more."""
        while not inbox and not self._stop.is_set():
            connection.process_data_events(time_limit=idle_poll_s)
        deadline = time.monotonic() + self.config.batch_wait_ms / 1000
        while len(inbox) < self.config.batch_size and not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            connection.process_data_events(time_limit=min(remaining, idle_poll_s))
        return [inbox.popleft() for _ in range(min(self.config.batch_size, len(inbox)))]

    def _settle(
        self,
        connection: BlockingConnection,
        channel: BlockingChannel,
        dead_letters: BlockingChannel,
        batch: Sequence[Delivery],
    ) -> None:
        """Dead-letter what cannot be stored, hand the rest to the handler, then acknowledge."""
        invariant(
            all(a.tag < b.tag for a, b in itertools.pairwise(batch)),
            "deliveries of a batch are in delivery-tag order",
        )
        self.report.batches += 1
        events: list[tuple[Delivery, dict[str, Any]]] = []
        for delivery in batch:
            try:
                events.append((delivery, read_marketplace_message(delivery.body)))
            except InvalidInput as error:
                self._dead_letter(
                    channel, dead_letters, delivery, code=error.code, detail=error.detail
                )
        if events:
            self._handle_batch(connection, channel, dead_letters, events)

    def _handle_batch(
        self,
        connection: BlockingConnection,
        channel: BlockingChannel,
        dead_letters: BlockingChannel,
        events: Sequence[tuple[Delivery, dict[str, Any]]],
    ) -> None:
        try:
            outcomes = self._handler([event for _, event in events])
        except Exception as error:
            if is_transient_failure(error):
                self._requeue_after_backoff(connection, channel, [d for d, _ in events], error)
            else:  # find the event that fails on its own, and keep the others
                log.warning("amqp.batch_failed", error=repr(error), events=len(events))
                self._handle_one_by_one(connection, channel, dead_letters, events)
            return
        invariant(len(outcomes) == len(events), "the handler answers once per event")
        if all(outcome.event_id is not None for outcome in outcomes):
            # every earlier delivery is settled, later ones are not in this batch: one ack for all
            channel.basic_ack(events[-1][0].tag, multiple=True)
            self._count(outcomes)
            return
        for (delivery, _), outcome in zip(events, outcomes, strict=True):
            self._settle_outcome(channel, dead_letters, delivery, outcome)

    def _handle_one_by_one(
        self,
        connection: BlockingConnection,
        channel: BlockingChannel,
        dead_letters: BlockingChannel,
        events: Sequence[tuple[Delivery, dict[str, Any]]],
    ) -> None:
        for index, (delivery, event) in enumerate(events):
            try:
                outcomes = self._handler([event])
            except Exception as error:
                if is_transient_failure(error):
                    rest = [d for d, _ in events[index:]]
                    self._requeue_after_backoff(connection, channel, rest, error)
                    return
                log.exception("amqp.event_failed", message_id=delivery.properties.message_id)
                detail = f"{type(error).__name__}: {error}"
                self._dead_letter(
                    channel, dead_letters, delivery, code="handler_failed", detail=detail
                )
                continue
            invariant(len(outcomes) == 1, "the handler answers once per event")
            self._settle_outcome(channel, dead_letters, delivery, outcomes[0])

    def _settle_outcome(
        self,
        channel: BlockingChannel,
        dead_letters: BlockingChannel,
        delivery: Delivery,
        outcome: IngestOutcome,
    ) -> None:
        """Ack a stored event; dead-letter one the handler could not store."""
        if outcome.event_id is None:
            code, detail = outcome.reason_code or "unstorable", outcome.reason or "not stored"
            self._dead_letter(channel, dead_letters, delivery, code=code, detail=detail)
            return
        channel.basic_ack(delivery.tag)
        self._count([outcome])

    def _count(self, outcomes: Sequence[IngestOutcome]) -> None:
        self._failures_in_a_row = 0
        self.report.messages += len(outcomes)
        self.report.by_status.update(str(outcome.status) for outcome in outcomes)

    def _requeue_after_backoff(
        self,
        connection: BlockingConnection,
        channel: BlockingChannel,
        deliveries: Sequence[Delivery],
        error: BaseException,
    ) -> None:
        """Wait (keeping the connection alive), then hand `deliveries` back to the queue."""
        self._failures_in_a_row += 1
        delay_s = redelivery_backoff_s(self._failures_in_a_row, jitter=self._rng.random())
        log.warning(
            "amqp.handler_unavailable", error=repr(error), messages=len(deliveries),
            retry_in_s=round(delay_s, 3), failures_in_a_row=self._failures_in_a_row,
        )  # fmt: skip
        resume_at = time.monotonic() + delay_s
        while not self._stop.is_set() and (left := resume_at - time.monotonic()) > 0:
            connection.sleep(min(left, idle_poll_s))
        for delivery in deliveries:
            channel.basic_nack(delivery.tag, requeue=True)
        self.report.requeued += len(deliveries)

    def _dead_letter(
        self,
        channel: BlockingChannel,
        dead_letters: BlockingChannel,
        delivery: Delivery,
        *,
        code: str,
        detail: str,
    ) -> None:
        """Publish a copy with its reason to the dead-letter exchange (confirmed), then ack the
        original. If that copy is refused, reject the original without requeue: the queue's
        `x-dead-letter-exchange` still keeps it (with the broker's `x-death` header only)."""
        original = delivery.properties
        properties = BasicProperties(
            content_type=original.content_type,
            content_encoding=original.content_encoding,
            delivery_mode=pika.DeliveryMode.Persistent,
            message_id=original.message_id,
            type=original.type,
            timestamp=original.timestamp,
            app_id=original.app_id,
            headers=dead_letter_headers(
                original=original.headers,
                code=code,
                detail=detail,
                exchange=delivery.exchange,
                routing_key=delivery.routing_key,
                now=self._clock.now(),
            ),
        )
        log.warning("amqp.dead_lettered", reason=code, detail=detail[:200], tag=delivery.tag)
        self.report.dead_lettered[code] += 1
        try:
            dead_letters.basic_publish(
                self.config.topology.dead_letter_exchange, delivery.routing_key, delivery.body,
                properties, mandatory=True,
            )  # fmt: skip
        except (pika.exceptions.UnroutableError, pika.exceptions.NackError):
            channel.basic_nack(delivery.tag, requeue=False)
            return
        channel.basic_ack(delivery.tag)
