"""Use cases of events: record an event in the outbox inside the caller's unit of work.

Every state change calls `record_event` with the connection of its own database transaction,
so the change and its event commit together or not at all (RELIABILITY.md, invariant 7). The
relay delivers recorded events afterwards (webhooks, broker).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection

from sellerpay.events import models
from sellerpay.ids import uuid7


@dataclass(frozen=True, slots=True)
class Event:
    """An event as subscribers receive it: `{id, type, created_at, subject, data}`."""

    id: UUID
    type: str
    subject: str
    data: Mapping[str, Any]
    created_at: datetime

    def envelope(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": self.type,
            "created_at": self.created_at.isoformat(),
            "subject": self.subject,
            "data": dict(self.data),
        }


def record_event(
    conn: Connection, *, type: str, subject: str, data: Mapping[str, Any], now: datetime
) -> Event:
    """Write `type` about `subject` to the outbox in the caller's database transaction."""
    event = Event(uuid7(), type, subject, dict(data), now)
    conn.execute(
        models.outbox.insert().values(
            id=event.id,
            type=type,
            subject=subject,
            data=event.data,
            created_at=now,
            relayed_at=None,
        )
    )
    return event
