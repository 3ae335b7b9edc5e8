"""Builders shared by the simulated bank's tests: originators, payouts and files of every rail,
a bank on a fixed clock, and a way to read back everything the bank sent.

Imported by the test modules of this folder (pytest puts the folder on `sys.path`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sellerpay.clock import FixedClock
from sellerpay.money import Money
from sellerpay.payouts.banking import InboundFile
from sellerpay.rails.bacs import write_bacs_std18
from sellerpay.rails.camt import parse_camt, returns_from_camt054
from sellerpay.rails.instructions import (
    AbaAccount,
    BankFile,
    CreditTransfer,
    IbanAccount,
    Originator,
    ReturnNotice,
    StatusReport,
    UkAccount,
    ZenginAccount,
)
from sellerpay.rails.nacha import returns_from_nacha, write_nacha
from sellerpay.rails.pain002 import parse_pain002
from sellerpay.rails.provider import write_provider_batch
from sellerpay.rails.sepa import write_pain001
from sellerpay.rails.statements import Statement
from sellerpay.rails.swift_mt940 import parse_mt940
from sellerpay.rails.zengin import write_zengin
from sellerpay.simbank import FaultConfig, SimulatedBank

MONDAY = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday: a banking day
TUESDAY = MONDAY.date() + timedelta(days=1)
NO_FAULTS = FaultConfig()

# -- originators ------------------------------------------------------------------------------

SEPA_ORIGINATOR = Originator(
    name="Sellerpay SAS",
    account=IbanAccount("FR1420041010050500013M02606", "BNPAFRPP"),
    country="FR",
)
ACH_ORIGINATOR = Originator(
    name="Sellerpay Inc",
    account=AbaAccount("021000021", "123456789"),
    country="US",
    ach_immediate_destination="021000021",
    ach_immediate_origin="1234567890",
    ach_company_id="1234567890",
    ach_destination_name="JPMORGAN CHASE",
)
ZENGIN_ORIGINATOR = Originator(
    name="Sellerpay KK",
    account=ZenginAccount("0001", "001", "1234567"),
    country="JP",
    zengin_requester_code="1234567890",
    zengin_requester_name_kana="セラーペイ",
)
BACS_ORIGINATOR = Originator(
    name="Sellerpay Ltd",
    account=UkAccount("401234", "12345678"),
    country="GB",
    bacs_service_user_number="123456",
)


# -- payouts ----------------------------------------------------------------------------------


def sepa_payouts(
    count: int, *, prefix: str = "PO-S", start_minor: int = 1000
) -> list[CreditTransfer]:
    return [
        CreditTransfer(
            end_to_end_id=f"{prefix}{number}",
            amount=Money(start_minor + number, "EUR"),
            creditor_name="Seller GmbH",
            creditor_account=IbanAccount("DE89370400440532013000", "COBADEFFXXX"),
            execution_date=TUESDAY,
            remittance=f"Sellerpay payout {prefix}{number}",
        )
        for number in range(count)
    ]


def ach_payouts(count: int, *, prefix: str = "PO-A") -> list[CreditTransfer]:
    return [
        CreditTransfer(
            end_to_end_id=f"{prefix}{number}",
            amount=Money(2500 + number, "USD"),
            creditor_name="Seller LLC",
            creditor_account=AbaAccount("011000015", f"98765{number:04d}"),
            execution_date=TUESDAY,
        )
        for number in range(count)
    ]


def zengin_payouts(count: int, *, prefix: str = "PO-Z") -> list[CreditTransfer]:
    return [
        CreditTransfer(
            end_to_end_id=f"{prefix}{number}",
            amount=Money(10_000 + number, "JPY"),
            creditor_name="ﾔﾏﾀﾞ ﾀﾛｳ",
            creditor_account=ZenginAccount("0005", "123", f"{number:07d}"),
            execution_date=TUESDAY,
        )
        for number in range(count)
    ]


def bacs_payouts(count: int, *, prefix: str = "PO-B") -> list[CreditTransfer]:
    return [
        CreditTransfer(
            end_to_end_id=f"{prefix}{number:06d}",
            amount=Money(700 + number, "GBP"),
            creditor_name="Seller Ltd",
            creditor_account=UkAccount("200000", f"{number:08d}"),
            execution_date=TUESDAY,
        )
        for number in range(count)
    ]


# -- files ------------------------------------------------------------------------------------


def sepa_file(transfers: Sequence[CreditTransfer], message_id: str = "MSG-SEPA-1") -> BankFile:
    return write_pain001(transfers, SEPA_ORIGINATOR, message_id=message_id, created_at=MONDAY)


def ach_file(transfers: Sequence[CreditTransfer]) -> BankFile:
    return write_nacha(
        transfers, ACH_ORIGINATOR, file_id_modifier="A", created_at=MONDAY, effective_date=TUESDAY
    )


def zengin_file(transfers: Sequence[CreditTransfer], message_id: str = "MSG-ZENGIN-1") -> BankFile:
    return write_zengin(
        transfers, ZENGIN_ORIGINATOR, transfer_date=TUESDAY, created_at=MONDAY,
        message_id=message_id,
    )  # fmt: skip


def bacs_file(transfers: Sequence[CreditTransfer], serial: str = "SER001") -> BankFile:
    return write_bacs_std18(
        transfers, BACS_ORIGINATOR, processing_date=TUESDAY, serial=serial, created_at=MONDAY
    )


def provider_file(
    transfers: Sequence[CreditTransfer], message_id: str = "MSG-PROVIDER-1"
) -> BankFile:
    return write_provider_batch(
        transfers, SEPA_ORIGINATOR, message_id=message_id, created_at=MONDAY
    )


# -- the bank ---------------------------------------------------------------------------------


def new_bank(
    faults: FaultConfig = NO_FAULTS, *, seed: int = 7, start: datetime = MONDAY
) -> tuple[SimulatedBank, FixedClock]:
    clock = FixedClock(start)
    return SimulatedBank(clock=clock, seed=seed, faults=faults), clock


def run_days(bank: SimulatedBank, clock: FixedClock, days: int) -> list[InboundFile]:
    """Move the clock day by day and collect everything the bank sent meanwhile."""
    collected: list[InboundFile] = []
    for _ in range(days):
        clock.advance(timedelta(days=1))
        bank.advance()
        collected.extend(bank.collect())
    return collected


@dataclass
class Reports:
    """Everything the bank sent, parsed with our own parsers, by kind."""

    status_reports: list[StatusReport] = field(default_factory=list)
    debit_notices: list[Statement] = field(default_factory=list)
    returns: list[ReturnNotice] = field(default_factory=list)
    camt053: list[Statement] = field(default_factory=list)
    mt940: list[Statement] = field(default_factory=list)
    names: list[str] = field(default_factory=list)


def read_reports(files: Sequence[InboundFile], *, ach_trace_map: Any = None) -> Reports:
    """Parse each file by its kind; a file of no known kind fails the test."""
    reports = Reports()
    for file in files:
        reports.names.append(file.filename)
        if file.filename.endswith(".pain002.xml"):
            reports.status_reports.append(parse_pain002(file.content))
        elif file.filename.endswith(".camt054.xml"):
            statements = parse_camt(file.content).statements
            notices = returns_from_camt054(file.content)
            if notices:
                reports.returns.extend(notices)
            else:
                reports.debit_notices.extend(statements)
        elif file.filename.endswith(".returns.ach"):
            reports.returns.extend(returns_from_nacha(file.content, trace_map=ach_trace_map))
        elif file.filename.endswith(".camt053.xml"):
            reports.camt053.extend(parse_camt(file.content).statements)
        elif file.filename.endswith(".mt940.sta"):
            reports.mt940.extend(parse_mt940(file.content).statements)
        else:
            raise AssertionError(f"the bank sent a file of no known kind: {file.filename}")
    return reports


def unique(files: Sequence[InboundFile]) -> list[InboundFile]:
    """The files without repeated deliveries (duplicate reports are the same bytes again)."""
    seen: set[tuple[str, bytes]] = set()
    kept = []
    for file in files:
        if (file.filename, file.content) not in seen:
            seen.add((file.filename, file.content))
            kept.append(file)
    return kept


def day(offset: int) -> date:
    return MONDAY.date() + timedelta(days=offset)
