"""Tables of access: API keys, stored hashed."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, String, Table

from sellerpay.db import UtcDateTime, metadata

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("role", String(20), nullable=False),
    Column("seller_id", String(80)),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    CheckConstraint("role <> 'seller' OR seller_id IS NOT NULL", name="seller_bound"),
)
