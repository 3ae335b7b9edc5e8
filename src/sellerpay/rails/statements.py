"""What a bank statement says, whatever format it came in: camt.053/054, MT940/MT942 or CSV.

These dataclasses are the contract between the statement parsers (`rails.camt`,
`rails.swift_mt940`, `rails.csv_statements`, `rails.detect`) and reconciliation. Every parser
gives a `StatementFile` or raises `StatementError`; nothing in between.

Amounts: a line's `amount` is never negative, its `direction` says which way the money went
(credit: into our account). Balances are signed `Money`: a negative balance is a debit balance
(the account is overdrawn), which `Money` allows. Text fields are "" when the bank said nothing.

    RailError (rails.instructions)
    └── StatementError   a statement file could not be read; `where` names the line or element
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final, Literal

from sellerpay.money import Money
from sellerpay.rails.instructions import RailError

Direction = Literal["credit", "debit"]
LineStatus = Literal["booked", "pending", "info"]
StatementFormat = Literal["camt.053", "camt.054", "mt940", "mt942", "csv"]

DIRECTIONS: Final[tuple[Direction, ...]] = ("credit", "debit")
LINE_STATUSES: Final[tuple[LineStatus, ...]] = ("booked", "pending", "info")
STATEMENT_FORMATS: Final[tuple[StatementFormat, ...]] = (
    "camt.053",
    "camt.054",
    "mt940",
    "mt942",
    "csv",
)
STATEMENT_FILE_BYTES_MAX: Final = 512 * 1024 * 1024
"""The largest statement file read (and the most a zip may inflate to). A camt.053 entry takes
about 1 KB, so this is some 500,000 entries: a payout run of that size booked one by one."""


class StatementError(RailError):
    """A statement file is malformed, truncated, in an unknown format or holds an impossible value.

    `where` names the place: "line 12" for MT940 and CSV, an element path such as
    "Document/BkToCstmrStmt/Stmt[1]/Ntry[3]/Amt" for camt, "member.xml: …" inside a zip.
    `code` names the rule that failed (`invalid_amount`, `unknown_currency`, `malformed_xml`…).
    """

    def __init__(self, message: str, *, where: str | None = None, code: str = "invalid_statement"):
        super().__init__(message, where=where, code=code)


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One movement on the account (a camt `Ntry` or `TxDtls`, an MT940 `:61:`, a CSV row).

    `line_id` is stable within its statement: the bank's entry reference when it has unique
    ones, else the line's position ("1", "2", …); a batch detail is "<parent>/<n>".
    A batch entry (camt `Btch` with several `TxDtls`) is one line carrying the entry total, with
    one `details` line per transaction, each with its own amount and references.
    """

    line_id: str
    booked_on: date
    amount: Money
    direction: Direction
    value_on: date | None = None
    reversal: bool = False
    status: LineStatus = "booked"
    bank_reference: str = ""
    end_to_end_id: str = ""
    message_id: str = ""
    payment_information_id: str = ""
    instruction_id: str = ""
    trace_number: str = ""
    counterparty_name: str = ""
    counterparty_account: str = ""
    remittance: str = ""
    bank_transaction_code: str = ""
    return_reason_code: str = ""
    details: tuple[StatementLine, ...] = ()

    def __post_init__(self) -> None:
        if self.amount.amount_minor < 0:
            raise StatementError(
                f"line {self.line_id}: an amount is never negative, the direction gives the "
                f"sign (got {self.amount})",
                code="negative_line_amount",
            )
        if self.direction not in DIRECTIONS:
            raise StatementError(
                f"line {self.line_id}: direction {self.direction!r} is not credit or debit",
                code="invalid_direction",
            )
        if self.status not in LINE_STATUSES:
            raise StatementError(
                f"line {self.line_id}: status {self.status!r} is not one of {LINE_STATUSES}",
                code="invalid_line_status",
            )

    @property
    def signed_amount(self) -> Money:
        """The amount as it changes our balance: positive for a credit, negative for a debit."""
        return self.amount if self.direction == "credit" else -self.amount


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement (or camt.054 notification) of one bank account.

    `opening_balance`/`closing_balance` are signed (negative: a debit balance) and in the
    statement's `currency`; `None` when the format has none (camt.054, MT942, CSV). They are the
    booked balances (camt OPBD/PRCD and CLBD, MT940 :60F:/:62F:), or the interim ones when the
    statement is one page of several (camt ITBD, MT940 :60M:/:62M:). A line may be in another
    currency than the statement (foreign-currency entries do occur in camt.053).
    `sequence` is the bank's numbering as written (camt ElctrncSeqNb, MT940 :28C: "27/01").
    """

    statement_id: str
    account: str
    currency: str
    lines: tuple[StatementLine, ...]
    format: StatementFormat
    version: str = ""
    opening_balance: Money | None = None
    closing_balance: Money | None = None
    opening_date: date | None = None
    closing_date: date | None = None
    created_at: datetime | None = None
    sequence: str = ""

    def __post_init__(self) -> None:
        for balance in (self.opening_balance, self.closing_balance):
            if balance is not None and balance.currency != self.currency:
                raise StatementError(
                    f"statement {self.statement_id}: a balance in {balance.currency} on a "
                    f"{self.currency} statement",
                    code="balance_currency_mismatch",
                )

    def balances_agree(self) -> bool | None:
        """Whether opening balance + booked lines in the statement currency = closing balance.

        `None` when it cannot be said: a balance is missing or a line is in another currency.
        A statement that does not agree is not refused here: banks do send such files, and
        reconciliation reports the difference as an exception.
        """
        if self.opening_balance is None or self.closing_balance is None:
            return None
        total = self.opening_balance.amount_minor
        for line in self.lines:
            if line.status != "booked":
                continue
            if line.amount.currency != self.currency:
                return None
            total += line.signed_amount.amount_minor
        return total == self.closing_balance.amount_minor


@dataclass(frozen=True, slots=True)
class StatementFile:
    """Everything one file held: one or more statements of one format (a zip may hold many)."""

    format: StatementFormat
    statements: tuple[Statement, ...]

    @property
    def line_count(self) -> int:
        """Top-level lines in all statements (batch details are not counted twice)."""
        return sum(len(statement.lines) for statement in self.statements)


# -- JSON ---------------------------------------------------------------------------------------


def money_to_dict(money: Money) -> dict[str, Any]:
    """Money as the API writes it: exact integer minor units, the currency, and a decimal string."""
    return {
        "amount_minor": money.amount_minor,
        "currency": money.currency,
        "exponent": money.exponent,
        "amount": str(money.to_decimal()),
    }


def line_to_dict(line: StatementLine) -> dict[str, Any]:
    """A line as JSON-ready data: dates in ISO 8601, amounts as `money_to_dict`."""
    return {
        "line_id": line.line_id,
        "booked_on": line.booked_on.isoformat(),
        "value_on": line.value_on.isoformat() if line.value_on else None,
        "amount": money_to_dict(line.amount),
        "direction": line.direction,
        "reversal": line.reversal,
        "status": line.status,
        "bank_reference": line.bank_reference,
        "end_to_end_id": line.end_to_end_id,
        "message_id": line.message_id,
        "payment_information_id": line.payment_information_id,
        "instruction_id": line.instruction_id,
        "trace_number": line.trace_number,
        "counterparty_name": line.counterparty_name,
        "counterparty_account": line.counterparty_account,
        "remittance": line.remittance,
        "bank_transaction_code": line.bank_transaction_code,
        "return_reason_code": line.return_reason_code,
        "details": [line_to_dict(detail) for detail in line.details],
    }


def statement_to_dict(statement: Statement) -> dict[str, Any]:
    """A statement as JSON-ready data, its lines included."""

    def optional_money(money: Money | None) -> dict[str, Any] | None:
        return money_to_dict(money) if money is not None else None

    return {
        "statement_id": statement.statement_id,
        "account": statement.account,
        "currency": statement.currency,
        "format": statement.format,
        "version": statement.version,
        "opening_balance": optional_money(statement.opening_balance),
        "closing_balance": optional_money(statement.closing_balance),
        "opening_date": statement.opening_date.isoformat() if statement.opening_date else None,
        "closing_date": statement.closing_date.isoformat() if statement.closing_date else None,
        "created_at": statement.created_at.isoformat() if statement.created_at else None,
        "sequence": statement.sequence,
        "lines": [line_to_dict(line) for line in statement.lines],
    }


def statement_file_to_dict(statement_file: StatementFile) -> dict[str, Any]:
    """A whole file as JSON-ready data (what `sellerpay reconcile parse --json` prints)."""
    return {
        "format": statement_file.format,
        "statements": [statement_to_dict(statement) for statement in statement_file.statements],
    }
