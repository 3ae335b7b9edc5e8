"""Money in over HTTP: marketplace events in (and their log, replays), adjustment approvals,
fee plans, and orders as a seller or an operator sees them.

Each route parses, authorizes, calls `settlement.service` and shapes the answer; errors are
`SellerpayError`s, mapped once to problem details. Seller-scoped routes answer 404 to another
seller's key, exactly as for an order that does not exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from sellerpay.access.rules import Permission, Principal, Role, can
from sellerpay.api.deps import (
    ClockDep,
    DatabaseDep,
    PrincipalDep,
    SettingsDep,
    permission_denied,
    require,
)
from sellerpay.api.pagination import decode_cursor, encode_cursor, one_part
from sellerpay.api.problems import problem_body, problem_responses
from sellerpay.errors import InvalidInput, LimitExceeded, NotFound
from sellerpay.ledger.schemas import MoneyOut, cursor_length_max
from sellerpay.money import Money
from sellerpay.settlement import schemas, service
from sellerpay.settlement.rules import FeeRule, RefundPolicy
from sellerpay.settlement.state import AdjustmentRecord, EventRecord, FeePlanRecord

__all__ = ["router"]

router = APIRouter()

EventIdPath = Annotated[
    str, Path(min_length=1, max_length=schemas.event_id_length_max, examples=["evt_1"])
]
BusinessIdPath = Annotated[str, Path(min_length=1, max_length=100, examples=["ord_1"])]
CursorQuery = Annotated[
    str | None,
    Query(max_length=cursor_length_max, description="`next_cursor` of the previous page"),
]
LimitQuery = Annotated[int, Query(ge=1, le=service.page_size_max)]

SendEvents = Annotated[Principal, Depends(require(Permission.EVENTS_SEND))]
ReadEvents = Annotated[Principal, Depends(require(Permission.EVENTS_READ))]
ReplayEvents = Annotated[Principal, Depends(require(Permission.EVENTS_REPLAY))]
ApproveAdjustments = Annotated[Principal, Depends(require(Permission.ADJUSTMENTS_APPROVE))]
WriteFeePlans = Annotated[Principal, Depends(require(Permission.FEE_PLANS_WRITE))]
ReadFeePlans = Annotated[Principal, Depends(require(Permission.FEE_PLANS_READ))]


# --- marketplace events --------------------------------------------------------------------


@router.post(
    "/marketplace/events",
    response_model=schemas.IngestResultsPublic,
    response_description="What became of each event, in order",
    responses=problem_responses(401, 403, 413, 422),
    tags=["marketplace events"],
    summary="Send marketplace events",
)
def post_events(
    body: schemas.EventsIn,
    principal: SendEvents,
    db: DatabaseDep,
    clock: ClockDep,
    settings: SettingsDep,
    request: Request,
) -> schemas.IngestResultsPublic:
    """Send one event, or `{"events": [...]}` (up to `api_batch_size_max`), applied in order.

    Always 200 with one result per event: `applied`, `duplicate` (this id was received before
    with the same body: no second effect), `parked` (it waits for `waiting_for`, and is applied
    by itself once that arrives), `awaiting_approval` or `rejected` (with its problem inline).
    A bad event never costs the good ones sent with it, and every event with an id is stored.
    """
    events = _events_of(body.root, size_max=settings.api_batch_size_max)
    results = service.ingest_events(db, events, source="http", clock=clock)
    return schemas.IngestResultsPublic(
        results=[_ingest_result(result, instance=request.url.path) for result in results]
    )


@router.get(
    "/marketplace/events",
    response_model=schemas.MarketplaceEventPage,
    responses=problem_responses(401, 403, 422),
    tags=["marketplace events"],
    summary="List received marketplace events",
)
def list_events(
    _principal: ReadEvents,
    db: DatabaseDep,
    status: Annotated[schemas.IngestStatusName | None, Query()] = None,
    type: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> schemas.MarketplaceEventPage:
    """Received events, newest first, by `status` (parked, rejected…) and `type`."""
    records, next_before = service.list_events(
        db,
        status=service.IngestStatus(status) if status else None,
        type=type,
        before=_decode_cursor(cursor),
        limit=limit,
    )
    return schemas.MarketplaceEventPage(
        events=[_event_summary(record) for record in records],
        next_cursor=None if next_before is None else _encode_cursor(next_before),
    )


@router.get(
    "/marketplace/events/{event_id}",
    response_model=schemas.MarketplaceEventPublic,
    responses=problem_responses(401, 403, 404, 422),
    tags=["marketplace events"],
    summary="Read a received marketplace event",
)
def get_event(
    event_id: EventIdPath, _principal: ReadEvents, db: DatabaseDep
) -> schemas.MarketplaceEventPublic:
    """The event as received, what became of it, and any other body sent under its id."""
    stored = service.get_event(db, event_id)
    return schemas.MarketplaceEventPublic(
        **_event_summary(stored.record).model_dump(),
        body=stored.record.body,
        body_hash=stored.record.body_hash,
        conflicting_bodies=[
            schemas.ConflictingBodyPublic(
                body=dict(c.body), body_hash=c.body_hash, source=c.source, received_at=c.received_at
            )
            for c in stored.conflicts
        ],
    )


@router.post(
    "/marketplace/events/{event_id}/replay",
    response_model=schemas.IngestResultPublic,
    responses=problem_responses(401, 403, 404, 409, 422),
    tags=["marketplace events"],
    summary="Replay a parked or rejected event",
)
def replay_event(
    event_id: EventIdPath,
    principal: ReplayEvents,
    db: DatabaseDep,
    clock: ClockDep,
    request: Request,
) -> schemas.IngestResultPublic:
    """Run a parked or rejected event through the handler again; the replay is audited (an
    outbox event names who replayed it). 409 `event_not_replayable` for any other status."""
    result = service.replay_event(
        db, event_id, replayed_by=f"{principal.name} ({principal.key_id})", clock=clock
    )
    return _ingest_result(result, instance=request.url.path)


# --- adjustments ---------------------------------------------------------------------------


@router.post(
    "/marketplace/adjustments/{adjustment_id}/approve",
    response_model=schemas.AdjustmentPublic,
    responses=problem_responses(401, 403, 404, 409, 422),
    tags=["marketplace events"],
    summary="Approve a large manual adjustment",
)
def approve_adjustment(
    adjustment_id: BusinessIdPath,
    principal: ApproveAdjustments,
    db: DatabaseDep,
    clock: ClockDep,
    body: schemas.AdjustmentDecision | None = None,
) -> schemas.AdjustmentPublic:
    """Apply an adjustment that waits for a second person. The approver's key (its name or id)
    must not be the requester: 403 `four_eyes`. 409 when it is no longer awaiting approval."""
    record = service.approve_adjustment(
        db,
        adjustment_id,
        approver_id=principal.key_id,
        approver_name=principal.name,
        note=body.note if body else None,
        clock=clock,
    )
    return _adjustment_public(record)


@router.post(
    "/marketplace/adjustments/{adjustment_id}/reject",
    response_model=schemas.AdjustmentPublic,
    responses=problem_responses(401, 403, 404, 409, 422),
    tags=["marketplace events"],
    summary="Reject a large manual adjustment",
)
def reject_adjustment(
    adjustment_id: BusinessIdPath,
    principal: ApproveAdjustments,
    db: DatabaseDep,
    clock: ClockDep,
    body: schemas.AdjustmentDecision | None = None,
) -> schemas.AdjustmentPublic:
    """Refuse an adjustment that waits for approval: nothing is posted."""
    record = service.reject_adjustment(
        db,
        adjustment_id,
        approver_id=principal.key_id,
        approver_name=principal.name,
        note=body.note if body else None,
        clock=clock,
    )
    return _adjustment_public(record)


# --- fee plans -----------------------------------------------------------------------------


@router.post(
    "/fee-plans",
    status_code=201,
    response_model=schemas.FeePlanPublic,
    responses=problem_responses(401, 403, 422),
    tags=["fee plans"],
    summary="Create a fee plan version",
)
def create_fee_plan(
    body: schemas.FeePlanCreate,
    principal: WriteFeePlans,
    db: DatabaseDep,
    clock: ClockDep,
    request: Request,
    response: Response,
) -> schemas.FeePlanPublic:
    """A new version of the platform's default plan (no `seller_id`) or of a seller's own
    plan; it applies to orders paid from `effective_from`, and earlier versions stay."""
    record = service.create_fee_plan(
        db,
        name=body.name,
        seller_id=body.seller_id,
        effective_from=body.effective_from,
        rules=[
            FeeRule(r.category, r.market, r.bps, dict(r.min_minor), dict(r.max_minor))
            for r in body.rules
        ],
        fixed_fee_per_order=dict(body.fixed_fee_per_order),
        refund_policy=RefundPolicy(body.refund_policy),
        created_by=principal.name,
        clock=clock,
    )
    response.headers["Location"] = request.app.url_path_for("get_fee_plan", fee_plan_id=record.id)
    return _fee_plan_public(record)


@router.get(
    "/fee-plans",
    response_model=schemas.FeePlanPage,
    responses=problem_responses(401, 403, 422),
    tags=["fee plans"],
    summary="List fee plans",
)
def list_fee_plans(
    _principal: ReadFeePlans,
    db: DatabaseDep,
    seller_id: Annotated[str | None, Query(pattern=r"^sel_[0-9A-Za-z]{1,64}$")] = None,
    platform: Annotated[bool, Query(description="Only the platform's default plans")] = False,
    limit: LimitQuery = 50,
    cursor: Annotated[str | None, Query(max_length=cursor_length_max)] = None,
) -> schemas.FeePlanPage:
    """Every version, oldest first: a seller's own (`seller_id`), the platform's, or all."""
    after = _decode_plan_cursor(cursor)
    plans, next_after = service.list_fee_plans(
        db, seller_id=seller_id, platform=platform, after_id=after, limit=limit
    )
    return schemas.FeePlanPage(
        fee_plans=[_fee_plan_public(p) for p in plans],
        next_cursor=None if next_after is None else encode_cursor(next_after),
    )


@router.get(
    "/fee-plans/{fee_plan_id}",
    response_model=schemas.FeePlanPublic,
    responses=problem_responses(401, 403, 404, 422),
    tags=["fee plans"],
    summary="Read a fee plan version",
)
def get_fee_plan(
    fee_plan_id: Annotated[str, Path(min_length=1, max_length=40)],
    _principal: ReadFeePlans,
    db: DatabaseDep,
) -> schemas.FeePlanPublic:
    return _fee_plan_public(service.get_fee_plan(db, fee_plan_id))


# --- orders --------------------------------------------------------------------------------


@router.get(
    "/orders/{order_id}",
    response_model=schemas.OrderPublic,
    responses=problem_responses(401, 403, 404, 422),
    tags=["orders"],
    summary="Read an order",
)
def get_order(
    order_id: BusinessIdPath, principal: PrincipalDep, db: DatabaseDep
) -> schemas.OrderPublic:
    """An order's lines and fees, refunds, disputes, and when its funds are (or were) released.
    A seller reads only their own orders: any other answers 404, as if it did not exist."""
    if principal.role is not Role.SELLER and not can(principal, Permission.BALANCES_READ):
        raise permission_denied(principal, Permission.BALANCES_READ)
    try:
        view = service.get_order(db, order_id)
    except NotFound:
        raise _order_not_found(order_id) from None
    if principal.role is Role.SELLER and view.order.seller_id != principal.seller_id:
        raise _order_not_found(order_id)
    return _order_public(view)


def _order_not_found(order_id: str) -> NotFound:
    return NotFound(f"no order {order_id}", code="order_not_found")


# --- parsing -------------------------------------------------------------------------------


def _events_of(root: Any, *, size_max: int) -> list[Any]:
    """The events of a body: one event object, or the list under `events`."""
    if isinstance(root, dict) and "events" in root and "type" not in root:
        events = root["events"]
        if not isinstance(events, list):
            raise InvalidInput(
                "events must be a list of events", code="invalid_request", field="body.events"
            )
        if len(events) > size_max:
            raise LimitExceeded(
                f"a batch holds at most {size_max} events, got {len(events)}",
                code="batch_size_max",
                limit=size_max,
                size=len(events),
            )
        return events
    if isinstance(root, dict):
        return [root]
    raise InvalidInput(
        'send one event object, or {"events": [...]}', code="invalid_request", field="body"
    )


def _encode_cursor(before: tuple[datetime, str]) -> str:
    moment, event_id = before
    return encode_cursor(moment.isoformat(), event_id)


def _event_position(parts: list[str]) -> tuple[datetime, str]:
    moment, event_id = parts
    when = datetime.fromisoformat(moment)
    if when.tzinfo is None or not event_id:
        raise ValueError("not a position of an event")
    return when, event_id


def _decode_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    return decode_cursor(cursor, _event_position)


def _decode_plan_cursor(cursor: str | None) -> str | None:
    return decode_cursor(cursor, one_part)


# --- answers -------------------------------------------------------------------------------


def _ingest_result(result: service.IngestResult, *, instance: str) -> schemas.IngestResultPublic:
    problem = None
    if result.status is service.IngestStatus.REJECTED:
        context: dict[str, Any] = {"event_id": result.event_id}
        if result.field:
            context["field"] = result.field
        problem = problem_body(
            status=422,
            code=result.reason_code or "rejected",
            title="Event rejected",
            detail=result.reason or "the event was rejected",
            instance=instance,
            context=context,
        )
    return schemas.IngestResultPublic(
        event_id=result.event_id,
        status=result.status.value,
        reason_code=result.reason_code,
        reason=result.reason,
        waiting_for=result.waiting_for,
        problem=problem,
    )


def _event_summary(record: EventRecord) -> schemas.MarketplaceEventSummary:
    return schemas.MarketplaceEventSummary(
        id=record.id,
        type=record.type,
        status=record.status,
        reason_code=record.reason_code,
        reason=record.reason,
        waiting_for=record.waiting_for,
        source=record.source,
        occurred_at=record.occurred_at,
        received_at=record.received_at,
        applied_at=record.applied_at,
        attempts=record.attempts,
    )


def _adjustment_public(record: AdjustmentRecord) -> schemas.AdjustmentPublic:
    return schemas.AdjustmentPublic(
        adjustment_id=record.adjustment_id,
        seller_id=record.seller_id,
        direction=record.direction,
        amount=MoneyOut.of(Money(record.amount_minor, record.currency)),
        reason=record.reason,
        requested_by=record.requested_by,
        status=record.status,
        decided_by=record.decided_by,
        decision_note=record.decision_note,
        decided_at=record.decided_at,
        created_at=record.created_at,
    )


def _fee_plan_public(record: FeePlanRecord) -> schemas.FeePlanPublic:
    return schemas.FeePlanPublic(
        id=record.id,
        name=record.name,
        version=record.version,
        seller_id=record.seller_id,
        effective_from=record.effective_from,
        rules=[schemas.FeeRulePublic(**rule) for rule in record.rules],
        fixed_fee_per_order=[
            MoneyOut.of(Money(amount, currency))
            for currency, amount in sorted(record.fixed_fee_per_order.items())
        ],
        refund_policy=record.refund_policy.value,
        created_by=record.created_by,
        created_at=record.created_at,
    )


def _order_public(view: service.OrderView) -> schemas.OrderPublic:
    order = view.order

    def money(amount_minor: int) -> MoneyOut:
        return MoneyOut.of(order.money(amount_minor))

    return schemas.OrderPublic(
        order_id=order.order_id,
        seller_id=order.seller_id,
        market=order.market,
        status=order.status,
        gross=money(order.gross_minor),
        fee=money(order.fee_minor),
        net=money(order.net_minor),
        refunded=money(order.refunded_minor),
        fee_returned=money(order.fee_returned_minor),
        pending=money(order.pending_minor),
        released=money(order.released_minor),
        fee_plan_id=order.fee_plan_id,
        fee_plan_version=order.fee_plan_version,
        paid_at=order.paid_at,
        shipped_at=order.shipped_at,
        delivered_at=order.delivered_at,
        release_due_at=order.release_due_at,
        released_at=order.released_at,
        lines=[
            schemas.OrderLinePublic(
                line_id=line.line_id,
                category=line.category,
                gross=money(line.gross_minor),
                bps=line.bps,
                commission=money(line.commission_minor),
                fixed_fee=money(line.fixed_fee_minor),
                fee=money(line.fee_minor),
                net=money(line.net_minor),
                refunded=money(line.refunded_minor),
                fee_returned=money(line.fee_returned_minor),
            )
            for line in view.lines
        ],
        refunds=[
            schemas.RefundPublic(
                refund_id=r.refund_id,
                amount=money(r.amount_minor),
                seller_share=money(r.seller_minor),
                fee_returned=money(r.platform_minor),
                from_pending=money(r.from_pending_minor),
                from_available=money(r.from_available_minor),
                reason=r.reason,
                created_at=r.created_at,
            )
            for r in view.refunds
        ],
        disputes=[
            schemas.DisputePublic(
                dispute_id=d.dispute_id,
                status=d.status,
                amount=money(d.amount_minor),
                fee=money(d.fee_minor),
                opened_at=d.opened_at,
                closed_at=d.closed_at,
            )
            for d in view.disputes
        ],
    )
