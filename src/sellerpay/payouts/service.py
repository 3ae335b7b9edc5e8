"""Use cases of payouts: runs, on-demand payouts, approvals, submission to banks at most once,
bank status reports and returns, exchange rates.

Every state change is one unit of work holding the payout's ledger transaction, its outbox
event and (for people's decisions) its audit record (RELIABILITY.md, invariant 7). Money moves:

    created   Dr seller:<id>:available  Cr platform:payouts_in_transit          (same currency)
              Dr seller available EUR, Cr platform:fx:EUR; Dr platform:fx:USD,
              Cr platform:payouts_in_transit USD, Cr platform:revenue:fx USD     (FX)
    paid      Dr platform:payouts_in_transit  Cr platform:bank:<bank>
    failed / canceled   the mirror of "created"
    returned  Dr platform:bank:<bank>  Cr seller available (through platform:fx:* when FX),
              then the return fee, if any: Dr seller available  Cr revenue:payout_fees
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final, cast

import structlog
from sqlalchemy import Connection, Row, bindparam, func, select, update

from sellerpay.audit.service import record_audit
from sellerpay.bankaccounts import service as bank_accounts
from sellerpay.clock import Clock
from sellerpay.crypto import KeyRing
from sellerpay.db import Database
from sellerpay.errors import Conflict, InvalidInput, NotFound, invariant
from sellerpay.events.service import record_events
from sellerpay.ids import prefixed_id
from sellerpay.ledger.rules import EntryRequest, Side, TransactionRequest
from sellerpay.ledger.service import (
    PostStatus,
    entries_after_versions_in,
    lock_account_states_in,
    nonzero_accounts_in,
    post_many_in,
)
from sellerpay.money import ExchangeRate, Money
from sellerpay.onboarding.service import capabilities_of
from sellerpay.payouts import models
from sellerpay.payouts.banking import BankConnection, BankRefused, BankTimeout
from sellerpay.payouts.calendar import execution_date
from sellerpay.payouts.files import write_bank_file
from sellerpay.payouts.rules import (
    ApprovalReason,
    Candidate,
    CompositionItem,
    Conversion,
    Cursor,
    Decision,
    Destination,
    PayoutStatus,
    SkipReason,
    StreamItem,
    approval_reasons,
    check_approver,
    check_transition,
    compose,
    convert_for_payout,
    decide,
    end_to_end_id,
)
from sellerpay.payouts.schedules import PayoutSchedule, is_due
from sellerpay.rails.instructions import (
    AbaAccount,
    CreditTransfer,
    IbanAccount,
    Originator,
    RailName,
    ReturnNotice,
    StatusReport,
    TransferStatus,
    UkAccount,
    ZenginAccount,
)
from sellerpay.rails.nacha import individual_id_for
from sellerpay.rails.returns import describe_reason
from sellerpay.settings import Settings, get_settings

log = structlog.get_logger(__name__)

_S = PayoutStatus
payout_fields_max: Final = 500
AVAILABLE_PREFIX: Final = "seller:"
AVAILABLE_SUFFIX: Final = ":available"
IN_TRANSIT: Final = "platform:payouts_in_transit"


def available_account(seller_id: str) -> str:
    return f"seller:{seller_id}:available"


def seller_of(account_code: str) -> str:
    return account_code.split(":")[1]


# --- policy ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PayoutPolicy:
    """The settings payouts read, in one place (tests build their own)."""

    approval_thresholds: Mapping[str, int]
    minimum_default: Mapping[str, int]
    fx_margin_bps: int
    return_fees: Mapping[str, int]
    platform_bank: str
    chunk_size: int
    default_interval: str = "daily"

    @staticmethod
    def from_settings(settings: Settings | None = None) -> PayoutPolicy:
        s = settings or get_settings()
        return PayoutPolicy(
            approval_thresholds=dict(s.payout_approval_threshold_minor),
            minimum_default=dict(s.payout_minimum_minor),
            fx_margin_bps=s.payout_fx_margin_bps,
            return_fees=dict(s.payout_return_fee_minor),
            platform_bank=s.platform_bank_account,
            chunk_size=s.payout_run_chunk_size,
        )

    def bank_account_code(self) -> str:
        return f"platform:bank:{self.platform_bank}"


# --- what callers read -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Payout:
    id: str
    seller_id: str
    kind: str
    status: PayoutStatus
    source: Money
    amount: Money
    fx_rate: str | None
    fx_margin: Money | None
    bank_account_id: str
    bank_account_masked: str
    rail: str
    end_to_end_id: str
    run_id: str | None
    description: str
    execution_date: date
    bank_reference: str | None
    approval_reasons: tuple[str, ...]
    requested_by: str
    approved_by: str | None
    approved_at: datetime | None
    status_reason_code: str | None
    status_reason_text: str | None
    return_fee: Money | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    paid_at: datetime | None
    closed_at: datetime | None
    version: int

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "seller_id": self.seller_id,
            "kind": self.kind,
            "status": self.status.value,
            "amount": self.amount,
            "source": self.source,
            "fx_rate": self.fx_rate,
            "bank_account_id": self.bank_account_id,
            "rail": self.rail,
            "end_to_end_id": self.end_to_end_id,
        }


def _payout(row: Row[Any]) -> Payout:
    margin = row.fx_margin_minor
    return Payout(
        id=row.id,
        seller_id=row.seller_id,
        kind=row.kind,
        status=PayoutStatus(row.status),
        source=Money(row.source_amount_minor, row.source_currency),
        amount=Money(row.amount_minor, row.currency),
        fx_rate=row.fx_rate,
        fx_margin=None if margin is None else Money(margin, row.currency),
        bank_account_id=row.bank_account_id,
        bank_account_masked=row.bank_account_masked,
        rail=row.rail,
        end_to_end_id=row.end_to_end_id,
        run_id=row.run_id,
        description=row.description,
        execution_date=row.execution_date,
        bank_reference=row.bank_reference,
        approval_reasons=tuple(row.approval_reasons),
        requested_by=row.requested_by,
        approved_by=row.approved_by,
        approved_at=row.approved_at,
        status_reason_code=row.status_reason_code,
        status_reason_text=row.status_reason_text,
        return_fee=(
            None
            if row.return_fee_minor is None
            else Money(row.return_fee_minor, row.source_currency)
        ),
        created_at=row.created_at,
        updated_at=row.updated_at,
        submitted_at=row.submitted_at,
        paid_at=row.paid_at,
        closed_at=row.closed_at,
        version=row.version,
    )


def get_payout(db: Database, payout_id: str) -> Payout:
    with db.reading() as conn:
        return _get_in(conn, payout_id)


def _get_in(conn: Connection, payout_id: str, *, lock: bool = False) -> Payout:
    query = select(models.payouts).where(models.payouts.c.id == payout_id)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"no payout {payout_id}", code="payout_not_found", payout_id=payout_id)
    return _payout(row)


@dataclass(frozen=True, slots=True)
class PayoutFilter:
    seller_id: str | None = None
    status: PayoutStatus | None = None
    run_id: str | None = None


def list_payouts(
    db: Database, where: PayoutFilter, *, after_id: str | None, limit: int
) -> list[Payout]:
    """Newest first (ids are time-ordered), `limit` at most, after the id `after_id`."""
    p = models.payouts.c
    query = select(models.payouts).order_by(p.id.desc()).limit(limit)
    if where.seller_id is not None:
        query = query.where(p.seller_id == where.seller_id)
    if where.status is not None:
        query = query.where(p.status == where.status.value)
    if where.run_id is not None:
        query = query.where(p.run_id == where.run_id)
    if after_id is not None:
        query = query.where(p.id < after_id)
    with db.reading() as conn:
        return [_payout(row) for row in conn.execute(query)]


def composition(db: Database, payout_id: str) -> tuple[Payout, list[CompositionItem]]:
    """The balance transactions a payout pays; their sum is the payout's source amount."""
    i = models.payout_items.c
    with db.reading() as conn:
        payout = _get_in(conn, payout_id)
        rows = conn.execute(
            select(models.payout_items).where(i.payout_id == payout_id).order_by(i.line)
        ).all()
    items = [
        CompositionItem(
            r.account_version,
            r.transaction_id,
            r.kind,
            Money(r.amount_minor, r.currency),
            r.references,
            r.partial,
        )
        for r in rows
    ]
    invariant(
        sum(item.amount.amount_minor for item in items) == payout.source.amount_minor,
        f"the composition of {payout_id} sums to its amount",
    )
    return payout, items


# --- exchange rates --------------------------------------------------------------------------


def store_rates(
    db: Database,
    rates: Iterable[tuple[str, str, Decimal]],
    *,
    as_of: date,
    source: str,
    clock: Clock,
) -> int:
    """Store rates (base, quote, rate) of a day; the same day again replaces nothing (first
    wins: a rate once used by a payout never changes under it)."""
    rows = [
        {
            "base": b,
            "quote": q,
            "as_of": as_of,
            "rate": str(ExchangeRate(b, q, r).rate),
            "source": source,
            "imported_at": clock.now(),
        }
        for b, q, r in rates
    ]

    def work(conn: Connection) -> int:
        f = models.fx_rates.c
        existing = {
            (r.base, r.quote) for r in conn.execute(select(f.base, f.quote).where(f.as_of == as_of))
        }
        new = [r for r in rows if (r["base"], r["quote"]) not in existing]
        if new:
            conn.execute(models.fx_rates.insert(), new)
        return len(new)

    return db.run(work)


def _rate_in(conn: Connection, base: str, quote: str, on: date) -> ExchangeRate | None:
    """The latest rate on or before `on`: direct, inverse or across EUR (ECB rates are EUR
    based), rounded to 10 significant decimals when derived (stored on the payout)."""
    f = models.fx_rates.c

    def latest(b: str, q: str) -> Decimal | None:
        value = conn.execute(
            select(f.rate)
            .where(f.base == b, f.quote == q, f.as_of <= on)
            .order_by(f.as_of.desc())
            .limit(1)
        ).scalar()
        return None if value is None else Decimal(value)

    direct = latest(base, quote)
    if direct is not None:
        return ExchangeRate(base, quote, direct)
    inverse = latest(quote, base)
    if inverse is not None:
        return ExchangeRate(base, quote, _derived(Decimal(1) / inverse))
    via_base, via_quote = latest("EUR", base), latest("EUR", quote)
    if via_base is not None and via_quote is not None:
        return ExchangeRate(base, quote, _derived(via_quote / via_base))
    return None


def _derived(rate: Decimal) -> Decimal:
    return rate.quantize(Decimal("1.0000000000")).normalize()


# --- runs ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunReport:
    run_id: str
    run_key: str
    run_on: date
    status: str
    due_count: int
    payout_count: int
    skip_count: int
    totals: Mapping[str, int]
    skips_by_reason: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChunkReport:
    due: int = 0
    payouts: int = 0
    skips: int = 0
    already_done: int = 0
    totals: Mapping[str, int] = field(default_factory=dict)
    skip_reasons: Mapping[str, int] = field(default_factory=dict)


def start_run(
    db: Database, *, run_on: date, clock: Clock, requested_by: str, run_key: str | None = None
) -> RunReport:
    """The run for `run_key` (default: the schedule's run of that day), created once."""
    key = run_key or f"scheduled:{run_on.isoformat()}"

    def work(conn: Connection) -> RunReport:
        r = models.payout_runs.c
        row = conn.execute(select(models.payout_runs).where(r.run_key == key)).first()
        if row is None:
            conn.execute(
                models.payout_runs.insert().values(
                    id=prefixed_id("run"),
                    run_key=key,
                    run_on=run_on,
                    status="running",
                    requested_by=requested_by,
                    created_at=clock.now(),
                    due_count=0,
                    payout_count=0,
                    skip_count=0,
                    totals={},
                )
            )
            row = conn.execute(select(models.payout_runs).where(r.run_key == key)).one()
        return _run_report(row)

    run = db.run(work, retry_unique_violations=True)
    if db.dialect == "postgresql":
        # Fresh statistics, so the planner reads payouts and skips of this run through their
        # (run_id, seller_id, currency) keys instead of scanning what earlier runs wrote: a
        # run's lookups per chunk then cost the chunk, not the table (bench payout-run).
        with db.transaction() as conn:
            conn.exec_driver_sql("ANALYZE payouts, payout_skips, payout_cursors")
    return run


def _run_report(row: Row[Any], skips: Mapping[str, int] | None = None) -> RunReport:
    return RunReport(
        row.id,
        row.run_key,
        row.run_on,
        row.status,
        row.due_count,
        row.payout_count,
        row.skip_count,
        dict(row.totals),
        dict(skips or {}),
    )


def run_chunks(
    db: Database, *, chunk_size: int, after: tuple[str, str] | None = None
) -> Iterable[list[tuple[str, str]]]:
    """Every seller balance (seller id, currency) that is not zero, `chunk_size` at a time."""
    cursor = after
    while True:
        with db.reading() as conn:
            states = nonzero_accounts_in(
                conn,
                prefix=AVAILABLE_PREFIX,
                suffix=AVAILABLE_SUFFIX,
                after=cursor,
                limit=chunk_size,
            )
        if not states:
            return
        yield [(seller_of(s.code), s.currency) for s in states]
        cursor = (states[-1].code, states[-1].currency)


def run_payouts(
    db: Database,
    *,
    run_on: date,
    clock: Clock,
    keyring: KeyRing,
    policy: PayoutPolicy | None = None,
    requested_by: str = "system:payout-run",
    run_key: str | None = None,
    on_chunk: Callable[[ChunkReport], None] | None = None,
) -> RunReport:
    """Run the schedule of `run_on` in embedded mode: every chunk in turn, then complete.

    Safe to repeat or to resume after a crash: a chunk skips the sellers it already decided.
    """
    policy = policy or PayoutPolicy.from_settings()
    run = start_run(db, run_on=run_on, clock=clock, requested_by=requested_by, run_key=run_key)
    if run.status == "completed":
        return summarize_run(db, run.run_id)
    for keys in run_chunks(db, chunk_size=policy.chunk_size):
        report = process_run_chunk(
            db, run.run_id, keys, run_on=run_on, clock=clock, keyring=keyring, policy=policy
        )
        if on_chunk is not None:
            on_chunk(report)
    return complete_run(db, run.run_id, clock=clock)


def complete_run(db: Database, run_id: str, *, clock: Clock) -> RunReport:
    """Count what the run decided (from its payouts and skips) and mark it completed."""

    def work(conn: Connection) -> None:
        p, k = models.payouts.c, models.payout_skips.c
        totals: Counter[str] = Counter()
        payout_count = 0
        for row in conn.execute(
            select(p.source_currency, func.count(), func.sum(p.source_amount_minor))
            .where(p.run_id == run_id)
            .group_by(p.source_currency)
        ):
            totals[row[0]] += int(row[2])
            payout_count += int(row[1])
        skip_count = conn.execute(
            select(func.count()).select_from(models.payout_skips).where(k.run_id == run_id)
        ).scalar_one()
        r = models.payout_runs.c
        conn.execute(
            update(models.payout_runs)
            .where(r.id == run_id)
            .values(
                status="completed",
                completed_at=clock.now(),
                payout_count=payout_count,
                skip_count=skip_count,
                due_count=payout_count + skip_count,
                totals=dict(totals),
            )
        )
        record_events(
            conn,
            [
                (
                    "payout_run.completed",
                    run_id,
                    {"payouts": payout_count, "skips": skip_count, "totals": dict(totals)},
                )
            ],
            now=clock.now(),
        )

    db.run(work)
    return summarize_run(db, run_id)


def summarize_run(db: Database, run_id: str) -> RunReport:
    r, k = models.payout_runs.c, models.payout_skips.c
    with db.reading() as conn:
        row = conn.execute(select(models.payout_runs).where(r.id == run_id)).first()
        if row is None:
            raise NotFound(f"no payout run {run_id}", code="payout_run_not_found")
        skips: dict[Any, Any] = dict(
            conn.execute(
                select(k.reason, func.count()).where(k.run_id == run_id).group_by(k.reason)
            ).all()
        )
    return _run_report(row, {str(a): int(b) for a, b in skips.items()})


@dataclass(frozen=True, slots=True)
class Skip:
    run_id: str
    seller_id: str
    currency: str
    reason: str
    detail: str
    available: Money
    created_at: datetime


def list_skips(
    db: Database, *, run_id: str | None = None, seller_id: str | None = None, limit: int = 100
) -> list[Skip]:
    k = models.payout_skips.c
    query = select(models.payout_skips).order_by(k.created_at.desc(), k.seller_id).limit(limit)
    if run_id is not None:
        query = query.where(k.run_id == run_id)
    if seller_id is not None:
        query = query.where(k.seller_id == seller_id)
    with db.reading() as conn:
        return [
            Skip(
                r.run_id,
                r.seller_id,
                r.currency,
                r.reason,
                r.detail,
                Money(r.available_minor, r.currency),
                r.created_at,
            )
            for r in conn.execute(query)
        ]


# --- one chunk of a run, and on-demand payouts: one pipeline ---------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    """A payout about to be created: the decision plus everything needed to write it."""

    payout_id: str
    seller_id: str
    source: Money
    destination: bank_accounts.PayoutDestination
    conversion: Conversion | None
    kind: str
    run_id: str | None
    idempotency_key: str
    request_hash: str
    requested_by: str
    description: str
    reasons: tuple[ApprovalReason, ...]
    execution_date: date


def _schedules_in(
    conn: Connection, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], Row[Any]]:
    s = models.payout_schedules.c
    sellers = sorted({k[0] for k in keys})
    found: dict[tuple[str, str], Row[Any]] = {}
    for start in range(0, len(sellers), 500):
        part = sellers[start : start + 500]
        for row in conn.execute(select(models.payout_schedules).where(s.seller_id.in_(part))):
            found[(row.seller_id, row.currency)] = row
    return found


def _previous_run_on(conn: Connection, run_on: date) -> date | None:
    """The day of the last completed run before `run_on`: a weekly or monthly due day that
    fell after it (no run saw it: a holiday, an outage) is paid by this run, and only once."""
    r = models.payout_runs.c
    value = conn.execute(
        select(func.max(r.run_on)).where(r.run_on < run_on, r.status == "completed")
    ).scalar()
    return value if isinstance(value, date) else None


def _schedule(row: Row[Any] | None, currency: str, policy: PayoutPolicy) -> PayoutSchedule:
    if row is None:
        return PayoutSchedule(
            interval=policy.default_interval,
            minimum=Money(policy.minimum_default.get(currency, 0), currency),
        )
    return PayoutSchedule(
        interval=row.interval,
        weekday=row.weekday,
        day_of_month=row.day_of_month,
        minimum=Money(row.minimum_minor, currency),
    )


def process_run_chunk(
    db: Database,
    run_id: str,
    keys: Sequence[tuple[str, str]],
    *,
    run_on: date,
    clock: Clock,
    keyring: KeyRing,
    policy: PayoutPolicy,
) -> ChunkReport:
    """Decide and create the payouts of `keys` (seller id, currency) in one unit of work.

    Idempotent: the sellers this run already paid or skipped are left alone, so a chunk that
    runs twice (a retried task, a resumed crash, two workers) changes nothing the second time.
    """

    def work(conn: Connection) -> ChunkReport:
        now = clock.now()
        done = _decided_in(conn, run_id, keys)
        todo = [k for k in keys if k not in done]
        schedules = _schedules_in(conn, todo)
        wanted = {k: _schedule(schedules.get(k), k[1], policy) for k in todo}
        previous = _previous_run_on(conn, run_on)
        due = [k for k in todo if is_due(wanted[k], run_on, previous)]
        if not due:
            return ChunkReport(already_done=len(done))
        states = lock_account_states_in(conn, [(available_account(s), c) for s, c in due])
        sellers = sorted({s for s, _ in due})
        capabilities = capabilities_of(conn, sellers, now)
        destinations = bank_accounts.payout_destinations(conn, sellers, keyring=keyring)
        plans: list[_Plan] = []
        skips: list[dict[str, Any]] = []
        for seller_id, currency in due:
            state = states.get((available_account(seller_id), currency))
            available = state.balance if state else Money(0, currency)
            plan_or_skip = _plan(
                conn,
                seller_id,
                available,
                wanted[(seller_id, currency)].minimum,
                capabilities.get(seller_id),
                destinations.get(seller_id, []),
                now=now,
                run_on=run_on,
                policy=policy,
            )
            if isinstance(plan_or_skip, Decision):
                skips.append(
                    {
                        "run_id": run_id,
                        "seller_id": seller_id,
                        "currency": currency,
                        "reason": str(plan_or_skip.skip_reason),
                        "detail": plan_or_skip.detail[:300],
                        "available_minor": available.amount_minor,
                        "created_at": now,
                    }
                )
                continue
            destination, conversion = plan_or_skip
            payout_id = prefixed_id("po")
            plans.append(
                _Plan(
                    payout_id=payout_id,
                    seller_id=seller_id,
                    source=available,
                    destination=destination,
                    conversion=conversion,
                    kind="scheduled",
                    run_id=run_id,
                    idempotency_key=f"run:{run_id}:{seller_id}:{currency}",
                    request_hash="",
                    requested_by="system:payout-run",
                    description=f"Payout {run_on.isoformat()}",
                    reasons=(),
                    execution_date=execution_date(destination.rail, now),
                )
            )
        plans = _with_approval_reasons(conn, plans, policy)
        _create_in(conn, plans, now=now, policy=policy)
        if skips:
            conn.execute(models.payout_skips.insert(), skips)
            record_events(
                conn,
                [
                    (
                        "payout.skipped",
                        f"{s['seller_id']}:{s['currency']}",
                        {
                            "run_id": run_id,
                            "seller_id": s["seller_id"],
                            "currency": s["currency"],
                            "reason": s["reason"],
                            "detail": s["detail"],
                        },
                    )
                    for s in skips
                ],
                now=now,
            )
        totals: Counter[str] = Counter()
        for p in plans:
            totals[p.source.currency] += p.source.amount_minor
        return ChunkReport(
            due=len(due),
            payouts=len(plans),
            skips=len(skips),
            already_done=len(done),
            totals=dict(totals),
            skip_reasons=dict(Counter(s["reason"] for s in skips)),
        )

    return db.run(work, retry_unique_violations=True)


def _decided_in(
    conn: Connection, run_id: str, keys: Sequence[tuple[str, str]]
) -> set[tuple[str, str]]:
    p, k = models.payouts.c, models.payout_skips.c
    sellers = sorted({s for s, _ in keys})
    done: set[tuple[str, str]] = set()
    for start in range(0, len(sellers), 500):
        part = sellers[start : start + 500]
        done.update(
            (r[0], r[1])
            for r in conn.execute(
                select(p.seller_id, p.source_currency).where(
                    p.run_id == run_id, p.seller_id.in_(part)
                )
            )
        )
        done.update(
            (r[0], r[1])
            for r in conn.execute(
                select(k.seller_id, k.currency).where(k.run_id == run_id, k.seller_id.in_(part))
            )
        )
    return done


def _plan(
    conn: Connection,
    seller_id: str,
    available: Money,
    minimum: Money,
    capability: Any,
    destinations: Sequence[bank_accounts.PayoutDestination],
    *,
    now: datetime,
    run_on: date,
    policy: PayoutPolicy,
) -> Decision | tuple[bank_accounts.PayoutDestination, Conversion | None]:
    """Pay `available` to the seller's default account in its currency, else (FX) to their
    other default account; a skip decision otherwise."""
    destination = _choose_destination(destinations, available.currency)
    decision = decide(
        Candidate(
            seller_id=seller_id,
            available=available,
            minimum=minimum,
            payouts_enabled=bool(capability and capability.payouts_enabled),
            payouts_disabled_reason=(
                "no onboarding decision" if capability is None else capability.disabled_reason
            ),
            destination=None if destination is None else _destination(destination),
        ),
        now=now,
    )
    if decision.skip_reason is not None or destination is None or decision.amount is None:
        return decision
    if destination.currency == available.currency:
        return destination, None
    rate = _rate_in(conn, available.currency, destination.currency, run_on)
    if rate is None:
        return replace(
            decision,
            amount=None,
            skip_reason=SkipReason.NO_EXCHANGE_RATE,
            detail=f"no {available.currency}/{destination.currency} rate on or before {run_on}",
        )
    conversion = convert_for_payout(decision.amount, rate, margin_bps=policy.fx_margin_bps)
    if conversion.paid.amount_minor <= 0:
        return replace(
            decision,
            amount=None,
            skip_reason=SkipReason.BELOW_MINIMUM,
            detail="the converted amount rounds to nothing",
        )
    return destination, conversion


def _choose_destination(
    destinations: Sequence[bank_accounts.PayoutDestination], currency: str
) -> bank_accounts.PayoutDestination | None:
    same = [d for d in destinations if d.currency == currency]
    if same:
        return same[0]
    return min(destinations, key=lambda d: d.currency) if destinations else None


def _destination(d: bank_accounts.PayoutDestination) -> Destination:
    return Destination(
        bank_account_id=d.bank_account_id,
        currency=d.currency,
        rail=d.rail,
        verified=d.verified,
        cooldown_until=d.cooldown_until,
        hold_released=d.hold_released,
        disabled_reason=d.disabled_reason,
    )


def _with_approval_reasons(
    conn: Connection, plans: list[_Plan], policy: PayoutPolicy
) -> list[_Plan]:
    """Add the four-eyes reasons: above the threshold, first payout to a bank account."""
    if not plans:
        return plans
    p = models.payouts.c
    accounts = sorted({plan.destination.bank_account_id for plan in plans})
    paid_before: set[str] = set()
    for start in range(0, len(accounts), 500):
        part = accounts[start : start + 500]
        paid_before.update(
            r[0]
            for r in conn.execute(
                select(p.bank_account_id)
                .where(p.bank_account_id.in_(part), p.status.notin_(["failed", "canceled"]))
                .distinct()
            )
        )
    out = []
    for plan in plans:
        paid = plan.conversion.paid if plan.conversion else plan.source
        reasons = approval_reasons(
            paid,
            thresholds=policy.approval_thresholds,
            first_to_account=plan.destination.bank_account_id not in paid_before,
            manual=plan.kind == "manual",
        )
        out.append(replace(plan, reasons=reasons))
    return out


def _create_in(
    conn: Connection, plans: Sequence[_Plan], *, now: datetime, policy: PayoutPolicy
) -> None:
    """Write the payouts, their composition, the cursors, the ledger and the events."""
    if not plans:
        return
    cursors = _cursors_in(conn, [(p.seller_id, p.source.currency) for p in plans])
    streams = entries_after_versions_in(
        conn,
        {
            (available_account(p.seller_id), p.source.currency): cursors[
                (p.seller_id, p.source.currency)
            ].account_version
            for p in plans
        },
    )
    payout_rows, item_rows, cursor_rows, requests, events = [], [], [], [], []
    for plan in plans:
        key = (plan.seller_id, plan.source.currency)
        stream = [
            StreamItem(
                e.account_version,
                str(e.transaction_id),
                e.kind,
                e.amount if e.side is Side.CREDIT else -e.amount,
                dict(e.references),
            )
            for e in streams[(available_account(plan.seller_id), plan.source.currency)]
            if e.kind != "payout"
        ]
        items, cursor = compose(cursors[key], stream, plan.source)
        for line, item in enumerate(items, start=1):
            item_rows.append(
                {
                    "payout_id": plan.payout_id,
                    "line": line,
                    "account_version": item.account_version,
                    "transaction_id": item.transaction_id,
                    "kind": item.kind,
                    "amount_minor": item.amount.amount_minor,
                    "currency": item.amount.currency,
                    "partial": item.partial,
                    "references": dict(item.references),
                }
            )
        cursor_rows.append((key, cursor))
        conversion = plan.conversion
        paid = conversion.paid if conversion else plan.source
        status = _S.PENDING if plan.reasons else _S.APPROVED
        payout_rows.append(
            {
                "id": plan.payout_id,
                "seller_id": plan.seller_id,
                "kind": plan.kind,
                "status": status.value,
                "source_currency": plan.source.currency,
                "source_amount_minor": plan.source.amount_minor,
                "currency": paid.currency,
                "amount_minor": paid.amount_minor,
                "fx_rate": str(conversion.rate) if conversion else None,
                "fx_margin_bps": conversion.margin_bps if conversion else None,
                "fx_margin_minor": conversion.margin.amount_minor if conversion else None,
                "bank_account_id": plan.destination.bank_account_id,
                "bank_account_masked": plan.destination.masked,
                "rail": plan.destination.rail,
                "end_to_end_id": end_to_end_id(plan.payout_id),
                "run_id": plan.run_id,
                "idempotency_key": plan.idempotency_key,
                "request_hash": plan.request_hash,
                "description": plan.description[:140],
                "execution_date": plan.execution_date,
                "approval_reasons": [r.value for r in plan.reasons],
                "requested_by": plan.requested_by,
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
        )
        requests.append(_creation_request(plan))
        events.append(
            (
                "payout.created",
                plan.payout_id,
                {
                    "payout_id": plan.payout_id,
                    "seller_id": plan.seller_id,
                    "status": status.value,
                    "amount": _money_json(paid),
                    "source": _money_json(plan.source),
                    "approval_reasons": [r.value for r in plan.reasons],
                },
            )
        )
    results = post_many_in(conn, requests, now=now)
    for plan, result in zip(plans, results, strict=True):
        if result.status is not PostStatus.POSTED:
            raise result.error or Conflict(
                f"the ledger refused payout {plan.payout_id}", code="ledger_refused"
            )
    conn.execute(models.payouts.insert(), payout_rows)
    conn.execute(models.payout_items.insert(), item_rows)
    _save_cursors(conn, cursor_rows, now=now)
    record_events(conn, events, now=now)


def _creation_request(plan: _Plan) -> TransactionRequest:
    source = plan.source
    seller = available_account(plan.seller_id)
    refs = {"payout": plan.payout_id, "seller": plan.seller_id}
    c = plan.conversion
    if c is None:
        entries: tuple[EntryRequest, ...] = (
            EntryRequest(seller, Side.DEBIT, source),
            EntryRequest(IN_TRANSIT, Side.CREDIT, source),
        )
    else:
        legs = [
            EntryRequest(seller, Side.DEBIT, source),
            EntryRequest(f"platform:fx:{source.currency}", Side.CREDIT, source),
            EntryRequest(f"platform:fx:{c.mid.currency}", Side.DEBIT, c.mid),
            EntryRequest(IN_TRANSIT, Side.CREDIT, c.paid),
        ]
        if c.margin.amount_minor:
            legs.append(EntryRequest("platform:revenue:fx", Side.CREDIT, c.margin))
        entries = tuple(legs)
    return TransactionRequest(
        idempotency_key=f"payout:{plan.payout_id}:created",
        kind="payout",
        entries=entries,
        references=refs,
        description=plan.description,
    )


def _cursors_in(conn: Connection, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Cursor]:
    c = models.payout_cursors.c
    found = {k: Cursor(0, Money(0, k[1])) for k in keys}
    sellers = sorted({k[0] for k in keys})
    for start in range(0, len(sellers), 500):
        part = sellers[start : start + 500]
        for r in conn.execute(select(models.payout_cursors).where(c.seller_id.in_(part))):
            if (r.seller_id, r.currency) in found:
                found[(r.seller_id, r.currency)] = Cursor(
                    r.account_version,
                    Money(r.carried_minor, r.currency),
                    r.carried_transaction_id,
                    r.carried_kind,
                )
    return found


def _save_cursors(
    conn: Connection, rows: Sequence[tuple[tuple[str, str], Cursor]], *, now: datetime
) -> None:
    c = models.payout_cursors.c
    keys = [k for k, _ in rows]
    sellers = sorted({k[0] for k in keys})
    existing: set[tuple[str, str]] = set()
    for start in range(0, len(sellers), 500):
        part = sellers[start : start + 500]
        existing.update(
            (r[0], r[1])
            for r in conn.execute(select(c.seller_id, c.currency).where(c.seller_id.in_(part)))
        )
    values = [
        {
            "seller_id": k[0],
            "currency": k[1],
            "account_version": cur.account_version,
            "carried_minor": cur.carried.amount_minor,
            "carried_transaction_id": cur.carried_transaction_id,
            "carried_kind": cur.carried_kind,
            "updated_at": now,
        }
        for k, cur in rows
    ]
    new = [v for v in values if (v["seller_id"], v["currency"]) not in existing]
    old = [
        {f"b_{k}": value for k, value in v.items()}
        for v in values
        if (v["seller_id"], v["currency"]) in existing
    ]
    if new:
        conn.execute(models.payout_cursors.insert(), new)
    if old:  # one executemany, not a statement per seller
        conn.execute(
            update(models.payout_cursors)
            .where(c.seller_id == bindparam("b_seller_id"), c.currency == bindparam("b_currency"))
            .values(
                account_version=bindparam("b_account_version"),
                carried_minor=bindparam("b_carried_minor"),
                carried_transaction_id=bindparam("b_carried_transaction_id"),
                carried_kind=bindparam("b_carried_kind"),
                updated_at=bindparam("b_updated_at"),
            ),
            old,
        )


def _money_json(m: Money) -> dict[str, Any]:
    return {"amount_minor": m.amount_minor, "currency": m.currency}


# --- on-demand and manual payouts ------------------------------------------------------------


def create_payout(
    db: Database,
    *,
    seller_id: str,
    currency: str,
    amount: Money | None,
    bank_account_id: str | None,
    kind: str,
    requested_by: str,
    idempotency_key: str,
    description: str,
    clock: Clock,
    keyring: KeyRing,
    policy: PayoutPolicy | None = None,
    source_ip: str | None = None,
) -> tuple[Payout, bool]:
    """One payout now (`on_demand` by a seller, `manual` by an operator: needs approval).

    Returns the payout and whether it was a replay of the same request. The same key with
    another body is `Conflict(idempotency_key_reused)`; more than available is
    `InvalidInput(insufficient_available)`; a skip reason is `InvalidInput(<reason>)`.
    """
    if kind not in ("on_demand", "manual"):
        raise InvalidInput(f"unknown payout kind {kind!r}", code="invalid_kind", field="kind")
    if amount is not None and (amount.currency != currency or amount.amount_minor <= 0):
        raise InvalidInput(
            "the amount must be positive and in the balance's currency",
            code="invalid_amount",
            field="amount",
        )
    policy = policy or PayoutPolicy.from_settings()
    request_hash = hashlib.sha256(
        json.dumps(
            [
                seller_id,
                currency,
                amount.amount_minor if amount else None,
                bank_account_id,
                kind,
                description,
            ],
            separators=(",", ":"),
        ).encode()
    ).hexdigest()
    key = f"api:{idempotency_key}"

    def work(conn: Connection) -> tuple[Payout, bool]:
        now = clock.now()
        p = models.payouts.c
        existing = conn.execute(select(models.payouts).where(p.idempotency_key == key)).first()
        if existing is not None:
            if existing.request_hash != request_hash:
                raise Conflict(
                    "this Idempotency-Key was used with another request",
                    code="idempotency_key_reused",
                )
            return _payout(existing), True
        states = lock_account_states_in(conn, [(available_account(seller_id), currency)])
        state = states.get((available_account(seller_id), currency))
        available = state.balance if state else Money(0, currency)
        wanted = amount or available
        if wanted.amount_minor > available.amount_minor:
            raise InvalidInput(
                f"the payout of {wanted.amount_minor} minor units would overdraw the available "
                f"balance of {available.amount_minor}",
                code="insufficient_available",
                field="amount",
                available_minor=available.amount_minor,
            )
        capability = capabilities_of(conn, [seller_id], now).get(seller_id)
        destinations = bank_accounts.payout_destinations(conn, [seller_id], keyring=keyring)
        candidates = destinations.get(seller_id, [])
        if bank_account_id is not None:
            candidates = [d for d in candidates if d.bank_account_id == bank_account_id]
            if not candidates:
                raise InvalidInput(
                    f"{bank_account_id} is not an active default bank account of {seller_id}",
                    code="bank_account_not_usable",
                    field="bank_account_id",
                )
        outcome = _plan(
            conn,
            seller_id,
            wanted,
            Money(0, currency),
            capability,
            candidates,
            now=now,
            run_on=now.date(),
            policy=policy,
        )
        if isinstance(outcome, Decision):
            raise InvalidInput(
                f"no payout: {outcome.detail}",
                code=str(outcome.skip_reason),
                seller_id=seller_id,
            )
        destination, conversion = outcome
        payout_id = prefixed_id("po")
        plan = _Plan(
            payout_id=payout_id,
            seller_id=seller_id,
            source=wanted,
            destination=destination,
            conversion=conversion,
            kind=kind,
            run_id=None,
            idempotency_key=key,
            request_hash=request_hash,
            requested_by=requested_by,
            description=description or "Payout on demand",
            reasons=(),
            execution_date=execution_date(destination.rail, now),
        )
        (plan,) = _with_approval_reasons(conn, [plan], policy)
        _create_in(conn, [plan], now=now, policy=policy)
        if kind == "manual":
            record_audit(
                conn,
                actor=requested_by,
                action="payout.requested",
                subject_type="payout",
                subject_id=payout_id,
                before=None,
                after={
                    "seller_id": seller_id,
                    "amount_minor": wanted.amount_minor,
                    "currency": currency,
                    "bank_account": destination.masked,
                },
                source_ip=source_ip,
                at=now,
            )
        return _get_in(conn, payout_id), False

    return db.run(work, retry_unique_violations=True)


# --- approvals and cancellation --------------------------------------------------------------


def approve_payout(
    db: Database,
    payout_id: str,
    *,
    approver: str,
    clock: Clock,
    keyring: KeyRing,
    note: str = "",
    source_ip: str | None = None,
) -> Payout:
    """A second person approves: neither the requester nor the last to change the account."""

    def work(conn: Connection) -> Payout:
        now = clock.now()
        payout = _get_in(conn, payout_id, lock=True)
        check_transition(payout_id, payout.status, _S.APPROVED)
        changed_by = bank_accounts.last_changed_by(conn, payout.bank_account_id)
        check_approver(
            payout_id,
            approver,
            requested_by=payout.requested_by,
            bank_account_changed_by=changed_by,
        )
        _move(
            conn,
            payout,
            _S.APPROVED,
            now=now,
            approved_by=approver,
            approved_at=now,
            decision_note=note[:500] or None,
        )
        record_audit(
            conn,
            actor=approver,
            action="payout.approved",
            subject_type="payout",
            subject_id=payout_id,
            before={"status": payout.status.value},
            after={"status": "approved", "note": note[:500]},
            source_ip=source_ip,
            at=now,
        )
        return _get_in(conn, payout_id)

    return db.run(work)


def reject_payout(
    db: Database,
    payout_id: str,
    *,
    approver: str,
    clock: Clock,
    note: str = "",
    source_ip: str | None = None,
) -> Payout:
    """The approver refuses: the payout is canceled and its money goes back to available."""
    return _cancel(
        db,
        payout_id,
        actor=approver,
        clock=clock,
        note=note,
        source_ip=source_ip,
        action="payout.rejected",
        four_eyes=True,
    )


def cancel_payout(
    db: Database,
    payout_id: str,
    *,
    actor: str,
    clock: Clock,
    note: str = "",
    source_ip: str | None = None,
) -> Payout:
    """Stop a payout before it is submitted (pending or approved)."""
    return _cancel(
        db,
        payout_id,
        actor=actor,
        clock=clock,
        note=note,
        source_ip=source_ip,
        action="payout.canceled",
        four_eyes=False,
    )


def _cancel(
    db: Database,
    payout_id: str,
    *,
    actor: str,
    clock: Clock,
    note: str,
    source_ip: str | None,
    action: str,
    four_eyes: bool,
) -> Payout:
    def work(conn: Connection) -> Payout:
        now = clock.now()
        payout = _get_in(conn, payout_id, lock=True)
        check_transition(payout_id, payout.status, _S.CANCELED)
        if four_eyes:
            check_approver(
                payout_id, actor, requested_by=payout.requested_by, bank_account_changed_by=None
            )
        _money_back(conn, payout, now=now, kind="payout_canceled")
        _move(
            conn,
            payout,
            _S.CANCELED,
            now=now,
            closed_at=now,
            decision_note=note[:500] or None,
            status_reason_text=note[:300] or None,
        )
        record_audit(
            conn,
            actor=actor,
            action=action,
            subject_type="payout",
            subject_id=payout_id,
            before={"status": payout.status.value},
            after={"status": "canceled", "note": note},
            source_ip=source_ip,
            at=now,
        )
        return _get_in(conn, payout_id)

    return db.run(work)


def _move(
    conn: Connection, payout: Payout, new: PayoutStatus, *, now: datetime, **values: Any
) -> None:
    """The one place a payout's status changes: checked against the state machine, guarded
    by its version (a lost race is a Conflict), with its event in the same transaction."""
    check_transition(payout.id, payout.status, new)
    p = models.payouts.c
    result = conn.execute(
        update(models.payouts)
        .where(p.id == payout.id, p.version == payout.version)
        .values(status=new.value, updated_at=now, version=payout.version + 1, **values)
    )
    if result.rowcount != 1:
        raise Conflict(f"payout {payout.id} changed meanwhile", code="payout_changed")
    data: dict[str, Any] = {
        "payout_id": payout.id,
        "seller_id": payout.seller_id,
        "status": new.value,
        "previous_status": payout.status.value,
        "amount": _money_json(payout.amount),
    }
    for name in ("status_reason_code", "status_reason_text"):
        if values.get(name):
            data[name] = values[name]
    record_events(conn, [(f"payout.{new.value}", payout.id, data)], now=now)


def _money_back(conn: Connection, payout: Payout, *, now: datetime, kind: str) -> None:
    """Mirror the creation transaction: the money goes back to the seller's available."""
    seller = available_account(payout.seller_id)
    if payout.fx_rate is None:
        entries: tuple[EntryRequest, ...] = (
            EntryRequest(IN_TRANSIT, Side.DEBIT, payout.amount),
            EntryRequest(seller, Side.CREDIT, payout.source),
        )
    else:
        margin = payout.fx_margin or Money(0, payout.amount.currency)
        legs = [
            EntryRequest(IN_TRANSIT, Side.DEBIT, payout.amount),
            EntryRequest(
                f"platform:fx:{payout.amount.currency}", Side.CREDIT, payout.amount + margin
            ),
            EntryRequest(f"platform:fx:{payout.source.currency}", Side.DEBIT, payout.source),
            EntryRequest(seller, Side.CREDIT, payout.source),
        ]
        if margin.amount_minor:
            legs.append(EntryRequest("platform:revenue:fx", Side.DEBIT, margin))
        entries = tuple(legs)
    _post(
        conn,
        TransactionRequest(
            idempotency_key=f"payout:{payout.id}:money_back",
            kind=kind,
            entries=entries,
            references={"payout": payout.id, "seller": payout.seller_id},
            description=f"{kind.replace('_', ' ')} {payout.id}",
        ),
        now=now,
    )


def _post(conn: Connection, request: TransactionRequest, *, now: datetime) -> None:
    (result,) = post_many_in(conn, [request], now=now)
    if result.status is PostStatus.REJECTED:
        raise result.error or Conflict("the ledger refused the posting", code="ledger_refused")


# --- submission: at most once ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubmitReport:
    files: int = 0
    submitted: int = 0
    unknown: int = 0
    refused: int = 0
    payouts_sent: int = 0


def claim_due(
    db: Database,
    *,
    clock: Clock,
    keyring: KeyRing,
    originators: Mapping[str, Originator],
    limit: int = 10_000,
) -> list[str]:
    """Claim approved payouts whose execution date has come, one bank file per rail and
    currency, written durably (encrypted) before anything is sent. Returns submission ids."""

    def work(conn: Connection) -> list[str]:
        now = clock.now()
        p = models.payouts.c
        query = (
            select(models.payouts)
            .where(p.status == _S.APPROVED.value, p.execution_date <= now.date())
            .order_by(p.rail, p.currency, p.id)
            .limit(limit)
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        payouts = [_payout(r) for r in conn.execute(query)]
        groups: dict[tuple[str, str], list[Payout]] = defaultdict(list)
        for payout in payouts:
            groups[(payout.rail, payout.amount.currency)].append(payout)
        details = bank_accounts.destinations_by_id(
            conn, sorted({p.bank_account_id for p in payouts}), keyring=keyring
        )
        submission_ids = []
        for (rail, _currency), group in sorted(groups.items()):
            submission_id = prefixed_id("sub")
            # a banking day of the rail, after its cut-off
            when = execution_date(cast(RailName, rail), now)
            message_id = f"SP{submission_id[-20:].upper()}"
            transfers = [
                CreditTransfer(
                    end_to_end_id=payout.end_to_end_id,
                    amount=payout.amount,
                    creditor_name=details[payout.bank_account_id].holder_name,
                    creditor_account=details[payout.bank_account_id].details,
                    execution_date=when,
                    remittance=payout.description,
                    creditor_kind="company",
                    instant=rail == "sepa_instant",
                )
                for payout in group
            ]
            bank_file = write_bank_file(
                rail, transfers, originators, message_id=message_id, now=now
            )
            conn.execute(
                models.bank_submissions.insert().values(
                    id=submission_id,
                    rail=rail,
                    message_id=message_id,
                    filename=bank_file.filename,
                    state="prepared",
                    content=keyring.encrypt(bank_file.content, associated_data=message_id.encode()),
                    transfer_count=bank_file.transfer_count,
                    control_sums=dict(bank_file.control_sums),
                    attempts=0,
                    created_at=now,
                )
            )
            # the rail's own key of each transfer: NACHA trace number, Bacs reference,
            # pain.001 payment information id (a status report may answer per block)
            references = {e2e: ref for ref, e2es in bank_file.batches.items() for e2e in e2es}
            for payout in group:
                _move(
                    conn,
                    payout,
                    _S.PROCESSING,
                    now=now,
                    submission_id=submission_id,
                    bank_reference=references.get(payout.end_to_end_id),
                )
            submission_ids.append(submission_id)
        return submission_ids

    return db.run(work)


def submit_due(
    db: Database,
    *,
    bank: BankConnection,
    clock: Clock,
    keyring: KeyRing,
    originators: Mapping[str, Originator],
    limit: int = 10_000,
) -> SubmitReport:
    """Claim what is due, then send every prepared file once (see `send_submission`)."""
    claim_due(db, clock=clock, keyring=keyring, originators=originators, limit=limit)
    s = models.bank_submissions.c
    with db.reading() as conn:
        prepared = list(
            conn.execute(
                select(s.id).where(s.state == "prepared").order_by(s.created_at, s.id)
            ).scalars()
        )
    totals: Counter[str] = Counter()
    for submission_id in prepared:
        outcome, count = send_submission(db, submission_id, bank=bank, clock=clock, keyring=keyring)
        totals[outcome] += 1
        if outcome == "sent":
            totals["payouts"] += count
    return SubmitReport(
        files=len(prepared),
        submitted=totals["sent"],
        unknown=totals["unknown"],
        refused=totals["refused"],
        payouts_sent=totals["payouts"],
    )


def send_submission(
    db: Database, submission_id: str, *, bank: BankConnection, clock: Clock, keyring: KeyRing
) -> tuple[str, int]:
    """Send one prepared file at most once.

    "sending" is committed before the bank is called; a crash after it leaves the file in
    "sending", a time-out leaves it "unknown": both are settled only by asking the bank
    (`resolve_submissions`), never by sending again blindly.
    """
    s = models.bank_submissions.c

    def claim(conn: Connection) -> Row[Any] | None:
        row = conn.execute(
            select(models.bank_submissions).where(s.id == submission_id).with_for_update()
        ).first()
        if row is None or row.state != "prepared":
            return None
        conn.execute(
            update(models.bank_submissions)
            .where(s.id == submission_id)
            .values(state="sending", sending_at=clock.now(), attempts=row.attempts + 1)
        )
        return row

    row = db.run(claim)
    if row is None:
        return "skipped", 0
    content = keyring.decrypt(row.content, associated_data=row.message_id.encode())
    try:
        bank.send(row.rail, row.filename, content, row.message_id)
    except BankTimeout as error:
        message = str(error)[:500]
        db.run(
            lambda conn: conn.execute(
                update(models.bank_submissions)
                .where(s.id == submission_id)
                .values(state="unknown", last_error=message)
            )
        )
        log.warning("bank.submission_unknown", submission_id=submission_id, rail=row.rail)
        return "unknown", 0
    except BankRefused as error:
        count = _settle_submission(
            db,
            submission_id,
            clock=clock,
            statuses=None,
            group=TransferStatus("", "rejected", error.reason_code, str(error)),
        )
        return "refused", count
    count = _settle_submission(
        db, submission_id, clock=clock, statuses=None, group=TransferStatus("", "accepted")
    )
    return "sent", count


def _settle_submission(
    db: Database,
    submission_id: str,
    *,
    clock: Clock,
    statuses: Mapping[str, TransferStatus] | None,
    group: TransferStatus | None,
) -> int:
    """The bank has the file: mark it sent and apply what is known of each transfer."""
    s, p = models.bank_submissions.c, models.payouts.c

    def work(conn: Connection) -> int:
        now = clock.now()
        conn.execute(
            update(models.bank_submissions)
            .where(s.id == submission_id)
            .values(
                state="sent",
                sent_at=now,
                last_error=None
                if group is None or group.state != "rejected"
                else (group.reason_text or "")[:500],
            )
        )
        payouts = [
            _payout(r)
            for r in conn.execute(
                select(models.payouts)
                .where(p.submission_id == submission_id)
                .order_by(p.id)  # rows locked in one order: no deadlock between workers
                .with_for_update()
            )
        ]
        for payout in payouts:
            status = (statuses or {}).get(payout.end_to_end_id) or group
            if status is not None:
                _apply_status_in(conn, payout, status, now=now)
        return len(payouts)

    return db.run(work)


def resolve_submissions(
    db: Database, *, bank: BankConnection, clock: Clock, stale_after: timedelta
) -> dict[str, int]:
    """Settle files whose outcome is unknown by asking the bank about each end-to-end id:
    the bank has them -> sent, with their statuses; the bank has none -> prepared again (the
    same bytes and message id are sent by the next `submit_due`).

    A file still "sending" after `stale_after` is taken for one whose sender died: choose it
    well above the bank call's time-out (a live sender would otherwise race the resend; the
    bank's own message-id deduplication is then the last line of defence).
    """
    s, p = models.bank_submissions.c, models.payouts.c
    now = clock.now()
    with db.reading() as conn:
        rows = conn.execute(
            select(models.bank_submissions)
            .where(
                (s.state == "unknown")
                | ((s.state == "sending") & (s.sending_at <= now - stale_after))
            )
            .order_by(s.created_at, s.id)
        ).all()
        e2e_of = {
            row.id: list(
                conn.execute(select(p.end_to_end_id).where(p.submission_id == row.id)).scalars()
            )
            for row in rows
        }
    outcome: Counter[str] = Counter()
    for row in rows:
        answers = {
            a.end_to_end_id: a for a in bank.inquire(row.rail, row.message_id, e2e_of[row.id])
        }
        if answers and all(a.state == "unknown" for a in answers.values()):
            _prepare_again(db, row.id, now=now)
            outcome["resend"] += 1
            continue
        _settle_submission(db, row.id, clock=clock, statuses=answers, group=None)
        outcome["sent"] += 1
    return dict(outcome)


def _prepare_again(db: Database, submission_id: str, *, now: datetime) -> None:
    """The bank said it never received the file: it may be sent again, same bytes and id."""
    s = models.bank_submissions.c

    def work(conn: Connection) -> None:
        conn.execute(
            update(models.bank_submissions)
            .where(s.id == submission_id, s.state.in_(["unknown", "sending"]))
            .values(state="prepared", inquired_at=now)
        )

    db.run(work)


def _apply_status_in(
    conn: Connection, payout: Payout, status: TransferStatus, *, now: datetime
) -> Payout:
    """Move a payout along what the bank says (a repeated report changes nothing)."""
    state = status.state
    if state in ("accepted", "pending") and payout.status is _S.PROCESSING:
        _move(conn, payout, _S.SUBMITTED, now=now, submitted_at=now)
    elif state == "settled" and payout.status in (_S.PROCESSING, _S.SUBMITTED):
        _mark_paid_in(conn, payout, now=now)
    elif state == "rejected" and payout.status in (_S.PROCESSING, _S.SUBMITTED):
        _money_back(conn, payout, now=now, kind="payout_failed")
        _move(
            conn,
            payout,
            _S.FAILED,
            now=now,
            closed_at=now,
            status_reason_code=status.reason_code,
            status_reason_text=(status.reason_text or _reason_text(status.reason_code))[:300],
        )
    return _get_in(conn, payout.id)


def _reason_text(code: str | None) -> str:
    return describe_reason(code).description if code else ""


def _mark_paid_in(conn: Connection, payout: Payout, *, now: datetime) -> None:
    if payout.status is _S.PROCESSING:
        _move(conn, payout, _S.SUBMITTED, now=now, submitted_at=now)
        payout = _get_in(conn, payout.id)
    policy = PayoutPolicy.from_settings()
    _post(
        conn,
        TransactionRequest(
            idempotency_key=f"payout:{payout.id}:paid",
            kind="payout_paid",
            entries=(
                EntryRequest(IN_TRANSIT, Side.DEBIT, payout.amount),
                EntryRequest(policy.bank_account_code(), Side.CREDIT, payout.amount),
            ),
            references={"payout": payout.id, "seller": payout.seller_id},
            description=f"payout {payout.id} left the bank",
        ),
        now=now,
    )
    _move(conn, payout, _S.PAID, now=now, paid_at=now)


def mark_paid(db: Database, end_to_end_ids: Sequence[str], *, clock: Clock) -> int:
    """Confirm payouts as paid (a statement line or a debit notification matched them)."""

    def work(conn: Connection) -> int:
        p = models.payouts.c
        rows = conn.execute(
            select(models.payouts)
            .where(
                p.end_to_end_id.in_(list(end_to_end_ids))
                | p.bank_reference.in_(list(end_to_end_ids))
            )
            .order_by(p.id)
            .with_for_update()
        ).all()
        moved = 0
        for row in rows:
            payout = _payout(row)
            if payout.status in (_S.PROCESSING, _S.SUBMITTED):
                _mark_paid_in(conn, payout, now=clock.now())
                moved += 1
        return moved

    return db.run(work)


# --- incoming reports: statuses and returns --------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportOutcome:
    report_id: str
    kind: str
    duplicate: bool
    statuses: int = 0
    returns: int = 0
    unmatched: tuple[str, ...] = ()


def apply_status_report(
    db: Database, report: StatusReport, *, clock: Clock
) -> tuple[int, list[str]]:
    """Apply a pain.002 (or any status report): per transfer, else the group status to every
    payout of the original message."""

    def work(conn: Connection) -> tuple[int, list[str]]:
        now = clock.now()
        p, s = models.payouts.c, models.bank_submissions.c
        listed = {t.end_to_end_id: t for t in report.transfers}
        batches = {b.payment_information_id: b for b in report.batches}
        submission = conn.execute(
            select(s.id).where(s.message_id == report.original_message_id)
        ).scalar()
        query = select(models.payouts).order_by(p.id).with_for_update()
        # a rail may quote its own shortened reference (Zengin, Bacs) instead of the id
        named = p.end_to_end_id.in_(list(listed)) | p.bank_reference.in_(list(listed))
        if submission is not None:
            query = query.where((p.submission_id == submission) | named)
        else:
            query = query.where(named)
        payouts = [_payout(r) for r in conn.execute(query)]
        if submission is not None:
            conn.execute(
                update(models.bank_submissions)
                .where(s.id == submission, s.state.in_(["sending", "unknown"]))
                .values(state="sent", sent_at=now)
            )
        applied = 0
        for payout in payouts:
            status = listed.get(payout.end_to_end_id) or listed.get(payout.bank_reference or "")
            batch = batches.get(payout.bank_reference or "")
            if status is None and batch is not None and batch.state is not None:
                status = TransferStatus(
                    payout.end_to_end_id, batch.state, batch.reason_code, batch.reason_text
                )
            if status is None and report.group_state is not None:
                status = TransferStatus(
                    payout.end_to_end_id, report.group_state, report.group_reason_code
                )
            if status is not None:
                _apply_status_in(conn, payout, status, now=now)
                applied += 1
        known = {payout.end_to_end_id for payout in payouts} | {
            payout.bank_reference for payout in payouts if payout.bank_reference
        }
        return applied, sorted(set(listed) - known)

    return db.run(work)


def apply_returns(
    db: Database,
    notices: Sequence[ReturnNotice],
    *,
    clock: Clock,
    policy: PayoutPolicy | None = None,
) -> tuple[int, list[str]]:
    """Money of paid payouts came back: back to available (less the return fee), and a reason
    that means the account is closed or wrong disables the bank account and tells the seller.
    A notice seen twice changes nothing (the ledger keys and the state machine see to it)."""
    policy = policy or PayoutPolicy.from_settings()

    def work(conn: Connection) -> tuple[int, list[str]]:
        now = clock.now()
        p = models.payouts.c
        applied, unmatched = 0, []
        for notice in notices:
            condition = (p.end_to_end_id == notice.end_to_end_id) | (
                p.bank_reference == notice.end_to_end_id
            )
            if notice.original_trace:
                condition = condition | (p.bank_reference == notice.original_trace)
            rows = conn.execute(
                select(models.payouts).where(condition).order_by(p.id).with_for_update()
            ).all()
            row = _payout_returned(rows, notice)
            if row is None:
                unmatched.append(notice.end_to_end_id or notice.original_trace)
                continue
            payout = _payout(row)
            if payout.status is _S.RETURNED:
                continue
            if payout.status in (_S.PROCESSING, _S.SUBMITTED):
                _mark_paid_in(conn, payout, now=now)
                payout = _get_in(conn, payout.id)
            if payout.status is not _S.PAID:
                unmatched.append(payout.end_to_end_id)
                continue
            _return_in(conn, payout, notice, now=now, policy=policy)
            applied += 1
        return applied, unmatched

    return db.run(work)


def _payout_returned(rows: Sequence[Row[Any]], notice: ReturnNotice) -> Row[Any] | None:
    """The payout a return names. A NACHA trace number is unique within one file only (every
    file counts from 1), so a payout found by the original trace alone must also carry the
    entry's Individual Identification Number, which the notice quotes."""
    exact = [r for r in rows if notice.end_to_end_id in (r.end_to_end_id, r.bank_reference)]
    if exact:
        return exact[0]
    quoted = notice.end_to_end_id.strip()
    named = [r for r in rows if individual_id_for(r.end_to_end_id) == quoted]
    if named or quoted:
        return named[0] if named else None
    return rows[0] if len(rows) == 1 else None


def _return_in(
    conn: Connection, payout: Payout, notice: ReturnNotice, *, now: datetime, policy: PayoutPolicy
) -> None:
    seller = available_account(payout.seller_id)
    bank = policy.bank_account_code()
    if payout.fx_rate is None:
        entries: tuple[EntryRequest, ...] = (
            EntryRequest(bank, Side.DEBIT, payout.amount),
            EntryRequest(seller, Side.CREDIT, payout.source),
        )
    else:  # the seller gets back what left their balance; our FX position carries the rest
        entries = (
            EntryRequest(bank, Side.DEBIT, payout.amount),
            EntryRequest(f"platform:fx:{payout.amount.currency}", Side.CREDIT, payout.amount),
            EntryRequest(f"platform:fx:{payout.source.currency}", Side.DEBIT, payout.source),
            EntryRequest(seller, Side.CREDIT, payout.source),
        )
    refs = {"payout": payout.id, "seller": payout.seller_id, "reason": notice.reason_code}
    _post(
        conn,
        TransactionRequest(
            idempotency_key=f"payout:{payout.id}:returned",
            kind="payout_returned",
            entries=entries,
            references=refs,
            description=f"payout {payout.id} returned: {notice.reason_code}",
        ),
        now=now,
    )
    fee_minor = policy.return_fees.get(payout.source.currency, 0)
    if fee_minor:
        fee = Money(fee_minor, payout.source.currency)
        _post(
            conn,
            TransactionRequest(
                idempotency_key=f"payout:{payout.id}:return_fee",
                kind="payout_return_fee",
                entries=(
                    EntryRequest(seller, Side.DEBIT, fee),
                    EntryRequest("platform:revenue:payout_fees", Side.CREDIT, fee),
                ),
                references=refs,
                description=f"return fee for payout {payout.id}",
            ),
            now=now,
        )
    reason = describe_reason(notice.reason_code)
    _move(
        conn,
        payout,
        _S.RETURNED,
        now=now,
        closed_at=now,
        status_reason_code=notice.reason_code[:16],
        status_reason_text=(notice.reason_text or reason.description)[:300],
        return_fee_minor=fee_minor or None,
    )
    if reason.disables_bank_account:
        bank_accounts.disable_bank_account(
            conn,
            payout.bank_account_id,
            reason_code=notice.reason_code,
            actor="system:bank-return",
            now=now,
        )


def record_report(
    db: Database,
    *,
    kind: str,
    filename: str,
    content: bytes,
    clock: Clock,
    summary: Mapping[str, Any],
) -> tuple[str, bool]:
    """Remember an incoming file by its SHA-256: the same file twice is applied once."""
    digest = hashlib.sha256(content).hexdigest()

    def work(conn: Connection) -> tuple[str, bool]:
        r = models.bank_reports.c
        existing = conn.execute(select(r.id).where(r.sha256 == digest)).scalar()
        if existing is not None:
            return str(existing), True
        report_id = prefixed_id("rpt")
        conn.execute(
            models.bank_reports.insert().values(
                id=report_id,
                kind=kind,
                filename=filename[:200],
                sha256=digest,
                received_at=clock.now(),
                summary=dict(summary),
            )
        )
        return report_id, False

    return db.run(work, retry_unique_violations=True)


def seen_report(db: Database, content: bytes) -> bool:
    digest = hashlib.sha256(content).hexdigest()
    with db.reading() as conn:
        r = models.bank_reports.c
        return conn.execute(select(r.id).where(r.sha256 == digest)).first() is not None


# --- schedules -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Schedule:
    seller_id: str
    currency: str
    schedule: PayoutSchedule


def set_schedule(
    db: Database,
    *,
    seller_id: str,
    currency: str,
    schedule: PayoutSchedule,
    actor: str,
    clock: Clock,
    source_ip: str | None = None,
) -> Schedule:
    """Set how often a seller's balance in `currency` is paid (audited: it moves money)."""

    def work(conn: Connection) -> Schedule:
        now = clock.now()
        s = models.payout_schedules.c
        where = (s.seller_id == seller_id) & (s.currency == currency)
        before = conn.execute(select(models.payout_schedules).where(where)).first()
        values = {
            "interval": schedule.interval,
            "weekday": schedule.weekday,
            "day_of_month": schedule.day_of_month,
            "minimum_minor": schedule.minimum.amount_minor,
            "updated_by": actor,
            "updated_at": now,
        }
        if before is None:
            conn.execute(
                models.payout_schedules.insert().values(
                    seller_id=seller_id, currency=currency, **values
                )
            )
        else:
            conn.execute(update(models.payout_schedules).where(where).values(**values))
        record_audit(
            conn,
            actor=actor,
            action="payout_schedule.set",
            subject_type="seller",
            subject_id=seller_id,
            before=None
            if before is None
            else {
                "currency": currency,
                "interval": before.interval,
                "weekday": before.weekday,
                "day_of_month": before.day_of_month,
                "minimum_minor": before.minimum_minor,
            },
            after={
                "currency": currency,
                **{k: v for k, v in values.items() if k not in ("updated_at", "updated_by")},
            },
            source_ip=source_ip,
            at=now,
        )
        return Schedule(seller_id, currency, schedule)

    return db.run(work)


def get_schedule(
    db: Database, *, seller_id: str, currency: str, policy: PayoutPolicy | None = None
) -> Schedule:
    """The seller's schedule, or the default one (daily, default minimum)."""
    policy = policy or PayoutPolicy.from_settings()
    with db.reading() as conn:
        row = _schedules_in(conn, [(seller_id, currency)]).get((seller_id, currency))
    return Schedule(seller_id, currency, _schedule(row, currency, policy))


# --- our own accounts, per rail --------------------------------------------------------------


def originators(settings: Settings | None = None) -> dict[str, Originator]:
    """The accounts payouts leave from, per rail, from `settings.originators`."""
    s = settings or get_settings()
    found: dict[str, Originator] = {}
    for rail, values in s.originators.items():
        v = dict(values)
        account: IbanAccount | AbaAccount | ZenginAccount | UkAccount
        if "iban" in v:
            account = IbanAccount(v.pop("iban"), v.pop("bic", None))
        elif "routing_number" in v:
            account = AbaAccount(v.pop("routing_number"), v.pop("account_number"))
        elif "bank_code" in v:
            account = ZenginAccount(
                v.pop("bank_code"), v.pop("branch_code"), v.pop("account_number")
            )
        elif "sort_code" in v:
            account = UkAccount(v.pop("sort_code"), v.pop("account_number"))
        else:
            raise InvalidInput(f"originator of {rail} has no account", code="invalid_setting")
        found[rail] = Originator(name=v.pop("name"), account=account, **v)
    return found
