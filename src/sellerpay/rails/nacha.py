"""ACH in NACHA format: payouts out as PPD/CCD credit entries, return entries back in.

The layout follows the NACHA Operating Rules, Appendix Three: 94-character records (file header
1, batch header 5, entry detail 6, addenda 7, batch control 8, file control 9), padded with
all-9 records to a multiple of 10 (blocking factor 10).

How a payout is found again when its entry comes back: the trace number (ODFI routing, 8
digits, and a 7-digit sequence) is the bank's key, so `write_nacha` returns
`BankFile.batches` as {trace number: (end-to-end id,)}; the entry's Individual Identification
Number (15 characters) carries a shortened end-to-end id (`individual_id_for`) as a second,
human-readable key. `returns_from_nacha` takes that map back to report full end-to-end ids.

Reading is strict by default: lengths, record order, counts, entry hashes and totals are
checked and a `RailError` names the line. `strict=False` is for files from elsewhere (the
moov-io samples among them) whose controls disagree or whose records lost their trailing
blanks: the mismatches are kept in `NachaFile.discrepancies` instead, and only a file whose
structure cannot be read is refused.

    write_nacha          CreditTransfers -> BankFile (one batch per SEC code and effective date)
    parse_nacha          bytes -> NachaFile (header, batches, entries, addenda, controls)
    returns_from_nacha   bytes -> ReturnNotices (entries with addenda 99)
    write_nacha_returns  a simulated RDFI: sends chosen entries of a file back with a reason
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Final, Literal

from sellerpay.money import Money
from sellerpay.rails.charset import restrict_to_charset, transliterate_to_latin
from sellerpay.rails.instructions import (
    AbaAccount,
    BankFile,
    CreditTransfer,
    Originator,
    RailError,
    ReturnNotice,
)
from sellerpay.rails.returns import NachaReturnKind, describe_reason

RECORD_LENGTH: Final = 94
BLOCKING_FACTOR: Final = 10
FILLER_RECORD: Final = "9" * RECORD_LENGTH
ENTRY_AMOUNT_MAX_MINOR: Final = 9_999_999_999  # 10 digits of cents: $99,999,999.99
TOTAL_AMOUNT_MAX_MINOR: Final = 999_999_999_999  # 12 digits in batch and file controls
TRANSFERS_PER_FILE_MAX: Final = 100_000
TRACE_SEQUENCE_MAX: Final = 9_999_999
INDIVIDUAL_ID_LENGTH: Final = 15
INDIVIDUAL_NAME_LENGTH: Final = 22
REMITTANCE_LENGTH_MAX: Final = 80  # one addenda 05, Payment Related Information
ACCOUNT_NUMBER_LENGTH_MAX: Final = 17
ENTRY_HASH_MODULUS: Final = 10**10
COMPANY_ENTRY_DESCRIPTION: Final = "PAYOUT"
CURRENCY: Final = "USD"

SecCode = Literal["PPD", "CCD"]
ServiceClass = Literal["200", "220", "225"]

_ROUTING_WEIGHTS: Final = (3, 7, 1, 3, 7, 1, 3, 7)
_ACCOUNT_NUMBER = re.compile(r"[0-9A-Z-]{1,17}")
_FILE_ID_MODIFIER = re.compile(r"[A-Z0-9]")
_REASON = re.compile(r"[A-Z][0-9]{2}")
_PRINTABLE: Final = frozenset(string.printable) - frozenset("\t\n\r\x0b\x0c")
ACH_CHARACTERS: Final = frozenset(string.ascii_uppercase + string.digits + " .,&'-/()#:;@+")
"""What Sellerpay writes in ACH text fields: safe for every ACH operator and RDFI."""


# -- routing numbers and text ---------------------------------------------------------------


def routing_check_digit(first_eight: str) -> str:
    """The ABA check digit of an 8-digit routing prefix: 3-7-1 weights, modulus 10."""
    total = sum(
        int(digit) * weight for digit, weight in zip(first_eight, _ROUTING_WEIGHTS, strict=True)
    )
    return str((10 - total % 10) % 10)


def is_valid_routing_number(routing_number: str) -> bool:
    """True for 9 ASCII digits whose last is the 3-7-1 check digit of the first eight."""
    if len(routing_number) != 9 or not routing_number.isascii() or not routing_number.isdigit():
        return False
    return routing_check_digit(routing_number[:8]) == routing_number[8]


def ach_text(text: str, *, where: str) -> str:
    """`text` in the characters every ACH operator takes: upper-case letters, digits, space and
    common punctuation. Accents and other scripts are transliterated ("Café Zoë" becomes
    "CAFE ZOE"); a Han ideograph raises `RailError` naming `where` (see `rails.charset`).
    """
    return restrict_to_charset(transliterate_to_latin(text, where=where).upper(), ACH_CHARACTERS)


def individual_id_for(end_to_end_id: str) -> str:
    """The end-to-end id as it fits the 15-character Individual Identification Number.

    Ids of up to 15 characters go in whole; longer ones keep their last 15 characters, which
    for Sellerpay's `po_<uuid7 hex>` ids are random bits. Uniqueness within a file is checked
    by `write_nacha`; the trace number remains the exact key.
    """
    return end_to_end_id[-INDIVIDUAL_ID_LENGTH:]


def _alpha(text: str, length: int) -> str:
    return text[:length].ljust(length)


def _numeric(value: int, length: int) -> str:
    digits = str(value)
    if value < 0 or len(digits) > length:
        raise RailError(f"{value} does not fit a {length}-digit field", code="nacha_overflow")
    return digits.zfill(length)


# -- parsed file --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NachaFileHeader:
    """Record 1: who sends the file to whom, and when."""

    line_number: int
    priority_code: str
    immediate_destination: str
    immediate_origin: str
    created_on: date
    created_time: str  # HHMM, or "" when the optional field is blank
    file_id_modifier: str
    immediate_destination_name: str
    immediate_origin_name: str
    reference_code: str


@dataclass(frozen=True, slots=True)
class NachaBatchHeader:
    """Record 5: the originator, SEC code and effective entry date of a batch."""

    line_number: int
    service_class_code: str
    company_name: str
    company_discretionary_data: str
    company_id: str
    sec_code: str
    company_entry_description: str
    company_descriptive_date: str
    effective_entry_date: date | None  # None when blank or 000000 (returns often are)
    settlement_date: str  # Julian day, inserted by the ACH operator
    originator_status_code: str
    odfi_identification: str
    batch_number: int


@dataclass(frozen=True, slots=True)
class PaymentAddenda:
    """Addenda 05: remittance information travelling with the entry."""

    line_number: int
    payment_related_information: str
    sequence_number: int
    entry_detail_sequence_number: str
    type_code: str = "05"


@dataclass(frozen=True, slots=True)
class ReturnAddenda:
    """Addenda 99: why an entry came back, and which original entry it was.

    For a dishonored (R61-R70) or contested (R71-R77) return, `original_return_code` is the
    reason of the return being dishonored; `date_of_death` only exists on plain returns.
    """

    line_number: int
    reason_code: str
    kind: NachaReturnKind
    original_trace: str
    date_of_death: date | None
    original_rdfi: str
    addenda_information: str
    trace_number: str
    original_return_code: str = ""
    type_code: str = "99"


@dataclass(frozen=True, slots=True)
class ChangeAddenda:
    """Addenda 98: a notification of change (COR): the receiver's details must be corrected."""

    line_number: int
    change_code: str
    original_trace: str
    original_rdfi: str
    corrected_data: str
    trace_number: str
    type_code: str = "98"


@dataclass(frozen=True, slots=True)
class OtherAddenda:
    """Any other addenda (02 POS, 10-18 IAT…): kept verbatim, positions 4-94."""

    line_number: int
    type_code: str
    content: str


NachaAddenda = PaymentAddenda | ReturnAddenda | ChangeAddenda | OtherAddenda


@dataclass(frozen=True, slots=True)
class NachaEntry:
    """Record 6 and its addenda. For IAT entries the account is the foreign receiver's
    account number (positions 40-74) and the name travels in addenda 10."""

    line_number: int
    transaction_code: str
    receiving_dfi: str
    check_digit: str
    dfi_account_number: str
    amount: Money
    individual_id: str
    individual_name: str
    discretionary_data: str
    addenda_indicator: bool
    trace_number: str
    addenda: tuple[NachaAddenda, ...] = ()

    @property
    def routing_number(self) -> str:
        return self.receiving_dfi + self.check_digit

    @property
    def is_credit(self) -> bool:
        """Transaction codes ending 1-4 are credits (21 returns a credit), 5-9 debits."""
        return self.transaction_code[1] in "1234"

    @property
    def return_addenda(self) -> tuple[ReturnAddenda, ...]:
        return tuple(a for a in self.addenda if isinstance(a, ReturnAddenda))

    @property
    def change_addenda(self) -> tuple[ChangeAddenda, ...]:
        return tuple(a for a in self.addenda if isinstance(a, ChangeAddenda))


@dataclass(frozen=True, slots=True)
class NachaBatchControl:
    """Record 8: what the batch says it holds."""

    line_number: int
    service_class_code: str
    entry_addenda_count: int
    entry_hash: int
    total_debit: Money
    total_credit: Money
    company_id: str
    message_authentication_code: str
    odfi_identification: str
    batch_number: int


@dataclass(frozen=True, slots=True)
class NachaBatch:
    header: NachaBatchHeader
    entries: tuple[NachaEntry, ...]
    control: NachaBatchControl


@dataclass(frozen=True, slots=True)
class NachaFileControl:
    """Record 9: what the whole file says it holds."""

    line_number: int
    batch_count: int
    block_count: int
    entry_addenda_count: int
    entry_hash: int
    total_debit: Money
    total_credit: Money


@dataclass(frozen=True, slots=True)
class NachaDiscrepancy:
    """A control or format rule a file breaks, found by `parse_nacha(strict=False)`."""

    line_number: int
    rule: str
    stated: str
    found: str


@dataclass(frozen=True, slots=True)
class NachaFile:
    """A parsed NACHA file; `discrepancies` is empty for every file that passes strict reading."""

    header: NachaFileHeader
    batches: tuple[NachaBatch, ...]
    control: NachaFileControl
    record_count: int  # records before the 9-filled padding
    filler_count: int
    discrepancies: tuple[NachaDiscrepancy, ...] = ()

    @property
    def entries(self) -> tuple[NachaEntry, ...]:
        return tuple(entry for batch in self.batches for entry in batch.entries)


# -- writing credits ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _OutEntry:
    """An entry ready to render; addenda records are already 94 characters."""

    transaction_code: str
    routing_number: str
    account_number: str
    amount_minor: int
    individual_id: str
    name: str
    trace_number: str
    addenda: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _OutBatch:
    service_class_code: str
    company_name: str
    company_id: str
    sec_code: str
    description: str
    effective_date: date | None
    odfi_identification: str
    batch_number: int
    entries: tuple[_OutEntry, ...]


@dataclass(frozen=True, slots=True)
class _AchOriginator:
    immediate_destination: str  # 10 characters as written
    immediate_origin: str
    destination_name: str
    origin_name: str
    company_name: str
    company_id: str
    odfi_identification: str


@dataclass(frozen=True, slots=True)
class _Payout:
    """A transfer checked against NACHA's rules, before batching."""

    transfer: CreditTransfer
    sec_code: SecCode
    effective_date: date
    account: AbaAccount
    account_number: str
    name: str
    individual_id: str
    remittance: str


def write_nacha(
    transfers: Sequence[CreditTransfer],
    originator: Originator,
    *,
    file_id_modifier: str,
    created_at: datetime,
    effective_date: date,
    first_trace_sequence: int = 1,
) -> BankFile:
    """A NACHA credit file paying `transfers`, one batch per SEC code and effective date.

    `effective_date` is the earliest effective entry date the ODFI can honour; a transfer due
    later keeps its own execution date (and so lands in a batch of its own). Individuals get
    PPD entries, companies CCD; checking accounts transaction code 22, savings 32. A non-empty
    `remittance` travels in one addenda 05. Trace numbers count up from `first_trace_sequence`:
    callers sending several files a day continue the count so traces stay unique per day.
    Raises `RailError` naming the end-to-end id of the first transfer NACHA cannot carry.
    """
    ach = _ach_originator(originator)
    _check_file_id_modifier(file_id_modifier)
    payouts = _payouts(transfers, effective_date)
    last_sequence = first_trace_sequence + len(payouts) - 1
    if first_trace_sequence < 1 or last_sequence > TRACE_SEQUENCE_MAX:
        raise RailError(
            f"trace sequences {first_trace_sequence}..{last_sequence} are outside"
            f" 1..{TRACE_SEQUENCE_MAX}",
            where="first_trace_sequence",
            code="nacha_trace_sequence_exhausted",
        )
    batches = _credit_batches(payouts, ach, first_trace_sequence)
    header = _file_header_line(ach, created_at, file_id_modifier)
    content = _render_file(header, batches)
    _check_written(content, batches)
    traces = {
        e.trace_number: p.transfer.end_to_end_id for e, p in _entries_with_payouts(batches, payouts)
    }
    stamp = created_at.strftime("%y%m%d%H%M")
    return BankFile(
        rail="ach",
        filename=f"ach-{stamp}-{file_id_modifier}.ach",
        content=content,
        message_id=f"{ach.immediate_origin.strip()}-{stamp}-{file_id_modifier}",
        transfer_count=len(payouts),
        control_sums={CURRENCY: sum(p.transfer.amount.amount_minor for p in payouts)},
        end_to_end_ids=tuple(p.transfer.end_to_end_id for p in payouts),
        batches={trace: (e2e,) for trace, e2e in traces.items()},
        created_at=created_at,
    )


def _ach_originator(originator: Originator) -> _AchOriginator:
    """The originator's ACH identifiers, each checked, or a `RailError` naming the field."""
    destination = originator.ach_immediate_destination.strip()
    if not is_valid_routing_number(destination):
        raise RailError(
            "the immediate destination must be the ODFI's 9-digit routing number",
            where="originator.ach_immediate_destination",
            code="nacha_invalid_originator",
        )
    origin = originator.ach_immediate_origin.strip()
    if not (origin.isascii() and origin.isalnum() and len(origin) in (9, 10)):
        raise RailError(
            "the immediate origin must be 9 or 10 letters or digits",
            where="originator.ach_immediate_origin",
            code="nacha_invalid_originator",
        )
    company_id = ach_text(originator.ach_company_id, where="originator.ach_company_id")
    if not company_id or len(company_id) > 10:
        raise RailError(
            "the company identification must be 1 to 10 characters",
            where="originator.ach_company_id",
            code="nacha_invalid_originator",
        )
    account = originator.account
    if not isinstance(account, AbaAccount) or not is_valid_routing_number(account.routing_number):
        raise RailError(
            "the originator's account must be a US account with a valid routing number",
            where="originator.account",
            code="nacha_invalid_originator",
        )
    name = ach_text(originator.name, where="originator.name")
    if not name:
        raise RailError("the originator needs a name", where="originator.name")
    return _AchOriginator(
        immediate_destination=f" {destination}",
        immediate_origin=origin.rjust(10),
        destination_name=ach_text(
            originator.ach_destination_name, where="originator.ach_destination_name"
        ),
        origin_name=name,
        company_name=name,
        company_id=company_id,
        odfi_identification=account.routing_number[:8],
    )


def _check_file_id_modifier(file_id_modifier: str) -> None:
    if not _FILE_ID_MODIFIER.fullmatch(file_id_modifier):
        raise RailError(
            "the file id modifier is one upper-case letter or digit",
            where="file_id_modifier",
            code="nacha_invalid_file_id_modifier",
        )


def _payouts(transfers: Sequence[CreditTransfer], effective_date: date) -> list[_Payout]:
    if not transfers:
        raise RailError("a NACHA file needs at least one transfer", code="nacha_empty")
    if len(transfers) > TRANSFERS_PER_FILE_MAX:
        raise RailError(
            f"{len(transfers)} transfers exceed transfers_per_file_max {TRANSFERS_PER_FILE_MAX}",
            code="nacha_too_many_transfers",
        )
    payouts = [_payout(transfer, effective_date) for transfer in transfers]
    _check_unique(payouts)
    total = sum(p.transfer.amount.amount_minor for p in payouts)
    if total > TOTAL_AMOUNT_MAX_MINOR:
        raise RailError(
            f"the file total {total} cents exceeds the 12-digit control field",
            code="nacha_amount_too_large",
        )
    return payouts


def _payout(transfer: CreditTransfer, effective_date: date) -> _Payout:
    """`transfer` checked against what a NACHA credit entry can carry."""
    e2e = transfer.end_to_end_id
    where = f"transfer {e2e}"

    def refuse(message: str, code: str) -> RailError:
        return RailError(f"{message} (end-to-end id {e2e})", where=where, code=code)

    if not e2e or len(e2e) > 35 or not all(char in _PRINTABLE for char in e2e):
        raise refuse("the end-to-end id must be 1 to 35 printable ASCII characters", "nacha_e2e")
    if transfer.amount.currency != CURRENCY:
        raise refuse(f"ACH pays USD only, not {transfer.amount.currency}", "nacha_currency")
    amount = transfer.amount.amount_minor
    if not 0 < amount <= ENTRY_AMOUNT_MAX_MINOR:
        raise refuse(
            f"amount {amount} cents is outside 1..{ENTRY_AMOUNT_MAX_MINOR}", "nacha_amount"
        )
    account = transfer.creditor_account
    if not isinstance(account, AbaAccount):
        raise refuse("ACH pays US accounts (routing and account number) only", "nacha_account")
    if not is_valid_routing_number(account.routing_number):
        raise refuse(
            f"routing number {account.routing_number!r} fails its check digit", "nacha_routing"
        )
    account_number = account.account_number.strip().upper()
    if not _ACCOUNT_NUMBER.fullmatch(account_number):
        raise refuse(
            "the account number must be 1 to 17 letters, digits or hyphens", "nacha_account"
        )
    name = ach_text(transfer.creditor_name, where=where)
    if not name:
        raise refuse("the creditor name is empty once transliterated", "nacha_name")
    remittance = ach_text(transfer.remittance, where=where)
    if len(remittance) > REMITTANCE_LENGTH_MAX:
        raise refuse(
            f"remittance is longer than {REMITTANCE_LENGTH_MAX} characters", "nacha_remittance"
        )
    return _Payout(
        transfer=transfer,
        sec_code="PPD" if transfer.creditor_kind == "individual" else "CCD",
        effective_date=max(effective_date, transfer.execution_date),
        account=account,
        account_number=account_number,
        name=name[:INDIVIDUAL_NAME_LENGTH].rstrip(),
        individual_id=individual_id_for(e2e),
        remittance=remittance,
    )


def _check_unique(payouts: list[_Payout]) -> None:
    seen: dict[str, str] = {}
    for payout in payouts:
        e2e = payout.transfer.end_to_end_id
        for key in (e2e, f"id:{payout.individual_id}"):
            if key in seen:
                raise RailError(
                    f"end-to-end id {e2e} collides with {seen[key]} in the file"
                    " (same id, or same last 15 characters)",
                    where=f"transfer {e2e}",
                    code="nacha_duplicate_end_to_end_id",
                )
            seen[key] = e2e


def _credit_batches(
    payouts: list[_Payout], ach: _AchOriginator, first_trace_sequence: int
) -> list[_OutBatch]:
    """Payouts grouped by (effective date, SEC code), traces numbered in file order."""
    groups: dict[tuple[date, SecCode], list[_Payout]] = {}
    for payout in payouts:
        groups.setdefault((payout.effective_date, payout.sec_code), []).append(payout)
    batches: list[_OutBatch] = []
    sequence = first_trace_sequence
    for number, key in enumerate(sorted(groups), start=1):
        entries: list[_OutEntry] = []
        for payout in groups[key]:
            trace = f"{ach.odfi_identification}{sequence:07d}"
            entries.append(_credit_entry(payout, trace))
            sequence += 1
        batches.append(
            _OutBatch(
                service_class_code="220",
                company_name=ach.company_name,
                company_id=ach.company_id,
                sec_code=key[1],
                description=COMPANY_ENTRY_DESCRIPTION,
                effective_date=key[0],
                odfi_identification=ach.odfi_identification,
                batch_number=number,
                entries=tuple(entries),
            )
        )
    return batches


def _credit_entry(payout: _Payout, trace: str) -> _OutEntry:
    addenda: tuple[str, ...] = ()
    if payout.remittance:
        addenda = ("705" + _alpha(payout.remittance, 80) + "0001" + trace[-7:],)
    return _OutEntry(
        transaction_code="22" if payout.account.account_type == "checking" else "32",
        routing_number=payout.account.routing_number,
        account_number=payout.account_number,
        amount_minor=payout.transfer.amount.amount_minor,
        individual_id=payout.individual_id,
        name=payout.name,
        trace_number=trace,
        addenda=addenda,
    )


def _entries_with_payouts(
    batches: list[_OutBatch], payouts: list[_Payout]
) -> Iterator[tuple[_OutEntry, _Payout]]:
    by_individual_id = {p.individual_id: p for p in payouts}
    for batch in batches:
        for entry in batch.entries:
            yield entry, by_individual_id[entry.individual_id]


# -- rendering ----------------------------------------------------------------------------


def _file_header_line(ach: _AchOriginator, created_at: datetime, modifier: str) -> str:
    return (
        "101"
        + ach.immediate_destination
        + ach.immediate_origin
        + created_at.strftime("%y%m%d%H%M")
        + modifier
        + "094101"
        + _alpha(ach.destination_name, 23)
        + _alpha(ach.origin_name, 23)
        + " " * 8
    )


def _render_file(header: str, batches: Sequence[_OutBatch]) -> bytes:
    """The whole file: header, batches with their controls, file control, 9-filled padding."""
    lines = [header]
    entry_addenda_count = entry_hash = total_debit = total_credit = 0
    for batch in batches:
        rendered, counts = _render_batch(batch)
        lines.extend(rendered)
        entry_addenda_count += counts[0]
        entry_hash += counts[1]
        total_debit += counts[2]
        total_credit += counts[3]
    block_count = -(-(len(lines) + 1) // BLOCKING_FACTOR)
    lines.append(
        "9"
        + _numeric(len(batches), 6)
        + _numeric(block_count, 6)
        + _numeric(entry_addenda_count, 8)
        + _numeric(entry_hash % ENTRY_HASH_MODULUS, 10)
        + _numeric(total_debit, 12)
        + _numeric(total_credit, 12)
        + " " * 39
    )
    lines.extend([FILLER_RECORD] * (block_count * BLOCKING_FACTOR - len(lines)))
    return ("\n".join(lines) + "\n").encode("ascii")


def _render_batch(batch: _OutBatch) -> tuple[list[str], tuple[int, int, int, int]]:
    """A batch's records and its (entry/addenda count, hash, debit total, credit total)."""
    effective = batch.effective_date.strftime("%y%m%d") if batch.effective_date else "000000"
    lines = [
        "5"
        + batch.service_class_code
        + _alpha(batch.company_name, 16)
        + " " * 20
        + _alpha(batch.company_id, 10)
        + batch.sec_code
        + _alpha(batch.description, 10)
        + " " * 6
        + effective
        + "   1"
        + batch.odfi_identification
        + _numeric(batch.batch_number, 7)
    ]
    entry_hash = total_debit = total_credit = 0
    for entry in batch.entries:
        lines.append(_render_entry(entry))
        lines.extend(entry.addenda)
        entry_hash += int(entry.routing_number[:8])
        if entry.transaction_code[1] in "1234":
            total_credit += entry.amount_minor
        else:
            total_debit += entry.amount_minor
    count = len(lines) - 1
    lines.append(
        "8"
        + batch.service_class_code
        + _numeric(count, 6)
        + _numeric(entry_hash % ENTRY_HASH_MODULUS, 10)
        + _numeric(total_debit, 12)
        + _numeric(total_credit, 12)
        + _alpha(batch.company_id, 10)
        + " " * 25
        + batch.odfi_identification
        + _numeric(batch.batch_number, 7)
    )
    return lines, (count, entry_hash, total_debit, total_credit)


def _render_entry(entry: _OutEntry) -> str:
    return (
        "6"
        + entry.transaction_code
        + entry.routing_number
        + _alpha(entry.account_number, ACCOUNT_NUMBER_LENGTH_MAX)
        + _numeric(entry.amount_minor, 10)
        + _alpha(entry.individual_id, INDIVIDUAL_ID_LENGTH)
        + _alpha(entry.name, INDIVIDUAL_NAME_LENGTH)
        + "  "
        + ("1" if entry.addenda else "0")
        + entry.trace_number
    )


def _check_written(content: bytes, batches: Sequence[_OutBatch]) -> None:
    """Read our own file back strictly: a file we cannot read must never reach a bank."""
    parsed = parse_nacha(content)
    expected = sum(len(batch.entries) for batch in batches)
    if len(parsed.entries) != expected:
        raise RailError(
            f"the written file reads back with {len(parsed.entries)} entries, not {expected}",
            code="nacha_invariant",
        )


# -- reading ------------------------------------------------------------------------------


def parse_nacha(data: bytes, *, strict: bool = True) -> NachaFile:
    """The NACHA file in `data`, checked; `RailError` names the first line at fault.

    Records may be separated by LF or CRLF, or not at all (94-byte blocks). With
    `strict=False`, control totals, counts, hashes, check digits, blocking and records cut
    short of their trailing blanks become `discrepancies` instead of errors.
    """
    return _NachaReader(_records(data, strict), strict).read()


def _records(data: bytes, strict: bool) -> list[tuple[int, str]]:
    """(line number, record) pairs: split, decoded as ASCII, lengths checked."""
    if b"\n" in data:
        raw = data.split(b"\n")
        if raw and raw[-1] == b"":
            raw.pop()
        raw = [line.removesuffix(b"\r") for line in raw]
    elif len(data) % RECORD_LENGTH == 0:
        raw = [data[i : i + RECORD_LENGTH] for i in range(0, len(data), RECORD_LENGTH)]
    else:
        raise RailError(
            f"no line breaks and {len(data)} bytes is not a multiple of {RECORD_LENGTH}",
            where="line 1",
            code="nacha_record_length",
        )
    if not raw:
        raise RailError("the file is empty", where="line 1", code="nacha_empty")
    records: list[tuple[int, str]] = []
    for number, line in enumerate(raw, start=1):
        try:
            text = line.decode("ascii")
        except UnicodeDecodeError as error:
            raise RailError(
                f"byte {line[error.start]:#04x} is not ASCII",
                where=f"line {number}",
                code="nacha_charset",
            ) from error
        too_short_but_tolerated = not strict and 0 < len(text) < RECORD_LENGTH
        if len(text) != RECORD_LENGTH and not too_short_but_tolerated:
            raise RailError(
                f"the record is {len(text)} characters, not {RECORD_LENGTH}",
                where=f"line {number}",
                code="nacha_record_length",
            )
        records.append((number, text))
    return records


def _field(record: str, start: int, end: int) -> str:
    """Positions `start` to `end` (1-based, inclusive), as the NACHA layouts number them."""
    return record[start - 1 : end]


def _digits(record: str, start: int, end: int, number: int, name: str) -> int:
    text = _field(record, start, end)
    if not (text.isascii() and text.isdigit()):
        raise RailError(
            f"{name} must be digits, not {text!r}",
            where=f"line {number}, positions {start}-{end}",
            code="nacha_not_numeric",
        )
    return int(text)


def _yymmdd(text: str, number: int, name: str) -> date | None:
    """A YYMMDD date (20YY), or None for a blank or all-zero optional date."""
    if text.strip() in ("", "000000"):
        return None
    try:
        return datetime.strptime(text, "%y%m%d").date()
    except ValueError as error:
        raise RailError(
            f"{name} {text!r} is not a YYMMDD date", where=f"line {number}", code="nacha_date"
        ) from error


def _usd(minor: int) -> Money:
    return Money.of_minor(minor, CURRENCY)


@dataclass
class _NachaReader:
    """Walks the records once, in the order NACHA prescribes, collecting discrepancies."""

    records: list[tuple[int, str]]
    strict: bool
    position: int = 0
    discrepancies: list[NachaDiscrepancy] = field(default_factory=list)

    def mismatch(self, number: int, rule: str, stated: object, found: object) -> None:
        if self.strict:
            raise RailError(
                f"{rule}: the file says {stated}, the records give {found}",
                where=f"line {number}",
                code="nacha_control_mismatch",
            )
        self.discrepancies.append(NachaDiscrepancy(number, rule, str(stated), str(found)))

    def peek(self) -> tuple[int, str] | None:
        return self.records[self.position] if self.position < len(self.records) else None

    def take(self, expected: str) -> tuple[int, str]:
        current = self.peek()
        if current is None:
            last = self.records[-1][0]
            raise RailError(
                f"the file ends where a record {expected} is expected",
                where=f"line {last}",
                code="nacha_record_order",
            )
        number, record = current
        if record[0] not in expected:
            raise RailError(
                f"record type {record[0]!r} where {' or '.join(expected)} is expected",
                where=f"line {number}",
                code="nacha_record_order",
            )
        self.position += 1
        if len(record) < RECORD_LENGTH:
            self.mismatch(number, "record length", RECORD_LENGTH, len(record))
            record = record.ljust(RECORD_LENGTH)
        return number, record

    def read(self) -> NachaFile:
        header = self.file_header()
        batches: list[NachaBatch] = []
        while (current := self.peek()) is not None and current[1][0] == "5":
            batches.append(self.batch())
        control = self.file_control()
        fillers = self.fillers()
        record_count = self.position - fillers
        self.check_file(control, batches, record_count + fillers)
        return NachaFile(
            header, tuple(batches), control, record_count, fillers, tuple(self.discrepancies)
        )

    def file_header(self) -> NachaFileHeader:
        number, record = self.take("1")
        created_on = _yymmdd(_field(record, 24, 29), number, "file creation date")
        if created_on is None:
            raise RailError(
                "the file creation date is missing", where=f"line {number}", code="nacha_date"
            )
        if _field(record, 35, 40) != "094101":
            self.mismatch(
                number,
                "record size, blocking factor, format code",
                "094101",
                _field(record, 35, 40),
            )
        return NachaFileHeader(
            line_number=number,
            priority_code=_field(record, 2, 3),
            immediate_destination=_field(record, 4, 13).strip(),
            immediate_origin=_field(record, 14, 23).strip(),
            created_on=created_on,
            created_time=_field(record, 30, 33).strip(),
            file_id_modifier=_field(record, 34, 34),
            immediate_destination_name=_field(record, 41, 63).strip(),
            immediate_origin_name=_field(record, 64, 86).strip(),
            reference_code=_field(record, 87, 94).strip(),
        )

    def batch(self) -> NachaBatch:
        header = self.batch_header()
        entries: list[NachaEntry] = []
        while (current := self.peek()) is not None and current[1][0] == "6":
            entries.append(self.entry(iat=header.sec_code == "IAT"))
        if not entries:
            number = current[0] if current is not None else header.line_number
            raise RailError(
                "a batch needs at least one entry",
                where=f"line {number}",
                code="nacha_record_order",
            )
        control = self.batch_control()
        self.check_batch(header, entries, control)
        return NachaBatch(header, tuple(entries), control)

    def batch_header(self) -> NachaBatchHeader:
        number, record = self.take("5")
        return NachaBatchHeader(
            line_number=number,
            service_class_code=_field(record, 2, 4),
            company_name=_field(record, 5, 20).strip(),
            company_discretionary_data=_field(record, 21, 40).strip(),
            company_id=_field(record, 41, 50).strip(),
            sec_code=_field(record, 51, 53),
            company_entry_description=_field(record, 54, 63).strip(),
            company_descriptive_date=_field(record, 64, 69).strip(),
            effective_entry_date=self.effective_date(_field(record, 70, 75), number),
            settlement_date=_field(record, 76, 78).strip(),
            originator_status_code=_field(record, 79, 79),
            odfi_identification=_field(record, 80, 87),
            batch_number=_digits(record, 88, 94, number, "batch number"),
        )

    def effective_date(self, text: str, number: int) -> date | None:
        """The effective entry date; a malformed one is only a discrepancy when not strict."""
        try:
            return _yymmdd(text, number, "effective entry date")
        except RailError:
            if self.strict:
                raise
            self.mismatch(number, "effective entry date (YYMMDD)", repr(text), "no date")
            return None

    def entry(self, *, iat: bool) -> NachaEntry:
        number, record = self.take("6")
        code = _field(record, 2, 3)
        if not (code.isdigit() and code[1] != "0" and code[1] != "5"):
            raise RailError(
                f"transaction code {code!r} is not a credit or debit code", where=f"line {number}"
            )
        routing = _field(record, 4, 12)
        if not (routing.isdigit() and is_valid_routing_number(routing)):
            self.mismatch(
                number,
                "routing check digit",
                routing[8:],
                routing_check_digit(routing[:8]) if routing[:8].isdigit() else "digits",
            )
        indicator = _field(record, 79, 79)
        if indicator not in ("0", "1"):
            raise RailError(
                f"addenda record indicator {indicator!r} is not 0 or 1", where=f"line {number}"
            )
        addenda = self.addenda()
        if bool(addenda) != (indicator == "1"):
            self.mismatch(number, "addenda record indicator", indicator, len(addenda))
        return NachaEntry(
            line_number=number,
            transaction_code=code,
            receiving_dfi=routing[:8],
            check_digit=routing[8],
            dfi_account_number=(_field(record, 40, 74) if iat else _field(record, 13, 29)).strip(),
            amount=_usd(_digits(record, 30, 39, number, "amount")),
            individual_id="" if iat else _field(record, 40, 54).strip(),
            individual_name="" if iat else _field(record, 55, 76).strip(),
            discretionary_data="" if iat else _field(record, 77, 78).strip(),
            addenda_indicator=indicator == "1",
            trace_number=_field(record, 80, 94),
            addenda=addenda,
        )

    def addenda(self) -> tuple[NachaAddenda, ...]:
        found: list[NachaAddenda] = []
        while (current := self.peek()) is not None and current[1][0] == "7":
            number, record = self.take("7")
            found.append(_addenda(record, number))
        return tuple(found)

    def batch_control(self) -> NachaBatchControl:
        number, record = self.take("8")
        return NachaBatchControl(
            line_number=number,
            service_class_code=_field(record, 2, 4),
            entry_addenda_count=_digits(record, 5, 10, number, "entry/addenda count"),
            entry_hash=_digits(record, 11, 20, number, "entry hash"),
            total_debit=_usd(_digits(record, 21, 32, number, "total debit")),
            total_credit=_usd(_digits(record, 33, 44, number, "total credit")),
            company_id=_field(record, 45, 54).strip(),
            message_authentication_code=_field(record, 55, 73).strip(),
            odfi_identification=_field(record, 80, 87),
            batch_number=_digits(record, 88, 94, number, "batch number"),
        )

    def file_control(self) -> NachaFileControl:
        number, record = self.take("9")
        if record == FILLER_RECORD:
            raise RailError(
                "padding where the file control is expected",
                where=f"line {number}",
                code="nacha_record_order",
            )
        return NachaFileControl(
            line_number=number,
            batch_count=_digits(record, 2, 7, number, "batch count"),
            block_count=_digits(record, 8, 13, number, "block count"),
            entry_addenda_count=_digits(record, 14, 21, number, "entry/addenda count"),
            entry_hash=_digits(record, 22, 31, number, "entry hash"),
            total_debit=_usd(_digits(record, 32, 43, number, "total debit")),
            total_credit=_usd(_digits(record, 44, 55, number, "total credit")),
        )

    def fillers(self) -> int:
        count = 0
        while (current := self.peek()) is not None:
            number, record = current
            if record != FILLER_RECORD:
                raise RailError(
                    "only 9-filled padding may follow the file control",
                    where=f"line {number}",
                    code="nacha_record_order",
                )
            self.position += 1
            count += 1
        return count

    def check_batch(
        self, header: NachaBatchHeader, entries: list[NachaEntry], control: NachaBatchControl
    ) -> None:
        """The batch control against the batch's own records, and against its header."""
        count, entry_hash, debit, credit = _tally(entries)
        checks = (
            ("batch entry/addenda count", control.entry_addenda_count, count),
            ("batch entry hash", control.entry_hash, entry_hash),
            ("batch total debit", control.total_debit.amount_minor, debit),
            ("batch total credit", control.total_credit.amount_minor, credit),
            ("batch service class code", control.service_class_code, header.service_class_code),
            ("batch company identification", control.company_id, header.company_id),
            ("batch ODFI identification", control.odfi_identification, header.odfi_identification),
            ("batch number", control.batch_number, header.batch_number),
        )
        for rule, stated, found in checks:
            if stated != found:
                self.mismatch(control.line_number, rule, stated, found)
        service_class = header.service_class_code
        if (service_class == "220" and debit) or (service_class == "225" and credit):
            self.mismatch(header.line_number, "service class code", service_class, "200")

    def check_file(
        self, control: NachaFileControl, batches: list[NachaBatch], total_records: int
    ) -> None:
        """The file control against the records themselves (not the batch controls, so that a
        wrong batch control is reported once, where it is)."""
        count, entry_hash, debit, credit = _tally([e for b in batches for e in b.entries])
        checks = (
            ("file batch count", control.batch_count, len(batches)),
            ("file block count", control.block_count, -(-total_records // BLOCKING_FACTOR)),
            ("file entry/addenda count", control.entry_addenda_count, count),
            ("file entry hash", control.entry_hash, entry_hash),
            ("file total debit", control.total_debit.amount_minor, debit),
            ("file total credit", control.total_credit.amount_minor, credit),
        )
        for rule, stated, found in checks:
            if stated != found:
                self.mismatch(control.line_number, rule, stated, found)
        if total_records % BLOCKING_FACTOR:
            padded = total_records + (-total_records % BLOCKING_FACTOR)
            self.mismatch(
                self.records[-1][0], "records padded to a multiple of 10", padded, total_records
            )


def _tally(entries: Sequence[NachaEntry]) -> tuple[int, int, int, int]:
    """(entry/addenda count, entry hash, total debit, total credit) of `entries`, as the
    controls must state them: the hash sums the 8-digit receiving DFI ids, last 10 digits."""
    count = sum(1 + len(entry.addenda) for entry in entries)
    entry_hash = sum(int(e.receiving_dfi) for e in entries if e.receiving_dfi.isdigit())
    debit = sum(e.amount.amount_minor for e in entries if not e.is_credit)
    credit = sum(e.amount.amount_minor for e in entries if e.is_credit)
    return count, entry_hash % ENTRY_HASH_MODULUS, debit, credit


def _addenda(record: str, number: int) -> NachaAddenda:
    type_code = _field(record, 2, 3)
    if type_code == "05":
        return PaymentAddenda(
            line_number=number,
            payment_related_information=_field(record, 4, 83).rstrip(),
            sequence_number=_digits(record, 84, 87, number, "addenda sequence number"),
            entry_detail_sequence_number=_field(record, 88, 94),
        )
    if type_code == "98":
        return ChangeAddenda(
            line_number=number,
            change_code=_field(record, 4, 6),
            original_trace=_field(record, 7, 21),
            original_rdfi=_field(record, 28, 35),
            corrected_data=_field(record, 36, 64).strip(),
            trace_number=_field(record, 80, 94),
        )
    if type_code == "99":
        return _return_addenda(record, number)
    return OtherAddenda(line_number=number, type_code=type_code, content=_field(record, 4, 94))


def _return_addenda(record: str, number: int) -> ReturnAddenda:
    """Addenda 99 in its three layouts: return, dishonored return, contested dishonored return."""
    code = _field(record, 4, 6)
    kind = describe_reason(code).nacha_kind or "return"
    date_of_death = None
    original_return_code = ""
    if kind == "return":
        date_of_death = _yymmdd(_field(record, 22, 27), number, "date of death")
        information = _field(record, 36, 79)
    else:
        original_return_code = "R" + _field(record, 57, 58)
        information = _field(record, 59, 79) if kind == "dishonored_return" else ""
    return ReturnAddenda(
        line_number=number,
        reason_code=code,
        kind=kind,
        original_trace=_field(record, 7, 21),
        date_of_death=date_of_death,
        original_rdfi=_field(record, 28, 35),
        addenda_information=information.strip(),
        trace_number=_field(record, 80, 94),
        original_return_code=original_return_code,
    )


# -- returns --------------------------------------------------------------------------------


def returns_from_nacha(
    data: bytes,
    *,
    trace_map: Mapping[str, tuple[str, ...]] | None = None,
    strict: bool = True,
) -> list[ReturnNotice]:
    """A `ReturnNotice` for every entry of `data` that carries addenda 99, in file order.

    The notice's `original_trace` is the trace number of the entry we sent; with `trace_map`
    (the `BankFile.batches` of the files we sent) the end-to-end id is the full one, otherwise
    it is what the entry's Individual Identification Number holds (`individual_id_for`).
    When an entry carries a chain (a return, its dishonor, the contest), `reason_code` is the
    latest word and `reason_text` tells the whole chain; `describe_reason(code).nacha_kind`
    says whether the return still stands. `booked_on` is the batch's effective entry date,
    or the file's creation date when a return batch leaves it blank (as most do).
    Entries without addenda 99 (notifications of change, forward entries) are not returns.
    """
    nacha = parse_nacha(data, strict=strict)
    notices: list[ReturnNotice] = []
    for batch in nacha.batches:
        booked_on = batch.header.effective_entry_date or nacha.header.created_on
        for entry in batch.entries:
            chain = entry.return_addenda
            if not chain:
                continue
            original_trace = chain[0].original_trace
            known = (trace_map or {}).get(original_trace)
            notices.append(
                ReturnNotice(
                    end_to_end_id=known[0] if known else entry.individual_id,
                    amount=entry.amount,
                    reason_code=chain[-1].reason_code,
                    booked_on=booked_on,
                    bank_reference=entry.trace_number,
                    original_trace=original_trace,
                    reason_text=" > ".join(_reason_text(addenda) for addenda in chain),
                )
            )
    return notices


def _reason_text(addenda: ReturnAddenda) -> str:
    text = f"{addenda.reason_code} {describe_reason(addenda.reason_code).name}"
    if addenda.original_return_code:
        text += f" (of return {addenda.original_return_code})"
    if addenda.date_of_death:
        text += f", date of death {addenda.date_of_death.isoformat()}"
    if addenda.addenda_information:
        text += f": {addenda.addenda_information}"
    return text


@dataclass(frozen=True, slots=True)
class EntryReturn:
    """One entry a (simulated) receiving bank sends back, by its original trace number."""

    original_trace: str
    reason_code: str
    date_of_death: date | None = None
    addenda_information: str = ""


def write_nacha_returns(
    original: bytes,
    returns: Sequence[EntryReturn],
    *,
    file_id_modifier: str,
    created_at: datetime,
    effective_date: date,
) -> bytes:
    """A return file, as a receiving bank would send it, for chosen entries of `original`.

    The simulated bank's side of `returns_from_nacha`: each returned entry keeps its amount,
    account, individual id and name, takes the return transaction code (22 -> 21, 32 -> 31,
    27 -> 26…), goes to the original ODFI, and carries one addenda 99 with the reason, the
    original trace number and the original RDFI. Entries are batched per original batch and
    returning bank. Raises `RailError` for a trace that is not in `original`, a trace returned
    twice, or a reason code that is not a letter and two digits.
    """
    _check_file_id_modifier(file_id_modifier)
    sent = parse_nacha(original)
    by_trace = {
        entry.trace_number: (batch, entry) for batch in sent.batches for entry in batch.entries
    }
    groups: dict[tuple[int, str], list[tuple[NachaEntry, EntryReturn]]] = {}
    seen: set[str] = set()
    for returned in returns:
        where = f"return of trace {returned.original_trace}"
        if returned.original_trace not in by_trace:
            raise RailError(
                "no entry of the original file has this trace number",
                where=where,
                code="nacha_unknown_trace",
            )
        if returned.original_trace in seen:
            raise RailError(
                "the entry is returned twice", where=where, code="nacha_duplicate_return"
            )
        if not _REASON.fullmatch(returned.reason_code):
            raise RailError(
                f"reason code {returned.reason_code!r} is not like R03",
                where=where,
                code="nacha_reason",
            )
        seen.add(returned.original_trace)
        batch, entry = by_trace[returned.original_trace]
        groups.setdefault((batch.header.batch_number, entry.receiving_dfi), []).append(
            (entry, returned)
        )
    if not groups:
        raise RailError("a return file needs at least one returned entry", code="nacha_empty")
    batches = _return_batches(sent, groups, effective_date)
    header = sent.header
    ach = _AchOriginator(
        immediate_destination=header.immediate_origin.rjust(10),
        immediate_origin=header.immediate_destination.rjust(10),
        destination_name=header.immediate_origin_name,
        origin_name=header.immediate_destination_name,
        company_name="",
        company_id="",
        odfi_identification="",
    )
    content = _render_file(_file_header_line(ach, created_at, file_id_modifier), batches)
    _check_written(content, batches)
    return content


def _return_batches(
    sent: NachaFile,
    groups: dict[tuple[int, str], list[tuple[NachaEntry, EntryReturn]]],
    effective_date: date,
) -> list[_OutBatch]:
    headers = {batch.header.batch_number: batch.header for batch in sent.batches}
    batches: list[_OutBatch] = []
    sequence = 1
    for number, ((batch_number, rdfi), returned) in enumerate(groups.items(), start=1):
        header = headers[batch_number]
        entries: list[_OutEntry] = []
        for entry, why in returned:
            trace = f"{rdfi}{sequence:07d}"
            sequence += 1
            entries.append(_return_entry(entry, why, trace))
        credits_only = all(e.transaction_code[1] in "1234" for e in entries)
        batches.append(
            _OutBatch(
                service_class_code="220" if credits_only else "200",
                company_name=header.company_name,
                company_id=header.company_id,
                sec_code=header.sec_code,
                description=header.company_entry_description,
                effective_date=effective_date,
                odfi_identification=rdfi,
                batch_number=number,
                entries=tuple(entries),
            )
        )
    return batches


def _return_entry(entry: NachaEntry, why: EntryReturn, trace: str) -> _OutEntry:
    """The return entry for `entry`: to the original ODFI, with its addenda 99."""
    odfi = why.original_trace[:8]
    code = entry.transaction_code
    died = why.date_of_death.strftime("%y%m%d") if why.date_of_death else " " * 6
    addenda = (
        "799"
        + why.reason_code
        + why.original_trace
        + died
        + entry.receiving_dfi
        + _alpha(
            ach_text(why.addenda_information, where=f"return of trace {why.original_trace}"), 44
        )
        + trace
    )
    return _OutEntry(
        transaction_code=code[0] + ("1" if entry.is_credit else "6"),
        routing_number=odfi + routing_check_digit(odfi),
        account_number=entry.dfi_account_number,
        amount_minor=entry.amount.amount_minor,
        individual_id=entry.individual_id,
        name=entry.individual_name,
        trace_number=trace,
        addenda=(addenda,),
    )
