"""Zengin 総合振込: names in half-width kana, 120-byte Shift_JIS records, totals that add up."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rails_builders import (
    EXECUTION_DATE,
    jpy,
    payout_ids,
    zengin_originator,
    zengin_transfer,
)

from sellerpay.money import Money
from sellerpay.rails.instructions import (
    AbaAccount,
    BankFile,
    CreditTransfer,
    RailError,
    ZenginAccount,
)
from sellerpay.rails.zengin import (
    ZENGIN_CHARACTERS,
    parse_zengin,
    to_zengin_kana,
    write_zengin,
    zengin_reference,
)

CREATED_AT = datetime(2026, 1, 5, 9, 0)


def write(transfers: list[CreditTransfer], **overrides: Any) -> BankFile:
    separator = overrides.pop("separator", "crlf")
    assert separator in ("crlf", "none")
    return write_zengin(
        transfers,
        zengin_originator(**overrides),
        transfer_date=EXECUTION_DATE,
        created_at=CREATED_AT,
        separator=separator,
    )


def records(content: bytes) -> list[bytes]:
    assert content.endswith(b"\r\n")
    return content.split(b"\r\n")[:-1]


# -- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "zengin"),
    [
        ("やまだ たろう", "ﾔﾏﾀﾞ ﾀﾛｳ"),  # hiragana
        ("ヤマダ　タロウ", "ﾔﾏﾀﾞ ﾀﾛｳ"),  # full-width katakana, ideographic space
        ("ｷｭｳﾖ ｲﾁﾛｳ", "ｷﾕｳﾖ ｲﾁﾛｳ"),  # small kana become big
        ("しょうじ", "ｼﾖｳｼﾞ"),
        ("きって", "ｷﾂﾃ"),
        ("ぱぴぷぺぽ", "ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ"),  # semi-voiced marks are their own characters
        ("コーヒー", "ｺ-ﾋ-"),  # long vowel marks become hyphens
        ("ヴァイオリン", "ｳﾞｱｲｵﾘﾝ"),
        ("ジョン・スミス", "ｼﾞﾖﾝ.ｽﾐｽ"),  # the middle dot becomes a period
        ("カ)サンプル", "ｶ)ｻﾝﾌﾟﾙ"),
        (
            "\uff33\uff45\uff4c\uff4c\uff45\uff52\uff50\uff41\uff59\u3000\uff2b\uff2b",
            "SELLERPAY KK",
        ),  # full-width latin
        ("sellerpay (japan) k.k.", "SELLERPAY (JAPAN) K.K."),
        ("abc,def/ghi-1", "ABC,DEF/GHI-1"),
        ("ヲ", "ｵ"),  # outside the bank character set: written as it sounds
        ("  ﾔﾏﾀﾞ   ﾀﾛｳ ", "ﾔﾏﾀﾞ ﾀﾛｳ"),
    ],
)
def test_names_are_converted_to_zengin_half_width_kana(typed: str, zengin: str) -> None:
    assert to_zengin_kana(typed) == zengin


@pytest.mark.parametrize("name", ["山田太郎", "ヤマダ商事", "a@b", "Zoë", "ﾔﾏﾀﾞ🙂", "株式会社"])
def test_kanji_and_characters_zengin_cannot_carry_are_refused(name: str) -> None:
    with pytest.raises(RailError) as raised:
        to_zengin_kana(name)
    assert raised.value.code == "zengin_character"


ZENGIN_NAMES = st.text(alphabet=sorted(ZENGIN_CHARACTERS), min_size=1, max_size=30)


@given(ZENGIN_NAMES)
def test_a_name_already_in_zengin_characters_only_loses_its_extra_spaces(name: str) -> None:
    converted = to_zengin_kana(name)
    assert converted == " ".join(name.split())
    assert to_zengin_kana(converted) == converted
    assert len(converted.encode("shift_jis")) == len(converted)  # one byte per character


def test_the_reference_is_the_last_20_letters_and_digits_of_the_end_to_end_id() -> None:
    assert zengin_reference("po_0190f7c3a1b27c4e8abc1234567890ab") == "7C4E8ABC1234567890AB"
    assert zengin_reference("PAYOUT-42") == "PAYOUT42"


# -- the records written --------------------------------------------------------------------


def test_a_file_has_header_data_trailer_and_end_records_of_120_bytes_each() -> None:
    bank_file = write([zengin_transfer()])
    header, data, trailer, end = records(bank_file.content)

    assert [len(record) for record in (header, data, trailer, end)] == [120] * 4
    assert header == (
        b"1" + b"21" + b"0" + b"0123456789" + "ｾﾗ-ﾍﾟｲ(ｶ".encode("shift_jis").ljust(40)
        + b"0106" + b"0001" + b" " * 15 + b"001" + b" " * 15 + b"1" + b"1234567" + b" " * 17
    )  # fmt: skip
    assert data == (
        b"2" + b"0005" + b" " * 15 + b"123" + b" " * 15 + b" " * 4 + b"1" + b"7654321"
        + "ﾔﾏﾀﾞ ﾀﾛｳ".encode("shift_jis").ljust(30) + b"0000012345" + b"0"
        + b"7C4E8ABC1234567890AB" + b"7" + b"Y" + b" " * 7
    )  # fmt: skip
    assert trailer == b"8" + b"000001" + b"000000012345" + b" " * 101
    assert end == b"9" + b" " * 119


def test_a_numeric_reference_is_zero_filled_in_the_numeric_customer_codes() -> None:
    bank_file = write([zengin_transfer("12345")])
    data = records(bank_file.content)[1]

    assert data[91:111] == b"00000000000000012345"
    assert data[112:113] == b" "  # 識別表示 blank: 顧客コード, not EDI
    assert bank_file.batches == {"00000000000000012345": ("12345",)}


def test_the_bank_file_maps_references_to_end_to_end_ids_and_sums_yen() -> None:
    ids = payout_ids(3)
    bank_file = write([zengin_transfer(e2e, 1_000 * (i + 1)) for i, e2e in enumerate(ids)])

    assert bank_file.rail == "zengin"
    assert bank_file.control_sums == {"JPY": 6_000}
    assert bank_file.end_to_end_ids == tuple(ids)
    assert bank_file.batches == {zengin_reference(e2e): (e2e,) for e2e in ids}
    parsed = parse_zengin(bank_file.content)
    assert [r.customer_code for r in parsed.records] == [zengin_reference(e2e) for e2e in ids]


def test_records_may_go_without_separators() -> None:
    transfers = [zengin_transfer(e2e) for e2e in payout_ids(2)]
    joined = write(transfers, separator="none").content
    crlf = write(transfers).content

    assert len(joined) == 5 * 120
    assert b"\r" not in joined and b"\n" not in joined
    assert joined == crlf.replace(b"\r\n", b"")
    assert parse_zengin(joined).records == parse_zengin(crlf).records
    assert parse_zengin(joined).separator == "none"


def test_names_longer_than_30_half_width_characters_are_cut() -> None:
    name = "ｶﾌﾞｼｷｶﾞｲｼﾔ ｾﾗ-ﾍﾟｲ ｼﾞﾔﾊﾟﾝ ﾎｰﾙﾃﾞｨﾝｸﾞｽ"
    bank_file = write([zengin_transfer(creditor_name=name)])
    written = parse_zengin(bank_file.content).records[0].recipient_name
    assert written == to_zengin_kana(name)[:30].rstrip()
    assert len(written) <= 30


def test_current_accounts_are_type_2() -> None:
    transfer = zengin_transfer(creditor_account=ZenginAccount("0009", "456", "0000001", "current"))
    assert parse_zengin(write([transfer]).content).records[0].account_type == "2"


def test_the_callers_message_id_is_kept() -> None:
    bank_file = write_zengin(
        [zengin_transfer()],
        zengin_originator(),
        transfer_date=EXECUTION_DATE,
        created_at=CREATED_AT,
        message_id="run-42",
    )
    assert bank_file.message_id == "run-42"


# -- what is refused ------------------------------------------------------------------------

E2E = "po_0190f7c3a1b27c4e8abc1234567890ab"


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"amount": Money.of_minor(100, "USD")}, "zengin_currency"),
        ({"creditor_account": AbaAccount("231380104", "1")}, "zengin_account"),
        ({"creditor_account": ZenginAccount("05", "123", "7654321")}, "zengin_account"),
        ({"creditor_account": ZenginAccount("0005", "123", "765432")}, "zengin_account"),
        ({"creditor_account": ZenginAccount("0005", "12a", "7654321")}, "zengin_account"),
        ({"amount": jpy(10_000_000_000)}, "zengin_amount"),  # 11 digits
        ({"amount": jpy(0)}, "zengin_amount"),
        ({"creditor_name": "山田太郎"}, "zengin_character"),
        ({"creditor_name": "   "}, "zengin_name"),
        ({"execution_date": EXECUTION_DATE + timedelta(days=1)}, "zengin_execution_date"),
    ],
)
def test_a_transfer_zengin_cannot_carry_is_refused_naming_its_end_to_end_id(
    overrides: dict[str, Any], code: str
) -> None:
    with pytest.raises(RailError) as raised:
        write([zengin_transfer("po_other"), zengin_transfer(E2E, **overrides)])
    assert raised.value.code == code
    assert E2E in str(raised.value)


def test_the_largest_amount_the_10_digit_field_holds_is_written() -> None:
    bank_file = write([zengin_transfer(amount_minor=9_999_999_999)])
    assert parse_zengin(bank_file.content).trailer.total == jpy(9_999_999_999)


def test_ids_with_the_same_reference_are_refused() -> None:
    with pytest.raises(RailError) as raised:
        write(
            [zengin_transfer("a-0123456789abcdefghij"), zengin_transfer("b-0123456789abcdefghij")]
        )
    assert raised.value.code == "zengin_duplicate_end_to_end_id"


@pytest.mark.parametrize(
    ("overrides", "where"),
    [
        ({"zengin_requester_code": "12345"}, "originator.zengin_requester_code"),
        ({"zengin_requester_name_kana": ""}, "originator.zengin_requester_name_kana"),
        ({"zengin_requester_name_kana": "山田"}, "originator.zengin_requester_name_kana"),
        ({"zengin_requester_name_kana": "ｱ" * 41}, "originator.zengin_requester_name_kana"),
        ({"account": AbaAccount("231380104", "1")}, "originator.account"),
    ],
)
def test_an_originator_without_its_zengin_identifiers_is_refused(
    overrides: dict[str, Any], where: str
) -> None:
    with pytest.raises(RailError) as raised:
        write([zengin_transfer()], **overrides)
    assert raised.value.where == where


# -- reading back ---------------------------------------------------------------------------


def _replace_record(content: bytes, index: int, record: bytes) -> bytes:
    parts = records(content)
    parts[index] = record
    return b"".join(part + b"\r\n" for part in parts)


def test_a_record_of_119_bytes_is_refused_naming_it() -> None:
    content = write([zengin_transfer()]).content
    short = records(content)[1][:-1]
    with pytest.raises(RailError) as raised:
        parse_zengin(_replace_record(content, 1, short))
    assert (raised.value.where, raised.value.code) == ("record 2", "zengin_record_length")


def test_a_double_byte_character_is_refused_even_in_120_bytes() -> None:
    content = write([zengin_transfer()]).content
    data = records(content)[1]
    wide = data[:50] + "ヤ".encode("shift_jis") + data[52:]  # 2 bytes for 2 half-width ones
    assert len(wide) == 120
    with pytest.raises(RailError) as raised:
        parse_zengin(_replace_record(content, 1, wide))
    assert (raised.value.where, raised.value.code) == ("record 2", "zengin_charset")


def test_a_trailer_that_disagrees_with_the_records_is_refused() -> None:
    content = write([zengin_transfer()]).content
    trailer = b"8" + b"000001" + b"000000012346" + b" " * 101
    with pytest.raises(RailError) as raised:
        parse_zengin(_replace_record(content, 2, trailer))
    assert (raised.value.where, raised.value.code) == ("record 3", "zengin_control_mismatch")


def test_records_out_of_order_are_refused() -> None:
    content = write([zengin_transfer()]).content
    parts = records(content)
    swapped = b"".join(p + b"\r\n" for p in [parts[1], parts[0], parts[2], parts[3]])
    with pytest.raises(RailError) as raised:
        parse_zengin(swapped)
    assert raised.value.code == "zengin_record_order"
    assert raised.value.where == "record 1"


def test_bytes_that_are_not_shift_jis_are_refused() -> None:
    content = write([zengin_transfer()]).content
    data = records(content)[1]
    with pytest.raises(RailError) as raised:
        parse_zengin(_replace_record(content, 1, data[:60] + b"\x81" + data[61:]))
    assert raised.value.code == "zengin_charset"


def test_a_non_numeric_amount_is_refused() -> None:
    content = write([zengin_transfer()]).content
    data = records(content)[1]
    with pytest.raises(RailError) as raised:
        parse_zengin(_replace_record(content, 1, data[:80] + b"00000123X5" + data[90:]))
    assert (raised.value.where, raised.value.code) == ("record 2", "zengin_numeric")


# -- round trip -----------------------------------------------------------------------------

KANA_NAMES = st.text(
    alphabet="ぁあぃいうえおかがきぎくけこさざしじゃゅょっ"
    "アイウエオカキクケコサシスセソタチツテトナニヌネノ"
    "ハバパヒフヘホマミムメモヤユヨラリルレロワンヴー ・",
    min_size=1,
    max_size=40,
).filter(lambda name: name.strip(" ・") != "")


@st.composite
def zengin_payouts(draw: st.DrawFn) -> list[CreditTransfer]:
    count = draw(st.integers(min_value=1, max_value=20))
    return [
        CreditTransfer(
            end_to_end_id=e2e,
            amount=jpy(draw(st.integers(min_value=1, max_value=9_999_999_999))),
            creditor_name=draw(KANA_NAMES),
            creditor_account=ZenginAccount(
                draw(st.from_regex(r"[0-9]{4}", fullmatch=True)),
                draw(st.from_regex(r"[0-9]{3}", fullmatch=True)),
                draw(st.from_regex(r"[0-9]{7}", fullmatch=True)),
                draw(st.sampled_from(["ordinary", "current"])),
            ),
            execution_date=EXECUTION_DATE - timedelta(days=draw(st.integers(0, 3))),
        )
        for e2e in payout_ids(count)
    ]


@settings(max_examples=60, deadline=None)
@given(zengin_payouts(), st.sampled_from(["crlf", "none"]))
def test_every_payout_written_reads_back_with_its_account_amount_and_reference(
    transfers: list[CreditTransfer], separator: str
) -> None:
    bank_file = write(transfers, separator=separator)
    body = bank_file.content.replace(b"\r\n", b"")

    assert len(body) == 120 * (len(transfers) + 3)
    parsed = parse_zengin(bank_file.content)
    assert parsed.header.transfer_date_mmdd == EXECUTION_DATE.strftime("%m%d")
    assert parsed.trailer.record_count == len(transfers)
    assert parsed.trailer.total == jpy(sum(t.amount.amount_minor for t in transfers))
    for transfer, record in zip(transfers, parsed.records, strict=True):
        account = transfer.creditor_account
        assert isinstance(account, ZenginAccount)
        assert (record.bank_code, record.branch_code, record.account_number) == (
            account.bank_code,
            account.branch_code,
            account.account_number,
        )
        assert record.account_type == {"ordinary": "1", "current": "2"}[account.account_type]
        assert record.amount == transfer.amount
        assert record.recipient_name == to_zengin_kana(transfer.creditor_name)[:30].rstrip()
        assert bank_file.batches[record.customer_code] == (transfer.end_to_end_id,)


def test_the_transfer_date_is_written_as_month_and_day() -> None:
    bank_file = write_zengin(
        [zengin_transfer(execution_date=date(2028, 2, 29))],
        zengin_originator(),
        transfer_date=date(2028, 2, 29),
        created_at=CREATED_AT,
    )
    assert parse_zengin(bank_file.content).header.transfer_date_mmdd == "0229"


# -- fuzzing --------------------------------------------------------------------------------

_SAMPLE = write([zengin_transfer(e2e) for e2e in payout_ids(2)]).content


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
        parsed = parse_zengin(bytes(mangled))
    except RailError as error:
        assert error.where is None or error.where.startswith("record ")
    else:
        assert parsed.trailer.record_count == len(parsed.records)
