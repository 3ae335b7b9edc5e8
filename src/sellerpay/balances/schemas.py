"""Response bodies of the balances API: a seller's balances and balance transactions."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from sellerpay.balances.rules import SellerAccount, SourceCategory
from sellerpay.ledger.schemas import MoneyOut


class SellerBalancePublic(BaseModel):
    """A seller's money in one currency. Every amount is on the seller's side (+ owed to them)."""

    currency: str = Field(examples=["EUR"])
    exponent: int = Field(examples=[2])
    pending: MoneyOut = Field(description="From paid orders, not yet released")
    available: MoneyOut = Field(description="Released, may be paid out; negative after refunds")
    reserved: MoneyOut = Field(description="Withheld by a risk rule (`seller:<id>:reserve`)")
    dispute_hold: MoneyOut = Field(description="Blocked while a customer's dispute is open")
    in_transit: MoneyOut = Field(
        description="Paid out, not yet confirmed by the bank. Always zero until payouts exist"
    )
    negative_to_recover: MoneyOut = Field(
        description="-available when available is negative (recovered from later sales), else 0"
    )
    last_movement_at: datetime | None = Field(
        description="The latest effective time of the entries on the seller's accounts"
    )


class SellerBalancesPublic(BaseModel):
    """A seller's balances, one per currency held (the default currency at least)."""

    seller_id: str
    balances: list[SellerBalancePublic]
    last_movement_at: datetime | None = Field(description="The newest of all currencies")


class LineFeePublic(BaseModel):
    """The fee breakdown of one order line: `commission + fixed_fee = fee`, `fee + net = gross`,
    with what was refunded of it since and the part of the fee given back."""

    line_id: str
    category: str = Field(examples=["smartphones"])
    gross: MoneyOut
    bps: int = Field(description="Commission rate in basis points (1200 = 12%)")
    commission: MoneyOut
    fixed_fee: MoneyOut
    fee: MoneyOut
    net: MoneyOut
    refunded: MoneyOut
    fee_returned: MoneyOut


class BalanceTransactionPublic(BaseModel):
    """One movement on one of the seller's accounts, with that account's balance after it."""

    id: str = Field(examples=["bt_0190f7c3a1b27c4e8d1a2b3c4d5e6f70_1"])
    transaction_id: UUID = Field(description="The ledger transaction it belongs to")
    type: str = Field(
        description="The ledger transaction's kind", examples=["order.paid", "order.refunded"]
    )
    category: SourceCategory
    account: SellerAccount
    amount: MoneyOut = Field(description="Signed: + money owed to the seller, - money taken")
    balance_after: MoneyOut = Field(
        description="The account's balance right after this movement, in posting order"
    )
    effective_at: datetime
    posted_at: datetime
    description: str
    references: dict[str, str] = Field(examples=[{"order_id": "ord_1234"}])
    fee_breakdown: list[LineFeePublic] | None = Field(
        description="For order movements: the fee of each order line; null otherwise"
    )


class BalanceTransactionPage(BaseModel):
    """A page of a seller's movements, newest first; pass `next_cursor` to read older ones."""

    seller_id: str
    balance_transactions: list[BalanceTransactionPublic]
    next_cursor: str | None = Field(description="null on the last page")
