"""The RabbitMQ door's pure decisions: which messages the handler can store, how long to back
off, which failures are transient, and the limits of the consumer's settings."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.exc import IntegrityError, OperationalError

from sellerpay.errors import Conflict, InvalidInput, LimitExceeded, Unavailable
from sellerpay.events.broker import (
    HEADER_REASON,
    HEADER_REASON_CODE,
    ConsumerConfig,
    MarketplaceTopology,
    backoff_base_s,
    backoff_cap_s,
    dead_letter_headers,
    event_id_length_max,
    is_transient_failure,
    message_bytes_max,
    read_marketplace_message,
    reason_length_max,
    redact_url,
    redelivery_backoff_s,
)

URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
event_ids = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Co", "Cn")),
    min_size=1,
    max_size=event_id_length_max,
).filter(str.isprintable)


def code_of(body: bytes) -> str:
    with pytest.raises(InvalidInput) as refused:
        read_marketplace_message(body)
    return refused.value.code


# --- which messages the handler can store ---------------------------------------------------


@given(event_id=event_ids, rest=st.dictionaries(st.text(max_size=10), json_values, max_size=5))
def test_any_json_object_with_a_printable_id_is_handed_over_unchanged(
    event_id: str, rest: dict[str, Any]
) -> None:
    event = {**rest, "id": event_id}

    assert read_marketplace_message(json.dumps(event).encode()) == event


def test_an_order_paid_event_is_read_as_the_marketplace_sent_it() -> None:
    event = {
        "id": "evt_1",
        "type": "order.paid",
        "occurred_at": "2026-11-25T10:00:00Z",
        "data": {"order_id": "ord_1", "lines": [{"line_id": "l1", "amount": "19.99"}]},
    }

    assert read_marketplace_message(json.dumps(event).encode("utf-8")) == event


@given(st.binary(max_size=200))
def test_bytes_that_are_not_json_are_refused_as_not_json(body: bytes) -> None:
    try:
        json.loads(body)
    except (ValueError, RecursionError):
        assert code_of(body) == "not_json"


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"\xff\xfe\x00garbage", b"{'id': 'single quotes'}", b'{"id": "evt_1"} trailing'],
)
def test_malformed_messages_are_not_json(body: bytes) -> None:
    assert code_of(body) == "not_json"


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_javascript_constants_are_not_json(constant: bytes) -> None:
    assert code_of(b'{"id": "evt_1", "amount": ' + constant + b"}") == "not_json"


@pytest.mark.parametrize("body", [b"[]", b'[{"id": "evt_1"}]', b'"evt_1"', b"42", b"null", b"true"])
def test_json_that_is_not_an_object_is_not_an_event(body: bytes) -> None:
    assert code_of(body) == "not_an_event_object"


@pytest.mark.parametrize("body", [b"{}", b'{"type": "order.paid"}', b'{"id": null}'])
def test_an_event_without_an_id_cannot_be_stored(body: bytes) -> None:
    assert code_of(body) == "event_id_missing"


@pytest.mark.parametrize(
    "event_id",
    [
        "",
        "x" * (event_id_length_max + 1),
        "evt\n1",
        "evt\x001",
        42,
        4.2,
        ["evt_1"],
        {"id": 1},
        True,
    ],
)
def test_an_id_that_is_not_1_to_100_printable_characters_is_invalid(event_id: Any) -> None:
    assert (
        code_of(json.dumps({"id": event_id, "type": "order.paid"}).encode()) == "event_id_invalid"
    )


def test_an_id_of_exactly_100_characters_is_accepted() -> None:
    event = {"id": "e" * event_id_length_max}

    assert read_marketplace_message(json.dumps(event).encode()) == event


def test_a_message_over_one_mebibyte_is_too_large_whatever_it_holds() -> None:
    body = json.dumps({"id": "evt_1", "padding": "x" * message_bytes_max}).encode()

    with pytest.raises(LimitExceeded) as refused:
        read_marketplace_message(body)

    assert refused.value.code == "message_too_large"


def test_deeply_nested_json_is_refused_not_crashing_the_consumer() -> None:
    assert (
        code_of(b'{"id": "evt_1", "data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}") == "not_json"
    )


# --- backoff before handing a batch back ----------------------------------------------------


@given(attempt=st.integers(min_value=1, max_value=10_000), jitter=st.floats(0.0, 1.0))
def test_backoff_stays_between_half_its_ceiling_and_the_cap(attempt: int, jitter: float) -> None:
    ceiling = min(backoff_cap_s, backoff_base_s * 2 ** min(attempt - 1, 32))

    delay = redelivery_backoff_s(attempt, jitter=jitter)

    assert ceiling / 2 <= delay <= ceiling <= backoff_cap_s


@given(attempt=st.integers(min_value=1, max_value=60))
def test_backoff_never_shrinks_from_one_failure_to_the_next(attempt: int) -> None:
    assert redelivery_backoff_s(attempt + 1, jitter=0.0) >= redelivery_backoff_s(
        attempt, jitter=0.0
    )


def test_backoff_starts_small_and_reaches_the_cap() -> None:
    assert redelivery_backoff_s(1, jitter=1.0) == backoff_base_s
    assert redelivery_backoff_s(50, jitter=1.0) == backoff_cap_s


@pytest.mark.parametrize(("attempt", "jitter"), [(0, 0.5), (-1, 0.5), (1, -0.1), (1, 1.5)])
def test_backoff_refuses_attempts_below_one_and_jitter_outside_0_1(
    attempt: int, jitter: float
) -> None:
    with pytest.raises(ValueError):
        redelivery_backoff_s(attempt, jitter=jitter)


# --- which failures are worth handing the batch back for ------------------------------------


def test_database_down_is_transient() -> None:
    down = OperationalError("SELECT 1", {}, Exception("connection refused"))

    assert is_transient_failure(down)
    assert is_transient_failure(Unavailable("database unavailable", code="database_unavailable"))
    assert is_transient_failure(ConnectionRefusedError())
    assert is_transient_failure(TimeoutError())


def test_bugs_and_refusals_are_not_transient() -> None:
    assert not is_transient_failure(ValueError("a bug"))
    assert not is_transient_failure(Conflict("reused", code="event_id_reused"))
    assert not is_transient_failure(IntegrityError("INSERT", {}, Exception("NOT NULL")))


# --- dead-letter headers and settings -------------------------------------------------------


def test_dead_letter_headers_keep_the_original_headers_and_add_the_reason() -> None:
    headers = dead_letter_headers(
        original={"trace-id": "t-1"},
        code="not_json",
        detail="x" * (reason_length_max + 50),
        exchange="sellerpay.marketplace",
        routing_key="order.paid",
        now=datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
    )

    assert headers["trace-id"] == "t-1"
    assert headers[HEADER_REASON_CODE] == "not_json"
    assert len(headers[HEADER_REASON]) == reason_length_max
    assert headers["sellerpay-dead-lettered-at"] == "2026-11-25T10:00:00+00:00"
    assert headers["sellerpay-original-routing-key"] == "order.paid"


def test_the_dead_letter_names_follow_the_queue_and_exchange() -> None:
    topology = MarketplaceTopology()

    assert (topology.exchange, topology.queue) == (
        "sellerpay.marketplace",
        "sellerpay.marketplace-events",
    )
    assert topology.dead_letter_queue == "sellerpay.marketplace-events.dead"
    assert topology.dead_letter_exchange == "sellerpay.marketplace.dead"


@pytest.mark.parametrize(
    ("names", "code"),
    [
        ({"queue": ""}, "invalid_amqp_name"),
        ({"queue": "q" * 201}, "invalid_amqp_name"),
        ({"exchange": "has space"}, "invalid_amqp_name"),
        ({"exchange": "amq.topic"}, "reserved_name"),
        ({"queue": "amq.gen-1"}, "reserved_name"),
        ({"binding_key": ""}, "invalid_amqp_name"),
    ],
)
def test_bad_queue_and_exchange_names_are_refused(names: dict[str, str], code: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        MarketplaceTopology(**names)

    assert refused.value.code == code


@pytest.mark.parametrize(
    ("settings", "code"),
    [
        ({"prefetch": 0}, "invalid_prefetch"),
        ({"prefetch": 10_001}, "invalid_prefetch"),
        ({"batch_size": 0}, "invalid_batch_size"),
        ({"prefetch": 50, "batch_size": 51}, "invalid_batch_size"),
        ({"prefetch": 5_000, "batch_size": 1_001}, "invalid_batch_size"),
        ({"batch_wait_ms": -1}, "invalid_batch_wait"),
        ({"batch_wait_ms": 60_001}, "invalid_batch_wait"),
    ],
)
def test_consumer_settings_out_of_bounds_are_refused(settings: dict[str, int], code: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        ConsumerConfig(URL, **settings)

    assert refused.value.code == code


def test_a_batch_may_be_as_large_as_the_prefetch() -> None:
    config = ConsumerConfig(URL, prefetch=300, batch_size=300, batch_wait_ms=0)

    assert (config.prefetch, config.batch_size, config.batch_wait_ms) == (300, 300, 0)


def test_passwords_never_reach_the_logs() -> None:
    assert redact_url("amqp://svc:s3cret@broker:5672/%2F") == "amqp://svc:***@broker:5672/%2F"
    assert redact_url("amqp://broker/%2F") == "amqp://broker/%2F"
