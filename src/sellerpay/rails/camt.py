"""ISO 20022 camt.053 statements and camt.054 notifications: read (any version from .001.02 to
.001.13, alone or in a zip), returns picked out of them, and written for the simulated bank.

Reading matches elements by local name, so the namespace (its version, a missing or misspelt
one) does not matter; the version is taken from the namespace when there is one. What differs
between versions is handled where it differs: `Sts` as text (.02-.05) or `<Cd>` (.06+),
`BookgDt`/`ValDt` as `<Dt>` or `<DtTm>`, a transaction's amount in `TxDtls/Amt` (.03+) or
`AmtDtls/TxAmt/Amt`, a party's name in `Dbtr/Nm` or `Dbtr/Pty/Nm` (.08+).

No camt XSD ships with our dependencies (sepaxml has pain.001/pain.008 only), so documents are
read by structure, and the writer follows the .001.02 and .001.08 schemas' element order by
construction; they are not validated against an XSD here.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Final, Literal

from lxml import etree

from sellerpay.money import InvalidAmount, Money, TooManyDecimals, UnknownCurrency
from sellerpay.rails.instructions import ReturnNotice
from sellerpay.rails.statements import (
    STATEMENT_FILE_BYTES_MAX,
    Direction,
    LineStatus,
    Statement,
    StatementError,
    StatementFile,
    StatementLine,
)

CamtKind = Literal["camt.053", "camt.054"]

CAMT_VERSION_MIN: Final = 2
CAMT_VERSION_MAX: Final = 13
"""Versions .001.02 to .001.13 are read; .001.01 was never used by banks, later ones do not
exist yet (a new version is a new decision: read its changes before accepting it)."""
WRITE_VERSIONS: Final = ("001.02", "001.08")
ZIP_MEMBERS_MAX: Final = 500
ZIP_COMPRESSION_RATIO_MAX: Final = 200
"""A zip member that inflates more than this is refused as a zip bomb, not read."""
ENTRIES_PER_STATEMENT_MAX: Final = 1_000_000
ZIP_READ_ERRORS: Final = (
    zipfile.BadZipFile,
    zlib.error,  # a damaged deflate stream
    ValueError,
    EOFError,
    OSError,
    NotImplementedError,  # an unknown compression method
)
"""What reading a damaged or unusual zip archive raises; each becomes `malformed_zip`."""

RETURN_SUBFAMILIES: Final = frozenset({"RRTN", "ARET"})
"""ISO external bank transaction sub-family codes of a payment coming back: RRTN "reversal due
to payment return" (SEPA and wires, e.g. PMNT-ICDT-RRTN) and ARET "ACH return"."""
NOT_PROVIDED: Final = "NOTPROVIDED"
"""What ISO 20022 puts in a mandatory reference the sender did not give; read as ""."""

_MESSAGES: Final[dict[str, tuple[CamtKind, str]]] = {
    "BkToCstmrStmt": ("camt.053", "Stmt"),
    "BkToCstmrDbtCdtNtfctn": ("camt.054", "Ntfctn"),
}
_NAMESPACE_VERSION = re.compile(r"camt\.(05[2-4])\.001\.(\d{2})")
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(Z|[+-]\d{2}:\d{2})?$")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})?$")
_AMOUNT = re.compile(r"^\d{1,18}(\.\d{1,18})?$")
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{1,30}$")
_DOMAIN_CODE = re.compile(r"^([A-Z]{4})-([A-Z]{4})-([A-Z]{4})$")
_ISO_REASON = re.compile(r"^[A-Z0-9]{1,4}$")
_STATUSES: Final[dict[str, LineStatus]] = {
    "BOOK": "booked",
    "PDNG": "pending",
    "FUTR": "pending",  # .08+: booked on a future date; not on the account yet
    "INFO": "info",
}
_STATUS_CODES: Final[dict[LineStatus, str]] = {"booked": "BOOK", "pending": "PDNG", "info": "INFO"}
_OPENING_CODES: Final = ("OPBD", "PRCD", "ITBD")
_CLOSING_CODES: Final = ("CLBD", "ITBD")

Element = etree._Element


# -- reading: the document ----------------------------------------------------------------------


def parse_camt(data: bytes) -> StatementFile:
    """Every statement of a camt.053 or camt.054 document, or of a zip of such documents.

    Raises `StatementError` naming the element (or zip member) at fault; never returns part of
    a file.
    """
    return _parse(data, return_texts=None)


def _parse(data: bytes, *, return_texts: dict[tuple[int, str], str] | None) -> StatementFile:
    if len(data) > STATEMENT_FILE_BYTES_MAX:
        raise StatementError(
            f"the file is {len(data)} bytes, more than {STATEMENT_FILE_BYTES_MAX}",
            code="statement_file_too_large",
        )
    from_zip = data.startswith(b"PK\x03\x04")
    documents = list(_zip_members(data)) if from_zip else [("", data)]
    kinds: set[CamtKind] = set()
    statements: list[Statement] = []
    for name, document in documents:
        try:
            kind, found = _parse_document(document, return_texts, offset=len(statements))
        except StatementError as error:
            if not from_zip:
                raise
            where = f"{name}: {error.where}" if error.where else name
            raise StatementError(error.message, where=where, code=error.code) from None
        kinds.add(kind)
        statements.extend(found)
    if len(kinds) != 1:
        raise StatementError(
            f"the archive mixes {' and '.join(sorted(kinds))}: one file, one kind of message",
            code="mixed_formats",
        )
    return StatementFile(format=kinds.pop(), statements=tuple(statements))


def _zip_members(data: bytes) -> Iterator[tuple[str, bytes]]:
    """The XML documents of a zip archive, in archive order; folders and macOS metadata skipped."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = [
            info
            for info in archive.infolist()
            if not info.is_dir() and not info.filename.startswith("__MACOSX/")
        ]
    except ZIP_READ_ERRORS as error:
        raise StatementError(f"not a readable zip archive: {error}", code="malformed_zip") from None
    if not infos:
        raise StatementError("the zip archive holds no file", code="empty_zip")
    if len(infos) > ZIP_MEMBERS_MAX:
        raise StatementError(
            f"the zip archive holds {len(infos)} files, more than {ZIP_MEMBERS_MAX}",
            code="zip_members_max",
        )
    total = 0
    for info in infos:
        total += info.file_size
        ratio_exceeded = info.file_size > ZIP_COMPRESSION_RATIO_MAX * max(info.compress_size, 1)
        if total > STATEMENT_FILE_BYTES_MAX or ratio_exceeded:
            raise StatementError(
                "the zip archive inflates beyond what a statement can be",
                where=info.filename,
                code="zip_too_large",
            )
        try:
            content = archive.read(info)
        except ZIP_READ_ERRORS as error:
            raise StatementError(
                f"cannot extract it: {error}", where=info.filename, code="malformed_zip"
            ) from None
        if content.startswith(b"PK\x03\x04"):
            raise StatementError(
                "a zip inside a zip is not read", where=info.filename, code="nested_zip"
            )
        yield info.filename, content


def _parse_document(
    data: bytes, return_texts: dict[tuple[int, str], str] | None, *, offset: int
) -> tuple[CamtKind, list[Statement]]:
    root = _xml_root(data)
    namespace = etree.QName(root).namespace or ""
    message = root if _local(root) in _MESSAGES else _first_element(root)
    if message is None or _local(message) not in _MESSAGES:
        found = _local(message) if message is not None else "nothing"
        raise StatementError(
            f"not a camt.053 or camt.054 message: the document holds {found}",
            where=_where(message if message is not None else root),
            code="not_camt",
        )
    kind, statement_tag = _MESSAGES[_local(message)]
    version = _version(namespace, kind, root)
    reports = _kids(message, statement_tag)
    if not reports:
        raise StatementError(
            f"no {statement_tag}: a {kind} holds at least one",
            where=_where(message),
            code="missing_element",
        )
    statements = []
    for index, report in enumerate(reports):
        context = _Context(kind, version, offset + index, return_texts)
        statements.append(_statement(report, context))
    return kind, statements


def _xml_root(data: bytes) -> Element:
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        remove_comments=True,
        remove_pis=True,
        huge_tree=False,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        line = error.lineno if error.lineno else None
        raise StatementError(
            f"not well-formed XML: {error.msg}",
            where=f"line {line}" if line else None,
            code="malformed_xml",
        ) from None
    except ValueError as error:
        raise StatementError(f"not readable as XML: {error}", code="malformed_xml") from None
    if root is None:
        raise StatementError("the document is empty", code="malformed_xml")
    docinfo = root.getroottree().docinfo
    if getattr(docinfo, "doctype", "") or getattr(docinfo, "internalDTD", None) is not None:
        raise StatementError(
            "a DOCTYPE is refused: camt documents have none, and entities are a known attack",
            where="line 1",
            code="doctype_refused",
        )
    return root


def _version(namespace: str, kind: CamtKind, root: Element) -> str:
    """ "camt.053.001.02" from the namespace, "" when the document has none (a misspelt xmlns)."""
    match = _NAMESPACE_VERSION.search(namespace)
    if match is None:
        return ""
    found = f"camt.{match.group(1)}"
    if found != kind:
        raise StatementError(
            f"the namespace says {found} but the message is a {kind}",
            where=_where(root),
            code="namespace_mismatch",
        )
    number = int(match.group(2))
    if not CAMT_VERSION_MIN <= number <= CAMT_VERSION_MAX:
        raise StatementError(
            f"{kind}.001.{match.group(2)} is not a version we read "
            f"(.001.{CAMT_VERSION_MIN:02d} to .001.{CAMT_VERSION_MAX:02d})",
            where=_where(root),
            code="unsupported_version",
        )
    return f"{kind}.001.{match.group(2)}"


# -- reading: a statement -----------------------------------------------------------------------


@dataclass(slots=True)
class _Context:
    """What every entry of one statement needs to know about it."""

    kind: CamtKind
    version: str
    statement_index: int
    return_texts: dict[tuple[int, str], str] | None
    account: str = ""


@dataclass(frozen=True, slots=True)
class _Balance:
    code: str
    amount: Money  # signed
    on: date | None
    element: Element


def _statement(report: Element, context: _Context) -> Statement:
    statement_id = _required_text(report, "Id")
    account_element = _required(report, "Acct")
    context.account = _account_id(account_element)
    if not context.account:
        raise StatementError(
            "the account has no IBAN nor other id", where=_where(account_element), code="no_account"
        )
    balances = [_balance(element) for element in _kids(report, "Bal")]
    entries = _kids(report, "Ntry")
    if len(entries) > ENTRIES_PER_STATEMENT_MAX:
        raise StatementError(
            f"{len(entries)} entries, more than {ENTRIES_PER_STATEMENT_MAX}",
            where=_where(report),
            code="entries_max",
        )
    currency = _statement_currency(report, balances, entries)
    for balance in balances:
        if balance.amount.currency != currency:
            raise StatementError(
                f"a balance in {balance.amount.currency} on a {currency} statement",
                where=_where(balance.element),
                code="balance_currency_mismatch",
            )
    opening, closing = _opening_and_closing(balances)
    period = _kid(report, "FrToDt")
    return Statement(
        statement_id=statement_id,
        account=context.account,
        currency=currency,
        lines=tuple(_entries(entries, context)),
        format=context.kind,
        version=context.version,
        opening_balance=opening.amount if opening else None,
        closing_balance=closing.amount if closing else None,
        opening_date=opening.on if opening else _optional_date(period, "FrDtTm"),
        closing_date=closing.on if closing else _optional_date(period, "ToDtTm"),
        created_at=_optional_datetime(report, "CreDtTm"),
        sequence=_text(report, "ElctrncSeqNb") or _text(report, "LglSeqNb"),
    )


def _statement_currency(report: Element, balances: list[_Balance], entries: list[Element]) -> str:
    """The account's currency (`Acct/Ccy`), else its balances', else its first entry's."""
    declared = _text(report, "Acct/Ccy")
    if declared:
        try:
            Money.zero(declared)
        except UnknownCurrency:
            raise StatementError(
                f"{declared!r} is not an ISO 4217 currency with a minor unit",
                where=_where(_required(report, "Acct/Ccy")),
                code="unknown_currency",
            ) from None
        return declared
    if balances:
        return balances[0].amount.currency
    for entry in entries:
        amount = _kid(entry, "Amt")
        if amount is not None:
            return _money(amount).currency
    raise StatementError(
        "no currency: no Acct/Ccy, no balance and no entry",
        where=_where(report),
        code="no_currency",
    )


def _balance(element: Element) -> _Balance:
    code = _text(element, "Tp/CdOrPrtry/Cd") or _text(element, "Tp/CdOrPrtry/Prtry")
    amount = _money(_required(element, "Amt"))
    if _direction(element) == "debit":
        amount = -amount
    when = _kid(element, "Dt")
    return _Balance(code, amount, _date_choice(when) if when is not None else None, element)


def _opening_and_closing(balances: list[_Balance]) -> tuple[_Balance | None, _Balance | None]:
    """Opening: OPBD, else PRCD, else the first ITBD; closing: CLBD, else the last other ITBD."""
    opening = next(
        (b for code in _OPENING_CODES for b in balances if b.code == code),
        None,
    )
    closing = next((b for b in balances if b.code == "CLBD"), None)
    if closing is None:
        interim = [b for b in balances if b.code == "ITBD" and b is not opening]
        closing = interim[-1] if interim else None
    return opening, closing


def _entries(entries: list[Element], context: _Context) -> Iterator[StatementLine]:
    """Each `Ntry` as a line; `line_id` is `NtryRef` when every entry has a distinct one."""
    references = [_text(entry, "NtryRef") for entry in entries]
    use_references = all(references) and len(set(references)) == len(references)
    for position, entry in enumerate(entries, start=1):
        line_id = references[position - 1] if use_references else str(position)
        yield _entry(entry, line_id, context)


# -- reading: an entry ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _EntryFacts:
    """What every transaction of an entry inherits from it."""

    amount: Money
    direction: Direction
    reversal: bool
    status: LineStatus
    booked_on: date
    value_on: date | None
    code: _Paths | None
    batch: Element | None


ENTRY_DEPTH: Final = 4  # BkTxCd/Domn/Fmly/SubFmlyCd
TRANSACTION_DEPTH: Final = 5  # RltdPties/CdtrAcct/Id/Othr/Id


def _entry(element: Element, line_id: str, context: _Context) -> StatementLine:
    entry = _Paths(element, depth=ENTRY_DEPTH, skip=frozenset({"NtryDtls"}))
    facts = _entry_facts(entry)
    transactions = [
        _Paths(transaction, depth=TRANSACTION_DEPTH)
        for details in _kids(entry, "NtryDtls")
        for transaction in _kids(details, "TxDtls")
    ]
    bank_reference = _text(entry, "AcctSvcrRef")
    entry_note = _free_text(entry, "AddtlNtryInf")
    if len(transactions) > 1:
        details = tuple(
            _transaction(transaction, f"{line_id}/{number}", facts, context, merged=False)
            for number, transaction in enumerate(transactions, start=1)
        )
        return StatementLine(
            line_id=line_id,
            booked_on=facts.booked_on,
            value_on=facts.value_on,
            amount=facts.amount,
            direction=facts.direction,
            reversal=facts.reversal,
            status=facts.status,
            bank_reference=bank_reference,
            message_id=_text(facts.batch, "MsgId"),
            payment_information_id=_text(facts.batch, "PmtInfId"),
            remittance=entry_note,
            bank_transaction_code=_transaction_code(None, facts.code),
            details=details,
        )
    if transactions:
        return _transaction(
            transactions[0],
            line_id,
            facts,
            context,
            merged=True,
            entry=(bank_reference, entry_note),
        )
    return StatementLine(
        line_id=line_id,
        booked_on=facts.booked_on,
        value_on=facts.value_on,
        amount=facts.amount,
        direction=facts.direction,
        reversal=facts.reversal,
        status=facts.status,
        bank_reference=bank_reference,
        message_id=_text(facts.batch, "MsgId"),
        payment_information_id=_text(facts.batch, "PmtInfId"),
        remittance=entry_note,
        bank_transaction_code=_transaction_code(None, facts.code),
    )


def _entry_facts(entry: _Paths) -> _EntryFacts:
    booked = entry.at("BookgDt")
    valued = entry.at("ValDt")
    value_on = _date_choice(valued) if valued is not None else None
    if booked is not None:
        booked_on = _date_choice(booked)
    elif value_on is not None:
        booked_on = value_on  # pending entries may have no booking date yet
    else:
        raise StatementError(
            "the entry has neither BookgDt nor ValDt",
            where=_where(entry.element),
            code="missing_element",
        )
    batches = [batch for details in _kids(entry, "NtryDtls") for batch in _kids(details, "Btch")]
    return _EntryFacts(
        amount=_money(_required(entry, "Amt")),
        direction=_direction(entry),
        reversal=_indicator(entry, "RvslInd"),
        status=_status(entry),
        booked_on=booked_on,
        value_on=value_on,
        code=entry.at("BkTxCd"),
        batch=batches[0] if batches else None,
    )


def _transaction(
    transaction: _Paths,
    line_id: str,
    facts: _EntryFacts,
    context: _Context,
    *,
    merged: bool,
    entry: tuple[str, str] = ("", ""),
) -> StatementLine:
    """One `TxDtls` as a line: the whole entry's (`merged`) or one detail of a batch entry.

    `entry` is the entry's own reference and note: for a merged line, the reference wins over
    the transaction's and the note fills a blank remittance.
    """
    entry_reference, entry_note = entry
    if merged:
        amount, direction = facts.amount, facts.direction
    else:
        amount = _transaction_amount(transaction)
        direction = (
            _direction(transaction)
            if _kid(transaction, "CdtDbtInd") is not None
            else (facts.direction)
        )
    reason = _text(transaction, "RtrInf/Rsn/Cd") or _text(transaction, "RtrInf/Rsn/Prtry")
    returned = bool(reason) or facts.reversal
    name, account = _counterparty(transaction, direction, returned, context.account)
    if context.return_texts is not None:
        note = _free_text(transaction, "RtrInf/AddtlInf")
        if note:
            context.return_texts[(context.statement_index, line_id)] = note
    return StatementLine(
        line_id=line_id,
        booked_on=facts.booked_on,
        value_on=facts.value_on,
        amount=amount,
        direction=direction,
        reversal=facts.reversal,
        status=facts.status,
        bank_reference=entry_reference or _reference(transaction, "Refs/AcctSvcrRef"),
        end_to_end_id=_reference(transaction, "Refs/EndToEndId"),
        message_id=_reference(transaction, "Refs/MsgId") or _text(facts.batch, "MsgId"),
        payment_information_id=(
            _reference(transaction, "Refs/PmtInfId") or _text(facts.batch, "PmtInfId")
        ),
        instruction_id=_reference(transaction, "Refs/InstrId"),
        trace_number=_reference(transaction, "Refs/ClrSysRef"),
        counterparty_name=name,
        counterparty_account=account,
        remittance=_remittance(transaction) or entry_note,
        bank_transaction_code=(
            _transaction_code(facts.code, transaction.at("BkTxCd"))
            if merged  # the booking is the entry's: its code first
            else _transaction_code(transaction.at("BkTxCd"), facts.code)
        ),
        return_reason_code=reason,
    )


def _transaction_amount(transaction: _Paths) -> Money:
    for path in ("Amt", "AmtDtls/TxAmt/Amt"):
        element = _kid(transaction, path)
        if element is not None:
            return _money(element)
    raise StatementError(
        "a detail of a batch entry has no amount (TxDtls/Amt or AmtDtls/TxAmt/Amt)",
        where=_where(transaction.element),
        code="missing_element",
    )


def _counterparty(
    transaction: _Paths, direction: Direction, returned: bool, own_account: str
) -> tuple[str, str]:
    """The other party: the creditor of a debit, the debtor of a credit; the other way round
    for a return or reversal (its parties are the original payment's); never our own account."""
    parties = transaction.at("RltdPties")
    if parties is None:
        return "", ""
    for side in _counterparty_sides(direction, returned):
        name = _free_text(parties, f"{side}/Nm") or _free_text(parties, f"{side}/Pty/Nm")
        account_node = parties.at(f"{side}Acct")
        account = _account_id(account_node) if account_node is not None else ""
        if (name or account) and not (account and account == own_account):
            return name, account
    return "", ""


def _counterparty_sides(direction: Direction, returned: bool) -> tuple[str, str]:
    other_is_creditor = (direction == "debit") != returned
    return ("Cdtr", "Dbtr") if other_is_creditor else ("Dbtr", "Cdtr")


def _remittance(transaction: _Paths) -> str:
    """Unstructured lines, then structured creditor references; else the additional info."""
    parts = [_collapse(element.text) for element in transaction.all("RmtInf/Ustrd")]
    parts += [(ref.text or "").strip() for ref in transaction.all("RmtInf/Strd/CdtrRefInf/Ref")]
    remittance = " ".join(part for part in parts if part)
    return remittance or _free_text(transaction, "AddtlTxInf")


def _transaction_code(specific: _Paths | None, general: _Paths | None) -> str:
    """ "PMNT-RCDT-ESCT" (ISO domain, family, sub-family) from `specific`, else from `general`;
    failing both, the proprietary code (a bank's own, e.g. "N654") in the same order."""
    for element in (specific, general):
        code = _domain_code(element)
        if code:
            return code
    for element in (specific, general):
        code = _text(element, "Prtry/Cd")
        if code:
            return code
    return ""


def _domain_code(element: _Paths | None) -> str:
    domain = _text(element, "Domn/Cd")
    family = _text(element, "Domn/Fmly/Cd")
    subfamily = _text(element, "Domn/Fmly/SubFmlyCd")
    if domain and family and subfamily:
        return f"{domain}-{family}-{subfamily}"
    return ""


def _status(entry: _Paths) -> LineStatus:
    element = _required(entry, "Sts")
    code = _text(entry, "Sts/Cd") or _text(entry, "Sts/Prtry") or _collapse(element.text)
    status = _STATUSES.get(code)
    if status is None:
        raise StatementError(
            f"entry status {code!r} is not BOOK, PDNG, INFO or FUTR",
            where=_where(element),
            code="invalid_status",
        )
    return status


def _direction(node: Node) -> Direction:
    indicator = _required(node, "CdtDbtInd")
    text = (indicator.text or "").strip()
    if text == "CRDT":
        return "credit"
    if text == "DBIT":
        return "debit"
    raise StatementError(
        f"CdtDbtInd {text!r} is not CRDT or DBIT", where=_where(indicator), code="invalid_direction"
    )


def _indicator(node: Node, name: str) -> bool:
    found = _kid(node, name)
    if found is None:
        return False
    text = (found.text or "").strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise StatementError(
        f"{name} {text!r} is not true or false", where=_where(found), code="invalid_indicator"
    )


def _account_id(account: Node | None) -> str:
    iban = _text(account, "Id/IBAN").replace(" ", "")
    return iban or _text(account, "Id/Othr/Id")


# -- reading: values ----------------------------------------------------------------------------


def _money(element: Element) -> Money:
    """`<Amt Ccy="EUR">12.34</Amt>` as Money, exactly; more decimals than the currency has is
    an error, never a rounding."""
    text = (element.text or "").strip()
    currency = (element.get("Ccy") or "").strip()
    if not _AMOUNT.match(text):
        raise StatementError(
            f"amount {text!r} is not a decimal number like 1234.56",
            where=_where(element),
            code="invalid_amount",
        )
    try:
        return Money.from_decimal(Decimal(text), currency)
    except UnknownCurrency:
        raise StatementError(
            f"currency {currency!r} is not an ISO 4217 code with a minor unit",
            where=_where(element),
            code="unknown_currency",
        ) from None
    except TooManyDecimals:
        raise StatementError(
            f"{text} has more decimals than {currency} has",
            where=_where(element),
            code="too_many_decimals",
        ) from None
    except InvalidAmount as error:
        raise StatementError(error.detail, where=_where(element), code="invalid_amount") from None


def _date_choice(node: Node) -> date:
    """A `DateAndDateTimeChoice`: `<Dt>` as written, or the date of `<DtTm>` as written (the
    bank's local date; we do not move it to another time zone)."""
    day = _kid(node, "Dt")
    if day is not None:
        return _parse_date(day)
    moment = _kid(node, "DtTm")
    if moment is not None:
        return _parse_datetime(moment).date()
    raise StatementError(
        "neither Dt nor DtTm", where=_where(_element(node)), code="missing_element"
    )


def _parse_date(element: Element) -> date:
    text = (element.text or "").strip()
    match = _DATE.match(text)
    try:
        if match is None:
            raise ValueError(text)
        return date.fromisoformat(match.group(1))
    except ValueError:
        raise StatementError(
            f"{text!r} is not a date (YYYY-MM-DD)", where=_where(element), code="invalid_date"
        ) from None


def _parse_datetime(element: Element) -> datetime:
    text = (element.text or "").strip()
    try:
        if not _DATE_TIME.match(text):
            raise ValueError(text)
        return datetime.fromisoformat(_six_fraction_digits(text))
    except ValueError:
        raise StatementError(
            f"{text!r} is not a date and time (YYYY-MM-DDThh:mm:ss)",
            where=_where(element),
            code="invalid_date",
        ) from None


def _six_fraction_digits(text: str) -> str:
    """Python reads at most microseconds: nanoseconds that some banks send are cut, not
    rounded (a booking time is not money)."""
    return re.sub(r"(\.\d{6})\d+", r"\1", text)


def _optional_date(element: Element | None, name: str) -> date | None:
    found = _kid(element, name) if element is not None else None
    return _parse_datetime(found).date() if found is not None else None


def _optional_datetime(element: Element, name: str) -> datetime | None:
    found = _kid(element, name)
    return _parse_datetime(found) if found is not None else None


# -- reading: tree helpers ----------------------------------------------------------------------


class _Paths:
    """The elements under one element by relative path ("Refs/EndToEndId"), found in one walk.

    An entry or a transaction is looked up some thirty times; walking its children for each
    lookup made reading five times slower. Tags are matched by local name. `at` gives a view
    of a sub-path sharing the same walk.
    """

    __slots__ = ("_found", "_prefix", "element")

    def __init__(
        self,
        element: Element,
        *,
        depth: int,
        skip: frozenset[str] = frozenset(),
        found: dict[str, list[Element]] | None = None,
        prefix: str = "",
    ) -> None:
        self.element = element
        self._prefix = prefix
        if found is None:
            found = {}
            _walk(element, "", depth, skip, found)
        self._found = found

    def all(self, path: str) -> list[Element]:
        return self._found.get(self._prefix + path, [])

    def first(self, path: str) -> Element | None:
        found = self._found.get(self._prefix + path)
        return found[0] if found else None

    def at(self, path: str) -> _Paths | None:
        element = self.first(path)
        if element is None:
            return None
        return _Paths(element, depth=0, found=self._found, prefix=f"{self._prefix}{path}/")


def _walk(
    element: Element, prefix: str, depth: int, skip: frozenset[str], found: dict[str, list[Element]]
) -> None:
    for child in element:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        name = tag.rpartition("}")[2]
        path = prefix + name
        found.setdefault(path, []).append(child)
        if depth > 1 and name not in skip:
            _walk(child, path + "/", depth - 1, skip, found)


Node = Element | _Paths


def _element(node: Node) -> Element:
    return node.element if isinstance(node, _Paths) else node


def _local(element: Element) -> str:
    tag = element.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _first_element(element: Element) -> Element | None:
    return next((child for child in element if isinstance(child.tag, str)), None)


def _kids(node: Node | None, name: str) -> list[Element]:
    if node is None:
        return []
    if isinstance(node, _Paths):
        return node.all(name)
    return [child for child in node if isinstance(child.tag, str) and _local(child) == name]


def _kid(node: Node | None, path: str) -> Element | None:
    if isinstance(node, _Paths):
        return node.first(path)
    found = node
    for part in path.split("/"):
        if found is None:
            return None
        found = next(
            (child for child in found if isinstance(child.tag, str) and _local(child) == part),
            None,
        )
    return found


def _text(node: Node | None, path: str) -> str:
    """The stripped text at `path` under `node`, "" when absent (identifiers: kept as is)."""
    found = _kid(node, path)
    return (found.text or "").strip() if found is not None else ""


def _reference(node: Node, path: str) -> str:
    text = _text(node, path)
    return "" if text == NOT_PROVIDED else text


def _free_text(node: Node | None, path: str) -> str:
    """Text written for people: runs of whitespace (line breaks of the XML) read as one space."""
    found = _kid(node, path)
    return _collapse(found.text) if found is not None else ""


def _collapse(text: str | None) -> str:
    return " ".join((text or "").split())


def _required(node: Node, path: str) -> Element:
    found = _kid(node, path)
    if found is None:
        raise StatementError(
            f"{path} is missing", where=_where(_element(node)), code="missing_element"
        )
    return found


def _required_text(element: Element, path: str) -> str:
    text = (_required(element, path).text or "").strip()
    if not text:
        raise StatementError(f"{path} is empty", where=_where(element), code="missing_element")
    return text


def _where(element: Element) -> str:
    """The element's path, e.g. Document/BkToCstmrStmt/Stmt/Ntry[3]/Amt ([n] among namesakes)."""
    parts: list[str] = []
    current: Element | None = element
    while current is not None:
        name = _local(current)
        parent = current.getparent()
        if parent is not None:
            namesakes = _kids(parent, name)
            if len(namesakes) > 1:
                name = f"{name}[{namesakes.index(current) + 1}]"
        parts.append(name)
        current = parent
    return "/".join(reversed(parts))


# -- returns ------------------------------------------------------------------------------------


def returns_from_camt054(data: bytes) -> list[ReturnNotice]:
    """The payouts that came back, from a camt.054 (or a camt.053: some banks report returns
    only on the statement).

    A return is a credit (the money comes back to us) that carries a return reason
    (`RtrInf/Rsn`) or a return bank transaction code (sub-family RRTN or ARET). A debit with a
    return reason is a returned direct debit or a return we sent, not a payout coming back.
    `reason_code` is "" when the bank gave none; `end_to_end_id` "" when it gave none (the
    payout must then be found by amount and date).
    """
    texts: dict[tuple[int, str], str] = {}
    statement_file = _parse(data, return_texts=texts)
    notices = []
    for index, statement in enumerate(statement_file.statements):
        for line in statement.lines:
            for transaction in line.details or (line,):
                if _is_return(transaction):
                    notices.append(
                        ReturnNotice(
                            end_to_end_id=transaction.end_to_end_id,
                            amount=transaction.amount,
                            reason_code=transaction.return_reason_code,
                            booked_on=transaction.booked_on,
                            bank_reference=transaction.bank_reference,
                            original_trace=transaction.trace_number,
                            reason_text=texts.get((index, transaction.line_id), ""),
                        )
                    )
    return notices


def _is_return(line: StatementLine) -> bool:
    if line.direction != "credit":
        return False
    match = _DOMAIN_CODE.match(line.bank_transaction_code)
    return bool(line.return_reason_code) or bool(match and match.group(3) in RETURN_SUBFAMILIES)


# -- writing (the simulated bank) ---------------------------------------------------------------


def write_camt053(
    statement: Statement, *, version: str | None = None, message_id: str | None = None
) -> bytes:
    """`statement` as a camt.053 document (.001.08 unless `version` is "camt.053.001.02"),
    which `parse_camt` reads back equal (`format` and `version` aside, which it sets).

    Refuses (StatementError, code `not_representable`) what camt.053 cannot carry: a missing
    balance or balance date, no creation time, text beyond the ISO length, a batch parent with
    its own end-to-end id.
    """
    if statement.opening_balance is None or statement.closing_balance is None:
        raise StatementError(
            "a camt.053 states an opening and a closing balance",
            where="statement.opening_balance",
            code="not_representable",
        )
    return _write(statement, "camt.053", version, message_id)


def write_camt054(
    statement: Statement, *, version: str | None = None, message_id: str | None = None
) -> bytes:
    """`statement` (no balances) as a camt.054 notification (.001.08 or .001.02)."""
    if statement.opening_balance is not None or statement.closing_balance is not None:
        raise StatementError(
            "a camt.054 notification has no balances",
            where="statement.opening_balance",
            code="not_representable",
        )
    return _write(statement, "camt.054", version, message_id)


def _write_version(kind: CamtKind, version: str | None) -> str:
    chosen = version or f"{kind}.001.08"
    if chosen not in {f"{kind}.{number}" for number in WRITE_VERSIONS}:
        raise StatementError(
            f"cannot write {chosen}; written versions are "
            + ", ".join(f"{kind}.{number}" for number in WRITE_VERSIONS),
            where="version",
            code="not_representable",
        )
    return chosen


class _Writer:
    """Builds one camt document; `where` names the statement field that cannot be written."""

    def __init__(self, kind: CamtKind, version: str) -> None:
        self.kind = kind
        self.version = version
        self.legacy = version.endswith(".02")
        self.namespace = f"urn:iso:std:iso:20022:tech:xsd:{version}"

    def node(self, parent: Element, name: str, text: str | None = None) -> Element:
        element = etree.SubElement(parent, f"{{{self.namespace}}}{name}")
        if text is not None:
            element.text = text
        return element

    def bounded(
        self, parent: Element, name: str, text: str, where: str, length_max: int = 35
    ) -> None:
        """Write `text` if any; refuse it beyond the ISO length (Max35Text, Max140Text…)."""
        if not text:
            return
        if len(text) > length_max or text != text.strip():
            raise StatementError(
                f"{text!r} does not fit {name} (at most {length_max} characters, trimmed)",
                where=where,
                code="not_representable",
            )
        self.node(parent, name, text)

    def amount(self, parent: Element, name: str, money: Money) -> None:
        element = self.node(parent, name, str(abs(money).to_decimal()))
        element.set("Ccy", money.currency)


def _write(
    statement: Statement, kind: CamtKind, version: str | None, message_id: str | None
) -> bytes:
    chosen = _write_version(kind, version or (statement.version or None))
    writer = _Writer(kind, chosen)
    if statement.created_at is None:
        raise StatementError(
            "camt needs a creation time (CreDtTm)",
            where="statement.created_at",
            code="not_representable",
        )
    namespaces = {None: writer.namespace}  # the default namespace, as banks write it
    root = etree.Element(f"{{{writer.namespace}}}Document", nsmap=namespaces)  # type: ignore[arg-type]
    message = writer.node(root, "BkToCstmrStmt" if kind == "camt.053" else "BkToCstmrDbtCdtNtfctn")
    header = writer.node(message, "GrpHdr")
    writer.bounded(header, "MsgId", message_id or statement.statement_id, "message_id")
    writer.node(header, "CreDtTm", statement.created_at.isoformat())
    report = writer.node(message, "Stmt" if kind == "camt.053" else "Ntfctn")
    _write_statement_header(writer, report, statement)
    if kind == "camt.053":
        _write_balance(writer, report, "OPBD", statement.opening_balance, statement.opening_date)
        _write_balance(writer, report, "CLBD", statement.closing_balance, statement.closing_date)
    ids = [line.line_id for line in statement.lines]
    if len(set(ids)) != len(ids) or not all(ids):
        raise StatementError(
            "line ids must be unique and non-empty to be written as NtryRef",
            where="statement.lines",
            code="not_representable",
        )
    for index, line in enumerate(statement.lines):
        _write_entry(writer, report, line, f"statement.lines[{index}]", statement.account)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _write_statement_header(writer: _Writer, report: Element, statement: Statement) -> None:
    writer.bounded(report, "Id", statement.statement_id, "statement.statement_id")
    if statement.sequence:
        if not statement.sequence.isdigit() or len(statement.sequence) > 18:
            raise StatementError(
                f"sequence {statement.sequence!r} is not a number (ElctrncSeqNb)",
                where="statement.sequence",
                code="not_representable",
            )
        writer.node(report, "ElctrncSeqNb", statement.sequence)
    assert statement.created_at is not None  # checked by the caller
    writer.node(report, "CreDtTm", statement.created_at.isoformat())
    if statement.opening_date or statement.closing_date:
        if statement.opening_date is None or statement.closing_date is None:
            raise StatementError(
                "a period needs both an opening and a closing date (FrToDt)",
                where="statement.opening_date",
                code="not_representable",
            )
        period = writer.node(report, "FrToDt")
        writer.node(period, "FrDtTm", datetime.combine(statement.opening_date, time()).isoformat())
        writer.node(
            period, "ToDtTm", datetime.combine(statement.closing_date, time(23, 59, 59)).isoformat()
        )
    account = writer.node(report, "Acct")
    _write_account_id(writer, account, statement.account, "statement.account")
    writer.node(account, "Ccy", statement.currency)


def _write_account_id(writer: _Writer, account: Element, number: str, where: str) -> None:
    identification = writer.node(account, "Id")
    if _IBAN.match(number):
        writer.node(identification, "IBAN", number)
    else:
        writer.bounded(writer.node(identification, "Othr"), "Id", number, where, 34)


def _write_balance(
    writer: _Writer, report: Element, code: str, balance: Money | None, on: date | None
) -> None:
    if balance is None:
        return
    if on is None:
        raise StatementError(
            f"the {code} balance needs its date",
            where="statement.opening_date" if code == "OPBD" else "statement.closing_date",
            code="not_representable",
        )
    element = writer.node(report, "Bal")
    writer.node(writer.node(writer.node(element, "Tp"), "CdOrPrtry"), "Cd", code)
    writer.amount(element, "Amt", balance)
    writer.node(element, "CdtDbtInd", "DBIT" if balance.is_negative() else "CRDT")
    writer.node(writer.node(element, "Dt"), "Dt", on.isoformat())


def _write_entry(
    writer: _Writer, report: Element, line: StatementLine, where: str, own: str
) -> None:
    entry = writer.node(report, "Ntry")
    writer.bounded(entry, "NtryRef", line.line_id, f"{where}.line_id")
    writer.amount(entry, "Amt", line.amount)
    writer.node(entry, "CdtDbtInd", _indicator_code(line.direction))
    if line.reversal:
        writer.node(entry, "RvslInd", "true")
    status = writer.node(entry, "Sts", _STATUS_CODES[line.status] if writer.legacy else None)
    if not writer.legacy:
        writer.node(status, "Cd", _STATUS_CODES[line.status])
    writer.node(writer.node(entry, "BookgDt"), "Dt", line.booked_on.isoformat())
    if line.value_on is not None:
        writer.node(writer.node(entry, "ValDt"), "Dt", line.value_on.isoformat())
    writer.bounded(entry, "AcctSvcrRef", line.bank_reference, f"{where}.bank_reference")
    _write_code(writer, entry, line.bank_transaction_code, f"{where}.bank_transaction_code")
    if line.details:
        _write_batch(writer, entry, line, where, own)
    elif _has_transaction_fields(line):
        details = writer.node(entry, "NtryDtls")
        _write_transaction(writer, details, line, None, where, own)


def _has_transaction_fields(line: StatementLine) -> bool:
    return any(
        (
            line.end_to_end_id,
            line.message_id,
            line.payment_information_id,
            line.instruction_id,
            line.trace_number,
            line.counterparty_name,
            line.counterparty_account,
            line.remittance,
            line.return_reason_code,
        )
    )


def _write_batch(
    writer: _Writer, entry: Element, line: StatementLine, where: str, own: str
) -> None:
    for name in ("end_to_end_id", "instruction_id", "trace_number", "counterparty_name"):
        if getattr(line, name):
            raise StatementError(
                "a batch entry's references belong to its details",
                where=f"{where}.{name}",
                code="not_representable",
            )
    if line.counterparty_account or line.return_reason_code:
        raise StatementError(
            "a batch entry's party and return reason belong to its details",
            where=f"{where}.details",
            code="not_representable",
        )
    details = writer.node(entry, "NtryDtls")
    batch = writer.node(details, "Btch")
    writer.bounded(batch, "MsgId", line.message_id, f"{where}.message_id")
    writer.bounded(
        batch, "PmtInfId", line.payment_information_id, f"{where}.payment_information_id"
    )
    writer.node(batch, "NbOfTxs", str(len(line.details)))
    for number, detail in enumerate(line.details, start=1):
        _check_detail(writer, line, detail, number, f"{where}.details[{number - 1}]")
        _write_transaction(writer, details, detail, line, f"{where}.details[{number - 1}]", own)
    if line.remittance:
        writer.bounded(entry, "AddtlNtryInf", line.remittance, f"{where}.remittance", 500)


def _check_detail(
    writer: _Writer, parent: StatementLine, detail: StatementLine, number: int, where: str
) -> None:
    """A detail inherits dates, status and reversal from its entry: they must be its entry's."""
    inherited = (
        detail.booked_on == parent.booked_on
        and detail.value_on == parent.value_on
        and detail.status == parent.status
        and detail.reversal == parent.reversal
        and detail.line_id == f"{parent.line_id}/{number}"
        and not detail.details
    )
    if not inherited:
        raise StatementError(
            "a detail's dates, status, reversal and id (<entry>/<n>) are its entry's",
            where=where,
            code="not_representable",
        )
    if writer.legacy and detail.direction != parent.direction:
        raise StatementError(
            "camt .001.02 details have no CdtDbtInd: a detail's direction is its entry's",
            where=f"{where}.direction",
            code="not_representable",
        )


def _write_transaction(
    writer: _Writer,
    details: Element,
    line: StatementLine,
    parent: StatementLine | None,
    where: str,
    own: str,
) -> None:
    transaction = writer.node(details, "TxDtls")
    references = writer.node(transaction, "Refs")
    writer.bounded(references, "MsgId", line.message_id, f"{where}.message_id")
    if parent is not None:
        writer.bounded(references, "AcctSvcrRef", line.bank_reference, f"{where}.bank_reference")
    writer.bounded(
        references, "PmtInfId", line.payment_information_id, f"{where}.payment_information_id"
    )
    writer.bounded(references, "InstrId", line.instruction_id, f"{where}.instruction_id")
    writer.bounded(references, "EndToEndId", line.end_to_end_id, f"{where}.end_to_end_id")
    writer.bounded(references, "ClrSysRef", line.trace_number, f"{where}.trace_number")
    if len(references) == 0:
        transaction.remove(references)
    if parent is not None:
        if writer.legacy:
            amounts = writer.node(writer.node(transaction, "AmtDtls"), "TxAmt")
            writer.amount(amounts, "Amt", line.amount)
        else:
            writer.amount(transaction, "Amt", line.amount)
            writer.node(transaction, "CdtDbtInd", _indicator_code(line.direction))
        if line.bank_transaction_code != parent.bank_transaction_code:
            _write_code(writer, transaction, line.bank_transaction_code, f"{where}.code")
    _write_parties(writer, transaction, line, where, own)
    if line.remittance:
        information = writer.node(transaction, "RmtInf")
        writer.bounded(information, "Ustrd", line.remittance, f"{where}.remittance", 140)
    if line.return_reason_code:
        reason = writer.node(writer.node(transaction, "RtrInf"), "Rsn")
        iso = _ISO_REASON.match(line.return_reason_code)
        length_max = 4 if iso else 35
        name = "Cd" if iso else "Prtry"
        writer.bounded(
            reason, name, line.return_reason_code, f"{where}.return_reason_code", length_max
        )


def _write_parties(
    writer: _Writer, transaction: Element, line: StatementLine, where: str, own: str
) -> None:
    if not (line.counterparty_name or line.counterparty_account):
        return
    if line.counterparty_account and line.counterparty_account == own:
        raise StatementError(
            "the counterparty's account is the statement's own account",
            where=f"{where}.counterparty_account",
            code="not_representable",
        )
    side = _counterparty_sides(line.direction, bool(line.return_reason_code) or line.reversal)[0]
    parties = writer.node(transaction, "RltdPties")
    if line.counterparty_name:  # an empty party element is invalid in .08 (Pty or Agt)
        party = writer.node(parties, side)
        holder = party if writer.legacy else writer.node(party, "Pty")
        writer.bounded(holder, "Nm", line.counterparty_name, f"{where}.counterparty_name", 140)
    if line.counterparty_account:
        account = writer.node(parties, f"{side}Acct")
        _write_account_id(writer, account, line.counterparty_account, f"{where}.counterparty")


def _write_code(writer: _Writer, parent: Element, code: str, where: str) -> None:
    if not code:
        return
    element = writer.node(parent, "BkTxCd")
    match = _DOMAIN_CODE.match(code)
    if match:
        domain = writer.node(element, "Domn")
        writer.node(domain, "Cd", match.group(1))
        family = writer.node(domain, "Fmly")
        writer.node(family, "Cd", match.group(2))
        writer.node(family, "SubFmlyCd", match.group(3))
    else:
        writer.bounded(writer.node(element, "Prtry"), "Cd", code, where, 35)


def _indicator_code(direction: Direction) -> str:
    return "CRDT" if direction == "credit" else "DBIT"
