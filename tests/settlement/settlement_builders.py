"""Builders of the money-in tests: a seller with its own fee plan, marketplace events as the
marketplace sends them, and the balances of a seller's accounts.

Imported by the test modules of this folder (pytest puts the folder on `sys.path`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sellerpay.clock import Clock
from sellerpay.db import Database
from sellerpay.ledger.service import balances_of
from sellerpay.money import Money
from sellerpay.sellers.rules import RiskTier
from sellerpay.sellers.service import create_seller
from sellerpay.settlement import service
from sellerpay.settlement.rules import FeeRule, RefundPolicy
from sellerpay.settlement.service import IngestResult, IngestStatus
from sellerpay.settlement.state import FeePlanRecord

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
"""When the tests' orders are paid (the `clock` fixture's start)."""
PLAN_START = T0 - timedelta(days=365)
COMMISSION_BPS = 1_200  # 12 % on anything…
LAPTOP_BPS = 800  # …but laptops, 8 %
FIXED_FEE_EUR = 30  # per order, shared across its lines


def unique(label: str) -> str:
    """An id no other test uses (the `db` fixture is shared by the whole run)."""
    return f"{label}_{uuid.uuid4().hex[:20]}"


def open_seller(
    db: Database,
    clock: Clock,
    seller_id: str,
    *,
    risk_tier: RiskTier = RiskTier.STANDARD,
    refund_policy: RefundPolicy = RefundPolicy.PROPORTIONAL,
    with_plan: bool = True,
) -> str:
    """A seller in France with their own fee plan (so tests never depend on the platform's)."""
    create_seller(
        db, seller_id=seller_id, legal_name="Refurb SAS", country="FR", risk_tier=risk_tier,
        clock=clock,
    )  # fmt: skip
    if with_plan:
        give_plan(db, clock, seller_id, refund_policy=refund_policy)
    return seller_id


def give_plan(
    db: Database,
    clock: Clock,
    seller_id: str | None,
    *,
    refund_policy: RefundPolicy = RefundPolicy.PROPORTIONAL,
    bps: int = COMMISSION_BPS,
    effective_from: datetime = PLAN_START,
) -> FeePlanRecord:
    return service.create_fee_plan(
        db,
        name="standard",
        seller_id=seller_id,
        effective_from=effective_from,
        rules=[FeeRule(bps=bps), FeeRule(category="laptops", bps=LAPTOP_BPS)],
        fixed_fee_per_order={"EUR": FIXED_FEE_EUR, "JPY": 50},
        refund_policy=refund_policy,
        created_by="finance test",
        clock=clock,
    )


def envelope(
    type: str, data: dict[str, Any], *, event_id: str | None = None, occurred_at: datetime = T0
) -> dict[str, Any]:
    return {
        "id": event_id or unique("evt"),
        "type": type,
        "occurred_at": occurred_at.isoformat(),
        "data": data,
    }


def paid(
    order_id: str,
    seller_id: str,
    lines: Sequence[tuple[str, int] | tuple[str, int, str]] = (("l1", 10_000),),
    *,
    currency: str = "EUR",
    market: str = "FR",
    paid_at: datetime = T0,
    event_id: str | None = None,
) -> dict[str, Any]:
    """order.paid with `lines` of (line id, minor units[, category]); category phones by default."""
    body_lines = [
        {
            "line_id": line[0],
            "amount_minor": line[1],
            "category": line[2] if len(line) > 2 else "phones",
        }
        for line in lines
    ]
    data = {
        "order_id": order_id,
        "seller_id": seller_id,
        "currency": currency,
        "market": market,
        "lines": body_lines,
        "paid_at": paid_at.isoformat(),
    }
    return envelope("order.paid", data, event_id=event_id, occurred_at=paid_at)


def delivered(order_id: str, at: datetime, *, event_id: str | None = None) -> dict[str, Any]:
    return envelope(
        "order.delivered",
        {"order_id": order_id, "delivered_at": at.isoformat()},
        event_id=event_id,
        occurred_at=at,
    )


def shipped(order_id: str, at: datetime) -> dict[str, Any]:
    return envelope("order.shipped", {"order_id": order_id, "shipped_at": at.isoformat()})


def refunded(
    order_id: str,
    refund_id: str,
    *,
    amount_minor: int | None = None,
    lines: dict[str, int] | None = None,
    event_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """order.refunded by amount (`amount_minor`) or by line (`lines`: line id → minor units)."""
    data: dict[str, Any] = {"order_id": order_id, "refund_id": refund_id, **extra}
    if amount_minor is not None:
        data["amount_minor"] = amount_minor
    if lines is not None:
        data["lines"] = [{"line_id": k, "amount_minor": v} for k, v in lines.items()]
    return envelope("order.refunded", data, event_id=event_id)


def dispute_opened(
    dispute_id: str, order_id: str, amount_minor: int, *, event_id: str | None = None
) -> dict[str, Any]:
    data = {"dispute_id": dispute_id, "order_id": order_id, "amount_minor": amount_minor}
    return envelope("dispute.opened", data, event_id=event_id)


def dispute_closed(dispute_id: str, outcome: str, *, event_id: str | None = None) -> dict[str, Any]:
    return envelope(f"dispute.{outcome}", {"dispute_id": dispute_id}, event_id=event_id)


def adjustment(
    adjustment_id: str,
    seller_id: str,
    amount_minor: int,
    *,
    direction: str = "credit",
    requested_by: str = "alice",
    currency: str = "EUR",
    event_id: str | None = None,
) -> dict[str, Any]:
    data = {
        "adjustment_id": adjustment_id,
        "seller_id": seller_id,
        "currency": currency,
        "direction": direction,
        "amount_minor": amount_minor,
        "reason": "goodwill gesture",
        "requested_by": requested_by,
    }
    return envelope("adjustment", data, event_id=event_id)


def send(
    db: Database, clock: Clock, *events: dict[str, Any], source: str = "http"
) -> list[IngestResult]:
    return service.ingest_events(db, list(events), source=source, clock=clock)


def statuses(results: Sequence[IngestResult]) -> list[str]:
    return [r.status.value for r in results]


def applied(results: Sequence[IngestResult]) -> bool:
    return all(r.status is IngestStatus.APPLIED for r in results)


@dataclass(frozen=True)
class SellerBalances:
    """A seller's accounts in one currency, in minor units (available may be negative)."""

    pending: int
    available: int
    dispute_hold: int

    @property
    def total(self) -> int:
        return self.pending + self.available + self.dispute_hold


def seller_balances(db: Database, seller_id: str, currency: str = "EUR") -> SellerBalances:
    names = ("pending", "available", "dispute_hold")
    keys = [(f"seller:{seller_id}:{name}", currency) for name in names]
    found = balances_of(db, keys)
    return SellerBalances(*(found[key].amount_minor for key in keys))


PLATFORM_ACCOUNTS = (
    "platform:psp_clearing",
    "platform:revenue:commission",
    "platform:revenue:dispute_fees",
    "platform:refunds_payable",
    "platform:adjustments",
)


def platform_balances(db: Database, currency: str = "EUR") -> dict[str, int]:
    found = balances_of(db, [(code, currency) for code in PLATFORM_ACCOUNTS])
    return {code: money.amount_minor for (code, _), money in found.items()}


def eur(amount_minor: int) -> Money:
    return Money(amount_minor, "EUR")


PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Keys:
    """Plaintext API keys, by who holds them; `approver_name` is the approver key's name."""

    marketplace: str
    operator: str
    approver: str
    approver_name: str
    finance: str
    compliance: str
    seller: str
    other_seller: str

    def of(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {getattr(self, who)}"}
