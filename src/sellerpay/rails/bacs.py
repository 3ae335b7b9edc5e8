"""Bacs Standard 18 files: payouts to UK accounts as direct credits (transaction code 99).

Dialect written and read (banks' Standard 18 guides agree on it; the header labels are the
ISO 1001 tape labels Bacs inherited):

- one submission, one file, one processing day: UHL1 work code "1 DAILY ", so data records
  are 100 characters with no processing date of their own (the multi-day dialect adds six);
- labels of 80 characters, in this order: VOL1, HDR1, HDR2, UHL1, data records, the contra,
  EOF1, EOF2, UTL1; records end with CRLF;
- one originating account: every credit (99) names it, and one debit contra (17) with
  reference "CONTRA" takes the total from it; UTL1 carries debit and credit totals (13
  digits of pence) and counts (7), contra included, so a balanced file shows equal totals.

Data record (positions): 1-6 destination sort code, 7-14 destination account, 15 account
type (0), 16-17 transaction code, 18-23 originating sort code, 24-31 originating account,
32-35 free format (blank), 36-46 amount in pence, 47-64 service user's name, 65-82 reference,
83-100 destination account name. Text fields take A-Z, 0-9, space and . & / - only.

Where the payout is found again: the 18-character reference is made from the end-to-end id
(`bacs_reference`) and `BankFile.batches` maps it back, {reference: (end-to-end id,)}.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

from sellerpay.money import Money
from sellerpay.rails.charset import restrict_to_charset, transliterate_to_latin
from sellerpay.rails.instructions import (
    BankFile,
    CreditTransfer,
    Originator,
    RailError,
    UkAccount,
)

LABEL_LENGTH: Final = 80
RECORD_LENGTH: Final = 100  # single processing day; 106 in the multi-day dialect (readable)
READABLE_RECORD_LENGTHS: Final = frozenset({100, 106})
AMOUNT_MAX_MINOR: Final = 99_999_999_999  # 11 digits of pence, the contra included
TRANSFERS_PER_FILE_MAX: Final = 100_000
TEXT_FIELD_LENGTH: Final = 18
REFERENCE_LENGTH_MIN: Final = 6
CURRENCY: Final = "GBP"
CREDIT: Final = "99"
DEBIT_CONTRA: Final = "17"
CREDIT_CODES: Final = frozenset({"99", "Z4", "Z5"})
DEBIT_CODES: Final = frozenset({"01", "17", "18", "19"})
ZERO_VALUE_CODES: Final = frozenset({"0C", "0N", "0S"})  # AUDDIS instructions
BACS_CHARACTERS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .&/-")
_SERIAL: Final = re.compile(r"[A-Z0-9]{6}")


def bacs_text(text: str, *, where: str) -> str:
    """`text` in the Bacs character set: transliterated, upper-cased, others become spaces.

    A Han ideograph raises `RailError` naming `where` (see `rails.charset`).
    """
    latin = transliterate_to_latin(text, where=where).upper()
    return restrict_to_charset(latin, BACS_CHARACTERS)


def bacs_reference(end_to_end_id: str) -> str:
    """The end-to-end id as an 18-character reference: its last 18 letters and digits."""
    alphanumeric = "".join(c for c in end_to_end_id.upper() if c.isascii() and c.isalnum())
    return alphanumeric[-TEXT_FIELD_LENGTH:]


def julian(day: date) -> str:
    """A date as Bacs writes it: a space, two digits of year, three of day in the year."""
    return f" {day:%y}{day.timetuple().tm_yday:03d}"


def _from_julian(text: str, where: str) -> date:
    if not (text[:1] == " " and text[1:].isascii() and text[1:].isdigit() and len(text) == 6):
        raise RailError(f"{text!r} is not a Bacs date ( YYDDD)", where=where, code="bacs_date")
    start = date(2000 + int(text[1:3]), 1, 1)
    day = start + timedelta(days=int(text[3:]) - 1)
    if day.year != start.year or int(text[3:]) == 0:
        raise RailError(f"day {text[3:]} is not in 20{text[1:3]}", where=where, code="bacs_date")
    return day


# -- parsed file ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BacsRecord:
    """One Standard 18 data record: a credit, a debit, or a contra."""

    line_number: int
    destination_sort_code: str
    destination_account_number: str
    destination_account_type: str
    transaction_code: str
    originating_sort_code: str
    originating_account_number: str
    free_format: str
    amount: Money
    service_user_name: str
    reference: str
    destination_name: str
    processing_date: date | None = None  # multi-day dialect only

    @property
    def is_contra(self) -> bool:
        return self.reference == "CONTRA"

    @property
    def is_credit(self) -> bool:
        return self.transaction_code in CREDIT_CODES


@dataclass(frozen=True, slots=True)
class BacsTrailer:
    """UTL1: the totals and counts the file declares, contras included."""

    debit_total: Money
    credit_total: Money
    debit_count: int
    credit_count: int


@dataclass(frozen=True, slots=True)
class BacsFile:
    volume_serial: str
    service_user_number: str
    created_on: date
    expires_on: date
    record_length: int
    processing_date: date
    work_code: str
    file_number: str
    records: tuple[BacsRecord, ...]
    trailer: BacsTrailer

    @property
    def payments(self) -> tuple[BacsRecord, ...]:
        """The records that are not contras."""
        return tuple(record for record in self.records if not record.is_contra)


# -- writing --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _BacsOriginator:
    service_user_number: str
    account: UkAccount
    name: str


@dataclass(frozen=True, slots=True)
class _BacsPayout:
    transfer: CreditTransfer
    account: UkAccount
    name: str
    reference: str


def write_bacs_std18(
    transfers: Sequence[CreditTransfer],
    originator: Originator,
    *,
    processing_date: date,
    serial: str,
    created_at: datetime | None = None,
) -> BankFile:
    """A Standard 18 direct credit file paying `transfers` on `processing_date`.

    `serial` is the 6-character submission serial number (VOL1, HDR1), letters and digits,
    written upper-case. HDR1's creation date
    is `created_at`'s date, or the processing date when it is not given. Every transfer must
    be in GBP to a `UkAccount` and due on or before the processing date. Raises `RailError`
    naming the end-to-end id of the first transfer the file cannot carry.
    """
    bacs = _bacs_originator(originator)
    serial = serial.upper()
    if not _SERIAL.fullmatch(serial):
        raise RailError(
            "the serial is 6 upper-case letters or digits", where="serial", code="bacs_serial"
        )
    payouts = _payouts(transfers, processing_date)
    total = sum(p.transfer.amount.amount_minor for p in payouts)
    created_on = created_at.date() if created_at else processing_date
    if created_on > processing_date:
        raise RailError(
            "the file is created after its processing date", where="created_at", code="bacs_date"
        )
    header1 = _header1(bacs.service_user_number, serial, created_on, processing_date)
    header2 = "HDR2F0200000100" + " " * 35 + "00" + " " * 28
    lines = [
        "VOL1" + serial + " " * 31 + bacs.service_user_number + " " * 32 + "1",
        header1,
        header2,
        "UHL1"
        + julian(processing_date)
        + "999999    "
        + "00"
        + "000000"
        + "1 DAILY  "
        + "001"
        + " " * 40,
        *(_credit_record(payout, bacs) for payout in payouts),
        _contra_record(bacs, total),
        "EOF1" + header1[4:],
        "EOF2" + header2[4:],
        "UTL1" + f"{total:013d}" + f"{total:013d}" + f"{1:07d}" + f"{len(payouts):07d}" + " " * 36,
    ]
    content = "".join(line + "\r\n" for line in lines).encode("ascii")
    _check_written(content, len(payouts), total)
    return BankFile(
        rail="bacs",
        filename=f"bacs-{bacs.service_user_number}-{processing_date:%Y%m%d}-{serial}.txt",
        content=content,
        message_id=f"{bacs.service_user_number}-{serial}",
        transfer_count=len(payouts),
        control_sums={CURRENCY: total},
        end_to_end_ids=tuple(p.transfer.end_to_end_id for p in payouts),
        batches={p.reference: (p.transfer.end_to_end_id,) for p in payouts},
        created_at=created_at,
    )


def _bacs_originator(originator: Originator) -> _BacsOriginator:
    sun = originator.bacs_service_user_number
    if not (len(sun) == 6 and sun.isascii() and sun.isdigit()):
        raise RailError(
            "the service user number must be 6 digits",
            where="originator.bacs_service_user_number",
            code="bacs_invalid_originator",
        )
    account = originator.account
    if not isinstance(account, UkAccount) or not _is_valid_account(account):
        raise RailError(
            "the originator's account must be a UK account (sort code 6, account 8 digits)",
            where="originator.account",
            code="bacs_invalid_originator",
        )
    name = bacs_text(originator.name, where="originator.name")
    if not name:
        raise RailError("the originator needs a name", where="originator.name")
    return _BacsOriginator(sun, account, name[:TEXT_FIELD_LENGTH].rstrip())


def _payouts(transfers: Sequence[CreditTransfer], processing_date: date) -> list[_BacsPayout]:
    if not transfers:
        raise RailError("a Bacs file needs at least one transfer", code="bacs_empty")
    if len(transfers) > TRANSFERS_PER_FILE_MAX:
        raise RailError(
            f"{len(transfers)} transfers exceed transfers_per_file_max {TRANSFERS_PER_FILE_MAX}",
            code="bacs_too_many_transfers",
        )
    payouts = [_payout(transfer, processing_date) for transfer in transfers]
    seen: dict[str, str] = {}
    for payout in payouts:
        e2e = payout.transfer.end_to_end_id
        for key in (f"e2e:{e2e}", f"ref:{payout.reference}"):
            if key in seen:
                raise RailError(
                    f"end-to-end id {e2e} collides with {seen[key]} (same id or same reference)",
                    where=f"transfer {e2e}",
                    code="bacs_duplicate_end_to_end_id",
                )
            seen[key] = e2e
    total = sum(p.transfer.amount.amount_minor for p in payouts)
    if total > AMOUNT_MAX_MINOR:
        raise RailError(
            f"the file total {total} pence exceeds the contra's 11 digits", code="bacs_amount"
        )
    return payouts


def _payout(transfer: CreditTransfer, processing_date: date) -> _BacsPayout:
    """`transfer` checked against what a Standard 18 credit record can carry."""
    e2e = transfer.end_to_end_id

    def refuse(message: str, code: str) -> RailError:
        return RailError(f"{message} (end-to-end id {e2e})", where=f"transfer {e2e}", code=code)

    if transfer.amount.currency != CURRENCY:
        raise refuse(f"Bacs pays GBP only, not {transfer.amount.currency}", "bacs_currency")
    amount = transfer.amount.amount_minor
    if not 0 < amount <= AMOUNT_MAX_MINOR:
        raise refuse(f"amount {amount} pence is outside 1..{AMOUNT_MAX_MINOR}", "bacs_amount")
    account = transfer.creditor_account
    if not isinstance(account, UkAccount):
        raise refuse("Bacs pays UK accounts (sort code and account number) only", "bacs_account")
    if not _is_valid_account(account):
        raise refuse("sort code must be 6 digits and account number 8", "bacs_account")
    if transfer.execution_date > processing_date:
        raise refuse(
            f"due on {transfer.execution_date}, after the processing date {processing_date}",
            "bacs_execution_date",
        )
    name = bacs_text(transfer.creditor_name, where=f"transfer {e2e}")
    if not name:
        raise refuse("the beneficiary name is empty in the Bacs character set", "bacs_name")
    reference = bacs_reference(e2e)
    if len(reference) < REFERENCE_LENGTH_MIN or len(set(reference)) == 1:
        raise refuse(
            f"the reference {reference!r} needs {REFERENCE_LENGTH_MIN} or more letters or"
            " digits, not all the same",
            "bacs_reference",
        )
    return _BacsPayout(transfer, account, name[:TEXT_FIELD_LENGTH].rstrip(), reference)


def _is_valid_account(account: UkAccount) -> bool:
    return (
        len(account.sort_code) == 6
        and account.sort_code.isascii()
        and account.sort_code.isdigit()
        and len(account.account_number) == 8
        and account.account_number.isascii()
        and account.account_number.isdigit()
    )


def _header1(sun: str, serial: str, created_on: date, processing_date: date) -> str:
    return (
        "HDR1"
        + "A"
        + sun
        + "S  1"
        + sun
        + serial
        + "0001"
        + "0001"
        + " " * 6
        + julian(created_on)
        + julian(processing_date)  # expiration: the file means nothing after its day
        + " "
        + "000000"
        + " " * 20
    )


def _text(value: str) -> str:
    return value[:TEXT_FIELD_LENGTH].ljust(TEXT_FIELD_LENGTH)


def _credit_record(payout: _BacsPayout, bacs: _BacsOriginator) -> str:
    return (
        payout.account.sort_code
        + payout.account.account_number
        + "0"
        + CREDIT
        + bacs.account.sort_code
        + bacs.account.account_number
        + " " * 4
        + f"{payout.transfer.amount.amount_minor:011d}"
        + _text(bacs.name)
        + _text(payout.reference)
        + _text(payout.name)
    )


def _contra_record(bacs: _BacsOriginator, total: int) -> str:
    return (
        bacs.account.sort_code
        + bacs.account.account_number
        + "0"
        + DEBIT_CONTRA
        + bacs.account.sort_code
        + bacs.account.account_number
        + " " * 4
        + f"{total:011d}"
        + _text(bacs.name)
        + _text("CONTRA")
        + _text(bacs.name)
    )


def _check_written(content: bytes, count: int, total: int) -> None:
    """Read our own file back: a file we cannot read must never reach a bank."""
    parsed = parse_bacs_std18(content)
    if len(parsed.payments) != count or parsed.trailer.credit_total.amount_minor != total:
        raise RailError("the written file does not read back", code="bacs_invariant")


# -- reading --------------------------------------------------------------------------------


def parse_bacs_std18(data: bytes) -> BacsFile:
    """The Standard 18 file in `data`, checked: label order and lengths, record fields, UTL1
    totals and counts, contras balancing the records they offset, EOF labels matching HDR.

    Records end with CRLF or LF. Raises `RailError` naming the line at fault.
    """
    lines = _lines(data)
    expected_labels = ("VOL1", "HDR1", "HDR2", "UHL1")
    for number, (label, line) in enumerate(zip(expected_labels, lines, strict=False), start=1):
        _check_label(line, label, number)
    if len(lines) < 8:
        raise RailError(
            "a Standard 18 file has at least 8 records",
            where=f"line {len(lines)}",
            code="bacs_record_order",
        )
    volume, header1, header2, user = lines[:4]
    trailer_labels = lines[-3:]
    for offset, label in enumerate(("EOF1", "EOF2", "UTL1")):
        _check_label(trailer_labels[offset], label, len(lines) - 2 + offset)
    record_length = _record_length(header2)
    records = tuple(
        _record(line, number, record_length) for number, line in enumerate(lines[4:-3], start=5)
    )
    if not records:
        raise RailError("the file holds no data record", where="line 5", code="bacs_record_order")
    _check_end_labels(header1, header2, trailer_labels[0], trailer_labels[1], len(lines) - 2)
    trailer = _trailer(trailer_labels[2], len(lines))
    _check_totals(records, trailer, len(lines))
    return BacsFile(
        volume_serial=volume[4:10],
        service_user_number=volume[41:47],
        created_on=_from_julian(header1[41:47], "line 2, creation date"),
        expires_on=_from_julian(header1[47:53], "line 2, expiration date"),
        record_length=record_length,
        processing_date=_from_julian(user[4:10], "line 4, processing date"),
        work_code=user[28:37].strip(),
        file_number=user[37:40],
        records=records,
        trailer=trailer,
    )


def _lines(data: bytes) -> list[str]:
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise RailError(
            f"byte {data[error.start]:#04x} is not ASCII", where=f"line {line}", code="bacs_charset"
        ) from error
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def _check_label(line: str, label: str, number: int) -> None:
    if not line.startswith(label):
        raise RailError(
            f"{label} expected, found {line[:4]!r}",
            where=f"line {number}",
            code="bacs_record_order",
        )
    if len(line) != LABEL_LENGTH:
        raise RailError(
            f"the {label} label is {len(line)} characters, not {LABEL_LENGTH}",
            where=f"line {number}",
            code="bacs_record_length",
        )


def _record_length(header2: str) -> int:
    text = header2[10:15]
    if not text.isdigit() or int(text) not in READABLE_RECORD_LENGTHS:
        raise RailError(
            f"record length {text!r} is not 00100 or 00106",
            where="line 3",
            code="bacs_record_length",
        )
    return int(text)


def _record(line: str, number: int, record_length: int) -> BacsRecord:
    where = f"line {number}"
    if len(line) != record_length:
        raise RailError(
            f"the record is {len(line)} characters, not {record_length}",
            where=where,
            code="bacs_record_length",
        )
    for start, end, name in (
        (0, 6, "destination sort code"),
        (6, 14, "destination account"),
        (17, 23, "originating sort code"),
        (23, 31, "originating account"),
        (35, 46, "amount"),
    ):
        if not (line[start:end].isascii() and line[start:end].isdigit()):
            raise RailError(
                f"{name} must be digits, not {line[start:end]!r}",
                where=f"{where}, positions {start + 1}-{end}",
                code="bacs_not_numeric",
            )
    code = line[15:17]
    if code not in CREDIT_CODES | DEBIT_CODES | ZERO_VALUE_CODES:
        raise RailError(
            f"transaction code {code!r} is not a Bacs code",
            where=where,
            code="bacs_transaction_code",
        )
    return BacsRecord(
        line_number=number,
        destination_sort_code=line[0:6],
        destination_account_number=line[6:14],
        destination_account_type=line[14],
        transaction_code=code,
        originating_sort_code=line[17:23],
        originating_account_number=line[23:31],
        free_format=line[31:35],
        amount=Money.of_minor(int(line[35:46]), CURRENCY),
        service_user_name=line[46:64].rstrip(),
        reference=line[64:82].rstrip(),
        destination_name=line[82:100].rstrip(),
        processing_date=_from_julian(line[100:106], where) if record_length == 106 else None,
    )


def _check_end_labels(header1: str, header2: str, end1: str, end2: str, number: int) -> None:
    """EOF1 and EOF2 repeat HDR1 and HDR2, HDR1's block count (55-60) aside."""
    if end1[4:54] + end1[60:] != header1[4:54] + header1[60:]:
        raise RailError(
            "EOF1 does not repeat HDR1", where=f"line {number}", code="bacs_label_mismatch"
        )
    if end2[4:] != header2[4:]:
        raise RailError(
            "EOF2 does not repeat HDR2", where=f"line {number + 1}", code="bacs_label_mismatch"
        )


def _trailer(line: str, number: int) -> BacsTrailer:
    fields = (line[4:17], line[17:30], line[30:37], line[37:44])
    if not all(field.isdigit() for field in fields):
        raise RailError(
            "UTL1 totals and counts must be digits", where=f"line {number}", code="bacs_not_numeric"
        )
    return BacsTrailer(
        debit_total=Money.of_minor(int(fields[0]), CURRENCY),
        credit_total=Money.of_minor(int(fields[1]), CURRENCY),
        debit_count=int(fields[2]),
        credit_count=int(fields[3]),
    )


def _check_totals(records: tuple[BacsRecord, ...], trailer: BacsTrailer, number: int) -> None:
    debits = [r for r in records if r.transaction_code in DEBIT_CODES]
    credits = [r for r in records if r.transaction_code in CREDIT_CODES]
    found = (
        sum(r.amount.amount_minor for r in debits),
        sum(r.amount.amount_minor for r in credits),
        len(debits),
        len(credits),
    )
    stated = (
        trailer.debit_total.amount_minor,
        trailer.credit_total.amount_minor,
        trailer.debit_count,
        trailer.credit_count,
    )
    if found != stated:
        raise RailError(
            f"UTL1 says debits {stated[0]} ({stated[2]}), credits {stated[1]} ({stated[3]});"
            f" the records give debits {found[0]} ({found[2]}), credits {found[1]} ({found[3]})",
            where=f"line {number}",
            code="bacs_control_mismatch",
        )
    offset_credits = sum(r.amount.amount_minor for r in credits if not r.is_contra)
    contra_debits = sum(r.amount.amount_minor for r in debits if r.is_contra)
    offset_debits = sum(r.amount.amount_minor for r in debits if not r.is_contra)
    contra_credits = sum(r.amount.amount_minor for r in credits if r.is_contra)
    if offset_credits != contra_debits or offset_debits != contra_credits:
        raise RailError(
            f"contras do not balance: credits {offset_credits} against debit contras"
            f" {contra_debits}, debits {offset_debits} against credit contras {contra_credits}",
            where=f"line {number}",
            code="bacs_unbalanced",
        )
