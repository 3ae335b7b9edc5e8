"""Builders shared by the bank accounts tests: one key ring, sellers, valid details of each
format, request bodies, and the raw database text to search for account numbers.

Imported by the test modules of this folder (pytest puts the folder on `sys.path`).
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

from sqlalchemy import inspect, select, text

from sellerpay.bankaccounts import models, service
from sellerpay.bankaccounts.service import BankAccount
from sellerpay.clock import FixedClock
from sellerpay.crypto import KeyRing
from sellerpay.db import Database
from sellerpay.events import models as event_models
from sellerpay.rails.instructions import (
    AbaAccount,
    BankAccountDetails,
    IbanAccount,
    UkAccount,
    ZenginAccount,
)
from sellerpay.sellers.service import create_seller


def key_bytes(name: str) -> bytes:
    """A fixed 32-byte test key per name (never a real key)."""
    return hashlib.sha256(f"sellerpay test key {name}".encode()).digest()


def setting(*names: str) -> str:
    """`SELLERPAY_ENCRYPTION_KEYS` text for test keys, the first current."""
    return ",".join(f"{n}:{base64.b64encode(key_bytes(n)).decode()}" for n in names)


KEYRING = KeyRing.from_setting(setting("test1"))
"""The ring every test on the shared databases writes under (so any test may read any row)."""

# Valid accounts of every format, with numbers distinctive enough to search the database for.
FR_IBAN = "FR7630006000011234567890189"  # Crédit Agricole, bank code 30006 → AGRIFRPP
ES_IBAN = "ES9121000418450200051332"  # CaixaBank, 2100 → CAIXESBB
DE_IBAN = "DE89370400440532013000"  # Commerzbank, 37040044 → COBADEFF
ABA_ROUTING = "021000021"
ABA_ACCOUNT = "739104628351"
UK_SORT_CODE = "40-47-84"
UK_ACCOUNT = "41926837"
ZENGIN_ACCOUNT = "8273645"


def new_seller_id() -> str:
    return f"sel_{uuid.uuid4().hex}"


def make_seller(db: Database, clock: FixedClock, seller_id: str | None = None) -> str:
    seller_id = seller_id or new_seller_id()
    create_seller(db, seller_id=seller_id, legal_name="Acme Refurb SAS", country="FR", clock=clock)
    return seller_id


def iban(value: str = FR_IBAN, bic: str | None = "AGRIFRPP") -> IbanAccount:
    return IbanAccount(iban=value, bic=bic)


def aba(account_number: str = ABA_ACCOUNT) -> AbaAccount:
    return AbaAccount(routing_number=ABA_ROUTING, account_number=account_number)


def uk(account_number: str = UK_ACCOUNT) -> UkAccount:
    return UkAccount(sort_code=UK_SORT_CODE, account_number=account_number)


def zengin(account_number: str = ZENGIN_ACCOUNT) -> ZenginAccount:
    return ZenginAccount(bank_code="0001", branch_code="123", account_number=account_number)


CURRENCY = {IbanAccount: "EUR", AbaAccount: "USD", UkAccount: "GBP", ZenginAccount: "JPY"}


def add(
    db: Database,
    clock: FixedClock,
    seller_id: str,
    details: BankAccountDetails | None = None,
    *,
    holder_name: str = "Acme Refurb SAS",
    actor: str = "key:seller (test, seller)",
    keyring: KeyRing = KEYRING,
    **options: Any,
) -> BankAccount:
    """Add an account through the service (a FR IBAN unless told), returning it."""
    details = details or iban()
    account, _ = service.add_bank_account(
        db,
        seller_id=seller_id,
        details=details,
        holder_name=holder_name,
        currency=options.pop("currency", CURRENCY[type(details)]),
        actor=actor,
        now=options.pop("now", clock.now()),
        keyring=keyring,
        **options,
    )
    return account


def iban_body(value: str = FR_IBAN, bic: str | None = "AGRIFRPP", **fields: Any) -> dict[str, Any]:
    details: dict[str, Any] = {"format": "iban", "iban": value}
    if bic is not None:
        details["bic"] = bic
    return {"holder_name": "Acme Refurb SAS", "currency": "EUR", "details": details, **fields}


def events_about(db: Database, subject: str) -> list[tuple[str, dict[str, Any]]]:
    """The (type, data) of the `bank_account.*` outbox events about `subject`, oldest first."""
    o = event_models.outbox.c
    query = (
        select(o.type, o.data)
        .where(o.subject == subject, o.type.startswith("bank_account."))
        .order_by(o.id)
    )
    with db.reading() as conn:
        rows = conn.execute(query).all()
    return [(row.type, row.data) for row in rows]


def stored_key_id(db: Database, bank_account_id: str) -> str:
    """The id of the key the account's number is stored under."""
    b = models.bank_accounts.c
    with db.reading() as conn:
        key_id: str = conn.execute(select(b.key_id).where(b.id == bank_account_id)).scalar_one()
    return key_id


def database_text(db: Database) -> str:
    """Every value of every row of every table, as text: what a stolen backup would show."""
    parts: list[str] = []
    with db.reading() as conn:
        for table in inspect(db.engine).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                parts.extend(str(value) for value in row)
    return "\n".join(parts)
