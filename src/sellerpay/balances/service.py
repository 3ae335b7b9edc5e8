"""Use cases of balances: a seller's balances per currency and balance transactions, read from
the ledger (this context owns no tables; it calls the ledger's, sellers' and settlement's services).

Errors: `NotFound(seller_not_found)`, `InvalidInput` (currency, type, date range, limit),
`LimitExceeded(export_rows_max)` when an export would be too large.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from uuid import UUID

from sellerpay.balances.rules import (
    SellerAccount,
    SellerBalance,
    SourceCategory,
    seller_account_codes,
    seller_account_of,
    seller_balance,
    signed_amount,
    source_category,
)
from sellerpay.clock import ensure_utc
from sellerpay.db import Database
from sellerpay.errors import InvalidInput, LimitExceeded
from sellerpay.ledger import service as ledger
from sellerpay.ledger.service import JournalFilter, JournalLine, JournalPosition
from sellerpay.money import Money, exponent
from sellerpay.sellers import service as sellers
from sellerpay.settlement import service as settlement

page_size_max: Final = 200
types_per_filter_max: Final = 20
export_rows_max: Final = 100_000
export_chunk_size: Final = 500
_KIND: Final = re.compile(r"[a-z][a-z0-9_.]{0,63}")  # as a ledger transaction kind


@dataclass(frozen=True, slots=True)
class SellerBalances:
    """A seller's balances, one per currency it holds (its default currency at least)."""

    seller_id: str
    balances: tuple[SellerBalance, ...]
    last_movement_at: datetime | None


@dataclass(frozen=True, slots=True)
class BalanceTransaction:
    """One movement on one of the seller's accounts, signed on the seller's side (+ owed to
    the seller), with the running balance of that account right after it."""

    id: str
    transaction_id: UUID
    type: str  # the ledger transaction's kind: order.paid, order.refunded, release…
    category: SourceCategory
    account: SellerAccount
    amount: Money
    balance_after: Money
    effective_at: datetime
    posted_at: datetime
    description: str
    references: Mapping[str, str]
    fee_breakdown: tuple[Mapping[str, Any], ...] | None  # per order line, for order movements
    position: JournalPosition


@dataclass(frozen=True, slots=True)
class BalanceTransactionFilter:
    """Which movements: a currency, transaction kinds, effective in [`effective_from`,
    `effective_before`); each left out means all."""

    currency: str | None = None
    types: tuple[str, ...] = ()
    effective_from: datetime | None = None
    effective_before: datetime | None = None


@dataclass(frozen=True, slots=True)
class BalanceTransactionPage:
    lines: tuple[BalanceTransaction, ...]
    next_after: JournalPosition | None  # pass back to read older movements; None at the end


def seller_balances(db: Database, *, seller_id: str) -> SellerBalances:
    """The seller's pending, available, reserved and disputed money per currency, with what
    must be recovered when available is negative; `NotFound` for an unknown seller."""
    seller = sellers.get_seller(db, seller_id)
    snapshots = ledger.account_snapshots(db, seller_account_codes(seller_id))
    by_currency: dict[str, dict[SellerAccount, Money]] = {seller.default_currency: {}}
    last_by_currency: dict[str, datetime | None] = {seller.default_currency: None}
    for snapshot in snapshots:
        by_currency.setdefault(snapshot.currency, {})[seller_account_of(snapshot.code)] = (
            snapshot.balance
        )
        last = last_by_currency.get(snapshot.currency)
        moved = snapshot.last_entry_at
        last_by_currency[snapshot.currency] = (
            moved if last is None or (moved is not None and moved > last) else last
        )
    balances = tuple(
        seller_balance(currency, by_currency[currency], last_movement_at=last_by_currency[currency])
        for currency in sorted(by_currency)
    )
    moments = [b.last_movement_at for b in balances if b.last_movement_at is not None]
    return SellerBalances(seller_id, balances, max(moments) if moments else None)


def balance_transactions(
    db: Database,
    *,
    seller_id: str,
    where: BalanceTransactionFilter,
    after: JournalPosition | None = None,
    limit: int = 50,
) -> BalanceTransactionPage:
    """The seller's movements, newest first (effective time, then posting order), a page at a
    time; order movements carry the fee breakdown of each order line."""
    if not 1 <= limit <= page_size_max:
        raise InvalidInput(f"limit must be between 1 and {page_size_max}", code="invalid_limit")
    journal = _journal_filter(db, seller_id, where)
    lines = ledger.entries_of_accounts(db, journal, after=after, newest_first=True, limit=limit + 1)
    page = _with_fees(db, lines[:limit])
    return BalanceTransactionPage(page, page[-1].position if len(lines) > limit else None)


def export_balance_transactions(
    db: Database, *, seller_id: str, where: BalanceTransactionFilter
) -> Iterator[BalanceTransaction]:
    """All the movements `where` selects, oldest first, read a chunk at a time (for a CSV
    statement). Checked before the first one is read: `LimitExceeded` above `export_rows_max`."""
    journal = _journal_filter(db, seller_id, where)
    count = ledger.count_entries_of_accounts(db, journal, up_to=export_rows_max + 1)
    if count > export_rows_max:
        raise LimitExceeded(
            f"an export holds at most {export_rows_max} movements: narrow it with from and to",
            code="export_rows_max",
            limit=export_rows_max,
        )
    return _export_chunks(db, journal)


def _export_chunks(db: Database, journal: JournalFilter) -> Iterator[BalanceTransaction]:
    after: JournalPosition | None = None
    while True:
        lines = ledger.entries_of_accounts(
            db, journal, after=after, newest_first=False, limit=export_chunk_size
        )
        yield from _with_fees(db, lines)
        if len(lines) < export_chunk_size:
            return
        after = lines[-1].position


def _journal_filter(db: Database, seller_id: str, where: BalanceTransactionFilter) -> JournalFilter:
    """Check the filter and the seller (`NotFound`), and say which ledger entries it selects."""
    if where.currency is not None:
        exponent(where.currency)  # UnknownCurrency for anything but an ISO 4217 code
    if len(where.types) > types_per_filter_max:
        raise LimitExceeded(
            f"filter on at most {types_per_filter_max} types", code="types_per_filter_max"
        )
    for kind in where.types:
        if not _KIND.fullmatch(kind):
            raise InvalidInput(
                f"{kind[:70]!r} is not a transaction type (e.g. order.paid)", code="invalid_type"
            )
    start, end = where.effective_from, where.effective_before
    if start is not None and end is not None and ensure_utc(start) >= ensure_utc(end):
        raise InvalidInput("`from` must be before `to`", code="invalid_date_range")
    sellers.get_seller(db, seller_id)
    return JournalFilter(
        codes=seller_account_codes(seller_id),
        currency=where.currency,
        kinds=tuple(sorted(set(where.types))),
        effective_from=start,
        effective_before=end,
    )


def _with_fees(db: Database, lines: Sequence[JournalLine]) -> tuple[BalanceTransaction, ...]:
    """The movements of `lines`, with the fee breakdown of their orders read in one call."""
    categories = [source_category(line.kind, seller_account_of(line.account)) for line in lines]
    order_ids = sorted(
        {
            line.references["order_id"]
            for line, category in zip(lines, categories, strict=True)
            if category is SourceCategory.ORDER and "order_id" in line.references
        }
    )
    fees = settlement.order_fee_breakdown(db, order_ids) if order_ids else {}
    movements = []
    for line, category in zip(lines, categories, strict=True):
        position = line.position
        order_fees = fees.get(line.references.get("order_id", ""))
        movements.append(
            BalanceTransaction(
                id=f"bt_{position.transaction_id.hex}_{position.leg}",
                transaction_id=position.transaction_id,
                type=line.kind,
                category=category,
                account=seller_account_of(line.account),
                amount=signed_amount(line.side, line.amount),
                balance_after=line.balance_after,
                effective_at=position.effective_at,
                posted_at=position.posted_at,
                description=line.description,
                references=line.references,
                fee_breakdown=(
                    tuple(order_fees)
                    if category is SourceCategory.ORDER and order_fees is not None
                    else None
                ),
                position=position,
            )
        )
    return tuple(movements)
