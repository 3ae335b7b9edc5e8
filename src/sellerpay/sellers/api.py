"""The sellers' HTTP routes: create (idempotently), read, update and list sellers.

Each route parses, authorizes, calls `sellers.service` and shapes the answer. A seller's key
reads only its own seller: any other id answers 404 exactly like a missing seller, so a seller
cannot learn which ids exist. Staff roles need `sellers:read` / `sellers:write`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Final

import structlog
from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response

from sellerpay.access.rules import Permission, Principal, Role, can, may_act_for_seller
from sellerpay.api.deps import ClockDep, DatabaseDep, PrincipalDep, permission_denied, require
from sellerpay.api.fields import CountryCode
from sellerpay.api.pagination import decode_cursor, encode_cursor, one_part
from sellerpay.api.problems import problem_responses
from sellerpay.clock import Clock
from sellerpay.db import Database
from sellerpay.errors import InvalidInput, NotFound
from sellerpay.ledger.rules import idempotency_key_length_max
from sellerpay.onboarding import service as onboarding_service
from sellerpay.sellers import service
from sellerpay.sellers.rules import SELLER_ID, Capabilities, RiskTier, SellerStatus, capabilities
from sellerpay.sellers.schemas import (
    CapabilitiesPublic,
    SellerCreate,
    SellerPage,
    SellerPublic,
    SellerUpdate,
    seller_id_length_max,
)
from sellerpay.settlement import service as settlement_service

__all__ = ["SellerIdPath", "authorize_for_seller", "router"]

router = APIRouter(tags=["sellers"])
log = structlog.get_logger(__name__)

REPLAYED_HEADER: Final = "Idempotent-Replayed"
cursor_length_max: Final = 120
if_match_length_max: Final = 40
_IF_MATCH: Final = re.compile(r'^(?:"(?P<quoted>[0-9]{1,18})"|(?P<bare>[0-9]{1,18})|\*)$')
# The request field each validation code of `service.create_seller` is about.
_FIELD_OF_CODE: Final = {
    "invalid_seller_id": "body.id",
    "invalid_name": "body.legal_name",
    "invalid_country": "body.country",
    "unknown_currency": "body.default_currency",
    "status_transition": "body.status",
}

SellerIdPath = Annotated[
    str, Path(min_length=1, max_length=seller_id_length_max, examples=["sel_acme_refurb_42"])
]
_REPLAY_RESPONSE: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "description": f"An idempotent replay: the seller, with `{REPLAYED_HEADER}: true`",
        "model": SellerPublic,
        "headers": {REPLAYED_HEADER: {"schema": {"type": "string", "enum": ["true"]}}},
    }
}


# --- routes --------------------------------------------------------------------------------


@router.post(
    "",
    status_code=201,
    response_model=SellerPublic,
    response_description="Created",
    dependencies=[Depends(require(Permission.SELLERS_WRITE))],
    responses={**_REPLAY_RESPONSE, **problem_responses(401, 403, 409, 422)},
    summary="Create a seller",
)
def create_seller(
    body: SellerCreate,
    db: DatabaseDep,
    clock: ClockDep,
    request: Request,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=idempotency_key_length_max,
            pattern=r"^[\x20-\x7e]+$",
            description="Without an `id` in the body, makes the create safe to retry: the "
            "seller's id is derived from the key. Ignored when the body names the id.",
        ),
    ] = None,
) -> SellerPublic:
    """Create a seller, active, with the id given or a new one.

    201 with `Location` when created; 200 with `Idempotent-Replayed: true` when the same id was
    created before with the same details; 409 `seller_exists` when with others. Marketplace
    events parked because they named this seller before it existed are then applied.
    """
    seller_id = body.id
    if seller_id is None and idempotency_key is not None:
        seller_id = seller_id_for_key(idempotency_key)
    with _fields():
        seller, created = service.create_seller(
            db,
            seller_id=seller_id,
            legal_name=body.legal_name,
            country=body.country,
            default_currency=body.default_currency,
            risk_tier=body.risk_tier,
            metadata=body.metadata,
            clock=clock,
        )
    _retry_parked_events(db, seller.id, clock=clock)
    response.headers["Location"] = request.app.url_path_for("get_seller", seller_id=seller.id)
    response.headers["ETag"] = _etag(seller)
    if not created:
        response.status_code = 200
        response.headers[REPLAYED_HEADER] = "true"
    return seller_public(seller, _capabilities(db, [seller], clock).get(seller.id))


@router.get(
    "",
    response_model=SellerPage,
    dependencies=[Depends(require(Permission.SELLERS_READ))],
    responses=problem_responses(401, 403, 422),
    summary="List sellers",
)
def list_sellers(
    db: DatabaseDep,
    clock: ClockDep,
    country: Annotated[CountryCode | None, Query()] = None,
    status: SellerStatus | None = None,
    risk_tier: RiskTier | None = None,
    limit: Annotated[int, Query(ge=1, le=service.page_size_max)] = 50,
    cursor: Annotated[
        str | None,
        Query(max_length=cursor_length_max, description="`next_cursor` of the previous page"),
    ] = None,
) -> SellerPage:
    """Sellers in id order, filtered by country, status and risk tier, a page at a time."""
    sellers, last_id = service.list_sellers(
        db,
        country=country,
        status=status,
        risk_tier=risk_tier,
        after_id=_decode_cursor(cursor),
        limit=limit,
    )
    allowed = _capabilities(db, sellers, clock)
    return SellerPage(
        sellers=[seller_public(s, allowed.get(s.id)) for s in sellers],
        next_cursor=None if last_id is None else _encode_cursor(last_id),
    )


@router.get(
    "/{seller_id}",
    response_model=SellerPublic,
    responses=problem_responses(401, 403, 404, 422),
    summary="Read a seller",
)
def get_seller(
    seller_id: SellerIdPath,
    principal: PrincipalDep,
    db: DatabaseDep,
    clock: ClockDep,
    response: Response,
) -> SellerPublic:
    """The seller, with its `ETag` (its version) and its capabilities (from onboarding). A
    seller's key reads only its own seller."""
    authorize_for_seller(principal, seller_id, Permission.SELLERS_READ)
    seller = _get(db, seller_id)
    response.headers["ETag"] = _etag(seller)
    return seller_public(seller, _capabilities(db, [seller], clock).get(seller.id))


@router.patch(
    "/{seller_id}",
    response_model=SellerPublic,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Update a seller",
)
def update_seller(
    seller_id: SellerIdPath,
    body: SellerUpdate,
    principal: PrincipalDep,
    db: DatabaseDep,
    clock: ClockDep,
    response: Response,
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            max_length=if_match_length_max,
            description='The version read before (the `ETag`, e.g. `"3"`): the update is '
            "refused with 409 `version_mismatch` if the seller changed since.",
        ),
    ] = None,
) -> SellerPublic:
    """Change the legal name, risk tier, status or metadata; records `seller.updated`.

    Status changes follow the seller's state machine (422 `status_transition` otherwise); with
    `If-Match`, a stale version is refused with 409 `version_mismatch`.
    """
    if principal.role is Role.SELLER and principal.seller_id != seller_id:
        raise _not_found(seller_id)
    if not can(principal, Permission.SELLERS_WRITE):
        raise permission_denied(principal, Permission.SELLERS_WRITE)
    expected_version = _parse_if_match(if_match)
    if SELLER_ID.fullmatch(seller_id) is None:
        raise _not_found(seller_id)
    with _fields():
        seller = service.update_seller(
            db,
            seller_id,
            legal_name=body.legal_name,
            risk_tier=body.risk_tier,
            status=body.status,
            metadata=body.metadata,
            expected_version=expected_version,
            clock=clock,
        )
    response.headers["ETag"] = _etag(seller)
    return seller_public(seller, _capabilities(db, [seller], clock).get(seller.id))


# --- authorization -------------------------------------------------------------------------


def authorize_for_seller(principal: Principal, seller_id: str, permission: Permission) -> None:
    """A seller acts only for itself and learns nothing of others (404 as if missing); staff
    need `permission` (403 otherwise)."""
    if may_act_for_seller(principal, seller_id, permission):
        return
    if principal.role is Role.SELLER:
        raise _not_found(seller_id)
    raise permission_denied(principal, permission)


def _not_found(seller_id: str) -> NotFound:
    shown = seller_id[:seller_id_length_max]
    return NotFound(f"no seller {shown}", code="seller_not_found", seller_id=shown)


# --- helpers of the routes -----------------------------------------------------------------


def _get(db: Database, seller_id: str) -> service.Seller:
    if SELLER_ID.fullmatch(seller_id) is None:  # cannot exist: the same answer as a missing one
        raise _not_found(seller_id)
    return service.get_seller(db, seller_id)


def _retry_parked_events(db: Database, seller_id: str, *, clock: Clock) -> None:
    """Apply the marketplace events that waited for this seller. The seller is created whatever
    happens here: on failure the `retry-parked` job applies them later, so log, do not fail."""
    try:
        settlement_service.retry_parked_for(db, f"seller:{seller_id}", clock=clock)
    except Exception:
        log.exception("sellers.retry_parked_failed", seller_id=seller_id)


def seller_id_for_key(idempotency_key: str) -> str:
    """The seller id a create without an id gets from its `Idempotency-Key`: the same key always
    names the same seller, so a retried create replays instead of creating a second one."""
    return "sel_" + hashlib.sha256(f"seller.create:{idempotency_key}".encode()).hexdigest()[:32]


@contextmanager
def _fields() -> Iterator[None]:
    """Name the request field a service's `InvalidInput` is about."""
    try:
        yield
    except InvalidInput as error:
        field = _FIELD_OF_CODE.get(error.code)
        if field is not None:
            error.context.setdefault("field", field)
        raise


def _parse_if_match(if_match: str | None) -> int | None:
    """`"3"` or `3` → 3; `*` or no header → None (any version)."""
    if if_match is None:
        return None
    match = _IF_MATCH.fullmatch(if_match.strip())
    if match is None:
        raise InvalidInput(
            'If-Match must be the seller\'s ETag, e.g. "3" (or *)',
            code="invalid_if_match",
            field="header.if-match",
        )
    version = match["quoted"] or match["bare"]
    return None if version is None else int(version)


def _etag(seller: service.Seller) -> str:
    return f'"{seller.version}"'


def _encode_cursor(after_id: str) -> str:
    return encode_cursor(after_id)


def _seller_id(parts: list[str]) -> str:
    after_id = one_part(parts)
    if SELLER_ID.fullmatch(after_id) is None:
        raise ValueError(after_id)
    return after_id


def _decode_cursor(cursor: str | None) -> str | None:
    """The seller id a cursor continues after; `InvalidInput(invalid_cursor)` if not ours."""
    return decode_cursor(cursor, _seller_id)


def _capabilities(
    db: Database, sellers: list[service.Seller], clock: Clock
) -> dict[str, Capabilities]:
    """What each seller may do now, as onboarding derives it (requirements, sanctions, status)."""
    return onboarding_service.seller_capabilities(db, [s.id for s in sellers], now=clock.now())


def seller_public(seller: service.Seller, allowed: Capabilities | None = None) -> SellerPublic:
    """The seller as the API shows it; `allowed` defaults to what its status alone allows."""
    allowed = allowed or capabilities(seller.status)
    return SellerPublic(
        id=seller.id,
        legal_name=seller.legal_name,
        country=seller.country,
        default_currency=seller.default_currency,
        risk_tier=seller.risk_tier,
        status=seller.status,
        capabilities=CapabilitiesPublic(
            payouts_enabled=allowed.payouts_enabled,
            sales_enabled=allowed.sales_enabled,
            disabled_reason=allowed.disabled_reason,
        ),
        metadata=dict(seller.metadata),
        version=seller.version,
        created_at=seller.created_at,
        updated_at=seller.updated_at,
    )
