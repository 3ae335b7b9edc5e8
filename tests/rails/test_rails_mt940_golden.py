"""Every real MT940/MT942 sample parses, or gives the typed error it deserves, and its lines,
amounts, dates and balances equal the mt940 library's golden dumps beside it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from statements_builders import bank_files_folder, load_mt940_golden, statement_files

from sellerpay.money import Money
from sellerpay.rails.detect import detect_format
from sellerpay.rails.statements import StatementError, StatementFile
from sellerpay.rails.swift_mt940 import decode_statement_text, parse_mt940

BANK_FILES = bank_files_folder()
MT940_FILES = statement_files("mt940")
REFUSED = {
    # DEM was withdrawn in 2002: not an ISO 4217 currency Money can hold
    "cmxl_mt940.sta": ("unknown_currency", "line 4"),
    # the file stops after the last :61:, with no :62F: closing balance: a cut statement
    "self-provided_gv_codes.sta": ("missing_closing_balance", "line 7"),
    # one :61: and its :86:, with no :20:, :25: or balances around them
    "self-provided_sparkassen.sta": ("mt940_fragment", "line 1"),
}
GOLDEN = sorted(path for path in MT940_FILES if path.with_suffix(".yml").exists())


def _parse(path: Path) -> StatementFile:
    return parse_mt940(path.read_bytes())


@pytest.mark.parametrize("path", MT940_FILES, ids=lambda path: path.name)
def test_every_mt940_sample_parses_or_gives_its_typed_error(path: Path) -> None:
    data = path.read_bytes()
    assert detect_format(data, path.name) in ("mt940", "mt942")
    if path.name in REFUSED:
        with pytest.raises(StatementError) as raised:
            parse_mt940(data)
        assert (raised.value.code, raised.value.where) == REFUSED[path.name]
        return

    parsed = parse_mt940(data)

    assert parsed == parse_mt940(data)
    assert parsed.format == detect_format(data, path.name)
    for statement in parsed.statements:
        assert statement.account and statement.statement_id
        for line in statement.lines:
            assert line.amount.currency == statement.currency
            assert line.amount.amount_minor >= 0 and not line.details


def _golden_lines(golden: dict[str, Any]) -> list[dict[str, Any]]:
    return [transaction["data"] for transaction in golden["transactions"]]


def _expected_money(golden_amount: dict[str, Any], currency: str, mark: str) -> Money:
    """The golden's signed amount, with the reversal of a credit (RC) made a debit: the library
    version that wrote the goldens left RC positive."""
    amount: Decimal = golden_amount["amount"]
    return Money.from_decimal(-abs(amount) if mark == "RC" else amount, currency)


def _compare_lines(parsed: StatementFile, expected: list[dict[str, Any]]) -> None:
    lines = [line for statement in parsed.statements for line in statement.lines]
    assert len(lines) == len(expected)
    for line, wanted in zip(lines, expected, strict=True):
        currency = wanted["amount"]["currency"] or line.amount.currency
        assert line.signed_amount == _expected_money(wanted["amount"], currency, wanted["status"])
        assert line.value_on == wanted["date"]
        assert line.booked_on == wanted.get("entry_date", wanted["date"])


def _balances(golden: dict[str, Any], kind: str) -> set[tuple[Money, date]]:
    return {
        (Money.from_decimal(value["amount"]["amount"], value["amount"]["currency"]), value["date"])
        for key, value in golden["data"].items()
        if key.endswith(f"{kind}_balance") and key != "available_balance"
    }


@pytest.mark.parametrize(
    "path", [path for path in GOLDEN if path.name not in REFUSED], ids=lambda path: path.name
)
def test_lines_and_balances_equal_the_library_golden(path: Path) -> None:
    golden = load_mt940_golden(path.with_suffix(".yml"))

    parsed = _parse(path)

    _compare_lines(parsed, _golden_lines(golden))
    openings = {(s.opening_balance, s.opening_date) for s in parsed.statements}
    closings = {(s.closing_balance, s.closing_date) for s in parsed.statements}
    # the golden is one merged collection: its balances are those of the statements that set
    # them last, which must be among ours
    assert _balances(golden, "opening") <= openings
    assert _balances(golden, "closing") <= closings


def test_withdrawn_currency_fails_the_file_but_the_other_statements_match_the_golden() -> None:
    path = BANK_FILES / "mt940/cmxl_mt940.sta"
    data = path.read_bytes()
    golden = _golden_lines(load_mt940_golden(path.with_suffix(".yml")))
    dem_lines = [line for line in golden if line["amount"]["currency"] == "DEM"]
    start = data.index(b":20:", data.index(b":20:") + 1)

    parsed = parse_mt940(data[start:])  # the EUR and PLN statements alone

    assert len(dem_lines) == 11
    assert [s.currency for s in parsed.statements] == ["EUR", "PLN"]
    _compare_lines(parsed, golden[len(dem_lines) :])


def test_cut_statement_matches_the_golden_once_its_closing_balance_is_restored() -> None:
    path = BANK_FILES / "mt940/self-provided_gv_codes.sta"
    golden = load_mt940_golden(path.with_suffix(".yml"))
    assert "final_closing_balance" not in golden["data"]  # the library read it without one

    parsed = parse_mt940(path.read_bytes() + b"\n:62F:C191025EUR12087,67\n")

    _compare_lines(parsed, _golden_lines(golden))
    (statement,) = parsed.statements
    assert statement.balances_agree() is True
    first = statement.lines[0]
    assert first.end_to_end_id == "1234567890123 PAYPAL"
    assert first.counterparty_name == "PayPal (Europe) S.a.r.l. et"
    assert first.remittance == ". SPOTIFY, Ihr Einkaufbei SPOTIFY"
    assert first.bank_transaction_code == "NMSC/835"


def test_fragment_matches_the_golden_inside_a_statement_and_its_broken_tag_is_repaired() -> None:
    path = BANK_FILES / "mt940/self-provided_sparkassen.sta"
    golden = load_mt940_golden(path.with_suffix(".yml"))
    assert golden["data"] == {}  # the library read no account, no balance, no currency
    wrapped = (
        b":20:STARTUMS\n:25:12345678/0000000001\n:28C:1\n:60F:C181125EUR100,00\n"
        + path.read_bytes()
        + b"\n:62F:C181126EUR130,00\n"
    )

    parsed = parse_mt940(wrapped)

    _compare_lines(parsed, _golden_lines(golden))
    (line,) = parsed.statements[0].lines
    assert (line.remittance, line.bank_transaction_code) == ("Test", "N062/166")


@pytest.mark.parametrize(
    ("name", "statements", "lines"),
    [
        ("ASNB_0708271685_09022020_164516.940.txt", 31, 8),
        ("betterplace_sepa_mt9401.sta", 26, 97),
        ("betterplace_sepa_snippet.sta", 2, 11),
        ("jejik_abnamro.sta", 2, 10),
        ("mBank_mt942.sta", 1, 3),
    ],
)
def test_statement_and_line_counts_are_the_readme_ones(
    name: str, statements: int, lines: int
) -> None:
    parsed = _parse(BANK_FILES / "mt940" / name)

    assert len(parsed.statements) == statements
    assert parsed.line_count == lines


def test_largest_sample_reversals_of_credits_are_debits_and_every_statement_adds_up() -> None:
    parsed = _parse(BANK_FILES / "mt940/betterplace_sepa_mt9401.sta")

    lines = [line for statement in parsed.statements for line in statement.lines]
    # the README counts marks, the two RC (reversals of a credit) among its 43 "C"; by their
    # effect they are debits, and only so do all 26 statements add up
    assert sum(line.direction == "debit" and not line.reversal for line in lines) == 54
    assert [line.direction for line in lines if line.reversal] == ["debit", "debit"]
    assert sum(line.direction == "credit" for line in lines) == 41
    assert all(statement.balances_agree() for statement in parsed.statements)


def test_asn_bank_empty_statements_keep_their_balances_and_agree() -> None:
    parsed = _parse(BANK_FILES / "mt940/ASNB_0708271685_09022020_164516.940.txt")

    empty = [s for s in parsed.statements if not s.lines]
    assert len(empty) == 26
    assert all(s.opening_balance == s.closing_balance for s in empty)
    assert all(s.balances_agree() for s in parsed.statements)
    first = parsed.statements[0].lines[0]
    assert first.counterparty_account == "NL47INGB9999999999"  # read with a 34x reference


def test_swift_control_characters_and_mt942_interim_report() -> None:
    mt940 = _parse(BANK_FILES / "mt940/mBank_mt940.sta")
    mt942 = _parse(BANK_FILES / "mt940/mBank_mt942.sta")

    assert mt940.format == "mt940" and mt942.format == "mt942"
    (report,) = mt942.statements
    assert report.opening_balance is None and report.currency == "PLN"
    assert report.created_at is not None and report.created_at.isoformat() == (
        "2017-01-19T18:15:00+01:00"
    )
    assert [line.bank_reference for line in report.lines] == [
        line.bank_reference for line in mt940.statements[0].lines
    ]


def test_non_utf8_central_european_file_is_decoded_as_cp852() -> None:
    data = (BANK_FILES / "mt940/self-provided_raiffeisen-cmi.sta").read_bytes()

    text, encoding = decode_statement_text(data)

    assert encoding == "cp852"
    assert "Csoportos átutalás jóváírása" in text
    assert "Bankon belüli átutalás" in text


def test_statement_level_information_is_not_glued_to_the_last_line() -> None:
    parsed = _parse(BANK_FILES / "mt940/jejik_ing.sta")

    last = parsed.statements[0].lines[-1]

    assert "D000004C000002" not in last.remittance
    assert last.remittance.endswith("Betaling transactiedatum: 22-07-2010")


def test_structured_details_of_german_and_dutch_banks() -> None:
    snippet = _parse(BANK_FILES / "mt940/betterplace_sepa_snippet.sta").statements[0].lines[0]
    returned = _parse(BANK_FILES / "mt940/betterplace_sepa_mt9401.sta").statements[0].lines[0]
    rabobank = _parse(BANK_FILES / "mt940/jejik_rabobank-iban.sta").statements[0].lines[0]
    triodos = _parse(BANK_FILES / "mt940/jejik_triodos.sta").statements[0].lines[0]

    assert (snippet.end_to_end_id, snippet.counterparty_account) == (
        "EndToEndId TFNR 22 004 00001",
        "DE14508800500194785000",
    )
    assert (snippet.bank_reference, snippet.remittance) == (
        "0724710333343453",
        "Verw CTSc-01 BC-PPP TFNr 22 004",
    )
    assert (returned.return_reason_code, returned.bank_transaction_code) == ("914", "NTRF/159")
    assert (rabobank.end_to_end_id, rabobank.counterparty_name) == (
        "01-01-2013 12:00 0030000987654321",
        "CONTRA ACCOUNT HOLDER",
    )
    assert rabobank.counterparty_account == "NL70ABNA0987654321"
    assert rabobank.instruction_id == ""  # its :61: says "EREF": see the :86:
    assert (
        triodos.remittance == "ALGEMENE TUSSENREKENING KOSTEN VAN 01-10-2010 TOT EN MET 31-12-2010"
    )
    assert triodos.counterparty_account == "0390123456"


def test_intermediate_balances_and_28_without_c() -> None:
    abnamro = _parse(BANK_FILES / "mt940/jejik_abnamro.sta")
    triodos = _parse(BANK_FILES / "mt940/jejik_triodos.sta")

    first, second = abnamro.statements
    assert (first.sequence, second.sequence) == ("19321/1", "19322/1")
    assert second.opening_balance == Money.of_minor(287684, "EUR")  # :60M:
    assert second.closing_balance == Money.of_minor(184975, "EUR")  # :62M:
    assert triodos.statements[0].sequence == "1"  # :28: rather than :28C:
