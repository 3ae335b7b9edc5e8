"""Tables of money in: marketplace events as received, fee plans, orders and their lines,
refunds, disputes and manual adjustments."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
    Uuid,
)

from sellerpay.db import JsonDocument, UtcDateTime, metadata

EVENT_STATUSES = ("applied", "duplicate", "parked", "rejected", "awaiting_approval")
EVENT_SOURCES = ("http", "amqp", "replay")

# Every event received, whatever became of it: nothing is ever dropped (RELIABILITY.md, 8).
marketplace_events = Table(
    "marketplace_events",
    metadata,
    Column("id", String(100), primary_key=True),  # the marketplace's event id
    Column("type", String(64)),  # NULL when the body had no usable type
    Column("occurred_at", UtcDateTime),  # NULL when the body had no valid time
    Column("body", JsonDocument, nullable=False),  # as received (or a stand-in when too large)
    Column("body_hash", String(64), nullable=False),  # SHA-256 of the canonical body
    Column("source", String(16), nullable=False),
    Column("status", String(24), nullable=False),
    Column("reason_code", String(64)),
    Column("reason", String(2000)),
    Column("waiting_for", String(120)),  # parked: what it waits for (order:…, seller:…)
    Column("received_at", UtcDateTime, nullable=False),
    Column("arrival", String(32), nullable=False),  # UUIDv7 at receipt: the order of arrival
    Column("updated_at", UtcDateTime, nullable=False),
    Column("applied_at", UtcDateTime),
    Column("attempts", Integer, nullable=False),
    CheckConstraint("source IN ('http', 'amqp', 'replay')", name="source"),
    CheckConstraint(
        "status IN ('applied', 'duplicate', 'parked', 'rejected', 'awaiting_approval')",
        name="status",
    ),
    Index("ix_marketplace_events_status_received_at", "status", "received_at"),
    Index(
        "ix_marketplace_events_parked",
        "waiting_for",
        postgresql_where="status = 'parked'",
        sqlite_where="status = 'parked'",
    ),
)

# Other bodies received under an id already taken: kept for an operator, never applied.
marketplace_event_conflicts = Table(
    "marketplace_event_conflicts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("event_id", String(100), nullable=False),
    Column("body", JsonDocument, nullable=False),
    Column("body_hash", String(64), nullable=False),
    Column("source", String(16), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    UniqueConstraint("event_id", "body_hash"),
)

fee_plans = Table(
    "fee_plans",
    metadata,
    Column("id", String(40), primary_key=True),  # fp_…
    Column("scope", String(80), nullable=False),  # "platform" or the seller id
    Column("seller_id", String(80)),  # NULL: the platform default
    Column("name", String(100), nullable=False),
    Column("version", Integer, nullable=False),  # 1, 2, … per scope
    Column("effective_from", UtcDateTime, nullable=False),
    Column("rules", JsonDocument, nullable=False),
    Column("fixed_fee_per_order", JsonDocument, nullable=False),  # currency -> minor units
    Column("refund_policy", String(16), nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("scope", "version"),
    Index("ix_fee_plans_scope_effective_from", "scope", "effective_from"),
    CheckConstraint("refund_policy IN ('proportional', 'retain')", name="refund_policy"),
)

orders = Table(
    "orders",
    metadata,
    Column("order_id", String(100), primary_key=True),
    Column("seller_id", String(80), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("market", String(2), nullable=False),
    Column("status", String(24), nullable=False),
    Column("risk_tier", String(16), nullable=False),  # the seller's, when paid: the holding period
    Column("gross_minor", BigInteger, nullable=False),
    Column("fee_minor", BigInteger, nullable=False),
    Column("net_minor", BigInteger, nullable=False),
    Column("refunded_minor", BigInteger, nullable=False),  # all refunds, to the customer
    Column("refunded_by_amount_minor", BigInteger, nullable=False),  # refunds not by line
    Column("fee_returned_minor", BigInteger, nullable=False),  # commission given back
    Column("pending_minor", BigInteger, nullable=False),  # of this order, still in pending
    Column("released_minor", BigInteger, nullable=False),
    Column("fee_plan_id", String(40), nullable=False),
    Column("fee_plan_version", Integer, nullable=False),
    Column("refund_policy", String(16), nullable=False),  # the plan's, when paid
    Column("paid_at", UtcDateTime, nullable=False),
    Column("shipped_at", UtcDateTime),
    Column("delivered_at", UtcDateTime),
    Column("release_due_at", UtcDateTime, nullable=False),
    Column("released_at", UtcDateTime),
    Column("paid_event_id", String(100), nullable=False),
    Column("request_hash", String(64), nullable=False),  # of the order.paid data
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("status IN ('paid', 'partially_refunded', 'refunded')", name="status"),
    CheckConstraint("pending_minor >= 0 AND refunded_minor <= gross_minor", name="amounts"),
    Index("ix_orders_seller_id", "seller_id"),
    Index(
        "ix_orders_release_due",
        "release_due_at",
        postgresql_where="released_at IS NULL",
        sqlite_where="released_at IS NULL",
    ),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("order_id", String(100), nullable=False),
    Column("line_id", String(100), nullable=False),
    Column("position", Integer, nullable=False),
    Column("category", String(64), nullable=False),
    Column("gross_minor", BigInteger, nullable=False),
    Column("bps", Integer, nullable=False),
    Column("commission_minor", BigInteger, nullable=False),
    Column("fixed_fee_minor", BigInteger, nullable=False),
    Column("fee_minor", BigInteger, nullable=False),
    Column("net_minor", BigInteger, nullable=False),
    Column("refunded_by_line_minor", BigInteger, nullable=False),
    Column("refunded_minor", BigInteger, nullable=False),  # by line + share of refunds by amount
    Column("fee_returned_minor", BigInteger, nullable=False),
    PrimaryKeyConstraint("order_id", "line_id"),
)

refunds = Table(
    "refunds",
    metadata,
    Column("order_id", String(100), nullable=False),
    Column("refund_id", String(100), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("by_line", JsonDocument),  # line_id -> minor units; NULL for a refund by amount
    Column("seller_minor", BigInteger, nullable=False),
    Column("platform_minor", BigInteger, nullable=False),  # commission given back
    Column("from_pending_minor", BigInteger, nullable=False),
    Column("from_available_minor", BigInteger, nullable=False),
    Column("reason", String(500)),
    Column("event_id", String(100), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("order_id", "refund_id"),
)

disputes = Table(
    "disputes",
    metadata,
    Column("dispute_id", String(100), primary_key=True),
    Column("order_id", String(100), nullable=False),
    Column("seller_id", String(80), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("status", String(8), nullable=False),
    Column("from_pending_minor", BigInteger, nullable=False),
    Column("from_available_minor", BigInteger, nullable=False),
    Column("fee_minor", BigInteger, nullable=False),  # charged when lost
    Column("reason", String(500)),
    Column("opened_event_id", String(100), nullable=False),
    Column("closed_event_id", String(100)),
    Column("request_hash", String(64), nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime),
    CheckConstraint("status IN ('open', 'won', 'lost')", name="status"),
    Index("ix_disputes_order_id", "order_id"),
)

adjustments = Table(
    "adjustments",
    metadata,
    Column("adjustment_id", String(100), primary_key=True),
    Column("seller_id", String(80), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("direction", String(8), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("reason", String(500), nullable=False),
    Column("requested_by", String(100), nullable=False),
    Column("status", String(24), nullable=False),
    Column("event_id", String(100), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("decided_by", String(100)),
    Column("decision_note", String(500)),
    Column("decided_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint("direction IN ('credit', 'debit')", name="direction"),
    CheckConstraint("status IN ('awaiting_approval', 'applied', 'rejected')", name="status"),
    Index("ix_adjustments_status", "status"),
)
