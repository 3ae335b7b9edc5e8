"""Finance reports read from the ledger: the daily cash position per bank account, what the
platform owes sellers, revenue by kind, and the trial balance of the whole ledger.

Every figure is summed by the database (ledger/summaries.py) and every moment is "before": a
day's closing position counts the entries effective before the next day's 00:00 UTC. The trial
balance is read by one statement (a consistent snapshot), so it must sum to zero per currency:
`check_trial_balance` raises `InvariantViolation` otherwise, and the report shows the totals.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from sellerpay.clock import ensure_utc
from sellerpay.db import Database
from sellerpay.ledger.rules import AccountKind
from sellerpay.ledger.summaries import (
    AccountTotals,
    account_totals,
    daily_totals,
    family_sums,
    period_totals,
)
from sellerpay.money import Money
from sellerpay.reporting.rules import chart_line, check_days, check_period, check_trial_balance

BANK_ACCOUNTS: Final = "platform:bank:%"
REVENUE_ACCOUNTS: Final = "platform:revenue:%"
IN_TRANSIT: Final = "platform:payouts_in_transit"
_SELLER_FAMILIES: Final = {
    "pending": "seller:%:pending",
    "available": "seller:%:available",
    "reserved": "seller:%:reserve",
    "dispute_hold": "seller:%:dispute_hold",
}


def day_start(day: date) -> datetime:
    """00:00 UTC of `day`: where a UTC day's entries begin."""
    return datetime.combine(day, time.min, tzinfo=UTC)


# --- cash position -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CashDay:
    """One bank account in one currency on one UTC day: what came in (debits), what went out
    (credits) and what it held at the end of the day."""

    day: date
    account: str
    currency: str
    opening: Money
    money_in: Money
    money_out: Money
    closing: Money


@dataclass(frozen=True, slots=True)
class CashPosition:
    start: date
    end: date
    days: tuple[CashDay, ...]  # by account, currency, then day


def cash_position(db: Database, *, start: date, end: date) -> CashPosition:
    """Each `platform:bank:*` account's position at the end of every UTC day of start..end."""
    check_days(start, end)
    first, after = day_start(start), day_start(end + timedelta(days=1))
    opening: dict[tuple[str, str], Money] = {}
    for chunk in account_totals(db, like=[BANK_ACCOUNTS], before=first):
        opening.update({(a.code, a.currency): a.balance for a in chunk})
    moves: dict[tuple[str, str], dict[date, tuple[Money, Money]]] = {}
    for d in daily_totals(db, like=[BANK_ACCOUNTS], start=first, end=after):
        moves.setdefault((d.code, d.currency), {})[d.day] = (d.debits, d.credits)
    days: list[CashDay] = []
    for code, currency in sorted(opening.keys() | moves.keys()):
        held = opening.get((code, currency), Money.zero(currency))
        zero = (Money.zero(currency), Money.zero(currency))
        for offset in range((end - start).days + 1):
            day = start + timedelta(days=offset)
            money_in, money_out = moves.get((code, currency), {}).get(day, zero)
            closing = held + money_in - money_out  # a bank account is an asset: debits add
            days.append(CashDay(day, code, currency, held, money_in, money_out, closing))
            held = closing
    return CashPosition(start, end, tuple(days))


# --- what the platform owes sellers --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Liabilities:
    """What the platform owes sellers in one currency. `available` is net of negative balances;
    `negative_to_recover` (>= 0) is what sellers with a negative available balance owe back,
    from `sellers_negative` sellers; `in_transit` is paid out, not yet confirmed by the bank."""

    currency: str
    pending: Money
    available: Money
    negative_to_recover: Money
    sellers_negative: int
    reserved: Money
    dispute_hold: Money
    in_transit: Money

    @property
    def total(self) -> Money:
        return self.pending + self.available + self.reserved + self.dispute_hold + self.in_transit


@dataclass(frozen=True, slots=True)
class SellerLiabilities:
    before: datetime | None  # None: now (the stored balances)
    currencies: tuple[Liabilities, ...]


def seller_liabilities(db: Database, *, before: datetime | None = None) -> SellerLiabilities:
    """Pending, available (and its negative part), reserved, disputed and in-transit money owed
    to sellers, per currency, now or before a moment."""
    before = ensure_utc(before) if before is not None else None
    sums: dict[str, dict[str, Money]] = {}
    negative: dict[str, tuple[Money, int]] = {}
    for name, like in (*_SELLER_FAMILIES.items(), ("in_transit", IN_TRANSIT)):
        for family in family_sums(db, like=like, before=before):
            sums.setdefault(family.currency, {})[name] = family.balance
            if name == "available":
                negative[family.currency] = (-family.negative, family.negative_accounts)
    lines = []
    for currency in sorted(sums):
        found = sums[currency]
        zero = Money.zero(currency)
        to_recover, count = negative.get(currency, (zero, 0))
        lines.append(
            Liabilities(
                currency=currency,
                pending=found.get("pending", zero),
                available=found.get("available", zero),
                negative_to_recover=to_recover,
                sellers_negative=count,
                reserved=found.get("reserved", zero),
                dispute_hold=found.get("dispute_hold", zero),
                in_transit=found.get("in_transit", zero),
            )
        )
    return SellerLiabilities(before, tuple(lines))


# --- revenue -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RevenueLine:
    """What one revenue account earned in [start, end): credits less debits (a fee given back
    is a debit)."""

    account: str
    currency: str
    credits: Money
    debits: Money

    @property
    def kind(self) -> str:
        return self.account.removeprefix("platform:revenue:")

    @property
    def earned(self) -> Money:
        return self.credits - self.debits


@dataclass(frozen=True, slots=True)
class RevenueReport:
    start: datetime
    end: datetime
    lines: tuple[RevenueLine, ...]
    totals: Mapping[str, Money]  # currency -> earned


def revenue_by_kind(db: Database, *, start: datetime, end: datetime) -> RevenueReport:
    """Revenue per `platform:revenue:*` account and currency, effective in [start, end)."""
    start, end = ensure_utc(start), ensure_utc(end)
    check_period(start, end)
    lines = tuple(
        RevenueLine(t.code, t.currency, t.credits, t.debits)
        for t in period_totals(db, like=[REVENUE_ACCOUNTS], start=start, end=end)
    )
    totals: dict[str, Money] = {}
    for line in lines:
        totals[line.currency] = totals.get(line.currency, Money.zero(line.currency)) + line.earned
    return RevenueReport(start, end, lines, dict(sorted(totals.items())))


# --- trial balance -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrialBalanceLine:
    """One line of the chart (`seller:*:available`, `platform:bank:main`) in one currency: how
    many accounts, their debit and credit totals, and their balance on the normal side."""

    line: str
    currency: str
    kind: str
    accounts: int
    debits: Money
    credits: Money

    @property
    def balance(self) -> Money:
        net = self.debits - self.credits
        debit_normal = self.kind in (AccountKind.ASSET.value, AccountKind.EXPENSE.value)
        return net if debit_normal else -net


@dataclass(frozen=True, slots=True)
class CurrencyTotals:
    """All debits and all credits of one currency: equal, or the ledger is broken."""

    currency: str
    debits: Money
    credits: Money

    @property
    def difference(self) -> Money:
        return self.debits - self.credits


@dataclass(frozen=True, slots=True)
class TrialBalance:
    before: datetime | None
    lines: tuple[TrialBalanceLine, ...]
    totals: tuple[CurrencyTotals, ...]


@dataclass(slots=True)
class _LineSum:
    kind: str
    accounts: int
    debits: Money
    credits: Money


def trial_balance(db: Database, *, before: datetime | None = None) -> TrialBalance:
    """Every account's debit and credit totals, summed per line of the chart and currency;
    checked to sum to zero per currency (`InvariantViolation` if not)."""
    lines: dict[tuple[str, str], _LineSum] = {}
    totals: dict[str, tuple[Money, Money]] = {}
    for account in _accounts(db, before, totals):
        key = (chart_line(account.code), account.currency)
        found = lines.get(key)
        if found is None:
            lines[key] = _LineSum(account.kind, 1, account.debits, account.credits)
        else:
            found.accounts += 1
            found.debits += account.debits
            found.credits += account.credits
    return TrialBalance(
        before,
        tuple(
            TrialBalanceLine(line, currency, s.kind, s.accounts, s.debits, s.credits)
            for (line, currency), s in sorted(lines.items())
        ),
        _currency_totals(totals),
    )


def trial_balance_by_account(
    db: Database, *, before: datetime | None = None
) -> Iterator[AccountTotals | CurrencyTotals]:
    """Every account with its totals, streamed, then one total per currency — checked to sum
    to zero before the totals are given (`InvariantViolation` if not)."""
    totals: dict[str, tuple[Money, Money]] = {}
    yield from _accounts(db, before, totals)
    yield from _currency_totals(totals)


def _accounts(
    db: Database, before: datetime | None, totals: dict[str, tuple[Money, Money]]
) -> Iterator[AccountTotals]:
    """Every account from one read, adding to `totals` (currency -> debits, credits); checks
    the totals once the last account is read."""
    before = ensure_utc(before) if before is not None else None
    for chunk in account_totals(db, before=before):
        for account in chunk:
            debits, credits = totals.get(
                account.currency, (Money.zero(account.currency), Money.zero(account.currency))
            )
            totals[account.currency] = (debits + account.debits, credits + account.credits)
            yield account
    check_trial_balance(totals)


def _currency_totals(totals: Mapping[str, tuple[Money, Money]]) -> tuple[CurrencyTotals, ...]:
    return tuple(CurrencyTotals(c, d, k) for c, (d, k) in sorted(totals.items()))
