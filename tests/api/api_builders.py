"""Builders shared by the API tests: request bodies on the chart of accounts, and looks at what
the database holds, to prove that a refused request stored nothing.

Imported by the test modules of this folder (pytest puts the folder on `sys.path`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from sellerpay.db import Database
from sellerpay.errors import NotFound
from sellerpay.ledger import models, service

PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Keys:
    """Plaintext API keys: one per staff role, one for `seller_id`, one for another seller."""

    finance: str
    operator: str
    compliance: str
    admin: str
    seller: str
    other_seller: str
    revoked: str

    @staticmethod
    def bearer(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    def of(self, who: str) -> dict[str, str]:
        """Headers authenticating as `who` (a field name: "finance", "seller"…)."""
        key: str = getattr(self, who)
        return self.bearer(key)


def unique_key(label: str = "key") -> str:
    """An idempotency key no other test uses (the `db` fixture is shared by the whole run)."""
    return f"{label}:{uuid.uuid4().hex}"


def pending(seller_id: str) -> str:
    return f"seller:{seller_id}:pending"


def available(seller_id: str) -> str:
    return f"seller:{seller_id}:available"


def entry(
    account: str,
    side: str,
    *,
    amount_minor: Any = None,
    amount: Any = None,
    currency: str = "EUR",
) -> dict[str, Any]:
    """One entry of a request body; give `amount_minor` or `amount` (or both, to be refused)."""
    body: dict[str, Any] = {"account": account, "side": side, "currency": currency}
    if amount_minor is not None:
        body["amount_minor"] = amount_minor
    if amount is not None:
        body["amount"] = amount
    return body


def order_paid(
    seller_id: str,
    *,
    gross_minor: int = 10_000,
    commission_minor: int = 1_200,
    currency: str = "EUR",
    **fields: Any,
) -> dict[str, Any]:
    """A customer paid an order: the provider holds the gross, the seller's share is pending."""
    return {
        "kind": "order_paid",
        "entries": [
            entry("platform:psp_clearing", "debit", amount_minor=gross_minor, currency=currency),
            entry(
                pending(seller_id),
                "credit",
                amount_minor=gross_minor - commission_minor,
                currency=currency,
            ),
            entry(
                "platform:revenue:commission",
                "credit",
                amount_minor=commission_minor,
                currency=currency,
            ),
        ],
        **fields,
    }


def release(seller_id: str, amount_minor: int, *, currency: str = "EUR") -> dict[str, Any]:
    """Pending funds become available."""
    return {
        "kind": "funds_released",
        "entries": [
            entry(pending(seller_id), "debit", amount_minor=amount_minor, currency=currency),
            entry(available(seller_id), "credit", amount_minor=amount_minor, currency=currency),
        ],
    }


def transaction_count(db: Database) -> int:
    """How many transactions the whole journal holds."""
    with db.reading() as conn:
        return int(conn.execute(select(func.count()).select_from(models.transactions)).scalar_one())


def key_is_stored(db: Database, key: str) -> bool:
    with db.reading() as conn:
        found = conn.execute(
            select(models.transactions.c.id).where(models.transactions.c.idempotency_key == key)
        ).first()
    return found is not None


def balance_minor(db: Database, code: str, currency: str = "EUR") -> int | None:
    """The account's balance in minor units, or None when the account was never opened."""
    try:
        (balance,) = service.account_balances(db, code, currency=currency)
    except NotFound:
        return None
    return balance.balance.amount_minor
