"""Reports as CSV, with the balances' conventions (balances/api.py): UTF-8, CRLF rows, times
in ISO 8601 UTC, every amount as an exact decimal string with its currency and, where a program
will sum it, its minor units beside it; text a spreadsheet would run as a formula is prefixed
with `'` (the balances' one rule for that, imported, not copied). Streamed in ~64 KB chunks.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Final

from sellerpay.balances.rules import SellerAccount, spreadsheet_safe
from sellerpay.ledger.schemas import MoneyOut
from sellerpay.ledger.summaries import AccountTotals
from sellerpay.money import Money
from sellerpay.reporting.finance import CurrencyTotals, TrialBalance
from sellerpay.reporting.rules import SellerStatement
from sellerpay.reporting.service import CompositionReport

_FLUSH_BYTES: Final = 64 * 1024
REFERENCES: Final = ("order_id", "refund_id", "dispute_id", "adjustment_id", "payout_id")
STATEMENT_COLUMNS: Final = (
    "row_type", "effective_at", "posted_at", "transaction_id", "type", "category",
    "description", *REFERENCES, "currency", "pending", "available", "reserved", "dispute_hold",
    "gross", "fee", "amount", "amount_minor", "balance", "balance_minor",
)  # fmt: skip
COMPOSITION_COLUMNS: Final = (
    "payout_id", "line", "account_version", "transaction_id", "type", "category", "currency",
    "amount", "amount_minor", "partial", "order_id", "refund_id", "dispute_id", "adjustment_id",
)  # fmt: skip
TRIAL_BALANCE_COLUMNS: Final = (
    "row_type", "account", "currency", "kind", "accounts", "debits", "debits_minor", "credits",
    "credits_minor", "balance", "balance_minor",
)  # fmt: skip


def _chunks(header: Sequence[str], rows: Iterable[Sequence[str]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
        if buffer.tell() >= _FLUSH_BYTES:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _decimal(money: Money | None) -> str:
    return "" if money is None else MoneyOut.of(money).amount


def _time(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat()


def reference(references: Mapping[str, str], name: str) -> str:
    """A reference by its column name; payouts write theirs as `payout`."""
    found = references.get(name)
    if found is None and name == "payout_id":
        found = references.get("payout")
    return found or ""


# --- statement -----------------------------------------------------------------------------


def statement_csv(statement: SellerStatement) -> Iterator[str]:
    """The statement as CSV: an `opening` row, one `movement` row per line, a `closing` row.

    On opening and closing rows the account columns (pending, available, reserved,
    dispute_hold) hold the accounts' balances; on movement rows, each account's change.
    `balance` is always the seller's total after the row: opening + amounts = closing.
    """
    return _chunks(STATEMENT_COLUMNS, _statement_rows(statement))


def _balances_row(
    row_type: str, moment: datetime | None, balances: Mapping[SellerAccount, Money], total: Money
) -> list[str]:
    accounts = [_decimal(balances.get(a, Money.zero(total.currency))) for a in SellerAccount]
    empty = [""] * (5 + len(REFERENCES))  # posted_at … description, then the references
    return [
        row_type, _time(moment), *empty, total.currency, *accounts, "", "", "", "",
        _decimal(total), str(total.amount_minor),
    ]  # fmt: skip


def _statement_rows(statement: SellerStatement) -> Iterator[list[str]]:
    yield _balances_row(
        "opening", statement.period_start, statement.opening, statement.opening_balance
    )
    for line in statement.lines:
        yield [
            "movement",
            _time(line.effective_at),
            _time(line.posted_at),
            str(line.transaction_id),
            line.kind,
            line.category.value,
            spreadsheet_safe(line.description),
            *(spreadsheet_safe(reference(line.references, name)) for name in REFERENCES),
            line.amount.currency,
            *(_decimal(line.changes.get(account)) for account in SellerAccount),
            _decimal(line.gross),
            _decimal(line.fee),
            _decimal(line.amount),
            str(line.amount.amount_minor),
            _decimal(line.balance_after),
            str(line.balance_after.amount_minor),
        ]
    yield _balances_row(
        "closing", statement.period_end, statement.closing, statement.closing_balance
    )


# --- payout composition --------------------------------------------------------------------


def composition_csv(report: CompositionReport) -> Iterator[str]:
    """One row per balance transaction (or part of one) the payout paid; `amount_minor` sums
    exactly to the payout's source amount (checked when the report was built)."""
    payout_id = report.payout.id
    rows = (
        [
            payout_id,
            str(line.line),
            str(line.account_version),
            line.transaction_id,
            line.kind,
            line.category.value,
            line.amount.currency,
            _decimal(line.amount),
            str(line.amount.amount_minor),
            "true" if line.partial else "false",
            *(spreadsheet_safe(line.references.get(name, "")) for name in REFERENCES[:4]),
        ]
        for line in report.lines
    )
    return _chunks(COMPOSITION_COLUMNS, rows)


# --- trial balance -------------------------------------------------------------------------


def trial_balance_csv(report: TrialBalance) -> Iterator[str]:
    """One `line` row per line of the chart and currency, then one `total` row per currency
    (its balance column is debits - credits: zero)."""
    rows = [
        _totals_row("line", line.line, line.currency, line.kind, line.accounts,
                    line.debits, line.credits, line.balance)
        for line in report.lines
    ] + [_currency_row(total) for total in report.totals]  # fmt: skip
    return _chunks(TRIAL_BALANCE_COLUMNS, rows)


def trial_balance_accounts_csv(rows: Iterable[AccountTotals | CurrencyTotals]) -> Iterator[str]:
    """Every account (`account` rows, streamed), then the `total` row of each currency."""

    def shaped() -> Iterator[list[str]]:
        for row in rows:
            if isinstance(row, CurrencyTotals):
                yield _currency_row(row)
            else:
                yield _totals_row(
                    "account", row.code, row.currency, row.kind, 1, row.debits, row.credits,
                    row.balance,
                )  # fmt: skip

    return _chunks(TRIAL_BALANCE_COLUMNS, shaped())


def _totals_row(
    row_type: str,
    account: str,
    currency: str,
    kind: str,
    accounts: int | None,
    debits: Money,
    credits: Money,
    balance: Money,
) -> list[str]:
    count = "" if accounts is None else str(accounts)
    return [
        row_type, account, currency, kind, count, _decimal(debits), str(debits.amount_minor),
        _decimal(credits), str(credits.amount_minor), _decimal(balance), str(balance.amount_minor),
    ]  # fmt: skip


def _currency_row(total: CurrencyTotals) -> list[str]:
    return _totals_row(
        "total", "", total.currency, "", None, total.debits, total.credits, total.difference
    )


__all__ = [
    "COMPOSITION_COLUMNS",
    "STATEMENT_COLUMNS",
    "TRIAL_BALANCE_COLUMNS",
    "composition_csv",
    "statement_csv",
    "trial_balance_accounts_csv",
    "trial_balance_csv",
]
