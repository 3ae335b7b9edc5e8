"""Banks' CSV exports read through a saved `CsvMapping`: columns, separators, encodings, amounts
exact, and errors naming line and column."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sellerpay.money import Money
from sellerpay.rails.csv_statements import CsvMapping, parse_csv_statement
from sellerpay.rails.statements import StatementError

GERMAN = CsvMapping(
    date_column="Buchungstag",
    date_format="%d.%m.%Y",
    value_date_column="Valuta",
    amount_column="Betrag",
    currency_column="Währung",
    decimal_separator=",",
    thousands_separator=".",
    delimiter=";",
    encoding="cp1252",
    skip_rows=2,
    reference_column="Referenz",
    end_to_end_id_column="End-to-End-Ref",
    remittance_column="Verwendungszweck",
    counterparty_name_column="Empfänger",
    counterparty_account_column="IBAN",
    account="DE89370400440532013000",
)
GERMAN_EXPORT = (
    "Umsätze Girokonto;;;;;;;;\n"
    "Zeitraum: 01.03.2024 - 31.03.2024;;;;;;;;\n"
    "Buchungstag;Valuta;Empfänger;IBAN;Verwendungszweck;Referenz;End-to-End-Ref;Betrag;Währung\n"
    '01.03.2024;02.03.2024;Atelier Müller;DE02 1203 0000 0000 2020 51;"Auszahlung; März";B-1;po_1;-1.234,56;EUR\n'  # noqa: E501
    "02.03.2024;02.03.2024;Kunde;;Gutschrift;B-2;;99,00;EUR\n"
    ";;;;;;;;\n"
    "03.03.2024;;Bank;;Gebühr;B-3;;-0,5;EUR\n"
).encode("cp1252")


def test_a_german_export_with_skipped_rows_semicolons_and_comma_decimals() -> None:
    parsed = parse_csv_statement(GERMAN_EXPORT, GERMAN)

    (statement,) = parsed.statements
    assert parsed.format == statement.format == "csv"
    assert (statement.account, statement.currency) == ("DE89370400440532013000", "EUR")
    assert statement.opening_balance is None and statement.closing_balance is None
    assert (statement.opening_date, statement.closing_date) == (date(2024, 3, 1), date(2024, 3, 3))
    payout, credit, fee = statement.lines
    assert (payout.line_id, payout.amount, payout.direction) == (
        "4",
        Money.of_minor(123456, "EUR"),
        "debit",
    )
    assert (payout.booked_on, payout.value_on) == (date(2024, 3, 1), date(2024, 3, 2))
    assert (payout.counterparty_name, payout.counterparty_account) == (
        "Atelier Müller",
        "DE02120300000000202051",
    )
    assert (payout.remittance, payout.bank_reference, payout.end_to_end_id) == (
        "Auszahlung; März",
        "B-1",
        "po_1",
    )
    assert (credit.amount, credit.direction) == (Money.of_minor(9900, "EUR"), "credit")
    assert (fee.line_id, fee.amount, fee.value_on) == ("7", Money.of_minor(50, "EUR"), None)


def test_the_same_file_gets_the_same_statement_id() -> None:
    first = parse_csv_statement(GERMAN_EXPORT, GERMAN).statements[0]
    again = parse_csv_statement(GERMAN_EXPORT, GERMAN).statements[0]
    other = parse_csv_statement(GERMAN_EXPORT + b"04.03.2024;;;;;;;1;EUR\n", GERMAN).statements[0]

    assert first == again
    assert first.statement_id != other.statement_id


def test_debit_and_credit_columns_and_one_statement_per_currency() -> None:
    mapping = CsvMapping(
        date_column="date",
        debit_column="Debit",
        credit_column="Credit",
        currency_column="ccy",
    )
    data = (
        b"Date,Debit,Credit,CCY\n"
        b"2024-03-01,12.50,,EUR\n"
        b"2024-03-01,,1000,JPY\n"
        b"2024-03-02,-3.00,,EUR\n"
        b"2024-03-02,0.00,7.25,EUR\n"
    )

    parsed = parse_csv_statement(data, mapping)

    eur, jpy = parsed.statements
    assert (eur.currency, jpy.currency) == ("EUR", "JPY")
    assert eur.statement_id.endswith("-EUR") and jpy.statement_id.endswith("-JPY")
    assert [(line.amount.amount_minor, line.direction) for line in eur.lines] == [
        (1250, "debit"),
        (300, "debit"),
        (725, "credit"),
    ]
    assert jpy.lines[0].amount == Money.of_minor(1000, "JPY")


def test_a_file_without_header_names_columns_by_position() -> None:
    mapping = CsvMapping(
        date_column="1", amount_column="3", currency="GBP", has_header=False, remittance_column="2"
    )

    (statement,) = parse_csv_statement(b"2024-03-01,rent,-950.00\n", mapping).statements

    assert statement.lines[0].amount == Money.of_minor(95000, "GBP")
    assert statement.lines[0].remittance == "rent"


def test_utf8_byte_order_mark_is_ignored() -> None:
    mapping = CsvMapping(date_column="date", amount_column="amount", currency="EUR")

    (statement,) = parse_csv_statement(
        b"\xef\xbb\xbfdate,amount\n2024-03-01,1.00\n", mapping
    ).statements

    assert statement.lines[0].amount == Money.of_minor(100, "EUR")


@pytest.mark.parametrize(
    ("written", "decimal", "thousands", "minor"),
    [
        ("1,234.56", ".", ",", 123456),
        ("-1.234,56", ",", ".", -123456),
        ("1 234,56", ",", " ", 123456),
        ("1'234.56", ".", "'", 123456),
        ("(12.50)", ".", "", -1250),
        ("12,50-", ",", "", -1250),
        ("+7", ".", "", 700),
        (".5", ".", "", 50),
    ],
)
def test_amount_notations(written: str, decimal: str, thousands: str, minor: int) -> None:
    mapping = CsvMapping(
        date_column="d",
        amount_column="a",
        currency="EUR",
        decimal_separator=decimal,
        thousands_separator=thousands,
        delimiter="\t",
    )

    (statement,) = parse_csv_statement(
        f"d\ta\n2024-03-01\t{written}\n".encode(), mapping
    ).statements

    line = statement.lines[0]
    assert line.signed_amount == Money.of_minor(minor, "EUR")


@given(
    minor=st.integers(-(10**15), 10**15),
    currency=st.sampled_from(["EUR", "JPY", "BHD"]),
    notation=st.sampled_from([(".", ","), (",", "."), (",", " "), (".", "")]),
)
def test_any_amount_written_with_grouping_reads_back_exactly(
    minor: int, currency: str, notation: tuple[str, str]
) -> None:
    decimal, thousands = notation
    money = Money.of_minor(minor, currency)
    whole, _, fraction = f"{abs(money.to_decimal()):f}".partition(".")
    grouped = f"{int(whole):,}".replace(",", thousands)
    written = ("-" if minor < 0 else "") + grouped + (decimal + fraction if fraction else "")
    mapping = CsvMapping(
        date_column="d",
        amount_column="a",
        currency=currency,
        decimal_separator=decimal,
        thousands_separator=thousands,
        delimiter=";",
    )

    (statement,) = parse_csv_statement(f"d;a\n2024-03-01;{written}\n".encode(), mapping).statements

    assert statement.lines[0].signed_amount == money


@pytest.mark.parametrize(
    ("row", "code", "where"),
    [
        ("2024-03-01,12.345", "too_many_decimals", "line 2, amount"),
        ("2024-03-01,1.2.3", "invalid_amount", "line 2, amount"),
        ("2024-03-01,twelve", "invalid_amount", "line 2, amount"),
        ("01/03/2024,12.00", "invalid_date", "line 2, date"),
        ("2024-02-30,12.00", "invalid_date", "line 2, date"),
    ],
)
def test_bad_cells_are_refused_naming_line_and_column(row: str, code: str, where: str) -> None:
    mapping = CsvMapping(date_column="date", amount_column="amount", currency="EUR")

    with pytest.raises(StatementError) as raised:
        parse_csv_statement(f"date,amount\n{row}\n".encode(), mapping)

    assert (raised.value.code, raised.value.where) == (code, where)


def test_grouping_that_is_not_by_thousands_is_refused() -> None:
    mapping = CsvMapping(
        date_column="d",
        amount_column="a",
        currency="EUR",
        decimal_separator=",",
        thousands_separator=".",
        delimiter=";",
    )

    with pytest.raises(StatementError) as raised:
        parse_csv_statement(b"d;a\n2024-03-01;1.23\n", mapping)  # 1.23 EUR typed the other way

    assert (raised.value.code, raised.value.where) == ("invalid_amount", "line 2, amount")


@pytest.mark.parametrize(
    ("data", "code", "where"),
    [
        (b"date,amount\n", "empty_statement", "line 1"),
        (b"", "empty_statement", "line 1"),
        (b"when,amount\n2024-03-01,1.00\n", "missing_column", "mapping.date_column"),
        (b'date,amount\n2024-03-01,"1.00\n', "malformed_csv", "line 2"),
        (b"date,amount\n2024-03-01,\xff1.00\n", "invalid_encoding", "line 2"),
    ],
)
def test_files_that_cannot_be_read(data: bytes, code: str, where: str) -> None:
    mapping = CsvMapping(date_column="date", amount_column="amount", currency="EUR")

    with pytest.raises(StatementError) as raised:
        parse_csv_statement(data, mapping)

    assert (raised.value.code, raised.value.where) == (code, where)


def test_a_row_with_both_debit_and_credit_is_refused() -> None:
    mapping = CsvMapping(date_column="d", debit_column="dr", credit_column="cr", currency="EUR")

    with pytest.raises(StatementError) as raised:
        parse_csv_statement(b"d,dr,cr\n2024-03-01,1.00,2.00\n", mapping)

    assert (raised.value.code, raised.value.where) == ("ambiguous_amount", "line 2")


def test_a_mapping_survives_saving_as_json() -> None:
    saved = json.loads(json.dumps(GERMAN.to_dict()))

    assert CsvMapping.from_dict(saved) == GERMAN


BASE = {"date_column": "d", "amount_column": "a", "currency": "EUR"}


@pytest.mark.parametrize(
    ("data", "code", "where"),
    [
        ({**BASE, "delimitr": ";"}, "invalid_mapping", "mapping.delimitr"),
        ({"amount_column": "a", "currency": "EUR"}, "invalid_mapping", "mapping.date_column"),
        ({**BASE, "skip_rows": "2"}, "invalid_mapping", "mapping.skip_rows"),
        ({**BASE, "has_header": "yes"}, "invalid_mapping", "mapping.has_header"),
        ({"date_column": "d", "currency": "EUR"}, "invalid_mapping", "mapping.amount_column"),
        ({"date_column": "d", "amount_column": "a"}, "invalid_mapping", "mapping.currency"),
        ({**BASE, "currency": "EURO"}, "unknown_currency", "mapping.currency"),
        (
            {"date_column": "d", "debit_column": "x", "currency": "EUR"},
            "invalid_mapping",
            "mapping.credit_column",
        ),
        (
            {**BASE, "decimal_separator": ",", "thousands_separator": ","},
            "invalid_mapping",
            "mapping.thousands_separator",
        ),
        ({**BASE, "delimiter": ";;"}, "invalid_mapping", "mapping.delimiter"),
        ({**BASE, "encoding": "klingon"}, "invalid_mapping", "mapping.encoding"),
        ({**BASE, "date_format": "YYYY"}, "invalid_mapping", "mapping.date_format"),
    ],
)
def test_a_bad_saved_mapping_names_its_key(data: dict[str, Any], code: str, where: str) -> None:
    with pytest.raises(StatementError) as raised:
        CsvMapping.from_dict(data)

    assert (raised.value.code, raised.value.where) == (code, where)
