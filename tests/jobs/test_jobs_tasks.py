"""The task functions on SQLite and PostgreSQL, run by the embedded runner and by hand: each is
idempotent (run twice, the second run does nothing), a payout run fans out in chunks and is
completed once, a scheduled task never runs twice at once, failures are counted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from jobs_builders import (
    KEYRING,
    T0,
    ReportingBank,
    assert_ledger_sound,
    available,
    balance,
    context,
    funded_seller,
    only,
    open_seller,
    paid,
    payouts_of,
    send,
    settings_with,
    unique,
)
from sqlalchemy import func, select

from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.events import models as events_models
from sellerpay.jobs import fanout, models
from sellerpay.jobs.embedded import EmbeddedWorkers
from sellerpay.jobs.leases import acquire_lease, read_lease
from sellerpay.jobs.scheduler import embedded_job, run_round
from sellerpay.jobs.stats import read_stats
from sellerpay.jobs.tasks import TASKS, run_task
from sellerpay.payouts import service
from sellerpay.payouts.rules import PayoutStatus

APPROVER = "key:k_approver (approver)"
SETTINGS = settings_with(payout_run_chunk_size=3)


def fund(db: Database, clock: FixedClock, count: int) -> list[str]:
    sellers = [unique("sel") for _ in range(count)]
    for number, seller in enumerate(sellers):
        funded_seller(db, clock, seller, available_minor=10_000 + number)
    return sellers


def outbox_count(db: Database, event_type: str) -> int:
    o = events_models.outbox.c
    with db.reading() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(events_models.outbox).where(o.type == event_type)
            ).scalar_one()
        )


def stat(db: Database, name: str) -> tuple[int, int]:
    found = {s.name: (s.runs, s.failures) for s in read_stats(db)}
    return found.get(name, (0, 0))


# --- payout runs in chunks ---------------------------------------------------------------------


def test_a_payout_run_fans_out_in_chunks_on_worker_threads_and_pays_each_seller_once(
    fresh_db: Database, clock: FixedClock
) -> None:
    db = fresh_db
    sellers = fund(db, clock, 7)
    day = clock.now().date().isoformat()

    with EmbeddedWorkers(db, clock, SETTINGS, threads=3, keyring=KEYRING) as workers:
        sent = workers.run("payout-run", {"run_on": day})
        assert workers.wait_idle(timeout_s=120)
        again = workers.run("payout-run", {"run_on": day})
        assert workers.wait_idle(timeout_s=120)
        assert workers.failures() == []

    assert (sent, again) == (3, 0)  # 7 balances, 3 a chunk; the second run has nothing to do
    (plan,) = _plans(db)
    assert plan.completed_at is not None
    chunks = fanout.list_chunks(db, plan.run_id)
    assert [(c.status, c.attempts, len(c.balances)) for c in chunks] == [
        ("done", 1, 3), ("done", 1, 3), ("done", 1, 1)
    ]  # fmt: skip
    assert service.summarize_run(db, plan.run_id).status == "completed"
    for seller in sellers:
        assert len(payouts_of(db, seller)) == 1
        assert available(db, seller) == 0
    assert balance(db, "platform:payouts_in_transit", "EUR") == sum(10_000 + n for n in range(7))
    assert outbox_count(db, "payout_run.completed") == 1
    assert_ledger_sound(db)


def _plans(db: Database) -> list[fanout.PlannedRun]:
    r = models.job_payout_runs.c
    with db.reading() as conn:
        rows = conn.execute(select(models.job_payout_runs).order_by(r.planned_at)).all()
    return [
        fanout.PlannedRun(row.run_id, row.run_on, row.chunk_count, row.completed_at) for row in rows
    ]


def test_a_chunk_processed_twice_pays_nobody_twice_and_the_last_chunk_completes_the_run(
    fresh_db: Database, clock: FixedClock
) -> None:
    db = fresh_db
    sellers = fund(db, clock, 5)
    ctx, dispatched = context(db, clock, SETTINGS)

    assert run_task("payout-run", ctx, {"run_on": clock.now().date().isoformat()}) == 2
    assert [name for name, _ in dispatched.sent] == ["payout-run-chunk"] * 2
    first, second = (params for _, params in dispatched.sent)
    created = run_task("payout-run-chunk", ctx, first)
    replayed = run_task("payout-run-chunk", ctx, first)  # a redelivered message
    run_id = str(first["run_id"])
    assert service.summarize_run(db, run_id).status == "running"  # one chunk is left

    last = run_task("payout-run-chunk", ctx, second)

    assert (created, replayed, last) == (3, 0, 2)
    assert [c.attempts for c in fanout.list_chunks(db, run_id)] == [1, 1]  # done: not restarted
    assert service.summarize_run(db, run_id).payout_count == 5
    assert [len(payouts_of(db, s)) for s in sellers] == [1] * 5
    assert outbox_count(db, "payout_run.completed") == 1
    assert_ledger_sound(db)


def test_a_chunk_whose_message_was_lost_is_sent_again_only_after_its_time(
    fresh_db: Database, clock: FixedClock
) -> None:
    db = fresh_db
    fund(db, clock, 4)
    settings = settings_with(payout_run_chunk_size=3, payout_chunk_redispatch_after_s=600)
    ctx, dispatched = context(db, clock, settings)
    day = {"run_on": clock.now().date().isoformat()}

    assert run_task("payout-run", ctx, day) == 2
    clock.advance(timedelta(seconds=599))
    assert run_task("payout-run", ctx, day) == 0  # in flight: not sent twice
    clock.advance(timedelta(seconds=1))
    assert run_task("payout-run", ctx, day) == 2  # taken for lost: sent again

    for _, params in dispatched.sent:  # every message is processed, the resent ones too
        run_task("payout-run-chunk", ctx, params)
    run_id = str(dispatched.sent[0][1]["run_id"])
    assert service.summarize_run(db, run_id).payout_count == 4
    assert run_task("payout-run", ctx, day) == 0
    assert_ledger_sound(db)


def test_the_scheduled_payout_run_starts_at_its_hour(fresh_db: Database, clock: FixedClock) -> None:
    db = fresh_db
    fund(db, clock, 2)
    ctx, dispatched = context(db, clock, settings_with(payout_run_hour_utc=6), inline=True)

    clock.set(T0.replace(hour=5, minute=59))
    assert run_task("payout-run", ctx) == 0
    assert _plans(db) == []
    clock.set(T0.replace(hour=6))
    assert run_task("payout-run", ctx) == 1

    (plan,) = _plans(db)
    assert plan.run_on == T0.date() and plan.completed_at is not None
    assert [name for name, _ in dispatched.sent] == ["payout-run-chunk"]


# --- the bank ----------------------------------------------------------------------------------


def test_submission_and_bank_reports_run_twice_send_once_and_apply_once(
    fresh_db: Database, clock: FixedClock
) -> None:
    db = fresh_db
    sellers = fund(db, clock, 3)
    bank = ReportingBank()
    ctx, _ = context(db, clock, SETTINGS, bank=bank, inline=True)
    run_task("payout-run", ctx, {"run_on": clock.now().date().isoformat()})
    for payout in payouts_of(db):
        service.approve_payout(db, payout.id, approver=APPROVER, clock=clock, keyring=KEYRING)

    assert run_task("submit-to-bank", ctx) == 3
    assert run_task("submit-to-bank", ctx) == 0
    assert len(bank.received) == 1 and set(bank.executed.values()) == {1}
    assert {p.status for p in payouts_of(db)} == {PayoutStatus.SUBMITTED}

    bank.report_settled(db, clock.now())
    assert run_task("import-bank-reports", ctx) == 1
    assert run_task("import-bank-reports", ctx) == 0
    assert run_task("resolve-submissions", ctx) == 0  # nothing unknown

    assert {only(payouts_of(db, s)).status for s in sellers} == {PayoutStatus.PAID}
    assert balance(db, "platform:payouts_in_transit", "EUR") == 0
    f = models.job_inbound_files.c
    with db.reading() as conn:
        (row,) = conn.execute(select(f.content, f.imported_at, f.outcome, f.attempts)).all()
    assert row.content is None and row.imported_at is not None  # not kept once imported
    assert row.outcome.startswith("pain.002") and row.attempts == 1
    assert stat(db, "bank:send") == (1, 0) and stat(db, "bank:collect") == (2, 0)
    assert_ledger_sound(db)


def test_a_file_the_bank_sent_that_nobody_can_read_is_kept_with_its_reason_not_retried(
    fresh_db: Database, clock: FixedClock
) -> None:
    db = fresh_db
    bank = ReportingBank()
    bank.reports.append(service_file := _garbage())
    ctx, _ = context(db, clock, SETTINGS, bank=bank)

    assert run_task("import-bank-reports", ctx) == 0
    assert run_task("import-bank-reports", ctx) == 0

    f = models.job_inbound_files.c
    with db.reading() as conn:
        (row,) = conn.execute(select(f.filename, f.imported_at, f.outcome, f.attempts)).all()
    assert row.filename == service_file.filename and row.imported_at is None
    assert row.attempts == 1 and row.outcome  # its reason, for an operator


def _garbage() -> object:
    from sellerpay.payouts.banking import InboundFile

    return InboundFile("mystery.bin", b"\x00\x01 not a bank file at all")


def test_without_a_bank_connection_the_bank_tasks_do_nothing(
    fresh_db: Database, clock: FixedClock
) -> None:
    ctx, _ = context(fresh_db, clock, settings_with(bank_url=""))

    assert [run_task(n, ctx) for n in ("submit-to-bank", "resolve-submissions")] == [0, 0]
    assert run_task("import-bank-reports", ctx) == 0


# --- money in and events -----------------------------------------------------------------------


def test_release_and_parked_event_tasks_run_twice_apply_once(
    db: Database, clock: FixedClock
) -> None:
    ctx, _ = context(db, clock, SETTINGS)
    parked_seller, seller = unique("sel"), open_seller(db, clock, unique("sel"))
    send(db, clock, paid(unique("ord"), seller), paid(unique("ord"), parked_seller))
    clock.advance(timedelta(days=30))

    assert run_task("release-due-funds", ctx) >= 1
    assert run_task("release-due-funds", ctx) == 0
    open_seller(db, clock, parked_seller)
    assert run_task("retry-parked-events", ctx) >= 1
    assert run_task("retry-parked-events", ctx) == 0
    assert available(db, seller) > 0


def test_the_outbox_relay_and_webhook_tasks_run_twice_do_nothing_the_second_time(
    fresh_db: Database, clock: FixedClock
) -> None:
    db = fresh_db
    fund(db, clock, 2)  # sellers and bank accounts record events
    ctx, _ = context(db, clock, SETTINGS)

    assert run_task("relay-outbox", ctx) > 0
    assert run_task("relay-outbox", ctx) == 0
    assert run_task("deliver-webhooks", ctx) == 0  # no endpoint subscribed


# --- how tasks are run -------------------------------------------------------------------------


def test_a_scheduled_task_whose_lease_is_held_elsewhere_does_nothing(
    db: Database, clock: FixedClock
) -> None:
    ctx, _ = context(db, clock, SETTINGS)
    seller = open_seller(db, clock, unique("sel"))
    send(db, clock, paid(unique("ord"), seller))
    clock.advance(timedelta(days=30))
    spec = TASKS["release-due-funds"]
    other = acquire_lease(db, "job:release-due-funds", ttl=spec.lease_ttl(), clock=clock)
    assert other is not None  # another worker is releasing right now

    assert run_task("release-due-funds", ctx) == 0
    assert available(db, seller) == 0

    clock.advance(spec.lease_ttl())  # that worker died: its lease ends, the next run works
    assert run_task("release-due-funds", ctx) >= 1
    assert available(db, seller) > 0
    lease = read_lease(db, "job:release-due-funds")
    assert lease is not None and lease.holder is None
    assert lease.fencing_token == other.fencing_token + 1  # taken over, then given back


def test_a_failing_task_is_counted_raised_and_releases_its_lease(
    db: Database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx, _ = context(db, clock, SETTINGS)
    runs_before, failures_before = stat(db, "job:rescreen-sellers")

    def down(_db: Database, _clock: object) -> int:
        raise RuntimeError("sanctions list store down")

    monkeypatch.setattr("sellerpay.jobs.tasks.rescreen_job", down)
    with pytest.raises(RuntimeError, match="store down"):
        run_task("rescreen-sellers", ctx)

    assert stat(db, "job:rescreen-sellers") == (runs_before + 1, failures_before + 1)
    (failed,) = [s for s in read_stats(db) if s.name == "job:rescreen-sellers"]
    assert failed.last_error is not None and "store down" in failed.last_error
    lease = read_lease(db, "job:rescreen-sellers")
    assert lease is not None and lease.holder is None  # the next run need not wait


def test_the_embedded_scheduler_sends_each_task_when_its_period_has_passed(
    db: Database, clock: FixedClock
) -> None:
    tasks = ["relay-outbox", "release-due-funds"]
    with EmbeddedWorkers(db, clock, SETTINGS, threads=2, tasks=tasks, keyring=KEYRING) as workers:
        first = workers.tick()
        assert workers.wait_idle(timeout_s=60)
        same_moment = workers.tick()
        clock.advance(timedelta(seconds=2))
        relay_due = workers.tick()
        assert workers.wait_idle(timeout_s=60)
        clock.advance(timedelta(seconds=60))
        both_due = workers.tick()
        assert workers.wait_idle(timeout_s=60)

    assert (first, same_moment, relay_due) == (tasks, [], ["relay-outbox"])
    assert both_due == tasks


def test_a_task_of_jobs_runs_as_a_job_of_the_in_process_scheduler(
    fresh_db: Database, clock: FixedClock
) -> None:
    db = fresh_db
    sellers = fund(db, clock, 4)
    report = run_round(db, clock, (("payout-run", embedded_job("payout-run", SETTINGS)),))

    assert report.failed == {} and report.done == {"payout-run": 2}
    assert [len(payouts_of(db, s)) for s in sellers] == [1] * 4
    (plan,) = _plans(db)
    assert plan.completed_at is not None
