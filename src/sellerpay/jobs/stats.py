"""Statistics of job runs and bank calls, kept in the database so that /metrics shows them
whichever process ran the job (an embedded thread, any Celery worker of the fleet).

One short unit of work per observation: `job:<task>` rows count runs and failures with a
duration histogram; `bank:<operation>` rows time the calls to the bank connection
(`TimedBank`). Recording never fails the job it measures: an error is logged and dropped.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import structlog
from sqlalchemy import Connection, select, update
from sqlalchemy.exc import SQLAlchemyError

from sellerpay.clock import Clock
from sellerpay.db import Database
from sellerpay.errors import SellerpayError
from sellerpay.jobs import models
from sellerpay.jobs.rules import DURATION_BOUNDS_S, observe
from sellerpay.payouts.banking import BankConnection, InboundFile
from sellerpay.rails.instructions import TransferStatus

log = structlog.get_logger(__name__)
error_length_max: Final = 500
_s = models.job_stats.c


@dataclass(frozen=True, slots=True)
class Stat:
    """Counters and histogram of one measured operation (`job:release-due-funds`, `bank:send`)."""

    name: str
    runs: int
    failures: int
    seconds_sum: float
    bucket_counts: tuple[int, ...]
    last_started_at: datetime | None
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str | None


def record(
    db: Database,
    name: str,
    *,
    seconds: float,
    failed: bool,
    started_at: datetime,
    clock: Clock,
    error: str | None = None,
) -> None:
    """Add one observation to `name`; logged and dropped if the database does not take it."""

    def work(conn: Connection) -> None:
        row = conn.execute(
            select(models.job_stats).where(_s.name == name).with_for_update()
        ).first()
        now = clock.now()
        values: dict[str, Any] = {
            "runs": (row.runs if row else 0) + 1,
            "failures": (row.failures if row else 0) + int(failed),
            "seconds_sum": (row.seconds_sum if row else 0.0) + seconds,
            "bucket_counts": observe(row.bucket_counts if row else [], seconds),
            "last_started_at": started_at,
            "last_success_at": (row.last_success_at if row else None) if failed else now,
            "last_failure_at": now if failed else (row.last_failure_at if row else None),
            "last_error": (error or "")[:error_length_max] if failed else None,
        }
        if row is None:
            conn.execute(models.job_stats.insert().values(name=name, **values))
        else:
            conn.execute(update(models.job_stats).where(_s.name == name).values(**values))

    try:
        db.run(work, retry_unique_violations=True)
    except (SQLAlchemyError, SellerpayError):
        log.warning("jobs.stats_not_recorded", stat=name, exc_info=True)


def read_stats(db: Database) -> list[Stat]:
    """Every measured operation, by name."""
    with db.reading() as conn:
        rows = conn.execute(select(models.job_stats).order_by(_s.name)).all()
    width = len(DURATION_BOUNDS_S) + 1
    return [
        Stat(
            row.name,
            row.runs,
            row.failures,
            row.seconds_sum,
            tuple((list(row.bucket_counts) + [0] * width)[:width]),
            row.last_started_at,
            row.last_success_at,
            row.last_failure_at,
            row.last_error,
        )
        for row in rows
    ]


class TimedBank:
    """A `BankConnection` that records how long each call to the real one took (`bank:send`,
    `bank:inquire`, `bank:collect`), failures included; it changes nothing else."""

    def __init__(self, bank: BankConnection, db: Database, clock: Clock) -> None:
        self._bank = bank
        self._db = db
        self._clock = clock

    def send(self, rail: str, filename: str, content: bytes, message_id: str) -> None:
        started, at = time.perf_counter(), self._clock.now()
        try:
            self._bank.send(rail, filename, content, message_id)
        except Exception as error:
            self._record("send", started, at, error)
            raise
        self._record("send", started, at, None)

    def inquire(
        self, rail: str, message_id: str, end_to_end_ids: Sequence[str]
    ) -> Sequence[TransferStatus]:
        started, at = time.perf_counter(), self._clock.now()
        try:
            answers = self._bank.inquire(rail, message_id, end_to_end_ids)
        except Exception as error:
            self._record("inquire", started, at, error)
            raise
        self._record("inquire", started, at, None)
        return answers

    def collect(self) -> Sequence[InboundFile]:
        started, at = time.perf_counter(), self._clock.now()
        try:
            files = self._bank.collect()
        except Exception as error:
            self._record("collect", started, at, error)
            raise
        self._record("collect", started, at, None)
        return files

    def _record(
        self, operation: str, started: float, at: datetime, error: BaseException | None
    ) -> None:
        record(
            self._db,
            f"bank:{operation}",
            seconds=time.perf_counter() - started,
            failed=error is not None,
            started_at=at,
            clock=self._clock,
            error=None if error is None else f"{type(error).__name__}: {error}",
        )
