"""Builders of the reconciliation tests: statements written with our own camt.053 writer,
payouts made through the payouts service and handed to a fake bank, and looks at the ledger."""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from sellerpay.bankaccounts import service as bank_accounts
from sellerpay.clock import FixedClock
from sellerpay.crypto import KeyRing
from sellerpay.db import Database
from sellerpay.ledger.rules import EntryRequest, Side, TransactionRequest
from sellerpay.ledger.service import balances_of, post_transaction
from sellerpay.money import Money
from sellerpay.payouts import service as payouts
from sellerpay.payouts.banking import InboundFile
from sellerpay.payouts.rules import PayoutStatus
from sellerpay.rails.camt import write_camt053
from sellerpay.rails.instructions import IbanAccount, TransferStatus
from sellerpay.rails.statements import Statement, StatementLine
from sellerpay.reconciliation import models
from sellerpay.reconciliation.service import ReconciliationPolicy
from sellerpay.sellers.service import create_seller

KEYRING = KeyRing(current_key_id="test", keys={"test": os.urandom(32)})
ACCOUNT_IBAN = "FR7630006000011234567890189"
IBANS = ["DE89370400440532013000", "ES9121000418450200051332", "NL91ABNA0417164300"]
POLICY = ReconciliationPolicy(
    date_window_days=3,
    fee_tolerance_minor={"EUR": 500},
    overdue_days=5,
    lookback_days=60,
    payout_bank_account="main",
)
PAYOUT_POLICY = payouts.PayoutPolicy(
    approval_thresholds={"EUR": 10_000_000},
    minimum_default={"EUR": 100},
    fx_margin_bps=50,
    return_fees={},
    platform_bank="main",
    chunk_size=100,
)


def bank_account_id() -> str:
    """A bank account id no other test uses (the `db` fixture is shared by the whole run)."""
    return f"t-{uuid.uuid4().hex[:16]}"


def debit(line_id: str, amount_minor: int, on: date, **fields: str) -> StatementLine:
    return StatementLine(
        line_id=line_id,
        booked_on=on,
        value_on=on,
        amount=Money(amount_minor, "EUR"),
        direction="debit",
        **fields,  # type: ignore[arg-type]
    )


def credit(line_id: str, amount_minor: int, on: date, **fields: str) -> StatementLine:
    return StatementLine(
        line_id=line_id,
        booked_on=on,
        value_on=on,
        amount=Money(amount_minor, "EUR"),
        direction="credit",
        **fields,  # type: ignore[arg-type]
    )


def statement(
    lines: Sequence[StatementLine],
    *,
    on: date,
    opening_minor: int = 0,
    sequence: int = 1,
    statement_id: str | None = None,
    account: str = ACCOUNT_IBAN,
) -> Statement:
    closing = opening_minor + sum(line.signed_amount.amount_minor for line in lines)
    return Statement(
        statement_id=statement_id or f"STMT-{on.isoformat()}-{sequence}",
        account=account,
        currency="EUR",
        lines=tuple(lines),
        format="camt.053",
        opening_balance=Money(opening_minor, "EUR"),
        closing_balance=Money(closing, "EUR"),
        opening_date=on,
        closing_date=on,
        created_at=datetime.combine(on, datetime.min.time(), tzinfo=UTC) + timedelta(days=1),
        sequence=str(sequence),
    )


def camt053(lines: Sequence[StatementLine], **kwargs: object) -> bytes:
    return write_camt053(statement(lines, **kwargs))  # type: ignore[arg-type]


def count(db: Database, table: str, **where: str) -> int:
    t = getattr(models, table)
    query = select(func.count()).select_from(t)
    for column, value in where.items():
        query = query.where(t.c[column] == value)
    with db.reading() as conn:
        return int(conn.execute(query).scalar_one())


def bank_balance(db: Database, bank_account: str = "main") -> int:
    key = (f"platform:bank:{bank_account}", "EUR")
    return balances_of(db, [key])[key].amount_minor


def fund_bank(
    db: Database, clock: FixedClock, amount_minor: int, bank_account: str = "main"
) -> None:
    """What was on the bank account before the statements start (posted like a settlement)."""
    amount = Money(amount_minor, "EUR")
    post_transaction(
        db,
        TransactionRequest(
            idempotency_key=f"test:opening:{bank_account}:{uuid.uuid4().hex}",
            kind="opening_balance",
            entries=(
                EntryRequest(f"platform:bank:{bank_account}", Side.DEBIT, amount),
                EntryRequest("platform:psp_clearing", Side.CREDIT, amount),
            ),
            effective_at=clock.now() - timedelta(days=30),
        ),
        clock=clock,
    )


@dataclass
class AcceptingBank:
    """A bank that takes every file (enough to move payouts to `submitted`)."""

    received: list[str] = field(default_factory=list)

    def send(self, rail: str, filename: str, content: bytes, message_id: str) -> None:
        self.received.append(message_id)

    def inquire(
        self, rail: str, message_id: str, end_to_end_ids: Sequence[str]
    ) -> list[TransferStatus]:
        return [TransferStatus(e2e, "accepted") for e2e in end_to_end_ids]

    def collect(self) -> list[InboundFile]:
        return []


def submitted_payouts(
    db: Database, clock: FixedClock, amounts_minor: Sequence[int]
) -> list[payouts.Payout]:
    """One seller per amount, each paid out once over SEPA, submitted to the bank in one file
    (one pain.001 payment information block): the payouts come back in `amounts_minor` order."""
    made = []
    for index, amount_minor in enumerate(amounts_minor):
        seller_id = f"sel_{uuid.uuid4().hex}"
        _funded_seller(db, clock, seller_id, amount_minor, IBANS[index % len(IBANS)])
        payout, _ = payouts.create_payout(
            db, seller_id=seller_id, currency="EUR", amount=Money(amount_minor, "EUR"),
            bank_account_id=None, kind="on_demand", requested_by=f"key:k_{seller_id} (seller)",
            idempotency_key=uuid.uuid4().hex, description="payout", clock=clock,
            keyring=KEYRING, policy=PAYOUT_POLICY,
        )  # fmt: skip
        if payout.status is PayoutStatus.PENDING:  # a first payout to an account waits
            payout = payouts.approve_payout(db, payout.id, approver="key:k_approver (approver)",
                                            clock=clock, keyring=KEYRING)  # fmt: skip
        made.append(payout)
    due = max(p.execution_date for p in made)
    if clock.now().date() < due:
        clock.set(datetime.combine(due, datetime.min.time(), tzinfo=UTC) + timedelta(hours=10))
    payouts.submit_due(
        db, bank=AcceptingBank(), clock=clock, keyring=KEYRING, originators=payouts.originators()
    )
    return [payouts.get_payout(db, p.id) for p in made]


def _funded_seller(
    db: Database, clock: FixedClock, seller_id: str, amount_minor: int, iban: str
) -> None:
    create_seller(db, seller_id=seller_id, legal_name="Acme Refurb SAS", country="FR",
                  default_currency="EUR", clock=clock)  # fmt: skip
    amount = Money(amount_minor, "EUR")
    post_transaction(
        db,
        TransactionRequest(
            idempotency_key=f"test:{seller_id}:funds",
            kind="order.released",
            entries=(
                EntryRequest("platform:psp_clearing", Side.DEBIT, amount),
                EntryRequest(f"seller:{seller_id}:available", Side.CREDIT, amount),
            ),
        ),
        clock=clock,
    )
    account, _ = bank_accounts.add_bank_account(
        db, seller_id=seller_id, details=IbanAccount(iban), holder_name="Acme Refurb SAS",
        currency="EUR", make_default=True, actor="key:k_seller (seller)",
        now=clock.now() - timedelta(hours=100), keyring=KEYRING,
    )  # fmt: skip
    with db.transaction() as conn:
        bank_accounts.record_verification(
            conn, account.id, note="test", actor="system:test", now=clock.now()
        )
