"""A marketplace's money coming in, day by day, from a seed, through the real services.

Sellers in France, Spain, the US and Japan sell refurbished electronics. Each simulated day
the marketplace sends its events (orders paid, shipped, delivered, refunded — some after
release —, disputes opened and closed, a few manual adjustments) through the one event
handler that serves the HTTP and RabbitMQ doors, with the faults real producers have:
duplicates, events that arrive before what they depend on, sellers created after their
first orders, and a few invalid events. Then the jobs run: parked events are retried and due
funds released. The same seed gives the same run, event for event.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.money import Money
from sellerpay.sellers.rules import RiskTier
from sellerpay.sellers.service import create_seller
from sellerpay.settlement.rules import FeeRule
from sellerpay.settlement.service import (
    IngestResult,
    IngestStatus,
    create_fee_plan,
    ingest_events,
    release_due_funds,
    retry_parked,
    retry_parked_for,
)

COUNTRIES: Final = {
    "FR": ("EUR", "fr_FR"),
    "ES": ("EUR", "es_ES"),
    "US": ("USD", "en_US"),
    "JP": ("JPY", "ja_JP"),
}
# category -> commission in basis points
CATEGORIES: Final = {"smartphone": 1200, "laptop": 800, "tablet": 1000, "accessory": 1500}
PRICE_RANGE: Final = {"EUR": (40, 900), "USD": (45, 1000), "JPY": (4_000, 120_000)}
FIXED_FEE: Final = {"EUR": 50, "USD": 50, "JPY": 50}
LATE_SELLER_DAYS: Final = 3  # some sellers are created here only days after their first sale
rates: Final = {
    "refund": 0.05,
    "partial_refund": 0.3,
    "dispute": 0.006,
    "dispute_lost": 0.4,
    "never_delivered": 0.03,
    "duplicate": 0.03,
    "early_delivery": 0.02,
    "late_seller": 0.04,
    "invalid": 0.15,
    "adjustment": 0.2,
}


@dataclass(frozen=True, slots=True)
class Seller:
    id: str
    country: str
    currency: str
    locale: str
    risk_tier: RiskTier


@dataclass(slots=True)
class Order:
    id: str
    seller: Seller
    lines: list[tuple[str, str, int]]  # (line id, category, amount in minor units)
    paid_on: int  # day number
    refunded: bool = False

    @property
    def gross_minor(self) -> int:
        return sum(amount for _, _, amount in self.lines)


@dataclass(slots=True)
class Report:
    """What the run sent and what became of it."""

    days: int = 0
    orders: int = 0
    refunds: int = 0
    disputes: int = 0
    events_sent: int = 0
    statuses: Counter[str] = field(default_factory=Counter)  # first answer per event sent
    parked_then_applied: int = 0
    rejected_reasons: Counter[str] = field(default_factory=Counter)
    paid_by_customers: Counter[str] = field(default_factory=Counter)  # currency -> minor
    released: Counter[str] = field(default_factory=Counter)


class Marketplace:
    """The simulated marketplace and its producers of events."""

    def __init__(self, db: Database, *, sellers: int, seed: int, start: datetime) -> None:
        self.db = db
        self.seed = seed
        self.random = random.Random(seed)
        self.clock = FixedClock(start)
        countries = list(COUNTRIES)
        tiers = (RiskTier.LOW, RiskTier.STANDARD, RiskTier.STANDARD, RiskTier.HIGH)
        self.sellers = [
            Seller(f"sel_{c.lower()}{i:05d}", c, *COUNTRIES[c], tiers[i % len(tiers)])
            for i, c in enumerate(countries[i % len(countries)] for i in range(sellers))
        ]
        self.late = {s.id for s in self.sellers if self.random.random() < rates["late_seller"]}
        self.orders: list[Order] = []
        self.report = Report()
        self._agenda: dict[int, list[dict[str, Any]]] = {}  # day -> events to send that day
        self._day = 0
        self._event_seq = 0

    # --- the run ------------------------------------------------------------------------

    def open(self) -> None:
        """Day zero: the platform's fee plan and the sellers the marketplace already has."""
        create_fee_plan(
            self.db,
            name="Refurbished electronics 2026",
            effective_from=self.clock.now(),
            rules=[
                FeeRule(category=c, bps=bps, min_minor={"EUR": 100, "USD": 100, "JPY": 100})
                for c, bps in CATEGORIES.items()
            ],
            fixed_fee_per_order=FIXED_FEE,
            created_by="simulation",
            clock=self.clock,
        )
        for seller in self.sellers:
            if seller.id not in self.late:
                self._create(seller)

    def run(self, days: int, on_day: Callable[[int], None] | None = None) -> Report:
        for _ in range(days):
            self.run_day()
            if on_day is not None:
                on_day(self._day)
        return self.report

    def run_day(self) -> None:
        if self._day == LATE_SELLER_DAYS:
            for seller in self.sellers:
                if seller.id in self.late:
                    self._create(seller)
                    self._count(
                        retry_parked_for(self.db, f"seller:{seller.id}", clock=self.clock),
                        retried=True,
                    )
        self._sell()
        self._refund_and_dispute()
        if self.random.random() < rates["adjustment"]:
            self._adjust()
        if self.random.random() < rates["invalid"]:
            self._invalid()
        self._send(self._agenda.pop(self._day, []))
        self._count(retry_parked(self.db, clock=self.clock), retried=True)
        for order in release_due_funds(self.db, clock=self.clock).released:
            self.report.released[order.amount.currency] += order.amount.amount_minor
        self.clock.advance(timedelta(days=1))
        self._day += 1
        self.report.days = self._day

    def _create(self, seller: Seller) -> None:
        create_seller(
            self.db,
            seller_id=seller.id,
            legal_name=f"Refurb {seller.id[4:]} SARL",
            country=seller.country,
            risk_tier=seller.risk_tier,
            clock=self.clock,
        )

    # --- producers ------------------------------------------------------------------------

    def _at(self, day: int, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
        self._event_seq += 1
        moment = self.clock.now() + timedelta(days=day - self._day, minutes=self._event_seq % 600)
        event = {
            "id": f"evt_{self.seed}_{self._event_seq:08d}",
            "type": event_type,
            "occurred_at": moment.isoformat(),
            "data": data,
        }
        self._agenda.setdefault(day, []).append(event)
        if self.random.random() < rates["duplicate"]:  # the producer sends it again, later
            self._agenda.setdefault(day + self.random.choice((0, 1, 2)), []).append(event)
        return event

    def _sell(self) -> None:
        for seller in self.sellers:
            for _ in range(self.random.choice((0, 0, 1, 1, 1, 2))):
                self._order(seller)

    def _order(self, seller: Seller) -> None:
        order = Order(f"ord_{self.seed}_{len(self.orders):07d}", seller, [], self._day)
        low, high = PRICE_RANGE[seller.currency]
        unit = 10 ** Money.zero(seller.currency).exponent
        for n in range(self.random.choice((1, 1, 1, 2, 3))):
            amount = self.random.randint(low, high) * unit - self.random.choice((0, 1, unit // 10))
            order.lines.append((f"l{n + 1}", self.random.choice(list(CATEGORIES)), amount))
        self.orders.append(order)
        self.report.orders += 1
        self.report.paid_by_customers[seller.currency] += order.gross_minor
        now = self.clock.now().isoformat()
        paid_day = self._day + (1 if self.random.random() < rates["early_delivery"] else 0)
        self._at(
            paid_day,
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
            delivered = (self.clock.now() + timedelta(days=day - self._day)).isoformat()
            self._at(day, "order.delivered", {"order_id": order.id, "delivered_at": delivered})

    def _refund_and_dispute(self) -> None:
        for order in self._recent_orders():
            if order.refunded or order.paid_on >= self._day:
                continue
            roll = self.random.random()
            if roll < rates["refund"] / 10:
                self._refund(order)
            elif roll < (rates["refund"] + rates["dispute"]) / 10:
                self._dispute(order)

    def _recent_orders(self) -> Iterator[Order]:
        for order in reversed(self.orders):
            if order.paid_on < self._day - 20:
                return
            yield order

    def _refund(self, order: Order) -> None:
        order.refunded = True
        self.report.refunds += 1
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
        self.report.disputes += 1
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
                "adjustment_id": f"adj_{self.seed}_{self._event_seq}",
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
                "order_id": f"ord_bad_{self._event_seq}",
                "seller_id": seller.id,
                "currency": currency,
                "market": seller.country,
                "paid_at": self.clock.now().isoformat(),
                "lines": [line],
            },
        )

    # --- the door -----------------------------------------------------------------------

    def _send(self, events: list[dict[str, Any]]) -> None:
        self.report.events_sent += len(events)
        for start in range(0, len(events), 1000):
            self._count(
                ingest_events(
                    self.db, events[start : start + 1000], source="http", clock=self.clock
                )
            )

    def _count(self, results: list[IngestResult], *, retried: bool = False) -> None:
        for result in results:
            if retried or result.event_id is None:
                if result.status is IngestStatus.APPLIED:
                    self.report.parked_then_applied += 1
                continue
            self.report.statuses[result.status.value] += 1
            if result.status is IngestStatus.REJECTED and result.reason_code:
                self.report.rejected_reasons[result.reason_code] += 1


def demo_start() -> datetime:
    return datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # a Monday
