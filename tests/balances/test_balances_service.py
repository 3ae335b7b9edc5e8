"""A seller's balances read from the ledger: per currency, signed, negative, and in few reads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from balances_builders import T0, SellerLedger
from sqlalchemy import event

from sellerpay.balances.service import seller_balances
from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.errors import NotFound
from sellerpay.ledger.rules import Side
from sellerpay.money import Money
from sellerpay.sellers.service import create_seller


def eur(amount_minor: int) -> Money:
    return Money(amount_minor, "EUR")


@contextmanager
def counting_selects(db: Database) -> Iterator[list[str]]:
    """The SELECT statements run on `db` inside the block."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_a_new_seller_has_a_zero_balance_in_its_default_currency(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    create_seller(db, seller_id=seller_id, legal_name="Tokyo Refurb", country="JP", clock=clock)

    balances = seller_balances(db, seller_id=seller_id)

    (yen,) = balances.balances
    assert yen.currency == "JPY"
    assert (yen.pending, yen.available, yen.reserved, yen.dispute_hold, yen.in_transit) == (
        Money(0, "JPY"),
    ) * 5
    assert yen.negative_to_recover == Money(0, "JPY")
    assert yen.last_movement_at is None
    assert balances.last_movement_at is None


def test_money_in_shows_as_pending_then_available_reserved_and_disputed(
    ledger: SellerLedger,
) -> None:
    ledger.order_paid(8_800, fee_minor=1_200)
    ledger.order_paid(4_400, fee_minor=600)
    ledger.release(8_800)
    ledger.reserve_held(1_000)
    ledger.dispute_opened(2_000)

    (balance,) = seller_balances(ledger.db, seller_id=ledger.seller_id).balances

    assert balance.currency == "EUR"
    assert balance.pending == eur(4_400)
    assert balance.available == eur(8_800 - 1_000 - 2_000)
    assert balance.reserved == eur(1_000)
    assert balance.dispute_hold == eur(2_000)
    assert balance.in_transit == eur(0)
    assert balance.negative_to_recover == eur(0)
    assert balance.last_movement_at == ledger.at


def test_a_refund_after_release_leaves_a_negative_balance_to_recover(ledger: SellerLedger) -> None:
    ledger.order_paid(5_000)
    ledger.release(5_000)
    ledger.order_paid(3_000)
    ledger.refund_after_release(7_500)

    (balance,) = seller_balances(ledger.db, seller_id=ledger.seller_id).balances

    assert balance.available == eur(-2_500)
    assert balance.negative_to_recover == eur(2_500)
    assert balance.pending == eur(3_000)


def test_each_currency_has_its_own_balance_and_the_newest_movement_of_all_is_shown(
    ledger: SellerLedger,
) -> None:
    ledger.order_paid(1_000)
    euro_moved = ledger.at
    ledger.currency = "JPY"
    ledger.order_paid(2_500)

    balances = seller_balances(ledger.db, seller_id=ledger.seller_id)

    assert [(b.currency, b.pending) for b in balances.balances] == [
        ("EUR", eur(1_000)),
        ("JPY", Money(2_500, "JPY")),
    ]
    assert balances.balances[0].last_movement_at == euro_moved
    assert balances.last_movement_at == ledger.at > euro_moved


def test_the_last_movement_is_the_latest_effective_entry_of_any_of_the_sellers_accounts(
    ledger: SellerLedger,
) -> None:
    ledger.order_paid(1_000)
    ledger.release(1_000)  # the latest entry is on available now, not on pending
    ledger.post_at(  # a correction posted last, effective earlier, does not move it back
        T0,
        "adjustment",
        [ledger.leg("platform:adjustments", Side.DEBIT, 5),
         ledger.leg("available", Side.CREDIT, 5)],
    )  # fmt: skip

    (balance,) = seller_balances(ledger.db, seller_id=ledger.seller_id).balances

    assert balance.last_movement_at == ledger.at == T0.replace(minute=2)
    assert balance.available == eur(1_005)


def test_another_sellers_money_never_shows(
    ledger: SellerLedger, other_ledger: SellerLedger
) -> None:
    other_ledger.order_paid(9_999)
    ledger.order_paid(100)

    (balance,) = seller_balances(ledger.db, seller_id=ledger.seller_id).balances

    assert balance.pending == eur(100)


def test_an_unknown_seller_has_no_balance(db: Database, seller_id: str) -> None:
    with pytest.raises(NotFound) as missing:
        seller_balances(db, seller_id=seller_id)
    assert missing.value.code == "seller_not_found"


def test_balances_are_read_in_two_queries_whatever_the_number_of_accounts(
    ledger: SellerLedger,
) -> None:
    for currency in ("EUR", "USD", "JPY"):
        ledger.currency = currency
        ledger.order_paid(1_000)
        ledger.release(400)
        ledger.reserve_held(100)
        ledger.dispute_opened(100)

    with counting_selects(ledger.db) as selects:
        balances = seller_balances(ledger.db, seller_id=ledger.seller_id)

    assert len(balances.balances) == 3
    assert len(selects) == 2, selects  # the seller, then every account of every currency
