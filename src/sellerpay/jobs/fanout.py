"""A payout run fanned out to workers: planned once into chunks, one task per chunk, completed
once every chunk is done (a counter in the database, no Celery chord and no result backend).

    plan_run      every non-zero seller balance, `chunk_size` at a time, written in one unit of
                  work (under the payout run's lease, fenced): a run is planned whole or not
    dispatchable  chunks still pending that were never sent, or were sent so long ago that
                  their message is taken for lost
    start_chunk   count an attempt and name its worker (committed before the work starts, so
                  a worker killed mid-chunk is seen)
    finish_chunk  mark it done, once
    pending_count how many chunks are not done; zero means the run may be completed

The payouts themselves are `payouts.service.process_run_chunk`'s: idempotent per run, seller
and currency, so a chunk processed twice (a redelivered message, a resent chunk) pays nobody
twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, func, select, update

from sellerpay.clock import Clock
from sellerpay.db import Database
from sellerpay.errors import NotFound
from sellerpay.jobs import models
from sellerpay.jobs.leases import Lease, fenced_run
from sellerpay.jobs.rules import dispatch_is_stale

chunks_per_run_max: Final = 100_000
_r = models.job_payout_runs.c
_c = models.job_payout_chunks.c


@dataclass(frozen=True, slots=True)
class PlannedRun:
    """A payout run as the workers share it."""

    run_id: str
    run_on: date
    chunk_count: int
    completed_at: datetime | None


@dataclass(frozen=True, slots=True)
class Chunk:
    """One chunk: the balances (seller id, currency) it decides, and how far it got."""

    run_id: str
    chunk_no: int
    balances: tuple[tuple[str, str], ...]
    status: str
    attempts: int
    holder: str | None


def _planned(row: Any) -> PlannedRun:
    return PlannedRun(row.run_id, row.run_on, row.chunk_count, row.completed_at)


def get_plan(db: Database, run_id: str) -> PlannedRun | None:
    """The plan of `run_id`, or None if it was not planned yet."""
    with db.reading() as conn:
        row = conn.execute(select(models.job_payout_runs).where(_r.run_id == run_id)).first()
    return None if row is None else _planned(row)


def plan_run(
    db: Database,
    lease: Lease,
    *,
    run_id: str,
    run_on: date,
    chunk_size: int,
    chunks: Iterable[Sequence[tuple[str, str]]],
    clock: Clock,
) -> PlannedRun:
    """Write the plan and every chunk in one unit of work, unless the run is planned already.

    Fenced by the payout run's lease: a planner that lost its lease writes nothing.
    """
    rows = [
        {
            "run_id": run_id,
            "chunk_no": number,
            "balances": [list(key) for key in balances],
            "balance_count": len(balances),
            "status": "pending",
            "attempts": 0,
            "payouts": 0,
            "skips": 0,
            "already_done": 0,
        }
        for number, balances in enumerate(chunks)
    ]
    if len(rows) > chunks_per_run_max:
        raise ValueError(f"a payout run has at most {chunks_per_run_max} chunks")

    def work(conn: Connection) -> PlannedRun:
        existing = conn.execute(select(models.job_payout_runs).where(_r.run_id == run_id)).first()
        if existing is not None:
            return _planned(existing)
        conn.execute(
            models.job_payout_runs.insert().values(
                run_id=run_id,
                run_on=run_on,
                chunk_size=chunk_size,
                chunk_count=len(rows),
                planned_at=clock.now(),
                completed_at=None,
            )
        )
        if rows:
            conn.execute(models.job_payout_chunks.insert(), rows)
        return PlannedRun(run_id, run_on, len(rows), None)

    return fenced_run(db, lease, work, clock=clock)


def incomplete_runs(db: Database) -> list[PlannedRun]:
    """Planned runs not marked completed yet, oldest first."""
    with db.reading() as conn:
        rows = conn.execute(
            select(models.job_payout_runs)
            .where(_r.completed_at.is_(None))
            .order_by(_r.planned_at, _r.run_id)
        ).all()
    return [_planned(row) for row in rows]


def dispatchable(
    db: Database, run_id: str, *, now: datetime, redispatch_after: timedelta
) -> list[int]:
    """The pending chunks of `run_id` to send to the workers now (see `dispatch_is_stale`)."""
    with db.reading() as conn:
        rows = conn.execute(
            select(_c.chunk_no, _c.dispatched_at)
            .where(_c.run_id == run_id, _c.status == "pending")
            .order_by(_c.chunk_no)
        ).all()
    return [
        row.chunk_no
        for row in rows
        if dispatch_is_stale(row.dispatched_at, now=now, redispatch_after=redispatch_after)
    ]


def mark_dispatched(db: Database, run_id: str, chunk_nos: Sequence[int], *, clock: Clock) -> None:
    """Remember when these chunks were sent, so they are not sent again before it is due."""
    if not chunk_nos:
        return

    def work(conn: Connection) -> None:
        conn.execute(
            update(models.job_payout_chunks)
            .where(_c.run_id == run_id, _c.chunk_no.in_(list(chunk_nos)))
            .values(dispatched_at=clock.now())
        )

    db.run(work)


def start_chunk(db: Database, run_id: str, chunk_no: int, *, holder: str, clock: Clock) -> Chunk:
    """Count one more attempt at the chunk by `holder`, committed before the work starts."""

    def work(conn: Connection) -> Chunk:
        row = conn.execute(
            select(models.job_payout_chunks)
            .where(_c.run_id == run_id, _c.chunk_no == chunk_no)
            .with_for_update()
        ).first()
        if row is None:
            raise NotFound(
                f"no chunk {chunk_no} in the plan of payout run {run_id}",
                code="payout_run_chunk_not_found",
            )
        if row.status == "pending":
            conn.execute(
                update(models.job_payout_chunks)
                .where(_c.run_id == run_id, _c.chunk_no == chunk_no)
                .values(attempts=row.attempts + 1, holder=holder, started_at=clock.now())
            )
        return Chunk(
            run_id,
            chunk_no,
            tuple((str(seller), str(currency)) for seller, currency in row.balances),
            row.status,
            row.attempts + (row.status == "pending"),
            holder if row.status == "pending" else row.holder,
        )

    return db.run(work)


def finish_chunk(
    db: Database,
    run_id: str,
    chunk_no: int,
    *,
    payouts: int,
    skips: int,
    already_done: int,
    clock: Clock,
) -> bool:
    """Mark the chunk done; False if it already was (another attempt finished it first)."""

    def work(conn: Connection) -> bool:
        result = conn.execute(
            update(models.job_payout_chunks)
            .where(_c.run_id == run_id, _c.chunk_no == chunk_no, _c.status == "pending")
            .values(
                status="done",
                done_at=clock.now(),
                payouts=payouts,
                skips=skips,
                already_done=already_done,
            )
        )
        return result.rowcount == 1

    return db.run(work)


def pending_count(db: Database, run_id: str) -> int:
    """Chunks of the run not done yet."""
    with db.reading() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(models.job_payout_chunks)
                .where(_c.run_id == run_id, _c.status == "pending")
            ).scalar_one()
        )


def mark_completed(db: Database, lease: Lease, run_id: str, *, clock: Clock) -> None:
    """The run was completed (`payouts.service.complete_run`): nothing left to push along."""

    def work(conn: Connection) -> None:
        conn.execute(
            update(models.job_payout_runs)
            .where(_r.run_id == run_id, _r.completed_at.is_(None))
            .values(completed_at=clock.now())
        )

    fenced_run(db, lease, work, clock=clock)


def list_chunks(db: Database, run_id: str) -> list[Chunk]:
    """Every chunk of a run, in order (for operators and tests)."""
    with db.reading() as conn:
        rows = conn.execute(
            select(models.job_payout_chunks).where(_c.run_id == run_id).order_by(_c.chunk_no)
        ).all()
    return [
        Chunk(
            row.run_id,
            row.chunk_no,
            tuple((str(s), str(c)) for s, c in row.balances),
            row.status,
            row.attempts,
            row.holder,
        )
        for row in rows
    ]
