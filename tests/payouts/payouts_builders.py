"""Builders of the payouts tests: a funded seller with a verified bank account, a fake bank,
and a ledger check."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sellerpay.bankaccounts import service as bank_accounts
from sellerpay.clock import FixedClock
from sellerpay.crypto import KeyRing
from sellerpay.db import Database
from sellerpay.ledger.rules import EntryRequest, Side, TransactionRequest
from sellerpay.ledger.service import balances_of, post_transaction, verify_ledger
from sellerpay.money import Money
from sellerpay.payouts.banking import BankRefused, BankTimeout, InboundFile
from sellerpay.payouts.service import PayoutPolicy
from sellerpay.rails.instructions import (
    AbaAccount,
    BankAccountDetails,
    IbanAccount,
    TransferStatus,
)
from sellerpay.sellers.service import create_seller

# fixed, so that a worker process (tests/payouts/crash_worker.py) reads what the test wrote
KEYRING = KeyRing(current_key_id="test", keys={"test": bytes(range(32))})

POLICY = PayoutPolicy(
    approval_thresholds={"EUR": 1_000_000, "USD": 1_000_000},
    minimum_default={"EUR": 100, "USD": 100, "JPY": 100},
    fx_margin_bps=50,
    return_fees={"EUR": 250},
    platform_bank="main",
    chunk_size=3,
)

IBANS = [
    "FR7630006000011234567890189",
    "DE89370400440532013000",
    "ES9121000418450200051332",
    "FR1420041010050500013M02606",
    "NL91ABNA0417164300",
]


@dataclass
class Seller:
    id: str
    bank_account_id: str
    currency: str


def funded_seller(
    db: Database,
    clock: FixedClock,
    seller_id: str,
    *,
    available_minor: int = 50_000,
    currency: str = "EUR",
    details: BankAccountDetails | None = None,
    account_currency: str | None = None,
    verified: bool = True,
    cooled: bool = True,
    country: str = "FR",
) -> Seller:
    """A seller with `available_minor` available and a default bank account (verified and past
    its cool-down unless told otherwise)."""
    create_seller(
        db,
        seller_id=seller_id,
        legal_name="Acme Refurb SAS",
        country=country,
        default_currency=currency,
        clock=clock,
    )
    if available_minor:
        credit(db, clock, seller_id, Money(available_minor, currency), key="initial")
    account_currency = account_currency or currency
    if details is None:
        details = (
            IbanAccount(IBANS[sum(seller_id.encode()) % len(IBANS)])
            if account_currency == "EUR"
            else AbaAccount("021000021", "123456789", "checking")
        )
    account, _ = bank_accounts.add_bank_account(
        db,
        seller_id=seller_id,
        details=details,
        holder_name="Acme Refurb SAS",
        currency=account_currency,
        make_default=True,
        actor="key:k_seller (seller)",
        now=clock.now() - (timedelta(hours=100) if cooled else timedelta()),
        keyring=KEYRING,
    )
    if verified:
        with db.transaction() as conn:
            bank_accounts.record_verification(
                conn, account.id, note="test: name matches", actor="system:test", now=clock.now()
            )
    return Seller(seller_id, account.id, currency)


def credit(db: Database, clock: FixedClock, seller_id: str, amount: Money, *, key: str) -> None:
    """Money becomes available to a seller (as a release would do)."""
    post_transaction(
        db,
        TransactionRequest(
            idempotency_key=f"test:{seller_id}:{key}",
            kind="order.released",
            entries=(
                EntryRequest("platform:psp_clearing", Side.DEBIT, amount),
                EntryRequest(f"seller:{seller_id}:available", Side.CREDIT, amount),
            ),
            references={"order_id": f"ord_{key}"},
        ),
        clock=clock,
    )


def debit(db: Database, clock: FixedClock, seller_id: str, amount: Money, *, key: str) -> None:
    """A refund taken from a seller's available balance."""
    post_transaction(
        db,
        TransactionRequest(
            idempotency_key=f"test:{seller_id}:{key}",
            kind="refund",
            entries=(
                EntryRequest(f"seller:{seller_id}:available", Side.DEBIT, amount),
                EntryRequest("platform:psp_clearing", Side.CREDIT, amount),
            ),
        ),
        clock=clock,
    )


def available(db: Database, seller_id: str, currency: str = "EUR") -> int:
    key = (f"seller:{seller_id}:available", currency)
    return balances_of(db, [key]).get(key, Money(0, currency)).amount_minor


def balance(db: Database, code: str, currency: str) -> int:
    return (
        balances_of(db, [(code, currency)]).get((code, currency), Money(0, currency)).amount_minor
    )


def assert_ledger_sound(db: Database) -> None:
    report = verify_ledger(db)
    assert report.ok, report


@dataclass
class FakeBank:
    """A bank that records what it receives and answers as told.

    mode: "ok" | "timeout_after" (keeps the file, answers nothing) | "timeout_before" (loses
    it) | "refuse".
    """

    mode: str = "ok"
    received: list[tuple[str, str, bytes, str]] = field(default_factory=list)
    executed: Counter[str] = field(default_factory=Counter)
    states: dict[str, str] = field(default_factory=dict)

    def send(self, rail: str, filename: str, content: bytes, message_id: str) -> None:
        if self.mode == "timeout_before":
            raise BankTimeout("read timed out")
        if self.mode == "refuse":
            raise BankRefused("schema validation failed", reason_code="FF01")
        if any(r[3] == message_id for r in self.received):
            return  # banks deduplicate message ids: acknowledged again, executed once
        self.received.append((rail, filename, content, message_id))
        for e2e in _end_to_end_ids(content):
            self.executed[e2e] += 1
            self.states[e2e] = "accepted"
        if self.mode == "timeout_after":
            raise BankTimeout("read timed out after upload")

    def inquire(
        self, rail: str, message_id: str, end_to_end_ids: Sequence[str]
    ) -> list[TransferStatus]:
        return [
            TransferStatus(e2e, self.states.get(e2e, "unknown"))  # type: ignore[arg-type]
            for e2e in end_to_end_ids
        ]

    def collect(self) -> list[InboundFile]:
        return []


def _end_to_end_ids(content: bytes) -> list[str]:
    """The end-to-end ids of a pain.001 (enough for these tests)."""
    from lxml import etree

    root = etree.fromstring(content)
    return [e.text or "" for e in root.iter() if etree.QName(e).localname == "EndToEndId"]
