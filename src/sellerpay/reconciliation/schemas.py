"""Request and response bodies of the reconciliation API: one schema per purpose, every string
bounded, every amount a `MoneyOut` (integer minor units with the currency)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from sellerpay.ledger.schemas import MoneyOut

note_length_max: Final = 2_000
payouts_per_match_max: Final = 1_000

Note = Annotated[str, StringConstraints(max_length=note_length_max)]
PayoutId = Annotated[str, StringConstraints(min_length=1, max_length=40)]
ExceptionKind = Literal[
    "unmatched_line",
    "amount_mismatch",
    "expected_past_due",
    "balance_difference",
    "opening_balance_gap",
]
ExceptionStatus = Literal["open", "investigating", "resolved"]


class ImportPublic(BaseModel):
    """What an import did; `duplicate` when the file (or each of its statements) was seen."""

    import_id: str | None
    duplicate: bool
    format: str
    statements: int
    statements_skipped: int
    lines: int
    matched_lines: int
    exceptions_opened: int
    effects_applied: int
    message: str
    statement_ids: list[str]
    rules: dict[str, int] = Field(description="Lines matched by each rule")


class StatementPublic(BaseModel):
    id: str
    import_id: str
    bank_account: str
    account: str = Field(description="The account number as the bank wrote it")
    currency: str
    statement_id: str
    sequence: str
    format: str
    opening_balance: MoneyOut | None
    closing_balance: MoneyOut | None
    opening_date: date | None
    closing_date: date | None
    line_count: int
    adds_up: bool | None = Field(description="Opening balance + booked lines = closing balance")
    imported_at: datetime
    line_states: dict[str, int] = Field(description="Lines by state (only on GET by id)")


class StatementPage(BaseModel):
    statements: list[StatementPublic]
    next_cursor: str | None


class NotePublic(BaseModel):
    seq: int
    author: str
    text: str
    at: datetime


class LinePublic(BaseModel):
    id: str
    line_ref: str
    booked_on: date
    amount: MoneyOut
    direction: Literal["credit", "debit"]
    state: str
    references: dict[str, str]
    counterparty_name: str
    counterparty_account: str
    remittance: str


class ExceptionPublic(BaseModel):
    """An item of the exceptions queue. `amount` is signed as our bank balance moves."""

    id: str
    kind: ExceptionKind
    status: ExceptionStatus
    bank_account: str
    currency: str
    owner: str | None
    line_id: str | None
    statement_row_id: str | None
    expected_key: str | None
    on_date: date | None
    amount: MoneyOut | None
    detail: str
    evidence: dict[str, Any]
    resolution: Literal["manual_match", "write_off", "accepted"] | None
    pending: dict[str, Any] | None = Field(description="A write-off waiting for its approver")
    resolved_by: str | None
    approved_by: str | None
    resolved_at: datetime | None
    ledger_transaction_id: str | None
    created_at: datetime
    updated_at: datetime
    version: int
    notes: list[NotePublic]
    line: LinePublic | None


class ExceptionPage(BaseModel):
    exceptions: list[ExceptionPublic]
    next_cursor: str | None


class AssignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class NoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, StringConstraints(min_length=1, max_length=note_length_max)]


class ResolveRequest(BaseModel):
    """`manual_match` links the exception's line to `payout_ids`; `write_off` asks an approver
    to book the amount; `accepted` closes it with nothing to book (say why in `note`)."""

    model_config = ConfigDict(extra="forbid")

    resolution: Literal["manual_match", "write_off", "accepted"]
    note: Note = ""
    payout_ids: list[PayoutId] = Field(default_factory=list, max_length=payouts_per_match_max)


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Note = ""
