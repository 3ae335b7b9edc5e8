"""Seller statements read from the ledger: opening + movements = closing for any period and any
movements (hypothesis), CSV and PDF in each language, the fee of an order from settlement."""

from __future__ import annotations

import csv
import io
import random
import unicodedata
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reporting_builders import T0, SellerBook, new_seller, pdf_fonts, pdf_pages, pdf_text, unique

from sellerpay.balances import service as balances_service
from sellerpay.balances.rules import SellerAccount, seller_account_codes
from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.errors import InvalidInput, NotFound, Unavailable
from sellerpay.ledger.service import balances_of
from sellerpay.money import Money
from sellerpay.reporting.csv_files import STATEMENT_COLUMNS, statement_csv
from sellerpay.reporting.pdf import JAPANESE_FONT, statement_pdf
from sellerpay.reporting.rules import StatementCategory
from sellerpay.reporting.service import seller_statement
from sellerpay.settlement.rules import FeeRule
from sellerpay.settlement.service import IngestStatus, create_fee_plan, ingest_events


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


def test_a_statement_shows_the_opening_balance_each_movement_and_the_closing_balance(
    db: Database, clock: FixedClock
) -> None:
    book = new_seller(db, clock)
    book.order_paid(10_000)  # 10:00, before the period
    start = book.at + timedelta(minutes=30)
    book.release(10_000)  # 11:00
    book.refund(1_500)  # 12:00
    book.dispute_opened(2_000)  # 13:00
    book.dispute_lost(2_000, 1_500)  # 14:00
    book.payout(3_000)  # 15:00
    end = book.at + timedelta(minutes=30)
    book.adjustment(999)  # 16:00, after the period

    statement = seller_statement(db, seller_id=book.seller_id, clock=clock, start=start, end=end)

    assert statement.opening_balance == eur(10_000)
    assert statement.opening[SellerAccount.PENDING] == eur(10_000)
    assert [(line.category, line.amount.amount_minor) for line in statement.lines] == [
        (StatementCategory.RELEASE, 0),
        (StatementCategory.REFUND, -1_500),
        (StatementCategory.DISPUTE, 0),
        (StatementCategory.DISPUTE, -2_000),
        (StatementCategory.FEE, -1_500),
        (StatementCategory.PAYOUT, -3_000),
    ]
    assert statement.closing_balance == eur(10_000 - 1_500 - 2_000 - 1_500 - 3_000)
    assert statement.closing == {
        SellerAccount.PENDING: eur(0),
        SellerAccount.AVAILABLE: eur(10_000 - 1_500 - 2_000 - 1_500 - 3_000),
        SellerAccount.DISPUTE_HOLD: eur(0),
        SellerAccount.RESERVE: eur(0),
    }
    refund = statement.lines[1]
    assert refund.references["refund_id"].startswith("re_")
    assert refund.changes == {SellerAccount.AVAILABLE: eur(-1_500)}
    assert statement.lines[-1].references["payout"].startswith("po_")
    assert (statement.language, statement.locale) == ("fr", "fr_FR")


def test_without_a_period_the_statement_holds_everything_posted_until_now(
    db: Database, clock: FixedClock
) -> None:
    book = new_seller(db, clock, country="JP")
    book.order_paid(1_500)
    book.release(1_000)
    clock.set(book.at)
    book.order_paid(700, at=clock.now())  # effective this very instant: still in

    statement = seller_statement(db, seller_id=book.seller_id, clock=clock)

    assert (statement.currency, statement.language, statement.period_start) == ("JPY", "ja", None)
    assert statement.period_end == statement.generated_at == clock.now()
    assert statement.opening_balance == Money(0, "JPY")
    assert statement.closing_balance == Money(2_200, "JPY")
    assert len(statement.lines) == 3


def test_a_currency_the_seller_never_held_gives_an_empty_statement(
    db: Database, clock: FixedClock
) -> None:
    book = new_seller(db, clock)
    book.order_paid(500)

    statement = seller_statement(db, seller_id=book.seller_id, clock=clock, currency="USD")

    assert statement.lines == ()
    assert statement.opening_balance == statement.closing_balance == Money(0, "USD")


def test_bad_requests_get_precise_errors(db: Database, clock: FixedClock) -> None:
    book = new_seller(db, clock)
    with pytest.raises(NotFound) as missing:
        seller_statement(db, seller_id="sel_nobody", clock=clock)
    with pytest.raises(InvalidInput) as currency:
        seller_statement(db, seller_id=book.seller_id, clock=clock, currency="XYZ")
    with pytest.raises(InvalidInput) as period:
        seller_statement(db, seller_id=book.seller_id, clock=clock, start=T0, end=T0)
    with pytest.raises(InvalidInput) as language:
        seller_statement(db, seller_id=book.seller_id, clock=clock, language="de")
    assert missing.value.code == "seller_not_found"
    assert currency.value.code == "unknown_currency"
    assert period.value.code == "invalid_date_range"
    assert language.value.code == "unsupported_language"


# --- any movements, any periods -------------------------------------------------------------


def _random_movements(book: SellerBook, rng: random.Random, count: int) -> None:
    """Valid movements (flags respected), effective at random times over ten days — so later
    postings are often backdated before earlier ones."""
    pending = available = held = 0
    for _ in range(count):
        at = T0 + timedelta(minutes=rng.randrange(0, 10 * 24 * 60))
        amount = rng.randrange(1, 50_000)
        choice = rng.randrange(7)
        if choice == 0 or pending == 0:
            book.order_paid(amount, fee=amount // 10, at=at)
            pending += amount
        elif choice == 1:
            moved = rng.randrange(1, pending + 1)
            book.release(moved, at=at)
            pending, available = pending - moved, available + moved
        elif choice == 2:
            book.refund(amount, at=at)
            available -= amount
        elif choice == 3:
            book.dispute_opened(amount, at=at)
            available, held = available - amount, held + amount
        elif choice == 4 and held:
            lost = rng.randrange(1, held + 1)
            book.dispute_lost(lost, 1_500, at=at)
            held, available = held - lost, available - 1_500
        elif choice == 5:
            book.payout(amount, at=at)
            available -= amount
        else:
            book.adjustment(amount, at=at)
            available += amount


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 2**32),
    count=st.integers(0, 25),
    cuts=st.lists(st.integers(0, 10 * 24 * 60), min_size=1, max_size=3, unique=True),
)
def test_consecutive_statements_chain_and_add_up_for_any_movements(
    db: Database, seed: int, count: int, cuts: list[int]
) -> None:
    clock = FixedClock(T0 + timedelta(days=11))
    book = new_seller(db, clock)
    _random_movements(book, random.Random(seed), count)
    bounds = [None, *sorted(T0 + timedelta(minutes=m) for m in cuts), clock.now()]

    statements = [
        seller_statement(db, seller_id=book.seller_id, clock=clock, start=a, end=b)
        for a, b in pairwise(bounds)
    ]

    for before, after in pairwise(statements):
        assert before.closing == after.opening
    keys = [(code, "EUR") for code in seller_account_codes(book.seller_id)]
    now = sum(balances_of(db, keys).values(), eur(0))
    assert statements[-1].closing_balance == now
    assert sum(len(s.lines) for s in statements) >= count  # every transaction, at least once
    for statement in statements:
        moved = sum((line.amount for line in statement.lines), eur(0))
        assert statement.opening_balance + moved == statement.closing_balance


# --- CSV and PDF, in each language ----------------------------------------------------------

LANGUAGES = [
    # country, currency, language, title, a money amount as the locale writes it
    ("GB", "GBP", "en", "Statement", "£88.00"),
    ("FR", "EUR", "fr", "Relevé de compte", "88,00 €"),
    ("ES", "EUR", "es", "Extracto de cuenta", "88,00 €"),
    ("JP", "JPY", "ja", "取引明細書", "￥8,800"),
]


def _same_spaces(text: str) -> str:
    """PDF text and babel differ in which space sits in an amount (no-break, narrow…)."""
    return "".join(" " if unicodedata.category(c) == "Zs" else c for c in text)


def _statement_of_each_kind(db: Database, clock: FixedClock, country: str, currency: str) -> str:
    book = new_seller(db, clock, country=country, currency=currency)
    book.order_paid(8_800, fee=1_200)
    book.release(8_800)
    book.refund(1_000)
    book.payout(5_000)
    clock.set(book.at + timedelta(hours=1))
    return book.seller_id


@pytest.mark.parametrize(("country", "currency", "language", "title", "amount"), LANGUAGES)
def test_the_csv_statement_adds_up_in_every_language(
    db: Database,
    clock: FixedClock,
    country: str,
    currency: str,
    language: str,
    title: str,
    amount: str,
) -> None:
    seller_id = _statement_of_each_kind(db, clock, country, currency)
    statement = seller_statement(db, seller_id=seller_id, clock=clock)

    reader = csv.DictReader(io.StringIO("".join(statement_csv(statement)), newline=""))
    rows = list(reader)

    assert reader.fieldnames == list(STATEMENT_COLUMNS)
    assert [r["row_type"] for r in rows] == ["opening", *["movement"] * 4, "closing"]
    movements = rows[1:-1]
    assert int(rows[0]["balance_minor"]) + sum(int(r["amount_minor"]) for r in movements) == int(
        rows[-1]["balance_minor"]
    )
    assert rows[-1]["balance_minor"] == str(8_800 - 1_000 - 5_000)
    assert [r["category"] for r in movements] == ["order", "release", "refund", "payout"]
    assert movements[0]["order_id"].startswith("ord_") and movements[3]["payout_id"].startswith(
        "po_"
    )
    exponent = 0 if currency == "JPY" else 2
    assert Decimal(movements[2]["amount"]) == Decimal(-1_000).scaleb(-exponent)


@pytest.mark.parametrize(("country", "currency", "language", "title", "amount"), LANGUAGES)
def test_the_pdf_statement_is_written_in_the_sellers_language(
    db: Database,
    clock: FixedClock,
    country: str,
    currency: str,
    language: str,
    title: str,
    amount: str,
) -> None:
    seller_id = _statement_of_each_kind(db, clock, country, currency)
    statement = seller_statement(db, seller_id=seller_id, clock=clock)

    pdf = statement_pdf(statement, invariant=True, compress=False)

    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert pdf_pages(pdf) == 1
    assert (JAPANESE_FONT in pdf_fonts(pdf)) is (language == "ja")
    text = _same_spaces(pdf_text(pdf))
    assert title in text
    assert _same_spaces(amount) in text  # the order's 88.00 (8,800 yen) in the locale's way
    assert seller_id in text
    assert statement_pdf(statement, invariant=True, compress=False) == pdf  # reproducible
    compressed = statement_pdf(statement)
    assert compressed.startswith(b"%PDF-") and len(compressed) < len(pdf)


def test_french_money_and_dates_are_written_the_french_way(db: Database, clock: FixedClock) -> None:
    book = new_seller(db, clock, country="FR")
    book.order_paid(123_456_78)
    clock.set(book.at + timedelta(hours=1))
    statement = seller_statement(
        db, seller_id=book.seller_id, clock=clock, start=datetime(2026, 1, 1, tzinfo=UTC)
    )

    text = _same_spaces(pdf_text(statement_pdf(statement, compress=False)))

    assert "123 456,78 €" in text
    assert "Solde de clôture" in text and "Commande" in text
    assert "5 janv. 2026" in text  # the period, babel's French interval


def test_a_long_statement_runs_over_several_pages_with_the_words_of_its_language(
    db: Database, clock: FixedClock
) -> None:
    book = new_seller(db, clock, country="ES")
    for _ in range(90):
        book.order_paid(1_000)
    clock.set(book.at + timedelta(hours=1))
    statement = seller_statement(db, seller_id=book.seller_id, clock=clock)

    pdf = statement_pdf(statement, invariant=True, compress=False)

    pages = pdf_pages(pdf)
    assert pages >= 3
    text = pdf_text(pdf)
    assert f"Página {pages}" in text
    assert text.count("Pedido") == 90
    assert text.count("Fecha") == pages  # the header of the lines, repeated on every page


def test_an_order_line_shows_what_the_customer_paid_and_the_fee(
    fresh_db: Database, clock: FixedClock, seller_id: str
) -> None:
    create_fee_plan(
        fresh_db,
        name="Platform 2026",
        effective_from=datetime(2026, 1, 1, tzinfo=UTC),
        rules=(FeeRule(bps=1_200),),
        created_by="test",
        clock=clock,
    )
    from sellerpay.sellers.service import create_seller

    create_seller(fresh_db, seller_id=seller_id, legal_name="Acme", country="FR", clock=clock)
    event = {
        "id": unique("evt"),
        "type": "order.paid",
        "occurred_at": "2026-01-05T08:00:00Z",
        "data": {
            "order_id": unique("ord"),
            "seller_id": seller_id,
            "currency": "EUR",
            "market": "FR",
            "lines": [{"line_id": "phone", "amount_minor": 15_000, "category": "smartphones"}],
            "paid_at": "2026-01-05T08:00:00Z",
        },
    }
    (applied,) = ingest_events(fresh_db, [event], source="http", clock=clock)
    assert applied.status is IngestStatus.APPLIED

    statement = seller_statement(fresh_db, seller_id=seller_id, clock=clock)

    (order,) = statement.lines
    assert (order.gross, order.fee, order.amount) == (eur(15_000), eur(1_800), eur(13_200))
    text = _same_spaces(pdf_text(statement_pdf(statement, compress=False)))
    assert "Commande · brut 150,00 € · frais 18,00 €" in text


# --- reads that must agree --------------------------------------------------------------------


def test_a_posting_landing_while_the_statement_is_read_makes_it_read_again(
    db: Database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = new_seller(db, clock)
    book.order_paid(1_000)
    real = balances_service.export_balance_transactions
    reads: list[int] = []

    def with_a_posting_in_between(*args: object, **kwargs: object) -> object:
        reads.append(1)
        if len(reads) == 1:
            book.order_paid(500)  # lands between the balances read and the movements read
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(balances_service, "export_balance_transactions", with_a_posting_in_between)

    statement = seller_statement(db, seller_id=book.seller_id, clock=clock)

    assert len(reads) == 2
    assert statement.closing_balance == eur(1_500) and len(statement.lines) == 2


def test_accounts_that_never_stop_moving_give_a_busy_answer_not_a_wrong_statement(
    db: Database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = new_seller(db, clock)
    real = balances_service.export_balance_transactions

    def always_a_posting(*args: object, **kwargs: object) -> object:
        book.order_paid(10)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(balances_service, "export_balance_transactions", always_a_posting)

    with pytest.raises(Unavailable) as busy:
        seller_statement(db, seller_id=book.seller_id, clock=clock)
    assert busy.value.code == "statement_busy"
