"""The connection to a bank or provider: send a file, ask about transfers, collect reports.

This is the I/O beside the pure rails: the simulated bank implements it in-process and over
HTTP (`sellerpay simbank`); a real deployment would implement it over EBICS, SFTP or the
provider's API. Its two errors are the whole at-most-once story: `BankTimeout` means nobody
knows whether the bank got the file (so it is asked, never sent again blindly), `BankRefused`
means it certainly did not take it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sellerpay.rails.instructions import TransferStatus


class BankTimeout(Exception):
    """The call ended without an answer: the bank may or may not have the file."""


class BankRefused(Exception):
    """The bank refused the whole file on receipt (malformed, unknown sender): nothing was
    taken, every transfer in it is rejected with `reason_code`."""

    def __init__(self, message: str, *, reason_code: str = "FF01") -> None:
        super().__init__(message)
        self.reason_code = reason_code


@dataclass(frozen=True, slots=True)
class InboundFile:
    """A file the bank made available: a status report, a notification, returns, a statement."""

    filename: str
    content: bytes


class BankConnection(Protocol):
    def send(self, rail: str, filename: str, content: bytes, message_id: str) -> None:
        """Hand over a file; returns when the bank acknowledged receipt."""

    def inquire(
        self, rail: str, message_id: str, end_to_end_ids: Sequence[str]
    ) -> Sequence[TransferStatus]:
        """The bank's current status of each transfer (state "unknown": never received)."""

    def collect(self) -> Sequence[InboundFile]:
        """Files waiting for us since the last call (each returned once; may repeat on faults)."""
