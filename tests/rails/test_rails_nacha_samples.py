"""Every NACHA sample of moov-io/ach in /work/shared/testdata parses, with the numbers it states.

Expected values are read off the files themselves (their batch and file control records) and
the samples' README. Which files are not plain credit files, and how they are treated:

- returns (issue1620_return, return-WEB, return-PPD-custom-reason-code): entries with addenda
  99; `returns_from_nacha` turns each into a ReturnNotice (R97 is not a NACHA code: it is
  kept, and `describe_reason` says it is unknown);
- dishonored-return (R68) and contested-return (R07 > R68 > R71): addenda 99 in their own
  layouts; the notice carries the latest code and the whole chain in its text;
- cor-example: a notification of change (addenda 98, C01), no money: not a return;
- TEL reversal, two-micro-deposits, 20110805A (PPD and IAT): debits beside credits, read
  with their totals; IAT entries take the account from positions 40-74 and keep addenda
  10-16 verbatim;
- files whose controls or layout are off (issue1620: batch count 2 for 1 batch and 9
  records; 20110805A: batch count 5 for 4 batches and 93 records; txp-credit: effective date
  4 positions early and a 55-character file control; return-PPD-custom-reason-code: header
  and file control cut short of their blanks) are refused by strict reading, naming the line,
  and read with `strict=False`, which lists exactly those discrepancies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from rails_builders import bank_file, bank_files, usd

from sellerpay.rails.instructions import RailError
from sellerpay.rails.nacha import (
    ChangeAddenda,
    OtherAddenda,
    PaymentAddenda,
    ReturnAddenda,
    parse_nacha,
    returns_from_nacha,
)
from sellerpay.rails.returns import describe_reason


@dataclass(frozen=True)
class Expected:
    strict: bool
    sec_codes: tuple[str, ...]
    entries: int
    debit_minor: int
    credit_minor: int
    return_codes: tuple[str, ...] = ()
    discrepancies: tuple[tuple[int, str], ...] = ()  # (line, rule) under strict=False


SAMPLES: dict[str, Expected] = {
    "moov_examples_contested-return.ach": Expected(
        True, ("PPD",), 1, 0, 100_000_000, return_codes=("R71",)
    ),
    "moov_examples_dishonored-return.ach": Expected(
        True, ("POS",), 2, 48_000, 0, return_codes=("R68", "R68")
    ),
    "moov_examples_ppd-credit.ach": Expected(True, ("PPD",), 1, 0, 100_000_000),
    "moov_issues_issue1620.ach": Expected(
        False,
        ("CCD",),
        1,
        0,
        1,
        discrepancies=((5, "file batch count"), (9, "records padded to a multiple of 10")),
    ),
    "moov_issues_issue1620_return.ach": Expected(True, ("CCD",), 1, 0, 1, return_codes=("R03",)),
    "moov_sameday_same-day-ach-ppd-credit.ach": Expected(True, ("PPD",), 1, 0, 100_000_000),
    "moov_testdata_20110805A.ach": Expected(
        False,
        ("PPD", "PPD", "IAT", "IAT"),
        48,
        5_101_000,
        200,
        discrepancies=((93, "file batch count"), (93, "records padded to a multiple of 10")),
    ),
    "moov_testdata_NACHA_SAMPLE_TEL_REVERSAL.ach": Expected(True, ("TEL",), 2, 685_100, 685_100),
    "moov_testdata_cor-example.ach": Expected(True, ("COR",), 1, 0, 0),
    "moov_testdata_return-PPD-custom-reason-code.ach": Expected(
        False,
        ("PPD",),
        1,
        0,
        106_161,
        return_codes=("R97",),
        discrepancies=((1, "record length"), (6, "record length")),
    ),
    "moov_testdata_return-WEB.ach": Expected(
        True, ("WEB", "WEB"), 2, 12_354, 4_565, return_codes=("R01", "R03")
    ),
    "moov_testdata_two-micro-deposits.ach": Expected(True, ("PPD", "PPD"), 6, 120, 120),
    "moov_testdata_txp-credit.ach": Expected(
        False,
        ("CCD",),
        1,
        0,
        12_345,
        discrepancies=((2, "effective entry date (YYMMDD)"), (6, "record length")),
    ),
}


def test_the_table_covers_every_nacha_sample_file() -> None:
    assert sorted(path.name for path in bank_files("nacha")) == sorted(SAMPLES)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_sample_parses_with_the_counts_totals_and_codes_it_states(name: str) -> None:
    expected = SAMPLES[name]
    data = bank_file("nacha", name).read_bytes()

    nacha = parse_nacha(data, strict=False)

    assert tuple(batch.header.sec_code for batch in nacha.batches) == expected.sec_codes
    assert len(nacha.entries) == expected.entries
    assert nacha.control.total_debit == usd(expected.debit_minor)
    assert nacha.control.total_credit == usd(expected.credit_minor)
    assert (
        sum(e.amount.amount_minor for e in nacha.entries if not e.is_credit) == expected.debit_minor
    )
    assert sum(e.amount.amount_minor for e in nacha.entries if e.is_credit) == expected.credit_minor
    found = tuple((d.line_number, d.rule) for d in nacha.discrepancies)
    assert found == expected.discrepancies
    notices = returns_from_nacha(data, strict=False)
    assert tuple(notice.reason_code for notice in notices) == expected.return_codes


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_strict_reading_refuses_exactly_the_samples_with_discrepancies_naming_the_line(
    name: str,
) -> None:
    expected = SAMPLES[name]
    data = bank_file("nacha", name).read_bytes()
    if expected.strict:
        assert parse_nacha(data).discrepancies == ()
        return
    with pytest.raises(RailError) as raised:
        parse_nacha(data)
    assert raised.value.where is not None and raised.value.where.startswith("line ")


def test_the_plain_ppd_credit_reads_field_by_field() -> None:
    nacha = parse_nacha(bank_file("nacha", "moov_examples_ppd-credit.ach").read_bytes())

    assert nacha.header.immediate_destination == "031300012"
    assert nacha.header.immediate_origin == "0231380104"  # 10 characters: a leading 0
    assert nacha.header.created_on == date(2019, 8, 16)
    assert nacha.header.immediate_origin_name == "My Bank Name"
    batch = nacha.batches[0]
    assert batch.header.company_entry_description == "REG.SALARY"
    assert batch.header.effective_entry_date == date(2019, 8, 16)
    (entry,) = batch.entries
    assert entry.transaction_code == "22"
    assert entry.routing_number == "231380104"
    assert entry.dfi_account_number == "987654321"
    assert entry.amount == usd(100_000_000)
    assert entry.individual_name == "Credit Account 1"
    assert entry.trace_number == "121042880000002"
    assert nacha.control.entry_hash == 23_138_010
    assert (nacha.record_count, nacha.filler_count) == (5, 5)


def test_same_day_ach_keeps_its_descriptive_date() -> None:
    data = bank_file("nacha", "moov_sameday_same-day-ach-ppd-credit.ach").read_bytes()
    header = parse_nacha(data).batches[0].header
    assert header.company_descriptive_date == "SD1300"
    assert header.effective_entry_date == date(2019, 1, 8)


def test_a_return_maps_back_to_the_entry_it_returns_through_the_trace_number() -> None:
    original = parse_nacha(
        bank_file("nacha", "moov_issues_issue1620.ach").read_bytes(), strict=False
    )
    trace_map = {entry.trace_number: ("po_prenote",) for entry in original.entries}
    data = bank_file("nacha", "moov_issues_issue1620_return.ach").read_bytes()

    (notice,) = returns_from_nacha(data, trace_map=trace_map)

    assert notice.end_to_end_id == "po_prenote"
    assert notice.original_trace == "062000010000001"
    assert notice.amount == usd(1)
    assert notice.reason_code == "R03"
    assert notice.booked_on == date(2025, 6, 30)  # blank effective date: the file's date
    (addenda,) = parse_nacha(data).entries[0].return_addenda
    assert addenda.original_rdfi == "12345678"
    assert addenda.date_of_death is None


def test_return_web_gives_one_notice_per_returned_entry() -> None:
    data = bank_file("nacha", "moov_testdata_return-WEB.ach").read_bytes()

    notices = returns_from_nacha(data)

    assert [(n.end_to_end_id, n.reason_code, n.amount, n.original_trace) for n in notices] == [
        ("MjMxNDAwMjAtOGQ", "R01", usd(12_354), "091400600000001"),
        ("NmRjZTJmMzItMGN", "R03", usd(4_565), "091400600000003"),
    ]
    assert [n.bank_reference for n in notices] == ["091000017611242", "021000029461242"]
    assert [e.transaction_code for e in parse_nacha(data).entries] == ["26", "21"]


def test_an_unknown_reason_code_is_kept_and_described_as_unknown() -> None:
    data = bank_file("nacha", "moov_testdata_return-PPD-custom-reason-code.ach").read_bytes()
    (notice,) = returns_from_nacha(data, strict=False)
    assert notice.reason_code == "R97"
    assert notice.original_trace == "092221172022300"
    assert describe_reason("R97").known is False


def test_a_dishonored_return_names_the_return_it_dishonors() -> None:
    nacha = parse_nacha(bank_file("nacha", "moov_examples_dishonored-return.ach").read_bytes())

    for entry in nacha.entries:
        (addenda,) = entry.return_addenda
        assert addenda.kind == "dishonored_return"
        assert addenda.original_return_code == "R01"
        assert addenda.original_trace == "059999990000301"
        assert addenda.addenda_information == "Untimely Return"


def test_a_contested_return_reports_the_latest_code_and_tells_the_chain() -> None:
    data = bank_file("nacha", "moov_examples_contested-return.ach").read_bytes()
    entry = parse_nacha(data).entries[0]

    kinds = [(a.reason_code, a.kind) for a in entry.return_addenda]
    assert kinds == [
        ("R07", "return"),
        ("R68", "dishonored_return"),
        ("R71", "contested_dishonored_return"),
    ]
    (notice,) = returns_from_nacha(data)
    assert notice.reason_code == "R71"
    assert notice.original_trace == "099912340000015"
    assert notice.reason_text.startswith("R07 ")
    assert " > R68 " in notice.reason_text and " > R71 " in notice.reason_text


def test_a_notification_of_change_is_read_but_is_not_a_return() -> None:
    data = bank_file("nacha", "moov_testdata_cor-example.ach").read_bytes()
    (entry,) = parse_nacha(data).entries

    assert entry.change_addenda == (
        ChangeAddenda(
            line_number=4,
            change_code="C01",
            original_trace="121042880000001",
            original_rdfi="12104288",
            corrected_data="1918171614",
            trace_number="091012980000088",
        ),
    )
    assert returns_from_nacha(data) == []


def test_iat_entries_take_the_foreign_account_and_keep_their_addenda_verbatim() -> None:
    nacha = parse_nacha(
        bank_file("nacha", "moov_testdata_20110805A.ach").read_bytes(), strict=False
    )
    iat = nacha.batches[2]

    assert [len(b.entries) for b in nacha.batches] == [25, 18, 3, 2]
    assert [b.control.entry_addenda_count for b in nacha.batches] == [25, 18, 24, 16]
    entry = iat.entries[0]
    assert entry.dfi_account_number == "998412345"
    assert entry.amount == usd(109_000)
    assert [a.type_code for a in entry.addenda] == ["10", "11", "12", "13", "14", "15", "16"]
    assert all(isinstance(a, OtherAddenda) for a in entry.addenda)
    assert sum(1 for e in nacha.entries if e.transaction_code == "22") == 20
    assert sum(1 for e in nacha.entries if e.transaction_code == "27") == 28


def test_micro_deposits_carry_a_remittance_addenda_on_every_entry() -> None:
    nacha = parse_nacha(bank_file("nacha", "moov_testdata_two-micro-deposits.ach").read_bytes())

    codes = [e.transaction_code for e in nacha.entries]
    assert codes == ["32", "32", "27", "32", "32", "27"]
    for entry in nacha.entries:
        (addenda,) = entry.addenda
        assert isinstance(addenda, PaymentAddenda)
        assert addenda.payment_related_information == "paygate transaction"


def test_the_tax_payment_addenda_is_kept_as_remittance() -> None:
    data = bank_file("nacha", "moov_testdata_txp-credit.ach").read_bytes()
    nacha = parse_nacha(data, strict=False)

    (addenda,) = nacha.entries[0].addenda
    assert isinstance(addenda, PaymentAddenda)
    assert addenda.payment_related_information.startswith("TXP*123456789*941*250901*")
    assert nacha.batches[0].header.effective_entry_date is None  # unreadable where NACHA puts it


def test_the_reversal_batch_offsets_its_credit_with_a_debit() -> None:
    data = bank_file("nacha", "moov_testdata_NACHA_SAMPLE_TEL_REVERSAL.ach").read_bytes()
    batch = parse_nacha(data).batches[0]
    assert batch.header.company_entry_description == "REVERSAL"
    assert [(e.transaction_code, e.amount) for e in batch.entries] == [
        ("22", usd(685_100)),
        ("27", usd(685_100)),
    ]


def test_return_addenda_are_typed_in_every_sample_that_has_them() -> None:
    for name, expected in SAMPLES.items():
        nacha = parse_nacha(bank_file("nacha", name).read_bytes(), strict=False)
        returned = [e for e in nacha.entries if e.return_addenda]
        assert len(returned) == len(expected.return_codes), name
        for entry in returned:
            assert all(isinstance(a, ReturnAddenda) for a in entry.return_addenda)
