"""Sellers, and the outbox of events written with every state change.

Revision ID: 0003_sellers_and_outbox
Revises: 0002_api_keys
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003_sellers_and_outbox"
down_revision = "0002_api_keys"
branch_labels = None
depends_on = None

_Json = sa.JSON().with_variant(JSONB(), "postgresql")
_Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sellers",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("legal_name", sa.String(200), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("default_currency", sa.String(3), nullable=False),
        sa.Column("risk_tier", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("metadata", _Json, nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("created_at", _Time, nullable=False),
        sa.Column("updated_at", _Time, nullable=False),
        sa.CheckConstraint("status IN ('active', 'restricted', 'closed')", name="status"),
        sa.CheckConstraint("risk_tier IN ('low', 'standard', 'high')", name="risk_tier"),
    )
    op.create_index("ix_sellers_country_status", "sellers", ["country", "status"])
    op.create_table(
        "outbox_events",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(120), nullable=False),
        sa.Column("data", _Json, nullable=False),
        sa.Column("created_at", _Time, nullable=False),
        sa.Column("relayed_at", _Time),
    )
    op.create_index(
        "ix_outbox_events_unrelayed",
        "outbox_events",
        ["id"],
        postgresql_where=sa.text("relayed_at IS NULL"),
        sqlite_where=sa.text("relayed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("outbox_events")
    op.drop_table("sellers")
