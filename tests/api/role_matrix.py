"""The role matrix (issue 8, RELIABILITY.md "authorization"): for every route the API serves, who
may call it and what everyone else gets, written by reading each route's code.

`test_api_role_matrix.py` checks the served API against `MATRIX`, route by route and caller by
caller, and fails when a route is served without an entry here. The roles section of
docs/api.md is rendered from `ROLE_PERMISSIONS` and `MATRIX` by `roles_section()`;
`python tests/api/role_matrix.py` prints it.

A rule is one of:

- `Public`: no key (probes).
- `Staff`: roles holding every one of `permissions`; a seller's key is refused (403, or 404
  where the route hides that the id exists).
- `SellerScoped`: the resource belongs to one seller (`owner` says how it is found). Its own
  seller may act (or, `own="refused"`, is refused 403); another seller gets 404 `hidden_as`,
  exactly as for a missing id (BOLA); staff need `permissions`.
- `SellerFiltered`: a list; a seller's key sees only its own items whatever its filters say.

`permissions` are in the order the route checks them: a role lacking several is told the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from sellerpay.access.rules import ROLE_PERMISSIONS, Permission, Role

_P = Permission


@dataclass(frozen=True, slots=True)
class Public:
    """Answered without a key."""

    why: str


@dataclass(frozen=True, slots=True)
class Staff:
    """Staff roles with every one of `permissions`; any seller's key gets `seller_status`.
    `four_eyes`: how the route refuses the person it needs a second one for."""

    permissions: tuple[Permission, ...]
    seller_status: Literal[403, 404] = 403
    seller_code: str = "permission_required"
    four_eyes: str = ""


@dataclass(frozen=True, slots=True)
class SellerScoped:
    """One seller's resource: that seller (unless `own="refused"`), or staff by permission;
    another seller's key gets 404 `hidden_as`."""

    permissions: tuple[Permission, ...]
    owner: str
    hidden_as: str
    own: Literal["allowed", "refused"] = "allowed"


@dataclass(frozen=True, slots=True)
class SellerFiltered:
    """A list: staff by permission; a seller's key lists its own items only."""

    permissions: tuple[Permission, ...]
    owner: str


Rule = Public | Staff | SellerScoped | SellerFiltered

_SELLER_PATH: Final = "the path's `seller_id`"


def _staff(*permissions: Permission, four_eyes: str = "") -> Staff:
    return Staff(permissions, four_eyes=four_eyes)


def _own(
    *permissions: Permission,
    hidden_as: str = "seller_not_found",
    owner: str = _SELLER_PATH,
    own: Literal["allowed", "refused"] = "allowed",
) -> SellerScoped:
    return SellerScoped(permissions, owner=owner, hidden_as=hidden_as, own=own)


_LEDGER_ACCOUNT: Final = "the account code, `seller:<id>:…`"
_BANK_ACCOUNT: Final = "the bank account's seller"
_PAYOUT: Final = "the payout's seller"
_WRITE_OFF_FOUR_EYES: Final = "403 `approver_is_requester` for who asked for the write-off"
_PAYOUT_FOUR_EYES: Final = (
    "403 `approver_is_requester` for the payout's requester, `approver_changed_bank_account` "
    "for who last changed its bank account"
)

MATRIX: Final[dict[tuple[str, str], Rule]] = {
    # --- probes (api/health.py)
    ("GET", "/health"): Public("liveness probe"),
    ("GET", "/ready"): Public("readiness probe"),
    # --- ledger (ledger/api.py)
    ("POST", "/v1/ledger/transactions"): _staff(_P.LEDGER_POST),
    ("POST", "/v1/ledger/transactions/batch"): _staff(_P.LEDGER_POST),
    # a seller cannot read any transaction by id, not even its own: 404 as if missing
    ("GET", "/v1/ledger/transactions/{transaction_id}"): Staff(
        (_P.LEDGER_READ,), seller_status=404, seller_code="transaction_not_found"
    ),
    ("POST", "/v1/ledger/transactions/{transaction_id}/reverse"): _staff(_P.LEDGER_REVERSE),
    ("GET", "/v1/ledger/accounts/{code}"): _own(
        _P.LEDGER_READ, hidden_as="account_not_found", owner=_LEDGER_ACCOUNT
    ),
    ("GET", "/v1/ledger/accounts/{code}/entries"): _own(
        _P.LEDGER_READ, hidden_as="account_not_found", owner=_LEDGER_ACCOUNT
    ),
    # --- money in (settlement/api.py)
    ("POST", "/v1/marketplace/events"): _staff(_P.EVENTS_SEND),
    ("GET", "/v1/marketplace/events"): _staff(_P.EVENTS_READ),
    ("GET", "/v1/marketplace/events/{event_id}"): _staff(_P.EVENTS_READ),
    ("POST", "/v1/marketplace/events/{event_id}/replay"): _staff(_P.EVENTS_REPLAY),
    ("POST", "/v1/marketplace/adjustments/{adjustment_id}/approve"): _staff(
        _P.ADJUSTMENTS_APPROVE, four_eyes="403 `four_eyes` for the adjustment's requester"
    ),
    ("POST", "/v1/marketplace/adjustments/{adjustment_id}/reject"): _staff(_P.ADJUSTMENTS_APPROVE),
    ("POST", "/v1/fee-plans"): _staff(_P.FEE_PLANS_WRITE),
    ("GET", "/v1/fee-plans"): _staff(_P.FEE_PLANS_READ),
    ("GET", "/v1/fee-plans/{fee_plan_id}"): _staff(_P.FEE_PLANS_READ),
    ("GET", "/v1/orders/{order_id}"): _own(
        _P.BALANCES_READ, hidden_as="order_not_found", owner="the order's seller"
    ),
    # --- webhooks (events/api.py): the platform's endpoints, not a seller's
    ("POST", "/v1/webhook-endpoints"): _staff(_P.WEBHOOKS_MANAGE),
    ("GET", "/v1/webhook-endpoints"): _staff(_P.WEBHOOKS_MANAGE),
    ("GET", "/v1/webhook-endpoints/{endpoint_id}"): _staff(_P.WEBHOOKS_MANAGE),
    ("PATCH", "/v1/webhook-endpoints/{endpoint_id}"): _staff(_P.WEBHOOKS_MANAGE),
    ("DELETE", "/v1/webhook-endpoints/{endpoint_id}"): _staff(_P.WEBHOOKS_MANAGE),
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/rotate-secret"): _staff(_P.WEBHOOKS_MANAGE),
    ("GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries"): _staff(_P.WEBHOOKS_MANAGE),
    ("GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}"): _staff(
        _P.WEBHOOKS_MANAGE
    ),
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/retry"): _staff(
        _P.WEBHOOKS_MANAGE
    ),
    # --- sellers and balances (sellers/api.py, balances/api.py)
    ("POST", "/v1/sellers"): _staff(_P.SELLERS_WRITE),
    ("GET", "/v1/sellers"): _staff(_P.SELLERS_READ),
    ("GET", "/v1/sellers/{seller_id}"): _own(_P.SELLERS_READ),
    # a seller may not change its own seller record (403), and learns nothing of others (404)
    ("PATCH", "/v1/sellers/{seller_id}"): _own(_P.SELLERS_WRITE, own="refused"),
    ("GET", "/v1/sellers/{seller_id}/balance"): _own(_P.BALANCES_READ),
    ("GET", "/v1/sellers/{seller_id}/balance-transactions"): _own(_P.BALANCES_READ),
    # --- onboarding and compliance (onboarding/api.py)
    ("GET", "/v1/sellers/{seller_id}/onboarding"): _own(_P.ONBOARDING_READ),
    ("PUT", "/v1/sellers/{seller_id}/onboarding"): _own(_P.ONBOARDING_WRITE),
    ("POST", "/v1/sellers/{seller_id}/persons"): _own(_P.ONBOARDING_WRITE),
    ("DELETE", "/v1/sellers/{seller_id}/persons/{person_id}"): _own(_P.ONBOARDING_WRITE),
    ("POST", "/v1/sellers/{seller_id}/documents"): _own(_P.ONBOARDING_WRITE),
    ("GET", "/v1/compliance/queue"): _staff(_P.COMPLIANCE_REVIEW),
    ("POST", "/v1/compliance/documents/{document_id}/review"): _staff(
        _P.DOCUMENTS_REVIEW, four_eyes="403 `four_eyes` for who uploaded the document"
    ),
    ("GET", "/v1/compliance/documents/{document_id}/content"): _staff(_P.DOCUMENTS_REVIEW),
    ("POST", "/v1/compliance/sellers/{seller_id}/decision"): _staff(_P.COMPLIANCE_REVIEW),
    # --- audit (audit/api.py)
    ("GET", "/v1/audit"): _staff(_P.AUDIT_READ),
    # --- bank accounts (bankaccounts/api.py)
    ("GET", "/v1/sellers/{seller_id}/bank-accounts"): _own(_P.BANK_ACCOUNTS_READ),
    ("POST", "/v1/sellers/{seller_id}/bank-accounts"): _own(_P.BANK_ACCOUNTS_WRITE),
    ("GET", "/v1/bank-accounts/{bank_account_id}"): _own(
        _P.BANK_ACCOUNTS_READ, hidden_as="bank_account_not_found", owner=_BANK_ACCOUNT
    ),
    ("DELETE", "/v1/bank-accounts/{bank_account_id}"): _own(
        _P.BANK_ACCOUNTS_WRITE, hidden_as="bank_account_not_found", owner=_BANK_ACCOUNT
    ),
    ("POST", "/v1/bank-accounts/{bank_account_id}/default"): _own(
        _P.BANK_ACCOUNTS_WRITE, hidden_as="bank_account_not_found", owner=_BANK_ACCOUNT
    ),
    ("POST", "/v1/bank-accounts/{bank_account_id}/release-hold"): _staff(
        _P.BANK_ACCOUNTS_RELEASE_HOLD,
        _P.BANK_ACCOUNTS_READ,
        four_eyes="403 `four_eyes` for who added or last changed the bank account",
    ),
    ("POST", "/v1/bank-accounts/{bank_account_id}/verify"): _staff(
        _P.COMPLIANCE_REVIEW, _P.BANK_ACCOUNTS_READ
    ),
    # --- reconciliation (reconciliation/api.py): nothing seller-scoped
    ("POST", "/v1/reconciliation/statements"): _staff(_P.RECONCILIATION_WRITE),
    ("GET", "/v1/reconciliation/statements"): _staff(_P.RECONCILIATION_READ),
    ("GET", "/v1/reconciliation/statements/{statement_id}"): _staff(_P.RECONCILIATION_READ),
    ("PUT", "/v1/reconciliation/csv-mappings/{bank_account}"): _staff(_P.RECONCILIATION_WRITE),
    ("GET", "/v1/reconciliation/exceptions"): _staff(_P.RECONCILIATION_READ),
    ("GET", "/v1/reconciliation/exceptions/{exception_id}"): _staff(_P.RECONCILIATION_READ),
    ("POST", "/v1/reconciliation/exceptions/{exception_id}/assign"): _staff(
        _P.RECONCILIATION_WRITE
    ),
    ("POST", "/v1/reconciliation/exceptions/{exception_id}/notes"): _staff(_P.RECONCILIATION_WRITE),
    ("POST", "/v1/reconciliation/exceptions/{exception_id}/resolve"): _staff(
        _P.RECONCILIATION_WRITE
    ),
    ("POST", "/v1/reconciliation/exceptions/{exception_id}/approve"): _staff(
        _P.RECONCILIATION_APPROVE, four_eyes=_WRITE_OFF_FOUR_EYES
    ),
    ("POST", "/v1/reconciliation/exceptions/{exception_id}/reject"): _staff(
        _P.RECONCILIATION_APPROVE
    ),
    # --- payouts (payouts/api.py)
    # on_demand for the body's seller_id; `kind: manual` is staff only (payouts:create)
    ("POST", "/v1/payouts"): _own(_P.PAYOUTS_CREATE, owner="the body's `seller_id`"),
    ("GET", "/v1/payouts"): SellerFiltered((_P.PAYOUTS_READ,), owner=_PAYOUT),
    ("GET", "/v1/payouts/{payout_id}"): _own(
        _P.PAYOUTS_READ, hidden_as="payout_not_found", owner=_PAYOUT
    ),
    ("GET", "/v1/payouts/{payout_id}/composition"): _own(
        _P.PAYOUTS_READ, hidden_as="payout_not_found", owner=_PAYOUT
    ),
    ("POST", "/v1/payouts/{payout_id}/approve"): _staff(
        _P.PAYOUTS_APPROVE, _P.PAYOUTS_READ, four_eyes=_PAYOUT_FOUR_EYES
    ),
    ("POST", "/v1/payouts/{payout_id}/reject"): _staff(
        _P.PAYOUTS_APPROVE,
        _P.PAYOUTS_READ,
        four_eyes="403 `approver_is_requester` for the payout's requester",
    ),
    ("POST", "/v1/payouts/{payout_id}/cancel"): _own(
        _P.PAYOUTS_READ, _P.PAYOUTS_CREATE, hidden_as="payout_not_found", owner=_PAYOUT
    ),
    ("POST", "/v1/payout-runs"): _staff(_P.PAYOUTS_RUN),
    ("GET", "/v1/payout-runs/{run_id}"): _staff(_P.PAYOUTS_READ),
    ("GET", "/v1/payout-runs/{run_id}/skips"): _staff(_P.PAYOUTS_READ),
    ("GET", "/v1/sellers/{seller_id}/payout-skips"): _own(_P.PAYOUTS_READ),
    ("GET", "/v1/sellers/{seller_id}/payout-schedules/{currency}"): _own(_P.PAYOUTS_READ),
    ("PUT", "/v1/sellers/{seller_id}/payout-schedules/{currency}"): _own(_P.PAYOUT_SCHEDULES_WRITE),
    # --- screening (screening/api.py)
    ("GET", "/v1/screening/matches"): _staff(_P.SCREENING_READ),
    ("GET", "/v1/screening/matches/{match_id}"): _staff(_P.SCREENING_READ),
    ("POST", "/v1/screening/matches/{match_id}/decision"): _staff(_P.SCREENING_DECIDE),
    ("POST", "/v1/screening/lists"): _staff(_P.SCREENING_LISTS),
    ("GET", "/v1/screening/lists"): _staff(_P.SCREENING_READ),
    # --- reporting (reporting/api.py)
    ("GET", "/v1/sellers/{seller_id}/statements"): _own(_P.BALANCES_READ),
    ("GET", "/v1/payouts/{payout_id}/composition.csv"): _own(
        _P.PAYOUTS_READ, hidden_as="payout_not_found", owner=_PAYOUT
    ),
    ("GET", "/v1/reports/cash-position"): _staff(_P.REPORTS_READ),
    ("GET", "/v1/reports/seller-liabilities"): _staff(_P.REPORTS_READ),
    ("GET", "/v1/reports/revenue"): _staff(_P.REPORTS_READ),
    ("GET", "/v1/reports/trial-balance"): _staff(_P.REPORTS_READ),
}

UNLISTED: Final[dict[tuple[str, str], str]] = {
    ("GET", "/openapi.json"): "the OpenAPI document",
    ("GET", "/docs"): "the interactive docs",
    ("GET", "/docs/oauth2-redirect"): "part of the interactive docs",
    ("GET", "/redoc"): "the reference docs",
    ("GET", "/metrics"): "Prometheus metrics, for the cluster network only (docs/deploy.md)",
}
"""Routes served outside the OpenAPI document, all without a key."""


def missing_permission(role: Role, permissions: tuple[Permission, ...]) -> Permission | None:
    """The first of `permissions` (in the route's order) that `role` lacks, or None."""
    granted = ROLE_PERMISSIONS[role]
    return next((p for p in permissions if p not in granted), None)


# --- the roles section of docs/api.md ------------------------------------------------------

ROLE_HOLDERS: Final[dict[Role, str]] = {
    Role.SELLER: "a seller's own integration; the key is bound to one seller id",
    Role.MARKETPLACE: "the marketplace's services",
    Role.OPERATOR: "payment operations",
    Role.APPROVER: "the second person on money-moving actions",
    Role.COMPLIANCE: "onboarding, verification and sanctions screening",
    Role.RISK: "watches balances, payouts and onboarding",
    Role.FINANCE: "the ledger, fees, reconciliation and reports",
    Role.ADMIN: "administrators",
}


def _permissions_text(role: Role) -> str:
    granted = ROLE_PERMISSIONS[role]
    if granted == frozenset(Permission):
        return "every permission"
    if not granted:
        return "no permission: only its own seller, on the seller-scoped routes below"
    return ", ".join(f"`{p.value}`" for p in Permission if p in granted)


def role_table() -> str:
    """One row per role: who holds it and the permissions `ROLE_PERMISSIONS` grants it."""
    lines = ["| role | held by | may |", "| --- | --- | --- |"]
    lines += [f"| `{r.value}` | {ROLE_HOLDERS[r]} | {_permissions_text(r)} |" for r in Role]
    return "\n".join(lines) + "\n"


def _permissions_cell(permissions: tuple[Permission, ...]) -> str:
    return " and ".join(f"`{p.value}`" for p in permissions)


def seller_scoped_table() -> str:
    """The routes that serve one seller's resources: what that seller, staff and another
    seller get."""
    lines = [
        "| route | whose | the seller itself | staff need | another seller gets |",
        "| --- | --- | --- | --- | --- |",
    ]
    for (method, path), rule in MATRIX.items():
        if isinstance(rule, SellerScoped):
            itself = "yes" if rule.own == "allowed" else "no (403)"
            other = f"404 `{rule.hidden_as}`"
        elif isinstance(rule, SellerFiltered):
            itself, other = "its own items only", "its own items only"
        else:
            continue
        need = _permissions_cell(rule.permissions)
        lines.append(f"| `{method} {path}` | {rule.owner} | {itself} | {need} | {other} |")
    return "\n".join(lines) + "\n"


def four_eyes_table() -> str:
    """The routes where a second person acts, and what refuses the first."""
    lines = ["| route | needs | refused with |", "| --- | --- | --- |"]
    for (method, path), rule in MATRIX.items():
        if isinstance(rule, Staff) and rule.four_eyes:
            need = _permissions_cell(rule.permissions)
            lines.append(f"| `{method} {path}` | {need} | {rule.four_eyes} |")
    return "\n".join(lines) + "\n"


def roles_section() -> list[str]:
    """The generated tables of docs/api.md's roles section, in the order the page shows them."""
    return [role_table(), seller_scoped_table(), four_eyes_table()]


if __name__ == "__main__":
    print("\n".join(roles_section()))
