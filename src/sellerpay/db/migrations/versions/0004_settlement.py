"""Money in: marketplace events as received, fee plans, orders and lines, refunds, disputes,
manual adjustments.

Revision ID: 0004_settlement
Revises: 0003_sellers_and_outbox
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004_settlement"
down_revision = "0003_sellers_and_outbox"
branch_labels = None
depends_on = None

_Json = sa.JSON().with_variant(JSONB(), "postgresql")
_Time = sa.DateTime(timezone=True)
_Minor = sa.BigInteger


def upgrade() -> None:
    _events()
    _fee_plans()
    _orders()
    _refunds_disputes_adjustments()


def _events() -> None:
    op.create_table(
        "marketplace_events",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("type", sa.String(64)),
        sa.Column("occurred_at", _Time),
        sa.Column("body", _Json, nullable=False),
        sa.Column("body_hash", sa.String(64), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("reason_code", sa.String(64)),
        sa.Column("reason", sa.String(2000)),
        sa.Column("waiting_for", sa.String(120)),
        sa.Column("received_at", _Time, nullable=False),
        sa.Column("arrival", sa.String(32), nullable=False),
        sa.Column("updated_at", _Time, nullable=False),
        sa.Column("applied_at", _Time),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.CheckConstraint("source IN ('http', 'amqp', 'replay')", name="source"),
        sa.CheckConstraint(
            "status IN ('applied', 'duplicate', 'parked', 'rejected', 'awaiting_approval')",
            name="status",
        ),
    )
    op.create_index(
        "ix_marketplace_events_status_received_at",
        "marketplace_events",
        ["status", "received_at"],
    )
    op.create_index(
        "ix_marketplace_events_parked",
        "marketplace_events",
        ["waiting_for"],
        postgresql_where=sa.text("status = 'parked'"),
        sqlite_where=sa.text("status = 'parked'"),
    )
    op.create_table(
        "marketplace_event_conflicts",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("event_id", sa.String(100), nullable=False),
        sa.Column("body", _Json, nullable=False),
        sa.Column("body_hash", sa.String(64), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("received_at", _Time, nullable=False),
        sa.UniqueConstraint("event_id", "body_hash"),
    )


def _fee_plans() -> None:
    op.create_table(
        "fee_plans",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("scope", sa.String(80), nullable=False),
        sa.Column("seller_id", sa.String(80)),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("effective_from", _Time, nullable=False),
        sa.Column("rules", _Json, nullable=False),
        sa.Column("fixed_fee_per_order", _Json, nullable=False),
        sa.Column("refund_policy", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", _Time, nullable=False),
        sa.UniqueConstraint("scope", "version"),
        sa.CheckConstraint("refund_policy IN ('proportional', 'retain')", name="refund_policy"),
    )
    op.create_index("ix_fee_plans_scope_effective_from", "fee_plans", ["scope", "effective_from"])


def _orders() -> None:
    op.create_table(
        "orders",
        sa.Column("order_id", sa.String(100), primary_key=True),
        sa.Column("seller_id", sa.String(80), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("market", sa.String(2), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("risk_tier", sa.String(16), nullable=False),
        sa.Column("gross_minor", _Minor, nullable=False),
        sa.Column("fee_minor", _Minor, nullable=False),
        sa.Column("net_minor", _Minor, nullable=False),
        sa.Column("refunded_minor", _Minor, nullable=False),
        sa.Column("refunded_by_amount_minor", _Minor, nullable=False),
        sa.Column("fee_returned_minor", _Minor, nullable=False),
        sa.Column("pending_minor", _Minor, nullable=False),
        sa.Column("released_minor", _Minor, nullable=False),
        sa.Column("fee_plan_id", sa.String(40), nullable=False),
        sa.Column("fee_plan_version", sa.Integer, nullable=False),
        sa.Column("refund_policy", sa.String(16), nullable=False),
        sa.Column("paid_at", _Time, nullable=False),
        sa.Column("shipped_at", _Time),
        sa.Column("delivered_at", _Time),
        sa.Column("release_due_at", _Time, nullable=False),
        sa.Column("released_at", _Time),
        sa.Column("paid_event_id", sa.String(100), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("created_at", _Time, nullable=False),
        sa.Column("updated_at", _Time, nullable=False),
        sa.CheckConstraint("status IN ('paid', 'partially_refunded', 'refunded')", name="status"),
        sa.CheckConstraint("pending_minor >= 0 AND refunded_minor <= gross_minor", name="amounts"),
    )
    op.create_index("ix_orders_seller_id", "orders", ["seller_id"])
    op.create_index(
        "ix_orders_release_due",
        "orders",
        ["release_due_at"],
        postgresql_where=sa.text("released_at IS NULL"),
        sqlite_where=sa.text("released_at IS NULL"),
    )
    op.create_table(
        "order_lines",
        sa.Column("order_id", sa.String(100), nullable=False),
        sa.Column("line_id", sa.String(100), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("gross_minor", _Minor, nullable=False),
        sa.Column("bps", sa.Integer, nullable=False),
        sa.Column("commission_minor", _Minor, nullable=False),
        sa.Column("fixed_fee_minor", _Minor, nullable=False),
        sa.Column("fee_minor", _Minor, nullable=False),
        sa.Column("net_minor", _Minor, nullable=False),
        sa.Column("refunded_by_line_minor", _Minor, nullable=False),
        sa.Column("refunded_minor", _Minor, nullable=False),
        sa.Column("fee_returned_minor", _Minor, nullable=False),
        sa.PrimaryKeyConstraint("order_id", "line_id"),
    )


def _refunds_disputes_adjustments() -> None:
    op.create_table(
        "refunds",
        sa.Column("order_id", sa.String(100), nullable=False),
        sa.Column("refund_id", sa.String(100), nullable=False),
        sa.Column("amount_minor", _Minor, nullable=False),
        sa.Column("by_line", _Json),
        sa.Column("seller_minor", _Minor, nullable=False),
        sa.Column("platform_minor", _Minor, nullable=False),
        sa.Column("from_pending_minor", _Minor, nullable=False),
        sa.Column("from_available_minor", _Minor, nullable=False),
        sa.Column("reason", sa.String(500)),
        sa.Column("event_id", sa.String(100), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("created_at", _Time, nullable=False),
        sa.PrimaryKeyConstraint("order_id", "refund_id"),
    )
    op.create_table(
        "disputes",
        sa.Column("dispute_id", sa.String(100), primary_key=True),
        sa.Column("order_id", sa.String(100), nullable=False),
        sa.Column("seller_id", sa.String(80), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount_minor", _Minor, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("from_pending_minor", _Minor, nullable=False),
        sa.Column("from_available_minor", _Minor, nullable=False),
        sa.Column("fee_minor", _Minor, nullable=False),
        sa.Column("reason", sa.String(500)),
        sa.Column("opened_event_id", sa.String(100), nullable=False),
        sa.Column("closed_event_id", sa.String(100)),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("opened_at", _Time, nullable=False),
        sa.Column("closed_at", _Time),
        sa.CheckConstraint("status IN ('open', 'won', 'lost')", name="status"),
    )
    op.create_index("ix_disputes_order_id", "disputes", ["order_id"])
    op.create_table(
        "adjustments",
        sa.Column("adjustment_id", sa.String(100), primary_key=True),
        sa.Column("seller_id", sa.String(80), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("amount_minor", _Minor, nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("requested_by", sa.String(100), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("event_id", sa.String(100), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("decided_by", sa.String(100)),
        sa.Column("decision_note", sa.String(500)),
        sa.Column("decided_at", _Time),
        sa.Column("created_at", _Time, nullable=False),
        sa.CheckConstraint("direction IN ('credit', 'debit')", name="direction"),
        sa.CheckConstraint("status IN ('awaiting_approval', 'applied', 'rejected')", name="status"),
    )
    op.create_index("ix_adjustments_status", "adjustments", ["status"])


def downgrade() -> None:
    for table in (
        "adjustments",
        "disputes",
        "refunds",
        "order_lines",
        "orders",
        "fee_plans",
        "marketplace_event_conflicts",
        "marketplace_events",
    ):
        op.drop_table(table)
