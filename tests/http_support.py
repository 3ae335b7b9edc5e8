"""What API tests of every context share: the RFC 9457 check and API keys for every role.

(Kept out of conftest.py so that importing it never picks up another folder's conftest.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sellerpay.access.rules import Role
from sellerpay.access.service import create_api_key
from sellerpay.clock import Clock
from sellerpay.db import Database

PROBLEM = "application/problem+json"


def assert_problem(
    response: Any, status: int, code: str, *, field: str | None = None
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


def role_keys(db: Database, clock: Clock, *, seller_id: str, other_seller_id: str) -> Keys:
    """A key for every staff role, and one for each of two sellers."""

    def key(role: Role, seller: str | None = None) -> str:
        _, plaintext = create_api_key(
            db, name=f"test {role.value}", role=role, seller_id=seller, clock=clock
        )
        return plaintext

    return Keys(
        marketplace=key(Role.MARKETPLACE),
        operator=key(Role.OPERATOR),
        compliance=key(Role.COMPLIANCE),
        finance=key(Role.FINANCE),
        risk=key(Role.RISK),
        approver=key(Role.APPROVER),
        admin=key(Role.ADMIN),
        seller=key(Role.SELLER, seller_id),
        other_seller=key(Role.SELLER, other_seller_id),
    )
