"""The `ledger` benchmark: posting balanced transfers, measured against a raw `COPY` of the rows.

All sections run in one throw-away PostgreSQL database (`sellerpay_bench_<random>`), whose schema
is reset and migrated before each ledger section, so that each starts from empty tables as the
reference does:

- (a) reference: raw binary `COPY` of the same rows (a transaction row and its entry rows per
  transfer) into bare tables with a primary key only;
- (a2) the same `COPY` into the ledger's own tables (what the schema alone costs; not verified);
- (b) batched posting through `ledger.service.post_many`;
- (c0) reference for (c): one bare `INSERT` and `COMMIT` per transfer;
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

import gc
import multiprocessing
import queue as queue_module
import random
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
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
Advance = Callable[[int], None]  # moves a progress bar by n transfers
StartTask = Callable[[str, int], Advance]  # (description, total) -> advance
# Both mixes are 40 % three-leg transfers, so both post 2.4 entries per transfer.
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
    transfers: int  # for (a), (a2), (b) and (d)
    batch_size: int
    single_transfers: int  # for (c) and its reference
    writers: int
    concurrent_transfers: int  # between all the writers, uniform and hot each
    sqlite_transfers: int
    sqlite_single_transfers: int
    admin_url: str = ADMIN_URL_DEFAULT
    sellers_per_currency: int = 40  # 320 sellers: 640 seller accounts and 16 platform accounts
    seed: int = 20261125

    def __post_init__(self) -> None:
        sizes = (self.transfers, self.single_transfers, self.concurrent_transfers,
                 self.sqlite_transfers, self.sqlite_single_transfers)  # fmt: skip
        if not all(1 <= size <= transfers_max for size in sizes):
            raise ValueError(f"every section posts between 1 and {transfers_max} transfers")
        if not 1 <= self.batch_size <= batch_size_max:
            raise ValueError(f"batch size must be between 1 and {batch_size_max}")
        if not 1 <= self.writers <= writers_max:
            raise ValueError(f"writers must be between 1 and {writers_max}")
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
        """The quick or full sizes; a size given explicitly takes precedence (and caps SQLite)."""
        preset = _QUICK if quick else _FULL
        custom = transfers is not None or single_transfers is not None
        return replace(
            preset,
            size="custom" if custom else preset.size,
            transfers=transfers or preset.transfers,
            concurrent_transfers=transfers or preset.concurrent_transfers,
            sqlite_transfers=min(transfers or preset.sqlite_transfers, preset.sqlite_transfers),
            single_transfers=single_transfers or preset.single_transfers,
            sqlite_single_transfers=min(
                single_transfers or preset.sqlite_single_transfers,
                preset.sqlite_single_transfers,
            ),
            batch_size=batch_size or preset.batch_size,
            writers=writers or preset.writers,
            admin_url=admin_url,
        )


_QUICK: Final = LedgerBenchConfig(
    size="quick", transfers=20_000, batch_size=1_000, single_transfers=2_000, writers=4,
    concurrent_transfers=40_000, sqlite_transfers=20_000, sqlite_single_transfers=500,
)  # fmt: skip
_FULL: Final = LedgerBenchConfig(
    size="full", transfers=200_000, batch_size=1_000, single_transfers=10_000, writers=8,
    concurrent_transfers=200_000, sqlite_transfers=100_000, sqlite_single_transfers=1_000,
)  # fmt: skip


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


def _batches(
    items: Sequence[TransactionRequest], size: int
) -> Iterator[Sequence[TransactionRequest]]:
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

    def ratio_of(self, numerator: str, denominator: str) -> float:
        reference = self.measurements[denominator].per_s
        return self.measurements[numerator].per_s / reference if reference else 0.0

    @property
    def ratio(self) -> float:
        """Batched posting against the raw COPY of the same rows (target >= 0.15)."""
        return self.ratio_of("batched", "reference")

    @property
    def hot_ratio(self) -> float:
        """Batched, one hot account in every transfer, against batched uniform (>= 0.70)."""
        return self.ratio_of("hot", "batched")

    @property
    def hot_ratio_concurrent(self) -> float:
        """The same with concurrent writers (BENCHMARKS.md's ledger-hot line, >= 0.70)."""
        return self.ratio_of("concurrent_hot", "concurrent_uniform")

    def rows(self) -> list[TableRow]:
        """The table: each section with the reference it is compared to, and its target."""
        compared = {  # section -> (its reference, target)
            "ledger_tables_copy": ("reference", ""),
            "batched": ("reference", f">= {target_ratio:.2f}"),
            "single": ("commit_reference", f">= {target_single_per_s:,.0f}/s"),
            "hot": ("batched", f">= {target_hot_ratio:.2f}"),
            "concurrent_hot": ("concurrent_uniform", f">= {target_hot_ratio:.2f}"),
        }
        rows = []
        for key, m in self.measurements.items():
            reference, target = compared.get(key, ("", ""))
            rows.append(
                TableRow(
                    label=m.label, backend=m.backend, transfers=m.transfers, seconds=m.seconds,
                    per_s=m.per_s,
                    reference_per_s=self.measurements[reference].per_s if reference else None,
                    ratio=self.ratio_of(key, reference) if reference else None, target=target,
                )
            )  # fmt: skip
        return rows

    def summary(self) -> dict[str, Any]:
        """The machine-readable result, printed as the last line of the command."""
        m = self.measurements
        per_s = {key: round(measurement.per_s, 1) for key, measurement in m.items()}
        return {
            "bench": "ledger",
            "backend": "postgresql",
            "date": datetime.now(UTC).date().isoformat(),
            "size": self.config.size,
            "transfers": m["batched"].transfers,
            "batch_size": self.config.batch_size,
            "seconds": round(m["batched"].seconds, 4),
            "transfers_per_s": per_s["batched"],
            "reference_per_s": per_s["reference"],
            "ratio": round(self.ratio, 4),
            "ledger_tables_copy_per_s": per_s["ledger_tables_copy"],
            "single_transfers": m["single"].transfers,
            "single_per_s": per_s["single"],
            "commit_reference_per_s": per_s["commit_reference"],
            "hot_per_s": per_s["hot"],
            "hot_ratio": round(self.hot_ratio, 4),
            "writers": self.config.writers,
            "concurrent_uniform_per_s": per_s["concurrent_uniform"],
            "concurrent_hot_per_s": per_s["concurrent_hot"],
            "hot_ratio_concurrent": round(self.hot_ratio_concurrent, 4),
            "sqlite_batched_per_s": per_s["sqlite_batched"],
            "sqlite_single_per_s": per_s["sqlite_single"],
            "targets": {
                "ratio": target_ratio,
                "hot_ratio": target_hot_ratio,
                "hot_ratio_concurrent": target_hot_ratio,
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


# --- the references: raw COPY, and a bare commit per transfer ------------------------------

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
_TRANSACTION_COLUMNS: Final = (
    "id, idempotency_key, request_hash, kind, description, effective_at, posted_at, reverses_id,"
    ' "references", metadata'
)
_ENTRY_COLUMNS: Final = (
    "transaction_id, leg, account_id, side, amount_minor, currency, account_version,"
    " balance_after, effective_at"
)
# Binary COPY: the fastest raw COPY from Python here (~1.3x text), so the strictest reference.
_TRANSACTION_TYPES: Final = (
    "uuid", "varchar", "varchar", "varchar", "varchar", "timestamptz", "timestamptz", "uuid",
    "jsonb", "jsonb",
)  # fmt: skip
_ENTRY_TYPES: Final = (
    "uuid", "int4", "int8", "varchar", "int8", "varchar", "int8", "int8", "timestamptz",
)  # fmt: skip
Rows = list[tuple[Any, ...]]


def reference_rows(
    requests: Sequence[TransactionRequest],
    now: datetime,
    accounts: Mapping[tuple[str, str], tuple[int, int]] | None = None,
) -> tuple[Rows, Rows]:
    """The rows `post_many` writes for `requests` (built before the clock starts).

    `accounts` maps (code, currency) to (id, version) of opened accounts; without it, ids are
    numbered from 1 (the bare reference tables have no accounts).
    """
    ids = {key: account_id for key, (account_id, _) in (accounts or {}).items()}
    versions = dict((accounts or {}).values())
    balances: dict[int, int] = {}
    transactions, entries = [], []
    for request in requests:
        transaction_id = uuid7()
        transactions.append((
            transaction_id, request.idempotency_key, request.fingerprint(), request.kind,
            request.description, now, now, None, dict(request.references), dict(request.metadata),
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


def _copy_rows(
    conn: psycopg.Connection[Any], tables: tuple[str, str], transactions: Rows, entries: Rows
) -> float:
    """COPY the rows into `tables` in one database transaction; the seconds it took."""
    started = time.perf_counter()
    with conn.cursor() as cursor:
        for table, columns, types, rows in (
            (tables[0], _TRANSACTION_COLUMNS, _TRANSACTION_TYPES, transactions),
            (tables[1], _ENTRY_COLUMNS, _ENTRY_TYPES, entries),
        ):
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(types)
                for row in rows:
                    copy.write_row(row)
    conn.commit()
    return time.perf_counter() - started


def _count(conn: psycopg.Connection[Any], table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def measure_reference(
    url: str, requests: Sequence[TransactionRequest], *, advance: Advance
) -> Measurement:
    """(a) COPY the prebuilt rows of `requests` into bare tables, in one database transaction."""
    _reset_schema(url)
    transactions, entries = reference_rows(requests, datetime.now(UTC))
    with psycopg.connect(_libpq(url)) as conn:
        for ddl in _REFERENCE_DDL:
            conn.execute(ddl)
        conn.commit()
        seconds = _copy_rows(
            conn, ("bench_reference_transactions", "bench_reference_entries"), transactions, entries
        )
        copied = _count(conn, "bench_reference_transactions")
    if copied != len(requests):
        raise LedgerBenchFailed(f"reference: {copied} rows copied, {len(requests)} expected")
    advance(len(requests))
    return Measurement("(a) reference: raw COPY, bare tables", "postgresql", copied, seconds)


def measure_ledger_tables_copy(
    url: str, requests: Sequence[TransactionRequest], sellers: Sequence[Seller], *, advance: Advance
) -> Measurement:
    """The same COPY into the ledger's own tables (keys, foreign keys, indexes), accounts opened.

    Not posting (no locks, no checks, balances left as they were), so its ledger is not
    verified: it measures what the schema alone costs, and is thrown away.
    """
    with fresh_ledger(url) as db:
        fund(db, sellers)
    with psycopg.connect(_libpq(url)) as conn:
        accounts = {
            (code, currency): (account_id, version)
            for account_id, code, currency, version in conn.execute(
                "SELECT id, code, currency, version FROM ledger_accounts"
            )
        }
        transactions, entries = reference_rows(requests, datetime.now(UTC), accounts)
        conn.commit()
        before = _count(conn, "ledger_transactions")
        seconds = _copy_rows(conn, ("ledger_transactions", "ledger_entries"), transactions, entries)
        copied = _count(conn, "ledger_transactions") - before
    if copied != len(requests):
        raise LedgerBenchFailed(f"ledger tables: {copied} rows copied, {len(requests)} expected")
    advance(len(requests))
    return Measurement("(a2) the same COPY into the ledger tables", "postgresql", copied, seconds)


def measure_commit_reference(url: str, transfers: int, *, advance: Advance) -> Measurement:
    """One INSERT and one COMMIT per transfer into a bare table: what one database transaction
    per transfer costs here before any ledger work (the reference of single posting)."""
    _reset_schema(url)
    with psycopg.connect(_libpq(url)) as conn:
        conn.execute(
            "CREATE TABLE bench_commit_reference (id bigint PRIMARY KEY,"
            " idempotency_key varchar(255) NOT NULL)"
        )
        conn.commit()
        started = time.perf_counter()
        for n in range(transfers):
            conn.execute(
                "INSERT INTO bench_commit_reference (id, idempotency_key) VALUES (%s, %s)",
                (n, f"bench-commit-{n:08d}"),
            )
            conn.commit()
        seconds = time.perf_counter() - started
        committed = _count(conn, "bench_commit_reference")
    if committed != transfers:
        raise LedgerBenchFailed(f"commit reference: {committed} rows, {transfers} expected")
    advance(transfers)
    return Measurement("(c0) reference: INSERT + COMMIT each", "postgresql", committed, seconds, 1)


# --- (b), (c), (d): posting from this process ----------------------------------------------


def measure_batched(
    db: Database,
    requests: Sequence[TransactionRequest],
    *,
    label: str,
    batch_size: int,
    advance: Advance,
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
    advance: Advance,
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
        _freeze_workload()
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


def _collect(messages: Any, processes: Sequence[Any], writers: int, advance: Advance) -> int:
    """Wait for every writer's `done`; raise on the first error or a writer that died."""
    done, posted = 0, 0
    while done < writers:
        try:
            kind, writer, count, detail = messages.get(timeout=1.0)
        except queue_module.Empty:
            dead = [p for p in processes if p.exitcode not in (None, 0)]
            if dead:
                raise LedgerBenchFailed(
                    f"a writer process exited with {dead[0].exitcode}"
                ) from None
            continue
        if kind == "error":
            raise LedgerBenchFailed(f"writer {writer} failed: {detail}")
        if kind == "progress":
            advance(count)
        else:
            done, posted = done + 1, posted + count
    return posted


def measure_concurrent(
    url: str, config: LedgerBenchConfig, *, hot: bool, advance: Advance
) -> Measurement:
    """`config.writers` processes post `config.concurrent_transfers` between them, at once."""
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(config.writers + 1)
    messages = context.Queue()
    total = config.concurrent_transfers
    shares = [total // config.writers] * config.writers
    shares[0] += total - sum(shares)
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


def _quiet(_description: str, _total: int) -> Advance:
    return lambda _n: None


def _freeze_workload() -> None:
    """Keep the garbage collector from rescanning the prebuilt workload at every collection.

    A benchmark holds hundreds of thousands of requests that a caller would not: scanning them
    cost ~5 % of the batched time (pauses of ~15 ms). What the ledger itself allocates is
    still collected as usual.
    """
    gc.collect()
    gc.freeze()


def run(config: LedgerBenchConfig, *, start_task: StartTask = _quiet) -> LedgerBenchResult:
    """Every section of the benchmark; `start_task(description, total)` drives a progress bar."""
    uniform = uniform_sellers(config.sellers_per_currency)
    requests = transfer_requests(
        config.transfers, uniform, mix=UNIFORM_MIX, seed=config.seed, key_prefix="bench-b"
    )
    measurements: dict[str, Measurement] = {}
    verified: list[str] = []
    _freeze_workload()
    try:
        with bench_database(config.admin_url) as url:
            measurements["reference"] = measure_reference(
                url, requests, advance=start_task("(a) reference: raw COPY", len(requests))
            )
            advance = start_task("(a2) COPY into the ledger tables", len(requests))
            measurements["ledger_tables_copy"] = measure_ledger_tables_copy(
                url, requests, uniform, advance=advance
            )
            _run_posting_sections(url, config, requests, measurements, verified, start_task)
            _run_concurrent_sections(url, config, measurements, verified, start_task)
        _run_sqlite_sections(config, requests, measurements, verified, start_task)
    finally:
        gc.unfreeze()
    return LedgerBenchResult(config, measurements, tuple(verified))


def _run_posting_sections(
    url: str,
    config: LedgerBenchConfig,
    requests: Sequence[TransactionRequest],
    measurements: dict[str, Measurement],
    verified: list[str],
    start_task: StartTask,
) -> None:
    """(b), (c) with its reference, and (d), each on a fresh ledger verified after."""
    uniform = uniform_sellers(config.sellers_per_currency)
    with fresh_ledger(url) as db:
        funded = fund(db, uniform)
        measurements["batched"] = measure_batched(
            db, requests, label=f"(b) batched post_many, {config.batch_size:,} per batch",
            batch_size=config.batch_size,
            advance=start_task("(b) batched post_many", len(requests)),
        )  # fmt: skip
        verified.append(verify(db, "(b) batched", transactions=funded + len(requests)))
    single = requests[: config.single_transfers]
    measurements["commit_reference"] = measure_commit_reference(
        url, len(single), advance=start_task("(c0) reference: INSERT + COMMIT", len(single))
    )
    with fresh_ledger(url) as db:
        funded = fund(db, uniform)
        measurements["single"] = measure_single(
            db, single, label="(c) single post, one transaction each",
            advance=start_task("(c) single transfers", len(single)),
        )  # fmt: skip
        verified.append(verify(db, "(c) single", transactions=funded + len(single)))
    hot = hot_sellers(len(uniform))
    hot_requests = transfer_requests(
        config.transfers, hot, mix=HOT_MIX, seed=config.seed, key_prefix="bench-hot"
    )
    _freeze_workload()
    with fresh_ledger(url) as db:
        funded = fund(db, hot)
        measurements["hot"] = measure_batched(
            db, hot_requests, label=f"(d) hot batched: {HOT_ACCOUNT} in all",
            batch_size=config.batch_size,
            advance=start_task("(d) hot batched", len(hot_requests)),
        )  # fmt: skip
        verified.append(verify(db, "(d) hot", transactions=funded + len(hot_requests)))


def _run_concurrent_sections(
    url: str,
    config: LedgerBenchConfig,
    measurements: dict[str, Measurement],
    verified: list[str],
    start_task: StartTask,
) -> None:
    """Writer processes on uniform accounts, then on the hot account; each ledger verified."""
    uniform = uniform_sellers(config.sellers_per_currency)
    for key, is_hot, sellers in (
        ("uniform", False, uniform),
        ("hot", True, hot_sellers(len(uniform))),
    ):
        with fresh_ledger(url) as db:
            funded = fund(db, sellers)
            description = f"concurrent {key}, {config.writers} writers"
            measurements[f"concurrent_{key}"] = measure_concurrent(
                url,
                config,
                hot=is_hot,
                advance=start_task(description, config.concurrent_transfers),
            )
            posted = funded + config.concurrent_transfers
            verified.append(verify(db, description, transactions=posted))


def _run_sqlite_sections(
    config: LedgerBenchConfig,
    requests: Sequence[TransactionRequest],
    measurements: dict[str, Measurement],
    verified: list[str],
    start_task: StartTask,
) -> None:
    """(b) and (c) on an embedded SQLite file (WAL, synchronous=FULL), for context."""
    uniform = uniform_sellers(config.sellers_per_currency)
    batched = requests[: config.sqlite_transfers]
    single = requests[: config.sqlite_single_transfers]
    with tempfile.TemporaryDirectory(prefix="sellerpay-bench-") as directory:
        for key, section in (("sqlite_batched", batched), ("sqlite_single", single)):
            db = Database(f"sqlite:///{Path(directory) / key}.db")
            try:
                upgrade(db)
                funded = fund(db, uniform)
                name = key.replace("_", " ").replace("sqlite", "SQLite")
                advance = start_task(name, len(section))
                if key == "sqlite_batched":
                    measurements[key] = measure_batched(
                        db, section, label=f"(b) on SQLite, {config.batch_size:,} per batch",
                        batch_size=config.batch_size, advance=advance,
                    )  # fmt: skip
                else:
                    measurements[key] = measure_single(
                        db, section, label="(c) on SQLite, one transaction each", advance=advance
                    )
                verified.append(verify(db, name, transactions=funded + len(section)))
            finally:
                db.dispose()
