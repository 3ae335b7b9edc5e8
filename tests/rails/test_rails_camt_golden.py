"""Every real camt.053/camt.054 sample parses, and what it says equals the golden files beside it
(OCA's expected parses, the Goldman Sachs JSON rendering) and the README's description."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from statements_builders import bank_files_folder, load_pydata, statement_files

from sellerpay.money import Money
from sellerpay.rails.camt import parse_camt, returns_from_camt054
from sellerpay.rails.detect import detect_format
from sellerpay.rails.statements import StatementLine

BANK_FILES = bank_files_folder()
CAMT_FILES = statement_files("camt053", "camt054")


def _flat(lines: tuple[StatementLine, ...]) -> list[StatementLine]:
    """Transactions as OCA lists them: a batch entry's details, else the entry itself."""
    return [transaction for line in lines for transaction in (line.details or (line,))]


def _golden_money(value: float, currency: str) -> Money:
    return Money.from_decimal(Decimal(repr(value)), currency)


@pytest.mark.parametrize("path", CAMT_FILES, ids=lambda path: path.name)
def test_every_camt_sample_parses_the_same_twice_and_as_detected(path: Path) -> None:
    data = path.read_bytes()

    first = parse_camt(data)
    second = parse_camt(data)

    assert first == second
    assert first.statements
    assert detect_format(data, path.name) == first.format
    assert first.format == ("camt.054" if path.parent.name == "camt054" else "camt.053")
    for statement in first.statements:
        for line in _flat(statement.lines):
            assert line.amount.amount_minor >= 0
        for line in statement.lines:
            if line.details:
                assert [d.line_id for d in line.details] == [
                    f"{line.line_id}/{n}" for n in range(1, len(line.details) + 1)
                ]


@pytest.mark.parametrize(
    ("sample", "golden"),
    [
        ("camt053/oca_test-camt053", "camt053/oca_golden-camt053.pydata"),
        ("camt053/oca_test-camt053-txdtls", "camt053/oca_golden-camt053-txdtls.pydata"),
        ("camt054/oca_test-camt054", "camt054/oca_golden-camt054.pydata"),
    ],
)
def test_oca_samples_equal_their_golden_parse(sample: str, golden: str) -> None:
    currency, account, expected_statements = load_pydata(BANK_FILES / golden)

    parsed = parse_camt((BANK_FILES / sample).read_bytes())

    assert len(parsed.statements) == len(expected_statements) == 1
    statement, expected = parsed.statements[0], expected_statements[0]
    assert (statement.currency, statement.account) == (currency, account)
    assert statement.statement_id == expected["name"]
    if parsed.format == "camt.053":
        assert statement.opening_balance == _golden_money(expected["balance_start"], currency)
        assert statement.closing_balance == _golden_money(expected["balance_end_real"], currency)
    else:  # a notification has no balances; OCA shows 0.0 for "none"
        assert expected["balance_start"] == expected["balance_end_real"] == 0.0
        assert statement.opening_balance is None and statement.closing_balance is None
    transactions = _flat(statement.lines)
    assert len(transactions) == len(expected["transactions"])
    for line, wanted in zip(transactions, expected["transactions"], strict=True):
        assert line.signed_amount == _golden_money(wanted["amount"], currency)
        assert line.booked_on == date.fromisoformat(wanted["date"])
        assert line.counterparty_account == wanted["account_number"]
        assert line.counterparty_name == wanted["partner_name"]
    single_entries = [line for line in statement.lines if not line.details]
    for line in single_entries:  # a batch detail keeps its own code; OCA copies the entry's
        wanted = expected["transactions"][transactions.index(line)]
        assert line.bank_transaction_code == wanted["transaction_type"]


def test_oca_reversed_direct_debit_batch_keeps_each_detail_with_its_return_reason() -> None:
    statement = parse_camt((BANK_FILES / "camt053/oca_test-camt053").read_bytes()).statements[0]

    batch = statement.lines[1]

    assert batch.amount == Money.of_minor(66405, "EUR") and batch.direction == "debit"
    assert batch.reversal
    assert batch.payment_information_id == "2018/125-20141229-NORM"
    assert batch.message_id == "2014/125"
    assert [d.amount.amount_minor for d in batch.details] == [56405, 10000]
    assert sum(d.amount.amount_minor for d in batch.details) == batch.amount.amount_minor
    assert {d.return_reason_code for d in batch.details} == {"AC06"}
    assert batch.details[0].end_to_end_id == "TESTBANK/NL/20141229/01206408"
    assert batch.details[0].instruction_id == "TESTBANK/NL/20141229/01206408"
    assert all(d.reversal for d in batch.details)


def test_statement_without_entries_keeps_its_balances() -> None:
    # OCA's golden is (None, None, []): it skips statements with no entries; we keep them.
    assert load_pydata(BANK_FILES / "camt053/oca_golden-camt053-no-ntry.pydata") == (None, None, [])

    parsed = parse_camt((BANK_FILES / "camt053/oca_test-camt053-no-ntry").read_bytes())

    (statement,) = parsed.statements
    assert statement.lines == ()
    assert statement.version == "camt.053.001.04"
    assert statement.opening_balance == statement.closing_balance == Money.of_minor(152076, "CHF")
    assert statement.balances_agree() is True


def test_booking_date_given_as_date_time_is_read_as_the_date_written() -> None:
    parsed = parse_camt((BANK_FILES / "camt053/oca_test-camt053-bookgdt-dttm").read_bytes())

    (line,) = parsed.statements[0].lines

    assert line.booked_on == date(2014, 1, 4)  # 2014-01-04T23:00:00.000Z as written
    assert line.value_on == date(2014, 1, 5)


def test_zip_archive_gives_one_file_with_the_statements_of_every_member() -> None:
    data = (BANK_FILES / "camt053/oca_test-camt053.zip").read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = [archive.read(name) for name in archive.namelist()]

    parsed = parse_camt(data)

    assert [s.statement_id for s in parsed.statements] == ["1234Test/2", "1234Test/3"]
    assert list(parsed.statements) == [parse_camt(member).statements[0] for member in members]
    assert [len(s.lines) for s in parsed.statements] == [3, 3]


def _goldman_entries() -> list[dict[str, Any]]:
    path = BANK_FILES / "camt053/iso20022js_goldman_sachs_camt_053_us_v2_sample.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    (statement,) = document["Document"]["BkToCstmrStmt"]["Stmt"]
    entries: list[dict[str, Any]] = statement["Ntry"]
    return entries


def test_goldman_sachs_us_statement_matches_its_json_rendering() -> None:
    expected = _goldman_entries()
    path = BANK_FILES / "camt053/iso20022js_goldman_sachs_camt_053_us_v2_sample.xml"

    (statement,) = parse_camt(path.read_bytes()).statements

    assert statement.statement_id == "258158850"
    assert statement.opening_balance == Money.of_minor(-84368620, "USD")  # DBIT: overdrawn
    assert len(statement.lines) == len(expected) == 15
    for line, entry in zip(statement.lines, expected, strict=True):
        assert line.line_id == str(entry["NtryRef"])
        assert line.amount == Money.parse(entry["Amt"]["#text"], entry["Amt"]["@_Ccy"])
        assert line.direction == ("credit" if entry["CdtDbtInd"] == "CRDT" else "debit")
        assert line.reversal is entry["RvslInd"]
        refs = (entry["NtryDtls"][0].get("TxDtls") or {}).get("Refs", {})
        if "EndToEndId" in refs:  # the JSON made some of them numbers (leading zeros lost)
            assert line.end_to_end_id.lstrip("0") == str(refs["EndToEndId"]).lstrip("0")


@pytest.mark.parametrize(
    ("name", "entries", "reversals", "return_reasons"),
    [
        ("iso20022js_abn_amro_example_camt.xml", 13, 2, ["MS03", "MS03"]),
        ("iso20022js_ing_example_camt.xml", 9, 1, ["AC04", "MD06"]),
        ("iso20022js_nordea_example_camt.xml", 6, 0, []),
        ("iso20022js_goldman_sachs_camt_053_us_v2_sample.xml", 15, 3, ["R02"]),
        ("iso20022js_goldman_sachs_camt_053_uk_v2_1.xml", 6, 1, []),
    ],
)
def test_iso20022js_samples_hold_what_the_readme_says(
    name: str, entries: int, reversals: int, return_reasons: list[str]
) -> None:
    parsed = parse_camt((BANK_FILES / "camt053" / name).read_bytes())

    lines = [line for statement in parsed.statements for line in statement.lines]
    transactions = [t for s in parsed.statements for t in _flat(s.lines)]
    assert len(lines) == entries
    assert sum(line.reversal for line in lines) == reversals
    assert [t.return_reason_code for t in transactions if t.return_reason_code] == return_reasons


def test_foreign_currency_entries_stay_in_their_currency() -> None:
    path = BANK_FILES / "camt053/iso20022js_goldman_sachs_camt_053_us_v2_sample.xml"

    (statement,) = parse_camt(path.read_bytes()).statements

    foreign = [line for line in statement.lines if line.amount.currency != "USD"]
    assert statement.currency == "USD"
    assert [(line.line_id, line.amount) for line in foreign] == [
        ("172404700", Money.of_minor(2906, "EUR"))
    ]
    assert statement.balances_agree() is None  # cannot be said across currencies


@pytest.mark.parametrize(
    "name",
    [
        "iso20022js_abn_amro_example_camt.xml",
        "iso20022js_ing_example_camt.xml",
        "iso20022js_nordea_example_camt.xml",
        "oca_test-camt053-txdtls",
    ],
)
def test_opening_balance_plus_lines_is_the_closing_balance(name: str) -> None:
    parsed = parse_camt((BANK_FILES / "camt053" / name).read_bytes())

    assert [statement.balances_agree() for statement in parsed.statements] == [True]


def test_a_closing_balance_off_by_one_cent_is_reported_not_refused() -> None:
    path = BANK_FILES / "camt053/iso20022js_nordea_example_camt.xml"
    (statement,) = parse_camt(path.read_bytes()).statements
    assert statement.closing_balance is not None
    off = replace(statement, closing_balance=statement.closing_balance + Money.of_minor(1, "EUR"))
    oca = parse_camt((BANK_FILES / "camt053/oca_test-camt053").read_bytes()).statements[0]

    assert statement.balances_agree() is True
    assert off.balances_agree() is False
    assert oca.balances_agree() is False  # that sample's own figures do not add up


def test_batch_details_add_up_to_their_entry_in_every_sample() -> None:
    for path in CAMT_FILES:
        for statement in parse_camt(path.read_bytes()).statements:
            for line in statement.lines:
                if line.details and all(d.direction == line.direction for d in line.details):
                    total = sum(d.amount.amount_minor for d in line.details)
                    assert total == line.amount.amount_minor, (path.name, line.line_id)


def test_returned_payouts_are_found_in_real_statements() -> None:
    uk = BANK_FILES / "camt053/iso20022js_goldman_sachs_camt_053_uk_v2_1.xml"
    us = BANK_FILES / "camt053/iso20022js_goldman_sachs_camt_053_us_v2_sample.xml"

    uk_returns = returns_from_camt054(uk.read_bytes())
    us_returns = returns_from_camt054(us.read_bytes())

    assert [(r.end_to_end_id, r.amount, r.reason_code) for r in uk_returns] == [
        ("00384068", Money.of_minor(10000, "GBP"), "")  # PMNT-ICDT-ARET: an ACH return
    ]
    assert [(r.end_to_end_id, r.reason_code) for r in us_returns] == [
        ("GSWDEZOJDF", ""),  # PMNT-ICDT-RRTN
        ("GSKWTHM25VCGE5", "R02"),  # RtrInf/Rsn/Prtry
    ]
    assert returns_from_camt054((BANK_FILES / "camt054/oca_test-camt054").read_bytes()) == []
