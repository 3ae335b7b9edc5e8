"""Tables of reconciliation: imported statement files, statements and their lines, matches (and
the movements they consumed, once each), the exceptions queue with its notes, CSV mappings per
bank account, and provider settlements we expect on the bank account."""

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
    UniqueConstraint,
)

from sellerpay.db import JsonDocument, UtcDateTime, metadata

statement_imports = Table(
    "reconciliation_imports",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("bank_account", String(64), nullable=False),
    Column("filename", String(200), nullable=False),
    Column("sha256", String(64), nullable=False, unique=True),  # the same file twice: once
    Column("format", String(16), nullable=False),
    Column("statement_count", Integer, nullable=False),
    Column("line_count", Integer, nullable=False),
    Column("imported_by", String(200), nullable=False),
    Column("imported_at", UtcDateTime, nullable=False),
    Column("summary", JsonDocument, nullable=False),
)

statements = Table(
    "reconciliation_statements",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("import_id", String(40), ForeignKey("reconciliation_imports.id"), nullable=False),
    Column("bank_account", String(64), nullable=False),
    Column("account", String(70), nullable=False),  # the account number the bank wrote
    Column("currency", String(3), nullable=False),
    Column("statement_id", String(100), nullable=False),
    Column("sequence", String(40), nullable=False),
    # statement id, sequence, dates and balances: banks reuse ids and sequences ("0") across
    # statements, so these together say "the same statement" (a re-export of it included)
    Column("identity", String(240), nullable=False),
    Column("format", String(16), nullable=False),
    Column("version", String(40), nullable=False),
    Column("opening_minor", BigInteger),
    Column("closing_minor", BigInteger),
    Column("opening_date", Date),
    Column("closing_date", Date),
    Column("bank_created_at", UtcDateTime),
    Column("line_count", Integer, nullable=False),
    Column("adds_up", Boolean),  # opening + booked lines = closing (None: cannot be said)
    Column("imported_at", UtcDateTime, nullable=False),
    UniqueConstraint(
        "bank_account",
        "account",
        "currency",
        "identity",
        name="uq_reconciliation_statements_identity",
    ),
    Index("ix_reconciliation_statements_series", "bank_account", "currency", "closing_date"),
)

statement_lines = Table(
    "reconciliation_lines",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("statement_id", String(40), ForeignKey("reconciliation_statements.id"), nullable=False),
    Column("bank_account", String(64), nullable=False),
    Column("currency", String(3), nullable=False),  # the statement's: the ledger account's
    Column("position", Integer, nullable=False),
    Column("parent_id", String(40)),
    # line: carries money on its own; batch: its details do; detail: one of them;
    # info: a detail that does not add up to its batch (shown, never matched)
    Column("role", String(8), nullable=False),
    Column("line_ref", String(100), nullable=False),  # the bank's id of the line
    Column("booked_on", Date, nullable=False),
    Column("value_on", Date),
    Column("amount_minor", BigInteger, nullable=False),  # never negative: `direction` signs it
    Column("amount_currency", String(3), nullable=False),
    Column("direction", String(6), nullable=False),
    Column("reversal", Boolean, nullable=False),
    Column("status", String(8), nullable=False),
    Column("returned", Boolean, nullable=False),
    # unmatched | matched | mismatch (a reference names a movement of another amount) |
    # written_off | not_booked (pending, info lines) | container (a batch whose details count)
    Column("state", String(12), nullable=False),
    Column("match_id", String(40)),
    Column("references", JsonDocument, nullable=False),
    Column("counterparty_name", String(140), nullable=False),
    Column("counterparty_account", String(70), nullable=False),
    Column("remittance", String(500), nullable=False),
    CheckConstraint("direction IN ('credit', 'debit')", name="direction"),
    CheckConstraint("amount_minor >= 0", name="amount_not_negative"),
    CheckConstraint("role IN ('line', 'batch', 'detail', 'info')", name="role"),
    Index("ix_reconciliation_lines_statement_id", "statement_id", "position"),
    Index("ix_reconciliation_lines_open", "bank_account", "currency", "state", "booked_on"),
    Index("ix_reconciliation_lines_parent_id", "parent_id"),
)

matches = Table(
    "reconciliation_matches",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("bank_account", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("rule", String(32), nullable=False),
    Column("target", String(12), nullable=False),  # payout | return | settlement
    Column("line_ids", JsonDocument, nullable=False),
    Column("expected_keys", JsonDocument, nullable=False),
    Column("payout_ids", JsonDocument, nullable=False),
    Column("end_to_end_ids", JsonDocument, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),  # the lines' total
    Column("fee_minor", BigInteger),  # kept by the bank, booked as its own adjustment
    Column("booked_on", Date, nullable=False),
    Column("return_reason_code", String(35), nullable=False),
    Column("evidence", JsonDocument, nullable=False),
    Column("effect_state", String(8), nullable=False),  # pending -> applied
    Column("effect", JsonDocument),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("applied_at", UtcDateTime),
    CheckConstraint("effect_state IN ('pending', 'applied')", name="effect_state"),
    CheckConstraint("target IN ('payout', 'return', 'settlement')", name="target"),
    Index("ix_reconciliation_matches_effect_state", "effect_state"),
)

match_targets = Table(
    "reconciliation_match_targets",
    metadata,
    # a payout key, "return:<payout key>" or a settlement key: matched once, ever
    Column("expected_key", String(120), primary_key=True),
    Column("match_id", String(40), ForeignKey("reconciliation_matches.id"), nullable=False),
    Column("bank_account", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("due_on", Date, nullable=False),
    Index("ix_reconciliation_match_targets_series", "bank_account", "currency", "due_on"),
)

exceptions = Table(
    "reconciliation_exceptions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("dedupe_key", String(200), nullable=False, unique=True),
    Column("kind", String(24), nullable=False),
    Column("bank_account", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False),
    Column("owner", String(200)),
    Column("line_id", String(40)),
    Column("statement_row_id", String(40)),
    Column("expected_key", String(120)),
    Column("on_date", Date),
    Column("amount_minor", BigInteger),  # signed as our balance moves
    Column("detail", String(500), nullable=False),
    Column("evidence", JsonDocument, nullable=False),
    Column("resolution", String(16)),
    Column("pending", JsonDocument),  # a write-off waiting for its second person
    Column("resolved_by", String(200)),
    Column("approved_by", String(200)),
    Column("resolved_at", UtcDateTime),
    Column("ledger_transaction_id", String(40)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    CheckConstraint(
        "kind IN ('unmatched_line', 'amount_mismatch', 'expected_past_due', "
        "'balance_difference', 'opening_balance_gap')",
        name="kind",
    ),
    CheckConstraint("status IN ('open', 'investigating', 'resolved')", name="status"),
    CheckConstraint(
        "resolution IS NULL OR resolution IN ('manual_match', 'write_off', 'accepted')",
        name="resolution",
    ),
    Index("ix_reconciliation_exceptions_status_created_at", "status", "created_at", "id"),
    Index("ix_reconciliation_exceptions_line_id", "line_id"),
    Index("ix_reconciliation_exceptions_expected_key", "expected_key"),
)

exception_notes = Table(
    "reconciliation_exception_notes",
    metadata,
    Column(
        "exception_id",
        String(40),
        ForeignKey("reconciliation_exceptions.id", name="fk_reconciliation_notes_exception"),
        primary_key=True,
    ),
    Column("seq", Integer, primary_key=True),
    Column("author", String(200), nullable=False),
    Column("text", String(2000), nullable=False),
    Column("at", UtcDateTime, nullable=False),
)

csv_mappings = Table(
    "reconciliation_csv_mappings",
    metadata,
    Column("bank_account", String(64), primary_key=True),
    Column("mapping", JsonDocument, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

expected_settlements = Table(
    "reconciliation_expected_settlements",
    metadata,
    Column("key", String(120), primary_key=True),
    Column("bank_account", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("reference", String(140), nullable=False),
    Column("provider_id", String(140), nullable=False),
    Column("report_sha256", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint("amount_minor > 0", name="amount_positive"),
    Index("ix_reconciliation_expected_settlements_series", "bank_account", "currency", "due_on"),
)
