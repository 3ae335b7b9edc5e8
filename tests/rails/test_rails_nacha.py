"""NACHA credit files: the exact records, the controls, what is refused, and reading back."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rails_builders import (
    ACH_CREATED_AT,
    ACH_ODFI_ROUTING,
    EXECUTION_DATE,
    ach_originator,
    ach_transfer,
    payout_ids,
    routing_numbers,
    usd,
    with_check_digit,
)

from sellerpay.money import Money
from sellerpay.rails.instructions import (
    AbaAccount,
    CreditTransfer,
    IbanAccount,
    RailError,
    UkAccount,
)
from sellerpay.rails.nacha import (
    NachaFile,
    PaymentAddenda,
    individual_id_for,
    is_valid_routing_number,
    parse_nacha,
    routing_check_digit,
    write_nacha,
)


def write(
    transfers: list[CreditTransfer],
    *,
    file_id_modifier: str = "A",
    effective_date: date = EXECUTION_DATE,
    first_trace_sequence: int = 1,
) -> bytes:
    bank_file = write_nacha(
        transfers,
        ach_originator(),
        file_id_modifier=file_id_modifier,
        created_at=ACH_CREATED_AT,
        effective_date=effective_date,
        first_trace_sequence=first_trace_sequence,
    )
    return bank_file.content


def lines(content: bytes) -> list[str]:
    return content.decode("ascii").split("\n")[:-1]


# -- routing numbers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("routing", "valid"),
    [
        ("231380104", True),  # 2*3+3*7+1+3*3+8*7+0+1*3+0*7+4 = 100
        ("021000021", True),
        ("121042882", True),
        ("231380105", False),
        ("23138010", False),
        ("23138010a", False),
        ("".join(chr(ord(d) + 0xFEE0) for d in "231380104"), False),  # full-width digits
    ],
)
def test_routing_numbers_are_checked_with_weights_3_7_1(routing: str, valid: bool) -> None:
    assert is_valid_routing_number(routing) is valid


@given(st.text(alphabet="0123456789", min_size=8, max_size=8))
def test_the_check_digit_makes_the_weighted_sum_a_multiple_of_ten(prefix: str) -> None:
    routing = prefix + routing_check_digit(prefix)
    weighted = sum(int(d) * w for d, w in zip(routing, (3, 7, 1) * 3, strict=True))
    assert weighted % 10 == 0
    assert is_valid_routing_number(routing)


# -- the records written --------------------------------------------------------------------


def test_one_payout_gives_the_records_of_the_nacha_layout_to_the_character() -> None:
    content = write([ach_transfer(creditor_kind="individual")])
    records = lines(content)

    assert records[0] == (
        "1" + "01" + " 121042882" + "1234567890" + "260105" + "0930" + "A" + "094" + "10" + "1"
        + "MOOV BANK".ljust(23) + "SELLERPAY INC".ljust(23) + " " * 8
    )  # fmt: skip
    assert records[1] == (
        "5" + "220" + "SELLERPAY INC".ljust(16) + " " * 20 + "1234567890" + "PPD"
        + "PAYOUT".ljust(10) + " " * 6 + "260106" + "   " + "1" + "12104288" + "0000001"
    )  # fmt: skip
    assert records[2] == (
        "6" + "22" + "23138010" + "4" + "987654321".ljust(17) + "0000012345"
        + "abc1234567890ab"  # the last 15 characters of the end-to-end id
        + "ACME WIDGETS LLC".ljust(22) + "  " + "0" + "121042880000001"
    )  # fmt: skip
    assert records[3] == (
        "8" + "220" + "000001" + "0023138010" + "0" * 12 + "000000012345" + "1234567890"
        + " " * 19 + " " * 6 + "12104288" + "0000001"
    )  # fmt: skip
    assert records[4] == (
        "9" + "000001" + "000001" + "00000001" + "0023138010" + "0" * 12 + "000000012345"
        + " " * 39
    )  # fmt: skip
    assert records[5:] == ["9" * 94] * 5
    assert content.endswith(b"\n")


def test_every_record_is_94_characters_and_the_file_fills_whole_blocks_of_ten() -> None:
    transfers = [ach_transfer(e2e, 100 + i) for i, e2e in enumerate(payout_ids(13))]
    records = lines(write(transfers))

    assert {len(record) for record in records} == {94}
    assert len(records) == 20  # 1 + (1 + 13 + 1) + 1 = 17 records, padded to 20
    assert records[-3:] == ["9" * 94] * 3
    assert records[16][7:13] == "000002"  # block count


def test_the_entry_hash_is_the_sum_of_the_receiving_banks_8_digit_routing_prefixes() -> None:
    transfers = [
        ach_transfer("po_1", creditor_account=AbaAccount("231380104", "1")),
        ach_transfer("po_2", creditor_account=AbaAccount("031300012", "2")),
        ach_transfer("po_3", creditor_account=AbaAccount("031300012", "3")),
    ]
    nacha = parse_nacha(write(transfers))

    # 23138010 + 03130001 + 03130001, by hand
    assert nacha.control.entry_hash == 29_398_012
    assert nacha.batches[0].control.entry_hash == 29_398_012


def test_the_entry_hash_keeps_only_its_last_ten_digits() -> None:
    routing = with_check_digit("99999999")
    assert routing == "999999992"
    transfers = [
        ach_transfer(e2e, 1, creditor_account=AbaAccount(routing, "1")) for e2e in payout_ids(101)
    ]
    records = lines(write(transfers))

    # 101 * 99999999 = 10,099,999,899: the leading "1" falls off the 10-digit field
    file_control = next(r for r in records if r.startswith("9") and r != "9" * 94)
    assert file_control[21:31] == "0099999899"


def test_individuals_get_ppd_companies_ccd_and_savings_accounts_code_32() -> None:
    transfers = [
        ach_transfer("po_a", creditor_kind="individual"),
        ach_transfer("po_b", creditor_kind="company"),
        ach_transfer(
            "po_c",
            creditor_kind="company",
            creditor_account=AbaAccount("231380104", "9", "savings"),
        ),
    ]
    nacha = parse_nacha(write(transfers))

    by_sec = {batch.header.sec_code: batch for batch in nacha.batches}
    assert sorted(by_sec) == ["CCD", "PPD"]
    assert [e.transaction_code for e in by_sec["PPD"].entries] == ["22"]
    assert [e.transaction_code for e in by_sec["CCD"].entries] == ["22", "32"]
    assert all(batch.header.service_class_code == "220" for batch in nacha.batches)


def test_a_payout_due_after_the_effective_date_gets_a_batch_of_its_own_date() -> None:
    later = EXECUTION_DATE + timedelta(days=2)
    early = EXECUTION_DATE - timedelta(days=3)
    transfers = [
        ach_transfer("po_now"),
        ach_transfer("po_late", execution_date=later),
        ach_transfer("po_overdue", execution_date=early),
    ]
    nacha = parse_nacha(write(transfers))

    dates = [(b.header.effective_entry_date, len(b.entries)) for b in nacha.batches]
    assert dates == [(EXECUTION_DATE, 2), (later, 1)]
    assert [b.header.batch_number for b in nacha.batches] == [1, 2]


def test_remittance_travels_in_one_addenda_05_counted_in_the_controls() -> None:
    content = write([ach_transfer(remittance="Payout for March, order #42")])
    nacha = parse_nacha(content)

    entry = nacha.entries[0]
    assert entry.addenda_indicator
    assert entry.addenda == (
        PaymentAddenda(
            line_number=4,
            payment_related_information="PAYOUT FOR MARCH, ORDER #42",
            sequence_number=1,
            entry_detail_sequence_number="0000001",
        ),
    )
    assert nacha.batches[0].control.entry_addenda_count == 2
    assert nacha.control.entry_addenda_count == 2


def test_the_bank_file_maps_trace_numbers_to_end_to_end_ids() -> None:
    ids = payout_ids(3)
    bank_file = write_nacha(
        [ach_transfer(e2e) for e2e in ids],
        ach_originator(),
        file_id_modifier="B",
        created_at=ACH_CREATED_AT,
        effective_date=EXECUTION_DATE,
        first_trace_sequence=41,
    )

    assert bank_file.batches == {
        "121042880000041": (ids[0],),
        "121042880000042": (ids[1],),
        "121042880000043": (ids[2],),
    }
    assert bank_file.rail == "ach"
    assert bank_file.end_to_end_ids == tuple(ids)
    assert bank_file.control_sums == {"USD": 3 * 12_345}
    assert bank_file.transfer_count == 3
    assert bank_file.message_id == "1234567890-2601050930-B"
    parsed_ids = [entry.individual_id for entry in parse_nacha(bank_file.content).entries]
    assert parsed_ids == [individual_id_for(e2e) for e2e in ids]


def test_names_are_transliterated_to_upper_case_ascii_and_cut_to_22_characters() -> None:
    content = write([ach_transfer(creditor_name="Zoë Ångström-Café\tde la Forêt Noire SARL")])
    assert parse_nacha(content).entries[0].individual_name == "ZOE ANGSTROM-CAFE DE L"


# -- what is refused ------------------------------------------------------------------------

E2E = "po_0190f7c3a1b27c4e8abc1234567890ab"


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"amount": Money.of_minor(100, "EUR")}, "nacha_currency"),
        ({"creditor_account": IbanAccount("DE89370400440532013000")}, "nacha_account"),
        ({"creditor_account": UkAccount("200000", "55779911")}, "nacha_account"),
        ({"creditor_account": AbaAccount("231380105", "1")}, "nacha_routing"),
        ({"creditor_account": AbaAccount("231380104", "12345678901234567890")}, "nacha_account"),
        ({"creditor_account": AbaAccount("231380104", "12 34")}, "nacha_account"),
        ({"amount": usd(10_000_000_000)}, "nacha_amount"),  # 11 digits of cents
        ({"amount": usd(0)}, "nacha_amount"),
        ({"amount": usd(-5)}, "nacha_amount"),
        ({"creditor_name": "山田商事"}, "text_untransliterable"),
        ({"creditor_name": "\u200b\t"}, "nacha_name"),
        ({"remittance": "x" * 81}, "nacha_remittance"),
    ],
)
def test_a_transfer_nacha_cannot_carry_is_refused_naming_its_end_to_end_id(
    overrides: dict[str, Any], code: str
) -> None:
    good = ach_transfer("po_other")
    bad = ach_transfer(E2E, **overrides)
    with pytest.raises(RailError) as raised:
        write([good, bad])
    assert raised.value.code == code
    assert E2E in str(raised.value)


def test_the_largest_amount_the_10_digit_field_holds_is_written() -> None:
    content = write([ach_transfer(amount_minor=9_999_999_999)])
    assert parse_nacha(content).control.total_credit == usd(9_999_999_999)


def test_a_file_total_beyond_the_12_digit_controls_is_refused() -> None:
    transfers = [ach_transfer(e2e, 9_999_999_999) for e2e in payout_ids(101)]
    with pytest.raises(RailError) as raised:
        write(transfers)
    assert raised.value.code == "nacha_amount_too_large"


def test_two_transfers_whose_ids_end_alike_are_refused_as_they_would_share_an_individual_id() -> (
    None
):
    first = ach_transfer("seller-a-0123456789abcde")
    second = ach_transfer("seller-b-0123456789abcde")
    with pytest.raises(RailError, match="seller-b-0123456789abcde") as raised:
        write([first, second])
    assert raised.value.code == "nacha_duplicate_end_to_end_id"


def test_the_same_end_to_end_id_twice_is_refused() -> None:
    with pytest.raises(RailError) as raised:
        write([ach_transfer("po_1"), ach_transfer("po_1")])
    assert raised.value.code == "nacha_duplicate_end_to_end_id"


@pytest.mark.parametrize(
    ("overrides", "where"),
    [
        ({"ach_immediate_destination": ""}, "originator.ach_immediate_destination"),
        ({"ach_immediate_destination": "121042883"}, "originator.ach_immediate_destination"),
        ({"ach_immediate_origin": "12345"}, "originator.ach_immediate_origin"),
        ({"ach_company_id": ""}, "originator.ach_company_id"),
        ({"ach_company_id": "12345678901"}, "originator.ach_company_id"),
        ({"account": IbanAccount("DE89370400440532013000")}, "originator.account"),
        ({"account": AbaAccount("121042883", "1")}, "originator.account"),
        ({"name": ""}, "originator.name"),
    ],
)
def test_an_originator_without_its_ach_identifiers_is_refused_naming_the_field(
    overrides: dict[str, Any], where: str
) -> None:
    with pytest.raises(RailError) as raised:
        write_nacha(
            [ach_transfer()],
            ach_originator(**overrides),
            file_id_modifier="A",
            created_at=ACH_CREATED_AT,
            effective_date=EXECUTION_DATE,
        )
    assert raised.value.where == where


@pytest.mark.parametrize("modifier", ["", "a", "AB", "*"])
def test_the_file_id_modifier_is_one_upper_case_letter_or_digit(modifier: str) -> None:
    with pytest.raises(RailError) as raised:
        write([ach_transfer()], file_id_modifier=modifier)
    assert raised.value.where == "file_id_modifier"


def test_an_empty_list_of_transfers_is_refused() -> None:
    with pytest.raises(RailError) as raised:
        write([])
    assert raised.value.code == "nacha_empty"


def test_trace_sequences_past_seven_digits_are_refused() -> None:
    with pytest.raises(RailError) as raised:
        write([ach_transfer("po_1"), ach_transfer("po_2")], first_trace_sequence=9_999_999)
    assert raised.value.where == "first_trace_sequence"


# -- reading back ---------------------------------------------------------------------------


def test_crlf_and_unseparated_records_read_the_same_as_lf() -> None:
    content = write([ach_transfer("po_1"), ach_transfer("po_2", remittance="hello")])
    as_lf = parse_nacha(content)
    as_crlf = parse_nacha(content.replace(b"\n", b"\r\n"))
    unseparated = parse_nacha(content.replace(b"\n", b""))

    assert as_crlf.entries == as_lf.entries
    assert unseparated.entries == as_lf.entries
    assert unseparated.control == as_lf.control


def _tampered(content: bytes, line_number: int, start: int, replacement: str) -> bytes:
    records = lines(content)
    record = records[line_number - 1]
    records[line_number - 1] = (
        record[: start - 1] + replacement + record[start - 1 + len(replacement) :]
    )
    return ("\n".join(records) + "\n").encode("ascii")


@pytest.mark.parametrize(
    ("line_number", "start", "replacement", "rule"),
    [
        (4, 11, "0023138011", "batch entry hash"),
        (4, 33, "000000012346", "batch total credit"),
        (4, 5, "000002", "batch entry/addenda count"),
        (5, 22, "0023138011", "file entry hash"),
        (5, 44, "000000012344", "file total credit"),
        (5, 2, "000002", "file batch count"),
        (5, 8, "000002", "file block count"),
        (3, 12, "5", "routing check digit"),
    ],
)
def test_a_control_that_disagrees_with_the_records_is_refused_with_its_line(
    line_number: int, start: int, replacement: str, rule: str
) -> None:
    bad = _tampered(write([ach_transfer()]), line_number, start, replacement)

    with pytest.raises(RailError) as raised:
        parse_nacha(bad)
    assert raised.value.code == "nacha_control_mismatch"
    assert rule in raised.value.message
    lenient = parse_nacha(bad, strict=False)
    assert [d.rule for d in lenient.discrepancies] == [rule]
    assert raised.value.where == f"line {lenient.discrepancies[0].line_number}"


@pytest.mark.parametrize(
    ("content", "where", "code"),
    [
        (b"1" * 93 + b"\n", "line 1", "nacha_record_length"),
        (b"5" + b" " * 93 + b"\n", "line 1", "nacha_record_order"),
        (b"", "line 1", "nacha_empty"),
        (b"1" * 95, "line 1", "nacha_record_length"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused(content: bytes, where: str, code: str) -> None:
    with pytest.raises(RailError) as raised:
        parse_nacha(content)
    assert (raised.value.where, raised.value.code) == (where, code)


def test_a_record_out_of_order_is_refused_with_its_line() -> None:
    records = lines(write([ach_transfer()]))
    swapped = [*records[:2], records[3], records[2], *records[4:]]
    with pytest.raises(RailError) as raised:
        parse_nacha(("\n".join(swapped) + "\n").encode())
    assert raised.value.where == "line 3"
    assert raised.value.code == "nacha_record_order"


def test_a_non_ascii_byte_is_refused_with_its_line() -> None:
    content = write([ach_transfer()]).replace(b"ACME", b"\xc9CME")
    with pytest.raises(RailError) as raised:
        parse_nacha(content)
    assert raised.value.where == "line 3"


def test_anything_but_padding_after_the_file_control_is_refused() -> None:
    records = lines(write([ach_transfer()]))
    records[6] = "9" * 93 + "8"
    with pytest.raises(RailError) as raised:
        parse_nacha(("\n".join(records) + "\n").encode())
    assert raised.value.where == "line 7"


# -- round trip -----------------------------------------------------------------------------

names = st.text(
    alphabet=st.sampled_from(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 &-.,'éüñ"
    ),
    min_size=1,
    max_size=40,
).filter(lambda name: any(c.isalnum() for c in name))


@st.composite
def ach_payouts(draw: st.DrawFn) -> list[CreditTransfer]:
    count = draw(st.integers(min_value=1, max_value=25))
    ids = payout_ids(count)
    return [
        CreditTransfer(
            end_to_end_id=ids[i],
            amount=usd(draw(st.integers(min_value=1, max_value=9_999_999_999))),
            creditor_name=draw(names),
            creditor_account=AbaAccount(
                draw(routing_numbers),
                draw(st.text(alphabet="0123456789-", min_size=1, max_size=17)),
                draw(st.sampled_from(["checking", "savings"])),
            ),
            execution_date=EXECUTION_DATE + timedelta(days=draw(st.integers(-2, 3))),
            remittance=draw(st.sampled_from(["", "Payout", "Invoice 42 / March"])),
            creditor_kind=draw(st.sampled_from(["individual", "company"])),
        )
        for i in range(count)
    ]


@settings(max_examples=60, deadline=None)
@given(ach_payouts())
def test_every_payout_written_reads_back_with_its_account_amount_and_trace(
    transfers: list[CreditTransfer],
) -> None:
    bank_file = write_nacha(
        transfers,
        ach_originator(),
        file_id_modifier="Z",
        created_at=ACH_CREATED_AT,
        effective_date=EXECUTION_DATE,
    )
    nacha = parse_nacha(bank_file.content)

    assert {len(r) for r in lines(bank_file.content)} == {94}
    assert len(lines(bank_file.content)) % 10 == 0
    by_e2e = {t.end_to_end_id: t for t in transfers}
    seen = set()
    for batch in nacha.batches:
        for entry in batch.entries:
            (e2e,) = bank_file.batches[entry.trace_number]
            transfer = by_e2e[e2e]
            account = transfer.creditor_account
            assert isinstance(account, AbaAccount)
            assert entry.routing_number == account.routing_number
            assert entry.dfi_account_number == account.account_number
            assert entry.amount == transfer.amount
            assert entry.individual_id == individual_id_for(e2e)
            assert entry.transaction_code == ("22" if account.account_type == "checking" else "32")
            assert batch.header.sec_code == (
                "PPD" if transfer.creditor_kind == "individual" else "CCD"
            )
            assert batch.header.effective_entry_date == max(EXECUTION_DATE, transfer.execution_date)
            assert entry.addenda_indicator is bool(transfer.remittance)
            seen.add(e2e)
    assert seen == set(by_e2e)
    _assert_controls_add_up(nacha, transfers)


def _assert_controls_add_up(nacha: NachaFile, transfers: list[CreditTransfer]) -> None:
    total = sum(t.amount.amount_minor for t in transfers)
    routings = [t.creditor_account for t in transfers]
    hashes = sum(int(a.routing_number[:8]) for a in routings if isinstance(a, AbaAccount))
    assert nacha.control.total_credit == usd(total)
    assert nacha.control.total_debit == usd(0)
    assert nacha.control.entry_hash == hashes % 10**10
    assert nacha.control.batch_count == len(nacha.batches)
    addenda = sum(1 for t in transfers if t.remittance)
    assert nacha.control.entry_addenda_count == len(transfers) + addenda
    assert nacha.discrepancies == ()


def test_the_originator_routing_starts_every_trace_number() -> None:
    nacha = parse_nacha(write([ach_transfer(e2e) for e2e in payout_ids(4)]))
    assert [e.trace_number[:8] for e in nacha.entries] == [ACH_ODFI_ROUTING[:8]] * 4
    assert [int(e.trace_number[8:]) for e in nacha.entries] == [1, 2, 3, 4]


def test_an_odd_date_reads_back_as_written() -> None:
    content = write(
        [ach_transfer(execution_date=date(2028, 2, 29))], effective_date=date(2028, 2, 29)
    )
    assert parse_nacha(content).batches[0].header.effective_entry_date == date(2028, 2, 29)


def test_money_read_back_is_in_dollars_cents() -> None:
    nacha = parse_nacha(write([replace(ach_transfer(), amount=usd(1))]))
    assert nacha.entries[0].amount == Money.of_minor(1, "USD")


# -- fuzzing --------------------------------------------------------------------------------

_SAMPLE = write(
    [ach_transfer("po_1", remittance="hi"), ach_transfer("po_2", creditor_kind="individual")]
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(_SAMPLE) - 1), st.binary(min_size=1, max_size=1)), max_size=6
    ),
    st.booleans(),
)
def test_a_mangled_file_is_read_or_refused_with_a_rail_error_never_a_crash(
    edits: list[tuple[int, bytes]], strict: bool
) -> None:
    mangled = bytearray(_SAMPLE)
    for position, byte in edits:
        mangled[position : position + 1] = byte
    try:
        parse_nacha(bytes(mangled), strict=strict)
    except RailError as error:
        assert error.where is None or error.where.startswith("line ")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_are_refused_with_a_rail_error(data: bytes) -> None:
    with pytest.raises(RailError):
        parse_nacha(data, strict=False)
