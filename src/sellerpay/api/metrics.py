"""`GET /metrics`: Prometheus metrics of the whole system, read from the database at scrape time.

Whichever process did the work (an API thread, an embedded worker, any Celery worker of the
fleet), the database knows it, so one scrape of any API instance shows everything:

    sellerpay_database_up                                   1 when the reads below succeeded
    sellerpay_events_ingested{status}                       marketplace events stored, by status
    sellerpay_events_parked, …_parked_oldest_age_seconds    parked events waiting, and for how long
    sellerpay_payouts{status}                               payouts by state
    sellerpay_payouts_in_transit_minor_units{currency}      paid out, not yet confirmed by the bank
    sellerpay_outbox_unrelayed_events, …_outbox_lag_seconds events not relayed yet; the oldest's age
    sellerpay_payout_run_chunks_pending                     chunks of payout runs not done yet
    sellerpay_job_runs_total{job}, …_job_failures_total     task runs and failures (every worker)
    sellerpay_job_duration_seconds{job}                     histogram of task durations
    sellerpay_job_last_success_timestamp_seconds{job}
    sellerpay_bank_call_seconds{operation}                  bank call latency (send = submission)
    sellerpay_bank_call_failures_total{operation}

Cheap by construction: each gauge is one aggregate over an index (payouts by status, events by
status, the outbox's index of unrelayed events, the in-transit account's unique key), and the
whole read is cached `metrics_cache_s` seconds, so scrapes from several Prometheus servers
cost one read. Like `reporting`, this is a read model across contexts: it only reads.
No API key: expose it on the cluster network only (docs/deploy.md).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

import structlog
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import Connection, func, select
from sqlalchemy.exc import SQLAlchemyError

from sellerpay.clock import Clock
from sellerpay.db import Database
from sellerpay.errors import SellerpayError
from sellerpay.events import models as events_models
from sellerpay.jobs import models as jobs_models
from sellerpay.jobs.rules import DURATION_BOUNDS_S, cumulative
from sellerpay.jobs.stats import Stat, read_stats
from sellerpay.ledger import models as ledger_models
from sellerpay.payouts import models as payouts_models
from sellerpay.payouts.rules import PayoutStatus
from sellerpay.settings import get_settings
from sellerpay.settlement import models as settlement_models

log = structlog.get_logger(__name__)
router = APIRouter(tags=["operations"])
IN_TRANSIT: Final = "platform:payouts_in_transit"
EVENT_STATUSES: Final = settlement_models.EVENT_STATUSES


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one scrape reads: plain numbers, by label."""

    events_by_status: Mapping[str, int] = field(default_factory=dict)
    parked_oldest_at: datetime | None = None
    payouts_by_status: Mapping[str, int] = field(default_factory=dict)
    in_transit_minor: Mapping[str, int] = field(default_factory=dict)
    outbox_unrelayed: int = 0
    outbox_oldest_at: datetime | None = None
    chunks_pending: int = 0
    stats: tuple[Stat, ...] = ()
    now: datetime | None = None


def read_snapshot(db: Database, clock: Clock) -> Snapshot:
    """Every aggregate /metrics shows, in one read-only unit of work."""
    stats = tuple(read_stats(db))
    with db.reading() as conn:
        return Snapshot(
            events_by_status=_counts(conn, settlement_models.marketplace_events.c.status),
            parked_oldest_at=_parked_oldest(conn),
            payouts_by_status=_counts(conn, payouts_models.payouts.c.status),
            in_transit_minor=_in_transit(conn),
            outbox_unrelayed=_outbox_unrelayed(conn),
            outbox_oldest_at=_outbox_oldest(conn),
            chunks_pending=_chunks_pending(conn),
            stats=stats,
            now=clock.now(),
        )


def _counts(conn: Connection, column: object) -> dict[str, int]:
    rows = conn.execute(select(column, func.count()).group_by(column)).all()  # type: ignore[call-overload]
    return {str(status): int(count) for status, count in rows}


def _parked_oldest(conn: Connection) -> datetime | None:
    e = settlement_models.marketplace_events.c
    return conn.execute(select(func.min(e.received_at)).where(e.status == "parked")).scalar()


def _in_transit(conn: Connection) -> dict[str, int]:
    a = ledger_models.accounts.c
    rows = conn.execute(
        select(a.currency, a.credits_posted - a.debits_posted).where(a.code == IN_TRANSIT)
    ).all()
    return {str(currency): int(balance) for currency, balance in rows}


def _outbox_unrelayed(conn: Connection) -> int:
    o = events_models.outbox.c
    return int(
        conn.execute(
            select(func.count()).select_from(events_models.outbox).where(o.relayed_at.is_(None))
        ).scalar_one()
    )


def _outbox_oldest(conn: Connection) -> datetime | None:
    o = events_models.outbox.c  # ids are UUIDv7: the smallest unrelayed id is the oldest
    return conn.execute(
        select(o.created_at).where(o.relayed_at.is_(None)).order_by(o.id).limit(1)
    ).scalar()


def _chunks_pending(conn: Connection) -> int:
    c = jobs_models.job_payout_chunks.c
    return int(
        conn.execute(
            select(func.count())
            .select_from(jobs_models.job_payout_chunks)
            .where(c.status == "pending")
        ).scalar_one()
    )


def _age_s(moment: datetime | None, now: datetime | None) -> float:
    if moment is None or now is None:
        return 0.0
    return max(0.0, (now - moment).total_seconds())


def families(snapshot: Snapshot | None) -> Iterator[Metric]:
    """The metric families of a snapshot (None: the database could not be read)."""
    up = GaugeMetricFamily(
        "sellerpay_database_up", "1 when the metrics could be read from the database"
    )
    up.add_metric([], 0 if snapshot is None else 1)
    yield up
    if snapshot is None:
        return
    yield from _business_families(snapshot)
    yield from _stat_families(snapshot.stats)


def _business_families(s: Snapshot) -> Iterator[Metric]:
    events = GaugeMetricFamily(
        "sellerpay_events_ingested",
        "marketplace events stored (every event received), by status",
        labels=["status"],
    )
    for status in sorted({*EVENT_STATUSES, *s.events_by_status}):
        events.add_metric([status], s.events_by_status.get(status, 0))
    yield events
    yield _gauge("sellerpay_events_parked", "parked events waiting to be applied",
                 s.events_by_status.get("parked", 0))  # fmt: skip
    yield _gauge("sellerpay_events_parked_oldest_age_seconds", "age of the oldest parked event",
                 _age_s(s.parked_oldest_at, s.now))  # fmt: skip
    payouts = GaugeMetricFamily("sellerpay_payouts", "payouts by state", labels=["status"])
    for status in sorted({*(p.value for p in PayoutStatus), *s.payouts_by_status}):
        payouts.add_metric([status], s.payouts_by_status.get(status, 0))
    yield payouts
    transit = GaugeMetricFamily(
        "sellerpay_payouts_in_transit_minor_units",
        "paid out of sellers' balances, not yet confirmed by the bank (minor units)",
        labels=["currency"],
    )
    for currency, minor in sorted(s.in_transit_minor.items()):
        transit.add_metric([currency], minor)
    yield transit
    yield _gauge("sellerpay_outbox_unrelayed_events", "outbox events not relayed yet",
                 s.outbox_unrelayed)  # fmt: skip
    yield _gauge("sellerpay_outbox_lag_seconds", "age of the oldest outbox event not relayed",
                 _age_s(s.outbox_oldest_at, s.now))  # fmt: skip
    yield _gauge("sellerpay_payout_run_chunks_pending", "payout run chunks not done yet",
                 s.chunks_pending)  # fmt: skip


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(name, documentation)
    gauge.add_metric([], value)
    return gauge


def _stat_families(stats: tuple[Stat, ...]) -> Iterator[Metric]:
    jobs = [(s.name.removeprefix("job:"), s) for s in stats if s.name.startswith("job:")]
    bank = [(s.name.removeprefix("bank:"), s) for s in stats if s.name.startswith("bank:")]
    runs = CounterMetricFamily("sellerpay_job_runs", "task runs, by task", labels=["job"])
    failures = CounterMetricFamily(
        "sellerpay_job_failures", "task runs that raised, by task", labels=["job"]
    )
    last = GaugeMetricFamily(
        "sellerpay_job_last_success_timestamp_seconds",
        "when the task last succeeded (Unix time)",
        labels=["job"],
    )
    durations = HistogramMetricFamily(
        "sellerpay_job_duration_seconds", "task durations", labels=["job"]
    )
    for job, stat in jobs:
        runs.add_metric([job], stat.runs)
        failures.add_metric([job], stat.failures)
        if stat.last_success_at is not None:
            last.add_metric([job], stat.last_success_at.timestamp())
        durations.add_metric([job], _buckets(stat), stat.seconds_sum)
    yield from (runs, failures, last, durations)
    calls = HistogramMetricFamily(
        "sellerpay_bank_call_seconds",
        "bank call latency by operation (send: a bank file submission)",
        labels=["operation"],
    )
    call_failures = CounterMetricFamily(
        "sellerpay_bank_call_failures", "bank calls that failed", labels=["operation"]
    )
    for operation, stat in bank:
        calls.add_metric([operation], _buckets(stat), stat.seconds_sum)
        call_failures.add_metric([operation], stat.failures)
    yield from (calls, call_failures)


def _buckets(stat: Stat) -> list[tuple[str, float]]:
    bounds = [*(repr(float(b)) for b in DURATION_BOUNDS_S), "+Inf"]
    return list(zip(bounds, (float(c) for c in cumulative(stat.bucket_counts)), strict=True))


class SellerpayCollector(Collector):
    """Reads a `Snapshot` at most every `cache_s` seconds; scrapes in between reuse it."""

    def __init__(self, db: Database, clock: Clock, *, cache_s: float) -> None:
        self._db = db
        self._clock = clock
        self._cache_s = cache_s
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._read_at: float | None = None

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            fresh = self._read_at is not None and time.monotonic() - self._read_at < self._cache_s
            if not fresh:
                self._snapshot = self._read()
                self._read_at = time.monotonic()
            snapshot = self._snapshot
        yield from families(snapshot)

    def _read(self) -> Snapshot | None:
        try:
            return read_snapshot(self._db, self._clock)
        except (SQLAlchemyError, SellerpayError):
            log.warning("metrics.database_unreadable", exc_info=True)
            return None


_registry_lock = threading.Lock()


def _registry(request: Request) -> CollectorRegistry:
    """One registry per application, made on the first scrape."""
    state = request.app.state
    with _registry_lock:
        registry: CollectorRegistry | None = getattr(state, "metrics_registry", None)
        if registry is None:
            registry = CollectorRegistry(auto_describe=False)
            registry.register(
                SellerpayCollector(state.db, state.clock, cache_s=get_settings().metrics_cache_s)
            )
            state.metrics_registry = registry
        return registry


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """The Prometheus text exposition of every Sellerpay metric."""
    return Response(generate_latest(_registry(request)), media_type=CONTENT_TYPE_LATEST)
