"""Our side of the line to the simulated bank: the connection the payout engine sends through
(where a worker may die just before or just after the bank takes a file), and the inbox where
the bank's files land before they are imported (so a worker that dies half-way through the
inbox loses nothing: the next run imports what is left, and what was done is a duplicate).

Files go where a real deployment sends them: status reports and returns (pain.002, camt.054,
NACHA returns) to `payouts.reports.import_bank_report`, statements (camt.053, MT940) to
`reconciliation.service.import_statement`. Every file sent and received can be kept on disk
(`sent/` and `received/`), as the demo does.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from sellerpay.clock import Clock
from sellerpay.db import Database
from sellerpay.payouts.banking import BankConnection, InboundFile
from sellerpay.payouts.reports import import_bank_report
from sellerpay.rails.instructions import TransferStatus
from sellerpay.reconciliation.service import import_statement
from sellerpay.simulation.faults import Restarts

__all__ = ["BankLine", "Inbox", "InboxOutcome", "SentFile", "file_kind"]

FileKind = Literal["pain.002", "camt.054", "nacha_returns", "camt.053", "mt940"]
_SUFFIXES: Final[tuple[tuple[str, FileKind], ...]] = (
    (".pain002.xml", "pain.002"),
    (".camt054.xml", "camt.054"),
    (".returns.ach", "nacha_returns"),
    (".camt053.xml", "camt.053"),
    (".mt940.sta", "mt940"),
)
STATEMENT_KIND: Final = "camt.053"
KEPT_ONLY: Final = frozenset({"mt940"})
"""The bank sends each statement twice, as camt.053 and as MT940 (same statement id). One
format is imported, as a deployment subscribes to one: importing both would book every
line twice (reconciliation tells statements apart by id, sequence, dates, balances and line
count, and the MT940 of a batch-booked day has another shape). MT940 files are kept."""


def file_kind(filename: str) -> FileKind:
    """What a file from the simulated bank is, by the suffix the bank gives it."""
    for suffix, kind in _SUFFIXES:
        if filename.endswith(suffix):
            return kind
    raise ValueError(f"the simulated bank sent a file of unknown kind: {filename}")


@dataclass(frozen=True, slots=True)
class SentFile:
    rail: str
    filename: str
    message_id: str
    sha256: str
    size: int


class BankLine:
    """The `BankConnection` the payout engine uses in the simulation: the simulated bank behind
    it, the files it sends kept, and a worker that may die right before or right after the bank
    takes a file (the submission then stays "sending" until `resolve_submissions` asks)."""

    def __init__(self, bank: BankConnection, *, restarts: Restarts, out: Path | None) -> None:
        self.bank = bank
        self.restarts = restarts
        self.out = out
        self.sent: list[SentFile] = []
        self.attempts: Counter[str] = Counter()  # message id -> times handed over

    def send(self, rail: str, filename: str, content: bytes, message_id: str) -> None:
        self.restarts.point("submit: before the bank call")
        self.attempts[message_id] += 1
        if self.attempts[message_id] == 1:  # a file sent again is the same file: kept once
            digest = hashlib.sha256(content).hexdigest()
            self.sent.append(SentFile(rail, filename, message_id, digest, len(content)))
            if self.out is not None:
                _write(self.out / "sent", filename, content)
        self.bank.send(rail, filename, content, message_id)
        self.restarts.point("submit: after the bank took the file")

    def inquire(
        self, rail: str, message_id: str, end_to_end_ids: Sequence[str]
    ) -> Sequence[TransferStatus]:
        return self.bank.inquire(rail, message_id, end_to_end_ids)

    def collect(self) -> Sequence[InboundFile]:
        return self.bank.collect()


@dataclass(slots=True)
class InboxOutcome:
    """What importing the bank's files did, over the whole run."""

    received: Counter[str] = field(default_factory=Counter)  # kind -> files
    duplicates: Counter[str] = field(default_factory=Counter)  # kind -> files seen before
    applied: int = 0  # payouts moved by status reports and returns
    unmatched: list[str] = field(default_factory=list)
    statements_imported: int = 0
    statement_lines: int = 0
    statement_matched_lines: int = 0
    exceptions_opened: int = 0
    files: list[tuple[str, str]] = field(default_factory=list)  # (filename, sha256) in order


class Inbox:
    """Files collected from the bank, waiting to be imported; a file leaves only once its
    import returned, so a crash in between imports it again (a duplicate, changing nothing)."""

    def __init__(
        self,
        db: Database,
        *,
        bank_account: str,
        restarts: Restarts,
        out: Path | None,
        on_file: Callable[[str], None] | None = None,
    ) -> None:
        self.db = db
        self.bank_account = bank_account
        self.restarts = restarts
        self.out = out
        self.on_file = on_file
        self.waiting: list[InboundFile] = []
        self.outcome = InboxOutcome()

    def collect(self, bank: BankConnection) -> int:
        files = list(bank.collect())
        for file in files:
            kind = file_kind(file.filename)
            self.outcome.received[kind] += 1
            self.outcome.files.append((file.filename, hashlib.sha256(file.content).hexdigest()))
            if self.out is not None:
                _write(self.out / "received", file.filename, file.content)
        self.waiting.extend(files)
        return len(files)

    def import_waiting(self, clock: Clock) -> None:
        """Import every waiting file in arrival order; a worker may die between two files."""
        while self.waiting:
            file = self.waiting[0]
            self._import(file, clock)
            self.restarts.point("import: between two bank files")
            self.waiting.pop(0)
            if self.on_file is not None:
                self.on_file(file.filename)

    def _import(self, file: InboundFile, clock: Clock) -> None:
        kind = file_kind(file.filename)
        if kind in KEPT_ONLY:
            return
        if kind == STATEMENT_KIND:
            self._import_statement(file, kind, clock)
            return
        report = import_bank_report(self.db, file.filename, file.content, clock=clock)
        if report.duplicate:
            self.outcome.duplicates[kind] += 1
            return
        self.outcome.applied += report.applied
        self.outcome.unmatched.extend(report.unmatched)

    def _import_statement(self, file: InboundFile, kind: str, clock: Clock) -> None:
        def crash_after_matching(stage: str, _done: int, _total: int) -> None:
            if stage == "matched":  # stored and matched; effects not applied yet
                self.restarts.point("reconciliation: between matching and its effects")

        result = import_statement(
            self.db,
            file.content,
            filename=file.filename,
            bank_account=self.bank_account,
            clock=clock,
            on_progress=crash_after_matching,
        )
        if result.duplicate:
            self.outcome.duplicates[kind] += 1
            return
        self.outcome.statements_imported += result.statements
        self.outcome.statement_lines += result.lines
        self.outcome.statement_matched_lines += result.matched_lines
        self.outcome.exceptions_opened += result.exceptions_opened


def _write(folder: Path, filename: str, content: bytes) -> None:
    """Keep a file under its own name; a name seen before (NACHA names files by the minute)
    gets a number."""
    folder.mkdir(parents=True, exist_ok=True)
    name = Path(filename).name
    path, number = folder / name, 1
    while path.exists():
        number += 1
        stem, dot, suffix = name.partition(".")
        path = folder / f"{stem}-{number}{dot}{suffix}"
    path.write_bytes(content)
