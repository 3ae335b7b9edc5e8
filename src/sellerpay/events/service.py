"""Use cases of events: record to the outbox, relay it, manage webhook endpoints, deliver webhooks.

Every state change calls `record_event` with the connection of its own database transaction,
so the change and its event commit together or not at all (RELIABILITY.md, invariant 7).
`relay_outbox` then hands recorded events on, in one unit of work: one delivery per subscribed
webhook endpoint, and the broker in distributed mode. `deliver_due` posts due deliveries, signed
(`events.rules`), in three steps — claim, send, record — so no database lock is held while a
receiver answers. Delivery is at least once: receivers deduplicate by event id.

Errors: `InvalidInput` (URL, event type patterns, description, limits), `NotFound`
(`webhook_endpoint_not_found`, `delivery_not_found`), `Rejected` (`endpoint_disabled`),
`LimitExceeded` (`webhook_endpoints_max`, batch sizes).
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Protocol
from uuid import UUID

import httpx
import structlog
from sqlalchemy import Connection, Row, Table, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from sellerpay.clock import Clock
from sellerpay.db import Database
from sellerpay.errors import InvalidInput, LimitExceeded, NotFound, Rejected
from sellerpay.events import models
from sellerpay.events.rules import (
    SIGNATURE_HEADER,
    AttemptOutcome,
    DeliveryStatus,
    attempt_error,
    check_event_type_patterns,
    check_webhook_url,
    claim_lease,
    description_length_max,
    envelope_body,
    is_success,
    next_attempt_at,
    secret_bytes,
    secret_overlap,
    secret_prefix,
    signature_header,
    signing_secrets,
    subscribes_to,
)
from sellerpay.ids import prefixed_id, uuid7
from sellerpay.settings import get_settings

log = structlog.get_logger(__name__)

webhook_endpoints_max: Final = 100
relay_batch_size_max: Final = 1_000
delivery_batch_size_max: Final = 200
delivery_concurrency: Final = 8
page_size_max: Final = 100
response_excerpt_bytes_max: Final = 200
USER_AGENT: Final = "Sellerpay-Webhooks/1"
_d = models.webhook_deliveries.c
_e = models.webhook_endpoints.c
_o = models.outbox.c


# --- the outbox ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Event:
    """An event as subscribers receive it: `{id, type, created_at, subject, data}`."""

    id: UUID
    type: str
    subject: str
    data: Mapping[str, Any]
    created_at: datetime

    def envelope(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": self.type,
            "created_at": self.created_at.isoformat(),
            "subject": self.subject,
            "data": dict(self.data),
        }


def record_event(
    conn: Connection, *, type: str, subject: str, data: Mapping[str, Any], now: datetime
) -> Event:
    """Write `type` about `subject` to the outbox in the caller's database transaction."""
    event = Event(uuid7(), type, subject, dict(data), now)
    conn.execute(
        models.outbox.insert().values(
            id=event.id,
            type=type,
            subject=subject,
            data=event.data,
            created_at=now,
            relayed_at=None,
        )
    )
    return event


def _event(row: Row[Any]) -> Event:
    return Event(row.id, row.type, row.subject, row.data, row.created_at)


class EventPublisher(Protocol):
    """A broker that takes events (`sellerpay.events.broker.AmqpPublisher` in distributed mode)."""

    def publish(self, events: Sequence[Event]) -> None:
        """Return once the broker confirmed every event; raise if it did not."""


def relay_outbox(
    db: Database,
    *,
    clock: Clock,
    batch_size: int = 100,
    publisher: EventPublisher | None = None,
    retry_horizon_hours: int | None = None,
) -> int:
    """Relay up to `batch_size` unrelayed outbox events, oldest first; returns how many.

    In one unit of work: create one delivery per enabled webhook endpoint subscribed to each
    event (never twice: unique per event and endpoint), publish them to `publisher` (which must
    confirm), and mark them relayed. If publishing fails, nothing is marked and the next run
    relays the same events again. On PostgreSQL the events are claimed with `SKIP LOCKED`, so
    several relays share the work; SQLite serializes writers.
    """
    _check_size(batch_size, relay_batch_size_max, "batch_size")
    hours = retry_horizon_hours or get_settings().webhook_retry_horizon_hours
    horizon = timedelta(hours=hours)

    def work(conn: Connection) -> int:
        rows = conn.execute(
            select(models.outbox)
            .where(_o.relayed_at.is_(None))
            .order_by(_o.id)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            return 0
        now = clock.now()
        events = [_event(row) for row in rows]
        endpoints = conn.execute(
            select(_e.id, _e.event_types).where(_e.enabled.is_(True)).order_by(_e.id)
        ).all()
        deliveries = [
            _new_delivery(event, endpoint.id, now=now, deadline_at=event.created_at + horizon)
            for event in events
            for endpoint in endpoints
            if subscribes_to(endpoint.event_types, event.type)
        ]
        if deliveries:
            _insert_new_only(conn, models.webhook_deliveries, deliveries)
        if publisher is not None:
            publisher.publish(events)
        conn.execute(
            update(models.outbox)
            .where(_o.id.in_([event.id for event in events]))
            .values(relayed_at=now)
        )
        return len(events)

    return db.run(work)


def _new_delivery(
    event: Event, endpoint_id: str, *, now: datetime, deadline_at: datetime
) -> dict[str, Any]:
    return {
        "id": prefixed_id("whd"),
        "endpoint_id": endpoint_id,
        "event_id": event.id,
        "event_type": event.type,
        "status": DeliveryStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "deadline_at": deadline_at,
        "claim_token": None,
        "last_attempt_at": None,
        "last_status_code": None,
        "last_error": None,
        "created_at": now,
        "updated_at": now,
        "completed_at": None,
    }


def _insert_new_only(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows, skipping those whose unique key is already stored."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(insert(table).on_conflict_do_nothing(), rows)


def _check_size(size: int, size_max: int, name: str) -> None:
    if not 1 <= size <= size_max:
        raise LimitExceeded(
            f"{name} must be between 1 and {size_max}, got {size}",
            code=f"{name}_max",
            limit=size_max,
        )


# --- webhook endpoints ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    """Where and which events to post; its signing secret is never part of it."""

    id: str
    url: str
    description: str
    event_types: tuple[str, ...]
    enabled: bool
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime

    def public(self) -> dict[str, Any]:
        """The endpoint as events show it."""
        return {
            "id": self.id,
            "url": self.url,
            "description": self.description,
            "event_types": list(self.event_types),
            "enabled": self.enabled,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def _endpoint(row: Row[Any]) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=row.id,
        url=row.url,
        description=row.description,
        event_types=tuple(row.event_types),
        enabled=row.enabled,
        previous_secret_expires_at=row.previous_secret_expires_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def new_signing_secret() -> str:
    """A new signing secret: `whsec_` and 32 random bytes, base64url."""
    return secret_prefix + secrets.token_urlsafe(secret_bytes)


def _clean_description(description: str) -> str:
    text = description.strip()
    if len(text) > description_length_max:
        raise InvalidInput(
            f"the description is at most {description_length_max} characters",
            code="description_too_long",
        )
    return text


def create_webhook_endpoint(
    db: Database,
    *,
    url: str,
    event_types: Sequence[str],
    description: str = "",
    allow_http: bool,
    clock: Clock,
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it and its signing secret, which is shown this once.

    At most `webhook_endpoints_max` endpoints may be enabled at once.
    """
    url = check_webhook_url(url, allow_http=allow_http)
    patterns = check_event_type_patterns(event_types)
    text = _clean_description(description)
    secret = new_signing_secret()
    endpoint_id = prefixed_id("we")

    def work(conn: Connection) -> WebhookEndpoint:
        enabled = conn.execute(
            select(func.count()).select_from(models.webhook_endpoints).where(_e.enabled.is_(True))
        ).scalar_one()
        if enabled >= webhook_endpoints_max:
            raise LimitExceeded(
                f"at most {webhook_endpoints_max} webhook endpoints may be enabled",
                code="webhook_endpoints_max",
                limit=webhook_endpoints_max,
            )
        now = clock.now()
        conn.execute(
            models.webhook_endpoints.insert().values(
                id=endpoint_id,
                url=url,
                description=text,
                event_types=list(patterns),
                enabled=True,
                secret=secret,
                previous_secret=None,
                previous_secret_expires_at=None,
                created_at=now,
                updated_at=now,
            )
        )
        endpoint = _get_endpoint_in(conn, endpoint_id)
        record_event(
            conn,
            type="webhook_endpoint.created",
            subject=endpoint_id,
            data=endpoint.public(),
            now=now,
        )
        return endpoint

    return db.run(work), secret


def _get_endpoint_in(conn: Connection, endpoint_id: str, *, lock: bool = False) -> WebhookEndpoint:
    return _endpoint(_endpoint_row(conn, endpoint_id, lock=lock))


def _endpoint_row(conn: Connection, endpoint_id: str, *, lock: bool = False) -> Row[Any]:
    query = select(models.webhook_endpoints).where(_e.id == endpoint_id)
    # FOR NO KEY UPDATE on PostgreSQL: a relay inserting deliveries for this endpoint (a foreign
    # key share lock) is not blocked by an administrator changing it.
    row = conn.execute(query.with_for_update(key_share=True) if lock else query).first()
    if row is None:
        raise NotFound(
            f"no webhook endpoint {endpoint_id}",
            code="webhook_endpoint_not_found",
            endpoint_id=endpoint_id,
        )
    return row


def get_webhook_endpoint(db: Database, endpoint_id: str) -> WebhookEndpoint:
    """The endpoint, enabled or not; `NotFound` if there is none."""
    with db.reading() as conn:
        return _get_endpoint_in(conn, endpoint_id)


def list_webhook_endpoints(
    db: Database, *, after_id: str | None = None, limit: int = 50
) -> list[WebhookEndpoint]:
    """Endpoints in the order they were created, after `after_id`."""
    _check_size(limit, page_size_max, "limit")
    query = select(models.webhook_endpoints).order_by(_e.id).limit(limit)
    if after_id is not None:
        query = query.where(_e.id > after_id)
    with db.reading() as conn:
        return [_endpoint(row) for row in conn.execute(query)]


def update_webhook_endpoint(
    db: Database,
    endpoint_id: str,
    *,
    url: str | None = None,
    event_types: Sequence[str] | None = None,
    description: str | None = None,
    enabled: bool | None = None,
    allow_http: bool,
    clock: Clock,
) -> WebhookEndpoint:
    """Change what is given; records `webhook_endpoint.updated` (`.disabled` when it disables).

    Deliveries already created keep going to the endpoint's new URL; a disabled endpoint gets
    no new deliveries and its pending ones wait until it is enabled again.
    """
    changes: dict[str, Any] = {}
    if url is not None:
        changes["url"] = check_webhook_url(url, allow_http=allow_http)
    if event_types is not None:
        changes["event_types"] = list(check_event_type_patterns(event_types))
    if description is not None:
        changes["description"] = _clean_description(description)
    if enabled is not None:
        changes["enabled"] = enabled

    def work(conn: Connection) -> WebhookEndpoint:
        row = _endpoint_row(conn, endpoint_id, lock=True)
        changed = {key: value for key, value in changes.items() if getattr(row, key) != value}
        if not changed:
            return _endpoint(row)
        now = clock.now()
        conn.execute(
            update(models.webhook_endpoints)
            .where(_e.id == endpoint_id)
            .values(updated_at=now, **changed)
        )
        endpoint = _get_endpoint_in(conn, endpoint_id)
        disabled = changed.get("enabled") is False
        record_event(
            conn,
            type="webhook_endpoint.disabled" if disabled else "webhook_endpoint.updated",
            subject=endpoint_id,
            data={"endpoint": endpoint.public(), "changed": sorted(changed)},
            now=now,
        )
        return endpoint

    return db.run(work)


def disable_webhook_endpoint(db: Database, endpoint_id: str, *, clock: Clock) -> WebhookEndpoint:
    """Stop delivering to the endpoint (what `DELETE` does: its delivery log is kept)."""
    return update_webhook_endpoint(db, endpoint_id, enabled=False, allow_http=True, clock=clock)


def rotate_webhook_secret(
    db: Database, endpoint_id: str, *, clock: Clock
) -> tuple[WebhookEndpoint, str]:
    """Give the endpoint a new signing secret, shown this once. For `secret_overlap` (24 h) the
    old one still signs too (two `v1` signatures), so receivers can switch without a gap."""
    secret = new_signing_secret()

    def work(conn: Connection) -> WebhookEndpoint:
        row = _endpoint_row(conn, endpoint_id, lock=True)
        now = clock.now()
        conn.execute(
            update(models.webhook_endpoints)
            .where(_e.id == endpoint_id)
            .values(
                secret=secret,
                previous_secret=row.secret,
                previous_secret_expires_at=now + secret_overlap,
                updated_at=now,
            )
        )
        endpoint = _get_endpoint_in(conn, endpoint_id)
        record_event(
            conn,
            type="webhook_endpoint.secret_rotated",
            subject=endpoint_id,
            data={
                "endpoint": endpoint.public(),
                "previous_secret_expires_at": (now + secret_overlap).isoformat(),
            },
            now=now,
        )
        return endpoint

    return db.run(work), secret


# --- the delivery log ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    """One try at posting an event: when, the answer (or none), how long it took, what failed."""

    number: int
    attempted_at: datetime
    outcome: AttemptOutcome
    status_code: int | None
    latency_ms: int
    error: str | None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event to post to one endpoint, and every attempt at it so far."""

    id: str
    endpoint_id: str
    event_id: UUID
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    deadline_at: datetime
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    completed_at: datetime | None
    attempt_log: tuple[DeliveryAttempt, ...] = ()


@dataclass(frozen=True, slots=True)
class DeliveryPage:
    deliveries: list[Delivery]
    next_before_id: str | None


def _delivery(row: Row[Any], attempts: Sequence[DeliveryAttempt] = ()) -> Delivery:
    return Delivery(
        id=row.id,
        endpoint_id=row.endpoint_id,
        event_id=row.event_id,
        event_type=row.event_type,
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        deadline_at=row.deadline_at,
        last_attempt_at=row.last_attempt_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        created_at=row.created_at,
        completed_at=row.completed_at,
        attempt_log=tuple(attempts),
    )


def _attempt_logs(
    conn: Connection, delivery_ids: Sequence[str]
) -> dict[str, list[DeliveryAttempt]]:
    a = models.webhook_delivery_attempts.c
    logs: dict[str, list[DeliveryAttempt]] = {delivery_id: [] for delivery_id in delivery_ids}
    if not delivery_ids:
        return logs
    rows = conn.execute(
        select(models.webhook_delivery_attempts)
        .where(a.delivery_id.in_(list(delivery_ids)))
        .order_by(a.delivery_id, a.number)
    )
    for row in rows:
        logs[row.delivery_id].append(
            DeliveryAttempt(
                number=row.number,
                attempted_at=row.attempted_at,
                outcome=AttemptOutcome(row.outcome),
                status_code=row.status_code,
                latency_ms=row.latency_ms,
                error=row.error,
            )
        )
    return logs


def list_deliveries(
    db: Database,
    endpoint_id: str,
    *,
    status: DeliveryStatus | None = None,
    before_id: str | None = None,
    limit: int = 50,
) -> DeliveryPage:
    """The endpoint's delivery log, newest first, each delivery with all its attempts."""
    _check_size(limit, page_size_max, "limit")
    query = (
        select(models.webhook_deliveries)
        .where(_d.endpoint_id == endpoint_id)
        .order_by(_d.id.desc())
        .limit(limit + 1)
    )
    if status is not None:
        query = query.where(_d.status == status.value)
    if before_id is not None:
        query = query.where(_d.id < before_id)
    with db.reading() as conn:
        _endpoint_row(conn, endpoint_id)
        rows = conn.execute(query).all()
        page = rows[:limit]
        logs = _attempt_logs(conn, [row.id for row in page])
    deliveries = [_delivery(row, logs[row.id]) for row in page]
    next_before = page[-1].id if len(rows) > limit else None
    return DeliveryPage(deliveries, next_before)


def get_delivery(db: Database, endpoint_id: str, delivery_id: str) -> Delivery:
    """One delivery of the endpoint with its attempts; `NotFound` if the pair does not exist."""
    with db.reading() as conn:
        _endpoint_row(conn, endpoint_id)
        row = _delivery_row(conn, endpoint_id, delivery_id)
        return _delivery(row, _attempt_logs(conn, [delivery_id])[delivery_id])


def _delivery_row(
    conn: Connection, endpoint_id: str, delivery_id: str, *, lock: bool = False
) -> Row[Any]:
    query = select(models.webhook_deliveries).where(
        _d.id == delivery_id, _d.endpoint_id == endpoint_id
    )
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound(
            f"no delivery {delivery_id} to webhook endpoint {endpoint_id}",
            code="delivery_not_found",
            delivery_id=delivery_id,
        )
    return row


def retry_delivery(
    db: Database,
    endpoint_id: str,
    delivery_id: str,
    *,
    clock: Clock,
    retry_horizon_hours: int | None = None,
) -> Delivery:
    """Make a delivery due now, whatever its status, with a fresh retry horizon.

    For a failed delivery once the receiver is fixed, or to send a succeeded one again (the
    receiver deduplicates by event id). `Rejected(endpoint_disabled)` while the endpoint is
    disabled: enable it first.
    """
    hours = retry_horizon_hours or get_settings().webhook_retry_horizon_hours

    def work(conn: Connection) -> Delivery:
        if not _endpoint_row(conn, endpoint_id).enabled:
            raise Rejected(
                f"webhook endpoint {endpoint_id} is disabled: enable it before retrying",
                code="endpoint_disabled",
                endpoint_id=endpoint_id,
            )
        _delivery_row(conn, endpoint_id, delivery_id, lock=True)
        now = clock.now()
        conn.execute(
            update(models.webhook_deliveries)
            .where(_d.id == delivery_id)
            .values(
                status=DeliveryStatus.PENDING.value,
                next_attempt_at=now,
                deadline_at=now + timedelta(hours=hours),
                claim_token=None,
                completed_at=None,
                updated_at=now,
            )
        )
        row = _delivery_row(conn, endpoint_id, delivery_id)
        return _delivery(row, _attempt_logs(conn, [delivery_id])[delivery_id])

    return db.run(work)


# --- sending -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What one `deliver_due` pass did."""

    claimed: int = 0
    succeeded: int = 0
    retrying: int = 0  # failed this time, due again later
    failed: int = 0  # failed this time, and the retry horizon has passed: failed for good


@dataclass(frozen=True, slots=True)
class _Claim:
    delivery_id: str
    number: int
    token: UUID
    url: str
    secrets: tuple[str, ...]
    event: Event


@dataclass(frozen=True, slots=True)
class _Sent:
    claim: _Claim
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None = field(default=None)

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and is_success(self.status_code)


def deliver_due(
    db: Database,
    *,
    clock: Clock,
    http: httpx.Client,
    limit: int = 50,
    timeout_s: float | None = None,
    rng: random.Random | None = None,
) -> DeliveryReport:
    """Post up to `limit` due deliveries to their enabled endpoints, then log each attempt.

    Claim (one short unit of work: mark them taken until a lease ends, `SKIP LOCKED` on
    PostgreSQL, so two deliverers never send the same attempt at once) → send (no database
    transaction open; `delivery_concurrency` at a time, each within `timeout_s`) → record (one
    unit of work: the attempts, and success, a retry after backoff with full jitter, or failed
    for good past the retry horizon). A deliverer killed after claiming leaves the deliveries to
    fall due again when the lease ends: at least once, never lost.
    """
    _check_size(limit, delivery_batch_size_max, "limit")
    timeout = timeout_s or get_settings().webhook_timeout_s
    draw = rng or random.Random()
    claims = db.run(lambda conn: _claim_due(conn, now=clock.now(), limit=limit, timeout_s=timeout))
    if not claims:
        return DeliveryReport()
    if len(claims) == 1:
        sent = [_send(claims[0], http=http, clock=clock, timeout_s=timeout)]
    else:
        with ThreadPoolExecutor(max_workers=min(delivery_concurrency, len(claims))) as pool:
            sent = list(
                pool.map(lambda c: _send(c, http=http, clock=clock, timeout_s=timeout), claims)
            )
    return db.run(lambda conn: _record(conn, sent, now=clock.now(), rng=draw))


def _claim_due(conn: Connection, *, now: datetime, limit: int, timeout_s: float) -> list[_Claim]:
    rows = conn.execute(
        select(
            _d.id,
            _d.attempts,
            _d.event_id,
            _e.url,
            _e.secret,
            _e.previous_secret,
            _e.previous_secret_expires_at,
        )
        .join_from(models.webhook_deliveries, models.webhook_endpoints, _d.endpoint_id == _e.id)
        .where(
            _d.status == DeliveryStatus.PENDING.value,
            _d.next_attempt_at <= now,
            _e.enabled.is_(True),
        )
        .order_by(_d.next_attempt_at, _d.id)
        .limit(limit)
        .with_for_update(of=models.webhook_deliveries, skip_locked=True)
    ).all()
    if not rows:
        return []
    token = uuid7()
    lease = claim_lease(deliveries=len(rows), concurrency=delivery_concurrency, timeout_s=timeout_s)
    conn.execute(
        update(models.webhook_deliveries)
        .where(_d.id.in_([row.id for row in rows]))
        .values(
            attempts=_d.attempts + 1, next_attempt_at=now + lease, claim_token=token, updated_at=now
        )
    )
    events = {
        row.id: _event(row)
        for row in conn.execute(
            select(models.outbox).where(_o.id.in_(list({row.event_id for row in rows})))
        )
    }
    return [
        _Claim(
            delivery_id=row.id,
            number=row.attempts + 1,
            token=token,
            url=row.url,
            secrets=signing_secrets(
                row.secret, row.previous_secret, row.previous_secret_expires_at, now=now
            ),
            event=events[row.event_id],
        )
        for row in rows
    ]


def webhook_headers(
    event: Event, *, secrets: Sequence[str], body: bytes, at: datetime
) -> dict[str, str]:
    """The headers of a webhook request for `event` sent at `at`."""
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Sellerpay-Event-Id": str(event.id),
        "Sellerpay-Event-Type": event.type,
        SIGNATURE_HEADER: signature_header(secrets, timestamp=int(at.timestamp()), body=body),
    }


def _send(claim: _Claim, *, http: httpx.Client, clock: Clock, timeout_s: float) -> _Sent:
    """One POST; never raises for what the receiver or the network did."""
    body = envelope_body(claim.event.envelope())
    attempted_at = clock.now()
    headers = webhook_headers(claim.event, secrets=claim.secrets, body=body, at=attempted_at)
    started = time.perf_counter()
    status_code: int | None = None
    error: str | None = None
    try:
        with http.stream(
            "POST",
            claim.url,
            content=body,
            headers=headers,
            timeout=timeout_s,
            follow_redirects=False,  # a redirect is a failed attempt, whatever the client says
        ) as response:
            status_code = response.status_code
            if not is_success(status_code):
                error = f"HTTP {status_code}: {_excerpt(response)}".rstrip(": ")
    except httpx.TimeoutException:
        error = f"no answer within {timeout_s:g} s"
    except httpx.HTTPError as failure:
        error = f"{type(failure).__name__}: {failure}"
    latency_ms = round((time.perf_counter() - started) * 1000)
    return _Sent(
        claim,
        attempted_at,
        status_code,
        latency_ms,
        None if error is None else attempt_error(error),
    )


def _excerpt(response: httpx.Response) -> str:
    """The start of a failed answer's body, for the delivery log (never read in full)."""
    chunk = b""
    for part in response.iter_bytes():
        chunk += part
        if len(chunk) >= response_excerpt_bytes_max:
            break
    return chunk[:response_excerpt_bytes_max].decode("utf-8", "replace").strip()


def _record(
    conn: Connection, sent: Sequence[_Sent], *, now: datetime, rng: random.Random
) -> DeliveryReport:
    conn.execute(
        models.webhook_delivery_attempts.insert(),
        [
            {
                "id": uuid7(),
                "delivery_id": s.claim.delivery_id,
                "number": s.claim.number,
                "attempted_at": s.attempted_at,
                "outcome": (AttemptOutcome.SUCCEEDED if s.succeeded else AttemptOutcome.FAILED),
                "status_code": s.status_code,
                "latency_ms": s.latency_ms,
                "error": s.error,
            }
            for s in sent
        ],
    )
    counts = {"succeeded": 0, "retrying": 0, "failed": 0}
    for attempt in sorted(sent, key=lambda s: s.claim.delivery_id):  # lock in one order
        outcome = _record_outcome(conn, attempt, now=now, jitter=rng.random())
        if outcome is not None:
            counts[outcome] += 1
    return DeliveryReport(claimed=len(sent), **counts)


def _record_outcome(conn: Connection, sent: _Sent, *, now: datetime, jitter: float) -> str | None:
    """Move the delivery on after one attempt: succeeded, due again later, or failed for good.

    A failure reported after the claim's lease ended (another deliverer owns it now) is logged
    but moves nothing; a success always counts.
    """
    row = conn.execute(
        select(_d.status, _d.claim_token, _d.deadline_at)
        .where(_d.id == sent.claim.delivery_id)
        .with_for_update()
    ).one()
    last = {
        "last_attempt_at": sent.attempted_at,
        "last_status_code": sent.status_code,
        "last_error": sent.error,
        "updated_at": now,
    }
    where = update(models.webhook_deliveries).where(_d.id == sent.claim.delivery_id)
    if sent.succeeded:
        if row.status == DeliveryStatus.SUCCEEDED.value:
            return None
        conn.execute(
            where.values(
                status=DeliveryStatus.SUCCEEDED.value,
                next_attempt_at=None,
                claim_token=None,
                completed_at=now,
                **last,
            )
        )
        return "succeeded"
    if row.status != DeliveryStatus.PENDING.value or row.claim_token != sent.claim.token:
        return None
    due = next_attempt_at(
        failed_at=now, attempt=sent.claim.number, deadline_at=row.deadline_at, jitter=jitter
    )
    if due is None:
        conn.execute(
            where.values(
                status=DeliveryStatus.FAILED.value,
                next_attempt_at=None,
                claim_token=None,
                completed_at=now,
                **last,
            )
        )
        log.warning(
            "webhooks.delivery_failed",
            delivery_id=sent.claim.delivery_id,
            event_id=str(sent.claim.event.id),
            attempts=sent.claim.number,
        )
        return "failed"
    conn.execute(where.values(next_attempt_at=due, claim_token=None, **last))
    return "retrying"


# --- the in-process runner -----------------------------------------------------------------


def run_event_loop(
    db: Database,
    clock: Clock,
    stop: threading.Event,
    interval_s: float = 1.0,
    *,
    publisher: EventPublisher | None = None,
    http: httpx.Client | None = None,
    batch_size: int = 100,
    limit: int = 50,
) -> None:
    """Relay the outbox and deliver due webhooks every `interval_s` until `stop` is set.

    The embedded mode's events worker (a thread of `sellerpay serve` or the demo). A failed
    pass (database unavailable…) is logged and tried again at the next tick: a background
    worker must outlive a blip, and nothing is lost since the outbox and deliveries persist.
    """
    client = http or httpx.Client(headers={"User-Agent": USER_AGENT})
    try:
        while not stop.is_set():
            try:
                while (
                    relay_outbox(db, clock=clock, batch_size=batch_size, publisher=publisher)
                    == batch_size
                    and not stop.is_set()
                ):
                    pass
                while (
                    deliver_due(db, clock=clock, http=client, limit=limit).claimed == limit
                    and not stop.is_set()
                ):
                    pass
            except Exception:  # keep the worker alive; the next tick retries
                log.exception("events.loop_pass_failed")
            stop.wait(interval_s)
    finally:
        if http is None:
            client.close()


__all__ = [
    "Delivery",
    "DeliveryAttempt",
    "DeliveryPage",
    "DeliveryReport",
    "Event",
    "EventPublisher",
    "WebhookEndpoint",
    "create_webhook_endpoint",
    "deliver_due",
    "disable_webhook_endpoint",
    "get_delivery",
    "get_webhook_endpoint",
    "list_deliveries",
    "list_webhook_endpoints",
    "record_event",
    "relay_outbox",
    "retry_delivery",
    "rotate_webhook_secret",
    "run_event_loop",
    "update_webhook_endpoint",
]


def record_events(
    conn: Connection,
    events: Sequence[tuple[str, str, Mapping[str, Any]]],
    *,
    now: datetime,
) -> list[Event]:
    """`record_event` for many `(type, subject, data)` at once, in one INSERT: a batch of
    marketplace events records hundreds of events in its unit of work."""
    recorded = [Event(uuid7(), type, subject, dict(data), now) for type, subject, data in events]
    if recorded:
        conn.execute(
            models.outbox.insert(),
            [
                {
                    "id": event.id,
                    "type": event.type,
                    "subject": event.subject,
                    "data": event.data,
                    "created_at": now,
                    "relayed_at": None,
                }
                for event in recorded
            ],
        )
    return recorded
