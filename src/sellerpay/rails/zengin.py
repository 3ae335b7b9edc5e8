"""Zengin 総合振込 files: payouts to Japanese bank accounts in the 全銀協 fixed format.

Four record kinds of exactly 120 bytes in Shift_JIS (every character single-byte: digits,
upper-case letters, half-width katakana and a few symbols): header (データ区分 1, 種別コード 21,
コード区分 0 = JIS), one data record per transfer (2), trailer (8: count and total) and end
(9). Records are separated by CRLF by default, or not at all (`separator="none"`), as banks'
specifications differ.

Names go to the bank in half-width katakana; `to_zengin_kana` turns what sellers type
(hiragana, full-width katakana, romaji, full-width letters) into it, and refuses kanji and
anything else Zengin cannot carry rather than guess a reading.

Where the payout is found again: 顧客コード1・2 (20 characters) hold a reference made from the
end-to-end id (`zengin_reference`); `BankFile.batches` maps it back, {reference: (e2e id,)}.
The format types those fields as numeric; a reference with letters is written with 識別表示
"Y", which makes the same 20 characters EDI情報 (alphanumeric), so the file stays within the
format either way.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final, Literal

import jaconv

from sellerpay.money import Money
from sellerpay.rails.instructions import (
    BankFile,
    CreditTransfer,
    Originator,
    RailError,
    ZenginAccount,
)

RECORD_LENGTH: Final = 120
ENCODING: Final = "shift_jis"
TYPE_CODE: Final = "21"  # 総合振込
READABLE_TYPE_CODES: Final = frozenset({"11", "12", "21"})  # 給与, 賞与 share the layout
AMOUNT_MAX_MINOR: Final = 9_999_999_999  # 振込金額 N(10)
TOTAL_MAX_MINOR: Final = 999_999_999_999  # 合計金額 N(12)
TRANSFERS_PER_FILE_MAX: Final = 99_999
RECIPIENT_NAME_LENGTH: Final = 30
REQUESTER_NAME_LENGTH: Final = 40
REFERENCE_LENGTH: Final = 20
CURRENCY: Final = "JPY"
TRANSFER_KIND_TELEGRAPHIC: Final = "7"  # 振込指定区分 7: テレ振込

Separator = Literal["crlf", "none"]
_SEPARATORS: Final[dict[str, bytes]] = {"crlf": b"\r\n", "none": b""}
_ACCOUNT_TYPES: Final[dict[str, str]] = {"ordinary": "1", "current": "2"}

_HALF_WIDTH_KANA: Final = frozenset(chr(code) for code in range(0xFF71, 0xFFA0))  # ｱ..ﾝ ﾞ ﾟ
ZENGIN_CHARACTERS: Final = (
    frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ ().-/,") | _HALF_WIDTH_KANA
)
"""What a Zengin name may hold once converted: digits, A-Z, half-width kana, ( ) . - / , space."""

_BIG_KANA: Final = str.maketrans(
    {
        # small kana are written big: ｷﾞｭｳ is not allowed, ｷﾞﾕｳ is
        "ァ": "ア", "ィ": "イ", "ゥ": "ウ", "ェ": "エ", "ォ": "オ",
        "ャ": "ヤ", "ュ": "ユ", "ョ": "ヨ", "ッ": "ツ", "ヮ": "ワ", "ヵ": "カ", "ヶ": "ケ",
        "ｧ": "ｱ", "ｨ": "ｲ", "ｩ": "ｳ", "ｪ": "ｴ", "ｫ": "ｵ",
        "ｬ": "ﾔ", "ｭ": "ﾕ", "ｮ": "ﾖ", "ｯ": "ﾂ",
        # kana outside the bank character set, written as they sound
        "ヰ": "イ", "ヱ": "エ", "ヲ": "オ", "ｦ": "ｵ",
        # long vowel marks and dashes: Zengin has only the hyphen
        "ー": "-", "ｰ": "-", "―": "-", "\u2010": "-", "\u2212": "-", "\uff0d": "-",
        # the middle dot between given and family names: a period, as banks write it
        "・": ".", "･": ".",
        "\u3000": " ",
    }
)  # fmt: skip


def to_zengin_kana(text: str) -> str:
    """`text` as a Zengin name: half-width katakana, A-Z, digits and ( ) . - / , only.

    Hiragana become katakana, full-width becomes half-width, small kana become big (ｼﾖｳｼﾞ,
    not ｼｮｳｼﾞ), long vowel marks become hyphens, letters are upper-cased. Kanji and any other
    character the bank cannot carry raise `RailError` naming it: a reading is never guessed.
    """
    katakana = jaconv.hira2kata(unicodedata.normalize("NFC", text)).translate(_BIG_KANA)
    half = jaconv.z2h(katakana, kana=True, ascii=True, digit=True).translate(_BIG_KANA)
    converted = " ".join(half.upper().split())
    for char in converted:
        if char not in ZENGIN_CHARACTERS:
            name = unicodedata.name(char, f"U+{ord(char):04X}")
            raise RailError(
                f"{char!r} ({name}) cannot be written in a Zengin name; give its kana reading",
                where="name",
                code="zengin_character",
            )
    return converted


def zengin_reference(end_to_end_id: str) -> str:
    """The end-to-end id as it fits 顧客コード1・2: its last 20 letters and digits, upper-cased."""
    alphanumeric = "".join(c for c in end_to_end_id.upper() if c.isascii() and c.isalnum())
    return alphanumeric[-REFERENCE_LENGTH:]


# -- parsed file ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ZenginHeader:
    """ヘッダー・レコード: the requester (委託者) and the account paying."""

    type_code: str
    code_division: str
    requester_code: str
    requester_name: str
    transfer_date_mmdd: str  # 取組日 MMDD: the format carries no year
    bank_code: str
    bank_name: str
    branch_code: str
    branch_name: str
    account_type: str
    account_number: str


@dataclass(frozen=True, slots=True)
class ZenginRecord:
    """データ・レコード: one transfer."""

    record_number: int
    bank_code: str
    bank_name: str
    branch_code: str
    branch_name: str
    clearing_house_code: str
    account_type: str  # 1 普通, 2 当座, 4 貯蓄, 9 その他
    account_number: str
    recipient_name: str
    amount: Money
    new_code: str
    customer_code: str  # 顧客コード1・2 (or EDI情報 when edi_flag is "Y"), trailing blanks cut
    transfer_kind: str
    edi_flag: str

    @property
    def customer_code_1(self) -> str:
        return self.customer_code.ljust(REFERENCE_LENGTH)[:10]

    @property
    def customer_code_2(self) -> str:
        return self.customer_code.ljust(REFERENCE_LENGTH)[10:]


@dataclass(frozen=True, slots=True)
class ZenginTrailer:
    """トレーラ・レコード: what the file says it holds."""

    record_count: int
    total: Money


@dataclass(frozen=True, slots=True)
class ZenginFile:
    header: ZenginHeader
    records: tuple[ZenginRecord, ...]
    trailer: ZenginTrailer
    separator: Literal["crlf", "lf", "none"]


# -- writing --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ZenginPayout:
    transfer: CreditTransfer
    account: ZenginAccount
    name: str
    reference: str  # exactly as written in 顧客コード1・2, without trailing blanks


def write_zengin(
    transfers: Sequence[CreditTransfer],
    originator: Originator,
    *,
    transfer_date: date,
    created_at: datetime,
    separator: Separator = "crlf",
    message_id: str | None = None,
) -> BankFile:
    """A 総合振込 file paying `transfers` on `transfer_date` (取組日) from the originator.

    Every transfer must be in JPY to a `ZenginAccount` and due on or before `transfer_date`
    (a transfer due later belongs in that day's file). The format has no message id of its
    own: `message_id` is kept in the `BankFile` (default: requester code and creation time).
    Raises `RailError` naming the end-to-end id of the first transfer it cannot carry.
    """
    header = _header_record(originator, transfer_date)
    payouts = _payouts(transfers, transfer_date)
    records = [header, *(_data_record(payout) for payout in payouts)]
    total = sum(p.transfer.amount.amount_minor for p in payouts)
    records.append("8" + _numeric(len(payouts), 6) + _numeric(total, 12) + " " * 101)
    records.append("9" + " " * 119)
    glue = _SEPARATORS[separator]
    content = b"".join(_encode(record) + glue for record in records)
    _check_written(content, len(payouts), total)
    requester = originator.zengin_requester_code
    return BankFile(
        rail="zengin",
        filename=f"zengin-{transfer_date:%Y%m%d}-{requester}-{created_at:%H%M%S}.txt",
        content=content,
        message_id=message_id or f"{requester}-{created_at:%Y%m%d%H%M%S}",
        transfer_count=len(payouts),
        control_sums={CURRENCY: total},
        end_to_end_ids=tuple(p.transfer.end_to_end_id for p in payouts),
        batches={p.reference: (p.transfer.end_to_end_id,) for p in payouts},
        created_at=created_at,
    )


def _header_record(originator: Originator, transfer_date: date) -> str:
    requester = originator.zengin_requester_code
    if not _is_digits(requester, 10):
        raise RailError(
            "the requester code (委託者コード) must be 10 digits",
            where="originator.zengin_requester_code",
            code="zengin_invalid_originator",
        )
    try:
        name = to_zengin_kana(originator.zengin_requester_name_kana)
    except RailError as error:
        raise RailError(error.message, where="originator.zengin_requester_name_kana") from error
    if not name or len(name) > REQUESTER_NAME_LENGTH:
        raise RailError(
            f"the requester's kana name must be 1 to {REQUESTER_NAME_LENGTH} characters",
            where="originator.zengin_requester_name_kana",
            code="zengin_invalid_originator",
        )
    account = originator.account
    if not isinstance(account, ZenginAccount) or not _is_valid_account(account):
        raise RailError(
            "the originator's account must be a Japanese account (bank 4, branch 3, number 7)",
            where="originator.account",
            code="zengin_invalid_originator",
        )
    return (
        "1"
        + TYPE_CODE
        + "0"
        + requester
        + name.ljust(REQUESTER_NAME_LENGTH)
        + transfer_date.strftime("%m%d")
        + account.bank_code
        + " " * 15
        + account.branch_code
        + " " * 15
        + _ACCOUNT_TYPES[account.account_type]
        + account.account_number
        + " " * 17
    )


def _payouts(transfers: Sequence[CreditTransfer], transfer_date: date) -> list[_ZenginPayout]:
    if not transfers:
        raise RailError("a Zengin file needs at least one transfer", code="zengin_empty")
    if len(transfers) > TRANSFERS_PER_FILE_MAX:
        raise RailError(
            f"{len(transfers)} transfers exceed transfers_per_file_max {TRANSFERS_PER_FILE_MAX}",
            code="zengin_too_many_transfers",
        )
    payouts = [_payout(transfer, transfer_date) for transfer in transfers]
    seen: dict[str, str] = {}
    for payout in payouts:
        e2e = payout.transfer.end_to_end_id
        for key in (f"e2e:{e2e}", f"ref:{payout.reference}"):
            if key in seen:
                raise RailError(
                    f"end-to-end id {e2e} collides with {seen[key]} (same id or same reference)",
                    where=f"transfer {e2e}",
                    code="zengin_duplicate_end_to_end_id",
                )
            seen[key] = e2e
    total = sum(p.transfer.amount.amount_minor for p in payouts)
    if total > TOTAL_MAX_MINOR:
        raise RailError(f"the file total {total} yen exceeds 合計金額 N(12)", code="zengin_amount")
    return payouts


def _payout(transfer: CreditTransfer, transfer_date: date) -> _ZenginPayout:
    """`transfer` checked against what a data record can carry."""
    e2e = transfer.end_to_end_id

    def refuse(message: str, code: str) -> RailError:
        return RailError(f"{message} (end-to-end id {e2e})", where=f"transfer {e2e}", code=code)

    if transfer.amount.currency != CURRENCY:
        raise refuse(f"Zengin pays JPY only, not {transfer.amount.currency}", "zengin_currency")
    amount = transfer.amount.amount_minor
    if not 0 < amount <= AMOUNT_MAX_MINOR:
        raise refuse(f"amount {amount} yen is outside 1..{AMOUNT_MAX_MINOR}", "zengin_amount")
    account = transfer.creditor_account
    if not isinstance(account, ZenginAccount):
        raise refuse("Zengin pays Japanese accounts only", "zengin_account")
    if not _is_valid_account(account):
        raise refuse("bank code 4, branch code 3 and account number 7 digits", "zengin_account")
    if transfer.execution_date > transfer_date:
        raise refuse(
            f"due on {transfer.execution_date}, after the file's 取組日 {transfer_date}",
            "zengin_execution_date",
        )
    try:
        name = to_zengin_kana(transfer.creditor_name)[:RECIPIENT_NAME_LENGTH].rstrip()
    except RailError as error:
        raise refuse(error.message, error.code) from error
    if not name:
        raise refuse("the recipient name is empty", "zengin_name")
    reference = zengin_reference(e2e)
    if not reference:
        raise refuse("the end-to-end id has no letter or digit to refer to", "zengin_reference")
    if reference.isdigit():  # 顧客コード are numeric fields: zero-filled, as written
        reference = reference.zfill(REFERENCE_LENGTH)
    return _ZenginPayout(transfer, account, name, reference)


def _data_record(payout: _ZenginPayout) -> str:
    numeric_reference = payout.reference.isdigit()
    return (
        "2"
        + payout.account.bank_code
        + " " * 15
        + payout.account.branch_code
        + " " * 15
        + " " * 4  # 手形交換所番号: optional
        + _ACCOUNT_TYPES[payout.account.account_type]
        + payout.account.account_number
        + payout.name.ljust(RECIPIENT_NAME_LENGTH)
        + _numeric(payout.transfer.amount.amount_minor, 10)
        + "0"  # 新規コード: その他
        + payout.reference.ljust(REFERENCE_LENGTH)
        + TRANSFER_KIND_TELEGRAPHIC
        + (" " if numeric_reference else "Y")
        + " " * 7
    )


def _encode(record: str) -> bytes:
    encoded = record.encode(ENCODING)
    if len(encoded) != RECORD_LENGTH:  # a bug, not bad input: every field is padded above
        raise RailError(f"record of {len(encoded)} bytes written", code="zengin_invariant")
    return encoded


def _check_written(content: bytes, count: int, total: int) -> None:
    """Read our own file back: a file we cannot read must never reach a bank."""
    parsed = parse_zengin(content)
    if len(parsed.records) != count or parsed.trailer.total.amount_minor != total:
        raise RailError("the written file does not read back", code="zengin_invariant")


def _is_digits(text: str, length: int) -> bool:
    return len(text) == length and text.isascii() and text.isdigit()


def _is_valid_account(account: ZenginAccount) -> bool:
    return (
        _is_digits(account.bank_code, 4)
        and _is_digits(account.branch_code, 3)
        and _is_digits(account.account_number, 7)
        and account.account_type in _ACCOUNT_TYPES
    )


def _numeric(value: int, length: int) -> str:
    return str(value).zfill(length)


# -- reading --------------------------------------------------------------------------------


def parse_zengin(data: bytes) -> ZenginFile:
    """The 総合振込 file in `data`, checked: 120-byte Shift_JIS records, order and totals.

    Records may be separated by CRLF, LF or nothing; one trailing EOF byte (0x1A) is allowed.
    Raises `RailError` naming the record (1-based) at fault.
    """
    raw, separator = _split(data.removesuffix(b"\x1a"))
    records = [_decode(record, number) for number, record in enumerate(raw, start=1)]
    kinds = "".join(record[0] for record in records)
    if len(kinds) < 4 or kinds[0] != "1" or kinds[-2:] != "89" or set(kinds[1:-2]) != {"2"}:
        at = _first_out_of_order(kinds)
        raise RailError(
            "records must be one header (1), data records (2), a trailer (8) and an end (9)",
            where=f"record {at}",
            code="zengin_record_order",
        )
    header = _header(records[0])
    data_records = tuple(_record(text, n) for n, text in enumerate(records[1:-2], start=2))
    trailer = _trailer(records[-2], len(records) - 1)
    total = sum(record.amount.amount_minor for record in data_records)
    if trailer.record_count != len(data_records) or trailer.total.amount_minor != total:
        raise RailError(
            f"the trailer says {trailer.record_count} records for {trailer.total.amount_minor}"
            f" yen; the file holds {len(data_records)} for {total}",
            where=f"record {len(records) - 1}",
            code="zengin_control_mismatch",
        )
    return ZenginFile(header, data_records, trailer, separator)


def _split(data: bytes) -> tuple[list[bytes], Literal["crlf", "lf", "none"]]:
    if b"\n" in data:
        separator: Literal["crlf", "lf"] = "crlf" if b"\r\n" in data else "lf"
        lines = data.split(b"\r\n" if separator == "crlf" else b"\n")
        if lines[-1] == b"":
            lines.pop()
        return lines, separator
    if not data or len(data) % RECORD_LENGTH:
        raise RailError(
            f"{len(data)} bytes without separators is not a whole number of 120-byte records",
            where="record 1",
            code="zengin_record_length",
        )
    return [data[i : i + RECORD_LENGTH] for i in range(0, len(data), RECORD_LENGTH)], "none"


def _decode(record: bytes, number: int) -> str:
    where = f"record {number}"
    if len(record) != RECORD_LENGTH:
        raise RailError(
            f"the record is {len(record)} bytes, not {RECORD_LENGTH}",
            where=where,
            code="zengin_record_length",
        )
    try:
        text = record.decode(ENCODING)
    except UnicodeDecodeError as error:
        raise RailError(
            f"byte {error.start + 1} is not Shift_JIS", where=where, code="zengin_charset"
        ) from error
    if len(text) != RECORD_LENGTH:
        raise RailError(
            "double-byte (全角) characters are not allowed", where=where, code="zengin_charset"
        )
    return text


def _first_out_of_order(kinds: str) -> int:
    expected = "1" + "2" * max(len(kinds) - 3, 0) + "89"
    for index, (found, wanted) in enumerate(zip(kinds, expected, strict=False), start=1):
        if found != wanted and not (wanted == "2" and found in "89"):
            return index
    return len(kinds)


def _digits(text: str, number: int, name: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise RailError(
            f"{name} must be digits, not {text!r}", where=f"record {number}", code="zengin_numeric"
        )
    return int(text)


def _header(text: str) -> ZenginHeader:
    type_code = text[1:3]
    if type_code not in READABLE_TYPE_CODES or text[3] != "0":
        raise RailError(
            f"種別コード {type_code!r} / コード区分 {text[3]!r}:"
            " expected 21 (or 11, 12) and 0 (JIS)",
            where="record 1",
            code="zengin_type_code",
        )
    _digits(text[4:14], 1, "依頼人コード")
    mmdd = text[54:58]
    _digits(mmdd, 1, "取組日")
    try:
        date(2000, int(mmdd[:2]), int(mmdd[2:]))  # a leap year, so 0229 passes
    except ValueError as error:
        raise RailError(f"取組日 {mmdd} is not a date", where="record 1") from error
    return ZenginHeader(
        type_code=type_code,
        code_division=text[3],
        requester_code=text[4:14],
        requester_name=text[14:54].rstrip(),
        transfer_date_mmdd=mmdd,
        bank_code=text[58:62],
        bank_name=text[62:77].rstrip(),
        branch_code=text[77:80],
        branch_name=text[80:95].rstrip(),
        account_type=text[95],
        account_number=text[96:103],
    )


def _record(text: str, number: int) -> ZenginRecord:
    for start, end, name in (
        (1, 5, "被仕向銀行番号"),
        (20, 23, "被仕向支店番号"),
        (43, 50, "口座番号"),
    ):
        _digits(text[start:end], number, name)
    if text[42] not in "1249":
        raise RailError(f"預金種目 {text[42]!r} is not 1, 2, 4 or 9", where=f"record {number}")
    return ZenginRecord(
        record_number=number,
        bank_code=text[1:5],
        bank_name=text[5:20].rstrip(),
        branch_code=text[20:23],
        branch_name=text[23:38].rstrip(),
        clearing_house_code=text[38:42].strip(),
        account_type=text[42],
        account_number=text[43:50],
        recipient_name=text[50:80].rstrip(),
        amount=Money.of_minor(_digits(text[80:90], number, "振込金額"), CURRENCY),
        new_code=text[90],
        customer_code=text[91:111].rstrip(),
        transfer_kind=text[111],
        edi_flag=text[112],
    )


def _trailer(text: str, number: int) -> ZenginTrailer:
    return ZenginTrailer(
        record_count=_digits(text[1:7], number, "合計件数"),
        total=Money.of_minor(_digits(text[7:19], number, "合計金額"), CURRENCY),
    )
