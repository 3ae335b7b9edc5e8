"""A small marketplace's money moving through the ledger, day by day, from a seed.

Sellers in France, Spain, the US and Japan sell refurbished electronics; customers pay, the
platform keeps its commission, funds are released after a holding period, some orders are
refunded (before or after release), the payment provider settles to the bank, and sellers are
paid weekly. Each day is posted as one batch (`post_many`). The same seed gives the same run.

This drives the ledger directly with the chart of accounts of ARCHITECTURE.md; the settlement
and payout contexts will take these postings over as they arrive.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.ledger.rules import EntryRequest, Side, TransactionRequest
from sellerpay.ledger.service import PostStatus, balances_of, post_many
from sellerpay.money import Money, RoundingMode

COUNTRIES: Final = {
    "FR": ("EUR", "fr_FR"),
    "ES": ("EUR", "es_ES"),
    "US": ("USD", "en_US"),
    "JP": ("JPY", "ja_JP"),
}
# (category, commission in basis points, price range in major units per currency)
CATEGORIES: Final = (("smartphone", 1200), ("laptop", 800), ("tablet", 1000), ("accessory", 1500))
PRICE_RANGE: Final = {"EUR": (40, 900), "USD": (45, 1000), "JPY": (4_000, 120_000)}
holding_period_days: Final = 7
refund_rate: Final = 0.05
payout_weekday: Final = 0  # Monday
BANK: Final = "platform:bank:main"


@dataclass(frozen=True, slots=True)
class Seller:
    id: str
    country: str
    currency: str
    locale: str


@dataclass(slots=True)
class Order:
    id: str
    seller: Seller
    gross: Money
    commission: Money
    paid_on: datetime
    released: bool = False
    refunded: bool = False


@dataclass(slots=True)
class Totals:
    """What happened per currency, to print and to check against the ledger."""

    orders: int = 0
    refunds: int = 0
    payouts: int = 0
    transactions: int = 0
    gross: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    commission: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    refunded: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    paid_out: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def _entry(account: str, side: Side, amount: Money) -> EntryRequest:
    return EntryRequest(account, side, amount)


class Marketplace:
    """The simulated marketplace: sellers, their orders, and the postings each day brings."""

    def __init__(self, db: Database, *, sellers: int, seed: int, start: datetime) -> None:
        self.db = db
        self.random = random.Random(seed)
        self.clock = FixedClock(start)
        self.seed = seed
        countries = list(COUNTRIES)
        self.sellers = [
            Seller(f"sel_{c.lower()}{i:05d}", c, *COUNTRIES[c])
            for i, c in enumerate(countries[i % len(countries)] for i in range(sellers))
        ]
        self.orders: list[Order] = []
        self.totals = Totals()
        self._day = 0

    def run(self, days: int, on_day: Callable[[int], None] | None = None) -> Totals:
        for _ in range(days):
            self.run_day()
            if on_day is not None:
                on_day(self._day)
        return self.totals

    def run_day(self) -> None:
        today = self.clock.now()
        batch: list[TransactionRequest] = []
        batch += self._sell(today)
        batch += self._release(today)
        batch += self._refund(today)
        batch += self._settle(today)
        self._post(batch)
        if today.weekday() == payout_weekday:
            self._post(self._pay_out(today))  # payouts see the day's releases
        self.clock.advance(timedelta(days=1))
        self._day += 1

    def _post(self, batch: list[TransactionRequest]) -> None:
        for result in post_many(self.db, batch, clock=self.clock):
            if result.status is PostStatus.REJECTED:
                raise RuntimeError(f"seed {self.seed}, day {self._day}: {result.error!r}")
        self.totals.transactions += len(batch)

    def _sell(self, today: datetime) -> list[TransactionRequest]:
        batch = []
        for seller in self.sellers:
            for _ in range(self.random.choice((0, 0, 1, 1, 2, 3))):
                category, bps = self.random.choice(CATEGORIES)
                low, high = PRICE_RANGE[seller.currency]
                price = self.random.randint(low, high) * 10 ** Money.zero(seller.currency).exponent
                gross = Money(
                    price - self.random.choice((0, 1, 5, 10, 100)) % price, seller.currency
                )
                commission = gross.fee_bps(bps, rounding=RoundingMode.HALF_EVEN)
                order = Order(f"ord_{len(self.orders):07d}", seller, gross, commission, today)
                self.orders.append(order)
                batch.append(
                    TransactionRequest(
                        idempotency_key=f"order.paid:{order.id}",
                        kind="order.paid",
                        entries=(
                            _entry("platform:psp_clearing", Side.DEBIT, gross),
                            _entry(f"seller:{seller.id}:pending", Side.CREDIT, gross - commission),
                            _entry("platform:revenue:commission", Side.CREDIT, commission),
                        ),
                        references={"order_id": order.id},
                        metadata={"category": category},
                    )
                )
                self.totals.orders += 1
                self.totals.gross[seller.currency] += gross.amount_minor
                self.totals.commission[seller.currency] += commission.amount_minor
        return batch

    def _release(self, today: datetime) -> list[TransactionRequest]:
        due = today - timedelta(days=holding_period_days)
        batch = []
        for order in self.orders:
            if order.released or order.refunded or order.paid_on > due:
                continue
            order.released = True
            net = order.gross - order.commission
            account = f"seller:{order.seller.id}"
            batch.append(
                TransactionRequest(
                    idempotency_key=f"release:{order.id}",
                    kind="release",
                    entries=(
                        _entry(f"{account}:pending", Side.DEBIT, net),
                        _entry(f"{account}:available", Side.CREDIT, net),
                    ),
                    references={"order_id": order.id},
                )
            )
        return batch

    def _refund(self, today: datetime) -> list[TransactionRequest]:
        candidates = [o for o in self.orders[-2000:] if not o.refunded and o.paid_on < today]
        batch = []
        for order in candidates:
            if self.random.random() >= refund_rate / holding_period_days:
                continue
            order.refunded = True
            net = order.gross - order.commission
            source = "available" if order.released else "pending"
            batch.append(
                TransactionRequest(
                    idempotency_key=f"order.refunded:{order.id}",
                    kind="order.refunded",
                    entries=(
                        _entry(f"seller:{order.seller.id}:{source}", Side.DEBIT, net),
                        _entry("platform:revenue:commission", Side.DEBIT, order.commission),
                        _entry("platform:refunds_payable", Side.CREDIT, order.gross),
                    ),
                    references={"order_id": order.id},
                )
            )
            batch.append(
                TransactionRequest(
                    idempotency_key=f"refund.executed:{order.id}",
                    kind="refund.executed",
                    entries=(
                        _entry("platform:refunds_payable", Side.DEBIT, order.gross),
                        _entry("platform:psp_clearing", Side.CREDIT, order.gross),
                    ),
                    references={"order_id": order.id},
                )
            )
            self.totals.refunds += 1
            self.totals.refunded[order.seller.currency] += order.gross.amount_minor
        return batch

    def _settle(self, today: datetime) -> list[TransactionRequest]:
        """The payment provider pays what it holds for us into our bank account."""
        currencies = sorted({s.currency for s in self.sellers})
        held = balances_of(self.db, [("platform:psp_clearing", c) for c in currencies])
        return [
            TransactionRequest(
                idempotency_key=f"settlement:{amount.currency}:{today:%Y-%m-%d}",
                kind="psp.settlement",
                entries=(
                    _entry(BANK, Side.DEBIT, amount),
                    _entry("platform:psp_clearing", Side.CREDIT, amount),
                ),
            )
            for amount in held.values()
            if amount.is_positive()
        ]

    def _pay_out(self, today: datetime) -> list[TransactionRequest]:
        available = balances_of(
            self.db, [(f"seller:{s.id}:available", s.currency) for s in self.sellers]
        )
        batch = []
        for seller in self.sellers:
            amount = available[(f"seller:{seller.id}:available", seller.currency)]
            if not amount.is_positive():
                continue  # nothing to pay, or a negative balance to recover from later sales
            payout = f"po_{seller.id}_{today:%Y%m%d}"
            batch.append(
                TransactionRequest(
                    idempotency_key=f"payout.sent:{payout}",
                    kind="payout.sent",
                    entries=(
                        _entry(f"seller:{seller.id}:available", Side.DEBIT, amount),
                        _entry("platform:payouts_in_transit", Side.CREDIT, amount),
                    ),
                    references={"payout_id": payout},
                )
            )
            batch.append(
                TransactionRequest(
                    idempotency_key=f"payout.paid:{payout}",
                    kind="payout.paid",
                    entries=(
                        _entry("platform:payouts_in_transit", Side.DEBIT, amount),
                        _entry(BANK, Side.CREDIT, amount),
                    ),
                    references={"payout_id": payout},
                )
            )
            self.totals.payouts += 1
            self.totals.paid_out[seller.currency] += amount.amount_minor
        return batch


def demo_start() -> datetime:
    return datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # a Monday
