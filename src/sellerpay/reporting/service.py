"""Use cases of reporting for sellers: a seller's statement for a period and currency, and the
composition of a payout. Reporting owns no tables: it reads through the ledger's, balances',
sellers' and payouts' services.

Errors: `NotFound` (`seller_not_found`, `payout_not_found`), `InvalidInput` (currency, period,
language), `LimitExceeded(export_rows_max)` when a statement would hold too many movements,
`Unavailable(statement_busy)` when the seller's accounts kept changing while it was read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sellerpay.balances import service as balances
from sellerpay.balances.rules import SellerAccount, seller_account_codes, seller_account_of
from sellerpay.clock import Clock, ensure_utc
from sellerpay.db import Database
from sellerpay.errors import Unavailable
from sellerpay.ledger import service as ledger
from sellerpay.ledger.summaries import balances_before
from sellerpay.money import Money, exponent
from sellerpay.payouts import service as payouts
from sellerpay.reporting.rules import (
    SellerStatement,
    StatementCategory,
    StatementMovement,
    check_composition,
    check_period,
    check_statement,
    statement_category,
    statement_language,
    statement_lines,
    statement_locale,
)
from sellerpay.sellers import service as sellers

statement_reads_max: Final = 5
"""How often a statement is read again when a posting lands on the seller's accounts while it
is being read (its three reads must see the same ledger for the check to mean anything)."""


def seller_statement(
    db: Database,
    *,
    seller_id: str,
    clock: Clock,
    currency: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    language: str | None = None,
) -> SellerStatement:
    """The seller's statement in `currency` (default: the seller's) for [start, end) (default:
    since the first movement, until everything posted so far): the opening balance of each
    account, every movement grouped per transaction with its references, the closing balance —
    checked to add up.

    The language is `language`, else the seller's `metadata.language`, else its country's.
    """
    seller = sellers.get_seller(db, seller_id)
    currency = currency or seller.default_currency
    exponent(currency)  # UnknownCurrency (InvalidInput) for anything but an ISO 4217 code
    start = ensure_utc(start) if start is not None else None
    end = ensure_utc(end) if end is not None else None
    generated_at = clock.now()
    check_period(start, end or generated_at)
    preferred = language if language is not None else seller.metadata.get("language")
    chosen = statement_language(seller.country, preferred if isinstance(preferred, str) else None)
    opening, movements, closing = _consistent_reads(db, seller_id, currency, start, end)
    lines = statement_lines(currency, opening, movements)
    check_statement(currency, opening, lines, closing)
    return SellerStatement(
        seller_id=seller.id,
        legal_name=seller.legal_name,
        country=seller.country,
        currency=currency,
        language=chosen,
        locale=statement_locale(chosen, seller.country),
        period_start=start,
        period_end=end or generated_at,
        generated_at=generated_at,
        opening=opening,
        closing=closing,
        lines=lines,
    )


Balances = dict[SellerAccount, Money]


def _consistent_reads(
    db: Database, seller_id: str, currency: str, start: datetime | None, end: datetime | None
) -> tuple[Balances, list[StatementMovement], Balances]:
    """Opening balances, movements and closing balances, read again until no posting touched
    the seller's accounts in between (their versions are the same before and after). No `end`:
    every entry, up to the last one posted."""
    codes = seller_account_codes(seller_id)
    keys = [(code, currency) for code in codes]
    for _ in range(statement_reads_max):
        versions = _versions(db, codes, currency)
        opening = _by_account(balances_before(db, keys, start)) if start else _zero(currency)
        closing = _by_account(balances_before(db, keys, end))
        where = balances.BalanceTransactionFilter(
            currency=currency, effective_from=start, effective_before=end
        )
        movements = [
            _movement(m, currency)
            for m in balances.export_balance_transactions(db, seller_id=seller_id, where=where)
        ]
        if _versions(db, codes, currency) == versions:
            return opening, movements, closing
    raise Unavailable(
        f"the accounts of {seller_id} kept changing while the statement was read: try again",
        code="statement_busy",
    )


def _versions(db: Database, codes: Sequence[str], currency: str) -> dict[str, int]:
    return {
        s.code: s.version for s in ledger.account_snapshots(db, codes) if s.currency == currency
    }


def _by_account(found: Mapping[tuple[str, str], Money]) -> Balances:
    return {seller_account_of(code): money for (code, _), money in found.items()}


def _zero(currency: str) -> Balances:
    return {account: Money.zero(currency) for account in SellerAccount}


def _movement(m: balances.BalanceTransaction, currency: str) -> StatementMovement:
    gross = fee = None
    if m.fee_breakdown:
        fees = [line for line in m.fee_breakdown if line.get("currency") == currency]
        if fees:
            gross = Money(sum(int(line["gross_minor"]) for line in fees), currency)
            fee = Money(sum(int(line["fee_minor"]) for line in fees), currency)
    return StatementMovement(
        transaction_id=m.transaction_id,
        effective_at=m.effective_at,
        posted_at=m.posted_at,
        kind=m.type,
        description=m.description,
        references=m.references,
        account=m.account,
        amount=m.amount,
        gross=gross,
        fee=fee,
    )


# --- payout composition --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CompositionLine:
    """(Part of) one balance transaction a payout paid, signed: refunds and fees subtract."""

    line: int
    account_version: int
    transaction_id: str
    kind: str
    category: StatementCategory
    amount: Money
    partial: bool
    references: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class CompositionReport:
    """A payout and every balance transaction it paid; the lines sum to `payout.source`."""

    payout: payouts.Payout
    lines: tuple[CompositionLine, ...]


def payout_composition(db: Database, *, payout_id: str) -> CompositionReport:
    """What a payout paid, line by line, checked to sum exactly to the amount it took from the
    seller's available balance (`NotFound(payout_not_found)` for an unknown payout)."""
    payout, items = payouts.composition(db, payout_id)
    lines = tuple(
        CompositionLine(
            line=number,
            account_version=item.account_version,
            transaction_id=item.transaction_id,
            kind=item.kind,
            category=statement_category(item.kind, SellerAccount.AVAILABLE),
            amount=item.amount,
            partial=item.partial,
            references=item.references,
        )
        for number, item in enumerate(items, start=1)
    )
    check_composition(payout.id, payout.source, [line.amount for line in lines])
    return CompositionReport(payout, lines)
