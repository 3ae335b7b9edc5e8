"""Builders shared by the balances tests: sellers, postings on their ledger accounts made with
the ledger service (so these tests do not depend on settlement's event handling), API keys.

Imported by the test modules of this folder (pytest puts the folder on `sys.path`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.ledger.rules import EntryRequest, Side, TransactionRequest
from sellerpay.ledger.service import PostStatus, post_many
from sellerpay.money import Money

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def account(seller_id: str, purpose: str) -> str:
    return f"seller:{seller_id}:{purpose}"


def _leg(code: str, side: Side, amount_minor: int, currency: str) -> EntryRequest:
    return EntryRequest(code, side, Money(amount_minor, currency))


@dataclass
class SellerLedger:
    """Posts the money-in movements of one seller, each effective one minute after the last."""

    db: Database
    clock: FixedClock
    seller_id: str
    currency: str = "EUR"
    at: datetime = T0
    order_ids: list[str] = field(default_factory=list)

    def _post(self, kind: str, entries: list[EntryRequest], **references: str) -> datetime:
        self.at += timedelta(minutes=1)
        return self.post_at(self.at, kind, entries, **references)

    def post_at(
        self, at: datetime, kind: str, entries: list[EntryRequest], **references: str
    ) -> datetime:
        request = TransactionRequest(
            idempotency_key=unique(kind),
            kind=kind,
            entries=tuple(entries),
            effective_at=at,
            references=references,
            description=f"{kind} for {self.seller_id}",
        )
        (result,) = post_many(self.db, [request], clock=self.clock)
        assert result.status is PostStatus.POSTED, result.error
        return at

    def leg(self, purpose: str, side: Side, amount_minor: int) -> EntryRequest:
        code = purpose if ":" in purpose else account(self.seller_id, purpose)
        return _leg(code, side, amount_minor, self.currency)

    def order_paid(self, net_minor: int, fee_minor: int = 0, order_id: str = "") -> str:
        """A customer paid: the seller's share is pending, the commission is revenue."""
        order_id = order_id or unique("ord")
        self.order_ids.append(order_id)
        entries = [
            self.leg("platform:psp_clearing", Side.DEBIT, net_minor + fee_minor),
            self.leg("pending", Side.CREDIT, net_minor),
        ]
        if fee_minor:
            entries.append(self.leg("platform:revenue:commission", Side.CREDIT, fee_minor))
        self._post("order.paid", entries, order_id=order_id)
        return order_id

    def release(self, amount_minor: int, order_id: str = "") -> None:
        self._post(
            "release",
            [self.leg("pending", Side.DEBIT, amount_minor),
             self.leg("available", Side.CREDIT, amount_minor)],
            order_id=order_id or unique("ord"),
        )  # fmt: skip

    def refund_after_release(self, amount_minor: int, order_id: str = "") -> None:
        self._post(
            "order.refunded",
            [self.leg("available", Side.DEBIT, amount_minor),
             self.leg("platform:refunds_payable", Side.CREDIT, amount_minor)],
            order_id=order_id or unique("ord"),
            refund_id=unique("ref"),
        )  # fmt: skip

    def dispute_opened(self, amount_minor: int) -> None:
        self._post(
            "dispute.opened",
            [self.leg("available", Side.DEBIT, amount_minor),
             self.leg("dispute_hold", Side.CREDIT, amount_minor)],
            dispute_id=unique("dp"),
        )  # fmt: skip

    def reserve_held(self, amount_minor: int) -> None:
        self._post(
            "reserve.held",
            [self.leg("available", Side.DEBIT, amount_minor),
             self.leg("reserve", Side.CREDIT, amount_minor)],
        )  # fmt: skip


def money(amount_minor: int, currency: str = "EUR") -> dict[str, Any]:
    """A `MoneyOut` as the API writes it."""
    amount = Money(amount_minor, currency)
    places = amount.exponent
    return {
        "amount_minor": amount_minor,
        "currency": currency,
        "exponent": places,
        "amount": f"{amount.to_decimal():.{places}f}",
    }
