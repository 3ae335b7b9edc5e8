"""Fund release and refunds around it: pending funds become available once due, once; refunds
come out of pending, then available, which may go negative and is recovered by later
releases; the job runs safely twice at once, from the scheduler and from the command line."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from settlement_builders import (
    T0,
    delivered,
    dispute_opened,
    give_plan,
    open_seller,
    paid,
    platform_balances,
    refunded,
    seller_balances,
    send,
    statuses,
    unique,
)
from typer.testing import CliRunner

from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.jobs.scheduler import JOBS, run_scheduler
from sellerpay.ledger.service import verify_ledger
from sellerpay.settings import get_settings
from sellerpay.settlement import service
from sellerpay.settlement.rules import RefundPolicy

NET = 8_770  # of a 100.00 EUR phone order: 12 % commission and the 0.30 fixed fee


def released_ids(report: service.ReleaseReport) -> set[str]:
    return {order.order_id for order in report.released}


def test_funds_become_available_the_holding_period_after_delivery_and_not_before(
    db: Database, clock: FixedClock, seller: str
) -> None:
    order_id = unique("ord")
    send(db, clock, paid(order_id, seller), delivered(order_id, T0 + timedelta(days=1)))

    clock.set(T0 + timedelta(days=8) - timedelta(seconds=1))  # standard tier: 7 days
    early = service.release_due_funds(db, clock=clock)
    clock.set(T0 + timedelta(days=8))
    due = service.release_due_funds(db, clock=clock)
    again = service.release_due_funds(db, clock=clock)

    assert order_id not in released_ids(early)
    assert order_id in released_ids(due)
    assert order_id not in released_ids(again)
    assert seller_balances(db, seller).pending == 0
    assert seller_balances(db, seller).available == NET
    order = service.get_order(db, order_id).order
    assert (order.released_at, order.released_minor, order.pending_minor) == (clock.now(), NET, 0)


def test_an_order_never_delivered_is_released_after_the_cap_from_payment(
    db: Database, clock: FixedClock, seller: str
) -> None:
    order_id = unique("ord")
    send(db, clock, paid(order_id, seller))

    clock.set(T0 + timedelta(days=30))
    report = service.release_due_funds(db, clock=clock)

    assert order_id in released_ids(report)
    assert seller_balances(db, seller).available == NET


def test_a_refund_before_release_comes_out_of_pending_with_its_share_of_commission(
    db: Database, clock: FixedClock, seller: str
) -> None:
    order_id = unique("ord")
    send(db, clock, paid(order_id, seller))
    before = platform_balances(db)

    (result,) = send(db, clock, refunded(order_id, "r1", amount_minor=5_000))

    assert result.status.value == "applied"
    # half the order refunded: half the fee (1 230 → 615) is given back by the platform
    assert seller_balances(db, seller).pending == NET - (5_000 - 615)
    after = platform_balances(db)
    assert after["platform:revenue:commission"] - before["platform:revenue:commission"] == -615
    assert after["platform:psp_clearing"] - before["platform:psp_clearing"] == -5_000
    assert after["platform:refunds_payable"] == before["platform:refunds_payable"]  # executed
    (refund,) = service.get_order(db, order_id).refunds
    assert (refund.seller_minor, refund.platform_minor) == (4_385, 615)
    assert (refund.from_pending_minor, refund.from_available_minor) == (4_385, 0)


def test_a_full_refund_after_release_takes_back_what_was_released(
    db: Database, clock: FixedClock, seller: str
) -> None:
    order_id = unique("ord")
    send(db, clock, paid(order_id, seller))
    clock.set(T0 + timedelta(days=30))
    service.release_due_funds(db, clock=clock)

    send(db, clock, refunded(order_id, "r1", lines={"l1": 10_000}))

    assert seller_balances(db, seller).available == 0
    order = service.get_order(db, order_id).order
    assert (order.status, order.refunded_minor, order.fee_returned_minor) == (
        "refunded",
        10_000,
        1_230,
    )


def test_a_refund_after_release_may_leave_available_negative_recovered_by_the_next_release(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    seller = open_seller(db, clock, seller_id, refund_policy=RefundPolicy.RETAIN)
    first, second = unique("ord"), unique("ord")
    send(db, clock, paid(first, seller))
    clock.set(T0 + timedelta(days=30))
    service.release_due_funds(db, clock=clock)

    send(db, clock, refunded(first, "r1", amount_minor=10_000))  # the platform keeps its fee
    assert seller_balances(db, seller).available == NET - 10_000  # -12.30: to recover

    send(db, clock, paid(second, seller, paid_at=clock.now()))
    clock.advance(timedelta(days=30))
    service.release_due_funds(db, clock=clock)

    assert seller_balances(db, seller).available == NET - 10_000 + NET
    assert seller_balances(db, seller).pending == 0


def test_a_refund_takes_what_the_order_still_has_pending_then_the_rest_from_available(
    db: Database, clock: FixedClock, seller: str
) -> None:
    order_id = unique("ord")
    send(db, clock, paid(order_id, seller), dispute_opened(unique("dp"), order_id, 8_000))
    assert seller_balances(db, seller).pending == NET - 8_000  # 770 left pending

    send(db, clock, refunded(order_id, "r1", amount_minor=5_000))

    (refund,) = service.get_order(db, order_id).refunds
    assert (refund.from_pending_minor, refund.from_available_minor) == (770, 4_385 - 770)
    balances = seller_balances(db, seller)
    assert (balances.pending, balances.available, balances.dispute_hold) == (0, -3_615, 8_000)
    assert service.get_order(db, order_id).order.pending_minor == 0


def test_an_order_fully_refunded_before_release_releases_nothing_and_is_done(
    db: Database, clock: FixedClock, seller: str
) -> None:
    order_id = unique("ord")
    send(db, clock, paid(order_id, seller), refunded(order_id, "r1", amount_minor=10_000))
    clock.set(T0 + timedelta(days=30))

    report = service.release_due_funds(db, clock=clock)

    (mine,) = [o for o in report.released if o.order_id == order_id]
    assert mine.amount.amount_minor == 0
    assert seller_balances(db, seller) == seller_balances(db, seller).__class__(0, 0, 0)


def test_two_release_runs_at_once_release_each_order_exactly_once(
    fresh_db: Database, clock: FixedClock, seller_id: str
) -> None:
    db = fresh_db
    seller = open_seller(db, clock, seller_id)
    orders = [unique("ord") for _ in range(40)]
    send(db, clock, *(paid(order_id, seller) for order_id in orders))
    clock.set(T0 + timedelta(days=31))
    barrier = threading.Barrier(2)
    reports: list[service.ReleaseReport] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            reports.append(service.release_due_funds(db, clock=clock))
        except BaseException as error:  # reported below: a thread's error must fail the test
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    released = [order.order_id for report in reports for order in report.released]
    assert sorted(released) == sorted(orders)  # each once, by one run or the other
    assert seller_balances(db, seller).available == 40 * NET
    assert verify_ledger(db).ok


def test_the_scheduler_retries_parked_events_then_releases_due_funds(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    order_id = unique("ord")
    send(db, clock, paid(order_id, seller_id))  # parked: the seller does not exist yet
    open_seller(db, clock, seller_id)
    clock.set(T0 + timedelta(days=30))
    stop = threading.Event()

    def stop_after_one_round(_db: Database, _clock: object) -> int:
        stop.set()
        return 0

    rounds = run_scheduler(db, clock, stop, 0.01, (*JOBS, ("stop", stop_after_one_round)))

    assert rounds == 1
    assert seller_balances(db, seller_id).available == NET


def test_a_failing_job_does_not_stop_the_others(db: Database, clock: FixedClock) -> None:
    from sellerpay.jobs.scheduler import run_round

    def broken(_db: Database, _clock: object) -> int:
        raise RuntimeError("down")

    report = run_round(db, clock, (("broken", broken), *JOBS))

    assert set(report.done) == {"retry-parked", "release"}
    assert "down" in report.failed["broken"]


@pytest.fixture
def cli_env(fresh_db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    monkeypatch.setenv(
        "SELLERPAY_DATABASE_URL", fresh_db.engine.url.render_as_string(hide_password=False)
    )
    get_settings.cache_clear()
    yield fresh_db
    get_settings.cache_clear()


def test_the_release_command_releases_due_funds_and_prints_what_it_released(
    cli_env: Database, seller_id: str
) -> None:
    from sellerpay.cli.jobs import app

    db = cli_env
    long_ago = FixedClock(datetime(2020, 3, 1, tzinfo=UTC))
    seller = open_seller(db, long_ago, seller_id, with_plan=False)
    give_plan(db, long_ago, seller, effective_from=long_ago.now() - timedelta(days=1))
    order_id = unique("ord")
    assert statuses(send(db, long_ago, paid(order_id, seller, paid_at=long_ago.now()))) == [
        "applied"
    ]

    released = CliRunner().invoke(app, ["run", "release"])
    nothing = CliRunner().invoke(app, ["run", "release"])

    assert released.exit_code == 0, released.output
    assert order_id in released.output and "87.70" in released.output
    assert "released the funds of 1 orders" in released.output
    assert nothing.exit_code == 0 and "nothing was due" in nothing.output
    assert seller_balances(db, seller).available == NET


def test_the_retry_parked_command_applies_what_can_now_be_applied(
    cli_env: Database, seller_id: str
) -> None:
    from sellerpay.cli.jobs import app

    db = cli_env
    clock = FixedClock(T0)
    order_id = unique("ord")
    send(db, clock, paid(order_id, seller_id))
    empty = CliRunner().invoke(app, ["run", "retry-parked"])
    open_seller(db, clock, seller_id)

    retried = CliRunner().invoke(app, ["run", "retry-parked"])

    assert empty.exit_code == 0 and "nothing they wait for exists yet" in empty.output
    assert retried.exit_code == 0, retried.output
    assert "1 applied" in retried.output
    assert service.get_order(db, order_id).order.net_minor == NET
