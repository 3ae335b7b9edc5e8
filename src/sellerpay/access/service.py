"""Use cases of access: create, list and revoke API keys; authenticate a presented key.

Creating and revoking a key are audited (`api_key.created`, `api_key.revoked`) in the same unit
of work: `actor` says who did it (`cli:<user>@<host>`, `actor_of(principal)`).
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select

from sellerpay.access import models
from sellerpay.access.rules import KEY_PREFIX, Principal, Role, hash_secret, split_key
from sellerpay.audit.rules import system_actor
from sellerpay.audit.service import record_audit
from sellerpay.clock import Clock
from sellerpay.db import Database
from sellerpay.errors import InvalidInput, NotFound, Unauthenticated

_SELLER_ID = re.compile(r"sel_[0-9A-Za-z]{1,64}")
_UNNAMED_ACTOR = system_actor("access")  # callers that do not say who acts (tests, scripts)


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    name: str
    role: Role
    seller_id: str | None
    created_at: datetime
    revoked_at: datetime | None

    def audited(self) -> dict[str, Any]:
        """The key as the audit trail records it: never its secret nor the secret's hash."""
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role.value,
            "seller_id": self.seller_id,
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
        }


def create_api_key(
    db: Database,
    *,
    name: str,
    role: Role,
    seller_id: str | None = None,
    clock: Clock,
    actor: str = _UNNAMED_ACTOR,
    source_ip: str | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; returns it and the plaintext, which is shown once and never stored.

    Audited as `api_key.created` by `actor`, in the same transaction as the key.
    """
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise InvalidInput("name must be 1 to 100 characters", code="invalid_name")
    if (role is Role.SELLER) != (seller_id is not None):
        raise InvalidInput(
            "a seller key needs --seller, and only a seller key takes one", code="seller_binding"
        )
    if seller_id is not None and not _SELLER_ID.fullmatch(seller_id):
        raise InvalidInput(f"{seller_id!r} is not a seller id (sel_…)", code="invalid_seller_id")
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    now = clock.now()
    with db.transaction() as conn:
        conn.execute(
            models.api_keys.insert().values(
                id=key_id,
                name=name,
                role=role.value,
                seller_id=seller_id,
                secret_hash=hash_secret(secret),
                created_at=now,
                revoked_at=None,
            )
        )
        key = ApiKey(key_id, name, role, seller_id, now, None)
        _audit(conn, "api_key.created", None, key, actor=actor, source_ip=source_ip, at=now)
    return key, f"{KEY_PREFIX}_{key_id}_{secret}"


def authenticate(db: Database, presented: str) -> Principal:
    """The principal a presented key stands for; `Unauthenticated` if unknown or revoked."""
    parts = split_key(presented)
    if parts is None:
        raise Unauthenticated("malformed API key", code="invalid_api_key")
    key_id, secret = parts
    k = models.api_keys.c
    with db.reading() as conn:
        row = conn.execute(select(models.api_keys).where(k.id == key_id)).first()
    if row is None or not hmac.compare_digest(row.secret_hash, hash_secret(secret)):
        raise Unauthenticated("unknown API key", code="invalid_api_key")
    if row.revoked_at is not None:
        raise Unauthenticated("this API key was revoked", code="revoked_api_key")
    return Principal(row.id, row.name, Role(row.role), row.seller_id)


def revoke_api_key(
    db: Database,
    key_id: str,
    *,
    clock: Clock,
    actor: str = _UNNAMED_ACTOR,
    source_ip: str | None = None,
) -> ApiKey:
    """Revoke a key now; revoking a revoked key changes nothing (and is not audited again).

    Audited as `api_key.revoked` by `actor`, in the same transaction as the revocation.
    """
    k = models.api_keys.c
    now = clock.now()
    with db.transaction() as conn:
        row = conn.execute(select(models.api_keys).where(k.id == key_id)).first()
        if row is None:
            raise NotFound(f"no API key {key_id}", code="api_key_not_found")
        changed = conn.execute(
            models.api_keys.update()
            .where(k.id == key_id, k.revoked_at.is_(None))
            .values(revoked_at=now)
        ).rowcount
        revoked = _api_key(conn.execute(select(models.api_keys).where(k.id == key_id)).one())
        if changed:
            before = _api_key(row)
            _audit(
                conn, "api_key.revoked", before, revoked, actor=actor, source_ip=source_ip, at=now
            )
    return revoked


def list_api_keys(db: Database) -> list[ApiKey]:
    with db.reading() as conn:
        rows = conn.execute(select(models.api_keys).order_by(models.api_keys.c.created_at)).all()
    return [_api_key(row) for row in rows]


def _audit(
    conn: Connection,
    action: str,
    before: ApiKey | None,
    after: ApiKey,
    *,
    actor: str,
    source_ip: str | None,
    at: datetime,
) -> None:
    record_audit(
        conn,
        actor=actor,
        action=action,
        subject_type="api_key",
        subject_id=after.id,
        before=None if before is None else before.audited(),
        after=after.audited(),
        source_ip=source_ip,
        at=at,
    )


def _api_key(row: Row[Any]) -> ApiKey:
    return ApiKey(row.id, row.name, Role(row.role), row.seller_id, row.created_at, row.revoked_at)
