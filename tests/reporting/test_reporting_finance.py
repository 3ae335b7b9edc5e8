"""Finance reports on a ledger of their own: daily cash position, seller liabilities, revenue by
kind, and the trial balance, which sums to zero per currency — and says so loudly when not."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from reporting_builders import T0, new_seller
from sqlalchemy import text

from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.errors import InvariantViolation
from sellerpay.ledger.rules import Side
from sellerpay.ledger.service import verify_ledger
from sellerpay.money import Money
from sellerpay.reporting.csv_files import trial_balance_accounts_csv
from sellerpay.reporting.finance import (
    CurrencyTotals,
    cash_position,
    revenue_by_kind,
    seller_liabilities,
    trial_balance,
    trial_balance_by_account,
)


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


def day(n: int) -> datetime:
    """Noon UTC of January n, 2026."""
    return datetime(2026, 1, n, 12, tzinfo=UTC)


def test_the_cash_position_carries_each_bank_accounts_balance_from_day_to_day(
    fresh_db: Database, clock: FixedClock
) -> None:
    book = new_seller(fresh_db, clock)

    def settled(minor: int, at: datetime, bank: str = "main") -> None:
        book.post(
            "provider.settled",
            [
                ("platform:psp_clearing", Side.CREDIT, minor),
                (f"platform:bank:{bank}", Side.DEBIT, minor),
            ],
            at=at,
        )

    settled(10_000, day(1))  # before the report: its opening
    settled(5_000, day(3))
    settled(2_000, day(3) + timedelta(hours=11, minutes=59))  # 23:59 UTC: still the 3rd
    book.post(
        "payout",
        [
            ("platform:psp_clearing", Side.DEBIT, 4_000),
            ("platform:payouts_in_transit", Side.CREDIT, 4_000),
        ],
        at=day(4),
    )
    book.post(
        "payout_paid",
        [
            ("platform:payouts_in_transit", Side.DEBIT, 4_000),
            ("platform:bank:main", Side.CREDIT, 4_000),
        ],
        at=day(5),
    )
    settled(700, day(4), bank="backup")
    settled(99_999, day(9))  # after the report

    report = cash_position(fresh_db, start=date(2026, 1, 2), end=date(2026, 1, 6))

    main = [d for d in report.days if d.account == "platform:bank:main"]
    assert [d.day.day for d in main] == [2, 3, 4, 5, 6]
    assert [(d.opening, d.money_in, d.money_out, d.closing) for d in main] == [
        (eur(10_000), eur(0), eur(0), eur(10_000)),
        (eur(10_000), eur(7_000), eur(0), eur(17_000)),
        (eur(17_000), eur(0), eur(0), eur(17_000)),
        (eur(17_000), eur(0), eur(4_000), eur(13_000)),
        (eur(13_000), eur(0), eur(0), eur(13_000)),
    ]
    backup = [d.closing.amount_minor for d in report.days if d.account == "platform:bank:backup"]
    assert backup == [0, 0, 700, 700, 700]


def test_seller_liabilities_sum_every_sellers_money_and_the_negative_part(
    fresh_db: Database, clock: FixedClock
) -> None:
    rich = new_seller(fresh_db, clock)
    rich.order_paid(10_000)
    rich.release(6_000)
    rich.reserve_held(1_000)
    rich.dispute_opened(500)
    rich.payout(2_000)
    poor = new_seller(fresh_db, clock)
    poor.refund(300)  # nothing available: -300 to recover
    past = poor.at + timedelta(minutes=30)  # after the first refund, before the second
    poor.refund(200)
    yen = new_seller(fresh_db, clock, country="JP")
    yen.order_paid(1_000)

    report = seller_liabilities(fresh_db)

    eur_line, jpy_line = report.currencies
    assert (eur_line.currency, jpy_line.currency) == ("EUR", "JPY")
    assert eur_line.pending == eur(4_000)
    assert eur_line.available == eur(6_000 - 1_000 - 500 - 2_000 - 500)
    assert (eur_line.negative_to_recover, eur_line.sellers_negative) == (eur(500), 1)
    assert (eur_line.reserved, eur_line.dispute_hold, eur_line.in_transit) == (
        eur(1_000),
        eur(500),
        eur(2_000),
    )
    assert eur_line.total == eur(10_000 - 500)  # what customers paid, less refunds
    assert jpy_line.pending == Money(1_000, "JPY")
    before = seller_liabilities(fresh_db, before=past).currencies[0]
    assert before.negative_to_recover == eur(300)


def test_revenue_by_kind_counts_what_was_earned_in_the_period(
    fresh_db: Database, clock: FixedClock
) -> None:
    book = new_seller(fresh_db, clock)
    book.order_paid(8_800, fee=1_200, at=day(2))
    book.order_paid(4_400, fee=600, at=day(3))
    book.order_paid(1_000, fee=5_000, at=day(20))  # outside the period
    book.post(
        "order.refunded",
        [
            ("platform:revenue:commission", Side.DEBIT, 300),
            ("platform:psp_clearing", Side.CREDIT, 300),
        ],
        at=day(4),
    )  # part of a fee given back
    book.post(
        "payout_return_fee",
        [("available", Side.DEBIT, 250), ("platform:revenue:payout_fees", Side.CREDIT, 250)],
        at=day(4),
    )

    report = revenue_by_kind(fresh_db, start=day(1), end=day(10))

    assert [(line.kind, line.credits, line.debits, line.earned) for line in report.lines] == [
        ("commission", eur(1_800), eur(300), eur(1_500)),
        ("payout_fees", eur(250), eur(0), eur(250)),
    ]
    assert report.totals == {"EUR": eur(1_750)}


def test_the_trial_balance_sums_to_zero_per_currency_now_and_in_the_past(
    fresh_db: Database, clock: FixedClock
) -> None:
    book = new_seller(fresh_db, clock)
    book.order_paid(8_800, fee=1_200)
    past = book.at + timedelta(minutes=1)
    book.release(8_800)
    book.payout(5_000)
    yen = new_seller(fresh_db, clock, country="JP")
    yen.order_paid(3_000, fee=300)

    now = trial_balance(fresh_db)
    then = trial_balance(fresh_db, before=past)

    for report in (now, then):
        assert report.totals and all(t.difference.amount_minor == 0 for t in report.totals)
    assert [t.currency for t in now.totals] == ["EUR", "JPY"]
    lines = {(line.line, line.currency): line for line in now.lines}
    assert lines[("seller:*:pending", "EUR")].accounts == 1
    assert lines[("seller:*:pending", "JPY")].balance == Money(3_000, "JPY")
    assert lines[("platform:payouts_in_transit", "EUR")].balance == eur(5_000)
    assert lines[("platform:psp_clearing", "EUR")].balance == eur(10_000)
    assert ("seller:*:available", "EUR") not in {(x.line, x.currency) for x in then.lines}
    verified = verify_ledger(fresh_db).trial_balance
    for total in now.totals:
        assert verified[total.currency] == (total.debits.amount_minor, total.credits.amount_minor)


def test_every_account_of_the_trial_balance_streams_then_the_totals(
    fresh_db: Database, clock: FixedClock
) -> None:
    for _ in range(3):
        new_seller(fresh_db, clock).order_paid(1_000, fee=100)

    rows = list(trial_balance_by_account(fresh_db))
    table = list(csv.DictReader(io.StringIO("".join(trial_balance_accounts_csv(iter(rows))))))

    accounts = [r for r in rows if not isinstance(r, CurrencyTotals)]
    assert len(accounts) == 3 + 2  # each seller's pending, the clearing and commission accounts
    assert isinstance(rows[-1], CurrencyTotals) and rows[-1].difference == eur(0)
    assert [r["row_type"] for r in table] == ["account"] * 5 + ["total"]
    assert sum(int(r["debits_minor"]) for r in table[:-1]) == int(table[-1]["debits_minor"])


def test_a_ledger_that_does_not_balance_breaks_the_trial_balance_loudly(
    fresh_db: Database, clock: FixedClock
) -> None:
    new_seller(fresh_db, clock).order_paid(1_000)
    with fresh_db.transaction() as conn:  # corruption no service could make
        conn.execute(
            text(
                "UPDATE ledger_accounts SET debits_posted = debits_posted + 1"
                " WHERE code = 'platform:psp_clearing'"
            )
        )

    with pytest.raises(InvariantViolation, match="trial balance in EUR"):
        trial_balance(fresh_db)
    with pytest.raises(InvariantViolation):
        list(trial_balance_by_account(fresh_db))


def test_reports_start_where_the_ledger_starts(fresh_db: Database) -> None:
    assert cash_position(fresh_db, start=T0.date(), end=T0.date()).days == ()
    assert seller_liabilities(fresh_db).currencies == ()
    assert trial_balance(fresh_db).lines == ()
