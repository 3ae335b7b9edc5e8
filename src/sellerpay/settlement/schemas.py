"""Bodies of money in: the marketplace events (one schema per type, a union on `type`), fee
plans, orders, and what the API answers about them. Every string and list is bounded.

Amounts come in as integer minor units (`amount_minor`) or an exact decimal string (`amount`),
exactly one of the two; they are read in the order's currency, never rounded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    RootModel,
    StrictInt,
    StringConstraints,
    TypeAdapter,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

from sellerpay.api.fields import CountryCode as Market
from sellerpay.api.fields import CurrencyCode, SellerId
from sellerpay.ledger.schemas import MoneyOut, Rfc3339DateTime
from sellerpay.money import AMOUNT_MINOR_MAX

event_id_length_max: Final = 100
lines_per_order_max: Final = 100
fee_rules_per_plan_max: Final = 100
currencies_per_map_max: Final = 50
reason_length_max: Final = 500
name_length_max: Final = 100

EventId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=event_id_length_max),
    Field(description="Unique per event, 1 to 100 printable characters", examples=["evt_1"]),
]
BusinessId = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,99}$"),
    Field(description="1 to 100 letters, digits, `_ . : -`", examples=["ord_1"]),
]
Category = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_./\-]{0,63}$"),
    Field(examples=["smartphones"]),
]
AmountText = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{1,19}(\.[0-9]{1,19})?$"),
    Field(description="An exact decimal in major units, never rounded", examples=["88.00"]),
]
AmountMinor = Annotated[
    StrictInt,
    Field(gt=0, le=AMOUNT_MINOR_MAX, description="Minor units (cents)", examples=[8800]),
]
Reason = Annotated[str, StringConstraints(max_length=reason_length_max)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Amount(_Strict):
    """Exactly one of `amount_minor` and `amount`."""

    amount_minor: AmountMinor | None = None
    amount: AmountText | None = None

    @model_validator(mode="after")
    def _one_amount(self) -> Self:
        if (self.amount_minor is None) == (self.amount is None):
            raise PydanticCustomError(
                "exactly_one_amount", "give exactly one of amount_minor and amount"
            )
        return self


# --- marketplace events in ---------------------------------------------------------------


class OrderLineIn(_Amount):
    """One line of a paid order: its amount and the category its commission depends on."""

    line_id: BusinessId
    category: Category
    currency: CurrencyCode | None = Field(
        default=None, description="If given, must be the order's currency"
    )


class OrderPaidData(_Strict):
    order_id: BusinessId
    seller_id: SellerId
    currency: CurrencyCode
    market: Market
    lines: list[OrderLineIn] = Field(min_length=1, max_length=lines_per_order_max)
    paid_at: Rfc3339DateTime


class OrderShippedData(_Strict):
    order_id: BusinessId
    shipped_at: Rfc3339DateTime


class OrderDeliveredData(_Strict):
    order_id: BusinessId
    delivered_at: Rfc3339DateTime


class RefundLineIn(_Amount):
    line_id: BusinessId


class OrderRefundedData(_Strict):
    """A refund already executed by the payment provider: by line, or an amount spread over
    the lines by what each has left."""

    order_id: BusinessId
    refund_id: BusinessId
    lines: list[RefundLineIn] | None = Field(
        default=None, min_length=1, max_length=lines_per_order_max
    )
    amount_minor: AmountMinor | None = None
    amount: AmountText | None = None
    currency: CurrencyCode | None = Field(
        default=None, description="If given, must be the order's currency"
    )
    reason: Reason | None = None

    @model_validator(mode="after")
    def _lines_or_amount(self) -> Self:
        given = [self.lines is not None, self.amount_minor is not None, self.amount is not None]
        if sum(given) != 1:
            raise PydanticCustomError(
                "refund_lines_or_amount", "give exactly one of lines, amount_minor and amount"
            )
        return self


class DisputeOpenedData(_Amount):
    dispute_id: BusinessId
    order_id: BusinessId
    currency: CurrencyCode | None = Field(
        default=None, description="If given, must be the order's currency"
    )
    reason: Reason | None = None


class DisputeClosedData(_Strict):
    dispute_id: BusinessId


class AdjustmentData(_Amount):
    """A manual credit or debit of a seller's available balance, asked for by a person."""

    adjustment_id: BusinessId
    seller_id: SellerId
    currency: CurrencyCode
    direction: Literal["credit", "debit"]
    reason: Annotated[str, StringConstraints(min_length=1, max_length=reason_length_max)]
    requested_by: Annotated[
        str,
        StringConstraints(min_length=1, max_length=name_length_max),
        Field(description="Who asked: an approver must be someone else (API key name or id)"),
    ]


class _Envelope(_Strict):
    id: EventId
    occurred_at: Rfc3339DateTime


class OrderPaidEvent(_Envelope):
    """A customer paid an order: the seller's share lands in pending, the fees in revenue."""

    type: Literal["order.paid"]
    data: OrderPaidData


class OrderShippedEvent(_Envelope):
    type: Literal["order.shipped"]
    data: OrderShippedData


class OrderDeliveredEvent(_Envelope):
    """The order was delivered: the holding period (return window) starts."""

    type: Literal["order.delivered"]
    data: OrderDeliveredData


class OrderRefundedEvent(_Envelope):
    """The customer was refunded (in full or in part) by the payment provider."""

    type: Literal["order.refunded"]
    data: OrderRefundedData


class DisputeOpenedEvent(_Envelope):
    """A customer's chargeback: the disputed amount is held."""

    type: Literal["dispute.opened"]
    data: DisputeOpenedData


class DisputeWonEvent(_Envelope):
    type: Literal["dispute.won"]
    data: DisputeClosedData


class DisputeLostEvent(_Envelope):
    type: Literal["dispute.lost"]
    data: DisputeClosedData


class AdjustmentEvent(_Envelope):
    type: Literal["adjustment"]
    data: AdjustmentData


MarketplaceEvent = Annotated[
    OrderPaidEvent
    | OrderShippedEvent
    | OrderDeliveredEvent
    | OrderRefundedEvent
    | DisputeOpenedEvent
    | DisputeWonEvent
    | DisputeLostEvent
    | AdjustmentEvent,
    Field(discriminator="type"),
]
EVENT_MODELS: Final = (
    OrderPaidEvent,
    OrderShippedEvent,
    OrderDeliveredEvent,
    OrderRefundedEvent,
    DisputeOpenedEvent,
    DisputeWonEvent,
    DisputeLostEvent,
    AdjustmentEvent,
)
EVENT_TYPES: Final = (
    "order.paid",
    "order.shipped",
    "order.delivered",
    "order.refunded",
    "dispute.opened",
    "dispute.won",
    "dispute.lost",
    "adjustment",
)


# --- fee plans ---------------------------------------------------------------------------

CurrencyMinorMap = Annotated[
    dict[CurrencyCode, Annotated[StrictInt, Field(ge=0, le=AMOUNT_MINOR_MAX)]],
    Field(max_length=currencies_per_map_max, examples=[{"EUR": 50}]),
]


class FeeRuleIn(_Strict):
    """Commission for the lines of a category in a market; `*` matches any."""

    category: Annotated[
        str,
        StringConstraints(pattern=r"^(\*|[A-Za-z0-9][A-Za-z0-9_./\-]{0,63})$"),
        Field(description="A line category, or `*` for any", examples=["laptops"]),
    ] = "*"
    market: Annotated[
        str,
        StringConstraints(pattern=r"^(\*|[A-Z]{2})$"),
        Field(description="ISO 3166 alpha-2 country code, or `*` for any", examples=["FR"]),
    ] = "*"
    bps: Annotated[StrictInt, Field(ge=0, le=10_000, description="Basis points: 1200 = 12 %")]
    min_minor: CurrencyMinorMap = Field(default_factory=dict)
    max_minor: CurrencyMinorMap = Field(default_factory=dict)


class FeePlanCreate(_Strict):
    """A new version of the platform's default plan (no `seller_id`) or of a seller's own."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=name_length_max)]
    seller_id: SellerId | None = None
    effective_from: Rfc3339DateTime
    rules: list[FeeRuleIn] = Field(min_length=1, max_length=fee_rules_per_plan_max)
    fixed_fee_per_order: CurrencyMinorMap = Field(default_factory=dict)
    refund_policy: Literal["proportional", "retain"] = "proportional"


class FeeRulePublic(BaseModel):
    category: str
    market: str
    bps: int
    min_minor: dict[str, int]
    max_minor: dict[str, int]


class FeePlanPublic(BaseModel):
    """A fee plan version: in force from `effective_from` until a later version supersedes it."""

    id: str = Field(examples=["fp_0190f7c3a1b27c4e"])
    name: str
    version: int
    seller_id: str | None = Field(description="null: the platform's default plan")
    effective_from: datetime
    rules: list[FeeRulePublic]
    fixed_fee_per_order: list[MoneyOut]
    refund_policy: Literal["proportional", "retain"]
    created_by: str
    created_at: datetime


class FeePlanPage(BaseModel):
    fee_plans: list[FeePlanPublic]
    next_cursor: str | None = Field(description="null on the last page")


# --- orders ------------------------------------------------------------------------------


class OrderLinePublic(BaseModel):
    """One line: its amount, the fee taken (commission + share of the fixed fee), refunds."""

    line_id: str
    category: str
    gross: MoneyOut
    bps: int
    commission: MoneyOut
    fixed_fee: MoneyOut
    fee: MoneyOut
    net: MoneyOut
    refunded: MoneyOut
    fee_returned: MoneyOut


class RefundPublic(BaseModel):
    refund_id: str
    amount: MoneyOut
    seller_share: MoneyOut
    fee_returned: MoneyOut
    from_pending: MoneyOut
    from_available: MoneyOut
    reason: str | None
    created_at: datetime


class DisputePublic(BaseModel):
    dispute_id: str
    status: Literal["open", "won", "lost"]
    amount: MoneyOut
    fee: MoneyOut
    opened_at: datetime
    closed_at: datetime | None


class OrderPublic(BaseModel):
    """An order as money in sees it: what was paid, the fees, refunds, disputes and release."""

    order_id: str
    seller_id: str
    market: str
    status: Literal["paid", "partially_refunded", "refunded"]
    gross: MoneyOut
    fee: MoneyOut
    net: MoneyOut
    refunded: MoneyOut
    fee_returned: MoneyOut
    pending: MoneyOut = Field(description="Of this order, still in the seller's pending funds")
    released: MoneyOut
    fee_plan_id: str
    fee_plan_version: int
    paid_at: datetime
    shipped_at: datetime | None
    delivered_at: datetime | None
    release_due_at: datetime
    released_at: datetime | None
    lines: list[OrderLinePublic]
    refunds: list[RefundPublic]
    disputes: list[DisputePublic]


# --- marketplace events: answers ---------------------------------------------------------

IngestStatusName = Literal["applied", "duplicate", "parked", "rejected", "awaiting_approval"]


class IngestResultPublic(BaseModel):
    """What became of one event; a rejected one carries its problem."""

    event_id: str | None = Field(description="null when the event had no usable id")
    status: IngestStatusName
    reason_code: str | None = None
    reason: str | None = None
    waiting_for: str | None = Field(
        default=None, description="Parked: what it waits for, e.g. `order:ord_1`, `seller:sel_9`"
    )
    problem: dict[str, Any] | None = Field(
        default=None, description="An RFC 9457 problem (see Problem), when rejected"
    )


class IngestResultsPublic(BaseModel):
    results: list[IngestResultPublic]


class EventBatchIn(BaseModel):
    """Several events, applied in order (`events` up to `api_batch_size_max`)."""

    events: list[MarketplaceEvent] = Field(max_length=10_000)


class EventsIn(RootModel[Any]):
    """One event or `{"events": [...]}`, as any JSON: each event is checked by the handler,
    so one bad event is stored as rejected instead of refusing the good ones with it. The
    OpenAPI document still shows the full schema (a union on `type`)."""

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        documented = TypeAdapter(MarketplaceEvent | EventBatchIn).core_schema
        return handler(documented)


class ConflictingBodyPublic(BaseModel):
    body: dict[str, Any]
    body_hash: str
    source: str
    received_at: datetime


class MarketplaceEventSummary(BaseModel):
    id: str
    type: str | None
    status: IngestStatusName
    reason_code: str | None
    reason: str | None
    waiting_for: str | None
    source: Literal["http", "amqp", "replay"]
    occurred_at: datetime | None
    received_at: datetime
    applied_at: datetime | None
    attempts: int


class MarketplaceEventPublic(MarketplaceEventSummary):
    """An event as received, what became of it, and any other body sent under its id."""

    body: dict[str, Any]
    body_hash: str
    conflicting_bodies: list[ConflictingBodyPublic]


class MarketplaceEventPage(BaseModel):
    events: list[MarketplaceEventSummary]
    next_cursor: str | None = Field(description="null on the last page")


# --- adjustments -------------------------------------------------------------------------


class AdjustmentDecision(_Strict):
    note: Reason | None = None


class AdjustmentPublic(BaseModel):
    adjustment_id: str
    seller_id: str
    direction: Literal["credit", "debit"]
    amount: MoneyOut
    reason: str
    requested_by: str
    status: Literal["awaiting_approval", "applied", "rejected"]
    decided_by: str | None
    decision_note: str | None
    decided_at: datetime | None
    created_at: datetime
