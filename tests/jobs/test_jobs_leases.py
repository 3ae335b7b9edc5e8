"""Leases with fencing tokens on SQLite and PostgreSQL: of holders racing for a lease one wins,
an expired lease is taken over with a greater token, and a stale holder's writes are refused."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Connection

from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.jobs.leases import (
    LeaseLost,
    acquire_lease,
    fenced_run,
    read_lease,
    release_lease,
    renew_lease,
)
from sellerpay.jobs.rules import LeaseRecord, grant_lease, holds

TTL = timedelta(seconds=30)
RACERS = 8


def lease_name() -> str:
    return f"test:{uuid.uuid4().hex}"


def test_of_holders_racing_for_a_free_lease_exactly_one_wins(
    db: Database, clock: FixedClock
) -> None:
    for _ in range(5):  # several races, each on a lease nobody took before
        name = lease_name()
        barrier = threading.Barrier(RACERS)
        won: list[int] = []
        errors: list[BaseException] = []

        def race(
            name: str = name,
            barrier: threading.Barrier = barrier,
            won: list[int] = won,
            errors: list[BaseException] = errors,
        ) -> None:
            try:
                barrier.wait()
                lease = acquire_lease(db, name, ttl=TTL, clock=clock)
                if lease is not None:
                    won.append(lease.fencing_token)
            except BaseException as error:  # reported below: a thread's error fails the test
                errors.append(error)

        threads = [threading.Thread(target=race) for _ in range(RACERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert errors == []
        assert won == [1]


def test_a_held_lease_is_refused_until_it_expires_then_taken_over_with_a_greater_token(
    db: Database, clock: FixedClock
) -> None:
    name = lease_name()
    first = acquire_lease(db, name, ttl=TTL, clock=clock, holder="worker-a")
    assert first is not None and first.fencing_token == 1

    clock.advance(TTL - timedelta(seconds=1))
    assert acquire_lease(db, name, ttl=TTL, clock=clock, holder="worker-b") is None

    clock.advance(timedelta(seconds=1))  # worker-a's lease ends: it died, or is too slow
    second = acquire_lease(db, name, ttl=TTL, clock=clock, holder="worker-b")

    assert second is not None and second.fencing_token == 2
    assert read_lease(db, name) == LeaseRecord("worker-b", 2, clock.now() + TTL)


def test_a_stale_holder_can_no_longer_write_renew_or_release_once_taken_over(
    db: Database, clock: FixedClock
) -> None:
    name = lease_name()
    stale = acquire_lease(db, name, ttl=TTL, clock=clock, holder="worker-a")
    assert stale is not None
    clock.advance(TTL * 2)
    current = acquire_lease(db, name, ttl=TTL, clock=clock, holder="worker-b")
    assert current is not None
    writes: list[str] = []

    def write(_conn: Connection, who: str) -> str:
        writes.append(who)
        return who

    with pytest.raises(LeaseLost) as refused:
        fenced_run(db, stale, lambda conn: write(conn, "worker-a"), clock=clock)
    assert refused.value.code == "lease_lost"
    assert refused.value.context["current_token"] == 2
    with pytest.raises(LeaseLost):
        renew_lease(db, stale, ttl=TTL, clock=clock)
    assert release_lease(db, stale, clock=clock) is False

    assert fenced_run(db, current, lambda conn: write(conn, "worker-b"), clock=clock) == "worker-b"
    assert writes == ["worker-b"]
    assert read_lease(db, name) == LeaseRecord("worker-b", 2, clock.now() + TTL)


def test_a_holder_past_its_lease_is_refused_even_before_anyone_took_it_over(
    db: Database, clock: FixedClock
) -> None:
    lease = acquire_lease(db, lease_name(), ttl=TTL, clock=clock)
    assert lease is not None
    clock.advance(TTL)

    with pytest.raises(LeaseLost):
        fenced_run(db, lease, lambda _conn: None, clock=clock)


def test_a_renewed_lease_keeps_its_token_and_a_released_one_is_free_at_once(
    db: Database, clock: FixedClock
) -> None:
    name = lease_name()
    lease = acquire_lease(db, name, ttl=TTL, clock=clock)
    assert lease is not None
    clock.advance(TTL - timedelta(seconds=5))
    renewed = renew_lease(db, lease, ttl=TTL, clock=clock)
    clock.advance(timedelta(seconds=10))  # past the first end, within the renewed one
    assert renewed.fencing_token == 1
    assert acquire_lease(db, name, ttl=TTL, clock=clock) is None

    assert release_lease(db, renewed, clock=clock) is True
    again = acquire_lease(db, name, ttl=TTL, clock=clock)

    assert again is not None and again.fencing_token == 2


# --- the rule, for every history --------------------------------------------------------------

T0 = datetime(2026, 1, 5, tzinfo=UTC)
steps = st.lists(
    st.tuples(st.integers(min_value=0, max_value=120), st.sampled_from(["take", "release"])),
    max_size=40,
)


@given(steps)
def test_grants_never_overlap_and_tokens_only_grow(history: list[tuple[int, str]]) -> None:
    record: LeaseRecord | None = None
    now = T0
    tokens: list[int] = []
    for seconds, action in history:
        now += timedelta(seconds=seconds)
        if action == "release" and record is not None:
            record = LeaseRecord(None, record.fencing_token, now)
            continue
        held_before = record is not None and holds(
            record, fencing_token=record.fencing_token, now=now
        )
        grant = grant_lease(record, now=now, ttl=TTL)
        assert (grant is None) == held_before  # refused exactly while someone holds it
        if grant is not None:
            tokens.append(grant.fencing_token)
            record = LeaseRecord(f"holder-{len(tokens)}", grant.fencing_token, grant.expires_at)
    assert tokens == list(range(1, len(tokens) + 1))


def test_a_lease_has_a_bounded_duration() -> None:
    with pytest.raises(ValueError, match="a lease lasts"):
        grant_lease(None, now=T0, ttl=timedelta(0))
