"""Tables of events: the outbox, written in the same database transaction as each state change."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, String, Table, Uuid
from sqlalchemy.dialects.postgresql import JSONB

from sellerpay.db import UtcDateTime, metadata

_Json = JSON().with_variant(JSONB(), "postgresql")

outbox = Table(
    "outbox_events",
    metadata,
    Column("id", Uuid, primary_key=True),  # UUIDv7: ordered by creation
    Column("type", String(64), nullable=False),
    Column("subject", String(120), nullable=False),  # what it is about: sel_…, po_…, ord_…
    Column("data", _Json, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("relayed_at", UtcDateTime),  # handed to webhooks/broker; NULL = still to relay
    Index(
        "ix_outbox_events_unrelayed",
        "id",
        postgresql_where="relayed_at IS NULL",
        sqlite_where="relayed_at IS NULL",
    ),
)
