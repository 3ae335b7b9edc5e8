"""The marketplace's producers of money-in events, day by day, from the run's dice.

Sellers in France, Spain, the US and Japan sell refurbished electronics. Each simulated day the
marketplace produces its events (orders paid, shipped, delivered, refunded — some after the
funds were released and paid out, leaving a negative balance —, disputes opened, won and
lost, a few manual adjustments) with the faults real producers have (`MarketplaceFaults`):
duplicates, events that arrive days late or in another order than they happened, sellers
created here after their first orders, invalid events. The world sends them through the one
event handler that serves the HTTP and RabbitMQ doors (`settlement.service.ingest_events`).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sellerpay.clock import Clock
from sellerpay.db import Database
from sellerpay.money import Money
from sellerpay.settlement.rules import FeeRule
from sellerpay.settlement.service import IngestResult, IngestStatus, create_fee_plan
from sellerpay.simulation.faults import MarketplaceFaults
from sellerpay.simulation.population import SimSeller

__all__ = ["LATE_SELLER_DAYS", "Marketplace", "MoneyIn", "Order"]

# category -> commission in basis points
CATEGORIES: Final = {"smartphone": 1200, "laptop": 800, "tablet": 1000, "accessory": 1500}
PRICE_RANGE: Final = {"EUR": (40, 900), "USD": (45, 1000), "JPY": (4_000, 120_000)}
FIXED_FEE: Final = {"EUR": 50, "USD": 50, "JPY": 50}
LATE_SELLER_DAYS: Final = 3  # late sellers are created here only days after their first sale
RECENT_DAYS: Final = 20  # orders that may still be refunded or disputed
rates: Final = {
    "refund": 0.005,  # per order and day, while recent
    "partial_refund": 0.3,
    "dispute": 0.0006,  # per order and day, while recent
    "dispute_lost": 0.4,
    "never_delivered": 0.03,
    "adjustment": 0.2,  # per day
}


@dataclass(slots=True)
class Order:
    id: str
    seller: SimSeller
    lines: list[tuple[str, str, int]]  # (line id, category, amount in minor units)
    paid_on: int  # day number
    refunded: bool = False

    @property
    def gross_minor(self) -> int:
        return sum(amount for _, _, amount in self.lines)


@dataclass(slots=True)
class MoneyIn:
    """What the marketplace sent and what became of it (first answer per event sent)."""

    orders: int = 0
    refunds: int = 0
    disputes: int = 0
    events_sent: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    parked_then_applied: int = 0
    rejected_reasons: Counter[str] = field(default_factory=Counter)
    paid_by_customers: Counter[str] = field(default_factory=Counter)  # currency -> minor
    released: Counter[str] = field(default_factory=Counter)


class Marketplace:
    """The simulated marketplace: it decides what happens and when its events arrive."""

    def __init__(
        self,
        sellers: Sequence[SimSeller],
        *,
        rng: random.Random,
        faults: MarketplaceFaults,
        run_id: str,
        orders_per_seller_day: float,
    ) -> None:
        self.sellers = list(sellers)
        self.random = rng
        self.faults = faults
        self.run_id = run_id
        self.orders_per_seller_day = orders_per_seller_day
        self.late = {s.id for s in self.sellers if rng.random() < faults.late_seller_rate}
        self.orders: list[Order] = []
        self.money_in = MoneyIn()
        self.sent_ids: set[str] = set()
        self._agenda: dict[int, list[dict[str, Any]]] = {}  # day -> events arriving that day
        self._day = 0
        self._now = datetime.min
        self._event_seq = 0

    def open(self, db: Database, clock: Clock) -> None:
        """Day zero: the platform's fee plan."""
        create_fee_plan(
            db,
            name="Refurbished electronics 2026",
            effective_from=clock.now(),
            rules=[
                FeeRule(category=c, bps=bps, min_minor={"EUR": 100, "USD": 100, "JPY": 100})
                for c, bps in CATEGORIES.items()
            ],
            fixed_fee_per_order=FIXED_FEE,
            created_by="simulation",
            clock=clock,
        )

    def events_of(self, day: int, now: datetime) -> list[dict[str, Any]]:
        """What happens on `day` (at `now`), and the events that arrive that day: today's and
        those delayed from earlier days; shuffled when the `reordered` fault strikes."""
        self._day, self._now = day, now
        self._sell()
        self._refund_and_dispute()
        if self.random.random() < rates["adjustment"]:
            self._adjust()
        if self.random.random() < self.faults.invalid_rate:
            self._invalid()
        arriving = self._agenda.pop(day, [])
        if self.random.random() < self.faults.reordered_rate:
            self.random.shuffle(arriving)
        self.money_in.events_sent += len(arriving)
        self.sent_ids.update(event["id"] for event in arriving)
        return arriving

    def record(self, results: Sequence[IngestResult], *, retried: bool = False) -> None:
        """Count the answers: the first answer per event sent, and parked events applied."""
        for result in results:
            if retried or result.event_id is None:
                if result.status is IngestStatus.APPLIED:
                    self.money_in.parked_then_applied += 1
                continue
            self.money_in.statuses[result.status.value] += 1
            if result.status is IngestStatus.REJECTED and result.reason_code:
                self.money_in.rejected_reasons[result.reason_code] += 1

    # --- producers ------------------------------------------------------------------------

    def _at(self, day: int, event_type: str, data: dict[str, Any]) -> None:
        """An event happening on `day`; it may arrive later, or twice."""
        self._event_seq += 1
        moment = self._now + timedelta(days=day - self._day, minutes=self._event_seq % 600)
        event = {
            "id": f"evt_{self.run_id}_{self._event_seq:08d}",
            "type": event_type,
            "occurred_at": moment.isoformat(),
            "data": data,
        }
        arrives = day
        if self.random.random() < self.faults.late_rate:
            arrives += self.random.randint(1, 3)
        self._agenda.setdefault(arrives, []).append(event)
        if self.random.random() < self.faults.duplicate_rate:
            self._agenda.setdefault(arrives + self.random.choice((0, 1, 2)), []).append(event)

    def _sell(self) -> None:
        """Up to three orders per seller and day, `orders_per_seller_day` on average (times
        the seller's volume)."""
        for seller in self.sellers:
            chance = self.orders_per_seller_day * seller.volume / 3
            for _ in range(3):
                if self.random.random() < chance:
                    self._order(seller)

    def _order(self, seller: SimSeller) -> None:
        order = Order(f"ord_{self.run_id}_{len(self.orders):07d}", seller, [], self._day)
        low, high = PRICE_RANGE[seller.currency]
        unit = 10 ** Money.zero(seller.currency).exponent
        for n in range(self.random.choice((1, 1, 1, 2, 3))):
            amount = self.random.randint(low, high) * unit - self.random.choice((0, 1, unit // 10))
            order.lines.append((f"l{n + 1}", self.random.choice(list(CATEGORIES)), amount))
        self.orders.append(order)
        self.money_in.orders += 1
        self.money_in.paid_by_customers[seller.currency] += order.gross_minor
        now = self._now.isoformat()
        self._at(
            self._day,
            "order.paid",
            {
                "order_id": order.id,
                "seller_id": seller.id,
                "currency": seller.currency,
                "market": seller.country,
                "paid_at": now,
                "lines": [
                    {"line_id": i, "category": c, "amount_minor": a} for i, c, a in order.lines
                ],
            },
        )
        self._at(self._day + 1, "order.shipped", {"order_id": order.id, "shipped_at": now})
        if self.random.random() >= rates["never_delivered"]:
            day = self._day + self.random.randint(2, 5)
            delivered = (self._now + timedelta(days=day - self._day)).isoformat()
            self._at(day, "order.delivered", {"order_id": order.id, "delivered_at": delivered})

    def _refund_and_dispute(self) -> None:
        for order in self._recent_orders():
            if order.refunded or order.paid_on >= self._day:
                continue
            roll = self.random.random()
            if roll < rates["refund"]:
                self._refund(order)
            elif roll < rates["refund"] + rates["dispute"]:
                self._dispute(order)

    def _recent_orders(self) -> Iterator[Order]:
        for order in reversed(self.orders):
            if order.paid_on < self._day - RECENT_DAYS:
                return
            yield order

    def _refund(self, order: Order) -> None:
        order.refunded = True
        self.money_in.refunds += 1
        data: dict[str, Any] = {
            "order_id": order.id,
            "refund_id": f"ref_{order.id[4:]}",
            "reason": "customer return",
        }
        if self.random.random() < rates["partial_refund"]:
            line_id, _, amount = order.lines[0]
            data["lines"] = [{"line_id": line_id, "amount_minor": max(1, amount // 3)}]
        else:
            data["amount_minor"] = order.gross_minor
        self._at(self._day, "order.refunded", data)

    def _dispute(self, order: Order) -> None:
        order.refunded = True  # a disputed order is not refunded as well, in this simulation
        self.money_in.disputes += 1
        dispute = f"dsp_{order.id[4:]}"
        self._at(
            self._day,
            "dispute.opened",
            {"dispute_id": dispute, "order_id": order.id, "amount_minor": order.gross_minor},
        )
        outcome = "dispute.lost" if self.random.random() < rates["dispute_lost"] else "dispute.won"
        self._at(self._day + self.random.randint(3, 8), outcome, {"dispute_id": dispute})

    def _adjust(self) -> None:
        seller = self.random.choice([s for s in self.sellers if s.id not in self.late])
        unit = 10 ** Money.zero(seller.currency).exponent
        self._at(
            self._day,
            "adjustment",
            {
                "adjustment_id": f"adj_{self.run_id}_{self._event_seq}",
                "seller_id": seller.id,
                "currency": seller.currency,
                "direction": "credit",
                "amount_minor": self.random.randint(5, 50) * unit,
                "reason": "goodwill: late delivery compensation",
                "requested_by": "ops-simulation",
            },
        )

    def _invalid(self) -> None:
        """A producer bug: an amount with too many decimals, or a currency that does not exist."""
        seller = self.random.choice(self.sellers)
        line: dict[str, Any] = {"line_id": "l1", "category": "smartphone", "amount": "19.999"}
        currency = seller.currency if seller.currency != "JPY" else "EUR"
        if self.random.random() < 0.5:
            line, currency = {"line_id": "l1", "category": "tablet", "amount_minor": 100}, "EUX"
        self._at(
            self._day,
            "order.paid",
            {
                "order_id": f"ord_bad_{self.run_id}_{self._event_seq}",
                "seller_id": seller.id,
                "currency": currency,
                "market": seller.country,
                "paid_at": self._now.isoformat(),
                "lines": [line],
            },
        )
