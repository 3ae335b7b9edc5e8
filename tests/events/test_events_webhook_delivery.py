"""Webhook deliveries to a real receiver on 127.0.0.1, on SQLite and PostgreSQL: signed as the
docs say, retried on the backoff schedule (a fixed clock moves time), never lost, never sent to
a disabled endpoint, and never sent twice at once by two deliverers."""

from __future__ import annotations

import json
import random
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from webhook_receiver import SILENT, Receiver, closed_port_url, running_receiver

from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.errors import LimitExceeded
from sellerpay.events.rules import parse_signature_header, retry_delay_ceiling_s, verify_signature
from sellerpay.events.service import (
    Delivery,
    Event,
    _claim_due,
    create_webhook_endpoint,
    deliver_due,
    disable_webhook_endpoint,
    list_deliveries,
    record_event,
    relay_outbox,
    retry_delivery,
    rotate_webhook_secret,
    run_event_loop,
    update_webhook_endpoint,
)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


@pytest.fixture
def receiver(clock: FixedClock) -> Iterator[Receiver]:
    with running_receiver() as running:
        running.now = clock.now
        yield running


def subscribe(db: Database, clock: FixedClock, receiver: Receiver, *patterns: str) -> str:
    endpoint, secret = create_webhook_endpoint(
        db,
        url=receiver.url,
        event_types=list(patterns or ["funds.released"]),
        allow_http=True,
        clock=clock,
    )
    receiver.secret = secret
    return endpoint.id


def happened(db: Database, clock: FixedClock, event_type: str = "funds.released") -> Event:
    """A state change's event, recorded and relayed."""
    with db.transaction() as conn:
        event = record_event(
            conn,
            type=event_type,
            subject=f"ord_{uuid.uuid4().hex[:8]}",
            data={"amount": {"amount_minor": 8800, "currency": "EUR"}},
            now=clock.now(),
        )
    while relay_outbox(db, clock=clock):
        pass
    return event


def only_delivery(db: Database, endpoint_id: str) -> Delivery:
    (delivery,) = list_deliveries(db, endpoint_id).deliveries
    return delivery


def deliver(db: Database, clock: FixedClock, http: httpx.Client, **options: Any) -> Any:
    return deliver_due(db, clock=clock, http=http, rng=random.Random(42), **options)


def test_an_event_is_posted_once_signed_with_its_envelope_and_headers(
    fresh_db: Database, clock: FixedClock, receiver: Receiver, http: httpx.Client
) -> None:
    endpoint_id = subscribe(fresh_db, clock, receiver, "funds.released")
    event = happened(fresh_db, clock)

    report = deliver(fresh_db, clock, http)

    assert (report.claimed, report.succeeded, report.retrying, report.failed) == (1, 1, 0, 0)
    (request,) = receiver.received
    assert request.verified
    assert request.path == "/hooks/sellerpay"
    assert json.loads(request.body) == event.envelope()
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "Sellerpay-Webhooks/1"
    assert request.headers["sellerpay-event-id"] == str(event.id)
    assert request.headers["sellerpay-event-type"] == "funds.released"
    delivery = only_delivery(fresh_db, endpoint_id)
    assert delivery.status == "succeeded" and delivery.next_attempt_at is None
    assert [(a.number, a.status_code, a.outcome) for a in delivery.attempt_log] == [
        (1, 200, "succeeded")
    ]
    assert deliver(fresh_db, clock, http).claimed == 0


def test_a_failing_receiver_is_retried_on_the_backoff_schedule_until_it_takes_the_event(
    fresh_db: Database, clock: FixedClock, receiver: Receiver, http: httpx.Client
) -> None:
    endpoint_id = subscribe(fresh_db, clock, receiver)
    receiver.answers = [500, 503, 500]  # then 200
    event = happened(fresh_db, clock)

    for attempt in (1, 2, 3):
        assert deliver(fresh_db, clock, http).retrying == 1
        due = only_delivery(fresh_db, endpoint_id).next_attempt_at
        assert due is not None
        wait = due - clock.now()
        assert timedelta(seconds=1) <= wait <= timedelta(seconds=retry_delay_ceiling_s(attempt))
        clock.set(due - timedelta(milliseconds=1))
        assert deliver(fresh_db, clock, http).claimed == 0  # not due yet: nothing is sent
        clock.set(due)
    assert deliver(fresh_db, clock, http).succeeded == 1

    assert receiver.event_ids() == [str(event.id)] * 4
    assert all(r.verified for r in receiver.received)
    assert len({r.body for r in receiver.received}) == 1  # the same event, byte for byte
    delivery = only_delivery(fresh_db, endpoint_id)
    assert delivery.status == "succeeded"
    assert [a.status_code for a in delivery.attempt_log] == [500, 503, 500, 200]
    assert delivery.attempt_log[0].error == "HTTP 500: receiver says no"


def test_a_receiver_that_never_answers_times_out_and_gets_the_event_on_a_retry(
    fresh_db: Database, clock: FixedClock, receiver: Receiver, http: httpx.Client
) -> None:
    endpoint_id = subscribe(fresh_db, clock, receiver)
    receiver.answers = [SILENT]
    happened(fresh_db, clock)

    assert deliver(fresh_db, clock, http, timeout_s=0.3).retrying == 1

    (timed_out,) = only_delivery(fresh_db, endpoint_id).attempt_log
    assert (timed_out.status_code, timed_out.outcome) == (None, "failed")
    assert timed_out.error == "no answer within 0.3 s"
    receiver.release.set()
    clock.advance(timedelta(hours=1))
    assert deliver(fresh_db, clock, http, timeout_s=0.3).succeeded == 1


def test_a_refused_connection_and_a_redirect_are_failed_attempts(
    fresh_db: Database, clock: FixedClock, receiver: Receiver, http: httpx.Client
) -> None:
    moved = subscribe(fresh_db, clock, receiver)
    receiver.default = 302  # redirects are not followed: the event did not arrive
    nobody, _ = create_webhook_endpoint(
        fresh_db,
        url=closed_port_url(),
        event_types=["funds.released"],
        allow_http=True,
        clock=clock,
    )
    happened(fresh_db, clock)

    assert deliver(fresh_db, clock, http).retrying == 2

    (redirected,) = only_delivery(fresh_db, moved).attempt_log
    assert redirected.status_code == 302 and redirected.error == "HTTP 302: receiver says no"
    (refused,) = only_delivery(fresh_db, nobody.id).attempt_log
    assert refused.status_code is None
    assert refused.error is not None and refused.error.startswith("ConnectError")


def test_after_72_hours_of_failures_the_delivery_fails_is_kept_and_can_be_retried_by_hand(
    fresh_db: Database, clock: FixedClock, receiver: Receiver, http: httpx.Client
) -> None:
    endpoint_id = subscribe(fresh_db, clock, receiver)
    receiver.default = 500
    event = happened(fresh_db, clock)
    deadline = event.created_at + timedelta(hours=72)

    while (delivery := only_delivery(fresh_db, endpoint_id)).status == "pending":
        assert delivery.next_attempt_at is not None and delivery.next_attempt_at <= deadline
        clock.set(delivery.next_attempt_at)
        deliver(fresh_db, clock, http)

    assert delivery.status == "failed" and delivery.completed_at == deadline
    times = [a.attempted_at for a in delivery.attempt_log]
    assert times == sorted(times) and times[-1] == deadline  # the last try is at the horizon
    assert 10 <= len(times) <= 80
    clock.advance(timedelta(days=3))
    assert deliver(fresh_db, clock, http).claimed == 0  # failed for good: no more tries

    retried = retry_delivery(fresh_db, endpoint_id, delivery.id, clock=clock)
    assert (retried.status, retried.next_attempt_at) == ("pending", clock.now())
    assert retried.deadline_at == clock.now() + timedelta(hours=72)
    receiver.default = 200
    assert deliver(fresh_db, clock, http).succeeded == 1
    assert set(receiver.event_ids()) == {str(event.id)}  # never lost, never another event
    assert len(receiver.received) == len(times) + 1


def test_an_endpoint_disabled_mid_way_gets_nothing_more_while_others_carry_on(
    fresh_db: Database, clock: FixedClock, receiver: Receiver, http: httpx.Client
) -> None:
    with running_receiver() as other:
        other.now = clock.now
        flaky = subscribe(fresh_db, clock, receiver)
        steady = subscribe(fresh_db, clock, other)
        receiver.answers = [500]
        first = happened(fresh_db, clock)
        assert deliver(fresh_db, clock, http).succeeded == 1
        disable_webhook_endpoint(fresh_db, flaky, clock=clock)

        clock.advance(timedelta(hours=1))
        second = happened(fresh_db, clock)
        assert deliver(fresh_db, clock, http).succeeded == 1

        assert receiver.event_ids() == [str(first.id)]  # only the attempt before disabling
        assert other.event_ids() == [str(first.id), str(second.id)]
        assert [d.event_id for d in list_deliveries(fresh_db, flaky).deliveries] == [first.id]
        update_webhook_endpoint(fresh_db, flaky, enabled=True, allow_http=True, clock=clock)
        assert deliver(fresh_db, clock, http).succeeded == 1  # the pending one resumes
        assert receiver.event_ids() == [str(first.id)] * 2
        steady_log = list_deliveries(fresh_db, steady).deliveries
        assert {d.event_id: d.status for d in steady_log} == {
            first.id: "succeeded",
            second.id: "succeeded",
        }


def test_after_a_rotation_requests_carry_both_signatures_for_24_hours(
    fresh_db: Database, clock: FixedClock, receiver: Receiver, http: httpx.Client
) -> None:
    endpoint_id = subscribe(fresh_db, clock, receiver)
    old_secret = receiver.secret  # the receiver has not switched yet
    _, new_secret = rotate_webhook_secret(fresh_db, endpoint_id, clock=clock)
    happened(fresh_db, clock)
    deliver(fresh_db, clock, http)
    clock.advance(timedelta(hours=24))
    happened(fresh_db, clock)
    deliver(fresh_db, clock, http)

    during, after = receiver.received
    assert during.verified and not after.verified  # old secret: accepted, then no more
    parsed = parse_signature_header(during.headers["sellerpay-signature"])
    assert parsed is not None and len(parsed[1]) == 2
    parsed = parse_signature_header(after.headers["sellerpay-signature"])
    assert parsed is not None and len(parsed[1]) == 1
    for request in (during, after):
        header = request.headers["sellerpay-signature"]
        at = clock.now() if request is after else clock.now() - timedelta(hours=24)
        assert verify_signature(new_secret, header, request.body, now=at)
    assert new_secret != old_secret and new_secret.startswith("whsec_")


def test_a_deliverer_that_dies_after_claiming_loses_nothing(
    fresh_db: Database, clock: FixedClock, receiver: Receiver, http: httpx.Client
) -> None:
    endpoint_id = subscribe(fresh_db, clock, receiver)
    event = happened(fresh_db, clock)
    claimed = fresh_db.run(
        lambda conn: _claim_due(conn, now=clock.now(), limit=10, timeout_s=10)
    )  # … and the process is killed before sending
    assert len(claimed) == 1

    assert deliver(fresh_db, clock, http).claimed == 0  # still someone else's, for the lease
    clock.advance(timedelta(seconds=71))
    assert deliver(fresh_db, clock, http).succeeded == 1

    assert receiver.event_ids() == [str(event.id)]
    delivery = only_delivery(fresh_db, endpoint_id)
    assert delivery.attempts == 2 and [a.number for a in delivery.attempt_log] == [2]


def test_two_deliverers_at_once_never_send_the_same_attempt_twice(
    fresh_db: Database, clock: FixedClock, receiver: Receiver
) -> None:
    subscribe(fresh_db, clock, receiver, "order.recorded")
    events = [happened(fresh_db, clock, "order.recorded") for _ in range(40)]
    failures: list[BaseException] = []

    def deliverer() -> None:
        try:
            with httpx.Client() as client:
                while deliver_due(fresh_db, clock=clock, http=client, limit=5).claimed:
                    pass
        except BaseException as error:  # reported below, not lost in the thread
            failures.append(error)

    threads = [threading.Thread(target=deliverer) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert failures == []
    assert sorted(receiver.event_ids()) == sorted(str(e.id) for e in events)


def test_the_embedded_event_loop_relays_and_delivers_until_stopped(
    fresh_db: Database, clock: FixedClock, receiver: Receiver
) -> None:
    subscribe(fresh_db, clock, receiver, "seller.created")
    stop = threading.Event()
    loop = threading.Thread(target=run_event_loop, args=(fresh_db, clock, stop, 0.02))
    loop.start()
    try:
        with fresh_db.transaction() as conn:
            event = record_event(
                conn, type="seller.created", subject="sel_1", data={}, now=clock.now()
            )
        for _ in range(500):  # wait for the loop's next pass (at most ~10 s)
            if receiver.received:
                break
            stop.wait(0.02)
    finally:
        stop.set()
        loop.join(10)

    assert not loop.is_alive()
    assert receiver.event_ids() == [str(event.id)]


@pytest.mark.parametrize("limit", [0, 201])
def test_a_delivery_pass_is_bounded(
    db: Database, clock: FixedClock, http: httpx.Client, limit: int
) -> None:
    with pytest.raises(LimitExceeded) as refused:
        deliver_due(db, clock=clock, http=http, limit=limit)
    assert refused.value.code == "limit_max"
