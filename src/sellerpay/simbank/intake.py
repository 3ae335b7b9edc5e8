"""What the simulated bank reads in a file it receives: every transfer, as the file carries it.

Each rail is read with our own parser (`parse_nacha`, `parse_zengin`, `parse_bacs_std18`,
`parse_provider_batch`), except pain.001, which is read here by local element names after the
official XSD accepted it, as a bank's intake would. A file the bank cannot take is refused
whole with `BankRefused` (FF01 malformed, AM10 control sum wrong), naming the place at fault.

A bank only knows what the file carried: the full end-to-end id for SEPA and the provider API,
but for ACH the 15-character Individual Identification Number, and for Zengin and Bacs the
20- and 18-character references made from the id. `reference_for` makes that same reference
from an end-to-end id, so an inquiry by end-to-end id finds the transfer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Final, get_args

from lxml import etree

from sellerpay.money import InvalidAmount, Money, TooManyDecimals, UnknownCurrency
from sellerpay.payouts.banking import BankRefused
from sellerpay.rails.bacs import CREDIT_CODES, bacs_reference, parse_bacs_std18
from sellerpay.rails.instructions import (
    RAIL_NAMES,
    AbaAccount,
    BankAccountDetails,
    IbanAccount,
    RailError,
    RailName,
    UkAccount,
)
from sellerpay.rails.nacha import individual_id_for, parse_nacha
from sellerpay.rails.provider import (
    BATCH_FORMAT,
    ProviderBatch,
    ProviderPayoutRequest,
    parse_provider_batch,
)
from sellerpay.rails.sepa import Pain001Version, validate_pain001
from sellerpay.rails.zengin import REFERENCE_LENGTH, parse_zengin, zengin_reference

MESSAGE_ID_LENGTH_MAX: Final = 35
FILE_BYTES_MAX: Final = 64 * 1024 * 1024
ACH_CREDIT_CODES: Final = frozenset({"22", "32"})  # checking and savings credits
ZENGIN_YEAR_WINDOW_DAYS: Final = 180
"""Zengin's 取組日 has no year: a month and day more than this before receipt is next year's."""
_PAIN001_NAMESPACE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:(pain\.001\.001\.\d{2})")


@dataclass(frozen=True, slots=True)
class ReceivedTransfer:
    """One credit transfer as the bank read it from a file.

    `reference` is the end-to-end id as the file carries it (see `reference_for`); `status_block`
    the pain.002 payment information block it is answered under (PmtInfId, or the message id);
    `booking_group` the transfers booked as one statement entry (batch booking), None when the
    transfer is booked alone.
    """

    reference: str
    amount: Money
    creditor_name: str
    creditor_account: str
    requested_on: date
    status_block: str
    booking_group: str | None = None
    trace: str = ""
    remittance: str = ""
    instant: bool = False


@dataclass(frozen=True, slots=True)
class ReceivedFile:
    """A file the bank took: the account it debits and every transfer in it."""

    rail: RailName
    message_id: str
    account: str
    transfers: tuple[ReceivedTransfer, ...]
    message_name: str  # what a status report quotes as OrgnlMsgNmId
    provider_requests: tuple[ProviderPayoutRequest, ...] = ()


def reference_for(rail: str, end_to_end_id: str) -> str:
    """The reference a file of `rail` carries for `end_to_end_id` (what the bank can quote)."""
    if rail == "ach":
        return individual_id_for(end_to_end_id).strip()
    if rail == "zengin":
        reference = zengin_reference(end_to_end_id)
        return reference.zfill(REFERENCE_LENGTH) if reference.isdigit() else reference
    if rail in ("bacs", "fps"):
        return bacs_reference(end_to_end_id)
    return end_to_end_id


def check_message_id(message_id: str) -> None:
    """Refuse a message id the bank cannot file under: 1 to 35 printable ASCII characters."""
    valid = (
        isinstance(message_id, str)
        and 1 <= len(message_id) <= MESSAGE_ID_LENGTH_MAX
        and message_id.isascii()
        and message_id.isprintable()
        and message_id == message_id.strip()
    )
    if not valid:
        raise BankRefused(
            f"message id {message_id!r} is not 1 to {MESSAGE_ID_LENGTH_MAX} printable ASCII "
            "characters",
            reason_code="FF01",
        )


def read_bank_file(
    rail: str, content: bytes, *, message_id: str, received_at: datetime
) -> ReceivedFile:
    """Every transfer of `content`, read as a `rail` file, or `BankRefused` saying why not."""
    check_message_id(message_id)
    if rail not in RAIL_NAMES:
        raise BankRefused(f"this bank takes no {rail!r} files", reason_code="FF01")
    if not content or len(content) > FILE_BYTES_MAX:
        raise BankRefused(
            f"a file is 1 to {FILE_BYTES_MAX} bytes, not {len(content)}", reason_code="FF01"
        )
    known: RailName = next(name for name in get_args(RailName) if name == rail)
    try:
        received = _read(known, content, message_id, received_at.date())
    except RailError as error:
        raise BankRefused(f"{rail} file {message_id}: {error}", reason_code="FF01") from error
    seen: set[str] = set()
    for transfer in received.transfers:
        if transfer.reference in seen:
            raise BankRefused(
                f"{rail} file {message_id} holds reference {transfer.reference!r} twice",
                reason_code="AM05",
            )
        seen.add(transfer.reference)
    return received


def _read(rail: RailName, content: bytes, message_id: str, received_on: date) -> ReceivedFile:
    if rail in ("sepa", "sepa_instant"):
        return _read_pain001(rail, content, message_id)
    if rail == "ach":
        return _read_nacha(content, message_id, received_on)
    if rail == "zengin":
        return _read_zengin(content, message_id, received_on)
    if rail in ("bacs", "fps"):
        return _read_bacs(rail, content, message_id)
    return _read_provider(content, message_id, received_on)


# -- pain.001 -----------------------------------------------------------------------------------


def _read_pain001(rail: RailName, content: bytes, message_id: str) -> ReceivedFile:
    root = _xml(content)
    namespace = etree.QName(root).namespace or ""
    match = _PAIN001_NAMESPACE.fullmatch(namespace)
    version = match.group(1) if match else ""
    if version not in get_args(Pain001Version):
        raise RailError(
            f"namespace {namespace!r} is not a pain.001 version this bank reads", where="/Document"
        )
    checked: Pain001Version = "pain.001.001.09" if version.endswith(".09") else "pain.001.001.03"
    validate_pain001(content, checked)
    initiation = _one(root, "CstmrCdtTrfInitn")
    header = _one(initiation, "GrpHdr")
    file_message_id = _text(header, "MsgId")
    if file_message_id != message_id:
        raise BankRefused(
            f"the file's GrpHdr/MsgId {file_message_id!r} is not the message id {message_id!r}",
            reason_code="FF01",
        )
    blocks = list(_children(initiation, "PmtInf"))
    account = _text(_one(_one(blocks[0], "DbtrAcct"), "Id"), "IBAN")
    transfers = tuple(
        transfer for block in blocks for transfer in _pain001_block(block, rail == "sepa_instant")
    )
    _check_controls(header, transfers)
    return ReceivedFile(rail, message_id, account, transfers, message_name=checked)


def _pain001_block(block: etree._Element, instant_rail: bool) -> Iterator[ReceivedTransfer]:
    block_id = _text(block, "PmtInfId")
    batch_booking = _optional_text(block, "BtchBookg") in ("true", "1")
    requested = _one(block, "ReqdExctnDt")
    requested_on = _date(_optional_text(requested, "Dt") or _element_text(requested), requested)
    block_instant = _is_instant(block)
    for element in _children(block, "CdtTrfTxInf"):
        amount_element = _one(_one(element, "Amt"), "InstdAmt")
        yield ReceivedTransfer(
            reference=_text(_one(element, "PmtId"), "EndToEndId"),
            amount=_money(
                _element_text(amount_element), amount_element.get("Ccy") or "", amount_element
            ),
            creditor_name=_text(_one(element, "Cdtr"), "Nm"),
            creditor_account=_text(_one(_one(element, "CdtrAcct"), "Id"), "IBAN"),
            requested_on=requested_on,
            status_block=block_id,
            booking_group=block_id if batch_booking else None,
            remittance=" ".join(
                _element_text(line)
                for information in _children(element, "RmtInf")
                for line in _children(information, "Ustrd")
            ),
            instant=instant_rail or block_instant or _is_instant(element),
        )


def _is_instant(parent: etree._Element) -> bool:
    for information in _children(parent, "PmtTpInf"):
        for instrument in _children(information, "LclInstrm"):
            if _optional_text(instrument, "Cd") == "INST":
                return True
    return False


def _check_controls(header: etree._Element, transfers: tuple[ReceivedTransfer, ...]) -> None:
    count = _text(header, "NbOfTxs")
    if count != str(len(transfers)):
        raise RailError(
            f"NbOfTxs says {count}, the file holds {len(transfers)}",
            where="/Document/CstmrCdtTrfInitn/GrpHdr/NbOfTxs",
        )
    stated = _optional_text(header, "CtrlSum")
    if stated is None:
        return
    total = sum((t.amount.to_decimal() for t in transfers), Decimal(0))
    try:
        matches = Decimal(stated) == total
    except InvalidOperation:
        matches = False
    if not matches:
        raise BankRefused(
            f"GrpHdr/CtrlSum says {stated}, the transfers add up to {total}", reason_code="AM10"
        )


# -- NACHA, Zengin, Bacs, provider --------------------------------------------------------------


def _read_nacha(content: bytes, message_id: str, received_on: date) -> ReceivedFile:
    nacha = parse_nacha(content)
    transfers: list[ReceivedTransfer] = []
    for batch in nacha.batches:
        group = f"{message_id}/{batch.header.batch_number}"
        for entry in batch.entries:
            if entry.transaction_code not in ACH_CREDIT_CODES or not entry.amount.is_positive():
                raise RailError(
                    f"entry {entry.trace_number} (code {entry.transaction_code}) is not a "
                    "credit this payout account sends",
                    where=f"line {entry.line_number}",
                )
            transfers.append(
                ReceivedTransfer(
                    reference=entry.individual_id.strip(),
                    amount=entry.amount,
                    creditor_name=entry.individual_name.strip(),
                    creditor_account=f"{entry.routing_number}:{entry.dfi_account_number.strip()}",
                    requested_on=batch.header.effective_entry_date or received_on,
                    status_block=message_id,
                    booking_group=group,
                    trace=entry.trace_number,
                    remittance=" ".join(
                        getattr(addenda, "payment_related_information", "").strip()
                        for addenda in entry.addenda
                    ).strip(),
                )
            )
    account = f"ACH-{nacha.header.immediate_origin.strip()}"
    return ReceivedFile("ach", message_id, account, tuple(transfers), message_name="NACHA")


def _read_zengin(content: bytes, message_id: str, received_on: date) -> ReceivedFile:
    zengin = parse_zengin(content)
    header = zengin.header
    requested_on = _zengin_date(header.transfer_date_mmdd, received_on)
    transfers = tuple(
        ReceivedTransfer(
            reference=record.customer_code.strip(),
            amount=record.amount,
            creditor_name=record.recipient_name.strip(),
            creditor_account=f"{record.bank_code}-{record.branch_code}-{record.account_number}",
            requested_on=requested_on,
            status_block=message_id,
            booking_group=message_id,
        )
        for record in zengin.records
    )
    account = f"JP-{header.bank_code}-{header.branch_code}-{header.account_number}"
    return ReceivedFile("zengin", message_id, account, transfers, message_name="ZENGIN-21")


def _zengin_date(mmdd: str, received_on: date) -> date:
    try:
        candidate = date(received_on.year, int(mmdd[:2]), int(mmdd[2:]))
    except ValueError:
        raise RailError(f"取組日 {mmdd!r} is not a month and day", where="record 1") from None
    if candidate < received_on - timedelta(days=ZENGIN_YEAR_WINDOW_DAYS):
        return candidate.replace(year=candidate.year + 1)
    return candidate


def _read_bacs(rail: RailName, content: bytes, message_id: str) -> ReceivedFile:
    bacs = parse_bacs_std18(content)
    transfers: list[ReceivedTransfer] = []
    for record in bacs.payments:
        if record.transaction_code not in CREDIT_CODES:
            raise RailError(
                f"record code {record.transaction_code} is not a direct credit",
                where=f"line {record.line_number}",
            )
        transfers.append(
            ReceivedTransfer(
                reference=record.reference.strip(),
                amount=record.amount,
                creditor_name=record.destination_name.strip(),
                creditor_account=f"{record.destination_sort_code}-"
                f"{record.destination_account_number}",
                requested_on=bacs.processing_date,
                status_block=message_id,
                booking_group=message_id,
            )
        )
    first = bacs.records[0]
    account = f"{first.originating_sort_code}-{first.originating_account_number}"
    return ReceivedFile(rail, message_id, account, tuple(transfers), message_name="BACS-STD18")


def _read_provider(content: bytes, message_id: str, received_on: date) -> ReceivedFile:
    batch: ProviderBatch = parse_provider_batch(content)
    if batch.message_id != message_id:
        raise BankRefused(
            f"the batch's message_id {batch.message_id!r} is not the message id {message_id!r}",
            reason_code="FF01",
        )
    transfers = tuple(
        provider_transfer(request, message_id, received_on=received_on) for request in batch.payouts
    )
    currencies = sorted({request.amount.currency for request in batch.payouts})
    return ReceivedFile(
        rail="provider",
        message_id=message_id,
        account=provider_account(currencies[0]),
        transfers=transfers,
        message_name=BATCH_FORMAT,
        provider_requests=batch.payouts,
    )


def provider_account(currency: str) -> str:
    """Our balance at the provider in `currency`: where its payouts are booked."""
    return f"PROVIDER-{currency}"


def provider_transfer(
    request: ProviderPayoutRequest, status_block: str, *, received_on: date
) -> ReceivedTransfer:
    """A provider payout request as a transfer the bank books (one entry per payout)."""
    return ReceivedTransfer(
        reference=request.idempotency_key,
        amount=request.amount,
        creditor_name=request.beneficiary_name,
        creditor_account=account_text(request.beneficiary_account),
        requested_on=request.execution_date or received_on,
        status_block=status_block,
        remittance=request.reference,
    )


def account_text(account: BankAccountDetails) -> str:
    """A bank account as a statement names a counterparty: IBAN, routing:account, and so on."""
    if isinstance(account, IbanAccount):
        return account.iban
    if isinstance(account, AbaAccount):
        return f"{account.routing_number}:{account.account_number}"
    if isinstance(account, UkAccount):
        return f"{account.sort_code}-{account.account_number}"
    return f"{account.bank_code}-{account.branch_code}-{account.account_number}"


# -- XML by local names -------------------------------------------------------------------------


def _xml(content: bytes) -> etree._Element:
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True
    )
    try:
        return etree.fromstring(content, parser)
    except etree.XMLSyntaxError as error:
        raise RailError(f"not well-formed XML: {error.msg}", where=f"line {error.lineno}") from None


def _children(parent: etree._Element, name: str) -> Iterator[etree._Element]:
    for child in parent:
        if isinstance(child.tag, str) and etree.QName(child).localname == name:
            yield child


def _one(parent: etree._Element, name: str) -> etree._Element:
    found = next(_children(parent, name), None)
    if found is None:
        raise RailError(f"{etree.QName(parent).localname} has no {name}", where=_where(parent))
    return found


def _element_text(element: etree._Element) -> str:
    return (element.text or "").strip()


def _text(parent: etree._Element, name: str) -> str:
    element = _one(parent, name)
    text = _element_text(element)
    if not text:
        raise RailError(f"{name} is empty", where=_where(element))
    return text


def _optional_text(parent: etree._Element, name: str) -> str | None:
    found = next(_children(parent, name), None)
    return None if found is None else _element_text(found)


def _money(text: str, currency: str, element: etree._Element) -> Money:
    try:
        amount = Money.from_decimal(Decimal(text), currency)
    except (InvalidOperation, UnknownCurrency, TooManyDecimals, InvalidAmount) as error:
        raise RailError(
            f"{text!r} {currency!r} is not an amount: {error}", where=_where(element)
        ) from None
    if not amount.is_positive():
        raise RailError(f"{text} {currency} is not a positive amount", where=_where(element))
    return amount


def _date(text: str, element: etree._Element) -> date:
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise RailError(f"{text!r} is not a date", where=_where(element)) from None


def _where(element: etree._Element) -> str:
    names = [etree.QName(a).localname for a in reversed(list(element.iterancestors()))]
    names.append(etree.QName(element).localname)
    return "/" + "/".join(names) + f" (line {element.sourceline})"
