"""What a rail takes in and gives back: credit transfers out, status reports and returns in.

These dataclasses are the whole contract between the payouts context and the rail adapters.
A rail adapter is pure: `CreditTransfer`s in, a `BankFile` out; bytes of a bank's answer in,
`StatusReport`s and `ReturnNotice`s out. Account numbers appear here in clear because the bank
file is the one place where they must; nothing here is logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from sellerpay.money import Money

RailName = Literal["sepa", "sepa_instant", "ach", "zengin", "bacs", "fps", "provider"]
RAIL_NAMES: tuple[RailName, ...] = (
    "sepa",
    "sepa_instant",
    "ach",
    "zengin",
    "bacs",
    "fps",
    "provider",
)

END_TO_END_ID_LENGTH_MAX = 35  # ISO 20022 Max35Text; also fits NACHA/Zengin/Bacs references


@dataclass(frozen=True, slots=True)
class IbanAccount:
    """A SEPA account: IBAN (electronic form, no spaces) and, optionally, the BIC."""

    iban: str
    bic: str | None = None


@dataclass(frozen=True, slots=True)
class AbaAccount:
    """A US account: ABA routing number (9 digits, with check digit) and account number."""

    routing_number: str
    account_number: str
    account_type: Literal["checking", "savings"] = "checking"


@dataclass(frozen=True, slots=True)
class UkAccount:
    """A UK account: sort code (6 digits) and account number (8 digits)."""

    sort_code: str
    account_number: str


@dataclass(frozen=True, slots=True)
class ZenginAccount:
    """A Japanese account: bank code (4 digits), branch code (3), type and number (7)."""

    bank_code: str
    branch_code: str
    account_number: str
    account_type: Literal["ordinary", "current"] = "ordinary"  # 普通 / 当座


BankAccountDetails = IbanAccount | AbaAccount | UkAccount | ZenginAccount


@dataclass(frozen=True, slots=True)
class CreditTransfer:
    """One payout as a rail sees it: pay `amount` to `creditor_account` on `execution_date`.

    `creditor_name` is the bank account holder's name as the bank file needs it (for Zengin,
    half-width katakana already; other rails transliterate to their own character set).
    `end_to_end_id` is unique per payout and travels through every bank message.
    """

    end_to_end_id: str
    amount: Money
    creditor_name: str
    creditor_account: BankAccountDetails
    execution_date: date
    remittance: str = ""
    creditor_kind: Literal["individual", "company"] = "company"  # ACH: PPD vs CCD
    instant: bool = False  # SEPA Instant (SCT Inst)


@dataclass(frozen=True, slots=True)
class Originator:
    """The platform's own account and identifiers, as each rail needs them.

    Only the fields of the rail in use are required; each adapter checks its own and raises
    `RailError` naming the missing field.
    """

    name: str
    account: BankAccountDetails
    country: str = "FR"
    # ACH: immediate destination (ODFI routing), immediate origin and company identification
    ach_immediate_destination: str = ""
    ach_immediate_origin: str = ""
    ach_company_id: str = ""
    ach_destination_name: str = ""
    # Zengin: 委託者コード (10 digits) and the requester's name in half-width katakana
    zengin_requester_code: str = ""
    zengin_requester_name_kana: str = ""
    # Bacs: service user number (6 digits)
    bacs_service_user_number: str = ""


@dataclass(frozen=True, slots=True)
class BankFile:
    """A file ready to hand to a bank: its bytes and what it holds, for checks and records."""

    rail: RailName
    filename: str
    content: bytes
    message_id: str
    transfer_count: int
    control_sums: dict[str, int]  # currency -> total minor units
    end_to_end_ids: tuple[str, ...]
    # e.g. pain.001 payment information ids -> end-to-end ids (for batch booking matches)
    batches: dict[str, tuple[str, ...]] = field(default_factory=dict)
    created_at: datetime | None = None


# accepted: taken for processing (pain.002 ACCP/ACTC/ACSP); settled: executed, the money left
# (ACSC, a debit notification, a provider's "paid"); unknown: the bank has no such transfer
TransferState = Literal["accepted", "settled", "rejected", "pending", "unknown"]


@dataclass(frozen=True, slots=True)
class TransferStatus:
    """The bank's word on one transfer of a submission."""

    end_to_end_id: str
    state: TransferState
    reason_code: str | None = None  # ISO 20022 external status reason (AC01, AM04, …)
    reason_text: str | None = None
    # pain.002: the payment information block the bank listed this transfer under
    payment_information_id: str | None = None


@dataclass(frozen=True, slots=True)
class BatchStatus:
    """The bank's word on one batch of a submission (pain.002 payment information status).

    `state` applies to every transfer of the batch (see `BankFile.batches`) not listed in
    `StatusReport.transfers`; None when the bank gave no batch status or a partial one.
    """

    payment_information_id: str
    state: TransferState | None
    reason_code: str | None = None
    reason_text: str | None = None


@dataclass(frozen=True, slots=True)
class StatusReport:
    """A status report (pain.002, NACHA acknowledgment, provider answer) about a submission.

    `group_state` applies to every transfer not listed in `transfers` (a group rejection
    rejects them all) nor covered by a batch status in `batches`.
    """

    message_id: str
    original_message_id: str
    created_at: datetime | None
    group_state: TransferState | None
    transfers: tuple[TransferStatus, ...]
    group_reason_code: str | None = None
    group_reason_text: str | None = None
    # batch statuses take precedence over `group_state` for the transfers of their batch
    batches: tuple[BatchStatus, ...] = ()


@dataclass(frozen=True, slots=True)
class ReturnNotice:
    """Money of a paid payout sent back by the beneficiary's bank, with the reason code.

    `end_to_end_id` identifies the payout (for NACHA, the original trace number maps to it
    through the file the payout went in: `original_trace` carries it).
    """

    end_to_end_id: str
    amount: Money
    reason_code: str  # ISO (AC04…) or NACHA (R01…)
    booked_on: date
    bank_reference: str = ""
    original_trace: str = ""
    reason_text: str = ""


class RailError(ValueError):
    """A rail refused its input or could not read a bank's file.

    `where` names the line, record or XML element at fault so that an operator can find it.
    """

    def __init__(self, message: str, *, where: str | None = None, code: str = "rail_error"):
        self.message = message
        self.where = where
        self.code = code
        super().__init__(f"{message} (at {where})" if where else message)
