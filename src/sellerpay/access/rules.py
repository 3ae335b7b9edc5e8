"""Roles, permissions and the seller boundary, as pure rules (RELIABILITY.md, security rules)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Role(StrEnum):
    SELLER = "seller"
    OPERATOR = "operator"
    APPROVER = "approver"
    COMPLIANCE = "compliance"
    RISK = "risk"
    FINANCE = "finance"
    ADMIN = "admin"


class Permission(StrEnum):
    LEDGER_READ = "ledger:read"
    LEDGER_POST = "ledger:post"
    LEDGER_REVERSE = "ledger:reverse"


ROLE_PERMISSIONS: Final[dict[Role, frozenset[Permission]]] = {
    Role.SELLER: frozenset(),  # sellers read their own accounts only: see `may_read_account`
    Role.OPERATOR: frozenset({Permission.LEDGER_READ}),
    Role.APPROVER: frozenset({Permission.LEDGER_READ}),
    Role.COMPLIANCE: frozenset(),
    Role.RISK: frozenset({Permission.LEDGER_READ}),
    Role.FINANCE: frozenset(
        {Permission.LEDGER_READ, Permission.LEDGER_POST, Permission.LEDGER_REVERSE}
    ),
    Role.ADMIN: frozenset(Permission),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: an API key's id and name, its role, and for sellers their seller id."""

    key_id: str
    name: str
    role: Role
    seller_id: str | None = None


def can(principal: Principal, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[principal.role]


def may_read_account(principal: Principal, code: str) -> bool:
    """Operators with ledger:read see every account; a seller sees only `seller:<own id>:…`."""
    if principal.role is Role.SELLER:
        return principal.seller_id is not None and code.startswith(f"seller:{principal.seller_id}:")
    return can(principal, Permission.LEDGER_READ)


KEY_PREFIX: Final = "sp"


def split_key(presented: str) -> tuple[str, str] | None:
    """`sp_<key id>_<secret>` → (key id, secret), or None when it is not of that shape."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def hash_secret(secret: str) -> str:
    """Keys carry 256 random bits, so one SHA-256 is enough (no password stretching needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()
