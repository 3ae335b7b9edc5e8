"""Pure rules of a seller's balances: which accounts count, how movements are signed and named.

A seller's money sits on four ledger accounts per currency (`seller:<id>:pending`, `available`,
`dispute_hold`, `reserve`), all liabilities: a credit is money owed to the seller (+), a debit
money taken away (-). The kind of the ledger transaction says where a movement came from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from sellerpay.errors import InvariantViolation
from sellerpay.ledger.rules import Side
from sellerpay.money import Money


class SellerAccount(StrEnum):
    """The seller's accounts whose movements are balance transactions (in chart order)."""

    PENDING = "pending"
    AVAILABLE = "available"
    DISPUTE_HOLD = "dispute_hold"
    RESERVE = "reserve"


class SourceCategory(StrEnum):
    """Where a movement comes from, for people: one word per family of transaction kinds."""

    ORDER = "order"
    REFUND = "refund"
    FEE = "fee"
    DISPUTE = "dispute"
    ADJUSTMENT = "adjustment"
    PAYOUT = "payout"
    RELEASE = "release"


_ACCOUNT_CODE: Final = re.compile(
    r"seller:(?P<seller>sel_[0-9A-Za-z]{1,64}):(?P<purpose>pending|available|dispute_hold|reserve)"
)
# A movement of a kind on an account first (a lost dispute charges its fee to available, in the
# same transaction that gives the held amount back to the customer), then exact kinds, then
# prefixes; a kind named by none of them is a manual posting: an adjustment.
_CATEGORY_OF_MOVEMENT: Final[Mapping[tuple[str, SellerAccount], SourceCategory]] = {
    ("dispute.lost", SellerAccount.AVAILABLE): SourceCategory.FEE,
}
_CATEGORY_OF_KIND: Final[Mapping[str, SourceCategory]] = {
    "order.paid": SourceCategory.ORDER,
    "order.refunded": SourceCategory.REFUND,
    "refund.executed": SourceCategory.REFUND,
    "release": SourceCategory.RELEASE,
    "dispute.fee": SourceCategory.FEE,
    "reversal": SourceCategory.ADJUSTMENT,
}
_CATEGORY_OF_PREFIX: Final[tuple[tuple[str, SourceCategory], ...]] = (
    ("order.", SourceCategory.ORDER),
    ("refund.", SourceCategory.REFUND),
    ("funds.", SourceCategory.RELEASE),
    ("release.", SourceCategory.RELEASE),
    ("dispute.", SourceCategory.DISPUTE),
    ("fee.", SourceCategory.FEE),
    ("payout.", SourceCategory.PAYOUT),
    ("adjustment", SourceCategory.ADJUSTMENT),
)


def account_code(seller_id: str, account: SellerAccount) -> str:
    """The ledger code of one of the seller's accounts: `seller:sel_42:available`."""
    return f"seller:{seller_id}:{account.value}"


def seller_account_codes(seller_id: str) -> tuple[str, ...]:
    return tuple(account_code(seller_id, account) for account in SellerAccount)


def seller_account_of(code: str) -> SellerAccount:
    """Which of a seller's accounts `code` is; a code of no seller account is a bug upstream."""
    match = _ACCOUNT_CODE.fullmatch(code)
    if match is None:
        raise InvariantViolation(f"{code!r} is not a seller's balance account")
    return SellerAccount(match["purpose"])


def source_category(kind: str, account: SellerAccount | None = None) -> SourceCategory:
    """The category of a movement of a ledger transaction kind (on `account`): `order.refunded`
    → refund, `payout.sent` → payout, the fee of a lost dispute → fee; a kind no rule names (a
    manual posting) is an adjustment."""
    if account is not None and (kind, account) in _CATEGORY_OF_MOVEMENT:
        return _CATEGORY_OF_MOVEMENT[(kind, account)]
    exact = _CATEGORY_OF_KIND.get(kind)
    if exact is not None:
        return exact
    for prefix, category in _CATEGORY_OF_PREFIX:
        if kind.startswith(prefix):
            return category
    return SourceCategory.ADJUSTMENT


def signed_amount(side: Side, amount: Money) -> Money:
    """A movement on the seller's side: + when the platform owes the seller more (a credit on
    these liability accounts), - when it owes less."""
    return amount if side is Side.CREDIT else -amount


def negative_to_recover(available: Money) -> Money:
    """What later sales must recover first: -available when available is below zero, else 0."""
    return -available if available.is_negative() else Money.zero(available.currency)


@dataclass(frozen=True, slots=True)
class SellerBalance:
    """A seller's money in one currency.

    `in_transit` is zero until payouts exist (no account holds a seller's payouts in flight yet).
    """

    currency: str
    pending: Money
    available: Money
    reserved: Money
    dispute_hold: Money
    in_transit: Money
    negative_to_recover: Money
    last_movement_at: datetime | None


def seller_balance(
    currency: str,
    balances: Mapping[SellerAccount, Money],
    *,
    last_movement_at: datetime | None,
) -> SellerBalance:
    """Assemble the balance in `currency` from the accounts' balances (a missing account is 0)."""
    zero = Money.zero(currency)

    def of(account: SellerAccount) -> Money:
        money = balances.get(account, zero)
        if money.currency != currency:
            raise InvariantViolation(f"{account} holds {money.currency}, not {currency}")
        return money

    available = of(SellerAccount.AVAILABLE)
    return SellerBalance(
        currency=currency,
        pending=of(SellerAccount.PENDING),
        available=available,
        reserved=of(SellerAccount.RESERVE),
        dispute_hold=of(SellerAccount.DISPUTE_HOLD),
        in_transit=zero,
        negative_to_recover=negative_to_recover(available),
        last_movement_at=last_movement_at,
    )


_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """Keep a spreadsheet from running text as a formula (CSV injection): a cell starting with
    = + - @ tab or CR gets a leading apostrophe."""
    return "'" + value if value.startswith(_FORMULA_START) else value
