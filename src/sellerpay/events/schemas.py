"""Request and response bodies of the webhooks API: endpoints, secrets shown once, the delivery log.

Every string and list is bounded; the service checks URLs and event type patterns further and
names the rule that failed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from sellerpay.events.rules import (
    description_length_max,
    event_type_length_max,
    event_types_per_endpoint_max,
    url_length_max,
)

cursor_length_max = 100

WebhookUrl = Annotated[
    str,
    StringConstraints(min_length=1, max_length=url_length_max),
    Field(
        description="Where to post events: https:// (http:// only where the server allows it)",
        examples=["https://marketplace.example/hooks/sellerpay"],
    ),
]
EventTypePattern = Annotated[
    str,
    StringConstraints(min_length=1, max_length=event_type_length_max),
    Field(examples=["seller.created", "dispute.*", "*"]),
]
EventTypePatterns = Annotated[
    list[EventTypePattern],
    Field(
        min_length=1,
        max_length=event_types_per_endpoint_max,
        description="'*' for every type, exact types, or prefixes ending in '.*'",
        examples=[["*"], ["seller.created", "dispute.*"]],
    ),
]
Description = Annotated[str, StringConstraints(max_length=description_length_max)]
DeliveryStatusName = Literal["pending", "succeeded", "failed"]


# --- requests ------------------------------------------------------------------------------


class WebhookEndpointCreate(BaseModel):
    """An endpoint to register; its signing secret is generated and shown in the answer."""

    model_config = ConfigDict(extra="forbid")

    url: WebhookUrl
    event_types: EventTypePatterns
    description: Description = ""


class WebhookEndpointUpdate(BaseModel):
    """What to change; absent fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    url: WebhookUrl | None = None
    event_types: EventTypePatterns | None = None
    description: Description | None = None
    enabled: bool | None = None


# --- responses -----------------------------------------------------------------------------


class WebhookEndpointPublic(BaseModel):
    """A webhook endpoint; its signing secret is never shown again after creation or rotation."""

    id: str = Field(examples=["we_0190f7c3a1b27c4e8a2b3c4d5e6f7a8b"])
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    previous_secret_expires_at: datetime | None = Field(
        description="After a rotation: until then, requests also carry a signature made with the "
        "previous secret"
    )
    created_at: datetime
    updated_at: datetime


class WebhookEndpointWithSecret(WebhookEndpointPublic):
    """The endpoint and its signing secret: store it now, it is not shown again."""

    secret: str = Field(
        description="The signing secret (`whsec_…`), used as-is as the HMAC-SHA256 key",
        examples=["whsec_3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],
    )


class WebhookEndpointsPage(BaseModel):
    endpoints: list[WebhookEndpointPublic]
    next_cursor: str | None = Field(description="null on the last page")


class DeliveryAttemptPublic(BaseModel):
    """One try: when, the HTTP status (null when no answer came), how long, what failed."""

    number: int
    attempted_at: datetime
    outcome: Literal["succeeded", "failed"]
    status_code: int | None
    latency_ms: int
    error: str | None


class DeliveryPublic(BaseModel):
    """One event to post to one endpoint, its status and every attempt so far."""

    id: str = Field(examples=["whd_0190f7c3a1b27c4e8a2b3c4d5e6f7a8b"])
    endpoint_id: str
    event_id: UUID
    event_type: str
    status: DeliveryStatusName
    attempt_count: int
    next_attempt_at: datetime | None = Field(description="When pending: when it is due")
    retry_until: datetime = Field(description="No retry after this: the delivery then fails")
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    completed_at: datetime | None
    attempts: list[DeliveryAttemptPublic]


class DeliveriesPage(BaseModel):
    """A page of an endpoint's delivery log, newest first."""

    deliveries: list[DeliveryPublic]
    next_cursor: str | None = Field(description="null on the last page")
