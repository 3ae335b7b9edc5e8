"""pain.002 status reports: the bank's answer to a pain.001, read in and (for the simulated bank)
written out.

`parse_pain002` reads any version (pain.002.001.03, .10, …) and tolerates what banks really
send: elements are matched on their local names, so a missing or misspelt namespace
declaration (Cross River writes `Xmlns=`) does not matter; surrounding whitespace in ids is
dropped; optional statuses may be absent. What it cannot do without is refused with a
`RailError` whose `where` is the element's path and line: the report's own id and time, the
original message id (except in a group rejection, see below), the end-to-end id of each
listed transaction.

Statuses map to `TransferState` at three levels, the most specific winning:

    TxInfAndSts/TxSts             one transfer       `StatusReport.transfers`
    OrgnlPmtInfAndSts/PmtInfSts   a batch (PmtInf)   `StatusReport.batches`
    OrgnlGrpInfAndSts/GrpSts      the whole file     `StatusReport.group_state`

ACSC and ACCC (settlement completed) are settled; ACCP ACFC ACIS ACPD ACSP ACTC ACWC ACWP
accepted (taken for processing); RJCT and CANC rejected; PDNG RCVD PATC PRES BLCK pending.
PART (partially accepted) gives no state to what is not listed, so the listed transactions
decide. A code outside ISO's list is refused with the element's line rather than guessed at:
mapping it to any state could move money on a misreading. "unknown" is never produced here:
in the contract it means "the bank has no such transfer", which a pain.002 never says.

A group rejection may come without OrgnlMsgId: a bank that could not read our file cannot
quote its id (the Cross River sample). Such a report is returned with an empty
`original_message_id`; `statuses_for_file` refuses to apply it to a file, so an operator
decides which submission it answers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any, Final

from lxml import etree

from sellerpay.rails.instructions import (
    BankFile,
    BatchStatus,
    RailError,
    StatusReport,
    TransferState,
    TransferStatus,
)

STATUS_REPORT_BYTES_MAX: Final = 32 * 1024 * 1024
"""A pain.002 for a 100 000-transfer file, with a reason on every line, is well under this."""
PAIN002_NAMESPACE: Final = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"
ADDITIONAL_INFO_LENGTH_MAX: Final = 105  # StsRsnInf/AddtlInf is Max105Text
ID_LENGTH_MAX: Final = 35
REASON_CODE_LENGTH_MAX: Final = 4  # ExternalStatusReason1Code

STATUS_CODES: Final[dict[str, TransferState | None]] = {
    **dict.fromkeys(("ACSC", "ACCC"), "settled"),
    **dict.fromkeys(
        ("ACCP", "ACFC", "ACIS", "ACPD", "ACSP", "ACTC", "ACWC", "ACWP"),
        "accepted",
    ),
    **dict.fromkeys(("RJCT", "CANC"), "rejected"),
    **dict.fromkeys(("PDNG", "RCVD", "PATC", "PRES", "BLCK"), "pending"),
    "PART": None,
}
"""ISO 20022 ExternalPaymentGroupStatus1Code / ExternalPaymentTransactionStatus1Code."""

_WRITTEN_CODES: Final[dict[TransferState, str]] = {
    "accepted": "ACCP",
    "settled": "ACSC",
    "rejected": "RJCT",
    "pending": "PDNG",
}


# -- reading ----------------------------------------------------------------------------------


def parse_pain002(data: bytes, *, bank_timezone: tzinfo = UTC) -> StatusReport:
    """The `StatusReport` a pain.002 file holds, or `RailError` naming the element at fault.

    `bank_timezone` is given to a creation time written without an offset (ISO allows local
    time; Nordea and Goldman Sachs send it so), so `created_at` always carries a zone.
    """
    report = _status_report_element(data)
    header = _required(report, "GrpHdr")
    message_id = _required_text(header, "MsgId")
    created_at = _datetime(_required(header, "CreDtTm"), bank_timezone)
    group = _required(report, "OrgnlGrpInfAndSts")
    group_state = _state_of(group, "GrpSts")
    group_reason_code, group_reason_text = _reason(group)
    original_message_id = _original_message_id(group, group_state)
    batches: list[BatchStatus] = []
    transfers: list[TransferStatus] = []
    for block in _children(report, "OrgnlPmtInfAndSts"):
        batch = _batch(block)
        batches.append(batch)
        inherited = batch.state if batch.state is not None else group_state
        transfers.extend(
            _transfer(element, batch.payment_information_id, inherited)
            for element in _children(block, "TxInfAndSts")
        )
    return StatusReport(
        message_id=message_id,
        original_message_id=original_message_id,
        created_at=created_at,
        group_state=group_state,
        transfers=tuple(transfers),
        group_reason_code=group_reason_code,
        group_reason_text=group_reason_text,
        batches=tuple(batches),
    )


def statuses_for_file(report: StatusReport, bank_file: BankFile) -> dict[str, TransferStatus]:
    """The state `report` gives each transfer of `bank_file`, by end-to-end id.

    Each transfer goes through `status_of` with its batch from `bank_file.batches`; transfers
    the report says nothing about (a partial report) are left out, so they keep whatever state
    they had. Raises `RailError` when the report answers another file, lists a transfer the
    file does not hold, or gives one transfer two different states.
    """
    if report.original_message_id != bank_file.message_id:
        raise RailError(
            f"status report {report.message_id!r} answers message "
            f"{report.original_message_id!r}, not {bank_file.message_id!r}",
            where="OrgnlMsgId",
            code="status_report_other_file",
        )
    _check_listed(report, bank_file)
    batch_of = {e2e: pmt for pmt, ids in bank_file.batches.items() for e2e in ids}
    resolved: dict[str, TransferStatus] = {}
    for end_to_end_id in bank_file.end_to_end_ids:
        status = status_of(
            report, end_to_end_id, payment_information_id=batch_of.get(end_to_end_id)
        )
        if status is not None:
            resolved[end_to_end_id] = status
    return resolved


def status_of(
    report: StatusReport, end_to_end_id: str, *, payment_information_id: str | None = None
) -> TransferStatus | None:
    """The state `report` gives one transfer, the most specific level winning, or None.

    Listed in `report.transfers` (the last listing, if several) > the status of its batch
    `payment_information_id` (pass it: a report that rejects a batch does not list its
    transfers) > the group status. None when the report says nothing about the transfer.
    """
    listed = [t for t in report.transfers if t.end_to_end_id == end_to_end_id]
    if listed:
        return listed[-1]
    for batch in report.batches:
        if batch.payment_information_id == payment_information_id and batch.state is not None:
            return TransferStatus(
                end_to_end_id,
                batch.state,
                batch.reason_code,
                batch.reason_text,
                payment_information_id,
            )
    if report.group_state is None:
        return None
    return TransferStatus(
        end_to_end_id,
        report.group_state,
        report.group_reason_code,
        report.group_reason_text,
        payment_information_id,
    )


def _check_listed(report: StatusReport, bank_file: BankFile) -> None:
    known = set(bank_file.end_to_end_ids)
    states: dict[str, TransferState] = {}
    for status in report.transfers:
        if status.end_to_end_id not in known:
            raise RailError(
                f"status report {report.message_id!r} lists end-to-end id "
                f"{status.end_to_end_id!r}, which file {bank_file.message_id!r} does not hold",
                where="OrgnlEndToEndId",
                code="status_report_unknown_transfer",
            )
        earlier = states.setdefault(status.end_to_end_id, status.state)
        if earlier != status.state:
            raise RailError(
                f"status report {report.message_id!r} gives {status.end_to_end_id!r} two "
                f"states ({earlier}, {status.state})",
                where="OrgnlEndToEndId",
                code="status_report_contradictory",
            )


def _status_report_element(data: bytes) -> etree._Element:
    if not isinstance(data, bytes):
        raise RailError("a pain.002 is read from bytes", where="data", code="pain002_malformed")
    if len(data) > STATUS_REPORT_BYTES_MAX:
        raise RailError(
            f"{len(data)} bytes; a status report is at most {STATUS_REPORT_BYTES_MAX}",
            where="data",
            code="pain002_too_large",
        )
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise RailError(
            f"not well-formed XML: {error.msg}",
            where=f"line {error.lineno}",
            code="pain002_malformed",
        ) from error
    document_info: Any = root.getroottree().docinfo  # lxml-stubs lack DocInfo.doctype
    if document_info.doctype:
        raise RailError(
            "a status report with a DOCTYPE is refused: banks send none, and DTDs are how XML "
            "entity attacks arrive",
            where="line 1",
            code="pain002_malformed",
        )
    if _local(root) != "Document":
        raise RailError(
            f"the root element is {_local(root)}, not an ISO 20022 Document",
            where=_where(root),
            code="pain002_wrong_root",
        )
    return _required(root, "CstmrPmtStsRpt")


def _original_message_id(group: etree._Element, group_state: TransferState | None) -> str:
    element = _child(group, "OrgnlMsgId")
    if element is None and group_state == "rejected":
        return ""  # the bank could not read our file, so cannot quote its id
    return _required_text(group, "OrgnlMsgId")


def _batch(block: etree._Element) -> BatchStatus:
    code, text = _reason(block)
    return BatchStatus(
        payment_information_id=_required_text(block, "OrgnlPmtInfId"),
        state=_state_of(block, "PmtInfSts"),
        reason_code=code,
        reason_text=text,
    )


def _transfer(
    element: etree._Element, payment_information_id: str, inherited: TransferState | None
) -> TransferStatus:
    code, text = _reason(element)
    end_to_end_id = _required_text(element, "OrgnlEndToEndId")
    status = _child(element, "TxSts")
    # no TxSts (or PART): the transaction shares its block's, else the group's, status
    state = (_state(status) if status is not None else None) or inherited
    if state is None:
        raise RailError(
            f"transaction {end_to_end_id!r} has no status, nor has its block or the group",
            where=_where(element, missing="TxSts"),
            code="pain002_missing_element",
        )
    return TransferStatus(
        end_to_end_id=end_to_end_id,
        state=state,
        reason_code=code,
        reason_text=text,
        payment_information_id=payment_information_id,
    )


def _state_of(parent: etree._Element, name: str) -> TransferState | None:
    element = _child(parent, name)
    return None if element is None else _state(element)


def _state(element: etree._Element) -> TransferState | None:
    code = _text(element)
    if code not in STATUS_CODES:
        raise RailError(
            f"status {code!r} is not an ISO 20022 payment status code",
            where=_where(element),
            code="pain002_unknown_status",
        )
    return STATUS_CODES[code]


def _reason(parent: etree._Element) -> tuple[str | None, str | None]:
    """The first reason code (Rsn/Cd, else Rsn/Prtry) and all AddtlInf texts, joined by spaces."""
    code: str | None = None
    texts: list[str] = []
    for information in _children(parent, "StsRsnInf"):
        reason = _child(information, "Rsn")
        if code is None and reason is not None:
            found = _child(reason, "Cd")
            if found is None:
                found = _child(reason, "Prtry")
            code = _text(found) if found is not None else None
        texts.extend(_text(line) for line in _children(information, "AddtlInf"))
    text = " ".join(" ".join(texts).split())
    return code or None, text or None


def _datetime(element: etree._Element, bank_timezone: tzinfo) -> datetime:
    text = _text(element)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise RailError(
            f"{text!r} is not an ISO 8601 date and time",
            where=_where(element),
            code="pain002_malformed",
        ) from error
    return moment.replace(tzinfo=bank_timezone) if moment.tzinfo is None else moment


# -- elements by local name -------------------------------------------------------------------


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _children(parent: etree._Element, name: str) -> Iterator[etree._Element]:
    for child in parent:
        if isinstance(child.tag, str) and _local(child) == name:
            yield child


def _child(parent: etree._Element, name: str) -> etree._Element | None:
    return next(_children(parent, name), None)


def _required(parent: etree._Element, name: str) -> etree._Element:
    element = _child(parent, name)
    if element is None:
        raise RailError(
            f"{_local(parent)} has no {name}",
            where=_where(parent, missing=name),
            code="pain002_missing_element",
        )
    return element


def _required_text(parent: etree._Element, name: str) -> str:
    element = _required(parent, name)
    text = _text(element)
    if not text:
        raise RailError(f"{name} is empty", where=_where(element), code="pain002_missing_element")
    return text


def _text(element: etree._Element) -> str:
    return "".join(part for part in element.itertext() if isinstance(part, str)).strip()


def _where(element: etree._Element, *, missing: str | None = None) -> str:
    """The element's path by local names, with the line lxml read it on: "/Document/…/MsgId
    (line 5)". For a missing element, the path it should have and its parent's line."""
    names = [_local(ancestor) for ancestor in reversed(list(element.iterancestors()))]
    names.append(_local(element))
    if missing is not None:
        names.append(missing)
    line = element.sourceline
    return "/" + "/".join(names) + (f" (line {line})" if line is not None else "")


# -- writing ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Block:
    payment_information_id: str
    status: BatchStatus | None
    transfers: tuple[TransferStatus, ...]


def write_pain002(
    report: StatusReport,
    *,
    created_at: datetime,
    original_message_name: str = "pain.001.001.09",
) -> bytes:
    """`report` as a pain.002.001.10 CustomerPaymentStatusReport, as a bank would send it.

    `created_at` is GrpHdr/CreDtTm (the report's own `created_at` is ignored: the writer is
    the bank, and the time is when it writes). Transfers are written inside the block of
    their `payment_information_id` (required: pain.002 has no transactions outside a block);
    blocks follow `report.batches`, then blocks only transfers name. Reason texts longer than
    105 characters are split over several AddtlInf at spaces, which `parse_pain002` joins
    back. Raises `RailError` for what pain.002 cannot carry: an "unknown" state, ids over 35
    characters, reason codes over 4, a naive time, characters XML forbids.
    """
    if created_at.tzinfo is None or created_at.utcoffset() is None:
        raise RailError(
            "created_at is a naive datetime", where="created_at", code="created_at_naive"
        )
    writer = _Pain002Writer()
    header = writer.add(writer.report, "GrpHdr")
    writer.add(header, "MsgId", _id(report.message_id, "message_id"))
    writer.add(header, "CreDtTm", created_at.isoformat())
    group = writer.add(writer.report, "OrgnlGrpInfAndSts")
    writer.add(group, "OrgnlMsgId", _id(report.original_message_id, "original_message_id"))
    writer.add(group, "OrgnlMsgNmId", _id(original_message_name, "original_message_name"))
    writer.status(group, "GrpSts", report.group_state, "group_state")
    writer.reason(group, report.group_reason_code, report.group_reason_text, "group_reason")
    for block in _blocks(report):
        writer.block(block)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(
        writer.root, encoding="UTF-8", pretty_print=True
    )


def _blocks(report: StatusReport) -> list[_Block]:
    order: list[str] = [batch.payment_information_id for batch in report.batches]
    members: dict[str, list[TransferStatus]] = {pmt: [] for pmt in order}
    for index, transfer in enumerate(report.transfers):
        if transfer.payment_information_id is None:
            raise RailError(
                f"transfer {transfer.end_to_end_id!r} has no payment_information_id; "
                "pain.002 lists transactions inside their payment information block",
                where=f"transfers[{index}].payment_information_id",
                code="pain002_unwritable",
            )
        if transfer.payment_information_id not in members:
            order.append(transfer.payment_information_id)
            members[transfer.payment_information_id] = []
        members[transfer.payment_information_id].append(transfer)
    statuses = {batch.payment_information_id: batch for batch in report.batches}
    return [_Block(pmt, statuses.get(pmt), tuple(members[pmt])) for pmt in order]


def _id(value: str, where: str) -> str:
    if not value or len(value) > ID_LENGTH_MAX or value != value.strip():
        raise RailError(
            f"{value!r} is not an ISO 20022 id (1 to {ID_LENGTH_MAX} characters, no "
            "surrounding spaces)",
            where=where,
            code="pain002_unwritable",
        )
    return value


def _additional_info(text: str) -> Sequence[str]:
    """`text` in lines of at most 105 characters, cut at spaces where a word allows it."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        while len(word) > ADDITIONAL_INFO_LENGTH_MAX:
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:ADDITIONAL_INFO_LENGTH_MAX])
            word = word[ADDITIONAL_INFO_LENGTH_MAX:]
        candidate = f"{current} {word}" if current else word
        if len(candidate) > ADDITIONAL_INFO_LENGTH_MAX:
            lines.append(current)
            candidate = word
        current = candidate
    if current:
        lines.append(current)
    return lines


class _Pain002Writer:
    """Element factory for pain.002.001.10, turning lxml's ValueError into `RailError`."""

    def __init__(self) -> None:
        nsmap: dict[Any, str] = {None: PAIN002_NAMESPACE}  # the default namespace: no prefix
        self.root = etree.Element(f"{{{PAIN002_NAMESPACE}}}Document", nsmap=nsmap)
        self.report = self.add(self.root, "CstmrPmtStsRpt")

    def add(self, parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
        element = etree.SubElement(parent, f"{{{PAIN002_NAMESPACE}}}{tag}")
        if text is not None:
            try:
                element.text = text
            except ValueError as error:
                raise RailError(
                    f"{text!r} holds characters XML cannot carry",
                    where=tag,
                    code="pain002_unwritable",
                ) from error
        return element

    def status(
        self, parent: etree._Element, tag: str, state: TransferState | None, where: str
    ) -> None:
        if state is None:
            return
        if state not in _WRITTEN_CODES:
            raise RailError(
                f"state {state!r} has no pain.002 status code",
                where=where,
                code="pain002_unwritable",
            )
        self.add(parent, tag, _WRITTEN_CODES[state])

    def reason(
        self, parent: etree._Element, code: str | None, text: str | None, where: str
    ) -> None:
        if code is None and not (text or "").strip():
            return
        information = self.add(parent, "StsRsnInf")
        if code is not None:
            if not 1 <= len(code) <= REASON_CODE_LENGTH_MAX or code != code.strip():
                raise RailError(
                    f"reason code {code!r} is not 1 to {REASON_CODE_LENGTH_MAX} characters",
                    where=where,
                    code="pain002_unwritable",
                )
            self.add(self.add(information, "Rsn"), "Cd", code)
        for line in _additional_info(text or ""):
            self.add(information, "AddtlInf", line)

    def block(self, block: _Block) -> None:
        element = self.add(self.report, "OrgnlPmtInfAndSts")
        where = f"batch {block.payment_information_id}"
        self.add(element, "OrgnlPmtInfId", _id(block.payment_information_id, where))
        if block.status is not None:
            self.status(element, "PmtInfSts", block.status.state, where)
            self.reason(element, block.status.reason_code, block.status.reason_text, where)
        for transfer in block.transfers:
            where = f"transfer {transfer.end_to_end_id}"
            transaction = self.add(element, "TxInfAndSts")
            self.add(transaction, "OrgnlEndToEndId", _id(transfer.end_to_end_id, where))
            self.status(transaction, "TxSts", transfer.state, where)
            self.reason(transaction, transfer.reason_code, transfer.reason_text, where)
