"""The payouts' HTTP routes: payouts (on demand, manual), approvals, composition, runs and
their skips, schedules.

A seller's key sees and asks for its own payouts only (another seller's payout answers 404);
staff act by permission: `payouts:read`, `payouts:create`, `payouts:approve`, `payouts:run`.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from sellerpay.access.rules import Permission, Principal, Role, can
from sellerpay.api.deps import (
    ClockDep,
    DatabaseDep,
    PrincipalDep,
    permission_denied,
    require,
    source_ip,
)
from sellerpay.api.pagination import decode_cursor, encode_cursor, one_part
from sellerpay.api.problems import problem_responses
from sellerpay.audit.rules import actor_of
from sellerpay.bankaccounts.api import get_keyring
from sellerpay.crypto import KeyRing
from sellerpay.errors import InvalidInput, NotFound
from sellerpay.ledger.schemas import MoneyOut
from sellerpay.money import Money
from sellerpay.payouts import service
from sellerpay.payouts.rules import PayoutStatus
from sellerpay.payouts.schedules import PayoutSchedule
from sellerpay.payouts.schemas import (
    CompositionLine,
    PayoutComposition,
    PayoutCreate,
    PayoutDecision,
    PayoutPage,
    PayoutPublic,
    PayoutRunCreate,
    PayoutRunPublic,
    SchedulePublic,
    ScheduleUpdate,
    SkipPage,
    SkipPublic,
)
from sellerpay.sellers.api import SellerIdPath, authorize_for_seller

__all__ = ["router", "seller_router"]

router = APIRouter(tags=["payouts"])
seller_router = APIRouter(tags=["payouts"])

REPLAYED_HEADER: Final = "Idempotent-Replayed"
page_size_max: Final = 200


KeyRingDep = Annotated[KeyRing, Depends(get_keyring)]
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x20-\x7e]+$",
        description="Makes the request safe to retry: the same key and body give the same payout",
    ),
]


def payout_public(p: service.Payout) -> PayoutPublic:
    return PayoutPublic(
        id=p.id,
        seller_id=p.seller_id,
        kind=p.kind,
        status=p.status,
        amount=MoneyOut.of(p.amount),
        source=MoneyOut.of(p.source),
        fx_rate=p.fx_rate,
        fx_margin=None if p.fx_margin is None else MoneyOut.of(p.fx_margin),
        bank_account_id=p.bank_account_id,
        bank_account=p.bank_account_masked,
        rail=p.rail,
        end_to_end_id=p.end_to_end_id,
        run_id=p.run_id,
        description=p.description,
        execution_date=p.execution_date,
        approval_reasons=list(p.approval_reasons),
        requested_by=p.requested_by,
        approved_by=p.approved_by,
        status_reason_code=p.status_reason_code,
        status_reason_text=p.status_reason_text,
        return_fee=None if p.return_fee is None else MoneyOut.of(p.return_fee),
        created_at=p.created_at,
        updated_at=p.updated_at,
        submitted_at=p.submitted_at,
        paid_at=p.paid_at,
        closed_at=p.closed_at,
    )


def _visible(db: Any, principal: Principal, payout_id: str) -> service.Payout:
    """The payout if the caller may see it; 404 for a seller's key on another seller's."""
    if len(payout_id) > 40 or "\x00" in payout_id:
        shown = payout_id[:40].replace("\x00", "")
        raise NotFound(f"no payout {shown}", code="payout_not_found", payout_id=shown)
    payout = service.get_payout(db, payout_id)
    if principal.role is Role.SELLER:
        if principal.seller_id != payout.seller_id:
            # exactly the answer to an id that does not exist: ids do not leak
            raise NotFound(f"no payout {payout_id}", code="payout_not_found", payout_id=payout_id)
    elif not can(principal, Permission.PAYOUTS_READ):
        raise permission_denied(principal, Permission.PAYOUTS_READ)
    return payout


@router.post(
    "",
    status_code=201,
    response_model=PayoutPublic,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Create a payout now",
)
def create_payout(
    body: PayoutCreate,
    principal: PrincipalDep,
    db: DatabaseDep,
    clock: ClockDep,
    keyring: KeyRingDep,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey,
) -> PayoutPublic:
    """Pay (part of) a seller's available balance now, to its default bank account (or the one
    named). 422 with the skip reason as `code` when it cannot be paid (e.g.
    `insufficient_available`, `bank_account_in_cooldown`, `payouts_disabled`). Manual payouts
    (operators) wait in `pending` for an approver."""
    if body.kind == "manual":
        if not can(principal, Permission.PAYOUTS_CREATE) or principal.role is Role.SELLER:
            raise permission_denied(principal, Permission.PAYOUTS_CREATE)
    else:
        authorize_for_seller(principal, body.seller_id, Permission.PAYOUTS_CREATE)
    payout, replayed = service.create_payout(
        db,
        seller_id=body.seller_id,
        currency=body.currency,
        amount=None if body.amount_minor is None else Money(body.amount_minor, body.currency),
        bank_account_id=body.bank_account_id,
        kind=body.kind,
        requested_by=actor_of(principal),
        idempotency_key=f"{principal.key_id}:{idempotency_key}",
        description=body.description,
        clock=clock,
        keyring=keyring,
        source_ip=source_ip(request),
    )
    response.headers["Location"] = request.app.url_path_for("get_payout", payout_id=payout.id)
    if replayed:
        response.status_code = 200
        response.headers[REPLAYED_HEADER] = "true"
    return payout_public(payout)


@router.get(
    "",
    response_model=PayoutPage,
    responses=problem_responses(401, 403, 422),
    summary="List payouts",
)
def list_payouts(
    principal: PrincipalDep,
    db: DatabaseDep,
    seller_id: Annotated[str | None, Query(max_length=68)] = None,
    status: PayoutStatus | None = None,
    run_id: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=page_size_max)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> PayoutPage:
    """Newest first. A seller's key lists its own payouts only (whatever `seller_id` says)."""
    if principal.role is Role.SELLER:
        seller_id = principal.seller_id
    elif not can(principal, Permission.PAYOUTS_READ):
        raise permission_denied(principal, Permission.PAYOUTS_READ)
    after = decode_cursor(cursor, one_part)
    rows = service.list_payouts(
        db,
        service.PayoutFilter(seller_id=seller_id, status=status, run_id=run_id),
        after_id=after,
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return PayoutPage(
        data=[payout_public(p) for p in rows],
        next_cursor=encode_cursor(rows[-1].id) if more and rows else None,
    )


@router.get(
    "/{payout_id}",
    response_model=PayoutPublic,
    responses=problem_responses(401, 403, 404, 422),
    summary="Read a payout",
)
def get_payout(payout_id: str, principal: PrincipalDep, db: DatabaseDep) -> PayoutPublic:
    return payout_public(_visible(db, principal, payout_id))


@router.get(
    "/{payout_id}/composition",
    response_model=PayoutComposition,
    responses=problem_responses(401, 403, 404, 422),
    summary="The balance transactions a payout pays",
)
def get_composition(payout_id: str, principal: PrincipalDep, db: DatabaseDep) -> PayoutComposition:
    """Every order, refund, fee and adjustment this payout pays, oldest first; their amounts
    sum exactly to the payout's `source` amount. A movement split between two payouts shows
    `partial: true` in both."""
    _visible(db, principal, payout_id)
    payout, items = service.composition(db, payout_id)
    return PayoutComposition(
        payout_id=payout.id,
        amount=MoneyOut.of(payout.source),
        lines=[
            CompositionLine(
                transaction_id=i.transaction_id,
                kind=i.kind,
                amount=MoneyOut.of(i.amount),
                partial=i.partial,
                references=dict(i.references),
            )
            for i in items
        ],
    )


def _decide(
    payout_id: str,
    principal: Principal,
    db: Any,
    permission: Permission,
) -> service.Payout:
    payout = _visible(db, principal, payout_id)
    if principal.role is Role.SELLER or not can(principal, permission):
        raise permission_denied(principal, permission)
    return payout


@router.post(
    "/{payout_id}/approve",
    response_model=PayoutPublic,
    dependencies=[Depends(require(Permission.PAYOUTS_APPROVE))],
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Approve a payout (the second person)",
)
def approve_payout(
    payout_id: str,
    body: PayoutDecision,
    principal: PrincipalDep,
    db: DatabaseDep,
    clock: ClockDep,
    keyring: KeyRingDep,
    request: Request,
) -> PayoutPublic:
    """403 `approver_is_requester` for your own payout, `approver_changed_bank_account` if you
    last changed its bank account; 409 `invalid_transition` unless it is pending."""
    _decide(payout_id, principal, db, Permission.PAYOUTS_APPROVE)
    payout = service.approve_payout(
        db,
        payout_id,
        approver=actor_of(principal),
        clock=clock,
        keyring=keyring,
        note=body.note,
        source_ip=source_ip(request),
    )
    return payout_public(payout)


@router.post(
    "/{payout_id}/reject",
    response_model=PayoutPublic,
    dependencies=[Depends(require(Permission.PAYOUTS_APPROVE))],
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Reject a payout: canceled, money back to available",
)
def reject_payout(
    payout_id: str,
    body: PayoutDecision,
    principal: PrincipalDep,
    db: DatabaseDep,
    clock: ClockDep,
    request: Request,
) -> PayoutPublic:
    _decide(payout_id, principal, db, Permission.PAYOUTS_APPROVE)
    payout = service.reject_payout(
        db,
        payout_id,
        approver=actor_of(principal),
        clock=clock,
        note=body.note,
        source_ip=source_ip(request),
    )
    return payout_public(payout)


@router.post(
    "/{payout_id}/cancel",
    response_model=PayoutPublic,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Cancel a payout before it is submitted",
)
def cancel_payout(
    payout_id: str,
    body: PayoutDecision,
    principal: PrincipalDep,
    db: DatabaseDep,
    clock: ClockDep,
    request: Request,
) -> PayoutPublic:
    """Sellers may cancel their own pending or approved payouts; staff need payouts:create."""
    payout = _visible(db, principal, payout_id)
    if principal.role is not Role.SELLER and not can(principal, Permission.PAYOUTS_CREATE):
        raise permission_denied(principal, Permission.PAYOUTS_CREATE)
    payout = service.cancel_payout(
        db,
        payout.id,
        actor=actor_of(principal),
        clock=clock,
        note=body.note,
        source_ip=source_ip(request),
    )
    return payout_public(payout)


# --- runs ------------------------------------------------------------------------------------

runs_router = APIRouter(tags=["payouts"])


def run_public(run: service.RunReport) -> PayoutRunPublic:
    return PayoutRunPublic(
        id=run.run_id,
        run_key=run.run_key,
        run_on=run.run_on,
        status=run.status,
        due_count=run.due_count,
        payout_count=run.payout_count,
        skip_count=run.skip_count,
        totals=dict(run.totals),
        skips_by_reason=dict(run.skips_by_reason),
    )


@runs_router.post(
    "",
    response_model=PayoutRunPublic,
    dependencies=[Depends(require(Permission.PAYOUTS_RUN))],
    responses=problem_responses(401, 403, 422),
    summary="Run the payout schedule of a day",
)
def create_run(
    body: PayoutRunCreate, db: DatabaseDep, clock: ClockDep, keyring: KeyRingDep
) -> PayoutRunPublic:
    """Every due seller is paid or skipped with a reason. The same `run_key` runs once: asking
    again returns the run as it is (and finishes it if it was interrupted)."""
    return run_public(
        service.run_payouts(
            db, run_on=body.run_on, clock=clock, keyring=keyring, run_key=body.run_key
        )
    )


@runs_router.get(
    "/{run_id}",
    response_model=PayoutRunPublic,
    dependencies=[Depends(require(Permission.PAYOUTS_READ))],
    responses=problem_responses(401, 403, 404, 422),
    summary="Read a payout run",
)
def get_run(run_id: Annotated[str, ...], db: DatabaseDep) -> PayoutRunPublic:
    return run_public(service.summarize_run(db, _run_id(run_id)))


def _run_id(text: str) -> str:
    """A run id as given, or 404 for what cannot be one (too long, NUL)."""
    if len(text) > 40 or "\x00" in text:
        raise NotFound(
            f"no payout run {text[:40].replace(chr(0), '')}", code="payout_run_not_found"
        )
    return text


def _skip_public(s: service.Skip) -> SkipPublic:
    return SkipPublic(
        run_id=s.run_id,
        seller_id=s.seller_id,
        currency=s.currency,
        reason=s.reason,
        detail=s.detail,
        available=MoneyOut.of(s.available),
        created_at=s.created_at,
    )


@runs_router.get(
    "/{run_id}/skips",
    response_model=SkipPage,
    dependencies=[Depends(require(Permission.PAYOUTS_READ))],
    responses=problem_responses(401, 403, 404, 422),
    summary="Why due sellers were not paid in a run",
)
def list_run_skips(
    run_id: str, db: DatabaseDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> SkipPage:
    run = service.summarize_run(db, _run_id(run_id))  # 404 for a run that does not exist
    return SkipPage(
        data=[_skip_public(s) for s in service.list_skips(db, run_id=run.run_id, limit=limit)]
    )


# --- seller-scoped: skips and schedules ------------------------------------------------------


@seller_router.get(
    "/{seller_id}/payout-skips",
    response_model=SkipPage,
    responses=problem_responses(401, 403, 404, 422),
    summary="Why a seller was not paid",
)
def list_seller_skips(
    seller_id: SellerIdPath,
    principal: PrincipalDep,
    db: DatabaseDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> SkipPage:
    """The runs that found this seller due but paid nothing, newest first, with the reason."""
    authorize_for_seller(principal, seller_id, Permission.PAYOUTS_READ)
    return SkipPage(
        data=[_skip_public(s) for s in service.list_skips(db, seller_id=seller_id, limit=limit)]
    )


def _schedule_public(s: service.Schedule) -> SchedulePublic:
    return SchedulePublic(
        seller_id=s.seller_id,
        currency=s.currency,
        interval=s.schedule.interval,
        weekday=s.schedule.weekday,
        day_of_month=s.schedule.day_of_month,
        minimum=MoneyOut.of(s.schedule.minimum),
    )


@seller_router.get(
    "/{seller_id}/payout-schedules/{currency}",
    response_model=SchedulePublic,
    responses=problem_responses(401, 403, 404, 422),
    summary="Read a seller's payout schedule",
)
def get_schedule(
    seller_id: SellerIdPath,
    currency: Annotated[str, ...],
    principal: PrincipalDep,
    db: DatabaseDep,
) -> SchedulePublic:
    authorize_for_seller(principal, seller_id, Permission.PAYOUTS_READ)
    return _schedule_public(
        service.get_schedule(db, seller_id=seller_id, currency=_currency(currency))
    )


@seller_router.put(
    "/{seller_id}/payout-schedules/{currency}",
    response_model=SchedulePublic,
    responses=problem_responses(401, 403, 404, 422),
    summary="Set a seller's payout schedule",
)
def put_schedule(
    seller_id: SellerIdPath,
    currency: Annotated[str, ...],
    body: ScheduleUpdate,
    principal: PrincipalDep,
    db: DatabaseDep,
    clock: ClockDep,
    request: Request,
) -> SchedulePublic:
    """Daily, weekly (weekday), monthly (day, 0 = last day; a day past the month's end pays on
    its last day) or manual, with a minimum amount."""
    authorize_for_seller(principal, seller_id, Permission.PAYOUT_SCHEDULES_WRITE)
    code = _currency(currency)
    schedule = PayoutSchedule(
        interval=body.interval,
        weekday=body.weekday,
        day_of_month=body.day_of_month,
        minimum=Money(body.minimum_minor, code),
    )
    return _schedule_public(
        service.set_schedule(
            db,
            seller_id=seller_id,
            currency=code,
            schedule=schedule,
            actor=actor_of(principal),
            clock=clock,
            source_ip=source_ip(request),
        )
    )


def _currency(text: str) -> str:
    code = text.upper()
    if len(code) != 3 or not code.isalpha():
        raise InvalidInput(
            f"{text[:10]!r} is not a currency code", code="invalid_currency", field="path.currency"
        )
    Money(0, code)  # UnknownCurrency for codes ISO does not list
    return code
