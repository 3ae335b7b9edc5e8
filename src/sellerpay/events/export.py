"""Outbox events in bulk, by creation time, for the analytics export (read-only)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, Final, NamedTuple
from uuid import UUID

from sqlalchemy import select

from sellerpay.clock import ensure_utc
from sellerpay.db import Database
from sellerpay.errors import InvalidInput
from sellerpay.events import models

chunk_size_max: Final = 50_000


class ExportedEvent(NamedTuple):
    """An outbox event as stored, with when it was relayed (None: not yet)."""

    id: UUID
    type: str
    subject: str
    data: Mapping[str, Any]
    created_at: datetime
    relayed_at: datetime | None


def events_created_between(
    db: Database, *, start: datetime, end: datetime, chunk_size: int = 10_000
) -> Iterator[list[ExportedEvent]]:
    """Events created in [start, end), in (created_at, id) order, a chunk at a time from one
    statement (the connection stays open while the caller iterates)."""
    if not 1 <= chunk_size <= chunk_size_max:
        raise InvalidInput(f"chunk_size must be 1..{chunk_size_max}", code="invalid_chunk_size")
    o = models.outbox.c
    query = (
        select(o.id, o.type, o.subject, o.data, o.created_at, o.relayed_at)
        .where(o.created_at >= ensure_utc(start), o.created_at < ensure_utc(end))
        .order_by(o.created_at, o.id)
    )
    with db.reading() as conn:
        result = conn.execution_options(yield_per=chunk_size).execute(query)
        for rows in result.partitions():
            yield [ExportedEvent._make(row) for row in rows]
