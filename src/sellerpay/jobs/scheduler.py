"""The in-process scheduler of embedded mode: runs the periodic jobs of money in (fund release,
parked event retries) every `interval_s` until told to stop; every job is idempotent and safe to
run twice.

Every task of Sellerpay (payout runs in chunks, bank submission, bank reports, webhooks,
rescreening…) is in `sellerpay.jobs.tasks`: `jobs.embedded.EmbeddedWorkers` runs them all in
worker threads with a per-task period, and `jobs.celery_app` runs the same functions on Celery
workers with beat (distributed mode). `embedded_job` turns one of them into a `Job` of this
scheduler.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import structlog

from sellerpay.clock import Clock
from sellerpay.db import Database
from sellerpay.settings import Settings, get_settings
from sellerpay.settlement.service import release_due_funds, retry_parked

log = structlog.get_logger(__name__)

interval_s_min: Final = 0.01
Job = Callable[[Database, Clock], int]


def release_job(db: Database, clock: Clock) -> int:
    """Release the funds of every due order; returns how many orders were released."""
    return len(release_due_funds(db, clock=clock).released)


def retry_parked_job(db: Database, clock: Clock) -> int:
    """Retry the parked events whose dependency now exists; returns how many were retried."""
    return len(retry_parked(db, clock=clock))


JOBS: Final[tuple[tuple[str, Job], ...]] = (
    ("retry-parked", retry_parked_job),  # first: a parked payment applied now is released below
    ("release", release_job),
)


@dataclass(frozen=True, slots=True)
class RoundReport:
    """What one round did: per job, the count it returned, or the error that stopped it."""

    done: dict[str, int]
    failed: dict[str, str]


def run_round(db: Database, clock: Clock, jobs: Sequence[tuple[str, Job]] = JOBS) -> RoundReport:
    """Run each job once. A failing job is logged and does not stop the others."""
    done: dict[str, int] = {}
    failed: dict[str, str] = {}
    for name, job in jobs:
        try:
            done[name] = job(db, clock)
        except Exception as error:
            log.exception("scheduler.job_failed", job=name)
            failed[name] = repr(error)
    if any(done.values()) or failed:
        log.info("scheduler.round", done=done, failed=failed)
    return RoundReport(done, failed)


def run_scheduler(
    db: Database,
    clock: Clock,
    stop_event: threading.Event,
    interval_s: float,
    jobs: Sequence[tuple[str, Job]] = JOBS,
) -> int:
    """Run the jobs every `interval_s` seconds until `stop_event` is set; returns the rounds run.

    Stopping takes effect at the latest one interval later, never in the middle of a job.
    """
    if interval_s < interval_s_min:
        raise ValueError(f"interval_s must be at least {interval_s_min}")
    rounds = 0
    while not stop_event.is_set():
        run_round(db, clock, jobs)
        rounds += 1
        stop_event.wait(interval_s)
    return rounds


def embedded_job(name: str, settings: Settings | None = None) -> Job:
    """The task `name` of `jobs.tasks` as a `Job` of this scheduler: run in the scheduler's
    thread, under its lease, counted in the job statistics. A task that sends work to others
    (`payout-run`) runs it in the same thread, one chunk after the other."""
    from sellerpay.jobs.context import JobContext
    from sellerpay.jobs.tasks import TASKS, run_task

    if name not in TASKS:
        raise ValueError(f"unknown task {name}")

    def job(db: Database, clock: Clock) -> int:
        context = JobContext(db, clock, settings or get_settings(), dispatch=lambda _n, _p: None)

        def inline(task: str, params: Mapping[str, Any]) -> None:
            run_task(task, context, params)

        context.dispatch = inline
        try:
            return run_task(name, context)
        finally:
            context.close()

    return job


def start_scheduler(
    db: Database,
    clock: Clock,
    *,
    interval_s: float,
    jobs: Sequence[tuple[str, Job]] = JOBS,
) -> tuple[threading.Thread, threading.Event]:
    """Run the scheduler in a daemon thread (embedded mode); set the event to stop it."""
    stop_event = threading.Event()
    thread = threading.Thread(
        target=run_scheduler,
        args=(db, clock, stop_event, interval_s, jobs),
        name="sellerpay-scheduler",
        daemon=True,
    )
    thread.start()
    return thread, stop_event
