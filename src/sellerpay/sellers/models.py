"""Tables of sellers: one row per seller, with its status and risk tier."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Column, Index, String, Table

from sellerpay.db import JsonDocument, UtcDateTime, metadata

sellers = Table(
    "sellers",
    metadata,
    Column("id", String(80), primary_key=True),
    Column("legal_name", String(200), nullable=False),
    Column("country", String(2), nullable=False),
    Column("default_currency", String(3), nullable=False),
    Column("risk_tier", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("metadata", JsonDocument, nullable=False),
    Column("request_hash", String(64), nullable=False),  # of the creating request: idempotency
    Column("version", BigInteger, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("status IN ('active', 'restricted', 'closed')", name="status"),
    CheckConstraint("risk_tier IN ('low', 'standard', 'high')", name="risk_tier"),
    Index("ix_sellers_country_status", "country", "status"),
)
