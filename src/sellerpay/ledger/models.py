"""Tables of the ledger: accounts (with their balances), transactions and entries."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Uuid,
)

from sellerpay.db import BigId, JsonDocument, UtcDateTime, metadata

accounts = Table(
    "ledger_accounts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("code", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("normal_side", String(6), nullable=False),
    Column("debits_must_not_exceed_credits", Boolean, nullable=False),
    Column("credits_must_not_exceed_debits", Boolean, nullable=False),
    Column("debits_posted", BigInteger, nullable=False),
    Column("credits_posted", BigInteger, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("metadata", JsonDocument, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("normal_side IN ('debit', 'credit')", name="normal_side"),
    CheckConstraint("debits_posted >= 0 AND credits_posted >= 0 AND version >= 0", name="totals"),
    CheckConstraint(
        "NOT debits_must_not_exceed_credits OR debits_posted <= credits_posted",
        name="debits_must_not_exceed_credits",
    ),
    CheckConstraint(
        "NOT credits_must_not_exceed_debits OR credits_posted <= debits_posted",
        name="credits_must_not_exceed_debits",
    ),
    CheckConstraint("length(currency) = 3", name="currency"),
    Index("uq_ledger_accounts_code_currency", "code", "currency", unique=True),
)

transactions = Table(
    "ledger_transactions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("idempotency_key", String(255), nullable=False, unique=True),
    Column("request_hash", String(64), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("description", String(500), nullable=False),
    Column("effective_at", UtcDateTime, nullable=False),
    Column("posted_at", UtcDateTime, nullable=False),
    Column("reverses_id", Uuid, ForeignKey("ledger_transactions.id"), unique=True),
    Column("references", JsonDocument, nullable=False),
    Column("metadata", JsonDocument, nullable=False),
)

entries = Table(
    "ledger_entries",
    metadata,
    Column("transaction_id", Uuid, ForeignKey("ledger_transactions.id"), primary_key=True),
    Column("leg", Integer, primary_key=True),
    Column("account_id", BigId, ForeignKey("ledger_accounts.id"), nullable=False),
    Column("side", String(6), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("account_version", BigInteger, nullable=False),
    Column("balance_after", BigInteger, nullable=False),
    Column("effective_at", UtcDateTime, nullable=False),
    CheckConstraint("amount_minor > 0", name="amount_positive"),
    CheckConstraint("side IN ('debit', 'credit')", name="side"),
    CheckConstraint("account_version > 0", name="account_version"),
    Index(
        "uq_ledger_entries_account_id_account_version", "account_id", "account_version", unique=True
    ),
)
