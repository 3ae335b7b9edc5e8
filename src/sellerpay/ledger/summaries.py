"""Aggregate reads of the ledger for reports (read-only): every account's totals now or before a
moment, the balances of a few accounts before a moment, sums over a family of accounts, and
movements per account over a period or per UTC day.

"Before `moment`" always means the entries effective strictly before it: a period [start, end)
then has opening = before(start) and closing = before(end), with no entry counted twice. Sums of
BIGINT columns are NUMERIC on PostgreSQL (a Decimal), so every sum is turned back into an int.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import Connection, case, cast, func, or_, select, tuple_
from sqlalchemy import Date as SqlDate

from sellerpay.clock import ensure_utc
from sellerpay.db import Database
from sellerpay.errors import InvalidInput, LimitExceeded
from sellerpay.ledger import models
from sellerpay.ledger.rules import Side
from sellerpay.money import Money

AccountKey = tuple[str, str]  # (code, currency)
chunk_size_max: Final = 10_000
keys_per_read_max: Final = 64
patterns_per_read_max: Final = 16

_a, _e = models.accounts.c, models.entries.c
_DEBITS = func.sum(case((_e.side == Side.DEBIT.value, _e.amount_minor), else_=0))
_CREDITS = func.sum(case((_e.side == Side.CREDIT.value, _e.amount_minor), else_=0))


@dataclass(frozen=True, slots=True)
class AccountTotals:
    """An account's debit and credit totals (all its entries, or those before a moment)."""

    code: str
    currency: str
    kind: str
    normal_side: Side
    debits: Money
    credits: Money

    @property
    def balance(self) -> Money:
        """On the account's normal side: what a bank holds, what a seller is owed."""
        net = self.debits - self.credits
        return net if self.normal_side is Side.DEBIT else -net


@dataclass(frozen=True, slots=True)
class FamilySum:
    """The balances of every account matching a pattern, in one currency, summed; with the
    part that is below zero (`negative`, itself <= 0) and how many accounts are below zero."""

    currency: str
    accounts: int
    balance: Money
    negative: Money
    negative_accounts: int


@dataclass(frozen=True, slots=True)
class DayTotals:
    """An account's debits and credits effective on one UTC day."""

    code: str
    currency: str
    day: date
    debits: Money
    credits: Money


def _check_patterns(like: Sequence[str]) -> None:
    if len(like) > patterns_per_read_max:
        raise LimitExceeded(
            f"at most {patterns_per_read_max} patterns at once", code="patterns_per_read_max"
        )


def _or_like(column: Any, like: Sequence[str]) -> Any:
    """`column LIKE p1 OR …`: the patterns are the reports' constants, never a caller's text."""
    return or_(*(column.like(pattern) for pattern in like))


def account_totals(
    db: Database,
    *,
    like: Sequence[str] = (),
    before: datetime | None = None,
    chunk_size: int = 5_000,
) -> Iterator[list[AccountTotals]]:
    """Every account (or those whose code matches one of the SQL LIKE patterns `like`) with its
    totals, in (code, currency) order, a chunk at a time, read by ONE statement (a consistent
    snapshot: the trial balance of what it returns sums to zero per currency).

    Without `before`: the stored totals (one row per account). With it: the entries effective
    before that moment, summed per account (accounts with none are left out). The connection
    stays open while the caller iterates.
    """
    _check_patterns(like)
    if not 1 <= chunk_size <= chunk_size_max:
        raise InvalidInput(f"chunk_size must be 1..{chunk_size_max}", code="invalid_chunk_size")
    labels = (_a.code, _a.currency, _a.kind, _a.normal_side)
    if before is None:
        query = select(*labels, _a.debits_posted.label("d"), _a.credits_posted.label("c"))
    else:
        query = (
            select(*labels, _DEBITS.label("d"), _CREDITS.label("c"))
            .select_from(models.entries.join(models.accounts, _a.id == _e.account_id))
            .where(_e.effective_at < ensure_utc(before))
            .group_by(_a.id, *labels)
        )
    if like:
        query = query.where(_or_like(_a.code, like))
    query = query.order_by(_a.code, _a.currency)
    with db.reading() as conn:
        result = conn.execution_options(yield_per=chunk_size).execute(query)
        for rows in result.partitions():
            yield [
                AccountTotals(
                    row.code,
                    row.currency,
                    row.kind,
                    Side(row.normal_side),
                    Money(int(row.d or 0), row.currency),
                    Money(int(row.c or 0), row.currency),
                )
                for row in rows
            ]


def balances_before(
    db: Database, keys: Sequence[AccountKey], before: datetime | None
) -> dict[AccountKey, Money]:
    """The balance (normal side) of each (code, currency) from its entries effective before
    `before` (all entries when None); zero for an account never used."""
    if len(keys) > keys_per_read_max:
        raise LimitExceeded(
            f"at most {keys_per_read_max} accounts at once", code="accounts_per_read_max"
        )
    found = {key: Money(0, key[1]) for key in keys}
    if not keys:
        return found
    query = (
        select(_a.code, _a.currency, _a.normal_side, _DEBITS.label("d"), _CREDITS.label("c"))
        .select_from(models.entries.join(models.accounts, _a.id == _e.account_id))
        .where(tuple_(_a.code, _a.currency).in_(list(keys)))
        .group_by(_a.id, _a.code, _a.currency, _a.normal_side)
    )
    if before is not None:
        query = query.where(_e.effective_at < ensure_utc(before))
    with db.reading() as conn:
        for row in conn.execute(query):
            net = int(row.d or 0) - int(row.c or 0)
            balance = net if row.normal_side == Side.DEBIT.value else -net
            found[(row.code, row.currency)] = Money(balance, row.currency)
    return found


def family_sums(db: Database, *, like: str, before: datetime | None = None) -> list[FamilySum]:
    """Per currency, the sum of the balances of the accounts whose code matches `like` (e.g.
    `seller:%:available`), the negative part of it and how many are negative — summed by the
    database, so a million sellers cost one scan, not a million rows sent here."""
    per_account = _per_account(like, before).subquery()
    negative = case((per_account.c.balance < 0, per_account.c.balance), else_=0)
    query = (
        select(
            per_account.c.currency,
            func.count().label("accounts"),
            func.sum(per_account.c.balance).label("balance"),
            func.sum(negative).label("negative"),
            func.sum(case((per_account.c.balance < 0, 1), else_=0)).label("negative_accounts"),
        )
        .group_by(per_account.c.currency)
        .order_by(per_account.c.currency)
    )
    with db.reading() as conn:
        if conn.dialect.name == "sqlite":  # SQLite's SUM stops at 2**63 - 1: add in Python
            return _family_sums_in_python(conn.execute(select(per_account)).all())
        rows = conn.execute(query).all()  # PostgreSQL's SUM of bigint is an exact numeric
    return [
        FamilySum(
            row.currency,
            int(row.accounts),
            Money(int(row.balance or 0), row.currency),
            Money(int(row.negative or 0), row.currency),
            int(row.negative_accounts or 0),
        )
        for row in rows
    ]


def _family_sums_in_python(rows: Sequence[Any]) -> list[FamilySum]:
    totals: dict[str, list[int]] = {}
    for row in rows:
        total = totals.setdefault(row.currency, [0, 0, 0, 0])
        balance = int(row.balance or 0)
        total[0] += 1
        total[1] += balance
        if balance < 0:
            total[2] += balance
            total[3] += 1
    return [
        FamilySum(currency, t[0], Money(t[1], currency), Money(t[2], currency), t[3])
        for currency, t in sorted(totals.items())
    ]


def _per_account(like: str, before: datetime | None) -> Any:
    """One row per matching account: its currency and its balance on its normal side."""
    if before is None:
        net = _a.credits_posted - _a.debits_posted
        balance = case((_a.normal_side == Side.CREDIT.value, net), else_=-net)
        return select(_a.currency, balance.label("balance")).where(_a.code.like(like))
    net = _CREDITS - _DEBITS
    balance = case((_a.normal_side == Side.CREDIT.value, net), else_=-net)
    return (
        select(_a.currency, balance.label("balance"))
        .select_from(models.entries.join(models.accounts, _a.id == _e.account_id))
        .where(_a.code.like(like), _e.effective_at < ensure_utc(before))
        .group_by(_a.id, _a.currency, _a.normal_side)
    )


def period_totals(
    db: Database, *, like: Sequence[str], start: datetime, end: datetime
) -> list[AccountTotals]:
    """Each matching account's debits and credits effective in [start, end), in code order."""
    _check_patterns(like)
    labels = (_a.code, _a.currency, _a.kind, _a.normal_side)
    query = (
        select(*labels, _DEBITS.label("d"), _CREDITS.label("c"))
        .select_from(models.entries.join(models.accounts, _a.id == _e.account_id))
        .where(_e.effective_at >= ensure_utc(start), _e.effective_at < ensure_utc(end))
        .where(_or_like(_a.code, like))
        .group_by(_a.id, *labels)
        .order_by(_a.code, _a.currency)
    )
    with db.reading() as conn:
        rows = conn.execute(query).all()
    return [
        AccountTotals(
            row.code,
            row.currency,
            row.kind,
            Side(row.normal_side),
            Money(int(row.d or 0), row.currency),
            Money(int(row.c or 0), row.currency),
        )
        for row in rows
    ]


def daily_totals(
    db: Database, *, like: Sequence[str], start: datetime, end: datetime
) -> list[DayTotals]:
    """Each matching account's debits and credits per UTC day of `effective_at`, for entries
    effective in [start, end), in (code, currency, day) order: summed by the database."""
    _check_patterns(like)
    with db.reading() as conn:
        day = _utc_day(conn)
        query = (
            select(_a.code, _a.currency, day.label("day"), _DEBITS.label("d"), _CREDITS.label("c"))
            .select_from(models.entries.join(models.accounts, _a.id == _e.account_id))
            .where(_e.effective_at >= ensure_utc(start), _e.effective_at < ensure_utc(end))
            .where(_or_like(_a.code, like))
            .group_by(_a.code, _a.currency, day)
            .order_by(_a.code, _a.currency, day)
        )
        rows = conn.execute(query).all()
    return [
        DayTotals(
            row.code,
            row.currency,
            row.day if isinstance(row.day, date) else date.fromisoformat(str(row.day)),
            Money(int(row.d or 0), row.currency),
            Money(int(row.c or 0), row.currency),
        )
        for row in rows
    ]


def _utc_day(conn: Connection) -> Any:
    """The UTC calendar day of an entry's effective time, in SQL.

    SQLite stores UTC as text `YYYY-MM-DD HH:MM:SS.ffffff`: its first ten characters are the
    day. PostgreSQL's `date(timestamptz)` would use the session's time zone: convert first.
    """
    if conn.dialect.name == "postgresql":
        return cast(func.timezone("UTC", _e.effective_at), SqlDate)
    return func.substr(_e.effective_at, 1, 10)
