"""The simulated bank's MT940 writer, read back by our own MT940 parser."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sellerpay.money import Money
from sellerpay.rails.statements import Statement, StatementError, StatementLine
from sellerpay.rails.swift_mt940 import parse_mt940
from sellerpay.simbank.mt940_writer import write_mt940

DAY = date(2026, 1, 6)


def line(line_id: str, amount_minor: int, currency: str = "EUR", **fields: object) -> StatementLine:
    values: dict[str, object] = {
        "line_id": line_id,
        "booked_on": DAY,
        "value_on": DAY,
        "amount": Money(amount_minor, currency),
        "direction": "debit",
        "bank_reference": line_id,
    }
    values.update(fields)
    return StatementLine(**values)  # type: ignore[arg-type]


def statement(
    lines: tuple[StatementLine, ...], opening: int = 100_000, currency: str = "EUR"
) -> Statement:
    closing = opening + sum(item.signed_amount.amount_minor for item in lines)
    return Statement(
        statement_id="SB26010601EUR",
        account="FR1420041010050500013M02606",
        currency=currency,
        lines=lines,
        format="mt940",
        opening_balance=Money(opening, currency),
        closing_balance=Money(closing, currency),
        opening_date=DAY,
        closing_date=DAY,
        created_at=datetime(2026, 1, 7, tzinfo=UTC),
        sequence="4",
    )


def test_a_statement_reads_back_with_its_balances_references_and_return_reason() -> None:
    written = statement(
        (
            line(
                "SB1",
                1234,
                end_to_end_id="PO-1",
                counterparty_name="Seller GmbH",
                counterparty_account="DE89370400440532013000",
                remittance="Payout PO-1",
            ),
            line("SB2", 500, direction="credit", end_to_end_id="PO-0", return_reason_code="AC04"),
        )
    )
    [read] = parse_mt940(write_mt940([written])).statements
    assert (read.statement_id, read.account, read.sequence) == (
        "SB26010601EUR",
        "FR1420041010050500013M02606",
        "4/1",
    )
    assert read.opening_balance == Money(100_000, "EUR")
    assert read.closing_balance == Money(100_000 - 1234 + 500, "EUR")
    assert read.balances_agree() is True
    paid, returned = read.lines
    assert (paid.direction, paid.amount, paid.end_to_end_id) == (
        "debit",
        Money(1234, "EUR"),
        "PO-1",
    )
    assert paid.counterparty_name == "Seller GmbH"
    assert paid.counterparty_account == "DE89370400440532013000"
    assert paid.remittance == "Payout PO-1"
    assert paid.bank_reference == "SB1"
    assert (returned.direction, returned.return_reason_code) == ("credit", "AC04")


def test_yen_have_no_decimals_and_an_overdrawn_balance_is_a_debit_balance() -> None:
    written = statement((line("SB1", 7000, "JPY"),), opening=5000, currency="JPY")
    content = write_mt940([written])
    assert b":60F:C260106JPY5000,\r\n" in content
    assert b":62F:D260106JPY2000,\r\n" in content
    [read] = parse_mt940(content).statements
    assert read.closing_balance == Money(-2000, "JPY")
    assert read.balances_agree() is True


def test_long_details_wrap_at_65_characters_and_keep_the_end_to_end_id() -> None:
    long_text = "Remittance " * 40
    written = statement((line("SB1", 1, end_to_end_id="E" * 35, remittance=long_text.strip()),))
    content = write_mt940([written]).decode("ascii")
    detail_lines = content.split(":86:")[1].split("\r\n:62F:")[0].split("\r\n")
    assert len(detail_lines) <= 6
    assert all(len(text) <= 65 for text in detail_lines)
    [read] = parse_mt940(content.encode("ascii")).statements
    assert read.lines[0].end_to_end_id == "E" * 35
    assert read.lines[0].remittance.startswith("Remittance Remittance")


def test_text_outside_the_swift_set_is_transliterated_and_slashes_cannot_open_fields() -> None:
    written = statement(
        (line("SB1", 1, end_to_end_id="PO-1", counterparty_name="Café / Zoë & Co"),)
    )
    [read] = parse_mt940(write_mt940([written])).statements
    assert read.lines[0].counterparty_name == "Cafe Zoe Co"
    assert read.lines[0].end_to_end_id == "PO-1"


def test_a_statement_without_balances_is_refused() -> None:
    written = statement(())
    without = Statement(
        statement_id=written.statement_id,
        account=written.account,
        currency="EUR",
        lines=(),
        format="mt940",
    )
    with pytest.raises(StatementError) as refused:
        write_mt940([without])
    assert refused.value.code == "not_representable"
    assert refused.value.where == "statements[0].opening_balance"


def test_an_id_longer_than_16_characters_is_refused() -> None:
    written = statement(())
    too_long = replace(written, statement_id="S" * 17)
    with pytest.raises(StatementError, match="statement id"):
        write_mt940([too_long])


@settings(max_examples=60, deadline=None)
@given(
    amounts=st.lists(st.integers(min_value=1, max_value=10**12), min_size=0, max_size=12),
    directions=st.lists(st.sampled_from(["credit", "debit"]), min_size=12, max_size=12),
    opening=st.integers(min_value=-(10**12), max_value=10**12),
)
def test_any_statement_reads_back_with_the_same_amounts_and_balances(
    amounts: list[int], directions: list[str], opening: int
) -> None:
    lines = tuple(
        line(f"SB{number}", amount, direction=directions[number], end_to_end_id=f"PO-{number}")
        for number, amount in enumerate(amounts)
    )
    written = statement(lines, opening=opening)
    [read] = parse_mt940(write_mt940([written])).statements
    assert read.opening_balance == written.opening_balance
    assert read.closing_balance == written.closing_balance
    assert [(r.amount, r.direction, r.end_to_end_id) for r in read.lines] == [
        (w.amount, w.direction, w.end_to_end_id) for w in lines
    ]
