"""Builders shared by the sellers tests: API keys per role, request bodies, problem checks.

Imported by the test modules of this folder (pytest puts the folder on `sys.path`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select

from sellerpay.db import Database
from sellerpay.events import models as event_models

PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Keys:
    """Plaintext API keys: one per role, one for `seller_id`, one for `other_seller_id`."""

    marketplace: str
    operator: str
    compliance: str
    finance: str
    risk: str
    approver: str
    admin: str
    seller: str
    other_seller: str

    def of(self, who: str) -> dict[str, str]:
        """Headers authenticating as `who` (a field name: "marketplace", "seller"…)."""
        key: str = getattr(self, who)
        return {"Authorization": f"Bearer {key}"}


def new_seller_id() -> str:
    return f"sel_{uuid.uuid4().hex}"


def seller_body(seller_id: str | None = None, **fields: Any) -> dict[str, Any]:
    """A seller to create: a French refurbisher unless told otherwise."""
    body: dict[str, Any] = {"legal_name": "Acme Refurb SAS", "country": "FR", **fields}
    if seller_id is not None:
        body["id"] = seller_id
    return body


def assert_problem(
    response: httpx.Response, status: int, code: str, *, field: str | None = None
) -> dict[str, Any]:
    """Assert an RFC 9457 answer: status, media type, `code`, `type`, and the field at fault."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM, response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code, body
    assert body["type"] == f"https://sellerpay.dev/problems/{code}"
    assert body["instance"] == response.request.url.path
    assert body["title"] and body["detail"]
    if field is not None:
        fields = [body.get("field")] + [e["field"] for e in body.get("errors") or []]
        assert field in fields, body
    return body


def events_about(db: Database, subject: str) -> list[tuple[str, dict[str, Any]]]:
    """The (type, data) of the outbox events about `subject`, oldest first."""
    o = event_models.outbox.c
    with db.reading() as conn:
        rows = conn.execute(select(o.type, o.data).where(o.subject == subject).order_by(o.id)).all()
    return [(row.type, row.data) for row in rows]
