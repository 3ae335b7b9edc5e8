"""The `ingest` benchmark: marketplace events through the HTTP door and through RabbitMQ, each
against the ledger's own batched posting of the same transactions, measured in the same run.

All sections run in one throw-away PostgreSQL database (`sellerpay_bench_<random>`), reset and
migrated before each, with the same sellers and platform fee plan opened before the clock runs.
The events are `order.paid`, one per order, 1 to 3 lines each:

- (a) reference: `ledger.service.post_many` of the transactions the events become (Dr
  `platform:psp_clearing` gross, Cr the seller's `pending` net, Cr `platform:revenue:commission`
  fees, from `settlement.rules.order_fees`), in batches as large as the doors';
- (b) the handler alone: `settlement.service.ingest_events` called in this process;
- (c) the HTTP door: uvicorn serving `sellerpay.api.create_app` in a subprocess on 127.0.0.1,
  `POST /v1/marketplace/events` batches sent by `concurrency` httpx clients;
- (d) the RabbitMQ door: the events published (confirmed) to a queue of this run, then
  `sellerpay consume` in a subprocess, timed from its subscription until all are applied.

After each section: every event stored once and applied (`marketplace_events`), the ledger
verified and holding one transaction per event, and every balance equal to the reference's.
A breach raises `IngestBenchFailed`.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
import pika
import psycopg
from rich.table import Table
from sqlalchemy.engine import make_url

from benchmarks.ledger import ADMIN_URL_DEFAULT, bench_database, fresh_ledger, verify
from sellerpay.access.rules import Role
from sellerpay.access.service import create_api_key
from sellerpay.clock import FixedClock, SystemClock
from sellerpay.db import Database
from sellerpay.events.broker import (
    MarketplaceEventPublisher,
    MarketplaceTopology,
    batch_size_max,
    prefetch_max,
)
from sellerpay.ledger.rules import EntryRequest, Side, TransactionRequest
from sellerpay.ledger.service import PostStatus, balances_of, post_many
from sellerpay.money import Money
from sellerpay.sellers.service import create_seller
from sellerpay.settlement.rules import FeePlan, FeeRule, OrderLine, order_fees
from sellerpay.settlement.service import create_fee_plan, ingest_events

AMQP_URL_DEFAULT: Final = "amqp://guest:guest@127.0.0.1:5672/%2F"
CURRENCY: Final = "EUR"
CATEGORIES: Final = ("smartphones", "laptops", "tablets", "consoles")
PLAN_RULES: Final = (
    FeeRule(bps=1_500),
    FeeRule(category="smartphones", bps=1_200),
    FeeRule(category="laptops", bps=1_000, min_minor={CURRENCY: 500}),
)
FIXED_FEE_PER_ORDER: Final = {CURRENCY: 30}
PAID_AT: Final = "2026-11-25T10:00:00Z"
events_max: Final = 1_000_000
concurrency_max: Final = 16
server_start_timeout_s: Final = 60.0
poll_interval_s: Final = 0.02
pace_events_per_s_min: Final = 20.0  # slower than this is a failure, not a measurement
HTTP_SECTION: Final = "http"
AMQP_SECTION: Final = "amqp"

Advance = Callable[[int], None]
StartTask = Callable[[str, int], Advance]


class IngestBenchFailed(Exception):
    """A door lost, doubled or refused an event, or left a ledger that breaks an invariant."""


# --- configuration -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IngestBenchConfig:
    """The sizes of one run: `events` go through each door, in batches of `batch_size`."""

    size: str  # "quick", "full", or "custom"
    events: int
    batch_size: int = 500
    concurrency: int = 3  # HTTP clients sending batches at once
    prefetch: int = 1_000  # of the consumer
    sellers: int = 200
    admin_url: str = ADMIN_URL_DEFAULT
    amqp_url: str = AMQP_URL_DEFAULT
    seed: int = 20261125

    def __post_init__(self) -> None:
        if not 1 <= self.events <= events_max:
            raise ValueError(f"events must be between 1 and {events_max:,}")
        if not 1 <= self.batch_size <= batch_size_max:
            raise ValueError(f"batch size must be between 1 and {batch_size_max:,}")
        if not 1 <= self.concurrency <= concurrency_max:
            raise ValueError(f"concurrency must be between 1 and {concurrency_max}")
        if not self.batch_size <= self.prefetch <= prefetch_max:
            raise ValueError(f"prefetch must be between the batch size and {prefetch_max:,}")
        if self.sellers < 1:
            raise ValueError("at least one seller")

    @classmethod
    def of_size(
        cls,
        *,
        quick: bool,
        events: int | None = None,
        batch_size: int | None = None,
        concurrency: int | None = None,
        admin_url: str = ADMIN_URL_DEFAULT,
        amqp_url: str = AMQP_URL_DEFAULT,
    ) -> IngestBenchConfig:
        """2,000 events per door (quick) or 20,000 (full), unless `events` is given."""
        size = "custom" if events is not None else ("quick" if quick else "full")
        batch = batch_size if batch_size is not None else 500
        return cls(
            size=size,
            events=events if events is not None else (2_000 if quick else 20_000),
            batch_size=batch,
            concurrency=concurrency if concurrency is not None else 3,
            prefetch=max(1_000, 2 * batch),
            admin_url=admin_url,
            amqp_url=amqp_url,
        )


# --- workload ------------------------------------------------------------------------------


def seller_ids(count: int) -> list[str]:
    return [f"sel_bench{n:05d}" for n in range(count)]


def order_paid_events(config: IngestBenchConfig, *, door: str) -> list[dict[str, Any]]:
    """One `order.paid` per order: a seller, 1 to 3 lines of a category, amounts in cents."""
    rng = random.Random(config.seed)
    sellers = seller_ids(config.sellers)
    events = []
    for n in range(config.events):
        lines = [
            {
                "line_id": f"l{k}",
                "amount_minor": rng.randrange(500, 200_000),
                "category": rng.choice(CATEGORIES),
            }
            for k in range(rng.randint(1, 3))
        ]
        events.append(
            {
                "id": f"evt_bench_{door}_{n:08d}",
                "type": "order.paid",
                "occurred_at": PAID_AT,
                "data": {
                    "order_id": f"ord_bench_{door}_{n:08d}",
                    "seller_id": rng.choice(sellers),
                    "currency": CURRENCY,
                    "market": "FR",
                    "lines": lines,
                    "paid_at": PAID_AT,
                },
            }
        )
    return events


def ledger_requests(events: Sequence[Mapping[str, Any]]) -> list[TransactionRequest]:
    """The transactions the events become: gross from clearing to the seller's pending net
    and the platform's commission, each line's fee by the plan's rules."""
    plan = FeePlan("fp_bench", 1, PLAN_RULES, FIXED_FEE_PER_ORDER)
    requests = []
    for event in events:
        data = event["data"]
        lines = [
            OrderLine(
                line["line_id"], Money(line["amount_minor"], CURRENCY), line["category"], "FR"
            )
            for line in data["lines"]
        ]
        fees = order_fees(plan, lines)
        gross = sum((f.gross for f in fees), Money.zero(CURRENCY))
        fee = sum((f.fee for f in fees), Money.zero(CURRENCY))
        legs = [
            EntryRequest("platform:psp_clearing", Side.DEBIT, gross),
            EntryRequest(f"seller:{data['seller_id']}:pending", Side.CREDIT, gross - fee),
        ]
        if fee.is_positive():
            legs.append(EntryRequest("platform:revenue:commission", Side.CREDIT, fee))
        requests.append(
            TransactionRequest(f"order.paid:{data['order_id']}", "order.paid", tuple(legs))
        )
    return requests


def balance_keys(config: IngestBenchConfig) -> list[tuple[str, str]]:
    platform = ["platform:psp_clearing", "platform:revenue:commission"]
    sellers = [f"seller:{s}:pending" for s in seller_ids(config.sellers)]
    return [(code, CURRENCY) for code in platform + sellers]


def open_marketplace(db: Database, config: IngestBenchConfig) -> None:
    """The sellers and the platform fee plan, before the clock runs."""
    clock = FixedClock(datetime(2026, 11, 1, tzinfo=UTC))
    for seller in seller_ids(config.sellers):
        create_seller(db, seller_id=seller, legal_name="Bench Refurb", country="FR", clock=clock)
    create_fee_plan(
        db, name="bench", effective_from=datetime(2026, 1, 1, tzinfo=UTC), rules=PLAN_RULES,
        fixed_fee_per_order=FIXED_FEE_PER_ORDER, created_by="bench", clock=clock,
    )  # fmt: skip


def _batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- measurements and results --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Measurement:
    """One timed section: how many events (or transfers) it applied and how long it took."""

    label: str
    events: int
    seconds: float

    @property
    def per_s(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True, slots=True)
class IngestBenchResult:
    config: IngestBenchConfig
    measurements: Mapping[str, Measurement]
    publish_seconds: float
    verified: tuple[str, ...] = field(default=())

    def ratio(self, key: str) -> float:
        reference = self.measurements["ledger"].per_s
        return self.measurements[key].per_s / reference if reference else 0.0

    def table(self) -> Table:
        table = Table(title=f"ingest benchmark ({self.config.size}), PostgreSQL")
        for name in ("section", "events", "seconds", "events/s", "ledger ref/s", "ratio"):
            table.add_column(name, justify="left" if name == "section" else "right")
        reference = self.measurements["ledger"].per_s
        for key, m in self.measurements.items():
            table.add_row(
                m.label, f"{m.events:,}", f"{m.seconds:.3f}", f"{m.per_s:,.0f}",
                "" if key == "ledger" else f"{reference:,.0f}",
                "" if key == "ledger" else f"{self.ratio(key):.3f}",
            )  # fmt: skip
        publish_per_s = self.config.events / self.publish_seconds if self.publish_seconds else 0.0
        table.caption = (
            f"batches of {self.config.batch_size}, {self.config.concurrency} HTTP clients, "
            f"consumer prefetch {self.config.prefetch}; publishing to RabbitMQ beforehand "
            f"(confirmed, untimed in (d)): {publish_per_s:,.0f}/s"
        )
        return table

    def summary(self) -> dict[str, Any]:
        """The machine-readable result, printed as the last line of the command."""
        m = self.measurements
        return {
            "bench": "ingest",
            "backend": "postgresql",
            "date": datetime.now(UTC).date().isoformat(),
            "size": self.config.size,
            "events": self.config.events,
            "batch_size": self.config.batch_size,
            "concurrency": self.config.concurrency,
            "prefetch": self.config.prefetch,
            "http_events_per_s": round(m["http"].per_s, 1),
            "amqp_events_per_s": round(m["amqp"].per_s, 1),
            "handler_events_per_s": round(m["handler"].per_s, 1),
            "ledger_transfers_per_s": round(m["ledger"].per_s, 1),
            "http_ratio": round(self.ratio("http"), 4),
            "amqp_ratio": round(self.ratio("amqp"), 4),
            "handler_ratio": round(self.ratio("handler"), 4),
            "seconds": {key: round(value.seconds, 4) for key, value in m.items()},
            "amqp_publish_per_s": round(self.config.events / self.publish_seconds, 1)
            if self.publish_seconds
            else 0.0,
            "verified": list(self.verified),
            "ok": True,
        }


# --- checks --------------------------------------------------------------------------------


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def stored_statuses(url: str) -> dict[str, int]:
    """How many marketplace events are stored, by status (the bench database's only ones)."""
    with psycopg.connect(_libpq(url)) as conn:
        rows = conn.execute("SELECT status, count(*) FROM marketplace_events GROUP BY status")
        return {status: int(count) for status, count in rows}


def check_section(
    db: Database,
    section: str,
    *,
    events: int,
    expected_balances: Mapping[tuple[str, str], Money] | None,
    keys: Sequence[tuple[str, str]],
) -> str:
    """Every event stored once and applied, the ledger sound with one transaction per event,
    and (for a door) every balance equal to the reference's."""
    statuses = stored_statuses(db.url) if section != "ledger" else {"applied": events}
    if statuses != {"applied": events}:
        raise IngestBenchFailed(
            f"{section}: events by status {statuses}, {events} applied expected"
        )
    line = verify(db, section, transactions=events)
    if expected_balances is not None:
        found = balances_of(db, keys)
        wrong = [key for key in keys if found[key] != expected_balances[key]]
        if wrong:
            key = wrong[0]
            raise IngestBenchFailed(
                f"{section}: {len(wrong)} balances differ from the reference, first {key[0]}: "
                f"{found[key]} instead of {expected_balances[key]}"
            )
        line += f"; {len(keys)} balances equal the reference's"
    return line


# --- (a) and (b): in this process -----------------------------------------------------------


def measure_ledger(
    db: Database, requests: Sequence[TransactionRequest], *, batch_size: int, advance: Advance
) -> Measurement:
    clock = SystemClock()
    started = time.perf_counter()
    for batch in _batches(requests, batch_size):
        results = post_many(db, batch, clock=clock)
        refused = [r for r in results if r.status is not PostStatus.POSTED]
        if refused:
            raise IngestBenchFailed(f"ledger: {refused[0].idempotency_key} {refused[0].error!r}")
        advance(len(batch))
    seconds = time.perf_counter() - started
    return Measurement("(a) reference: ledger post_many", len(requests), seconds)


def measure_handler(
    db: Database, events: Sequence[Mapping[str, Any]], *, batch_size: int, advance: Advance
) -> Measurement:
    clock = SystemClock()
    started = time.perf_counter()
    for batch in _batches(events, batch_size):
        results = ingest_events(db, batch, source="http", clock=clock)  # as the HTTP door does
        _expect_applied([str(result.status) for result in results], "handler")
        advance(len(batch))
    seconds = time.perf_counter() - started
    return Measurement("(b) handler: ingest_events in-process", len(events), seconds)


def _expect_applied(statuses: Sequence[str], section: str) -> None:
    wrong = [status for status in statuses if status != "applied"]
    if wrong:
        raise IngestBenchFailed(f"{section}: {len(wrong)} events not applied, e.g. {wrong[0]}")


# --- (c): the HTTP door ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def api_server(url: str, *, pool_size: int) -> Iterator[str]:
    """The API on a free loopback port, in its own process (uvicorn, one worker)."""
    port = _free_port()
    env = {
        **os.environ,
        "SELLERPAY_DATABASE_URL": url,
        "SELLERPAY_DATABASE_POOL_SIZE": str(pool_size),
    }
    with tempfile.TemporaryFile() as output:
        server = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", "sellerpay.api:create_app", "--factory",
                "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
                "--no-access-log",
            ],
            env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_for_health(base, server, output)
            yield base
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


def _wait_for_health(base: str, server: subprocess.Popen[bytes], output: Any) -> None:
    deadline = time.monotonic() + server_start_timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            output.seek(0)
            raise IngestBenchFailed(f"the API server exited: {output.read().decode()[-2000:]}")
        try:
            if httpx.get(f"{base}/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise IngestBenchFailed(f"the API server did not answer within {server_start_timeout_s} s")


def measure_http(
    url: str, events: Sequence[Mapping[str, Any]], config: IngestBenchConfig, *, api_key: str,
    advance: Advance,
) -> Measurement:  # fmt: skip
    """`concurrency` clients POST batches (JSON prepared beforehand) until all are applied."""
    bodies = [
        json.dumps({"events": list(batch)}).encode()
        for batch in _batches(events, config.batch_size)
    ]
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    local = threading.local()
    lock = threading.Lock()
    clients: list[httpx.Client] = []

    ready = threading.Barrier(config.concurrency)

    with api_server(url, pool_size=config.concurrency + 2) as base:

        def connect() -> None:  # one client per thread, connected before the clock starts
            local.client = httpx.Client(base_url=base, headers=headers, timeout=300.0)
            local.client.get("/health").raise_for_status()
            with lock:
                clients.append(local.client)
            ready.wait(timeout=server_start_timeout_s)

        def send(body: bytes) -> int:
            response = local.client.post("/v1/marketplace/events", content=body)
            if response.status_code != 200:
                raise IngestBenchFailed(f"http: {response.status_code} {response.text[:500]}")
            results = response.json()["results"]
            _expect_applied([result["status"] for result in results], "http")
            with lock:
                advance(len(results))
            return len(results)

        with ThreadPoolExecutor(max_workers=config.concurrency) as pool:
            for future in [pool.submit(connect) for _ in range(config.concurrency)]:
                future.result()
            started = time.perf_counter()
            applied = sum(pool.map(send, bodies))
            seconds = time.perf_counter() - started
        for client in clients:
            client.close()
    return Measurement(f"(c) HTTP door: {config.concurrency} clients, uvicorn", applied, seconds)


# --- (d): the RabbitMQ door -----------------------------------------------------------------


@contextmanager
def run_topology(amqp_url: str) -> Iterator[MarketplaceTopology]:
    """Exchanges and queues of this run only, deleted at the end."""
    prefix = f"sellerpay-bench-{secrets.token_hex(5)}"
    topology = MarketplaceTopology(
        exchange=f"{prefix}.marketplace", queue=f"{prefix}.marketplace-events"
    )
    try:
        yield topology
    finally:
        connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
        channel = connection.channel()
        for queue in (topology.queue, topology.dead_letter_queue):
            channel.queue_delete(queue)
        for exchange in (topology.exchange, topology.dead_letter_exchange):
            channel.exchange_delete(exchange)
        connection.close()


def publish(amqp_url: str, topology: MarketplaceTopology, events: Sequence[Mapping[str, Any]],
            *, advance: Advance) -> float:  # fmt: skip
    """Publish the events, each confirmed by the broker; returns the seconds it took."""
    started = time.perf_counter()
    with MarketplaceEventPublisher(amqp_url, topology=topology) as publisher:
        for batch in _batches(events, 500):
            publisher.publish(batch)
            advance(len(batch))
    return time.perf_counter() - started


def measure_amqp(
    url: str, events: Sequence[Mapping[str, Any]], config: IngestBenchConfig,
    topology: MarketplaceTopology, *, advance: Advance,
) -> Measurement:  # fmt: skip
    """`sellerpay consume` in a subprocess, from its subscription until every event is stored."""
    env = {**os.environ, "SELLERPAY_DATABASE_URL": url, "SELLERPAY_LOG_LEVEL": "WARNING"}
    with tempfile.TemporaryFile() as output:
        consumer = subprocess.Popen(
            [
                sys.executable, "-m", "sellerpay.cli.consume", "--amqp-url", config.amqp_url,
                "--queue", topology.queue, "--exchange", topology.exchange,
                "--prefetch", str(config.prefetch), "--batch-size", str(config.batch_size),
                "--batch-wait-ms", "20",
            ],
            env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            started = _wait_for_subscription(config.amqp_url, topology, consumer)
            seconds = _wait_until_stored(url, len(events), consumer, started, advance=advance)
            consumer.send_signal(signal.SIGTERM)
            code = consumer.wait(timeout=60)
        finally:
            if consumer.poll() is None:
                consumer.kill()
        output.seek(0)
        report = _consumer_report(output.read().decode(), code)
    if report.get("by_status") != {"applied": len(events)} or report.get("dead_lettered"):
        raise IngestBenchFailed(f"amqp: the consumer reports {report}")
    return Measurement("(d) RabbitMQ door: sellerpay consume", len(events), seconds)


def _wait_for_subscription(
    amqp_url: str, topology: MarketplaceTopology, consumer: subprocess.Popen[bytes]
) -> float:
    """The moment the consumer subscribed to the queue (the clock starts there)."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        deadline = time.monotonic() + server_start_timeout_s
        while time.monotonic() < deadline:
            if consumer.poll() is not None:
                raise IngestBenchFailed(f"amqp: the consumer exited with {consumer.returncode}")
            declared = channel.queue_declare(topology.queue, passive=True)
            if (declared.method.consumer_count or 0) > 0:
                return time.perf_counter()
            time.sleep(0.005)
    finally:
        connection.close()
    raise IngestBenchFailed(f"amqp: no consumer within {server_start_timeout_s} s")


def _wait_until_stored(
    url: str, events: int, consumer: subprocess.Popen[bytes], started: float, *, advance: Advance
) -> float:
    """Seconds from `started` until `events` events are stored (polled every 20 ms)."""
    deadline = started + max(120.0, events / pace_events_per_s_min)
    shown = 0
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        while True:
            row = conn.execute("SELECT count(*) FROM marketplace_events").fetchone()
            stored = int(row[0]) if row else 0
            now = time.perf_counter()
            advance(stored - shown)
            shown = stored
            if stored >= events:
                return now - started
            if consumer.poll() is not None:
                raise IngestBenchFailed(f"amqp: the consumer exited with {consumer.returncode}")
            if now > deadline:
                raise IngestBenchFailed(f"amqp: {stored} of {events} stored before the deadline")
            time.sleep(poll_interval_s)


def _consumer_report(output: str, code: int) -> dict[str, Any]:
    lines = [line for line in output.splitlines() if line.startswith("stopped: ")]
    if code != 0 or not lines:
        raise IngestBenchFailed(f"amqp: the consumer exited with {code}: {output[-2000:]}")
    report: dict[str, Any] = json.loads(lines[-1].removeprefix("stopped: "))
    return report


# --- the run -------------------------------------------------------------------------------


def _quiet(_description: str, _total: int) -> Advance:
    return lambda _n: None


def run(config: IngestBenchConfig, *, start_task: StartTask = _quiet) -> IngestBenchResult:
    """Every section; `start_task(description, total)` drives a progress bar."""
    keys = balance_keys(config)
    verified: list[str] = []
    m: dict[str, Measurement] = {}
    with bench_database(config.admin_url) as url:
        expected = _run_reference(url, config, keys, m, verified, start_task)
        with fresh_ledger(url) as db:
            open_marketplace(db, config)
            events = order_paid_events(config, door="handler")
            advance = start_task("(b) handler in-process", len(events))
            m["handler"] = measure_handler(
                db, events, batch_size=config.batch_size, advance=advance
            )
            verified.append(check_section(db, "handler", events=len(events),
                                          expected_balances=expected, keys=keys))  # fmt: skip
        with fresh_ledger(url) as db:
            open_marketplace(db, config)
            _, api_key = create_api_key(db, name="bench marketplace", role=Role.MARKETPLACE,
                                        clock=SystemClock())  # fmt: skip
            events = order_paid_events(config, door=HTTP_SECTION)
            advance = start_task("(c) HTTP door", len(events))
            m["http"] = measure_http(url, events, config, api_key=api_key, advance=advance)
            verified.append(check_section(db, "http", events=len(events),
                                          expected_balances=expected, keys=keys))  # fmt: skip
        publish_seconds = _run_amqp(url, config, keys, expected, m, verified, start_task)
    return IngestBenchResult(config, m, publish_seconds, tuple(verified))


def _run_reference(
    url: str, config: IngestBenchConfig, keys: Sequence[tuple[str, str]],
    m: dict[str, Measurement], verified: list[str], start_task: StartTask,
) -> dict[tuple[str, str], Money]:  # fmt: skip
    """(a) on a fresh ledger; returns its balances, which every door must reproduce."""
    requests = ledger_requests(order_paid_events(config, door="ledger"))
    with fresh_ledger(url) as db:
        open_marketplace(db, config)
        advance = start_task("(a) reference: ledger post_many", len(requests))
        m["ledger"] = measure_ledger(db, requests, batch_size=config.batch_size, advance=advance)
        verified.append(check_section(db, "ledger", events=len(requests),
                                      expected_balances=None, keys=keys))  # fmt: skip
        return balances_of(db, keys)


def _run_amqp(
    url: str, config: IngestBenchConfig, keys: Sequence[tuple[str, str]],
    expected: Mapping[tuple[str, str], Money], m: dict[str, Measurement], verified: list[str],
    start_task: StartTask,
) -> float:  # fmt: skip
    """(d): publish (untimed), then time the consumer; returns the publishing seconds."""
    events = order_paid_events(config, door=AMQP_SECTION)
    with fresh_ledger(url) as db, run_topology(config.amqp_url) as topology:
        open_marketplace(db, config)
        publish_seconds = publish(
            config.amqp_url, topology, events,
            advance=start_task("publish to RabbitMQ (confirmed)", len(events)),
        )  # fmt: skip
        advance = start_task("(d) RabbitMQ door", len(events))
        m["amqp"] = measure_amqp(url, events, config, topology, advance=advance)
        verified.append(check_section(db, "amqp", events=len(events),
                                      expected_balances=expected, keys=keys))  # fmt: skip
    return publish_seconds


def describe(config: IngestBenchConfig) -> str:
    return (
        f"ingest benchmark ({config.size}): {config.events:,} order.paid events per door for "
        f"{config.sellers} sellers, batches of {config.batch_size}, {config.concurrency} HTTP "
        f"clients, consumer prefetch {config.prefetch}; PostgreSQL at "
        f"{make_url(config.admin_url).host}, RabbitMQ at {urlsplit(config.amqp_url).hostname}"
    )
