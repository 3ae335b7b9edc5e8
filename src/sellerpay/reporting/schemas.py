"""Response bodies of the reporting API: a seller's statement, and the finance reports."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, Field

from sellerpay.ledger.schemas import MoneyOut
from sellerpay.reporting.rules import StatementCategory


class SellerAccountsPublic(BaseModel):
    """The seller's accounts in the statement's currency, and their sum."""

    pending: MoneyOut
    available: MoneyOut
    reserved: MoneyOut
    dispute_hold: MoneyOut
    total: MoneyOut


class StatementLinePublic(BaseModel):
    """What one transaction did to the seller's money under one category. The account fields
    are each account's change (null when untouched); `amount` is their sum."""

    transaction_id: UUID
    effective_at: datetime
    posted_at: datetime
    type: str = Field(description="The ledger transaction's kind", examples=["order.paid"])
    category: StatementCategory
    description: str
    references: dict[str, str] = Field(examples=[{"order_id": "ord_1234"}])
    pending: MoneyOut | None
    available: MoneyOut | None
    reserved: MoneyOut | None
    dispute_hold: MoneyOut | None
    gross: MoneyOut | None = Field(description="For orders: what the customer paid")
    fee: MoneyOut | None = Field(description="For orders: the marketplace's fee")
    amount: MoneyOut = Field(description="+ owed to the seller, - taken; 0 for internal moves")
    balance_after: MoneyOut = Field(description="The seller's total after this line")


class SellerStatementPublic(BaseModel):
    """A seller's statement: opening + the lines' amounts = closing (checked when built)."""

    seller_id: str
    legal_name: str
    currency: str
    language: str = Field(examples=["fr"])
    locale: str = Field(examples=["fr_FR"])
    period_start: datetime | None = Field(description="null: since the first movement")
    period_end: datetime = Field(description="Exclusive")
    generated_at: datetime
    opening: SellerAccountsPublic
    closing: SellerAccountsPublic
    lines: list[StatementLinePublic]


class CashDayPublic(BaseModel):
    """A bank account's position at the end of one UTC day."""

    day: date
    account: str = Field(examples=["platform:bank:main"])
    currency: str
    opening: MoneyOut
    money_in: MoneyOut
    money_out: MoneyOut
    closing: MoneyOut


class CashPositionPublic(BaseModel):
    start: date
    end: date
    days: list[CashDayPublic]


class LiabilitiesPublic(BaseModel):
    """What the platform owes sellers in one currency."""

    currency: str
    pending: MoneyOut
    available: MoneyOut = Field(description="Net of negative balances")
    negative_to_recover: MoneyOut = Field(description="What sellers with negative balances owe")
    sellers_negative: int
    reserved: MoneyOut
    dispute_hold: MoneyOut
    in_transit: MoneyOut = Field(description="Paid out, not yet confirmed by the bank")
    total: MoneyOut


class SellerLiabilitiesPublic(BaseModel):
    before: datetime | None = Field(description="null: now")
    currencies: list[LiabilitiesPublic]


class RevenueLinePublic(BaseModel):
    account: str = Field(examples=["platform:revenue:commission"])
    kind: str = Field(examples=["commission"])
    currency: str
    credits: MoneyOut
    debits: MoneyOut
    earned: MoneyOut = Field(description="credits - debits")


class RevenuePublic(BaseModel):
    start: datetime
    end: datetime = Field(description="Exclusive")
    lines: list[RevenueLinePublic]
    totals: list[MoneyOut] = Field(description="Earned, per currency")


class TrialBalanceLinePublic(BaseModel):
    line: str = Field(examples=["seller:*:available", "platform:bank:main"])
    currency: str
    kind: str
    accounts: int
    debits: MoneyOut
    credits: MoneyOut
    balance: MoneyOut = Field(description="On the normal side of the kind")


class CurrencyTotalsPublic(BaseModel):
    currency: str
    debits: MoneyOut
    credits: MoneyOut
    difference: MoneyOut = Field(description="debits - credits: always zero")


class TrialBalancePublic(BaseModel):
    """Every account's totals by line of the chart; the totals balance in every currency."""

    before: datetime | None = Field(description="null: now")
    lines: list[TrialBalanceLinePublic]
    totals: list[CurrencyTotalsPublic]
    balanced: bool
