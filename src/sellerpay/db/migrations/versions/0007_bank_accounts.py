"""Sellers' bank accounts: account numbers encrypted at rest, one default per currency.

Revision ID: 0007_bank_accounts
Revises: 0006_audit
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_bank_accounts"
down_revision = "0006_audit"
branch_labels = None
depends_on = None

_Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "bank_accounts",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("seller_id", sa.String(80), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("rail", sa.String(16), nullable=False),
        sa.Column("holder_name", sa.String(140), nullable=False),
        sa.Column("bank_identifier", sa.String(11)),
        sa.Column("account_type", sa.String(16)),
        sa.Column("number_ciphertext", sa.Text, nullable=False),
        sa.Column("last4", sa.String(4), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("is_default", sa.Boolean, nullable=False),
        sa.Column("verified", sa.Boolean, nullable=False),
        sa.Column("verification_note", sa.String(500)),
        sa.Column("cooldown_until", _Time, nullable=False),
        sa.Column("hold_released_by", sa.String(200)),
        sa.Column("hold_released_at", _Time),
        sa.Column("disabled_reason", sa.String(64)),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("last_changed_by", sa.String(200), nullable=False),
        sa.Column("idempotency_key", sa.String(255)),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("created_at", _Time, nullable=False),
        sa.Column("updated_at", _Time, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("seller_id", "idempotency_key"),
        sa.CheckConstraint("status IN ('active', 'disabled', 'replaced')", name="status"),
        sa.CheckConstraint("format IN ('iban', 'aba', 'uk', 'zengin')", name="format"),
        sa.CheckConstraint("NOT is_default OR status = 'active'", name="default_is_active"),
        sa.CheckConstraint(
            "(hold_released_by IS NULL) = (hold_released_at IS NULL)",
            name="hold_release_complete",
        ),
    )
    op.create_index(
        "uq_bank_accounts_default",
        "bank_accounts",
        ["seller_id", "currency"],
        unique=True,
        postgresql_where=sa.text("is_default AND status = 'active'"),
        sqlite_where=sa.text("is_default AND status = 'active'"),
    )
    op.create_index("ix_bank_accounts_seller_id_id", "bank_accounts", ["seller_id", "id"])
    op.create_index("ix_bank_accounts_key_id", "bank_accounts", ["key_id"])


def downgrade() -> None:
    op.drop_index("ix_bank_accounts_key_id", table_name="bank_accounts")
    op.drop_index("ix_bank_accounts_seller_id_id", table_name="bank_accounts")
    op.drop_index("uq_bank_accounts_default", table_name="bank_accounts")
    op.drop_table("bank_accounts")
