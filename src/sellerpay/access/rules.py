"""Roles, permissions and the seller boundary, as pure rules (RELIABILITY.md, security rules)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Role(StrEnum):
    SELLER = "seller"
    MARKETPLACE = "marketplace"  # the marketplace's own services: send events, manage sellers
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
    SELLERS_READ = "sellers:read"
    SELLERS_WRITE = "sellers:write"
    BALANCES_READ = "balances:read"  # any seller's balances and balance transactions
    EVENTS_SEND = "events:send"  # marketplace events in
    EVENTS_READ = "events:read"  # see received, parked and rejected events
    EVENTS_REPLAY = "events:replay"  # re-apply a parked or rejected event
    FEE_PLANS_READ = "fee_plans:read"
    FEE_PLANS_WRITE = "fee_plans:write"
    ADJUSTMENTS_APPROVE = "adjustments:approve"  # the second person on a large adjustment
    WEBHOOKS_MANAGE = "webhooks:manage"
    JOBS_RUN = "jobs:run"


_P = Permission
_READ_ALL = frozenset(
    {_P.LEDGER_READ, _P.SELLERS_READ, _P.BALANCES_READ, _P.EVENTS_READ, _P.FEE_PLANS_READ}
)
ROLE_PERMISSIONS: Final[dict[Role, frozenset[Permission]]] = {
    # sellers see their own seller record, balances and accounts only: see `may_act_for_seller`
    Role.SELLER: frozenset(),
    Role.MARKETPLACE: frozenset(
        {_P.EVENTS_SEND, _P.SELLERS_READ, _P.SELLERS_WRITE, _P.BALANCES_READ, _P.WEBHOOKS_MANAGE}
    ),
    Role.OPERATOR: _READ_ALL | {_P.EVENTS_REPLAY, _P.SELLERS_WRITE, _P.JOBS_RUN},
    Role.APPROVER: _READ_ALL | {_P.ADJUSTMENTS_APPROVE},
    Role.COMPLIANCE: frozenset({_P.SELLERS_READ, _P.SELLERS_WRITE}),
    Role.RISK: _READ_ALL,
    Role.FINANCE: _READ_ALL | {_P.LEDGER_POST, _P.LEDGER_REVERSE, _P.FEE_PLANS_WRITE},
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


def may_act_for_seller(principal: Principal, seller_id: str, permission: Permission) -> bool:
    """A seller acts only on their own seller id; others need `permission` (seller-scoped
    routes answer 404, not 403, when this is False, so ids do not leak)."""
    if principal.role is Role.SELLER:
        return principal.seller_id == seller_id
    return can(principal, permission)


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
