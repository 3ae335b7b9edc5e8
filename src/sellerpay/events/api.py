"""The webhooks HTTP routes: endpoints, their secrets (rotation), and the delivery log.

Every route needs `webhooks:manage`. Endpoints are the platform's (the marketplace's services
subscribe), not a seller's, so a seller key gets 403 like any role without the permission.
A signing secret is in the answer of creation and rotation only, marked `Cache-Control:
no-store`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from sellerpay.access.rules import Permission
from sellerpay.api.deps import ClockDep, DatabaseDep, SettingsDep, require
from sellerpay.api.pagination import decode_cursor, encode_cursor, one_part
from sellerpay.api.problems import problem_responses
from sellerpay.errors import InvalidInput
from sellerpay.events import service
from sellerpay.events.rules import DeliveryStatus
from sellerpay.events.schemas import (
    DeliveriesPage,
    DeliveryAttemptPublic,
    DeliveryPublic,
    DeliveryStatusName,
    WebhookEndpointCreate,
    WebhookEndpointPublic,
    WebhookEndpointsPage,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecret,
    cursor_length_max,
)

__all__ = ["router"]

router = APIRouter(tags=["webhooks"], dependencies=[Depends(require(Permission.WEBHOOKS_MANAGE))])

_ENDPOINT_ID = re.compile(r"we_[0-9a-f]{32}")
_DELIVERY_ID = re.compile(r"whd_[0-9a-f]{32}")
EndpointIdPath = Annotated[
    str, Path(min_length=1, max_length=40, examples=["we_0190f7c3a1b27c4e8a2b3c4d5e6f7a8b"])
]
DeliveryIdPath = Annotated[
    str, Path(min_length=1, max_length=40, examples=["whd_0190f7c3a1b27c4e8a2b3c4d5e6f7a8b"])
]
LimitQuery = Annotated[int, Query(ge=1, le=service.page_size_max)]
CursorQuery = Annotated[
    str | None,
    Query(max_length=cursor_length_max, description="`next_cursor` of the previous page"),
]
_ERRORS: Final = problem_responses(401, 403, 404, 422)


@router.post(
    "",
    status_code=201,
    response_model=WebhookEndpointWithSecret,
    response_description="Registered; the secret is shown this once",
    responses=problem_responses(401, 403, 413, 422),
    summary="Register a webhook endpoint",
)
def create_webhook_endpoint(
    body: WebhookEndpointCreate,
    db: DatabaseDep,
    clock: ClockDep,
    settings: SettingsDep,
    request: Request,
    response: Response,
) -> WebhookEndpointWithSecret:
    """Subscribe a URL to event types (`*`, exact types, or prefixes such as `dispute.*`).

    The answer carries the signing secret (`whsec_…`) once: receivers verify the
    `Sellerpay-Signature` header with it (docs/webhooks.md). 422 `invalid_url`,
    `https_required`, `url_credentials_refused`, `invalid_event_type_pattern`,
    `unknown_event_type`; 413 `webhook_endpoints_max`.
    """
    with _at("body"):
        endpoint, secret = service.create_webhook_endpoint(
            db,
            url=body.url,
            event_types=body.event_types,
            description=body.description,
            allow_http=settings.webhook_allow_http,
            clock=clock,
        )
    response.headers["Location"] = request.app.url_path_for(
        "get_webhook_endpoint", endpoint_id=endpoint.id
    )
    response.headers["Cache-Control"] = "no-store"
    return _with_secret(endpoint, secret)


@router.get(
    "",
    response_model=WebhookEndpointsPage,
    responses=problem_responses(401, 403, 422),
    summary="List webhook endpoints",
)
def list_webhook_endpoints(
    db: DatabaseDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> WebhookEndpointsPage:
    """Every endpoint, enabled or not, in the order they were registered."""
    after = _decode_cursor(cursor, _ENDPOINT_ID)
    endpoints = service.list_webhook_endpoints(db, after_id=after, limit=limit)
    full = len(endpoints) == limit
    return WebhookEndpointsPage(
        endpoints=[_public(endpoint) for endpoint in endpoints],
        next_cursor=_encode_cursor(endpoints[-1].id) if full else None,
    )


@router.get(
    "/{endpoint_id}",
    response_model=WebhookEndpointPublic,
    responses=_ERRORS,
    summary="Read a webhook endpoint",
)
def get_webhook_endpoint(endpoint_id: EndpointIdPath, db: DatabaseDep) -> WebhookEndpointPublic:
    """The endpoint (never its secret); 404 `webhook_endpoint_not_found`."""
    return _public(service.get_webhook_endpoint(db, endpoint_id))


@router.patch(
    "/{endpoint_id}",
    response_model=WebhookEndpointPublic,
    responses=_ERRORS,
    summary="Change a webhook endpoint",
)
def update_webhook_endpoint(
    endpoint_id: EndpointIdPath,
    body: WebhookEndpointUpdate,
    db: DatabaseDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> WebhookEndpointPublic:
    """Change the URL, event types or description, or enable / disable the endpoint.

    A disabled endpoint gets no new deliveries; its pending ones wait until it is enabled.
    """
    with _at("body"):
        endpoint = service.update_webhook_endpoint(
            db,
            endpoint_id,
            url=body.url,
            event_types=body.event_types,
            description=body.description,
            enabled=body.enabled,
            allow_http=settings.webhook_allow_http,
            clock=clock,
        )
    return _public(endpoint)


@router.delete(
    "/{endpoint_id}",
    response_model=WebhookEndpointPublic,
    responses=_ERRORS,
    summary="Disable a webhook endpoint",
)
def delete_webhook_endpoint(
    endpoint_id: EndpointIdPath, db: DatabaseDep, clock: ClockDep
) -> WebhookEndpointPublic:
    """Stop delivering to the endpoint. It stays readable with its delivery log (an audit
    trail); `PATCH {"enabled": true}` turns it back on."""
    return _public(service.disable_webhook_endpoint(db, endpoint_id, clock=clock))


@router.post(
    "/{endpoint_id}/rotate-secret",
    response_model=WebhookEndpointWithSecret,
    responses=_ERRORS,
    summary="Rotate a webhook endpoint's signing secret",
)
def rotate_webhook_secret(
    endpoint_id: EndpointIdPath, db: DatabaseDep, clock: ClockDep, response: Response
) -> WebhookEndpointWithSecret:
    """A new signing secret, shown this once. For 24 hours requests carry two `v1` signatures,
    one per secret, so receivers switch to the new secret without missing a request."""
    endpoint, secret = service.rotate_webhook_secret(db, endpoint_id, clock=clock)
    response.headers["Cache-Control"] = "no-store"
    return _with_secret(endpoint, secret)


@router.get(
    "/{endpoint_id}/deliveries",
    response_model=DeliveriesPage,
    responses=_ERRORS,
    summary="Read an endpoint's delivery log",
)
def list_deliveries(
    endpoint_id: EndpointIdPath,
    db: DatabaseDep,
    status: DeliveryStatusName | None = None,
    limit: LimitQuery = 20,
    cursor: CursorQuery = None,
) -> DeliveriesPage:
    """Deliveries to the endpoint, newest first, each with every attempt: time, HTTP status,
    latency, error, and when the next attempt is due."""
    page = service.list_deliveries(
        db,
        endpoint_id,
        status=None if status is None else DeliveryStatus(status),
        before_id=_decode_cursor(cursor, _DELIVERY_ID),
        limit=limit,
    )
    following = page.next_before_id
    return DeliveriesPage(
        deliveries=[_delivery_public(delivery) for delivery in page.deliveries],
        next_cursor=None if following is None else _encode_cursor(following),
    )


@router.get(
    "/{endpoint_id}/deliveries/{delivery_id}",
    response_model=DeliveryPublic,
    responses=_ERRORS,
    summary="Read one delivery",
)
def get_delivery(
    endpoint_id: EndpointIdPath, delivery_id: DeliveryIdPath, db: DatabaseDep
) -> DeliveryPublic:
    """One delivery with every attempt; 404 `delivery_not_found`."""
    return _delivery_public(service.get_delivery(db, endpoint_id, delivery_id))


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/retry",
    response_model=DeliveryPublic,
    responses=_ERRORS,
    summary="Retry a delivery now",
)
def retry_delivery(
    endpoint_id: EndpointIdPath, delivery_id: DeliveryIdPath, db: DatabaseDep, clock: ClockDep
) -> DeliveryPublic:
    """Make the delivery due now with a fresh retry horizon: a failed one once the receiver is
    fixed, or a succeeded one to send it again. 422 `endpoint_disabled` while disabled."""
    return _delivery_public(service.retry_delivery(db, endpoint_id, delivery_id, clock=clock))


# --- parsing -------------------------------------------------------------------------------


@contextmanager
def _at(prefix: str) -> Iterator[None]:
    """Name the request field (`body.url`, `body.event_types`) an `InvalidInput` is about."""
    try:
        yield
    except InvalidInput as error:
        code = error.code
        if "event_type" in code:
            error.context.setdefault("field", f"{prefix}.event_types")
        elif "url" in code or code == "https_required":
            error.context.setdefault("field", f"{prefix}.url")
        elif code.startswith("description"):
            error.context.setdefault("field", f"{prefix}.description")
        raise


def _encode_cursor(last_id: str) -> str:
    return encode_cursor(last_id)


def _decode_cursor(cursor: str | None, id_pattern: re.Pattern[str]) -> str | None:
    """The id a cursor continues from; `InvalidInput(invalid_cursor)` if it is not ours."""

    def parse(parts: list[str]) -> str:
        last_id = one_part(parts)
        if not id_pattern.fullmatch(last_id):
            raise ValueError(last_id)
        return last_id

    return decode_cursor(cursor, parse)


# --- answers -------------------------------------------------------------------------------


def _public(endpoint: service.WebhookEndpoint) -> WebhookEndpointPublic:
    return WebhookEndpointPublic(
        id=endpoint.id,
        url=endpoint.url,
        description=endpoint.description,
        event_types=list(endpoint.event_types),
        enabled=endpoint.enabled,
        previous_secret_expires_at=endpoint.previous_secret_expires_at,
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
    )


def _with_secret(endpoint: service.WebhookEndpoint, secret: str) -> WebhookEndpointWithSecret:
    return WebhookEndpointWithSecret(**_public(endpoint).model_dump(), secret=secret)


def _delivery_public(delivery: service.Delivery) -> DeliveryPublic:
    return DeliveryPublic(
        id=delivery.id,
        endpoint_id=delivery.endpoint_id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        status=delivery.status.value,
        attempt_count=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at,
        retry_until=delivery.deadline_at,
        last_attempt_at=delivery.last_attempt_at,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        created_at=delivery.created_at,
        completed_at=delivery.completed_at,
        attempts=[
            DeliveryAttemptPublic(
                number=attempt.number,
                attempted_at=attempt.attempted_at,
                outcome=attempt.outcome.value,
                status_code=attempt.status_code,
                latency_ms=attempt.latency_ms,
                error=attempt.error,
            )
            for attempt in delivery.attempt_log
        ],
    )
