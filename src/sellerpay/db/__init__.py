"""Database infrastructure: the engine for SQLite or PostgreSQL, units of work, migrations."""

from sellerpay.db.database import Database, Dialect, is_transient_error
from sellerpay.db.types import BigId, JsonDocument, UtcDateTime, metadata

__all__ = [
    "BigId",
    "Database",
    "Dialect",
    "JsonDocument",
    "UtcDateTime",
    "is_transient_error",
    "metadata",
]
