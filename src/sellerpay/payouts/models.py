"""Tables of payouts: schedules, runs and their skips, payouts and their composition, bank
submissions, incoming bank reports and exchange rates."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from sellerpay.db import JsonDocument, UtcDateTime, metadata

payout_schedules = Table(
    "payout_schedules",
    metadata,
    Column("seller_id", String(80), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("interval", String(8), nullable=False),
    Column("weekday", Integer),
    Column("day_of_month", Integer),  # 1..31; 0 means the last day of the month
    Column("minimum_minor", BigInteger, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("interval IN ('daily', 'weekly', 'monthly', 'manual')", name="interval"),
    CheckConstraint("minimum_minor >= 0", name="minimum_not_negative"),
)

payout_runs = Table(
    "payout_runs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("run_key", String(200), nullable=False, unique=True),
    Column("run_on", Date, nullable=False),
    Column("status", String(16), nullable=False),
    Column("requested_by", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("completed_at", UtcDateTime),
    Column("due_count", Integer, nullable=False),
    Column("payout_count", Integer, nullable=False),
    Column("skip_count", Integer, nullable=False),
    Column("totals", JsonDocument, nullable=False),  # currency -> minor units paid
    CheckConstraint("status IN ('running', 'completed')", name="status"),
)

payout_skips = Table(
    "payout_skips",
    metadata,
    Column("run_id", String(40), ForeignKey("payout_runs.id"), primary_key=True),
    Column("seller_id", String(80), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("reason", String(40), nullable=False),
    Column("detail", String(300), nullable=False),
    Column("available_minor", BigInteger, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_payout_skips_seller_id", "seller_id", "created_at"),
)

payouts = Table(
    "payouts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("seller_id", String(80), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    # what leaves the seller's balance (source) and what reaches the bank account (payout)
    Column("source_currency", String(3), nullable=False),
    Column("source_amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("fx_rate", String(40)),
    Column("fx_margin_bps", Integer),
    Column("fx_margin_minor", BigInteger),
    Column("bank_account_id", String(40), nullable=False),
    Column("bank_account_masked", String(40), nullable=False),
    Column("rail", String(16), nullable=False),
    Column("end_to_end_id", String(35), nullable=False, unique=True),
    Column("run_id", String(40), ForeignKey("payout_runs.id")),
    Column("idempotency_key", String(255), nullable=False, unique=True),
    Column("request_hash", String(64), nullable=False),
    Column("description", String(140), nullable=False),
    Column("execution_date", Date, nullable=False),
    Column("approval_reasons", JsonDocument, nullable=False),
    Column("requested_by", String(200), nullable=False),
    Column("approved_by", String(200)),
    Column("approved_at", UtcDateTime),
    Column("decision_note", String(500)),
    Column("submission_id", String(40)),
    Column("bank_reference", String(40)),  # the rail's own key: NACHA trace, Bacs reference
    Column("status_reason_code", String(16)),
    Column("status_reason_text", String(300)),
    Column("return_fee_minor", BigInteger),
    Column("creation_transaction_id", String(40)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("submitted_at", UtcDateTime),
    Column("paid_at", UtcDateTime),
    Column("closed_at", UtcDateTime),  # failed, returned or canceled
    Column("version", Integer, nullable=False),
    CheckConstraint(
        "status IN ('pending', 'approved', 'processing', 'submitted', 'paid', 'failed', "
        "'returned', 'canceled')",
        name="status",
    ),
    CheckConstraint("kind IN ('scheduled', 'on_demand', 'manual')", name="kind"),
    CheckConstraint("amount_minor > 0 AND source_amount_minor > 0", name="amounts_positive"),
    Index("uq_payouts_run_seller_currency", "run_id", "seller_id", "source_currency", unique=True),
    Index("ix_payouts_seller_id_created_at", "seller_id", "created_at"),
    Index("ix_payouts_status_rail_execution_date", "status", "rail", "execution_date"),
    Index("ix_payouts_submission_id", "submission_id"),
    Index("ix_payouts_bank_reference", "bank_reference"),
    Index("ix_payouts_bank_account_id", "bank_account_id"),
)

payout_items = Table(
    "payout_items",
    metadata,
    Column("payout_id", String(40), ForeignKey("payouts.id"), primary_key=True),
    Column("line", Integer, primary_key=True),
    Column("account_version", BigInteger, nullable=False),
    Column("transaction_id", String(40), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),  # signed: refunds and fees subtract
    Column("currency", String(3), nullable=False),
    Column("partial", Boolean, nullable=False),
    Column("references", JsonDocument, nullable=False),
)

payout_cursors = Table(
    "payout_cursors",
    metadata,
    Column("seller_id", String(80), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("account_version", BigInteger, nullable=False),
    Column("carried_minor", BigInteger, nullable=False),
    Column("carried_transaction_id", String(40), nullable=False),
    Column("carried_kind", String(64), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

bank_submissions = Table(
    "bank_submissions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("rail", String(16), nullable=False),
    Column("message_id", String(35), nullable=False, unique=True),
    Column("filename", String(200), nullable=False),
    # prepared -> sending (written before the bank is called) -> sent | unknown -> sent
    Column("state", String(16), nullable=False),
    Column("content", Text, nullable=False),  # the file, encrypted (it holds account numbers)
    Column("transfer_count", Integer, nullable=False),
    Column("control_sums", JsonDocument, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", String(500)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sending_at", UtcDateTime),
    Column("sent_at", UtcDateTime),
    Column("inquired_at", UtcDateTime),
    CheckConstraint("state IN ('prepared', 'sending', 'sent', 'unknown')", name="state"),
    Index("ix_bank_submissions_state", "state"),
)

bank_reports = Table(
    "bank_reports",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("kind", String(24), nullable=False),
    Column("filename", String(200), nullable=False),
    Column("sha256", String(64), nullable=False, unique=True),  # the same file twice: once
    Column("received_at", UtcDateTime, nullable=False),
    Column("summary", JsonDocument, nullable=False),
)

fx_rates = Table(
    "fx_rates",
    metadata,
    Column("base", String(3), primary_key=True),
    Column("quote", String(3), primary_key=True),
    Column("as_of", Date, primary_key=True),
    Column("rate", String(40), nullable=False),  # a Decimal, as text: exact
    Column("source", String(40), nullable=False),
    Column("imported_at", UtcDateTime, nullable=False),
)
