"""What one unit of work of money in reads and changes: events, orders and lines, refunds,
disputes, adjustments; loaded in bulk (locked on PostgreSQL), changed in memory by the
handlers, then written back at once with the ledger transactions and outbox events.

Locks are taken in one order everywhere (events, orders, disputes, adjustments, then the
ledger's accounts), each in sorted key order, so concurrent units never deadlock each other.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Generic, TypeVar

from sqlalchemy import Column, Connection, Table, and_, bindparam, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from sellerpay.errors import invariant
from sellerpay.events.service import record_events
from sellerpay.ledger.rules import TransactionRequest
from sellerpay.ledger.service import PostResult, post_many_in
from sellerpay.money import Money
from sellerpay.sellers.service import Seller, find_sellers_in
from sellerpay.settlement import models
from sellerpay.settlement.rules import (
    FeePlan,
    FeeRule,
    HoldingPeriods,
    LineFee,
    RefundPolicy,
)

lookup_chunk_size: Final = 500  # keys per IN (…) lookup


# --- records: one mutable dataclass per row, fields named as the columns -------------------


@dataclass(slots=True)
class EventRecord:
    id: str
    type: str | None
    occurred_at: datetime | None
    body: dict[str, Any]
    body_hash: str
    source: str
    status: str
    reason_code: str | None
    reason: str | None
    waiting_for: str | None
    received_at: datetime
    arrival: str
    updated_at: datetime
    applied_at: datetime | None
    attempts: int


@dataclass(slots=True)
class OrderRecord:
    order_id: str
    seller_id: str
    currency: str
    market: str
    status: str
    risk_tier: str
    gross_minor: int
    fee_minor: int
    net_minor: int
    refunded_minor: int
    refunded_by_amount_minor: int
    fee_returned_minor: int
    pending_minor: int
    released_minor: int
    fee_plan_id: str
    fee_plan_version: int
    refund_policy: str
    paid_at: datetime
    shipped_at: datetime | None
    delivered_at: datetime | None
    release_due_at: datetime
    released_at: datetime | None
    paid_event_id: str
    request_hash: str
    created_at: datetime
    updated_at: datetime

    def money(self, amount_minor: int) -> Money:
        return Money(amount_minor, self.currency)


@dataclass(slots=True)
class LineRecord:
    order_id: str
    line_id: str
    position: int
    category: str
    gross_minor: int
    bps: int
    commission_minor: int
    fixed_fee_minor: int
    fee_minor: int
    net_minor: int
    refunded_by_line_minor: int
    refunded_minor: int
    fee_returned_minor: int

    def fee(self, currency: str) -> LineFee:
        """The line's fee breakdown, as the rules compute with it."""
        return LineFee(
            line_id=self.line_id,
            gross=Money(self.gross_minor, currency),
            bps=self.bps,
            commission=Money(self.commission_minor, currency),
            fixed_fee=Money(self.fixed_fee_minor, currency),
            fee=Money(self.fee_minor, currency),
            net=Money(self.net_minor, currency),
        )


@dataclass(slots=True)
class RefundRecord:
    order_id: str
    refund_id: str
    amount_minor: int
    by_line: dict[str, int] | None
    seller_minor: int
    platform_minor: int
    from_pending_minor: int
    from_available_minor: int
    reason: str | None
    event_id: str
    request_hash: str
    created_at: datetime


@dataclass(slots=True)
class DisputeRecord:
    dispute_id: str
    order_id: str
    seller_id: str
    currency: str
    amount_minor: int
    status: str
    from_pending_minor: int
    from_available_minor: int
    fee_minor: int
    reason: str | None
    opened_event_id: str
    closed_event_id: str | None
    request_hash: str
    opened_at: datetime
    closed_at: datetime | None


@dataclass(slots=True)
class AdjustmentRecord:
    adjustment_id: str
    seller_id: str
    currency: str
    direction: str
    amount_minor: int
    reason: str
    requested_by: str
    status: str
    event_id: str
    request_hash: str
    decided_by: str | None
    decision_note: str | None
    decided_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class FeePlanRecord:
    """A stored fee plan version and the rules it stands for."""

    id: str
    scope: str
    seller_id: str | None
    name: str
    version: int
    effective_from: datetime
    rules: tuple[dict[str, Any], ...]
    fixed_fee_per_order: Mapping[str, int]
    refund_policy: RefundPolicy
    created_by: str
    created_at: datetime

    @property
    def plan(self) -> FeePlan:
        return FeePlan(
            id=self.id,
            version=self.version,
            rules=tuple(
                FeeRule(
                    category=r["category"],
                    market=r["market"],
                    bps=r["bps"],
                    min_minor=dict(r.get("min_minor", {})),
                    max_minor=dict(r.get("max_minor", {})),
                )
                for r in self.rules
            ),
            fixed_fee_per_order=dict(self.fixed_fee_per_order),
            refund_policy=self.refund_policy,
        )


PLATFORM_SCOPE: Final = "platform"


def fee_plan_record(row: Any) -> FeePlanRecord:
    return FeePlanRecord(
        id=row.id,
        scope=row.scope,
        seller_id=row.seller_id,
        name=row.name,
        version=row.version,
        effective_from=row.effective_from,
        rules=tuple(row.rules),
        fixed_fee_per_order=dict(row.fixed_fee_per_order),
        refund_policy=RefundPolicy(row.refund_policy),
        created_by=row.created_by,
        created_at=row.created_at,
    )


def plan_in_force(plans: Iterable[FeePlanRecord], *, at: datetime) -> FeePlanRecord | None:
    """Of one scope's versions, the newest version effective at `at`."""
    effective = [p for p in plans if p.effective_from <= at]
    return max(effective, key=lambda p: p.version) if effective else None


# --- rows of one table: loaded, added, changed, written back --------------------------------

R = TypeVar("R")


class Rows(Generic[R]):
    """The rows of one table this unit knows: `None` for a key looked up and not found."""

    def __init__(self, table: Table, record: type[R], key: Sequence[str]) -> None:
        self.table = table
        self.record = record
        self.key_columns: tuple[Column[Any], ...] = tuple(table.c[name] for name in key)
        self._key_names = tuple(key)
        self._columns = [f.name for f in dataclasses.fields(record)]  # type: ignore[arg-type]
        self.known: dict[Any, R | None] = {}
        self._new: dict[Any, R] = {}
        self._dirty: dict[Any, R] = {}

    def key_of(self, record: R) -> Any:
        values = tuple(getattr(record, name) for name in self._key_names)
        return values[0] if len(values) == 1 else values

    def get(self, key: Any) -> R | None:
        return self.known.get(key)

    def add(self, record: R) -> R:
        key = self.key_of(record)
        invariant(self.known.get(key) is None, f"{self.table.name} {key} is added once")
        self.known[key] = record
        self._new[key] = record
        return record

    def touch(self, record: R) -> None:
        key = self.key_of(record)
        if key not in self._new:
            self._dirty[key] = record

    def load(self, conn: Connection, keys: Iterable[Any], *, lock: bool, where: Any = None) -> None:
        """Read the rows of `keys` not known yet (locked FOR UPDATE when `lock`)."""
        wanted = sorted({k for k in keys if k not in self.known})
        for start in range(0, len(wanted), lookup_chunk_size):
            chunk = wanted[start : start + lookup_chunk_size]
            column: Any = (
                self.key_columns[0] if len(self.key_columns) == 1 else tuple_(*self.key_columns)
            )
            query = select(self.table).where(column.in_(chunk)).order_by(*self.key_columns)
            if lock:
                query = query.with_for_update()
            for row in conn.execute(query):
                self.remember(row)
            for key in chunk:
                self.known.setdefault(key, None)

    def load_where(self, conn: Connection, condition: Any, *, lock: bool = False) -> list[R]:
        """Read the rows matching `condition`; a locking read refreshes rows read before."""
        query = select(self.table).where(condition).order_by(*self.key_columns)
        if lock:
            query = query.with_for_update()
        return [self.remember(row, refresh=lock) for row in conn.execute(query)]

    def remember(self, row: Any, *, refresh: bool = False) -> R:
        """Know a row read by the caller (returns the record this unit already had, if any)."""
        values = {name: row._mapping[name] for name in self._columns}
        record = self.record(**values)
        key = self.key_of(record)
        known = self.known.get(key)
        if known is None:
            self.known[key] = record
            return record
        if refresh:
            for name, value in values.items():
                setattr(known, name, value)
        return known

    def flush(self, conn: Connection) -> None:
        if self._new:
            conn.execute(
                self.table.insert(),
                [self._values(r) for _, r in sorted(self._new.items(), key=lambda kv: kv[0])],
            )
        if self._dirty:
            others = [c for c in self._columns if c not in self._key_names]
            statement = (
                self.table.update()
                .where(and_(*(c == bindparam(f"k_{c.name}") for c in self.key_columns)))
                .values({name: bindparam(f"v_{name}") for name in others})
            )
            params = [
                {
                    **{f"k_{name}": getattr(r, name) for name in self._key_names},
                    **{f"v_{name}": getattr(r, name) for name in others},
                }
                for _, r in sorted(self._dirty.items(), key=lambda kv: kv[0])
            ]
            updated = conn.execute(statement, params).rowcount
            invariant(updated == len(params), f"updated {updated} {self.table.name} rows")
        self._new.clear()
        self._dirty.clear()

    def _values(self, record: R) -> dict[str, Any]:
        return {name: getattr(record, name) for name in self._columns}


# --- the unit --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Policy:
    """The settings money in decides with (from `Settings`, fixed for a unit of work)."""

    holding: HoldingPeriods
    dispute_fee_minor: Mapping[str, int]
    adjustment_approval_threshold_minor: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Wanted:
    """The keys a batch of events refers to, to load them all before applying any."""

    event_ids: set[str] = field(default_factory=set)
    order_ids: set[str] = field(default_factory=set)
    dispute_ids: set[str] = field(default_factory=set)
    seller_ids: set[str] = field(default_factory=set)
    adjustment_ids: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    type: str
    subject: str
    data: Mapping[str, Any]


class Unit:
    """One unit of work: everything it read, everything to write, written by `flush`."""

    def __init__(self, conn: Connection, *, now: datetime, policy: Policy) -> None:
        self.conn = conn
        self.now = now
        self.policy = policy
        self.locking = conn.dialect.name == "postgresql"
        self.events = Rows(models.marketplace_events, EventRecord, ["id"])
        self.orders = Rows(models.orders, OrderRecord, ["order_id"])
        self.lines = Rows(models.order_lines, LineRecord, ["order_id", "line_id"])
        self.refunds = Rows(models.refunds, RefundRecord, ["order_id", "refund_id"])
        self.disputes = Rows(models.disputes, DisputeRecord, ["dispute_id"])
        self.adjustments = Rows(models.adjustments, AdjustmentRecord, ["adjustment_id"])
        self.sellers: dict[str, Seller | None] = {}
        self.fee_plans: dict[str, list[FeePlanRecord]] = {}
        self.conflicts: list[dict[str, Any]] = []
        self.postings: list[TransactionRequest] = []
        self.outbox: list[OutboxEvent] = []
        self._lines_of: dict[str, list[LineRecord]] = {}

    # -- reading ------------------------------------------------------------------------------

    def load(self, wanted: Wanted) -> None:
        """Read (and on PostgreSQL lock) everything `wanted` names, in the global lock order."""
        conn, lock = self.conn, self.locking
        self.events.load(conn, wanted.event_ids, lock=lock)
        self.disputes.load(conn, wanted.dispute_ids, lock=False)
        order_ids = set(wanted.order_ids)
        order_ids.update(d.order_id for d in self._known(self.disputes))
        self.orders.load(conn, order_ids, lock=lock)
        if lock and wanted.dispute_ids:  # their orders locked, lock the disputes, in order
            self.disputes.load_where(
                conn, models.disputes.c.dispute_id.in_(sorted(wanted.dispute_ids)), lock=True
            )
        self.adjustments.load(conn, wanted.adjustment_ids, lock=lock)
        found_orders = sorted(o.order_id for o in self._known(self.orders))
        for start in range(0, len(found_orders), lookup_chunk_size):
            chunk = found_orders[start : start + lookup_chunk_size]
            self.lines.load_where(conn, models.order_lines.c.order_id.in_(chunk))
            self.refunds.load_where(conn, models.refunds.c.order_id.in_(chunk))
        for line in self._known(self.lines):
            self._lines_of.setdefault(line.order_id, []).append(line)
        seller_ids = set(wanted.seller_ids) | {o.seller_id for o in self._known(self.orders)}
        seller_ids |= {a.seller_id for a in self._known(self.adjustments)}
        self.load_sellers(seller_ids)

    def load_sellers(self, seller_ids: Iterable[str]) -> None:
        missing = sorted({s for s in seller_ids if s not in self.sellers})
        if not missing:
            return
        found = find_sellers_in(self.conn, missing)
        for seller_id in missing:
            self.sellers[seller_id] = found.get(seller_id)
        self._load_fee_plans(missing)

    def _load_fee_plans(self, seller_ids: Sequence[str]) -> None:
        scopes = [s for s in (PLATFORM_SCOPE, *seller_ids) if s not in self.fee_plans]
        for scope in scopes:
            self.fee_plans[scope] = []
        f = models.fee_plans.c
        for start in range(0, len(scopes), lookup_chunk_size):
            chunk = scopes[start : start + lookup_chunk_size]
            for row in self.conn.execute(select(models.fee_plans).where(f.scope.in_(chunk))):
                self.fee_plans[row.scope].append(fee_plan_record(row))

    @staticmethod
    def _known(rows: Rows[R]) -> list[R]:
        return [r for r in rows.known.values() if r is not None]

    def seller(self, seller_id: str) -> Seller | None:
        if seller_id not in self.sellers:
            self.load_sellers([seller_id])
        return self.sellers[seller_id]

    def fee_plan_for(self, seller_id: str, *, at: datetime) -> FeePlanRecord | None:
        """The seller's own plan in force at `at`, else the platform's default, else None."""
        self.seller(seller_id)  # loads the plans of the seller's scope
        own = plan_in_force(self.fee_plans.get(seller_id, []), at=at)
        return own or plan_in_force(self.fee_plans.get(PLATFORM_SCOPE, []), at=at)

    def lines_of(self, order_id: str) -> list[LineRecord]:
        return sorted(self._lines_of.get(order_id, []), key=lambda line: line.position)

    # -- writing ------------------------------------------------------------------------------

    def add_lines(self, lines: Sequence[LineRecord]) -> None:
        for line in lines:
            self.lines.add(line)
            self._lines_of.setdefault(line.order_id, []).append(line)

    def post(self, request: TransactionRequest) -> None:
        self.postings.append(request)

    def record(self, type: str, subject: str, data: Mapping[str, Any]) -> None:
        self.outbox.append(OutboxEvent(type, subject, data))

    def flush(self, on_refused: Callable[[PostResult], None]) -> list[PostResult]:
        """Write every change, post every transaction, record every event; any transaction the
        ledger refuses is handed to `on_refused` (which raises to roll the unit back)."""
        conn = self.conn
        tables: list[Rows[Any]] = [
            self.events,
            self.orders,
            self.lines,
            self.refunds,
            self.disputes,
            self.adjustments,
        ]
        for rows in tables:
            rows.flush(conn)
        if self.conflicts:
            insert = pg_insert if self.locking else sqlite_insert
            statement = insert(models.marketplace_event_conflicts).on_conflict_do_nothing()
            conn.execute(statement, self.conflicts)  # the same other body twice: kept once
            self.conflicts.clear()
        results = post_many_in(conn, self.postings, now=self.now) if self.postings else []
        for result in results:
            if result.error is not None:
                on_refused(result)
        record_events(conn, [(e.type, e.subject, e.data) for e in self.outbox], now=self.now)
        self.postings.clear()
        self.outbox.clear()
        return results
