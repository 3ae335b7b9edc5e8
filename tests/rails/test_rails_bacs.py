"""Bacs Standard 18: labels of 80, records of 100, a contra that balances, UTL1 totals."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rails_builders import (
    EXECUTION_DATE,
    bacs_originator,
    bacs_transfer,
    gbp,
    payout_ids,
)

from sellerpay.money import Money
from sellerpay.rails.bacs import (
    bacs_reference,
    julian,
    parse_bacs_std18,
    write_bacs_std18,
)
from sellerpay.rails.instructions import (
    AbaAccount,
    BankFile,
    CreditTransfer,
    RailError,
    UkAccount,
)

CREATED_AT = datetime(2026, 1, 2, 16, 0)
PROCESSING_DATE = EXECUTION_DATE  # 2026-01-06, day 006


def write(transfers: list[CreditTransfer], *, serial: str = "000042", **overrides: Any) -> BankFile:
    return write_bacs_std18(
        transfers,
        bacs_originator(**overrides),
        processing_date=PROCESSING_DATE,
        serial=serial,
        created_at=CREATED_AT,
    )


def lines(content: bytes) -> list[str]:
    assert content.endswith(b"\r\n")
    return content.decode("ascii").split("\r\n")[:-1]


def test_julian_dates_are_a_space_the_year_and_the_day_of_the_year() -> None:
    assert julian(date(2026, 1, 6)) == " 26006"
    assert julian(date(2024, 12, 31)) == " 24366"


def test_a_file_has_the_labels_the_credits_and_the_contra_to_the_character() -> None:
    written = lines(write([bacs_transfer()]).content)

    assert written == [
        "VOL1" + "000042" + " " * 31 + "123456" + " " * 32 + "1",
        "HDR1" + "A123456S  1123456" + "000042" + "0001" + "0001" + " " * 6 + " 26002" + " 26006"
        + " " + "000000" + " " * 20,
        "HDR2" + "F" + "02000" + "00100" + " " * 35 + "00" + " " * 28,
        "UHL1" + " 26006" + "999999    " + "00" + "000000" + "1 DAILY  " + "001" + " " * 40,
        "401276" + "12345678" + "0" + "99" + "200000" + "55779911" + "    " + "00000012345"
        + "SELLERPAY LTD".ljust(18) + "4E8ABC1234567890AB" + "JANE SMITH".ljust(18),
        "200000" + "55779911" + "0" + "17" + "200000" + "55779911" + "    " + "00000012345"
        + "SELLERPAY LTD".ljust(18) + "CONTRA".ljust(18) + "SELLERPAY LTD".ljust(18),
        "EOF1" + "A123456S  1123456" + "000042" + "0001" + "0001" + " " * 6 + " 26002" + " 26006"
        + " " + "000000" + " " * 20,
        "EOF2" + "F" + "02000" + "00100" + " " * 35 + "00" + " " * 28,
        "UTL1" + "0000000012345" + "0000000012345" + "0000001" + "0000001" + " " * 36,
    ]  # fmt: skip


def test_labels_are_80_characters_and_records_100() -> None:
    written = lines(write([bacs_transfer(e2e) for e2e in payout_ids(5)]).content)

    assert [len(line) for line in written] == [80] * 4 + [100] * 6 + [80] * 3


def test_the_contra_debits_the_total_and_utl1_counts_it() -> None:
    ids = payout_ids(3)
    bank_file = write([bacs_transfer(e2e, 100 * (i + 1)) for i, e2e in enumerate(ids)])
    parsed = parse_bacs_std18(bank_file.content)

    (contra,) = [record for record in parsed.records if record.is_contra]
    assert contra.transaction_code == "17"
    assert contra.amount == gbp(600)
    assert parsed.trailer.debit_total == parsed.trailer.credit_total == gbp(600)
    assert (parsed.trailer.debit_count, parsed.trailer.credit_count) == (1, 3)
    assert bank_file.control_sums == {"GBP": 600}
    assert bank_file.batches == {bacs_reference(e2e): (e2e,) for e2e in ids}
    assert [r.reference for r in parsed.payments] == [bacs_reference(e2e) for e2e in ids]


def test_names_are_put_in_the_bacs_character_set() -> None:
    transfer = bacs_transfer(creditor_name="Zoë O'Brien & Sons (Holdings) plc")
    (record,) = parse_bacs_std18(write([transfer]).content).payments
    assert record.destination_name == "ZOE O BRIEN & SONS"  # ' ( ) are not Bacs characters


def test_a_lower_case_serial_is_written_upper_case() -> None:
    assert lines(write([bacs_transfer()], serial="00ab12").content)[0][4:10] == "00AB12"


def test_without_a_creation_time_the_file_is_created_on_its_processing_date() -> None:
    bank_file = write_bacs_std18(
        [bacs_transfer()], bacs_originator(), processing_date=PROCESSING_DATE, serial="000001"
    )
    parsed = parse_bacs_std18(bank_file.content)
    assert parsed.created_on == PROCESSING_DATE
    assert bank_file.created_at is None


# -- what is refused ------------------------------------------------------------------------

E2E = "po_0190f7c3a1b27c4e8abc1234567890ab"


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"amount": Money.of_minor(100, "EUR")}, "bacs_currency"),
        ({"creditor_account": AbaAccount("231380104", "1")}, "bacs_account"),
        ({"creditor_account": UkAccount("40127", "12345678")}, "bacs_account"),
        ({"creditor_account": UkAccount("401276", "1234567")}, "bacs_account"),
        ({"creditor_account": UkAccount("40-12-76", "12345678")}, "bacs_account"),
        ({"amount": gbp(100_000_000_000)}, "bacs_amount"),  # 12 digits of pence
        ({"amount": gbp(0)}, "bacs_amount"),
        ({"creditor_name": "王小明"}, "text_untransliterable"),
        ({"creditor_name": "'()"}, "bacs_name"),
        ({"execution_date": PROCESSING_DATE + timedelta(days=1)}, "bacs_execution_date"),
    ],
)
def test_a_transfer_bacs_cannot_carry_is_refused_naming_its_end_to_end_id(
    overrides: dict[str, Any], code: str
) -> None:
    with pytest.raises(RailError) as raised:
        write([bacs_transfer("po_other"), bacs_transfer(E2E, **overrides)])
    assert raised.value.code == code
    assert E2E in str(raised.value)


@pytest.mark.parametrize("e2e", ["po_1", "AAAAAAAA", "--a-b--"])
def test_an_end_to_end_id_too_poor_for_a_bacs_reference_is_refused(e2e: str) -> None:
    with pytest.raises(RailError) as raised:
        write([bacs_transfer(e2e)])
    assert raised.value.code == "bacs_reference"
    assert e2e in str(raised.value)


def test_the_largest_amount_the_11_digit_field_holds_is_written() -> None:
    bank_file = write([bacs_transfer(amount_minor=99_999_999_999)])
    assert parse_bacs_std18(bank_file.content).trailer.credit_total == gbp(99_999_999_999)


def test_a_file_total_beyond_the_contras_11_digits_is_refused() -> None:
    transfers = [bacs_transfer(e2e, 99_999_999_999) for e2e in payout_ids(2)]
    with pytest.raises(RailError) as raised:
        write(transfers)
    assert raised.value.code == "bacs_amount"


@pytest.mark.parametrize(
    ("overrides", "where"),
    [
        ({"bacs_service_user_number": ""}, "originator.bacs_service_user_number"),
        ({"bacs_service_user_number": "12345A"}, "originator.bacs_service_user_number"),
        ({"account": AbaAccount("231380104", "1")}, "originator.account"),
        ({"name": "'"}, "originator.name"),
    ],
)
def test_an_originator_without_its_bacs_identifiers_is_refused(
    overrides: dict[str, Any], where: str
) -> None:
    with pytest.raises(RailError) as raised:
        write([bacs_transfer()], **overrides)
    assert raised.value.where == where


@pytest.mark.parametrize("serial", ["", "12345", "1234567", "12 456", "12345_"])
def test_the_serial_is_six_letters_or_digits(serial: str) -> None:
    with pytest.raises(RailError) as raised:
        write([bacs_transfer()], serial=serial)
    assert raised.value.where == "serial"


# -- reading back ---------------------------------------------------------------------------


def _with_line(content: bytes, index: int, line: str) -> bytes:
    written = lines(content)
    written[index] = line
    return "".join(f"{text}\r\n" for text in written).encode("ascii")


def test_utl1_totals_that_disagree_with_the_records_are_refused() -> None:
    content = write([bacs_transfer()]).content
    utl1 = "UTL1" + "0000000012345" + "0000000012346" + "0000001" + "0000001" + " " * 36
    with pytest.raises(RailError) as raised:
        parse_bacs_std18(_with_line(content, 8, utl1))
    assert (raised.value.where, raised.value.code) == ("line 9", "bacs_control_mismatch")


def test_a_contra_that_does_not_balance_its_credits_is_refused() -> None:
    content = write([bacs_transfer()]).content
    written = lines(content)
    contra = written[5][:35] + "00000012344" + written[5][46:]
    utl1 = "UTL1" + "0000000012344" + "0000000012345" + "0000001" + "0000001" + " " * 36
    unbalanced = _with_line(_with_line(content, 5, contra), 8, utl1)
    with pytest.raises(RailError) as raised:
        parse_bacs_std18(unbalanced)
    assert raised.value.code == "bacs_unbalanced"


def test_a_record_of_99_characters_is_refused_naming_its_line() -> None:
    content = write([bacs_transfer()]).content
    with pytest.raises(RailError) as raised:
        parse_bacs_std18(_with_line(content, 4, lines(content)[4][:99]))
    assert (raised.value.where, raised.value.code) == ("line 5", "bacs_record_length")


def test_a_label_out_of_place_is_refused() -> None:
    content = write([bacs_transfer()]).content
    written = lines(content)
    with pytest.raises(RailError) as raised:
        parse_bacs_std18(_with_line(content, 2, written[3]))
    assert (raised.value.where, raised.value.code) == ("line 3", "bacs_record_order")


def test_an_eof1_that_does_not_repeat_hdr1_is_refused() -> None:
    content = write([bacs_transfer()]).content
    eof1 = lines(content)[6].replace("000042", "000043")
    with pytest.raises(RailError) as raised:
        parse_bacs_std18(_with_line(content, 6, eof1))
    assert raised.value.code == "bacs_label_mismatch"


def test_an_unknown_transaction_code_is_refused() -> None:
    content = write([bacs_transfer()]).content
    record = lines(content)[4]
    with pytest.raises(RailError) as raised:
        parse_bacs_std18(_with_line(content, 4, record[:15] + "42" + record[17:]))
    assert (raised.value.where, raised.value.code) == ("line 5", "bacs_transaction_code")


def test_a_non_numeric_sort_code_is_refused_naming_its_positions() -> None:
    content = write([bacs_transfer()]).content
    record = lines(content)[4]
    with pytest.raises(RailError) as raised:
        parse_bacs_std18(_with_line(content, 4, "40-276" + record[6:]))
    assert raised.value.where == "line 5, positions 1-6"


# -- round trip -----------------------------------------------------------------------------


@st.composite
def bacs_payouts(draw: st.DrawFn) -> list[CreditTransfer]:
    count = draw(st.integers(min_value=1, max_value=20))
    return [
        CreditTransfer(
            end_to_end_id=e2e,
            amount=gbp(draw(st.integers(min_value=1, max_value=4_999_999_999))),
            creditor_name=draw(
                st.text(
                    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij .&/-é", min_size=1, max_size=30
                ).filter(lambda name: any(c.isalnum() for c in name))
            ),
            creditor_account=UkAccount(
                draw(st.from_regex(r"[0-9]{6}", fullmatch=True)),
                draw(st.from_regex(r"[0-9]{8}", fullmatch=True)),
            ),
            execution_date=PROCESSING_DATE - timedelta(days=draw(st.integers(0, 2))),
        )
        for e2e in payout_ids(count)
    ]


@settings(max_examples=60, deadline=None)
@given(bacs_payouts())
def test_every_payout_written_reads_back_with_its_account_amount_and_reference(
    transfers: list[CreditTransfer],
) -> None:
    bank_file = write(transfers)
    parsed = parse_bacs_std18(bank_file.content)

    assert parsed.processing_date == PROCESSING_DATE
    assert parsed.service_user_number == "123456"
    total = sum(t.amount.amount_minor for t in transfers)
    assert parsed.trailer.credit_total == parsed.trailer.debit_total == gbp(total)
    assert parsed.trailer.credit_count == len(transfers)
    for transfer, record in zip(transfers, parsed.payments, strict=True):
        account = transfer.creditor_account
        assert isinstance(account, UkAccount)
        assert (record.destination_sort_code, record.destination_account_number) == (
            account.sort_code,
            account.account_number,
        )
        assert (record.originating_sort_code, record.originating_account_number) == (
            "200000",
            "55779911",
        )
        assert record.transaction_code == "99"
        assert record.amount == transfer.amount
        assert bank_file.batches[record.reference] == (transfer.end_to_end_id,)
        assert record.destination_name and len(record.destination_name) <= 18


# -- fuzzing --------------------------------------------------------------------------------

_SAMPLE = write([bacs_transfer(e2e) for e2e in payout_ids(2)]).content


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(_SAMPLE) - 1), st.binary(min_size=1, max_size=1)), max_size=6
    )
)
def test_a_mangled_file_is_read_or_refused_with_a_rail_error_never_a_crash(
    edits: list[tuple[int, bytes]],
) -> None:
    mangled = bytearray(_SAMPLE)
    for position, byte in edits:
        mangled[position : position + 1] = byte
    try:
        parsed = parse_bacs_std18(bytes(mangled))
    except RailError as error:
        assert error.where is None or error.where.startswith("line ")
    else:
        assert parsed.trailer.credit_count == sum(1 for r in parsed.records if r.is_credit)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_are_refused_with_a_rail_error(data: bytes) -> None:
    with pytest.raises(RailError):
        parse_bacs_std18(data)
