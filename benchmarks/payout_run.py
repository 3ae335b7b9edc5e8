"""The `payout-run` benchmark: N sellers with available balances -> payouts -> bank files.

Timed sections, at N sellers and again at N/10 (the scaling reference: linear means
t(N)/t(N/10) close to 10), each size in a database emptied and migrated for it:

- (a) the payout run: `payouts.service.run_payouts` over every seller balance (chunks of
  `--chunk-size`): decide, lock, compose, post the ledger transactions, write payouts, events;
- (b) approvals, timed on their own: every payout of the run is the first to its bank account,
  and the first-payout rule always asks for an approver whatever the thresholds (these are set
  out of reach, so it is the only reason). `service.approve_payout` once per payout, by
  `--approvers` threads (people approving at once; the audit chain orders them);
- (c) claim and bank files: `service.claim_due` until nothing is due, one file per rail and
  currency per claim of `--claim-limit` payouts: pain.001 (EUR sellers), NACHA (USD) and
  Zengin (JPY), encrypted and stored before anything is sent;
- (d) sending: `service.send_submission` of every file to an in-memory bank, which moves the
  payouts to `submitted`.

The reference, in the same run: a raw binary `COPY` of N payout rows (every column of
`payouts`) into a bare table with a primary key only (PostgreSQL only).

The sellers are made before the clock starts, through the services (sellers, bank accounts,
ledger) with many calls per database transaction (`_OneTransaction`): a bulk import, never rows
written into another context's tables. Onboarding is switched off in this process (the sellers
keep the capabilities of their status): onboarding a million sellers is not what is measured.

Checked at the end of each size: the ledger verifies (every transaction balances, balances
equal their entries, versions contiguous); every seller was paid exactly once, its whole
balance, and every payout went to the bank in exactly one file; no seller balance is left.
"""

from __future__ import annotations

import cProfile
import gc
import io
import os
import pstats
import secrets
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, TypeVar

import psycopg
from sqlalchemy import Connection, func, select, text
from sqlalchemy.engine import make_url

from sellerpay.bankaccounts import service as bank_accounts
from sellerpay.clock import FixedClock
from sellerpay.crypto import KeyRing
from sellerpay.db import Database
from sellerpay.db.migrate import upgrade
from sellerpay.ids import prefixed_id
from sellerpay.ledger.rules import EntryRequest, Side, TransactionRequest
from sellerpay.ledger.service import (
    PostStatus,
    balances_of,
    nonzero_accounts_in,
    post_many,
    verify_ledger,
)
from sellerpay.money import Money
from sellerpay.payouts import models as payout_models
from sellerpay.payouts import service
from sellerpay.payouts.rules import PayoutStatus, end_to_end_id
from sellerpay.rails.instructions import (
    AbaAccount,
    BankAccountDetails,
    IbanAccount,
    TransferStatus,
    ZenginAccount,
)
from sellerpay.sellers.service import create_seller
from sellerpay.settings import get_settings

ADMIN_URL_DEFAULT: Final = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TARGET_SECONDS_AT_1M: Final = 120.0
TARGET_SCALING_MAX: Final = 11.0
sellers_max: Final = 5_000_000
load_chunk_size: Final = 500  # sellers per loading transaction (and per funding post_many)
copy_chunk_size: Final = 50_000  # reference rows built, then copied, at a time
approvers_max: Final = 16
RUN_AT: Final = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # a Monday, before every cut-off
SEND_AT: Final = RUN_AT + timedelta(days=7)  # every execution date has come
APPROVER: Final = "bench:approver"
LOADER: Final = "bench:loader"

# (country, currency, share in %): EUR sellers are paid by SEPA (pain.001), USD by ACH
# (NACHA), JPY by Zengin.
MIX: Final = (("FR", "EUR", 60), ("US", "USD", 25), ("JP", "JPY", 15))
HOLDER: Final = {"EUR": "Bench Refurb SAS", "USD": "Bench Refurb Inc", "JPY": "ﾍﾞﾝﾁ ﾘﾌｧﾌﾞ"}

StartTask = Callable[[str, int], Callable[[int], None]]
T = TypeVar("T")


class PayoutRunBenchFailed(Exception):
    """A size did not pay every seller exactly once, or left a ledger that breaks an invariant."""


# --- configuration -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PayoutRunBenchConfig:
    size: str  # "quick", "full" or "custom"
    sellers: int
    backend: str  # "postgresql" | "sqlite"
    admin_url: str = ADMIN_URL_DEFAULT
    chunk_size: int = 1_000
    approvers: int = 4
    claim_limit: int = 10_000
    profile_path: Path | None = None
    seed: int = 20261125

    def __post_init__(self) -> None:
        if not 100 <= self.sellers <= sellers_max:
            raise ValueError(f"sellers must be between 100 and {sellers_max:,}")
        if self.backend not in ("postgresql", "sqlite"):
            raise ValueError("backend must be postgresql or sqlite")
        if not 1 <= self.chunk_size <= 50_000:
            raise ValueError("chunk size must be between 1 and 50,000")
        if not 1 <= self.approvers <= approvers_max:
            raise ValueError(f"approvers must be between 1 and {approvers_max}")
        if not 1 <= self.claim_limit <= 99_999:
            raise ValueError("claim limit must be between 1 and 99,999 (a Zengin file's limit)")

    @staticmethod
    def of_size(
        *,
        quick: bool,
        sellers: int | None,
        backend: str,
        admin_url: str = ADMIN_URL_DEFAULT,
        chunk_size: int | None = None,
        approvers: int | None = None,
        profile_path: Path | None = None,
    ) -> PayoutRunBenchConfig:
        preset = 5_000 if quick else 1_000_000
        return PayoutRunBenchConfig(
            size="custom" if sellers else ("quick" if quick else "full"),
            sellers=sellers or preset,
            backend=backend,
            admin_url=admin_url,
            chunk_size=chunk_size or 1_000,
            # SQLite has one writer at a time: more threads only queue on its lock
            approvers=approvers or (1 if backend == "sqlite" else 4),
            profile_path=profile_path,
        )


def describe(config: PayoutRunBenchConfig) -> str:
    where = (
        make_url(config.admin_url).render_as_string(hide_password=True)
        if config.backend == "postgresql"
        else "a temporary SQLite file"
    )
    return (
        f"payout-run benchmark ({config.size}) on {config.backend} ({where}): "
        f"{config.sellers:,} and {config.sellers // 10:,} sellers "
        f"({', '.join(f'{s}% {c}' for _, c, s in MIX)}), runs in chunks of "
        f"{config.chunk_size:,}, {config.approvers} approver(s), claims of "
        f"{config.claim_limit:,}"
    )


# --- results -------------------------------------------------------------------------------

SECTIONS: Final = ("run", "approvals", "claim_files", "send")
LABELS: Final = {
    "run": "(a) payout run",
    "approvals": "(b) approvals",
    "claim_files": "(c) claim + bank files",
    "send": "(d) send to the bank",
    "reference": "reference: COPY payout rows",
}


@dataclass(frozen=True, slots=True)
class Row:
    section: str
    sellers: int
    seconds: float
    backend: str

    @property
    def per_s(self) -> float:
        return self.sellers / self.seconds if self.seconds > 0 else 0.0


@dataclass
class PayoutRunBenchResult:
    config: PayoutRunBenchConfig
    rows: list[Row] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)
    files: dict[str, int] = field(default_factory=dict)  # rail -> files at size N
    profile: str = ""

    def seconds(self, section: str, sellers: int) -> float:
        return sum(r.seconds for r in self.rows if r.section == section and r.sellers == sellers)

    def end_to_end(self, sellers: int) -> float:
        """Sellers to bank files: the run, claim and files, sending (approvals apart)."""
        return sum(self.seconds(s, sellers) for s in ("run", "claim_files", "send"))

    def scaling(self, section: str | None = None) -> float:
        n, small = self.config.sellers, self.config.sellers // 10
        big_s = self.end_to_end(n) if section is None else self.seconds(section, n)
        small_s = self.end_to_end(small) if section is None else self.seconds(section, small)
        return big_s / small_s if small_s else 0.0

    def reference_per_s(self) -> float | None:
        rows = [r for r in self.rows if r.section == "reference"]
        return rows[0].per_s if rows else None

    def projected_1m_s(self) -> float:
        """The end-to-end time scaled linearly to a million sellers (for the target)."""
        return self.end_to_end(self.config.sellers) * 1_000_000 / self.config.sellers

    def table_rows(self) -> list[tuple[str, ...]]:
        reference = self.reference_per_s()
        out: list[tuple[str, ...]] = []
        for r in self.rows:
            big = r.sellers == self.config.sellers and r.section in SECTIONS
            ratio = f"{r.per_s / reference:.3f}" if reference and r.section == "run" and big else ""
            target = ""
            if big and r.section == "run":
                target = f"t(N)/t(N/10) <= {TARGET_SCALING_MAX:g}"
            out.append((
                LABELS[r.section], f"{r.sellers:,}", f"{r.seconds:.2f}", f"{r.per_s:,.0f}",
                f"{reference:,.0f}" if reference and r.section == "run" else "", ratio,
                f"{self.scaling(r.section):.2f}" if big else "", target, r.backend,
            ))  # fmt: skip
        n = self.config.sellers
        out.append((
            "(a)+(c)+(d) sellers to bank files", f"{n:,}", f"{self.end_to_end(n):.2f}",
            f"{n / self.end_to_end(n):,.0f}" if self.end_to_end(n) else "", "", "",
            f"{self.scaling():.2f}", f"1M <= {TARGET_SECONDS_AT_1M:g} s "
            f"(projected {self.projected_1m_s():,.0f} s)", self.config.backend,
        ))  # fmt: skip
        return out

    def summary(self) -> dict[str, Any]:
        n = self.config.sellers
        data: dict[str, Any] = {
            "bench": "payout-run",
            "ok": True,
            "date": datetime.now(UTC).date().isoformat(),
            "size": self.config.size,
            "backend": self.config.backend,
            "sellers": n,
            "chunk_size": self.config.chunk_size,
            "approvers": self.config.approvers,
            "profiled": self.config.profile_path is not None,
        }
        for section in SECTIONS:
            seconds = self.seconds(section, n)
            data[f"{section}_seconds"] = round(seconds, 3)
            data[f"{section}_per_s"] = round(n / seconds) if seconds else None
            data[f"{section}_scaling"] = round(self.scaling(section), 2)
        end_to_end = self.end_to_end(n)
        reference = self.reference_per_s()
        data.update(
            end_to_end_seconds=round(end_to_end, 3),
            end_to_end_scaling=round(self.scaling(), 2),
            projected_1m_seconds=round(self.projected_1m_s(), 1),
            reference_copy_per_s=None if reference is None else round(reference),
            run_ratio_to_copy=(
                None if not reference else round(n / self.seconds("run", n) / reference, 4)
            ),
            files=dict(self.files),
            targets={"seconds_at_1m": TARGET_SECONDS_AT_1M, "scaling_max": TARGET_SCALING_MAX},
            targets_met={
                "seconds_at_1m": self.projected_1m_s() <= TARGET_SECONDS_AT_1M,
                "scaling_max": self.scaling() <= TARGET_SCALING_MAX,
            },
            verified=list(self.verified),
        )
        return data


# --- the population ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BenchSeller:
    id: str
    country: str
    currency: str
    available_minor: int


def population(prefix: str, count: int, seed: int) -> list[BenchSeller]:
    """`count` sellers in the mix, each with a balance of 10.00 to 5,000.00 (or yen)."""
    weights = [share for _, _, share in MIX]
    out = []
    for i in range(count):
        slot = (i * 7919 + seed) % sum(weights)  # deterministic, evenly spread
        country, currency = _pick(slot, weights)
        amount = 1_000 + (i * 104_729 + seed) % 499_000
        out.append(BenchSeller(f"sel_{prefix}{i:08d}", country, currency, amount))
    return out


def _pick(slot: int, weights: Sequence[int]) -> tuple[str, str]:
    for (country, currency, _), weight in zip(MIX, weights, strict=True):
        if slot < weight:
            return country, currency
        slot -= weight
    raise AssertionError("unreachable")  # pragma: no cover


def bank_details(seller: BenchSeller, i: int) -> BankAccountDetails:
    """A valid account of the seller's rail, its own number (an Austrian IBAN for EUR)."""
    if seller.currency == "EUR":
        return IbanAccount(_austrian_iban(i))
    if seller.currency == "USD":
        return AbaAccount("021000021", f"{i + 1:09d}", "checking")
    return ZenginAccount("0001", "001", f"{i % 10_000_000:07d}")


def _austrian_iban(i: int) -> str:
    """Austria's account numbers carry no national check digit, so any number is valid (a
    German one would need its bank's own key)."""
    bban = f"12000{i % 10**11:011d}"  # UniCredit Bank Austria, account i
    check = 98 - int(bban + "102900") % 97  # A = 10, T = 29, then "00"
    return f"AT{check:02d}{bban}"


# --- loading through the services, many calls per database transaction ----------------------


class _OneTransaction(Database):
    """A `Database` whose units of work all run in one open transaction: the loader calls the
    services' own functions (`create_seller`, `add_bank_account`) hundreds of times per commit,
    as a bulk import would. A failure fails the whole batch (the loader then stops)."""

    def __init__(self, db: Database, conn: Connection) -> None:  # shares db's engine
        self.url, self.dialect, self.engine = db.url, db.dialect, db.engine
        self._conn = conn

    def run(
        self,
        work: Callable[[Connection], T],
        *,
        attempts_max: int = 1,
        retry_unique_violations: bool = False,
    ) -> T:
        return work(self._conn)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        yield self._conn

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        yield self._conn


def load(
    db: Database,
    sellers: Sequence[BenchSeller],
    *,
    clock: FixedClock,
    keyring: KeyRing,
    advance: Callable[[int], None],
) -> None:
    """Sellers, a verified default bank account each (past its cool-down), and their balance:
    one database transaction and one funding `post_many` per `load_chunk_size` sellers."""
    added_at = clock.now() - timedelta(hours=get_settings().bank_account_cooldown_hours + 1)
    for start in range(0, len(sellers), load_chunk_size):
        chunk = sellers[start : start + load_chunk_size]
        with db.transaction() as conn:
            batch = _OneTransaction(db, conn)
            for offset, seller in enumerate(chunk):
                _load_seller(batch, conn, seller, start + offset, clock, added_at, keyring)
        results = post_many(db, [_funding(s) for s in chunk], clock=clock)
        refused = [r for r in results if r.status is not PostStatus.POSTED]
        if refused:
            raise PayoutRunBenchFailed(f"funding refused: {refused[0].error!r}")
        advance(len(chunk))


def _load_seller(
    batch: Database,
    conn: Connection,
    seller: BenchSeller,
    i: int,
    clock: FixedClock,
    added_at: datetime,
    keyring: KeyRing,
) -> None:
    create_seller(
        batch,
        seller_id=seller.id,
        legal_name=f"Bench Refurb {i}",
        country=seller.country,
        default_currency=seller.currency,
        clock=clock,
    )
    account, _ = bank_accounts.add_bank_account(
        batch,
        seller_id=seller.id,
        details=bank_details(seller, i),
        holder_name=HOLDER[seller.currency],
        currency=seller.currency,
        make_default=True,
        actor=LOADER,
        now=added_at,
        keyring=keyring,
    )
    bank_accounts.record_verification(
        conn, account.id, note="bench: verified", actor=LOADER, now=added_at
    )


def _funding(seller: BenchSeller) -> TransactionRequest:
    amount = Money(seller.available_minor, seller.currency)
    return TransactionRequest(
        idempotency_key=f"bench:funding:{seller.id}",
        kind="bench.funding",
        entries=(
            EntryRequest("platform:psp_clearing", Side.DEBIT, amount),
            EntryRequest(f"seller:{seller.id}:available", Side.CREDIT, amount),
        ),
        references={"order": f"ord_{seller.id}"},
    )


# --- the in-memory bank --------------------------------------------------------------------


@dataclass
class MemoryBank:
    """A bank that takes every file at once and remembers what it took (thread-safe enough
    for one sender). It never reads the files: the checks count payouts in the database."""

    received: list[tuple[str, str, int, str]] = field(default_factory=list)
    message_ids: Counter[str] = field(default_factory=Counter)

    def send(self, rail: str, filename: str, content: bytes, message_id: str) -> None:
        self.message_ids[message_id] += 1
        self.received.append((rail, filename, len(content), message_id))

    def inquire(
        self, rail: str, message_id: str, end_to_end_ids: Sequence[str]
    ) -> Sequence[TransferStatus]:
        state = "accepted" if self.message_ids[message_id] else "unknown"
        return [TransferStatus(e2e, state) for e2e in end_to_end_ids]  # type: ignore[arg-type]

    def collect(self) -> Sequence[Any]:
        return []


# --- the timed sections --------------------------------------------------------------------


def policy(chunk_size: int) -> service.PayoutPolicy:
    """Thresholds out of reach: the first-payout rule is the only reason to approve."""
    return service.PayoutPolicy(
        approval_thresholds={currency: 10**15 for _, currency, _ in MIX},
        minimum_default={currency: 100 for _, currency, _ in MIX},
        fx_margin_bps=50,
        return_fees={},
        platform_bank="main",
        chunk_size=chunk_size,
    )


def _timed(work: Callable[[], T]) -> tuple[T, float]:
    gc.collect()
    started = time.perf_counter()
    value = work()
    return value, time.perf_counter() - started


def time_run(
    db: Database,
    config: PayoutRunBenchConfig,
    keyring: KeyRing,
    *,
    advance: Callable[[int], None],
    profiler: cProfile.Profile | None = None,
) -> tuple[service.RunReport, float]:
    clock = FixedClock(RUN_AT)

    def work() -> service.RunReport:
        if profiler is not None:
            profiler.enable()
        try:
            return service.run_payouts(
                db,
                run_on=RUN_AT.date(),
                clock=clock,
                keyring=keyring,
                policy=policy(config.chunk_size),
                run_key="bench",
                on_chunk=lambda chunk: advance(chunk.due),
            )
        finally:
            if profiler is not None:
                profiler.disable()

    return _timed(work)


def pending_payouts(db: Database, run_id: str) -> list[str]:
    """Every payout of the run waiting for an approver, read a page at a time (untimed)."""
    ids: list[str] = []
    after = None
    while True:
        page = service.list_payouts(
            db,
            service.PayoutFilter(status=PayoutStatus.PENDING, run_id=run_id),
            after_id=after,
            limit=10_000,
        )
        if not page:
            return ids
        ids += [p.id for p in page]
        after = page[-1].id


def time_approvals(
    db: Database,
    payout_ids: Sequence[str],
    keyring: KeyRing,
    *,
    approvers: int,
    advance: Callable[[int], None],
) -> float:
    """`approve_payout` once per payout, `approvers` threads taking every approvers-th one."""
    clock = FixedClock(RUN_AT + timedelta(hours=1))
    errors: list[BaseException] = []

    def approver(part: Sequence[str]) -> None:
        try:
            for n, payout_id in enumerate(part, start=1):
                service.approve_payout(
                    db, payout_id, approver=APPROVER, clock=clock, keyring=keyring
                )
                if n % 100 == 0:
                    advance(100)
            advance(len(part) % 100)
        except BaseException as error:  # reported after the join
            errors.append(error)

    def work() -> None:
        threads = [
            threading.Thread(target=approver, args=(payout_ids[k::approvers],))
            for k in range(approvers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    _, seconds = _timed(work)
    if errors:
        raise PayoutRunBenchFailed(f"approval failed: {errors[0]!r}") from errors[0]
    return seconds


def time_claims(
    db: Database,
    config: PayoutRunBenchConfig,
    keyring: KeyRing,
    *,
    sellers: int,
    advance: Callable[[int], None],
    profiler: cProfile.Profile | None = None,
) -> tuple[list[str], float]:
    """`claim_due` until nothing is due: the files, written and stored, of every payout."""
    clock = FixedClock(SEND_AT)
    originators = service.originators()
    remaining = [sellers]

    def work() -> list[str]:
        if profiler is not None:
            profiler.enable()
        try:
            submissions: list[str] = []
            while True:
                claimed = service.claim_due(
                    db,
                    clock=clock,
                    keyring=keyring,
                    originators=originators,
                    limit=config.claim_limit,
                )
                if not claimed:
                    return submissions
                submissions += claimed
                advance(min(config.claim_limit, remaining[0]))
                remaining[0] -= min(config.claim_limit, remaining[0])
        finally:
            if profiler is not None:
                profiler.disable()

    return _timed(work)


def time_sending(
    db: Database,
    submissions: Sequence[str],
    bank: MemoryBank,
    keyring: KeyRing,
    *,
    advance: Callable[[int], None],
) -> float:
    clock = FixedClock(SEND_AT)

    def work() -> None:
        for submission_id in submissions:
            outcome, count = service.send_submission(
                db, submission_id, bank=bank, clock=clock, keyring=keyring
            )
            if outcome != "sent":
                raise PayoutRunBenchFailed(f"submission {submission_id}: {outcome}")
            advance(count)

    return _timed(work)[1]


# --- the reference: COPY of the payout rows ------------------------------------------------

_PAYOUT_COLUMNS: Final = tuple(c.name for c in payout_models.payouts.columns)


def _reference_rows(sellers: Sequence[BenchSeller]) -> list[tuple[Any, ...]]:
    """Rows shaped as the run writes them (every column of `payouts`)."""
    now = RUN_AT
    rows = []
    for seller in sellers:
        payout_id = prefixed_id("po")
        values: dict[str, Any] = {
            "id": payout_id, "seller_id": seller.id, "kind": "scheduled", "status": "pending",
            "source_currency": seller.currency, "source_amount_minor": seller.available_minor,
            "currency": seller.currency, "amount_minor": seller.available_minor,
            "bank_account_id": prefixed_id("ba"), "bank_account_masked": "•••• 0000",
            "rail": {"EUR": "sepa", "USD": "ach", "JPY": "zengin"}[seller.currency],
            "end_to_end_id": end_to_end_id(payout_id), "run_id": "run_bench",
            "idempotency_key": f"run:run_bench:{seller.id}:{seller.currency}",
            "request_hash": "", "description": f"Payout {now.date().isoformat()}",
            "execution_date": now.date(), "approval_reasons": '["first_payout_to_bank_account"]',
            "requested_by": "system:payout-run", "created_at": now, "updated_at": now,
            "version": 1,
        }  # fmt: skip
        rows.append(tuple(values.get(name) for name in _PAYOUT_COLUMNS))
    return rows


def _reference_ddl() -> str:
    types = {
        "source_amount_minor": "bigint", "amount_minor": "bigint", "fx_margin_bps": "integer",
        "fx_margin_minor": "bigint", "return_fee_minor": "bigint", "version": "integer",
        "execution_date": "date", "approval_reasons": "jsonb",
    }  # fmt: skip
    times = {"approved_at", "created_at", "updated_at", "submitted_at", "paid_at", "closed_at"}
    columns = [
        f"{name} {'timestamptz' if name in times else types.get(name, 'varchar(255)')}"
        + (" PRIMARY KEY" if name == "id" else "")
        for name in _PAYOUT_COLUMNS
    ]
    return f"CREATE TABLE bench_reference_payouts ({', '.join(columns)})"


def time_reference(url: str, sellers: Sequence[BenchSeller]) -> float:
    """COPY N payout rows into a bare table in one transaction; rows are built a chunk at a
    time before each chunk's clock starts (a million rows at once would not fit in memory)."""
    seconds = 0.0
    columns = ", ".join(_PAYOUT_COLUMNS)
    with psycopg.connect(_libpq(url)) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_reference_payouts")
        conn.execute(_reference_ddl())
        conn.commit()
        with conn.cursor() as cursor:
            for start in range(0, len(sellers), copy_chunk_size):
                rows = _reference_rows(sellers[start : start + copy_chunk_size])
                started = time.perf_counter()
                with cursor.copy(f"COPY bench_reference_payouts ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                seconds += time.perf_counter() - started
        started = time.perf_counter()
        conn.commit()
        seconds += time.perf_counter() - started
        stored = conn.execute("SELECT count(*) FROM bench_reference_payouts").fetchone()
        if stored is None or stored[0] != len(sellers):
            raise PayoutRunBenchFailed("the reference COPY did not store every row")
        conn.execute("DROP TABLE bench_reference_payouts")
        conn.commit()
    return seconds


# --- checks --------------------------------------------------------------------------------


def check(
    db: Database,
    sellers: Sequence[BenchSeller],
    run: service.RunReport,
    bank: MemoryBank,
    submissions: Sequence[str],
) -> list[str]:
    """Fail loudly unless every seller was paid once, its whole balance, in one file sent
    once, and the ledger is sound."""
    label = f"N={len(sellers):,}"
    expected = Counter[str]()
    for seller in sellers:
        expected[seller.currency] += seller.available_minor
    if run.payout_count != len(sellers) or dict(run.totals) != dict(expected):
        raise PayoutRunBenchFailed(
            f"{label}: the run paid {run.payout_count} sellers {dict(run.totals)}, "
            f"expected {len(sellers)} {dict(expected)}"
        )
    p = payout_models.payouts.c
    with db.reading() as conn:
        counts = conn.execute(
            select(
                func.count(),
                func.count(func.distinct(p.seller_id)),
                func.count(func.distinct(p.submission_id)),
            ).where(p.run_id == run.run_id, p.status == PayoutStatus.SUBMITTED.value)
        ).one()
        others = conn.execute(
            select(func.count())
            .select_from(payout_models.payouts)
            .where((p.run_id != run.run_id) | (p.status != PayoutStatus.SUBMITTED.value))
        ).scalar_one()
        left = nonzero_accounts_in(conn, prefix="seller:", suffix=":available", after=None, limit=1)
    if tuple(counts) != (len(sellers), len(sellers), len(submissions)) or others:
        raise PayoutRunBenchFailed(
            f"{label}: {counts[0]} payouts submitted for {counts[1]} sellers in {counts[2]} "
            f"files, {others} other payouts; expected one each for {len(sellers)} sellers"
        )
    if left:
        raise PayoutRunBenchFailed(f"{label}: {left[0].code} still holds money")
    twice = [m for m, n in bank.message_ids.items() if n != 1]
    if twice or len(bank.message_ids) != len(submissions):
        raise PayoutRunBenchFailed(
            f"{label}: files sent {len(bank.received)} times, twice: {twice}"
        )
    transit = balances_of(db, [("platform:payouts_in_transit", c) for c in expected])
    for currency, minor in expected.items():
        held = transit.get(("platform:payouts_in_transit", currency), Money(0, currency))
        if held.amount_minor != minor:
            raise PayoutRunBenchFailed(f"{label}: {held} in transit, {minor} paid")
    report = verify_ledger(db)
    if not report.ok:
        listed = "; ".join(f"{b.check} {b.subject}: {b.detail}" for b in report.breaches[:5])
        raise PayoutRunBenchFailed(f"{label}: the ledger breaks its invariants: {listed}")
    return [
        f"{label}: {len(sellers):,} sellers paid once each, whole balances "
        f"({', '.join(f'{c} {m:,}' for c, m in sorted(expected.items()))} minor units), "
        f"in {len(submissions)} files each sent once; nothing left available",
        f"{label}: ledger verified ({report.transactions:,} transactions, "
        f"{report.entries:,} entries)",
    ]


# --- databases -----------------------------------------------------------------------------


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def bench_database(config: PayoutRunBenchConfig) -> Iterator[str]:
    """A database of this run's own (PostgreSQL: created then dropped; SQLite: a temporary
    directory); yields its URL."""
    if config.backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="sellerpay-bench-") as directory:
            yield f"sqlite:///{Path(directory) / 'bench.db'}"
        return
    name = f"sellerpay_bench_{secrets.token_hex(6)}"
    admin = _libpq(config.admin_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(config.admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_database(url: str, *, approvers: int) -> Iterator[Database]:
    """The bench database emptied and migrated (each size starts from empty tables)."""
    if url.startswith("sqlite"):
        Path(make_url(url).database or "").unlink(missing_ok=True)
    else:
        with psycopg.connect(_libpq(url), autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
    db = Database(url, pool_size=approvers + 2)
    try:
        upgrade(db)
        yield db
    finally:
        db.dispose()


def _checkpoint(db: Database) -> None:
    """Start the clock on a quiet database (the load's dirty pages written, statistics fresh)."""
    if db.dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
            conn.execute(text("CHECKPOINT"))


@contextmanager
def onboarding_not_required() -> Iterator[None]:
    """Sellers keep the capabilities of their status in this process while the bench runs."""
    name = "SELLERPAY_ONBOARDING_REQUIRED"
    before = os.environ.get(name)
    os.environ[name] = "false"
    get_settings.cache_clear()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before
        get_settings.cache_clear()


# --- one size, and the whole benchmark -----------------------------------------------------


def run_size(
    url: str,
    config: PayoutRunBenchConfig,
    sellers: Sequence[BenchSeller],
    result: PayoutRunBenchResult,
    *,
    start_task: StartTask,
    profile: bool,
) -> None:
    n = len(sellers)
    keyring = KeyRing(current_key_id="bench", keys={"bench": secrets.token_bytes(32)})
    backend = config.backend
    profiler = cProfile.Profile() if profile else None
    with fresh_database(url, approvers=config.approvers) as db:
        loading = start_task(f"load {n:,} sellers (untimed)", n)
        load(db, sellers, clock=FixedClock(RUN_AT), keyring=keyring, advance=loading)
        _checkpoint(db)
        advance = start_task(f"(a) payout run, {n:,}", n)
        run, seconds = time_run(db, config, keyring, profiler=profiler, advance=advance)
        result.rows.append(Row("run", n, seconds, backend))
        pending = pending_payouts(db, run.run_id)
        advance = start_task(f"(b) approvals, {n:,}", len(pending))
        seconds = time_approvals(db, pending, keyring, approvers=config.approvers, advance=advance)
        result.rows.append(Row("approvals", n, seconds, backend))
        advance = start_task(f"(c) claim + files, {n:,}", n)
        submissions, seconds = time_claims(
            db, config, keyring, sellers=n, profiler=profiler, advance=advance
        )
        result.rows.append(Row("claim_files", n, seconds, backend))
        bank = MemoryBank()
        advance = start_task(f"(d) send, {n:,}", n)
        seconds = time_sending(db, submissions, bank, keyring, advance=advance)
        result.rows.append(Row("send", n, seconds, backend))
        if n == config.sellers:
            result.files = dict(Counter(rail for rail, *_ in bank.received))
        result.verified += check(db, sellers, run, bank, submissions)
    if profiler is not None:
        result.profile = _top_costs(profiler)


def _top_costs(profiler: cProfile.Profile, lines: int = 25) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime")
    stats.print_stats(lines)
    return out.getvalue()


def run(config: PayoutRunBenchConfig, *, start_task: StartTask) -> PayoutRunBenchResult:
    """N/10 then N, each in an emptied database; then the COPY reference at N."""
    result = PayoutRunBenchResult(config)
    small = population("s", config.sellers // 10, config.seed)
    big = population("n", config.sellers, config.seed)
    with onboarding_not_required(), bench_database(config) as url:
        run_size(url, config, small, result, start_task=start_task, profile=False)
        profile = config.profile_path is not None
        run_size(url, config, big, result, start_task=start_task, profile=profile)
        if config.backend == "postgresql":
            seconds = time_reference(url, big)
            result.rows.append(Row("reference", len(big), seconds, "postgresql"))
    if config.profile_path is not None and result.profile:
        config.profile_path.write_text(result.profile, encoding="utf-8")
    return result
