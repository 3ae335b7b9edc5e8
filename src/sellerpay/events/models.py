"""Tables of events: the outbox, webhook endpoints, their deliveries and each delivery attempt."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    Uuid,
)

from sellerpay.db import JsonDocument, UtcDateTime, metadata

outbox = Table(
    "outbox_events",
    metadata,
    Column("id", Uuid, primary_key=True),  # UUIDv7: ordered by creation
    Column("type", String(64), nullable=False),
    Column("subject", String(120), nullable=False),  # what it is about: sel_…, po_…, ord_…
    Column("data", JsonDocument, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("relayed_at", UtcDateTime),  # handed to webhooks/broker; NULL = still to relay
    Index(
        "ix_outbox_events_unrelayed",
        "id",
        postgresql_where="relayed_at IS NULL",
        sqlite_where="relayed_at IS NULL",
    ),
)

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", String(40), primary_key=True),  # we_<uuid7 hex>
    Column("url", String(2000), nullable=False),
    Column("description", String(500), nullable=False),
    Column("event_types", JsonDocument, nullable=False),  # ["*"] or ["seller.created", "dispute.*"]
    Column("enabled", Boolean, nullable=False),
    # The signing secret must be used as-is to sign, so it cannot be hashed: the database is
    # sensitive (docs/webhooks.md). It is shown once, when created or rotated, never again.
    Column("secret", String(64), nullable=False),
    Column("previous_secret", String(64)),  # still signs until previous_secret_expires_at
    Column("previous_secret_expires_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(40), primary_key=True),  # whd_<uuid7 hex>
    Column("endpoint_id", String(40), ForeignKey("webhook_endpoints.id"), nullable=False),
    Column("event_id", Uuid, ForeignKey("outbox_events.id"), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),  # claimed this many times
    Column("next_attempt_at", UtcDateTime),  # when pending: due at; NULL once final
    Column("deadline_at", UtcDateTime, nullable=False),  # no retry after this: failed
    Column("claim_token", Uuid),  # the deliverer sending it now (until next_attempt_at)
    Column("last_attempt_at", UtcDateTime),
    Column("last_status_code", Integer),
    Column("last_error", String(500)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("completed_at", UtcDateTime),  # succeeded or failed for good
    UniqueConstraint("event_id", "endpoint_id"),  # relaying twice creates nothing twice
    CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status"),
    CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    CheckConstraint(
        "(status = 'pending') = (next_attempt_at IS NOT NULL)", name="pending_has_next_attempt"
    ),
    Index(
        "ix_webhook_deliveries_due",
        "next_attempt_at",
        postgresql_where="status = 'pending'",
        sqlite_where="status = 'pending'",
    ),
    Index("ix_webhook_deliveries_endpoint_id_id", "endpoint_id", "id"),
)

webhook_delivery_attempts = Table(
    "webhook_delivery_attempts",
    metadata,
    Column("id", Uuid, primary_key=True),  # UUIDv7
    Column("delivery_id", String(40), ForeignKey("webhook_deliveries.id"), nullable=False),
    Column("number", Integer, nullable=False),  # 1, 2, … per delivery
    Column("attempted_at", UtcDateTime, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("status_code", Integer),  # NULL when no answer came (time-out, connection refused)
    Column("latency_ms", Integer, nullable=False),
    Column("error", String(500)),
    UniqueConstraint("delivery_id", "number"),
    CheckConstraint("outcome IN ('succeeded', 'failed')", name="outcome"),
)
