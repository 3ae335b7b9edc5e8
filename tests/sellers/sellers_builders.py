"""Builders shared by the sellers tests: API keys per role, request bodies, problem checks.

Imported by the test modules of this folder (pytest puts the folder on `sys.path`).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from sellerpay.db import Database
from sellerpay.events import models as event_models


def new_seller_id() -> str:
    return f"sel_{uuid.uuid4().hex}"


def seller_body(seller_id: str | None = None, **fields: Any) -> dict[str, Any]:
    """A seller to create: a French refurbisher unless told otherwise."""
    body: dict[str, Any] = {"legal_name": "Acme Refurb SAS", "country": "FR", **fields}
    if seller_id is not None:
        body["id"] = seller_id
    return body


def events_about(db: Database, subject: str) -> list[tuple[str, dict[str, Any]]]:
    """The (type, data) of the outbox events about `subject`, oldest first."""
    o = event_models.outbox.c
    with db.reading() as conn:
        rows = conn.execute(select(o.type, o.data).where(o.subject == subject).order_by(o.id)).all()
    return [(row.type, row.data) for row in rows]
