"""MT940 as banks really send it, beyond the mt940 library: line endings, SWIFT envelopes and
control characters, code pages, amounts without decimals, broken tags, `?xx` and `/KEY/`
details, reversals, and errors that name their line."""

from __future__ import annotations

from datetime import date

import pytest

from sellerpay.money import Money
from sellerpay.rails.statements import StatementError, StatementFile
from sellerpay.rails.swift_mt940 import decode_statement_text, parse_mt940

HEADER = [":20:STMT-2024-03-01", ":25:DE89370400440532013000", ":28C:12/1"]
GERMAN_DETAILS = (
    ":86:166?00GUTSCHRIFT?100399?20EREF+po_1?21SVWZ+Payout March?30COBADEFFXXX"
    "?31DE02120300000000202051?32Atelier Durand?34901"
)


def statement(*body: str, header: list[str] | None = None) -> list[str]:
    return [*(HEADER if header is None else header), *body]


def encode(lines: list[str], newline: str = "\n", encoding: str = "utf-8") -> bytes:
    return newline.join(lines).encode(encoding)


PLAIN = statement(
    ":60F:C240301EUR1000,00",
    ":61:2403010301D250,00NTRFNONREF//BANK-1",
    GERMAN_DETAILS,
    ":62F:C240301EUR750,00",
)


def parse(lines: list[str], **options: str) -> StatementFile:
    return parse_mt940(encode(lines, **options))


def test_a_plain_statement_line_with_german_structured_details() -> None:
    (statement_,) = parse(PLAIN).statements

    (line,) = statement_.lines
    assert statement_.sequence == "12/1" and statement_.balances_agree() is True
    assert (line.line_id, line.booked_on, line.value_on) == (
        "1",
        date(2024, 3, 1),
        date(2024, 3, 1),
    )
    assert (line.amount, line.direction, line.reversal) == (
        Money.of_minor(25000, "EUR"),
        "debit",
        False,
    )
    assert (line.end_to_end_id, line.bank_reference) == ("po_1", "BANK-1")
    assert (line.counterparty_name, line.counterparty_account) == (
        "Atelier Durand",
        "DE02120300000000202051",
    )
    assert (line.remittance, line.bank_transaction_code) == ("Payout March", "NTRF/166")
    assert line.return_reason_code == "901"


@pytest.mark.parametrize("newline", ["\r\n", "\r", "\n"])
def test_line_endings_do_not_matter(newline: str) -> None:
    assert parse(PLAIN, newline=newline) == parse(PLAIN)


def test_swift_envelope_and_control_characters_are_removed() -> None:
    wrapped = [
        "\x01{1:F01COBADEFFAXXX0000000000}{2:O940COBADEFFXXXXN}{3:{108:REF}}{4:",
        *PLAIN,
        "-}{5:{CHK:0123456789AB}}\x03",
    ]

    assert parse(wrapped) == parse(PLAIN)


def test_two_statements_separated_by_a_dash_and_a_bank_header() -> None:
    second = statement(":60F:C240302EUR750,00", ":62F:C240302EUR750,00")
    lines = ["COBADEFF", "940", *PLAIN, "-", "COBADEFF", "940", *second, "-"]

    parsed = parse(lines)

    assert [len(s.lines) for s in parsed.statements] == [1, 0]
    assert parsed.statements[1].opening_date == date(2024, 3, 2)


@pytest.mark.parametrize(
    ("text", "encoding", "currency", "account"),
    [
        ("Müller GmbH Überweisung €5", "cp1252", "EUR", "DE89370400440532013000"),
        ("Zażółć gęślą jaźń", "cp1250", "PLN", "PL61109010140000071219812874"),
        ("Összevont utánvét", "cp852", "HUF", "HU42117730161111101800000000"),
    ],
)
def test_single_byte_code_pages_are_chosen_by_the_documented_rule(
    text: str, encoding: str, currency: str, account: str
) -> None:
    lines = statement(
        f":60F:C240301{currency}1000,00",
        ":61:2403010301C10,00NTRFNONREF",
        f":86:{text}",
        f":62F:C240301{currency}1010,00",
        header=[":20:S1", f":25:{account}", ":28C:1"],
    )
    data = encode(lines, encoding=encoding)

    decoded, chosen = decode_statement_text(data)

    assert chosen == encoding
    assert parse_mt940(data).statements[0].lines[0].remittance == text
    assert text in decoded


def test_utf8_with_byte_order_mark_is_utf8() -> None:
    data = b"\xef\xbb\xbf" + encode(PLAIN)

    assert decode_statement_text(data)[1] == "utf-8"
    assert parse_mt940(data) == parse(PLAIN)


@pytest.mark.parametrize(
    ("written", "minor"),
    [("500,", 50000), ("500", 50000), ("0,5", 50), (",75", 75), ("000000001000,00", 100000)],
)
def test_amounts_without_decimals_or_with_leading_zeros_are_exact(written: str, minor: int) -> None:
    lines = statement(
        ":60F:C240301EUR0,",
        f":61:2403010301C{written}NTRFNONREF",
        f":62F:C240301EUR{minor // 100},{minor % 100:02d}",
    )

    (statement_,) = parse(lines).statements

    assert statement_.lines[0].amount == Money.of_minor(minor, "EUR")
    assert statement_.balances_agree() is True


def test_a_file_cut_inside_its_closing_balance_is_refused() -> None:
    data = encode(PLAIN)

    with pytest.raises(StatementError) as raised:
        parse_mt940(data[: data.rindex(b",")])  # ":62F:C240301EUR750"

    assert (raised.value.code, raised.value.where) == ("invalid_amount", "line 7")


def test_reversal_marks_rc_and_rd_and_the_funds_code() -> None:
    lines = statement(
        ":60F:C240301EUR100,00",
        ":61:2403010301RCR30,00NTRFNONREF",  # reversal of a credit, funds code R (EUR)
        ":61:2403010301RD5,00NTRFNONREF",  # reversal of a debit
        ":61:240301CR1,00NMSCNONREF",  # credit, funds code R
        ":62F:C240301EUR76,00",
    )

    (statement_,) = parse(lines).statements

    assert [(line.direction, line.reversal) for line in statement_.lines] == [
        ("debit", True),
        ("credit", True),
        ("credit", False),
    ]
    assert statement_.balances_agree() is True


def test_entry_date_in_the_next_year_is_placed_in_the_next_year() -> None:
    lines = statement(":60F:C231231EUR0,00", ":61:2312310102C1,00NTRFNONREF", ":62F:C240102EUR1,00")

    (line,) = parse(lines).statements[0].lines

    assert (line.value_on, line.booked_on) == (date(2023, 12, 31), date(2024, 1, 2))


def test_a_tag_broken_across_lines_and_a_split_amount_are_repaired() -> None:
    lines = statement(
        ":60F:C240301EUR0,00",
        ":61:2403010301CR",
        "30,00N062NONREF",
        ":",
        "86:166?00GUTSCHR. UEBERWEISUNG?20SVWZ+Test",
        ":62F:C240301EUR30,00",
    )

    (line,) = parse(lines).statements[0].lines

    assert (line.amount, line.remittance) == (Money.of_minor(3000, "EUR"), "Test")


def test_unknown_tags_and_statement_level_information_are_dropped() -> None:
    lines = statement(
        ":86:information about the account",
        ":60F:C240301EUR1000,00",
        ":23:something only this bank knows",
        ":61:2403010301D250,00NTRFNONREF//BANK-1",
        GERMAN_DETAILS,
        ":62F:C240301EUR750,00",
        ":86:D000001C000000D250,00",
    )

    assert parse(lines) == parse(PLAIN)


def test_intermediate_balances_and_28_without_c() -> None:
    lines = statement(
        ":60M:C240301EUR1000,00",
        ":61:2403010301D250,00NTRFNONREF",
        ":62M:C240301EUR750,00",
        header=[":20:S1", ":25:123456789", ":28:7"],
    )

    (statement_,) = parse(lines).statements

    assert statement_.sequence == "7"
    assert (statement_.opening_balance, statement_.closing_balance) == (
        Money.of_minor(100000, "EUR"),
        Money.of_minor(75000, "EUR"),
    )


def test_dutch_structured_details_with_a_return_reason() -> None:
    lines = statement(
        ":60F:C240301EUR0,00",
        ":61:2403010301C250,00N541EREF//BANK-2",
        ":86:/TRTP/SEPA OVERBOEKING/IBAN/NL91ABNA0417164300/BIC/ABNANL2A/NAME/Atelier Du",
        "rand/RTRN/AC04/REMI/Payout po_42/EREF/po_42",
        ":62F:C240301EUR250,00",
    )

    (line,) = parse(lines).statements[0].lines

    assert (line.end_to_end_id, line.return_reason_code) == ("po_42", "AC04")
    assert (line.counterparty_name, line.counterparty_account) == (
        "Atelier Durand",
        "NL91ABNA0417164300",
    )
    assert (line.remittance, line.instruction_id) == ("Payout po_42", "")


def test_mt942_has_no_balances_and_takes_its_currency_from_the_floor_limit() -> None:
    lines = statement(
        ":34F:EURD0,",
        ":13D:2403011015+0100",
        ":61:2403010301D250,00NTRFNONREF",
        ":90D:1EUR250,00",
        ":90C:0EUR0,",
    )

    parsed = parse(lines)

    assert parsed.format == "mt942"
    (report,) = parsed.statements
    assert (report.currency, report.opening_balance, report.closing_balance) == ("EUR", None, None)
    assert report.created_at is not None and report.created_at.utcoffset() is not None


@pytest.mark.parametrize(
    ("change", "code", "where"),
    [
        ({4: ":61:2403010301D1,2,3NTRFNONREF"}, "invalid_amount", "line 5"),
        ({4: ":61:2413010301D1,00NTRFNONREF"}, "invalid_date", "line 5"),
        ({3: ":60F:C240230EUR1000,00"}, "invalid_date", "line 4"),
        ({4: ":61:2403010301D250,00"}, "malformed_tag", "line 5"),
        ({4: ":61:next week, maybe"}, "malformed_tag", "line 5"),
        ({3: ":60F:C240301XYZ1000,00"}, "unknown_currency", "line 4"),
        ({3: ":60F:C240301EUR1000,001"}, "too_many_decimals", "line 4"),
        ({3: ":60F:C240301JPY1000,", 6: ":62F:C240301JPY750,5"}, "too_many_decimals", "line 7"),
        ({6: ":64:C240301EUR750,00"}, "missing_closing_balance", "line 7"),
        ({3: ":64:C240301EUR750,00"}, "missing_opening_balance", "line 1"),
        ({1: ":21:RELATED"}, "missing_tag", "line 1"),
        ({0: ":61:2403010301D250,00NTRFNONREF"}, "mt940_fragment", "line 1"),
    ],
)
def test_errors_name_their_line(change: dict[int, str], code: str, where: str) -> None:
    lines = list(PLAIN)
    for index, replacement in change.items():
        lines[index] = replacement

    with pytest.raises(StatementError) as raised:
        parse(lines)

    assert (raised.value.code, raised.value.where) == (code, where)


def test_blank_lines_keep_line_numbers_those_of_the_file() -> None:
    lines = [*PLAIN[:4], "", "", ":61:2403010301D1,2,3NTRFNONREF", *PLAIN[5:]]  # :61: on 7

    with pytest.raises(StatementError) as raised:
        parse(lines)

    assert raised.value.where == "line 7"


def test_text_that_is_not_mt940_and_mixed_message_types_are_refused() -> None:
    interim = [
        "{1:F01COBADEFFAXXX0000000000}{2:O942COBADEFFXXXXN}{4:",
        *statement(":34F:EUR0,", ":61:2403010301D250,00NTRFNONREF"),
        "-}",
    ]
    with pytest.raises(StatementError) as not_mt940:
        parse_mt940(b"date;amount\n2024-03-01;12.50\n")
    with pytest.raises(StatementError) as mixed:
        parse([*PLAIN, "-", *interim])

    assert not_mt940.value.code == "not_mt940"
    assert mixed.value.code == "mixed_formats"
