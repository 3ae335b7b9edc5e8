"""Pure rules about sellers: statuses and their transitions, risk tiers, countries, currencies."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

from babel.numbers import get_territory_currencies

from sellerpay.errors import InvalidInput

SELLER_ID: Final = re.compile(r"sel_[0-9A-Za-z]{1,64}")
legal_name_length_max: Final = 200


class SellerStatus(StrEnum):
    ACTIVE = "active"
    RESTRICTED = "restricted"  # may not be paid out; money in still lands
    CLOSED = "closed"  # final


class RiskTier(StrEnum):
    """How long funds are held after delivery (the days come from settings)."""

    LOW = "low"
    STANDARD = "standard"
    HIGH = "high"


_TRANSITIONS: Final[dict[SellerStatus, frozenset[SellerStatus]]] = {
    SellerStatus.ACTIVE: frozenset({SellerStatus.RESTRICTED, SellerStatus.CLOSED}),
    SellerStatus.RESTRICTED: frozenset({SellerStatus.ACTIVE, SellerStatus.CLOSED}),
    SellerStatus.CLOSED: frozenset(),
}


def check_status_change(current: SellerStatus, new: SellerStatus) -> None:
    """Raise `InvalidInput(status_transition)` unless `current` may become `new`."""
    if new != current and new not in _TRANSITIONS[current]:
        raise InvalidInput(
            f"a {current.value} seller cannot become {new.value}",
            code="status_transition",
            current=current.value,
            requested=new.value,
        )


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a seller may do now. Provisional: derived from the status alone until onboarding
    requirements exist; `disabled_reason` says why something is off (None when all is on)."""

    payouts_enabled: bool
    sales_enabled: bool
    disabled_reason: str | None


def capabilities(status: SellerStatus) -> Capabilities:
    """Active: all on. Restricted: money in still lands, no payouts. Closed: nothing new."""
    if status is SellerStatus.ACTIVE:
        return Capabilities(payouts_enabled=True, sales_enabled=True, disabled_reason=None)
    if status is SellerStatus.RESTRICTED:
        return Capabilities(
            payouts_enabled=False, sales_enabled=True, disabled_reason="seller_restricted"
        )
    return Capabilities(payouts_enabled=False, sales_enabled=False, disabled_reason="seller_closed")


def check_seller_id(seller_id: str) -> None:
    if not SELLER_ID.fullmatch(seller_id):
        raise InvalidInput(
            f"{seller_id[:80]!r} is not a seller id: sel_ then 1 to 64 letters or digits",
            code="invalid_seller_id",
        )


def country_currency(country: str, *, on: date) -> str:
    """The currency of an ISO 3166 alpha-2 country on a date (CLDR), or `InvalidInput`."""
    currencies = get_territory_currencies(country, on) if re.fullmatch(r"[A-Z]{2}", country) else []
    if not currencies:
        raise InvalidInput(
            f"{country[:10]!r} is not an ISO 3166 country code with a currency",
            code="invalid_country",
        )
    return str(currencies[0])
