"""Reconciliation: imported statement files, statements and lines, matches and the movements they
consumed (once each), the exceptions queue and its notes, CSV mappings per bank account, and
provider settlements expected on the bank account.

Revision ID: 0011_reconciliation
Revises: 0010_screening
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0011_reconciliation"
down_revision = "0010_screening"
branch_labels = None
depends_on = None

_Json = sa.JSON().with_variant(JSONB(), "postgresql")
_Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reconciliation_csv_mappings",
        sa.Column("bank_account", sa.String(length=64), nullable=False),
        sa.Column("mapping", _Json, nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", _Time, nullable=False),
        sa.PrimaryKeyConstraint("bank_account", name=op.f("pk_reconciliation_csv_mappings")),
    )
    op.create_table(
        "reconciliation_exceptions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("bank_account", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("line_id", sa.String(length=40), nullable=True),
        sa.Column("statement_row_id", sa.String(length=40), nullable=True),
        sa.Column("expected_key", sa.String(length=120), nullable=True),
        sa.Column("on_date", sa.Date(), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("evidence", _Json, nullable=False),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.Column("pending", _Json, nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("resolved_at", _Time, nullable=True),
        sa.Column("ledger_transaction_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", _Time, nullable=False),
        sa.Column("updated_at", _Time, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('unmatched_line', 'amount_mismatch', 'expected_past_due', "
            "'balance_difference', 'opening_balance_gap')",
            name=op.f("ck_reconciliation_exceptions_kind"),
        ),
        sa.CheckConstraint(
            "resolution IS NULL OR resolution IN ('manual_match', 'write_off', 'accepted')",
            name=op.f("ck_reconciliation_exceptions_resolution"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'investigating', 'resolved')",
            name=op.f("ck_reconciliation_exceptions_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_exceptions")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_reconciliation_exceptions_dedupe_key")),
    )
    op.create_index(
        "ix_reconciliation_exceptions_expected_key",
        "reconciliation_exceptions",
        ["expected_key"],
        unique=False,
    )
    op.create_index(
        "ix_reconciliation_exceptions_line_id",
        "reconciliation_exceptions",
        ["line_id"],
        unique=False,
    )
    op.create_index(
        "ix_reconciliation_exceptions_status_created_at",
        "reconciliation_exceptions",
        ["status", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "reconciliation_expected_settlements",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("bank_account", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=140), nullable=False),
        sa.Column("provider_id", sa.String(length=140), nullable=False),
        sa.Column("report_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", _Time, nullable=False),
        sa.CheckConstraint(
            "amount_minor > 0", name=op.f("ck_reconciliation_expected_settlements_amount_positive")
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_reconciliation_expected_settlements")),
    )
    op.create_index(
        "ix_reconciliation_expected_settlements_series",
        "reconciliation_expected_settlements",
        ["bank_account", "currency", "due_on"],
        unique=False,
    )
    op.create_table(
        "reconciliation_imports",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("bank_account", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("statement_count", sa.Integer(), nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("imported_by", sa.String(length=200), nullable=False),
        sa.Column("imported_at", _Time, nullable=False),
        sa.Column("summary", _Json, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_imports")),
        sa.UniqueConstraint("sha256", name=op.f("uq_reconciliation_imports_sha256")),
    )
    op.create_table(
        "reconciliation_matches",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("bank_account", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=12), nullable=False),
        sa.Column("line_ids", _Json, nullable=False),
        sa.Column("expected_keys", _Json, nullable=False),
        sa.Column("payout_ids", _Json, nullable=False),
        sa.Column("end_to_end_ids", _Json, nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=True),
        sa.Column("booked_on", sa.Date(), nullable=False),
        sa.Column("return_reason_code", sa.String(length=35), nullable=False),
        sa.Column("evidence", _Json, nullable=False),
        sa.Column("effect_state", sa.String(length=8), nullable=False),
        sa.Column("effect", _Json, nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", _Time, nullable=False),
        sa.Column("applied_at", _Time, nullable=True),
        sa.CheckConstraint(
            "effect_state IN ('pending', 'applied')",
            name=op.f("ck_reconciliation_matches_effect_state"),
        ),
        sa.CheckConstraint(
            "target IN ('payout', 'return', 'settlement')",
            name=op.f("ck_reconciliation_matches_target"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_matches")),
    )
    op.create_index(
        "ix_reconciliation_matches_effect_state",
        "reconciliation_matches",
        ["effect_state"],
        unique=False,
    )
    op.create_table(
        "reconciliation_exception_notes",
        sa.Column("exception_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("text", sa.String(length=2000), nullable=False),
        sa.Column("at", _Time, nullable=False),
        sa.ForeignKeyConstraint(
            ["exception_id"],
            ["reconciliation_exceptions.id"],
            name="fk_reconciliation_notes_exception",
        ),
        sa.PrimaryKeyConstraint(
            "exception_id", "seq", name=op.f("pk_reconciliation_exception_notes")
        ),
    )
    op.create_table(
        "reconciliation_match_targets",
        sa.Column("expected_key", sa.String(length=120), nullable=False),
        sa.Column("match_id", sa.String(length=40), nullable=False),
        sa.Column("bank_account", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["match_id"],
            ["reconciliation_matches.id"],
            name=op.f("fk_reconciliation_match_targets_match_id_reconciliation_matches"),
        ),
        sa.PrimaryKeyConstraint("expected_key", name=op.f("pk_reconciliation_match_targets")),
    )
    op.create_index(
        "ix_reconciliation_match_targets_series",
        "reconciliation_match_targets",
        ["bank_account", "currency", "due_on"],
        unique=False,
    )
    op.create_table(
        "reconciliation_statements",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("import_id", sa.String(length=40), nullable=False),
        sa.Column("bank_account", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=70), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("statement_id", sa.String(length=100), nullable=False),
        sa.Column("sequence", sa.String(length=40), nullable=False),
        sa.Column("identity", sa.String(length=240), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("opening_minor", sa.BigInteger(), nullable=True),
        sa.Column("closing_minor", sa.BigInteger(), nullable=True),
        sa.Column("opening_date", sa.Date(), nullable=True),
        sa.Column("closing_date", sa.Date(), nullable=True),
        sa.Column("bank_created_at", _Time, nullable=True),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("adds_up", sa.Boolean(), nullable=True),
        sa.Column("imported_at", _Time, nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["reconciliation_imports.id"],
            name=op.f("fk_reconciliation_statements_import_id_reconciliation_imports"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_statements")),
        sa.UniqueConstraint(
            "bank_account",
            "account",
            "currency",
            "identity",
            name="uq_reconciliation_statements_identity",
        ),
    )
    op.create_index(
        "ix_reconciliation_statements_series",
        "reconciliation_statements",
        ["bank_account", "currency", "closing_date"],
        unique=False,
    )
    op.create_table(
        "reconciliation_lines",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("statement_id", sa.String(length=40), nullable=False),
        sa.Column("bank_account", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.String(length=40), nullable=True),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("line_ref", sa.String(length=100), nullable=False),
        sa.Column("booked_on", sa.Date(), nullable=False),
        sa.Column("value_on", sa.Date(), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("amount_currency", sa.String(length=3), nullable=False),
        sa.Column("direction", sa.String(length=6), nullable=False),
        sa.Column("reversal", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("returned", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("match_id", sa.String(length=40), nullable=True),
        sa.Column("references", _Json, nullable=False),
        sa.Column("counterparty_name", sa.String(length=140), nullable=False),
        sa.Column("counterparty_account", sa.String(length=70), nullable=False),
        sa.Column("remittance", sa.String(length=500), nullable=False),
        sa.CheckConstraint(
            "direction IN ('credit', 'debit')", name=op.f("ck_reconciliation_lines_direction")
        ),
        sa.CheckConstraint(
            "role IN ('line', 'batch', 'detail', 'info')", name=op.f("ck_reconciliation_lines_role")
        ),
        sa.CheckConstraint(
            "amount_minor >= 0", name=op.f("ck_reconciliation_lines_amount_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["reconciliation_statements.id"],
            name=op.f("fk_reconciliation_lines_statement_id_reconciliation_statements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_lines")),
    )
    op.create_index(
        "ix_reconciliation_lines_open",
        "reconciliation_lines",
        ["bank_account", "currency", "state", "booked_on"],
        unique=False,
    )
    op.create_index(
        "ix_reconciliation_lines_parent_id", "reconciliation_lines", ["parent_id"], unique=False
    )
    op.create_index(
        "ix_reconciliation_lines_statement_id",
        "reconciliation_lines",
        ["statement_id", "position"],
        unique=False,
    )


def downgrade() -> None:

    op.drop_index("ix_reconciliation_lines_statement_id", table_name="reconciliation_lines")
    op.drop_index("ix_reconciliation_lines_parent_id", table_name="reconciliation_lines")
    op.drop_index("ix_reconciliation_lines_open", table_name="reconciliation_lines")
    op.drop_table("reconciliation_lines")
    op.drop_index("ix_reconciliation_statements_series", table_name="reconciliation_statements")
    op.drop_table("reconciliation_statements")
    op.drop_index(
        "ix_reconciliation_match_targets_series", table_name="reconciliation_match_targets"
    )
    op.drop_table("reconciliation_match_targets")
    op.drop_table("reconciliation_exception_notes")
    op.drop_index("ix_reconciliation_matches_effect_state", table_name="reconciliation_matches")
    op.drop_table("reconciliation_matches")
    op.drop_table("reconciliation_imports")
    op.drop_index(
        "ix_reconciliation_expected_settlements_series",
        table_name="reconciliation_expected_settlements",
    )
    op.drop_table("reconciliation_expected_settlements")
    op.drop_index(
        "ix_reconciliation_exceptions_status_created_at", table_name="reconciliation_exceptions"
    )
    op.drop_index("ix_reconciliation_exceptions_line_id", table_name="reconciliation_exceptions")
    op.drop_index(
        "ix_reconciliation_exceptions_expected_key", table_name="reconciliation_exceptions"
    )
    op.drop_table("reconciliation_exceptions")
    op.drop_table("reconciliation_csv_mappings")
