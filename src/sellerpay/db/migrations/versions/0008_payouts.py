"""Payouts: schedules, runs and skips, payouts and their composition, bank submissions,
incoming bank reports, exchange rates.

Revision ID: 0008_payouts
Revises: 0007_bank_accounts
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0008_payouts"
down_revision = "0007_bank_accounts"
branch_labels = None
depends_on = None

_Json = sa.JSON().with_variant(JSONB(), "postgresql")
_Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "bank_reports",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("received_at", _Time, nullable=False),
        sa.Column("summary", _Json, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_reports")),
        sa.UniqueConstraint("sha256"),
    )
    op.create_table(
        "bank_submissions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("rail", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.String(length=35), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("transfer_count", sa.Integer(), nullable=False),
        sa.Column("control_sums", _Json, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", _Time, nullable=False),
        sa.Column("sending_at", _Time, nullable=True),
        sa.Column("sent_at", _Time, nullable=True),
        sa.Column("inquired_at", _Time, nullable=True),
        sa.CheckConstraint(
            "state IN ('prepared', 'sending', 'sent', 'unknown')",
            name=op.f("ck_bank_submissions_state"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_submissions")),
        sa.UniqueConstraint("message_id"),
    )
    op.create_index("ix_bank_submissions_state", "bank_submissions", ["state"], unique=False)
    op.create_table(
        "fx_rates",
        sa.Column("base", sa.String(length=3), nullable=False),
        sa.Column("quote", sa.String(length=3), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("rate", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("imported_at", _Time, nullable=False),
        sa.PrimaryKeyConstraint("base", "quote", "as_of", name=op.f("pk_fx_rates")),
    )
    op.create_table(
        "payout_cursors",
        sa.Column("seller_id", sa.String(length=80), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("account_version", sa.BigInteger(), nullable=False),
        sa.Column("carried_minor", sa.BigInteger(), nullable=False),
        sa.Column("carried_transaction_id", sa.String(length=40), nullable=False),
        sa.Column("carried_kind", sa.String(length=64), nullable=False),
        sa.Column("updated_at", _Time, nullable=False),
        sa.PrimaryKeyConstraint("seller_id", "currency", name=op.f("pk_payout_cursors")),
    )
    op.create_table(
        "payout_runs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("run_key", sa.String(length=200), nullable=False),
        sa.Column("run_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", _Time, nullable=False),
        sa.Column("completed_at", _Time, nullable=True),
        sa.Column("due_count", sa.Integer(), nullable=False),
        sa.Column("payout_count", sa.Integer(), nullable=False),
        sa.Column("skip_count", sa.Integer(), nullable=False),
        sa.Column("totals", _Json, nullable=False),
        sa.CheckConstraint(
            "status IN ('running', 'completed')", name=op.f("ck_payout_runs_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_runs")),
        sa.UniqueConstraint("run_key"),
    )
    op.create_table(
        "payout_schedules",
        sa.Column("seller_id", sa.String(length=80), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("interval", sa.String(length=8), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=True),
        sa.Column("day_of_month", sa.Integer(), nullable=True),
        sa.Column("minimum_minor", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", _Time, nullable=False),
        sa.CheckConstraint(
            "interval IN ('daily', 'weekly', 'monthly', 'manual')",
            name=op.f("ck_payout_schedules_interval"),
        ),
        sa.CheckConstraint(
            "minimum_minor >= 0", name=op.f("ck_payout_schedules_minimum_not_negative")
        ),
        sa.PrimaryKeyConstraint("seller_id", "currency", name=op.f("pk_payout_schedules")),
    )
    op.create_table(
        "payout_skips",
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("seller_id", sa.String(length=80), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=False),
        sa.Column("available_minor", sa.BigInteger(), nullable=False),
        sa.Column("created_at", _Time, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["payout_runs.id"], name=op.f("fk_payout_skips_run_id_payout_runs")
        ),
        sa.PrimaryKeyConstraint("run_id", "seller_id", "currency", name=op.f("pk_payout_skips")),
    )
    op.create_index(
        "ix_payout_skips_seller_id", "payout_skips", ["seller_id", "created_at"], unique=False
    )
    op.create_table(
        "payouts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("seller_id", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source_currency", sa.String(length=3), nullable=False),
        sa.Column("source_amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("fx_rate", sa.String(length=40), nullable=True),
        sa.Column("fx_margin_bps", sa.Integer(), nullable=True),
        sa.Column("fx_margin_minor", sa.BigInteger(), nullable=True),
        sa.Column("bank_account_id", sa.String(length=40), nullable=False),
        sa.Column("bank_account_masked", sa.String(length=40), nullable=False),
        sa.Column("rail", sa.String(length=16), nullable=False),
        sa.Column("end_to_end_id", sa.String(length=35), nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=140), nullable=False),
        sa.Column("execution_date", sa.Date(), nullable=False),
        sa.Column("approval_reasons", _Json, nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("approved_at", _Time, nullable=True),
        sa.Column("decision_note", sa.String(length=500), nullable=True),
        sa.Column("submission_id", sa.String(length=40), nullable=True),
        sa.Column("bank_reference", sa.String(length=40), nullable=True),
        sa.Column("status_reason_code", sa.String(length=16), nullable=True),
        sa.Column("status_reason_text", sa.String(length=300), nullable=True),
        sa.Column("return_fee_minor", sa.BigInteger(), nullable=True),
        sa.Column("creation_transaction_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", _Time, nullable=False),
        sa.Column("updated_at", _Time, nullable=False),
        sa.Column("submitted_at", _Time, nullable=True),
        sa.Column("paid_at", _Time, nullable=True),
        sa.Column("closed_at", _Time, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('scheduled', 'on_demand', 'manual')", name=op.f("ck_payouts_kind")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'processing', 'submitted', 'paid', 'failed', "
            "'returned', 'canceled')",
            name=op.f("ck_payouts_status"),
        ),
        sa.CheckConstraint(
            "amount_minor > 0 AND source_amount_minor > 0", name=op.f("ck_payouts_amounts_positive")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["payout_runs.id"], name=op.f("fk_payouts_run_id_payout_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payouts")),
        sa.UniqueConstraint("end_to_end_id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    op.create_index(
        "ix_payouts_seller_id_created_at", "payouts", ["seller_id", "created_at"], unique=False
    )
    op.create_index(
        "ix_payouts_status_rail_execution_date",
        "payouts",
        ["status", "rail", "execution_date"],
        unique=False,
    )
    op.create_index("ix_payouts_submission_id", "payouts", ["submission_id"], unique=False)
    op.create_index("ix_payouts_bank_reference", "payouts", ["bank_reference"], unique=False)
    op.create_index("ix_payouts_bank_account_id", "payouts", ["bank_account_id"], unique=False)
    op.create_index(
        "uq_payouts_run_seller_currency",
        "payouts",
        ["run_id", "seller_id", "source_currency"],
        unique=True,
    )
    op.create_table(
        "payout_items",
        sa.Column("payout_id", sa.String(length=40), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("account_version", sa.BigInteger(), nullable=False),
        sa.Column("transaction_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("partial", sa.Boolean(), nullable=False),
        sa.Column("references", _Json, nullable=False),
        sa.ForeignKeyConstraint(
            ["payout_id"], ["payouts.id"], name=op.f("fk_payout_items_payout_id_payouts")
        ),
        sa.PrimaryKeyConstraint("payout_id", "line", name=op.f("pk_payout_items")),
    )


def downgrade() -> None:
    op.drop_table("payout_items")
    op.drop_table("payouts")
    op.drop_table("payout_skips")
    op.drop_table("payout_schedules")
    op.drop_table("payout_runs")
    op.drop_table("payout_cursors")
    op.drop_table("fx_rates")
    op.drop_table("bank_submissions")
    op.drop_table("bank_reports")
