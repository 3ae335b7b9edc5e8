"""The simulated bank: takes our payout files and provider API calls, answers like a bank.

Used by the demo and the tests, in-process (`SimulatedBank`) or over HTTP (`sellerpay simbank`,
`server.create_simbank_app`, reached with `client.HttpBank`). Both implement the payouts
context's `BankConnection`. Deterministic: a seed and a clock decide everything; faults are
configured by `FaultConfig` (profiles none, default, chaos). See docs/simbank.md.
"""

from sellerpay.simbank.bank import ProviderConflict, Receipt, SimulatedBank
from sellerpay.simbank.faults import FAULT_PROFILES, FaultConfig, FaultProfile, fault_profile
from sellerpay.simbank.intake import reference_for
from sellerpay.simbank.records import BankStats, TransferRecord

__all__ = [
    "FAULT_PROFILES",
    "BankStats",
    "FaultConfig",
    "FaultProfile",
    "ProviderConflict",
    "Receipt",
    "SimulatedBank",
    "TransferRecord",
    "fault_profile",
    "reference_for",
]
