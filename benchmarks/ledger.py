"""The `ledger` benchmark: posting balanced transfers, measured against a raw `COPY` of the rows.

All sections run in one throw-away PostgreSQL database (`sellerpay_bench_<random>`), whose schema
is reset and migrated before each ledger section, so that each starts from empty tables as the
reference does:

- (a) reference: raw `COPY` of the same rows (a transaction row and its entry rows per transfer)
  into bare tables with a primary key only;
- (b) batched posting through `ledger.service.post_many`;
- (c) single-transfer posting, one database transaction each;
- (d) hot: (b) where every transfer touches one platform account (`platform:psp_clearing` EUR);
- concurrent: writer processes posting batches, on accounts spread uniformly (each writer keeps
  to its own currencies, so writers share no row) and then hot (every transfer of every writer
  touches the one platform account).

Then (b) and (c) on an embedded SQLite file, for context. Each ledger is verified after its
section (`verify_ledger`: transactions balance, balances equal their entries, versions
contiguous, flags held); a breach raises `LedgerBenchFailed`.
"""

from __future__ import annotations

import json
import multiprocessing
import queue as queue_module
import random
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.synchronize import Barrier
from pathlib import Path
from threading import BrokenBarrierError
from typing import Any, Final

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from sellerpay.clock import SystemClock
from sellerpay.db import Database
from sellerpay.db.migrate import upgrade
from sellerpay.ids import uuid7
from sellerpay.ledger.rules import EntryRequest, Side, TransactionRequest
from sellerpay.ledger.service import PostStatus, batch_size_max, post_many, verify_ledger
from sellerpay.money import Money

ADMIN_URL_DEFAULT: Final = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
UNIFORM_CURRENCIES: Final = ("EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN")
HOT_CURRENCY: Final = "EUR"
HOT_ACCOUNT: Final = "platform:psp_clearing"
writers_max: Final = len(UNIFORM_CURRENCIES)  # uniform writers each keep to their own currency
transfers_max: Final = 10_000_000
writer_start_timeout_s: Final = 300.0
funding_minor: Final = 10**12  # credited to every seller's pending account before the clock runs
target_ratio: Final = 0.15
target_hot_ratio: Final = 0.70
target_single_per_s: Final = 2_000.0

Mix = tuple[tuple[str, int], ...]
# Every kind has a 3-leg share of 40 % in both mixes, so both post 2.4 entries per transfer.
UNIFORM_MIX: Final[Mix] = (
    ("order_paid", 40), ("capture", 15), ("refund", 15), ("seller_transfer", 15), ("release", 15),
)  # fmt: skip
HOT_MIX: Final[Mix] = (("order_paid", 40), ("capture", 30), ("refund", 30))  # all touch clearing
_ORDER_KINDS: Final = frozenset({"order_paid", "capture", "refund"})


class LedgerBenchFailed(Exception):
    """A section left a ledger that breaks an invariant, or did not post what it was given."""


# --- configuration -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LedgerBenchConfig:
    """The sizes of one run. `quick` finishes in well under a minute; `full` is the default."""

    size: str  # "quick", "full", or "custom" when a size was given on the command line
    transfers: int  # for (a), (b), (d) and the concurrent sections (split between writers)
    batch_size: int
    single_transfers: int
    writers: int
    sqlite_transfers: int
    sqlite_single_transfers: int
    admin_url: str = ADMIN_URL_DEFAULT
    sellers_per_currency: int = 40  # 320 sellers: 640 seller accounts and 16 platform accounts
    seed: int = 20261125

    def __post_init__(self) -> None:
        if not 1 <= self.transfers <= transfers_max:
            raise ValueError(f"transfers must be between 1 and {transfers_max}")
        if not 1 <= self.batch_size <= batch_size_max:
            raise ValueError(f"batch size must be between 1 and {batch_size_max}")
        if not 1 <= self.writers <= writers_max:
            raise ValueError(f"writers must be between 1 and {writers_max}")
        if min(self.single_transfers, self.sqlite_transfers, self.sqlite_single_transfers) < 1:
            raise ValueError("every section posts at least one transfer")
        if self.sellers_per_currency < 2:
            raise ValueError("seller transfers need two sellers per currency")

    @classmethod
    def of_size(
        cls,
        *,
        quick: bool,
        transfers: int | None = None,
        batch_size: int | None = None,
        single_transfers: int | None = None,
        writers: int | None = None,
        admin_url: str = ADMIN_URL_DEFAULT,
    ) -> LedgerBenchConfig:
        """The quick or full sizes, with any size given explicitly taking precedence."""
        base = (
            {"transfers": 20_000, "single": 2_000, "writers": 4, "sqlite": 20_000, "sqlite1": 500}
            if quick
            else {"transfers": 200_000, "single": 10_000, "writers": 8, "sqlite": 100_000,
                  "sqlite1": 1_000}
        )  # fmt: skip
        custom = transfers is not None or single_transfers is not None
        return cls(
            size="custom" if custom else ("quick" if quick else "full"),
            transfers=transfers if transfers is not None else base["transfers"],
            batch_size=batch_size if batch_size is not None else 1_000,
            single_transfers=single_transfers if single_transfers is not None else base["single"],
            writers=writers if writers is not None else base["writers"],
            sqlite_transfers=min(transfers or base["sqlite"], base["sqlite"]),
            sqlite_single_transfers=min(single_transfers or base["sqlite1"], base["sqlite1"]),
            admin_url=admin_url,
        )


# --- workload ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seller:
    id: str
    currency: str

    @property
    def pending(self) -> str:
        return f"seller:{self.id}:pending"

    @property
    def available(self) -> str:
        return f"seller:{self.id}:available"


def uniform_sellers(per_currency: int) -> list[Seller]:
    """Sellers spread over the currencies: each currency has its own platform accounts."""
    return [
        Seller(f"sel_{currency.lower()}{n:05d}", currency)
        for currency in UNIFORM_CURRENCIES
        for n in range(per_currency)
    ]


def hot_sellers(count: int) -> list[Seller]:
    """As many sellers, all in one currency: every transfer meets the same platform accounts."""
    return [Seller(f"sel_hot{n:05d}", HOT_CURRENCY) for n in range(count)]


def _legs(kind: str, seller: Seller, peer: Seller, amount: int) -> tuple[EntryRequest, ...]:
    def leg(account: str, side: Side, minor: int) -> EntryRequest:
        return EntryRequest(account, side, Money(minor, seller.currency))

    debit, credit = Side.DEBIT, Side.CREDIT
    if kind == "order_paid":  # Dr clearing, Cr seller pending, Cr commission (ARCHITECTURE.md)
        fee = amount * 12 // 100
        return (
            leg(HOT_ACCOUNT, debit, amount),
            leg(seller.pending, credit, amount - fee),
            leg("platform:revenue:commission", credit, fee),
        )
    if kind == "capture":
        return leg(HOT_ACCOUNT, debit, amount), leg(seller.pending, credit, amount)
    if kind == "refund":
        return leg(seller.available, debit, amount), leg(HOT_ACCOUNT, credit, amount)
    if kind == "seller_transfer":
        return leg(seller.available, debit, amount), leg(peer.available, credit, amount)
    if kind == "release":
        return leg(seller.pending, debit, amount), leg(seller.available, credit, amount)
    raise ValueError(f"unknown transfer kind {kind!r}")


def transfer_requests(
    count: int, sellers: Sequence[Seller], *, mix: Mix, seed: int, key_prefix: str
) -> list[TransactionRequest]:
    """`count` two- and three-leg transfers between `sellers`, each with a unique key."""
    rng = random.Random(seed)
    by_currency: dict[str, list[Seller]] = {}
    for seller in sellers:
        by_currency.setdefault(seller.currency, []).append(seller)
    kinds = rng.choices([k for k, _ in mix], weights=[w for _, w in mix], k=count)
    requests = []
    for n, kind in enumerate(kinds):
        seller = rng.choice(sellers)
        peers = by_currency[seller.currency]
        peer = peers[(peers.index(seller) + rng.randrange(1, len(peers))) % len(peers)]
        key = f"{key_prefix}-{n:08d}"
        requests.append(
            TransactionRequest(
                idempotency_key=key,
                kind=kind,
                entries=_legs(kind, seller, peer, rng.randint(1_000, 100_000)),
                references={"order": f"ord_{key}"} if kind in _ORDER_KINDS else {},
            )
        )
    return requests


def funding_requests(sellers: Sequence[Seller]) -> list[TransactionRequest]:
    """Open every account of `sellers` and fund their flagged pending accounts (not timed)."""
    requests = []
    for seller in sellers:
        requests.append(
            TransactionRequest(
                idempotency_key=f"bench-funding-{seller.id}",
                kind="bench.funding",
                entries=_legs("order_paid", seller, seller, funding_minor),
            )
        )
        requests.append(
            TransactionRequest(
                idempotency_key=f"bench-opening-{seller.id}",
                kind="bench.funding",
                entries=_legs("release", seller, seller, 1_000_000),
            )
        )
    return requests


def _batches(items: Sequence[TransactionRequest], size: int) -> Iterator[Sequence[TransactionRequest]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- measurements and results --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Measurement:
    """One timed section: how many transfers it posted (or copied) and how long it took."""

    label: str
    backend: str
    transfers: int
    seconds: float
    batch_size: int | None = None
    writers: int = 1

    @property
    def per_s(self) -> float:
        return self.transfers / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True, slots=True)
class TableRow:
    label: str
    backend: str
    transfers: int
    seconds: float
    per_s: float
    reference_per_s: float | None
    ratio: float | None
    target: str


@dataclass(frozen=True, slots=True)
class LedgerBenchResult:
    config: LedgerBenchConfig
    measurements: Mapping[str, Measurement]
    verified: tuple[str, ...] = field(default=())

    def _ratio(self, numerator: str, denominator: str) -> float:
        ref = self.measurements[denominator].per_s
        return self.measurements[numerator].per_s / ref if ref else 0.0

    @property
    def ratio(self) -> float:
        return self._ratio("batched", "reference")

    @property
    def hot_ratio(self) -> float:
        return self._ratio("hot", "batched")

    @property
    def hot_ratio_concurrent(self) -> float:
        return self._ratio("concurrent_hot", "concurrent_uniform")

    def rows(self) -> list[TableRow]:
        """The table: each section with the reference it is compared to."""
        m = self.measurements
        references = {
            "batched": ("reference", self.ratio, f">= {target_ratio:.2f}"),
            "hot": ("batched", self.hot_ratio, f">= {target_hot_ratio:.2f}"),
            "concurrent_hot": ("concurrent_uniform", self.hot_ratio_concurrent,
                               f">= {target_hot_ratio:.2f}"),
            "single": (None, None, f">= {target_single_per_s:,.0f}/s"),
            "reference": (None, 1.0, ""),
        }  # fmt: skip
        rows = []
        for key, measurement in m.items():
            reference, ratio, target = references.get(key, (None, None, ""))
            rows.append(
                TableRow(
                    label=measurement.label, backend=measurement.backend,
                    transfers=measurement.transfers, seconds=measurement.seconds,
                    per_s=measurement.per_s,
                    reference_per_s=m[reference].per_s if reference else None,
                    ratio=ratio, target=target,
                )
            )  # fmt: skip
        return rows

    def summary(self) -> dict[str, Any]:
        """The machine-readable result, printed as the last line of the command."""
        m = self.measurements
        return {
            "bench": "ledger",
            "backend": "postgresql",
            "date": datetime.now(UTC).date().isoformat(),
            "size": self.config.size,
            "transfers": m["batched"].transfers,
            "batch_size": self.config.batch_size,
            "seconds": round(m["batched"].seconds, 4),
            "transfers_per_s": round(m["batched"].per_s, 1),
            "reference_per_s": round(m["reference"].per_s, 1),
            "ratio": round(self.ratio, 4),
            "single_transfers": m["single"].transfers,
            "single_per_s": round(m["single"].per_s, 1),
            "hot_per_s": round(m["hot"].per_s, 1),
            "hot_ratio": round(self.hot_ratio, 4),
            "writers": self.config.writers,
            "concurrent_uniform_per_s": round(m["concurrent_uniform"].per_s, 1),
            "concurrent_hot_per_s": round(m["concurrent_hot"].per_s, 1),
            "hot_ratio_concurrent": round(self.hot_ratio_concurrent, 4),
            "sqlite_batched_per_s": round(m["sqlite_batched"].per_s, 1),
            "sqlite_single_per_s": round(m["sqlite_single"].per_s, 1),
            "targets": {
                "ratio": target_ratio,
                "hot_ratio": target_hot_ratio,
                "single_per_s": target_single_per_s,
            },
            "targets_met": {
                "ratio": self.ratio >= target_ratio,
                "hot_ratio": self.hot_ratio >= target_hot_ratio,
                "hot_ratio_concurrent": self.hot_ratio_concurrent >= target_hot_ratio,
                "single_per_s": m["single"].per_s >= target_single_per_s,
            },
            "verified": list(self.verified),
            "ok": True,
        }


# --- databases -----------------------------------------------------------------------------


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def bench_database(admin_url: str) -> Iterator[str]:
    """A new PostgreSQL database for this run; dropped at the end, also on failure."""
    name = f"sellerpay_bench_{secrets.token_hex(6)}"
    with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _reset_schema(url: str) -> None:
    """Empty the bench database (its own, never a user's) and checkpoint before timing."""
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
        conn.execute("CHECKPOINT")


@contextmanager
def fresh_ledger(url: str) -> Iterator[Database]:
    """An empty, migrated ledger in the bench database."""
    _reset_schema(url)
    db = Database(url, pool_size=2)
    try:
        upgrade(db)
        yield db
    finally:
        db.dispose()


def _checkpoint(db: Database) -> None:
    if db.dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("CHECKPOINT"))


def fund(db: Database, sellers: Sequence[Seller]) -> int:
    """Open and fund the accounts of `sellers` before timing; returns the transactions posted."""
    requests = funding_requests(sellers)
    for batch in _batches(requests, batch_size_max):
        _expect_posted(post_many(db, batch, clock=SystemClock()), "funding")
    _checkpoint(db)
    return len(requests)


def _expect_posted(results: Sequence[Any], section: str) -> int:
    rejected = [r for r in results if r.status is not PostStatus.POSTED]
    if rejected:
        first = rejected[0]
        raise LedgerBenchFailed(
            f"{section}: {len(rejected)} of {len(results)} transfers not posted, first "
            f"{first.idempotency_key} {first.status.value}: {first.error!r}"
        )
    return len(results)


def verify(db: Database, section: str, *, transactions: int) -> str:
    """Fail loudly unless the ledger is sound and holds exactly the transactions posted."""
    report = verify_ledger(db)
    if not report.ok:
        listed = "; ".join(f"{b.check} {b.subject}: {b.detail}" for b in report.breaches[:10])
        raise LedgerBenchFailed(f"{section}: the ledger breaks its invariants: {listed}")
    if report.transactions != transactions:
        raise LedgerBenchFailed(
            f"{section}: {report.transactions} transactions stored, {transactions} posted"
        )
    return f"{section}: {report.transactions} transactions, {report.entries} entries, ok"


# --- (a) the reference: raw COPY -----------------------------------------------------------

_REFERENCE_DDL: Final = (
    "CREATE TABLE bench_reference_transactions (id uuid PRIMARY KEY,"
    " idempotency_key varchar(255) NOT NULL, request_hash varchar(64) NOT NULL,"
    " kind varchar(64) NOT NULL, description varchar(500) NOT NULL,"
    " effective_at timestamptz NOT NULL, posted_at timestamptz NOT NULL, reverses_id uuid,"
    ' "references" jsonb NOT NULL, metadata jsonb NOT NULL)',
    "CREATE TABLE bench_reference_entries (transaction_id uuid, leg integer,"
    " account_id bigint NOT NULL, side varchar(6) NOT NULL, amount_minor bigint NOT NULL,"
    " currency varchar(3) NOT NULL, account_version bigint NOT NULL,"
    " balance_after bigint NOT NULL, effective_at timestamptz NOT NULL,"
    " PRIMARY KEY (transaction_id, leg))",
)
_REFERENCE_COPY: Final = (
    'COPY bench_reference_transactions (id, idempotency_key, request_hash, kind, description,'
    ' effective_at, posted_at, reverses_id, "references", metadata) FROM STDIN',
    "COPY bench_reference_entries (transaction_id, leg, account_id, side, amount_minor,"
    " currency, account_version, balance_after, effective_at) FROM STDIN",
)


def reference_rows(
    requests: Sequence[TransactionRequest], now: datetime
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The rows `post_many` would write for `requests`, built before the clock starts."""
    ids: dict[tuple[str, str], int] = {}
    versions: dict[int, int] = {}
    balances: dict[int, int] = {}
    transactions, entries = [], []
    for request in requests:
        transaction_id = uuid7()
        transactions.append((
            transaction_id, request.idempotency_key, request.fingerprint(), request.kind,
            request.description, now, now, None, json.dumps(dict(request.references)),
            json.dumps(dict(request.metadata)),
        ))  # fmt: skip
        for leg, entry in enumerate(request.entries):
            account_id = ids.setdefault((entry.account, entry.amount.currency), len(ids) + 1)
            versions[account_id] = version = versions.get(account_id, 0) + 1
            signed = entry.amount.amount_minor * (1 if entry.side is Side.CREDIT else -1)
            balances[account_id] = balance = balances.get(account_id, 0) + signed
            entries.append((
                transaction_id, leg, account_id, entry.side.value, entry.amount.amount_minor,
                entry.amount.currency, version, balance, now,
            ))  # fmt: skip
    return transactions, entries


def measure_reference(
    url: str, requests: Sequence[TransactionRequest], *, advance: Callable[[int], None]
) -> Measurement:
    """(a) COPY the prebuilt rows of `requests` into bare tables, in one database transaction."""
    _reset_schema(url)
    transactions, entries = reference_rows(requests, datetime.now(UTC))
    with psycopg.connect(_libpq(url)) as conn:
        for ddl in _REFERENCE_DDL:
            conn.execute(ddl)
        conn.commit()
        conn.execute("CHECKPOINT")
        started = time.perf_counter()
        with conn.cursor() as cursor:
            for statement, rows in zip(_REFERENCE_COPY, (transactions, entries), strict=True):
                with cursor.copy(statement) as copy:
                    for row in rows:
                        copy.write_row(row)
        conn.commit()
        seconds = time.perf_counter() - started
        counted = conn.execute("SELECT count(*) FROM bench_reference_transactions").fetchone()
    if counted is None or counted[0] != len(requests):
        raise LedgerBenchFailed(f"reference: {counted} rows copied, {len(requests)} expected")
    advance(len(requests))
    return Measurement("(a) reference: raw COPY", "postgresql", len(requests), seconds)


# --- (b), (c), (d): posting from this process ----------------------------------------------


def measure_batched(
    db: Database,
    requests: Sequence[TransactionRequest],
    *,
    label: str,
    batch_size: int,
    advance: Callable[[int], None],
) -> Measurement:
    """Post `requests` through `post_many`, `batch_size` per unit of work."""
    clock = SystemClock()
    posted = 0
    started = time.perf_counter()
    for batch in _batches(requests, batch_size):
        posted += _expect_posted(post_many(db, batch, clock=clock), label)
        advance(len(batch))
    seconds = time.perf_counter() - started
    return Measurement(label, db.dialect, posted, seconds, batch_size=batch_size)


def measure_single(
    db: Database,
    requests: Sequence[TransactionRequest],
    *,
    label: str,
    advance: Callable[[int], None],
) -> Measurement:
    """Post `requests` one at a time, each in its own database transaction."""
    clock = SystemClock()
    posted = 0
    step = max(1, len(requests) // 100)
    started = time.perf_counter()
    for n, request in enumerate(requests, 1):
        posted += _expect_posted(post_many(db, [request], clock=clock), label)
        if n % step == 0:
            advance(step)
    seconds = time.perf_counter() - started
    advance(len(requests) % step)
    return Measurement(label, db.dialect, posted, seconds, batch_size=1)


# --- concurrent writers --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WriterSpec:
    """What one writer process posts: its share of the transfers, on its shard of sellers."""

    url: str
    writer: int
    writers: int
    transfers: int
    batch_size: int
    hot: bool
    sellers_per_currency: int
    seed: int

    def sellers(self) -> list[Seller]:
        if self.hot:
            everyone = hot_sellers(self.sellers_per_currency * len(UNIFORM_CURRENCIES))
            return everyone[self.writer :: self.writers]
        own = set(UNIFORM_CURRENCIES[self.writer :: self.writers])
        return [s for s in uniform_sellers(self.sellers_per_currency) if s.currency in own]

    def requests(self) -> list[TransactionRequest]:
        return transfer_requests(
            self.transfers, self.sellers(), mix=HOT_MIX if self.hot else UNIFORM_MIX,
            seed=self.seed + self.writer, key_prefix=f"bench-w{self.writer}",
        )  # fmt: skip


def _writer_process(spec: WriterSpec, ready: Barrier, messages: Any) -> None:
    """One writer: build its transfers, wait for the others, then post them in batches."""
    try:
        requests = spec.requests()
        db = Database(spec.url, pool_size=1)
        with db.reading() as conn:  # connect before the clock starts
            conn.execute(text("SELECT 1"))
        ready.wait(writer_start_timeout_s)
        clock = SystemClock()
        posted = 0
        for batch in _batches(requests, spec.batch_size):
            posted += _expect_posted(post_many(db, batch, clock=clock), f"writer {spec.writer}")
            messages.put(("progress", spec.writer, len(batch), ""))
        db.dispose()
        messages.put(("done", spec.writer, posted, ""))
    except BaseException as error:
        ready.abort()
        messages.put(("error", spec.writer, 0, f"{type(error).__name__}: {error}"))
        raise


def _collect(
    messages: Any, processes: Sequence[Any], writers: int, advance: Callable[[int], None]
) -> int:
    """Wait for every writer's `done`; raise on the first error or a writer that died."""
    done, posted = 0, 0
    while done < writers:
        try:
            kind, writer, count, detail = messages.get(timeout=1.0)
        except queue_module.Empty:
            dead = [p for p in processes if p.exitcode not in (None, 0)]
            if dead:
                raise LedgerBenchFailed(f"a writer process exited with {dead[0].exitcode}") from None
            continue
        if kind == "error":
            raise LedgerBenchFailed(f"writer {writer} failed: {detail}")
        if kind == "progress":
            advance(count)
        else:
            done, posted = done + 1, posted + count
    return posted


def measure_concurrent(
    url: str, config: LedgerBenchConfig, *, hot: bool, advance: Callable[[int], None]
) -> Measurement:
    """`config.writers` processes post `config.transfers` between them, all at once."""
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(config.writers + 1)
    messages = context.Queue()
    shares = [config.transfers // config.writers] * config.writers
    shares[0] += config.transfers - sum(shares)
    processes = [
        context.Process(
            target=_writer_process,
            args=(WriterSpec(url, w, config.writers, shares[w], config.batch_size, hot,
                             config.sellers_per_currency, config.seed), ready, messages),
            daemon=True,
        )
        for w in range(config.writers)
    ]  # fmt: skip
    for process in processes:
        process.start()
    try:
        try:
            ready.wait(writer_start_timeout_s)
        except BrokenBarrierError:
            _collect(messages, processes, config.writers, advance)  # raises the writer's error
            raise
        started = time.perf_counter()
        posted = _collect(messages, processes, config.writers, advance)
        seconds = time.perf_counter() - started
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()
    label = f"concurrent {'hot' if hot else 'uniform'}, {config.writers} writers"
    return Measurement(label, "postgresql", posted, seconds, config.batch_size, config.writers)


# --- the run -------------------------------------------------------------------------------


Advance = Callable[[int], None]
StartTask = Callable[[str, int], Advance]


def _quiet(_description: str, _total: int) -> Advance:
    return lambda _n: None


def run(config: LedgerBenchConfig, *, start_task: StartTask = _quiet) -> LedgerBenchResult:
    """Every section of the benchmark; `start_task(description, total)` drives a progress bar."""
    uniform = uniform_sellers(config.sellers_per_currency)
    requests = transfer_requests(
        config.transfers, uniform, mix=UNIFORM_MIX, seed=config.seed, key_prefix="bench-b"
    )
    measurements: dict[str, Measurement] = {}
    verified: list[str] = []
    with bench_database(config.admin_url) as url:
        measurements["reference"] = measure_reference(
            url, requests, advance=start_task("(a) reference: raw COPY", len(requests))
        )
        _run_postgres_sections(url, config, requests, measurements, verified, start_task)
    _run_sqlite_sections(config, requests, measurements, verified, start_task)
    return LedgerBenchResult(config, measurements, tuple(verified))


def _run_postgres_sections(
    url: str,
    config: LedgerBenchConfig,
    requests: Sequence[TransactionRequest],
    measurements: dict[str, Measurement],
    verified: list[str],
    start_task: StartTask,
) -> None:
    uniform = uniform_sellers(config.sellers_per_currency)
    hot = hot_sellers(len(uniform))
    with fresh_ledger(url) as db:
        funded = fund(db, uniform)
        measurements["batched"] = measure_batched(
            db, requests, label=f"(b) batched, {config.batch_size} per batch",
            batch_size=config.batch_size,
            advance=start_task("(b) batched post_many", len(requests)),
        )  # fmt: skip
        verified.append(verify(db, "batched", transactions=funded + len(requests)))
    single = requests[: config.single_transfers]
    with fresh_ledger(url) as db:
        funded = fund(db, uniform)
        measurements["single"] = measure_single(
            db, single, label="(c) single, one transaction each",
            advance=start_task("(c) single transfers", len(single)),
        )  # fmt: skip
        verified.append(verify(db, "single", transactions=funded + len(single)))
    hot_requests = transfer_requests(
        config.transfers, hot, mix=HOT_MIX, seed=config.seed, key_prefix="bench-hot"
    )
    with fresh_ledger(url) as db:
        funded = fund(db, hot)
        measurements["hot"] = measure_batched(
            db, hot_requests, label=f"(d) hot batched: {HOT_ACCOUNT} {HOT_CURRENCY} in every one",
            batch_size=config.batch_size,
            advance=start_task("(d) hot batched", len(hot_requests)),
        )  # fmt: skip
        verified.append(verify(db, "hot", transactions=funded + len(hot_requests)))
    del hot_requests
    for key, is_hot, sellers in (("uniform", False, uniform), ("hot", True, hot)):
        with fresh_ledger(url) as db:
            funded = fund(db, sellers)
            measurements[f"concurrent_{key}"] = measure_concurrent(
                url, config, hot=is_hot,
                advance=start_task(f"concurrent {key}, {config.writers} writers",
                                   config.transfers),
            )  # fmt: skip
            verified.append(
                verify(db, f"concurrent {key}", transactions=funded + config.transfers)
            )


def _run_sqlite_sections(
    config: LedgerBenchConfig,
    requests: Sequence[TransactionRequest],
    measurements: dict[str, Measurement],
    verified: list[str],
    start_task: StartTask,
) -> None:
    uniform = uniform_sellers(config.sellers_per_currency)
    batched = requests[: config.sqlite_transfers]
    single = requests[: config.sqlite_single_transfers]
    with tempfile.TemporaryDirectory(prefix="sellerpay-bench-") as directory:
        for key, section in (("sqlite_batched", batched), ("sqlite_single", single)):
            db = Database(f"sqlite:///{Path(directory) / key}.db")
            try:
                upgrade(db)
                funded = fund(db, uniform)
                advance = start_task(f"SQLite {key.removeprefix('sqlite_')}", len(section))
                if key == "sqlite_batched":
                    measurements[key] = measure_batched(
                        db, section, label=f"(b) batched on SQLite, {config.batch_size} per batch",
                        batch_size=config.batch_size, advance=advance,
                    )  # fmt: skip
                else:
                    measurements[key] = measure_single(
                        db, section, label="(c) single on SQLite", advance=advance
                    )
                verified.append(verify(db, key.replace("_", " "), transactions=funded + len(section)))
            finally:
                db.dispose()
