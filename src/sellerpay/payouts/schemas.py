"""Request and response bodies of the payouts API: one schema per purpose, every string bounded."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from sellerpay.api.fields import CurrencyCode, SellerId
from sellerpay.ledger.schemas import MoneyOut
from sellerpay.payouts.rules import PayoutStatus

description_length_max: Final = 140
note_length_max: Final = 500

NO_NUL: Final = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL: refused, never stored
Note = Annotated[str, StringConstraints(max_length=note_length_max, pattern=NO_NUL)]


class PayoutCreate(BaseModel):
    """A payout now. Sellers ask for their own (`on_demand`); operators may make a `manual`
    payout, which always needs an approver."""

    model_config = ConfigDict(extra="forbid")

    seller_id: SellerId
    currency: CurrencyCode = Field(description="The balance to pay from")
    amount_minor: int | None = Field(
        default=None, gt=0, description="Minor units; default: the whole available balance"
    )
    bank_account_id: Annotated[str, StringConstraints(max_length=40, pattern=NO_NUL)] | None = (
        Field(
            default=None, description="Default: the seller's default bank account for the currency"
        )
    )
    kind: Literal["on_demand", "manual"] = "on_demand"
    description: Annotated[
        str, StringConstraints(max_length=description_length_max, pattern=NO_NUL)
    ] = ""


class PayoutDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Note = ""


class PayoutPublic(BaseModel):
    """A payout: what left the balance (`source`), what reaches the bank account (`amount`)."""

    id: str
    seller_id: str
    kind: str
    status: PayoutStatus
    amount: MoneyOut
    source: MoneyOut
    fx_rate: str | None = Field(description="Mid rate used when the currencies differ")
    fx_margin: MoneyOut | None
    bank_account_id: str
    bank_account: str = Field(description="Masked: only the last 4 characters")
    rail: str
    end_to_end_id: str
    run_id: str | None
    description: str
    execution_date: date
    approval_reasons: list[str]
    requested_by: str
    approved_by: str | None
    status_reason_code: str | None
    status_reason_text: str | None
    return_fee: MoneyOut | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    paid_at: datetime | None
    closed_at: datetime | None


class PayoutPage(BaseModel):
    data: list[PayoutPublic]
    next_cursor: str | None


class CompositionLine(BaseModel):
    """A balance transaction (or the part of it) that a payout pays."""

    transaction_id: str
    kind: str
    amount: MoneyOut
    partial: bool = Field(description="Only part of the movement: the rest is in another payout")
    references: dict[str, str]


class PayoutComposition(BaseModel):
    payout_id: str
    amount: MoneyOut = Field(description="The source amount: the lines sum to it exactly")
    lines: list[CompositionLine]


class PayoutRunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run_on: date
    run_key: (
        Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)] | None
    ) = Field(default=None, description="Default: `scheduled:<run_on>`: the same day runs once")


class PayoutRunPublic(BaseModel):
    id: str
    run_key: str
    run_on: date
    status: str
    due_count: int
    payout_count: int
    skip_count: int
    totals: dict[str, int] = Field(description="Minor units paid per currency")
    skips_by_reason: dict[str, int]


class SkipPublic(BaseModel):
    """Why a due seller was not paid in a run."""

    run_id: str
    seller_id: str
    currency: str
    reason: str
    detail: str
    available: MoneyOut
    created_at: datetime


class SkipPage(BaseModel):
    data: list[SkipPublic]


class ScheduleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    interval: Literal["daily", "weekly", "monthly", "manual"]
    weekday: int | None = Field(default=None, ge=0, le=6, description="0 = Monday (weekly)")
    day_of_month: int | None = Field(
        default=None, ge=0, le=31, description="1..31, or 0 for the last day (monthly)"
    )
    minimum_minor: int = Field(default=0, ge=0)


class SchedulePublic(BaseModel):
    seller_id: str
    currency: str
    interval: str
    weekday: int | None
    day_of_month: int | None
    minimum: MoneyOut
