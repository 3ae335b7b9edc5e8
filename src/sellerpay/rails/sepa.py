"""SEPA credit transfers out: payouts as an ISO 20022 pain.001 file, checked against the XSD.

`write_pain001` turns `CreditTransfer`s into one CustomerCreditTransferInitiation message in
version pain.001.001.09 (the EPC rulebooks since 2023) or pain.001.001.03 (still what many
banks take). The file is refused as a whole, with a `RailError` naming the transfer and the
field, rather than written with a transfer a bank would reject: SEPA is EUR to an IBAN only,
end-to-end ids must already be valid SEPA references, names and remittance are transliterated
to the SEPA character set (`sellerpay.rails.charset`). Every file is validated against the
official XSD shipped by `sepaxml` before it is returned, so a file that leaves this module is
one the bank's schema check accepts.

Transfers are grouped into one payment information block (PmtInf) per requested execution
date and per scheme (SCT or SCT Inst), since both are block-level fields. Amounts are written
from integer minor units, so every control sum is exact.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any, Final, Literal

from lxml import etree
from schwifty import BIC, IBAN

from sellerpay.money import Money
from sellerpay.rails.charset import check_sepa_reference, to_sepa_text
from sellerpay.rails.instructions import (
    BankFile,
    CreditTransfer,
    IbanAccount,
    Originator,
    RailError,
)

Pain001Version = Literal["pain.001.001.09", "pain.001.001.03"]
PAIN001_VERSIONS: Final[tuple[Pain001Version, ...]] = ("pain.001.001.09", "pain.001.001.03")

SEPA_CURRENCY: Final = "EUR"
TRANSFERS_PER_FILE_MAX: Final = 100_000
"""More payouts than one run submits to one bank; also keeps control sums within 18 digits."""
SEPA_AMOUNT_MINOR_MAX: Final = 99_999_999_999
"""999 999 999.99 EUR: the largest amount the EPC implementation guidelines allow."""
NAME_LENGTH_MAX: Final = 70  # EPC: names are 70 characters although the XSD allows 140
REMITTANCE_LENGTH_MAX: Final = 140  # one unstructured remittance line (Max140Text)
NOT_PROVIDED: Final = "NOTPROVIDED"
"""The EPC's debtor agent identification when the originator's BIC is not known (IBAN-only)."""

_BIC_PATTERNS: Final[dict[Pain001Version, re.Pattern[str]]] = {
    # BICFIDec2014Identifier and BICIdentifier, as the two XSDs define them
    "pain.001.001.09": re.compile(r"[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?"),
    "pain.001.001.03": re.compile(r"[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?"),
}
_BIC_ELEMENT: Final[dict[Pain001Version, str]] = {
    "pain.001.001.09": "BICFI",
    "pain.001.001.03": "BIC",
}
_FILENAME_UNSAFE: Final = re.compile(r"[^A-Za-z0-9.()+,'-]")
XML_DECLARATION: Final = b'<?xml version="1.0" encoding="UTF-8"?>\n'


@dataclass(frozen=True, slots=True)
class _Party:
    """A debtor or creditor as the file writes it: SEPA text, compact IBAN, checked BIC."""

    name: str
    iban: str
    bic: str | None


@dataclass(frozen=True, slots=True)
class _Transaction:
    end_to_end_id: str
    amount_minor: int
    creditor: _Party
    remittance: str | None
    execution_date: date
    instant: bool


@dataclass(frozen=True, slots=True)
class _Batch:
    payment_information_id: str
    execution_date: date
    instant: bool
    transactions: tuple[_Transaction, ...]

    @property
    def amount_minor(self) -> int:
        return sum(transaction.amount_minor for transaction in self.transactions)


def write_pain001(
    transfers: Sequence[CreditTransfer],
    originator: Originator,
    *,
    message_id: str,
    created_at: datetime,
    version: Pain001Version = "pain.001.001.09",
    batch_booking: bool = True,
) -> BankFile:
    """One pain.001 file paying `transfers` from the originator's account, schema-valid.

    `message_id` becomes GrpHdr/MsgId and names the file; it must be a valid SEPA reference
    and unique per originator (the bank refuses a repeated one as a duplicate). Raises
    `RailError` for an empty or oversized list, a duplicate or invalid end-to-end id, a
    non-EUR or non-positive amount, an account that is not a valid SEPA IBAN, a name with no
    Latin spelling, or (never for valid input) a file the XSD refuses.
    """
    if version not in PAIN001_VERSIONS:
        raise RailError(
            f"unknown pain.001 version {version!r}", where="version", code="version_unknown"
        )
    _check_message(transfers, message_id=message_id, created_at=created_at)
    debtor = _debtor(originator, version)
    transactions = _transactions(transfers, version)
    batches = _batches(transactions, message_id)
    document = _document(
        version=version,
        message_id=message_id,
        created_at=created_at,
        debtor=debtor,
        batches=batches,
        batch_booking=batch_booking,
    )
    content = XML_DECLARATION + etree.tostring(document, encoding="UTF-8", pretty_print=True)
    validate_pain001(content, version)
    total_minor = sum(batch.amount_minor for batch in batches)
    return BankFile(
        rail="sepa_instant" if all(t.instant for t in transactions) else "sepa",
        filename=f"{_FILENAME_UNSAFE.sub('_', message_id)}.pain.001.xml",
        content=content,
        message_id=message_id,
        transfer_count=len(transactions),
        control_sums={SEPA_CURRENCY: total_minor},
        end_to_end_ids=tuple(t.end_to_end_id for t in transactions),
        batches={
            batch.payment_information_id: tuple(t.end_to_end_id for t in batch.transactions)
            for batch in batches
        },
        created_at=created_at,
    )


def validate_pain001(content: bytes, version: Pain001Version) -> None:
    """Raise `RailError` (code `pain001_schema_invalid`) unless `content` matches the XSD.

    The schema's first message and line go into the error, so a broken file is diagnosed
    without opening it. Used on every file `write_pain001` produces.
    """
    schema, lock = _schema(version)
    try:
        document = etree.fromstring(content, _safe_parser())
    except etree.XMLSyntaxError as error:
        raise RailError(
            f"the {version} file is not well-formed XML: {error.msg}",
            where=f"line {error.lineno}",
            code="pain001_schema_invalid",
        ) from error
    with lock:
        if schema.validate(document):
            return
        log: Any = schema.error_log  # lxml-stubs do not type the log's entries
        first = log[0]
    raise RailError(
        f"the {version} file does not match the official schema: {first.message}",
        where=f"line {first.line}",
        code="pain001_schema_invalid",
    )


# -- checking and rewriting the input --------------------------------------------------------


def _check_message(
    transfers: Sequence[CreditTransfer], *, message_id: str, created_at: datetime
) -> None:
    if not transfers:
        raise RailError(
            "a pain.001 file needs at least one transfer", where="transfers", code="transfers_empty"
        )
    if len(transfers) > TRANSFERS_PER_FILE_MAX:
        raise RailError(
            f"{len(transfers)} transfers in one file; at most {TRANSFERS_PER_FILE_MAX}",
            where="transfers",
            code="transfers_max",
        )
    check_sepa_reference(message_id, where="message_id")
    if created_at.tzinfo is None or created_at.utcoffset() is None:
        raise RailError(
            "created_at is a naive datetime; every time in Sellerpay carries a zone",
            where="created_at",
            code="created_at_naive",
        )


def _debtor(originator: Originator, version: Pain001Version) -> _Party:
    account = originator.account
    if not isinstance(account, IbanAccount):
        raise RailError(
            f"the originator's account is a {type(account).__name__}; SEPA needs an IBAN",
            where="originator.account",
            code="account_not_iban",
        )
    return _Party(
        name=to_sepa_text(originator.name, length_max=NAME_LENGTH_MAX, where="originator.name"),
        iban=_sepa_iban(account.iban, where="originator.account.iban"),
        bic=_bic(account.bic, version, where="originator.account.bic"),
    )


def _transactions(
    transfers: Sequence[CreditTransfer], version: Pain001Version
) -> tuple[_Transaction, ...]:
    seen: dict[str, int] = {}
    checked: list[_Transaction] = []
    for index, transfer in enumerate(transfers):
        label = f"transfers[{index}]"
        end_to_end_id = check_sepa_reference(transfer.end_to_end_id, where=f"{label}.end_to_end_id")
        if end_to_end_id in seen:
            raise RailError(
                f"end-to-end id {end_to_end_id!r} appears twice "
                f"(transfers[{seen[end_to_end_id]}] and {label})",
                where=f"{label}.end_to_end_id",
                code="end_to_end_id_duplicate",
            )
        seen[end_to_end_id] = index
        checked.append(_transaction(transfer, version, f"{label} ({end_to_end_id})"))
    return tuple(checked)


def _transaction(transfer: CreditTransfer, version: Pain001Version, label: str) -> _Transaction:
    amount_minor = _amount_minor(transfer.amount, transfer.end_to_end_id, where=f"{label}.amount")
    account = transfer.creditor_account
    if not isinstance(account, IbanAccount):
        raise RailError(
            f"transfer {transfer.end_to_end_id!r} pays a {type(account).__name__}; "
            "SEPA pays IBANs only",
            where=f"{label}.creditor_account",
            code="account_not_iban",
        )
    creditor = _Party(
        name=to_sepa_text(
            transfer.creditor_name, length_max=NAME_LENGTH_MAX, where=f"{label}.creditor_name"
        ),
        iban=_sepa_iban(account.iban, where=f"{label}.creditor_account.iban"),
        bic=_bic(account.bic, version, where=f"{label}.creditor_account.bic"),
    )
    remittance = (
        to_sepa_text(
            transfer.remittance, length_max=REMITTANCE_LENGTH_MAX, where=f"{label}.remittance"
        )
        if transfer.remittance.strip()
        else None
    )
    return _Transaction(
        end_to_end_id=transfer.end_to_end_id,
        amount_minor=amount_minor,
        creditor=creditor,
        remittance=remittance,
        execution_date=transfer.execution_date,
        instant=transfer.instant,
    )


def _amount_minor(amount: Money, end_to_end_id: str, *, where: str) -> int:
    if amount.currency != SEPA_CURRENCY:
        raise RailError(
            f"transfer {end_to_end_id!r} is in {amount.currency}; SEPA pays EUR only",
            where=where,
            code="currency_not_eur",
        )
    if amount.amount_minor <= 0:
        raise RailError(
            f"transfer {end_to_end_id!r} has amount {amount}; amounts must be positive",
            where=where,
            code="amount_not_positive",
        )
    if amount.amount_minor > SEPA_AMOUNT_MINOR_MAX:
        raise RailError(
            f"transfer {end_to_end_id!r} has amount {amount}; SEPA allows at most "
            f"{Money(SEPA_AMOUNT_MINOR_MAX, SEPA_CURRENCY)}",
            where=where,
            code="amount_above_max",
        )
    return amount.amount_minor


def _sepa_iban(value: str, *, where: str) -> str:
    """The IBAN in electronic form if valid (checksum, length, national rules) and in SEPA."""
    try:
        iban = IBAN(value)
    except ValueError as error:
        raise RailError(
            f"{value!r} is not a valid IBAN: {error}", where=where, code="iban_invalid"
        ) from error
    if not iban.in_sepa_zone:
        raise RailError(
            f"IBAN country {iban.country_code} is not in the SEPA zone",
            where=where,
            code="iban_not_sepa",
        )
    return str(iban.compact)


def _bic(value: str | None, version: Pain001Version, *, where: str) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        bic = str(BIC(value).compact)
    except ValueError as error:
        raise RailError(
            f"{value!r} is not a valid BIC: {error}", where=where, code="bic_invalid"
        ) from error
    if not _BIC_PATTERNS[version].fullmatch(bic):
        raise RailError(
            f"BIC {bic!r} does not have the form {version} requires",
            where=where,
            code="bic_invalid",
        )
    return bic


def _batches(transactions: Sequence[_Transaction], message_id: str) -> tuple[_Batch, ...]:
    """One batch per (execution date, instant or not), in date order, standard before instant.

    The debtor account is the originator's for every transfer, so it is not part of the key.
    Transfers keep their input order inside a batch.
    """
    grouped: dict[tuple[date, bool], list[_Transaction]] = {}
    for transaction in transactions:
        key = (transaction.execution_date, transaction.instant)
        grouped.setdefault(key, []).append(transaction)
    return tuple(
        _Batch(
            payment_information_id=payment_information_id(message_id, number),
            execution_date=execution_date,
            instant=instant,
            transactions=tuple(grouped[(execution_date, instant)]),
        )
        for number, (execution_date, instant) in enumerate(sorted(grouped), start=1)
    )


def payment_information_id(message_id: str, number: int) -> str:
    """PmtInfId of the `number`th batch (from 1): "<message id>-<number>", at most 35 characters.

    Deterministic, so writing the same run twice gives the same ids. When the message id is
    too long for the suffix, its end is replaced by 8 hex digits of its SHA-256, so two long
    message ids sharing a prefix still give different PmtInfIds.
    """
    suffix = f"-{number}"
    limit = 35
    if len(message_id) + len(suffix) <= limit:
        candidate = message_id + suffix
    else:
        digest = hashlib.sha256(message_id.encode()).hexdigest()[:8]
        candidate = f"{message_id[: limit - len(suffix) - 9]}-{digest}{suffix}"
    return check_sepa_reference(candidate, where="PmtInfId")


# -- writing the XML --------------------------------------------------------------------------


class _Writer:
    """Element factory bound to one version's namespace and its few differences."""

    def __init__(self, version: Pain001Version) -> None:
        self.version = version
        self.namespace = f"urn:iso:std:iso:20022:tech:xsd:{version}"

    def root(self) -> etree._Element:
        nsmap: dict[Any, str] = {None: self.namespace}  # the default namespace: no prefix
        return etree.Element(f"{{{self.namespace}}}Document", nsmap=nsmap)

    def add(self, parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
        element = etree.SubElement(parent, f"{{{self.namespace}}}{tag}")
        if text is not None:
            element.text = text
        return element

    def path(self, parent: etree._Element, tags: str, text: str | None = None) -> etree._Element:
        """Add nested elements "A/B/C" under `parent`, `text` on the last one."""
        element = parent
        names = tags.split("/")
        for name in names[:-1]:
            element = self.add(element, name)
        return self.add(element, names[-1], text)

    def execution_date(self, parent: etree._Element, execution_date: date) -> None:
        if self.version == "pain.001.001.03":
            self.add(parent, "ReqdExctnDt", execution_date.isoformat())
        else:
            self.path(parent, "ReqdExctnDt/Dt", execution_date.isoformat())

    def agent(self, parent: etree._Element, tag: str, bic: str | None) -> None:
        institution = self.path(parent, f"{tag}/FinInstnId")
        if bic is None:
            self.path(institution, "Othr/Id", NOT_PROVIDED)
        else:
            self.add(institution, _BIC_ELEMENT[self.version], bic)


def _decimal(amount_minor: int) -> str:
    """Minor units as the XML decimal with the currency's exponent: 1234 -> "12.34"."""
    return format(Money(amount_minor, SEPA_CURRENCY).to_decimal(), "f")


def _document(
    *,
    version: Pain001Version,
    message_id: str,
    created_at: datetime,
    debtor: _Party,
    batches: Sequence[_Batch],
    batch_booking: bool,
) -> etree._Element:
    writer = _Writer(version)
    root = writer.root()
    initiation = writer.add(root, "CstmrCdtTrfInitn")
    header = writer.add(initiation, "GrpHdr")
    writer.add(header, "MsgId", message_id)
    writer.add(header, "CreDtTm", created_at.isoformat(timespec="seconds"))
    writer.add(header, "NbOfTxs", str(sum(len(batch.transactions) for batch in batches)))
    writer.add(header, "CtrlSum", _decimal(sum(batch.amount_minor for batch in batches)))
    writer.path(header, "InitgPty/Nm", debtor.name)
    for batch in batches:
        _payment_information(writer, initiation, batch, debtor, batch_booking)
    return root


def _payment_information(
    writer: _Writer,
    parent: etree._Element,
    batch: _Batch,
    debtor: _Party,
    batch_booking: bool,
) -> None:
    block = writer.add(parent, "PmtInf")
    writer.add(block, "PmtInfId", batch.payment_information_id)
    writer.add(block, "PmtMtd", "TRF")
    writer.add(block, "BtchBookg", "true" if batch_booking else "false")
    writer.add(block, "NbOfTxs", str(len(batch.transactions)))
    writer.add(block, "CtrlSum", _decimal(batch.amount_minor))
    payment_type = writer.add(block, "PmtTpInf")
    writer.path(payment_type, "SvcLvl/Cd", "SEPA")
    if batch.instant:
        writer.path(payment_type, "LclInstrm/Cd", "INST")
    writer.execution_date(block, batch.execution_date)
    writer.path(block, "Dbtr/Nm", debtor.name)
    writer.path(block, "DbtrAcct/Id/IBAN", debtor.iban)
    writer.agent(block, "DbtrAgt", debtor.bic)
    writer.add(block, "ChrgBr", "SLEV")
    for transaction in batch.transactions:
        _credit_transfer(writer, block, transaction)


def _credit_transfer(writer: _Writer, parent: etree._Element, transaction: _Transaction) -> None:
    element = writer.add(parent, "CdtTrfTxInf")
    writer.path(element, "PmtId/EndToEndId", transaction.end_to_end_id)
    amount = writer.path(element, "Amt/InstdAmt", _decimal(transaction.amount_minor))
    amount.set("Ccy", SEPA_CURRENCY)
    if transaction.creditor.bic is not None:
        writer.agent(element, "CdtrAgt", transaction.creditor.bic)
    writer.path(element, "Cdtr/Nm", transaction.creditor.name)
    writer.path(element, "CdtrAcct/Id/IBAN", transaction.creditor.iban)
    if transaction.remittance is not None:
        writer.path(element, "RmtInf/Ustrd", transaction.remittance)


# -- the official schemas ---------------------------------------------------------------------


def _safe_parser() -> etree.XMLParser:
    """No entities, no DTDs, no network: the bytes are ours, but the habit costs nothing."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@cache
def _schema(version: Pain001Version) -> tuple[etree.XMLSchema, threading.Lock]:
    """The XSD shipped by sepaxml, loaded once per process; with a lock, as lxml validators
    keep their error log on the object and are not meant to be shared between threads."""
    resource = importlib.resources.files("sepaxml") / "schemas" / f"{version}.xsd"
    with importlib.resources.as_file(resource) as path:
        schema = etree.XMLSchema(etree.parse(str(path), _safe_parser()))
    return schema, threading.Lock()
