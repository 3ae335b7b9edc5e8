"""What the simulated bank remembers: each transfer it took, and the counts tests check.

`BankTransfer` is the bank's own mutable record (kept under the bank's lock); `TransferRecord`
and `BankStats` are frozen snapshots handed out. `BankStats.executed` is the ground truth
for invariant 5 of RELIABILITY.md: a payout is executed at most once, so no reference may
ever count 2 there, whatever the payout engine sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from sellerpay.money import Money
from sellerpay.rails.instructions import RailName
from sellerpay.simbank.intake import ReceivedTransfer
from sellerpay.simbank.outcomes import Outcome

AccountKey = tuple[str, str]
"""Our account at the bank: (account identifier, currency)."""
BankState = Literal["accepted", "rejected", "settled"]


@dataclass(slots=True)
class BankTransfer:
    """One transfer the bank took, and where it stands (mutated only under the bank's lock)."""

    rail: RailName
    message_id: str
    account: AccountKey
    received: ReceivedTransfer
    received_at: datetime
    executes_on: date
    outcome: Outcome
    state: BankState
    bank_reference: str = ""
    booked_on: date | None = None
    returned_on: date | None = None
    payout_id: str | None = None

    @property
    def reference(self) -> str:
        return self.received.reference

    def snapshot(self) -> TransferRecord:
        return TransferRecord(
            rail=self.rail,
            message_id=self.message_id,
            reference=self.reference,
            amount=self.received.amount,
            state=self.state,
            reject_reason=self.outcome.reject_reason,
            return_reason=self.outcome.return_reason,
            executes_on=self.executes_on,
            booked_on=self.booked_on,
            returned_on=self.returned_on,
            bank_reference=self.bank_reference,
        )


@dataclass(frozen=True, slots=True)
class TransferRecord:
    """A transfer as the bank sees it now: for tests and the demo's summary."""

    rail: str
    message_id: str
    reference: str
    amount: Money
    state: BankState
    reject_reason: str | None
    return_reason: str | None
    executes_on: date
    booked_on: date | None
    returned_on: date | None
    bank_reference: str


@dataclass(frozen=True, slots=True)
class BankStats:
    """Counts since the bank opened. `received`, `executed` and `returned` are per reference
    (the end-to-end id as the file carried it): a file sent twice counts its transfers twice
    in `received`, once in `executed`."""

    files_received: int = 0
    files_duplicate: int = 0
    files_refused: int = 0
    timeouts_before_accept: int = 0
    timeouts_after_accept: int = 0
    inquiries: int = 0
    reports_written: int = 0
    reports_duplicated: int = 0
    provider_requests: int = 0
    provider_conflicts: int = 0
    received: dict[str, int] = field(default_factory=dict)
    executed: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    returned: dict[str, int] = field(default_factory=dict)

    def executed_more_than_once(self) -> list[str]:
        """References the bank paid twice or more: each one breaks invariant 5."""
        return sorted(reference for reference, count in self.executed.items() if count > 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "files_received": self.files_received,
            "files_duplicate": self.files_duplicate,
            "files_refused": self.files_refused,
            "timeouts_before_accept": self.timeouts_before_accept,
            "timeouts_after_accept": self.timeouts_after_accept,
            "inquiries": self.inquiries,
            "reports_written": self.reports_written,
            "reports_duplicated": self.reports_duplicated,
            "provider_requests": self.provider_requests,
            "provider_conflicts": self.provider_conflicts,
            "received": dict(sorted(self.received.items())),
            "executed": dict(sorted(self.executed.items())),
            "rejected": dict(sorted(self.rejected.items())),
            "returned": dict(sorted(self.returned.items())),
            "executed_more_than_once": self.executed_more_than_once(),
        }
