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
    AUDIT_READ = "audit:read"  # the audit trail: who did what, when, from where
    PAYOUTS_READ = "payouts:read"  # any seller's payouts, runs and skips
    PAYOUTS_CREATE = "payouts:create"  # on-demand payouts for any seller; manual payouts
    PAYOUTS_APPROVE = "payouts:approve"  # the second person on a payout
    PAYOUTS_RUN = "payouts:run"  # start payout runs, submit to banks, import bank reports
    PAYOUT_SCHEDULES_WRITE = "payout_schedules:write"
    BANK_ACCOUNTS_READ = "bank_accounts:read"  # any seller's bank accounts, masked
    BANK_ACCOUNTS_WRITE = "bank_accounts:write"  # add, make default, disable for any seller
    BANK_ACCOUNTS_RELEASE_HOLD = "bank_accounts:release_hold"  # end a cool-down early
    ONBOARDING_READ = "onboarding:read"  # any seller's onboarding profile, persons, documents
    ONBOARDING_WRITE = "onboarding:write"  # submit onboarding data for any seller
    DOCUMENTS_REVIEW = "documents:review"  # read uploaded documents, approve or reject them
    COMPLIANCE_REVIEW = "compliance:review"  # the compliance queue; verification decisions
    RECONCILIATION_READ = "reconciliation:read"  # statements, matches, the exceptions queue
    RECONCILIATION_WRITE = "reconciliation:write"  # import statements; work exceptions
    RECONCILIATION_APPROVE = "reconciliation:approve"  # the second person on a write-off
    SCREENING_READ = "screening:read"  # sanctions list versions and the potential matches
    SCREENING_DECIDE = "screening:decide"  # confirm or clear a potential sanctions match
    SCREENING_LISTS = "screening:lists"  # load a new version of a sanctions list
    REPORTS_READ = "reports:read"  # finance reports: cash, liabilities, revenue, trial balance


_P = Permission
_READ_ALL = frozenset(
    {
        _P.LEDGER_READ,
        _P.SELLERS_READ,
        _P.BALANCES_READ,
        _P.EVENTS_READ,
        _P.FEE_PLANS_READ,
        _P.BANK_ACCOUNTS_READ,
    }
)
ROLE_PERMISSIONS: Final[dict[Role, frozenset[Permission]]] = {
    # sellers see their own seller record, balances and accounts only: see `may_act_for_seller`
    Role.SELLER: frozenset(),
    Role.MARKETPLACE: frozenset(
        {
            _P.EVENTS_SEND,
            _P.SELLERS_READ,
            _P.SELLERS_WRITE,
            _P.BALANCES_READ,
            _P.WEBHOOKS_MANAGE,
            _P.PAYOUTS_READ,
            _P.BANK_ACCOUNTS_READ,
            _P.BANK_ACCOUNTS_WRITE,
            _P.ONBOARDING_READ,
            _P.ONBOARDING_WRITE,  # the marketplace submits onboarding on its sellers' behalf
        }
    ),
    Role.OPERATOR: _READ_ALL
    | {
        _P.EVENTS_REPLAY,
        _P.SELLERS_WRITE,
        _P.JOBS_RUN,
        _P.PAYOUTS_READ,
        _P.PAYOUTS_CREATE,
        _P.PAYOUTS_RUN,
        _P.PAYOUT_SCHEDULES_WRITE,
        _P.ONBOARDING_READ,
    },
    Role.APPROVER: _READ_ALL
    | {
        _P.RECONCILIATION_READ,
        _P.RECONCILIATION_APPROVE,
        _P.ADJUSTMENTS_APPROVE,
        _P.AUDIT_READ,
        _P.PAYOUTS_READ,
        _P.PAYOUTS_APPROVE,
        _P.BANK_ACCOUNTS_RELEASE_HOLD,
    },
    Role.COMPLIANCE: frozenset(
        {
            _P.SELLERS_READ,
            _P.SELLERS_WRITE,
            _P.AUDIT_READ,
            _P.BANK_ACCOUNTS_READ,
            _P.BANK_ACCOUNTS_WRITE,
            _P.ONBOARDING_READ,
            _P.ONBOARDING_WRITE,
            _P.DOCUMENTS_REVIEW,
            _P.COMPLIANCE_REVIEW,
            _P.SCREENING_READ,
            _P.SCREENING_DECIDE,
            _P.SCREENING_LISTS,
        }
    ),
    Role.RISK: _READ_ALL | {_P.PAYOUTS_READ, _P.ONBOARDING_READ},
    Role.FINANCE: _READ_ALL
    | {_P.LEDGER_POST, _P.LEDGER_REVERSE, _P.FEE_PLANS_WRITE, _P.AUDIT_READ, _P.PAYOUTS_READ}
    | {_P.RECONCILIATION_READ, _P.RECONCILIATION_WRITE, _P.RECONCILIATION_APPROVE}
    | {_P.REPORTS_READ},
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
