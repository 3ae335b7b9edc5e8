"""Builders shared by the ledger tests: readable transfers, and raw looks at the journal.

Imported by the test modules of this folder (pytest puts the folder on `sys.path`), and by the
worker processes of the concurrency test, which inherit that `sys.path` when spawned.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Protocol

from sqlalchemy import text

from sellerpay.db import Database
from sellerpay.ledger.rules import EntryRequest, JsonScalar, Side, TransactionRequest
from sellerpay.money import Money


class DatabaseFactory(Protocol):
    """The session fixture `database_factory` of tests/conftest.py, as these tests use it."""

    def create(self, backend: str, *, migrate: bool = True) -> Database: ...


def unique_key(label: str = "key") -> str:
    """An idempotency key no other test uses (the `db` fixture is shared by the whole run)."""
    return f"{label}:{uuid.uuid4().hex}"


def debit(account: str, amount_minor: int, currency: str = "EUR") -> EntryRequest:
    return EntryRequest(account, Side.DEBIT, Money(amount_minor, currency))


def credit(account: str, amount_minor: int, currency: str = "EUR") -> EntryRequest:
    return EntryRequest(account, Side.CREDIT, Money(amount_minor, currency))


def transfer(
    *,
    debit_account: str,
    credit_account: str,
    amount_minor: int,
    currency: str = "EUR",
    key: str | None = None,
    kind: str = "transfer",
    effective_at: datetime | None = None,
    description: str = "",
    references: Mapping[str, str] | None = None,
    metadata: Mapping[str, JsonScalar] | None = None,
) -> TransactionRequest:
    """A two-leg transaction: `amount_minor` from `debit_account` to `credit_account`."""
    return TransactionRequest(
        idempotency_key=key or unique_key(kind),
        kind=kind,
        entries=(
            debit(debit_account, amount_minor, currency),
            credit(credit_account, amount_minor, currency),
        ),
        effective_at=effective_at,
        references=dict(references or {}),
        metadata=dict(metadata or {}),
        description=description,
    )


def order_paid(
    seller_id: str, *, amount_minor: int, currency: str = "EUR", key: str | None = None
) -> TransactionRequest:
    """A customer paid an order: money arrives at the provider, the seller's pending grows."""
    return transfer(
        debit_account="platform:psp_clearing",
        credit_account=f"seller:{seller_id}:pending",
        amount_minor=amount_minor,
        currency=currency,
        key=key,
        kind="order.paid",
    )


def release(
    seller_id: str, *, amount_minor: int, currency: str = "EUR", key: str | None = None
) -> TransactionRequest:
    """Pending funds become available: a debit of the flagged `pending` account."""
    return transfer(
        debit_account=f"seller:{seller_id}:pending",
        credit_account=f"seller:{seller_id}:available",
        amount_minor=amount_minor,
        currency=currency,
        key=key,
        kind="funds.released",
    )


def scalar(db: Database, sql: str, **params: object) -> object:
    """One value read with raw SQL, bypassing the service."""
    with db.reading() as conn:
        return conn.execute(text(sql), params).scalar_one()


def stored_totals(db: Database, code: str, currency: str) -> tuple[int, int, int]:
    """(debits_posted, credits_posted, version) as stored on the account row."""
    with db.reading() as conn:
        row = conn.execute(
            text(
                "SELECT debits_posted, credits_posted, version FROM ledger_accounts"
                " WHERE code = :code AND currency = :currency"
            ),
            {"code": code, "currency": currency},
        ).one()
    return int(row[0]), int(row[1]), int(row[2])


def entry_totals(db: Database, code: str, currency: str) -> tuple[int, int, int]:
    """(debits, credits, count) summed from the account's entries, bypassing the stored totals."""
    with db.reading() as conn:
        row = conn.execute(
            text(
                "SELECT COALESCE(SUM(CASE e.side WHEN 'debit' THEN e.amount_minor ELSE 0 END), 0),"
                " COALESCE(SUM(CASE e.side WHEN 'credit' THEN e.amount_minor ELSE 0 END), 0),"
                " COUNT(e.leg)"
                " FROM ledger_accounts a LEFT JOIN ledger_entries e ON e.account_id = a.id"
                " WHERE a.code = :code AND a.currency = :currency"
            ),
            {"code": code, "currency": currency},
        ).one()
    return int(row[0]), int(row[1]), int(row[2])


def transaction_count_for_keys(db: Database, keys: Iterable[str]) -> dict[str, int]:
    """How many stored transactions carry each key (a key is applied at most once)."""
    wanted = sorted(set(keys))
    counts = dict.fromkeys(wanted, 0)
    with db.reading() as conn:
        for start in range(0, len(wanted), 200):
            chunk = wanted[start : start + 200]
            marks = ", ".join(f":k{i}" for i in range(len(chunk)))
            rows = conn.execute(
                text(
                    "SELECT idempotency_key, COUNT(*) FROM ledger_transactions"
                    f" WHERE idempotency_key IN ({marks}) GROUP BY idempotency_key"
                ),
                {f"k{i}": key for i, key in enumerate(chunk)},
            )
            for key, count in rows:
                counts[key] = int(count)
    return counts
