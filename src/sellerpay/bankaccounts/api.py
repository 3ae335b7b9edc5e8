"""The bank accounts' HTTP routes: list and add a seller's accounts, read one, make it the
default, release its cool-down hold (an approver), disable it.

A seller's key acts on its own accounts only: another seller's account (or seller) answers 404
exactly like a missing one, so ids do not leak. Staff need `bank_accounts:read` / `:write`, and
`bank_accounts:release_hold` to end a cool-down. Answers show accounts masked, never their
numbers; errors name the failing field (`body.details.iban`, `body.holder_name`…).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Final

from fastapi import APIRouter, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from sellerpay.access.rules import Permission, Principal, Role, can, may_act_for_seller
from sellerpay.api.deps import (
    ClockDep,
    DatabaseDep,
    PrincipalDep,
    SettingsDep,
    permission_denied,
    source_ip,
)
from sellerpay.api.pagination import decode_cursor, encode_cursor, one_part
from sellerpay.api.problems import problem_responses
from sellerpay.audit.rules import actor_of
from sellerpay.bankaccounts import service
from sellerpay.bankaccounts.rules import (
    BankAccountStatus,
    InvalidBankAccount,
    zengin_account_type,
)
from sellerpay.bankaccounts.schemas import (
    AbaDetails,
    AccountDetails,
    BankAccountCreate,
    BankAccountPage,
    BankAccountPublic,
    IbanDetails,
    UkDetails,
)
from sellerpay.crypto import KeyRing
from sellerpay.db import Database
from sellerpay.errors import InvalidInput, NotFound
from sellerpay.rails.instructions import (
    AbaAccount,
    BankAccountDetails,
    IbanAccount,
    UkAccount,
    ZenginAccount,
)
from sellerpay.sellers.api import SellerIdPath, authorize_for_seller

__all__ = ["router"]

router = APIRouter(tags=["bank accounts"])

REPLAYED_HEADER: Final = "Idempotent-Replayed"
cursor_length_max: Final = 120
bank_account_id_length_max: Final = 40
BANK_ACCOUNT_ID: Final = re.compile(r"ba_[0-9a-f]{32}")
_TOP_LEVEL_FIELDS: Final = frozenset({"holder_name", "currency"})

BankAccountIdPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=bank_account_id_length_max,
        examples=["ba_0193a6f42b1c7d3e9f004c5d6e7f8a9b"],
    ),
]


def get_keyring(request: Request, db: DatabaseDep, settings: SettingsDep) -> KeyRing:
    """The key ring set on the application, else the configured one (`configured_keyring`)."""
    ring = getattr(request.app.state, "keyring", None)
    if isinstance(ring, KeyRing):
        return ring
    return service.configured_keyring(db, settings)


# --- a seller's accounts -------------------------------------------------------------------


@router.get(
    "/sellers/{seller_id}/bank-accounts",
    response_model=BankAccountPage,
    responses=problem_responses(401, 403, 404, 422),
    summary="List a seller's bank accounts",
)
def list_bank_accounts(
    seller_id: SellerIdPath,
    principal: PrincipalDep,
    db: DatabaseDep,
    clock: ClockDep,
    status: BankAccountStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=service.page_size_max)] = 50,
    cursor: Annotated[
        str | None,
        Query(max_length=cursor_length_max, description="`next_cursor` of the previous page"),
    ] = None,
) -> BankAccountPage:
    """The seller's accounts, masked, oldest first; filter by `status`."""
    authorize_for_seller(principal, seller_id, Permission.BANK_ACCOUNTS_READ)
    accounts, last_id = service.list_bank_accounts(
        db, seller_id, status=status, after_id=decode_cursor(cursor, _account_id), limit=limit
    )
    now = clock.now()
    return BankAccountPage(
        bank_accounts=[bank_account_public(account, now=now) for account in accounts],
        next_cursor=None if last_id is None else encode_cursor(last_id),
    )


@router.post(
    "/sellers/{seller_id}/bank-accounts",
    status_code=201,
    response_model=BankAccountPublic,
    response_description="Added",
    responses={
        200: {
            "description": f"An idempotent replay: the account, with `{REPLAYED_HEADER}: true`",
            "model": BankAccountPublic,
        },
        **problem_responses(401, 403, 404, 409, 422),
    },
    summary="Add a bank account to a seller",
)
def add_bank_account(
    seller_id: SellerIdPath,
    body: BankAccountCreate,
    principal: PrincipalDep,
    db: DatabaseDep,
    clock: ClockDep,
    settings: SettingsDep,
    request: Request,
    response: Response,
    idempotency_key: Annotated[
        str,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=service.idempotency_key_length_max,
            pattern=r"^[\x20-\x7e]+$",
            description="Required: the same key and body replay the first answer; the same "
            "key with another body is 409 `idempotency_key_reused`.",
        ),
    ],
) -> BankAccountPublic:
    """Validate, encrypt and store the account, held for a cool-down (72 h by default): payouts
    to it wait until then unless an approver releases the hold. Records `bank_account.added`.
    The holder name is then compared with the seller's legal name: a match verifies the account
    (`bank_account.verified`); a mismatch leaves it unverified, for compliance to review.
    """
    authorize_for_seller(principal, seller_id, Permission.BANK_ACCOUNTS_WRITE)
    keyring = get_keyring(request, db, settings)
    now = clock.now()
    with _fields():
        account, created = service.add_bank_account(
            db,
            seller_id=seller_id,
            details=_details(body.details),
            holder_name=body.holder_name,
            currency=body.currency,
            make_default=body.make_default,
            actor=actor_of(principal),
            source_ip=source_ip(request),
            idempotency_key=idempotency_key,
            now=now,
            keyring=keyring,
            cooldown_hours=settings.bank_account_cooldown_hours,
        )
    if created:  # the ownership check: a holder name matching the legal name verifies it
        account = service.check_ownership(db, account.id, actor=actor_of(principal), now=now)
    response.headers["Location"] = request.app.url_path_for(
        "get_bank_account", bank_account_id=account.id
    )
    if not created:
        response.status_code = 200
        response.headers[REPLAYED_HEADER] = "true"
    return bank_account_public(account, now=now)


# --- one account ---------------------------------------------------------------------------


@router.get(
    "/bank-accounts/{bank_account_id}",
    response_model=BankAccountPublic,
    responses=problem_responses(401, 403, 404, 422),
    summary="Read a bank account",
)
def get_bank_account(
    bank_account_id: BankAccountIdPath, principal: PrincipalDep, db: DatabaseDep, clock: ClockDep
) -> BankAccountPublic:
    """The account, masked."""
    account = _authorized(db, principal, bank_account_id, Permission.BANK_ACCOUNTS_READ)
    return bank_account_public(account, now=clock.now())


@router.post(
    "/bank-accounts/{bank_account_id}/default",
    response_model=BankAccountPublic,
    responses=problem_responses(401, 403, 404, 422),
    summary="Make a bank account the default for its currency",
)
def set_default(
    bank_account_id: BankAccountIdPath,
    principal: PrincipalDep,
    db: DatabaseDep,
    clock: ClockDep,
    request: Request,
) -> BankAccountPublic:
    """Payouts in its currency go to it from now on (after its cool-down, if it still runs).
    Idempotent: making the default the default again changes nothing. An account that is not
    active is refused (422 `bank_account_not_active`)."""
    _authorized(db, principal, bank_account_id, Permission.BANK_ACCOUNTS_WRITE)
    now = clock.now()
    account = service.set_default(
        db, bank_account_id, actor=actor_of(principal), source_ip=source_ip(request), now=now
    )
    return bank_account_public(account, now=now)


@router.post(
    "/bank-accounts/{bank_account_id}/release-hold",
    response_model=BankAccountPublic,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Release a bank account's cool-down hold (approver)",
)
def release_hold(
    bank_account_id: BankAccountIdPath,
    principal: PrincipalDep,
    db: DatabaseDep,
    clock: ClockDep,
    request: Request,
) -> BankAccountPublic:
    """End the cool-down now, so payouts to the account go. Needs
    `bank_accounts:release_hold`, and someone other than who added or last changed the account
    (403 `four_eyes`). Idempotent; 409 `no_hold_to_release` once the cool-down is over."""
    if not can(principal, Permission.BANK_ACCOUNTS_RELEASE_HOLD):
        raise permission_denied(principal, Permission.BANK_ACCOUNTS_RELEASE_HOLD)
    _authorized(db, principal, bank_account_id, Permission.BANK_ACCOUNTS_READ)
    now = clock.now()
    account = service.release_cooldown(
        db, bank_account_id, approver=actor_of(principal), source_ip=source_ip(request), now=now
    )
    return bank_account_public(account, now=now)


class VerifyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=200, description="How ownership was established")


@router.post(
    "/bank-accounts/{bank_account_id}/verify",
    response_model=BankAccountPublic,
    responses=problem_responses(401, 403, 404, 422),
    summary="Verify a bank account's ownership by hand (compliance)",
)
def verify_bank_account(
    bank_account_id: BankAccountIdPath,
    body: VerifyBody,
    principal: PrincipalDep,
    db: DatabaseDep,
    clock: ClockDep,
) -> BankAccountPublic:
    """When the holder name did not match the legal name and compliance established ownership
    otherwise (a bank letter, a micro-deposit): the account is verified, with the note; payouts
    may go to it. Needs `compliance:review`; audited. Again is a no-op."""
    if not can(principal, Permission.COMPLIANCE_REVIEW):
        raise permission_denied(principal, Permission.COMPLIANCE_REVIEW)
    _authorized(db, principal, bank_account_id, Permission.BANK_ACCOUNTS_READ)
    now = clock.now()
    account = service.verify_by_hand(
        db, bank_account_id, note=body.note, actor=actor_of(principal), now=now
    )
    return bank_account_public(account, now=now)


@router.delete(
    "/bank-accounts/{bank_account_id}",
    response_model=BankAccountPublic,
    responses=problem_responses(401, 403, 404, 422),
    summary="Disable a bank account",
)
def disable_bank_account(
    bank_account_id: BankAccountIdPath,
    principal: PrincipalDep,
    db: DatabaseDep,
    clock: ClockDep,
    request: Request,
) -> BankAccountPublic:
    """No payout goes to it again; if it was the default, its currency has no default until
    another account is made the default. It stays readable. Idempotent."""
    _authorized(db, principal, bank_account_id, Permission.BANK_ACCOUNTS_WRITE)
    reason = "removed_by_seller" if principal.role is Role.SELLER else "removed_by_staff"
    now = clock.now()
    account = service.remove_bank_account(
        db,
        bank_account_id,
        reason_code=reason,
        actor=actor_of(principal),
        source_ip=source_ip(request),
        now=now,
    )
    return bank_account_public(account, now=now)


# --- helpers of the routes -----------------------------------------------------------------


def _authorized(
    db: Database, principal: Principal, bank_account_id: str, permission: Permission
) -> service.BankAccount:
    """The account if `principal` may act on it with `permission`. Staff without it get 403
    before anything is read; a seller gets 404 for another seller's account, as if missing."""
    if principal.role is not Role.SELLER and not can(principal, permission):
        raise permission_denied(principal, permission)
    if BANK_ACCOUNT_ID.fullmatch(bank_account_id) is None:
        raise _not_found(bank_account_id)
    try:
        account = service.get_bank_account(db, bank_account_id)
    except NotFound:
        raise _not_found(bank_account_id) from None
    if not may_act_for_seller(principal, account.seller_id, permission):
        raise _not_found(bank_account_id)
    return account


def _not_found(bank_account_id: str) -> NotFound:
    shown = bank_account_id[:bank_account_id_length_max]
    return NotFound(
        f"no bank account {shown}", code="bank_account_not_found", bank_account_id=shown
    )


def _account_id(parts: list[str]) -> str:
    after_id = one_part(parts)
    if BANK_ACCOUNT_ID.fullmatch(after_id) is None:
        raise ValueError(after_id)
    return after_id


def _details(body: AccountDetails) -> BankAccountDetails:
    """The request's details as the rails' dataclass, unchecked yet (the service checks)."""
    if isinstance(body, IbanDetails):
        return IbanAccount(iban=body.iban, bic=body.bic)
    if isinstance(body, AbaDetails):
        return AbaAccount(
            routing_number=body.routing_number,
            account_number=body.account_number,
            account_type=body.account_type,
        )
    if isinstance(body, UkDetails):
        return UkAccount(sort_code=body.sort_code, account_number=body.account_number)
    return ZenginAccount(
        bank_code=body.bank_code,
        branch_code=body.branch_code,
        account_number=body.account_number,
        account_type=zengin_account_type(body.account_type),  # 普通/当座 accepted
    )


@contextmanager
def _fields() -> Iterator[None]:
    """Name the request field an error of the service is about (`body.details.iban`…)."""
    try:
        yield
    except InvalidBankAccount as error:
        where = "body" if error.field in _TOP_LEVEL_FIELDS else "body.details"
        error.context["field"] = f"{where}.{error.field}"
        raise
    except InvalidInput as error:
        if error.code == "invalid_idempotency_key":
            error.context["field"] = "header.idempotency-key"
        raise


def bank_account_public(account: service.BankAccount, *, now: datetime) -> BankAccountPublic:
    """The account as the API shows it; `on_hold` as of `now`."""
    return BankAccountPublic(
        id=account.id,
        seller_id=account.seller_id,
        format=account.format,
        country=account.country,
        currency=account.currency,
        rail=account.rail,
        holder_name=account.holder_name,
        masked=account.masked,
        bank_identifier=account.bank_identifier,
        account_type=account.account_type,
        status=account.status,
        is_default=account.is_default,
        verified=account.verified,
        verification_note=account.verification_note,
        on_hold=account.on_hold(now),
        cooldown_until=account.cooldown_until,
        hold_released_at=account.hold_released_at,
        disabled_reason=account.disabled_reason,
        created_at=account.created_at,
        updated_at=account.updated_at,
        version=account.version,
    )
