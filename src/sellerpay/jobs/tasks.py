"""The task functions of Sellerpay, and `TASKS`, what a runner needs to know about each.

Every task is a plain function taking the database, the clock and the settings (plus what it
talks to), returning how many things it did. The embedded runner (`jobs.embedded`) calls them
in threads; the distributed mode (`jobs.celery_app`) calls the very same functions as Celery
tasks. Each one is idempotent and safe to kill half-way: run again, it finishes the work and
repeats none of it.

    task                    queue          every     what it calls
    release-due-funds       jobs           60 s      settlement.release_due_funds
    retry-parked-events     jobs           60 s      settlement.retry_parked
    payout-run              jobs           10 min    payouts.start_run, then one
                                                     payout-run-chunk per chunk (jobs.fanout)
    payout-run-chunk        payout-chunks  (sent)    payouts.process_run_chunk, then
                                                     payouts.complete_run after the last chunk
    submit-to-bank          bank           60 s      payouts.submit_due
    resolve-submissions     bank           5 min     payouts.resolve_submissions
    import-bank-reports     bank           60 s      bank.collect → jobs.inbox → payouts /
                                                     reconciliation imports
    relay-outbox            events         2 s       events.relay_outbox (to the broker too,
                                                     in distributed mode)
    deliver-webhooks        events         2 s       events.deliver_due
    rescreen-sellers        jobs           6 h       screening.rescreen

`run_task` wraps every call the same way in both modes: log context, the lease of a scheduled
task (so that it never runs twice at once across workers; a run that finds the lease held does
nothing), timing and failure counts for /metrics.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

import httpx
import structlog

from sellerpay.clock import Clock
from sellerpay.crypto import KeyRing
from sellerpay.db import Database
from sellerpay.events.service import EventPublisher, deliver_due, relay_outbox
from sellerpay.jobs import fanout, inbox, stats
from sellerpay.jobs.context import Dispatch, JobContext
from sellerpay.jobs.leases import (
    Lease,
    LeaseLost,
    acquire_lease,
    release_lease,
    this_worker,
)
from sellerpay.onboarding import service as onboarding_service
from sellerpay.payouts import service as payouts
from sellerpay.payouts.banking import BankConnection
from sellerpay.screening.service import rescreen_job
from sellerpay.settings import Settings
from sellerpay.settlement.service import release_due_funds as release_funds_due
from sellerpay.settlement.service import retry_parked

log = structlog.get_logger(__name__)

relay_batch_size: Final = 100
relay_batches_max: Final = 50  # then the next run goes on: a task never loops for ever
delivery_batch_size: Final = 50
delivery_batches_max: Final = 20
completion_lease_ttl: Final = timedelta(minutes=2)
sending_stale_after: Final = timedelta(minutes=15)
"""A bank file still "sending" this long is taken for one whose sender died; well above the
bank call's time-out (30 s) and submit-to-bank's hard time limit (10 min)."""


# --- the task functions ---------------------------------------------------------------------


def release_due_funds(db: Database, clock: Clock, settings: Settings) -> int:
    """Release the funds of every due order (pending → available); how many orders."""
    return len(release_funds_due(db, clock=clock).released)


def retry_parked_events(db: Database, clock: Clock, settings: Settings) -> int:
    """Retry the parked events whose dependency now exists; how many were retried."""
    return len(retry_parked(db, clock=clock))


def payout_run(
    db: Database,
    clock: Clock,
    settings: Settings,
    *,
    lease: Lease,
    dispatch: Dispatch,
    run_on: date | None = None,
) -> int:
    """Start the day's payout run once its hour has come (or the run of `run_on`, now), plan
    it in chunks, and send every chunk not done yet — of this run and of any earlier run left
    incomplete — to the workers. Returns how many chunks were sent.

    Idempotent: the run of a day is created once (its run key), planned once (fenced by the
    lease), and a chunk is sent again only when its message is taken for lost.
    """
    now = clock.now()
    if run_on is not None or now.hour >= settings.payout_run_hour_utc:
        day = run_on or now.date()
        run = payouts.start_run(db, run_on=day, clock=clock, requested_by="system:payout-run")
        if run.status != "completed" and fanout.get_plan(db, run.run_id) is None:
            policy = payouts.PayoutPolicy.from_settings(settings)
            planned = fanout.plan_run(
                db,
                lease,
                run_id=run.run_id,
                run_on=day,
                chunk_size=policy.chunk_size,
                chunks=payouts.run_chunks(db, chunk_size=policy.chunk_size),
                clock=clock,
            )
            log.info("jobs.payout_run_planned", run_id=run.run_id, chunks=planned.chunk_count)
    sent = 0
    for plan in fanout.incomplete_runs(db):
        sent += _push_run(db, clock, settings, plan, dispatch=dispatch)
    return sent


def _push_run(
    db: Database, clock: Clock, settings: Settings, plan: fanout.PlannedRun, *, dispatch: Dispatch
) -> int:
    """Send the run's chunks that are due to be sent; complete the run if none is left."""
    if fanout.pending_count(db, plan.run_id) == 0:
        complete_if_done(db, clock, settings, run_id=plan.run_id)
        return 0
    due = fanout.dispatchable(
        db,
        plan.run_id,
        now=clock.now(),
        redispatch_after=timedelta(seconds=settings.payout_chunk_redispatch_after_s),
    )
    sent: list[int] = []
    try:
        for chunk_no in due:
            dispatch("payout-run-chunk", {"run_id": plan.run_id, "chunk_no": chunk_no})
            sent.append(chunk_no)
    finally:  # what was sent is remembered even if the broker failed half-way
        fanout.mark_dispatched(db, plan.run_id, sent, clock=clock)
    if sent:
        log.info("jobs.payout_chunks_sent", run_id=plan.run_id, chunks=len(sent))
    return len(sent)


def payout_run_chunk(
    db: Database,
    clock: Clock,
    settings: Settings,
    *,
    run_id: str,
    chunk_no: int,
    keyring: KeyRing,
    holder: str,
) -> int:
    """Decide and create the payouts of one chunk; complete the run after its last chunk.
    Returns how many payouts this attempt created (0 when an earlier attempt had)."""
    with structlog.contextvars.bound_contextvars(run_id=run_id, chunk_no=chunk_no):
        chunk = fanout.start_chunk(db, run_id, chunk_no, holder=holder, clock=clock)
        plan = fanout.get_plan(db, run_id)
        if chunk.status == "done" or plan is None:
            complete_if_done(db, clock, settings, run_id=run_id)
            return 0
        report = payouts.process_run_chunk(
            db,
            run_id,
            list(chunk.balances),
            run_on=plan.run_on,
            clock=clock,
            keyring=keyring,
            policy=payouts.PayoutPolicy.from_settings(settings),
        )
        fanout.finish_chunk(
            db,
            run_id,
            chunk_no,
            payouts=report.payouts,
            skips=report.skips,
            already_done=report.already_done,
            clock=clock,
        )
        log.info(
            "jobs.payout_chunk_done",
            attempt=chunk.attempts,
            payouts=report.payouts,
            skips=report.skips,
            already_done=report.already_done,
        )
        complete_if_done(db, clock, settings, run_id=run_id)
        return report.payouts


def complete_if_done(db: Database, clock: Clock, settings: Settings, *, run_id: str) -> bool:
    """Complete the run once no chunk is pending; True if this call saw it completed.

    Every chunk calls this after its own commit, so the last one always sees zero pending; a
    short lease makes one of two last chunks finishing together do it, and the run's status
    is read first, so the completion (and its event) is written once.
    """
    if fanout.pending_count(db, run_id) > 0:
        return False
    lease = acquire_lease(
        db, f"payout-run-complete:{run_id}", ttl=completion_lease_ttl, clock=clock
    )
    if lease is None:
        return False
    try:
        if payouts.summarize_run(db, run_id).status != "completed":
            report = payouts.complete_run(db, run_id, clock=clock)
            log.info(
                "jobs.payout_run_completed",
                run_id=run_id,
                payouts=report.payout_count,
                skips=report.skip_count,
            )
        fanout.mark_completed(db, lease, run_id, clock=clock)
    finally:
        release_lease(db, lease, clock=clock)
    return True


def submit_to_bank(
    db: Database,
    clock: Clock,
    settings: Settings,
    *,
    bank: BankConnection | None,
    keyring: KeyRing,
) -> int:
    """Write the bank files of approved payouts that are due and send each at most once;
    how many payouts were sent. Without a bank connection (no bank_url) it does nothing."""
    if bank is None:
        log.debug("jobs.no_bank_connection", task="submit-to-bank")
        return 0
    report = payouts.submit_due(
        db,
        bank=bank,
        clock=clock,
        keyring=keyring,
        originators=payouts.originators(settings),
    )
    return report.payouts_sent


def resolve_submissions(
    db: Database, clock: Clock, settings: Settings, *, bank: BankConnection | None
) -> int:
    """Ask the bank about files whose outcome is unknown; how many were settled or re-armed."""
    if bank is None:
        log.debug("jobs.no_bank_connection", task="resolve-submissions")
        return 0
    outcome = payouts.resolve_submissions(
        db, bank=bank, clock=clock, stale_after=sending_stale_after
    )
    return sum(outcome.values())


def import_bank_reports(
    db: Database,
    clock: Clock,
    settings: Settings,
    *,
    bank: BankConnection | None,
    keyring: KeyRing,
) -> int:
    """Collect the bank's files into the inbox, then import what waits there; how many files
    were imported. Files kept from an earlier run are imported even without a bank."""
    if bank is not None:
        inbox.store_collected(db, bank.collect(), keyring=keyring, clock=clock)
    imported, _unreadable = inbox.import_waiting(
        db, keyring=keyring, clock=clock, bank_account=settings.platform_bank_account
    )
    return imported


def relay_outbox_events(
    db: Database, clock: Clock, settings: Settings, *, publisher: EventPublisher | None
) -> int:
    """Relay the outbox to webhook deliveries (and the broker, when given) until it is empty
    or `relay_batches_max` batches were relayed; how many events."""
    total = 0
    for _ in range(relay_batches_max):
        relayed = relay_outbox(db, clock=clock, batch_size=relay_batch_size, publisher=publisher)
        total += relayed
        if relayed < relay_batch_size:
            break
    return total


def deliver_webhooks(db: Database, clock: Clock, settings: Settings, *, http: httpx.Client) -> int:
    """Post due webhook deliveries until none is due or `delivery_batches_max` batches were
    claimed; how many deliveries were attempted."""
    total = 0
    for _ in range(delivery_batches_max):
        claimed = deliver_due(db, clock=clock, http=http, limit=delivery_batch_size).claimed
        total += claimed
        if claimed < delivery_batch_size:
            break
    return total


def rescreen_sellers(db: Database, clock: Clock, settings: Settings) -> int:
    """Screen new and changed sellers (and everyone against changed list entries); how many
    potential matches were opened for review."""
    return rescreen_job(db, clock)


def poll_verifications(db: Database, clock: Clock, settings: Settings) -> int:
    """Collect the identity/company verification provider's answers (and submit what waits);
    how many sellers' verifications moved."""
    report = onboarding_service.poll_verifications(db, clock.now())
    return report.submitted + report.verified + report.sent_to_review


def onboarding_housekeeping(db: Database, clock: Clock, settings: Settings) -> int:
    """Announce requirements that just went past due, purge documents past retention."""
    now = clock.now()
    return onboarding_service.announce_past_due(
        db, now=now
    ) + onboarding_service.purge_expired_documents(db, now=now)


# --- what the runners know of each task -----------------------------------------------------

Call = Callable[[JobContext, Mapping[str, Any], Lease | None], int]


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """A task as both runners see it.

    `period_s`: how often the scheduler (beat, or the embedded scheduler) sends it; None for a
    task only other tasks send. `exclusive`: it runs under the lease `job:<name>`, so two
    workers never run it at once. Time limits: the soft one raises inside the task (its unit
    of work rolls back), the hard one kills the worker process (its message is delivered
    again). A lease lasts the hard limit and a margin, so it cannot end while its holder runs.
    """

    name: str
    queue: str
    call: Call
    period_s: float | None
    soft_time_limit_s: int
    time_limit_s: int
    exclusive: bool
    retries_max: int = 5

    def lease_ttl(self) -> timedelta:
        return timedelta(seconds=self.time_limit_s + 30)


def _run_on(params: Mapping[str, Any]) -> date | None:
    """`run_on` as a message carries it (an ISO date), or as a caller in-process passes it."""
    value = params.get("run_on")
    return date.fromisoformat(value) if isinstance(value, str) else value


def _require(lease: Lease | None) -> Lease:
    if lease is None:  # pragma: no cover - exclusive tasks always get their lease
        raise ValueError("this task runs under its lease")
    return lease


TASKS: Final[Mapping[str, TaskSpec]] = {
    spec.name: spec
    for spec in (
        TaskSpec(
            "release-due-funds", "jobs",
            lambda c, p, _l: release_due_funds(c.db, c.clock, c.settings),
            period_s=60, soft_time_limit_s=540, time_limit_s=600, exclusive=True,
        ),
        TaskSpec(
            "retry-parked-events", "jobs",
            lambda c, p, _l: retry_parked_events(c.db, c.clock, c.settings),
            period_s=60, soft_time_limit_s=540, time_limit_s=600, exclusive=True,
        ),
        TaskSpec(
            "payout-run", "jobs",
            lambda c, p, lease: payout_run(
                c.db, c.clock, c.settings, lease=_require(lease), dispatch=c.dispatch,
                run_on=_run_on(p),
            ),
            period_s=600, soft_time_limit_s=540, time_limit_s=600, exclusive=True,
        ),
        TaskSpec(
            "payout-run-chunk", "payout-chunks",
            lambda c, p, _l: payout_run_chunk(
                c.db, c.clock, c.settings, run_id=str(p["run_id"]),
                chunk_no=int(p["chunk_no"]), keyring=c.keyring(), holder=this_worker(),
            ),
            period_s=None, soft_time_limit_s=840, time_limit_s=900, exclusive=False,
        ),
        TaskSpec(
            "submit-to-bank", "bank",
            lambda c, p, _l: submit_to_bank(
                c.db, c.clock, c.settings, bank=c.bank(), keyring=c.keyring()
            ),
            period_s=60, soft_time_limit_s=540, time_limit_s=600, exclusive=True,
        ),
        TaskSpec(
            "resolve-submissions", "bank",
            lambda c, p, _l: resolve_submissions(c.db, c.clock, c.settings, bank=c.bank()),
            period_s=300, soft_time_limit_s=540, time_limit_s=600, exclusive=True,
        ),
        TaskSpec(
            "import-bank-reports", "bank",
            lambda c, p, _l: import_bank_reports(
                c.db, c.clock, c.settings, bank=c.bank(), keyring=c.keyring()
            ),
            period_s=60, soft_time_limit_s=540, time_limit_s=600, exclusive=True,
        ),
        TaskSpec(
            "relay-outbox", "events",
            lambda c, p, _l: relay_outbox_events(
                c.db, c.clock, c.settings, publisher=c.publisher()
            ),
            period_s=2, soft_time_limit_s=110, time_limit_s=120, exclusive=True,
        ),
        TaskSpec(
            "deliver-webhooks", "events",
            lambda c, p, _l: deliver_webhooks(c.db, c.clock, c.settings, http=c.http()),
            period_s=2, soft_time_limit_s=280, time_limit_s=300, exclusive=True,
        ),
        TaskSpec(
            "poll-verifications", "jobs",
            lambda c, p, _l: poll_verifications(c.db, c.clock, c.settings),
            period_s=60, soft_time_limit_s=540, time_limit_s=600, exclusive=True,
        ),
        TaskSpec(
            "onboarding-housekeeping", "jobs",
            lambda c, p, _l: onboarding_housekeeping(c.db, c.clock, c.settings),
            period_s=3600, soft_time_limit_s=1700, time_limit_s=1800, exclusive=True,
        ),
        TaskSpec(
            "rescreen-sellers", "jobs",
            lambda c, p, _l: rescreen_sellers(c.db, c.clock, c.settings),
            period_s=6 * 3600, soft_time_limit_s=3300, time_limit_s=3600, exclusive=True,
        ),
    )
}  # fmt: skip
QUEUES: Final = ("jobs", "payout-chunks", "bank", "events")


def run_task(name: str, context: JobContext, params: Mapping[str, Any] | None = None) -> int:
    """Run the task `name` once, as both runners do: under its lease if it is exclusive (a
    lease held elsewhere means another worker is on it: nothing to do, returns 0), timed and
    counted in the job statistics, errors logged and raised to the runner."""
    spec = TASKS[name]
    values = dict(params or {})
    db, clock = context.db, context.clock
    with structlog.contextvars.bound_contextvars(job=name):
        lease = None
        if spec.exclusive:
            lease = acquire_lease(db, f"job:{name}", ttl=spec.lease_ttl(), clock=clock)
            if lease is None:
                log.debug("jobs.lease_held_elsewhere")
                return 0
        started, started_at = time.perf_counter(), clock.now()
        try:
            done = spec.call(context, values, lease)
        except LeaseLost:
            log.warning("jobs.lease_lost", exc_info=True)
            _measure(context, name, started, started_at, error="lease_lost")
            raise
        except Exception as error:
            log.exception("jobs.task_failed")
            _measure(context, name, started, started_at, error=f"{type(error).__name__}: {error}")
            raise
        finally:
            if lease is not None:
                _release_quietly(context, lease)
        _measure(context, name, started, started_at, error=None)
        if done:
            log.info("jobs.task_done", done=done, seconds=round(time.perf_counter() - started, 3))
        return done


def _release_quietly(context: JobContext, lease: Lease) -> None:
    """Give the lease back; if that fails, it simply ends at its time."""
    try:
        release_lease(context.db, lease, clock=context.clock)
    except Exception:
        log.warning("jobs.lease_not_released", lease=lease.name, exc_info=True)


def _measure(
    context: JobContext, name: str, started: float, started_at: datetime, *, error: str | None
) -> None:
    stats.record(
        context.db,
        f"job:{name}",
        seconds=time.perf_counter() - started,
        failed=error is not None,
        started_at=started_at,
        clock=context.clock,
        error=error,
    )
