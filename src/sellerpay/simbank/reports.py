"""The files the simulated bank sends back, built with our own rail writers.

    status report     pain.002 (`write_pain002`): ACCP or RJCT with its reason, per transfer
    debit notice      camt.054 (`write_camt054`): the settlement of each transfer or batch
    return notice     camt.054 credit with RtrInf/Rsn, or for ACH a NACHA return file
                      (`write_nacha_returns`) with addenda 99
    statement         camt.053 (`write_camt053`) and MT940 (`mt940_writer.write_mt940`) of one
                      account and one day: opening and closing balance, every booking

Settlement is confirmed by camt.054 debit notifications rather than a second pain.002 with
ACSC: our pain.002 writer has no "settled" state (ACSC reads back as accepted), and a debit
notification carries the booking date, amount and end-to-end id that reconciliation matches.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime

from sellerpay.money import Money
from sellerpay.payouts.banking import InboundFile
from sellerpay.rails.camt import write_camt053, write_camt054
from sellerpay.rails.instructions import StatusReport, TransferState, TransferStatus
from sellerpay.rails.nacha import EntryReturn, write_nacha_returns
from sellerpay.rails.pain002 import write_pain002
from sellerpay.rails.returns import describe_reason
from sellerpay.rails.statements import Statement, StatementLine
from sellerpay.simbank.mt940_writer import write_mt940
from sellerpay.simbank.records import AccountKey, BankTransfer

DEBIT_CODES = {
    "sepa": "PMNT-ICDT-ESCT",
    "sepa_instant": "PMNT-ICDT-ESCT",
    "ach": "PMNT-ICDT-ACDT",
}
DEBIT_CODE_OTHER = "PMNT-ICDT-DMCT"  # Zengin, Bacs, FPS, provider: domestic credit transfers
RETURN_CODE = "PMNT-ICDT-RRTN"  # reversal due to payment return
ACH_RETURN_CODE = "PMNT-ICDT-ARET"
FILE_ID_MODIFIERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def status_report(
    *,
    report_id: str,
    original_message_id: str,
    message_name: str,
    transfers: Sequence[BankTransfer],
    created_at: datetime,
) -> InboundFile:
    """A pain.002 answering one received file: every transfer listed, accepted or rejected.

    The group status is ACCP when nothing was rejected, RJCT when everything was, absent
    otherwise (partly accepted; the transfers' own statuses decide).
    """
    statuses = tuple(
        TransferStatus(
            end_to_end_id=transfer.reference,
            state="rejected" if transfer.outcome.reject_reason else "accepted",
            reason_code=transfer.outcome.reject_reason,
            reason_text=describe_reason(transfer.outcome.reject_reason).description
            if transfer.outcome.reject_reason
            else None,
            payment_information_id=transfer.received.status_block,
        )
        for transfer in transfers
    )
    rejected = sum(status.state == "rejected" for status in statuses)
    group: TransferState | None = None  # partly accepted: the transfers' statuses decide
    if rejected == 0:
        group = "accepted"
    elif rejected == len(statuses):
        group = "rejected"
    report = StatusReport(
        message_id=report_id,
        original_message_id=original_message_id,
        created_at=None,
        group_state=group,
        transfers=statuses,
    )
    content = write_pain002(report, created_at=created_at, original_message_name=message_name)
    return InboundFile(f"{report_id}.pain002.xml", content)


def debit_lines(
    transfers: Sequence[BankTransfer], day: date, references: Iterator[str]
) -> list[StatementLine]:
    """The bookings of `transfers` settled on `day`: one entry per transfer, or one per batch
    (a pain.001 block with BtchBookg, a NACHA batch, a Zengin or Bacs file) with a detail per
    transfer. Sets each transfer's `bank_reference` to its entry's (or detail's) id."""
    groups: dict[str, list[BankTransfer]] = {}
    for transfer in transfers:
        key = transfer.received.booking_group or f"single:{id(transfer)}"
        groups.setdefault(key, []).append(transfer)
    lines: list[StatementLine] = []
    for members in groups.values():
        reference = next(references)
        if len(members) == 1:
            members[0].bank_reference = reference
            lines.append(_debit_line(members[0], day, reference))
            continue
        details = []
        for number, member in enumerate(members, start=1):
            member.bank_reference = f"{reference}/{number}"
            details.append(_debit_line(member, day, member.bank_reference))
        first = members[0]
        total = Money(sum(m.received.amount.amount_minor for m in members), first.account[1])
        lines.append(
            StatementLine(
                line_id=reference,
                booked_on=day,
                value_on=day,
                amount=total,
                direction="debit",
                bank_reference=reference,
                message_id=first.message_id,
                payment_information_id=_sepa_block(first),
                remittance=f"BATCH OF {len(members)} TRANSFERS",
                bank_transaction_code=_debit_code(first),
                details=tuple(details),
            )
        )
    return lines


def _debit_line(transfer: BankTransfer, day: date, reference: str) -> StatementLine:
    received = transfer.received
    return StatementLine(
        line_id=reference,
        booked_on=day,
        value_on=day,
        amount=received.amount,
        direction="debit",
        bank_reference=reference,
        end_to_end_id=transfer.reference,
        message_id=transfer.message_id,
        payment_information_id=_sepa_block(transfer),
        trace_number=received.trace,
        counterparty_name=received.creditor_name.strip(),
        counterparty_account=received.creditor_account,
        remittance=received.remittance.strip(),
        bank_transaction_code=_debit_code(transfer),
    )


def return_line(transfer: BankTransfer, day: date, reference: str) -> StatementLine:
    """The credit of a returned transfer, with its return reason and original references."""
    received = transfer.received
    reason = transfer.outcome.return_reason or ""
    return StatementLine(
        line_id=reference,
        booked_on=day,
        value_on=day,
        amount=received.amount,
        direction="credit",
        bank_reference=reference,
        end_to_end_id=transfer.reference,
        message_id=transfer.message_id,
        trace_number=received.trace,
        counterparty_name=received.creditor_name.strip(),
        counterparty_account=received.creditor_account,
        remittance=f"RETURN {reason} {describe_reason(reason).name}",
        bank_transaction_code=ACH_RETURN_CODE if transfer.rail == "ach" else RETURN_CODE,
        return_reason_code=reason,
    )


def notification(
    *, notification_id: str, account: AccountKey, lines: Sequence[StatementLine], at: datetime
) -> InboundFile:
    """A camt.054 of `lines` on `account`: settlement debits or return credits."""
    notice = Statement(
        statement_id=notification_id,
        account=account[0],
        currency=account[1],
        lines=tuple(lines),
        format="camt.054",
        created_at=at,
    )
    return InboundFile(f"{notification_id}.camt054.xml", write_camt054(notice))


def nacha_return_file(
    *,
    file_id: str,
    number: int,
    original: bytes,
    transfers: Sequence[BankTransfer],
    at: datetime,
) -> InboundFile:
    """A NACHA return file sending `transfers` (entries of `original`) back with their R codes."""
    content = write_nacha_returns(
        original,
        [EntryReturn(t.received.trace, t.outcome.return_reason or "R01") for t in transfers],
        file_id_modifier=FILE_ID_MODIFIERS[number % len(FILE_ID_MODIFIERS)],
        created_at=at,
        effective_date=at.date(),
    )
    return InboundFile(f"{file_id}.returns.ach", content)


def day_statement(
    *,
    statement_id: str,
    account: AccountKey,
    opening: Money,
    lines: Sequence[StatementLine],
    day: date,
    sequence: int,
    at: datetime,
) -> Statement:
    """The statement of `account` for `day`: opening balance, bookings, closing balance."""
    closing = opening.amount_minor + sum(line.signed_amount.amount_minor for line in lines)
    return Statement(
        statement_id=statement_id,
        account=account[0],
        currency=account[1],
        lines=tuple(lines),
        format="camt.053",
        opening_balance=opening,
        closing_balance=Money(closing, account[1]),
        opening_date=day,
        closing_date=day,
        created_at=at,
        sequence=str(sequence),
    )


def statement_files(statement: Statement) -> list[InboundFile]:
    """The same statement twice: as camt.053 and as MT940."""
    return [
        InboundFile(f"{statement.statement_id}.camt053.xml", write_camt053(statement)),
        InboundFile(f"{statement.statement_id}.mt940.sta", write_mt940([statement])),
    ]


def _sepa_block(transfer: BankTransfer) -> str:
    return transfer.received.status_block if transfer.rail in ("sepa", "sepa_instant") else ""


def _debit_code(transfer: BankTransfer) -> str:
    return DEBIT_CODES.get(transfer.rail, DEBIT_CODE_OTHER)
