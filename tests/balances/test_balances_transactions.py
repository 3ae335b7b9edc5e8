"""A seller's balance transactions read from the ledger: signs, running balances, order, pages,
filters, fee breakdowns read in one call per page, and the export for statements."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from balances_builders import T0, SellerLedger, unique

from sellerpay.balances import service
from sellerpay.balances.rules import SellerAccount, SourceCategory
from sellerpay.balances.service import BalanceTransactionFilter, balance_transactions
from sellerpay.db import Database
from sellerpay.errors import InvalidInput, LimitExceeded, NotFound
from sellerpay.ledger.rules import Side
from sellerpay.settlement import service as settlement

EVERYTHING = BalanceTransactionFilter()
A = SellerAccount
C = SourceCategory


def read_all(
    ledger: SellerLedger, where: BalanceTransactionFilter = EVERYTHING, limit: int = 200
) -> list[service.BalanceTransaction]:
    """Every movement, page by page, newest first."""
    lines: list[service.BalanceTransaction] = []
    after = None
    while True:
        page = balance_transactions(
            ledger.db, seller_id=ledger.seller_id, where=where, after=after, limit=limit
        )
        lines += page.lines
        if page.next_after is None:
            return lines
        after = page.next_after


def summary(lines: Sequence[service.BalanceTransaction]) -> list[tuple[Any, ...]]:
    return [
        (m.type, m.category, m.account, m.amount.amount_minor, m.balance_after.amount_minor)
        for m in lines
    ]


def test_every_movement_is_signed_on_the_sellers_side_with_its_accounts_running_balance(
    ledger: SellerLedger,
) -> None:
    order_id = ledger.order_paid(8_800, fee_minor=1_200)
    ledger.release(5_000, order_id=order_id)
    ledger.refund_after_release(6_000)
    ledger.dispute_opened(500)

    oldest_first = list(reversed(read_all(ledger)))

    assert summary(oldest_first) == [
        ("order.paid", C.ORDER, A.PENDING, 8_800, 8_800),
        ("release", C.RELEASE, A.PENDING, -5_000, 3_800),
        ("release", C.RELEASE, A.AVAILABLE, 5_000, 5_000),
        ("order.refunded", C.REFUND, A.AVAILABLE, -6_000, -1_000),
        ("dispute.opened", C.DISPUTE, A.AVAILABLE, -500, -1_500),
        ("dispute.opened", C.DISPUTE, A.DISPUTE_HOLD, 500, 500),
    ]
    first = oldest_first[0]
    assert first.references == {"order_id": order_id}
    assert first.effective_at == T0 + timedelta(minutes=1)
    assert first.id == f"bt_{first.transaction_id.hex}_1"  # leg 1 of order.paid: the seller's
    assert all(m.amount.currency == "EUR" for m in oldest_first)


def test_movements_are_listed_by_effective_time_and_a_backdated_one_keeps_its_running_balance(
    ledger: SellerLedger,
) -> None:
    ledger.order_paid(1_000)
    ledger.order_paid(2_000)
    ledger.post_at(
        T0 + timedelta(seconds=30),  # posted last, effective before both
        "adjustment",
        [ledger.leg("platform:adjustments", Side.DEBIT, 500),
         ledger.leg("pending", Side.CREDIT, 500)],
        adjustment_id=unique("adj"),
    )  # fmt: skip

    oldest_first = list(reversed(read_all(ledger)))

    assert [(m.type, m.amount.amount_minor) for m in oldest_first] == [
        ("adjustment", 500),
        ("order.paid", 1_000),
        ("order.paid", 2_000),
    ]
    # running balances follow posting order, as the ledger's history does (documented)
    assert [m.balance_after.amount_minor for m in oldest_first] == [3_500, 1_000, 3_000]


def test_paging_through_movements_of_the_same_moment_returns_each_exactly_once(
    ledger: SellerLedger,
) -> None:
    same_time = T0 + timedelta(hours=1)
    for amount in range(1, 8):
        ledger.post_at(
            same_time,
            "order.paid",
            [ledger.leg("platform:psp_clearing", Side.DEBIT, amount),
             ledger.leg("pending", Side.CREDIT, amount)],
            order_id=unique("ord"),
        )  # fmt: skip

    pages = []
    after = None
    while True:
        page = balance_transactions(
            ledger.db, seller_id=ledger.seller_id, where=EVERYTHING, after=after, limit=3
        )
        pages.append([m.amount.amount_minor for m in page.lines])
        if page.next_after is None:
            break
        after = page.next_after

    assert pages == [[7, 6, 5], [4, 3, 2], [1]]  # newest first: posting order breaks ties


def test_movements_are_filtered_by_type_currency_and_effective_dates(
    ledger: SellerLedger,
) -> None:
    ledger.order_paid(1_000)  # 09:01
    ledger.release(1_000)  # 09:02
    ledger.order_paid(2_000)  # 09:03
    ledger.currency = "USD"
    ledger.order_paid(3_000)  # 09:04

    releases = read_all(ledger, BalanceTransactionFilter(types=("release",)))
    paid_or_refunded = read_all(
        ledger, BalanceTransactionFilter(types=("order.paid", "order.refunded"))
    )
    dollars = read_all(ledger, BalanceTransactionFilter(currency="USD"))
    window = read_all(
        ledger,
        BalanceTransactionFilter(
            effective_from=T0 + timedelta(minutes=2), effective_before=T0 + timedelta(minutes=4)
        ),
    )

    assert {m.type for m in releases} == {"release"} and len(releases) == 2
    assert [m.amount.amount_minor for m in paid_or_refunded] == [3_000, 2_000, 1_000]
    assert [(m.amount.currency, m.amount.amount_minor) for m in dollars] == [("USD", 3_000)]
    assert [m.amount.amount_minor for m in window] == [2_000, 1_000, -1_000]


def test_an_order_movement_carries_its_fee_breakdown_read_once_per_page(
    ledger: SellerLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []

    def fee_breakdown(db: Database, order_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        calls.append(list(order_ids))
        return {order_id: [{"line_id": "l1", "fee_minor": 1}] for order_id in order_ids}

    monkeypatch.setattr(settlement, "order_fee_breakdown", fee_breakdown)
    orders = [ledger.order_paid(1_000 * n) for n in (1, 2, 3)]
    ledger.release(1_000, order_id=orders[0])

    first = balance_transactions(ledger.db, seller_id=ledger.seller_id, where=EVERYTHING, limit=4)
    second = balance_transactions(
        ledger.db, seller_id=ledger.seller_id, where=EVERYTHING, after=first.next_after, limit=4
    )

    assert calls == [sorted(orders[1:]), [orders[0]]]
    lines = first.lines + second.lines
    assert all(
        (m.fee_breakdown is not None) is (m.category is C.ORDER) for m in lines
    )  # a release names its order, but the fees belong to the payment
    paid = next(
        m for m in lines if m.references.get("order_id") == orders[0] and m.type == "order.paid"
    )
    assert paid.fee_breakdown == ({"line_id": "l1", "fee_minor": 1},)


def test_a_page_without_order_movements_reads_no_fees(
    ledger: SellerLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settlement, "order_fee_breakdown", pytest.fail)
    ledger.order_paid(1_000)
    ledger.release(1_000)

    page = balance_transactions(
        ledger.db, seller_id=ledger.seller_id, where=BalanceTransactionFilter(types=("release",))
    )

    assert len(page.lines) == 2


def test_the_export_lists_everything_oldest_first_a_chunk_at_a_time(
    ledger: SellerLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "export_chunk_size", 2)
    for amount in (100, 200, 300):
        ledger.order_paid(amount)
    ledger.release(600)

    exported = list(
        service.export_balance_transactions(ledger.db, seller_id=ledger.seller_id, where=EVERYTHING)
    )

    assert [m.amount.amount_minor for m in exported] == [100, 200, 300, -600, 600]


def test_an_export_larger_than_the_limit_is_refused_before_anything_is_read(
    ledger: SellerLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "export_rows_max", 2)
    for amount in (100, 200, 300):
        ledger.order_paid(amount)

    with pytest.raises(LimitExceeded) as refused:
        service.export_balance_transactions(ledger.db, seller_id=ledger.seller_id, where=EVERYTHING)
    assert refused.value.code == "export_rows_max"


@pytest.mark.parametrize(
    ("where", "limit", "code"),
    [
        (BalanceTransactionFilter(currency="EURO"), 50, "unknown_currency"),
        (BalanceTransactionFilter(currency="eur"), 50, "unknown_currency"),
        (BalanceTransactionFilter(types=("Order Paid",)), 50, "invalid_type"),
        (
            BalanceTransactionFilter(types=tuple(f"k{i}" for i in range(21))),
            50,
            "types_per_filter_max",
        ),
        (
            BalanceTransactionFilter(effective_from=T0, effective_before=T0),
            50,
            "invalid_date_range",
        ),
        (EVERYTHING, 0, "invalid_limit"),
        (EVERYTHING, 201, "invalid_limit"),
    ],
    ids=["currency", "lower-case", "type", "types", "range", "limit-0", "limit-201"],
)
def test_a_bad_filter_is_refused(
    ledger: SellerLedger, where: BalanceTransactionFilter, limit: int, code: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        balance_transactions(ledger.db, seller_id=ledger.seller_id, where=where, limit=limit)
    assert refused.value.code == code


def test_an_unknown_seller_has_no_balance_transactions(db: Database, seller_id: str) -> None:
    with pytest.raises(NotFound):
        balance_transactions(db, seller_id=seller_id, where=EVERYTHING)
