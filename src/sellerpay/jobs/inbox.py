"""The inbox of bank files: what the bank connection hands over is stored (encrypted: reports
and statements name accounts) before anything is imported, then imported one file at a time.

The bank hands each file over once, so a worker that died between collecting and importing
would lose it; stored first, it is imported by the next run instead. Importing is idempotent
(payouts and reconciliation remember every file by its SHA-256), so a file imported twice
changes nothing. Status reports and returns go to payouts; statements (camt.053, MT940, CSV)
to reconciliation, on our bank account `platform_bank_account`. A file that cannot be read
stays in the inbox with its error (`outcome`) for an operator, and is not retried.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import structlog
from sqlalchemy import Connection, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from sellerpay.clock import Clock
from sellerpay.crypto import KeyRing
from sellerpay.db import Database
from sellerpay.errors import InvalidInput
from sellerpay.jobs import models
from sellerpay.payouts.banking import InboundFile
from sellerpay.payouts.reports import import_bank_report, report_kind
from sellerpay.reconciliation.service import import_statement

log = structlog.get_logger(__name__)
import_batch_size_max: Final = 100
outcome_length_max: Final = 500
_f = models.job_inbound_files.c


@dataclass(frozen=True, slots=True)
class InboxReport:
    collected: int = 0
    imported: int = 0
    unreadable: int = 0


def _associated(sha256: str) -> bytes:
    return f"inbound:{sha256}".encode()


def store_collected(
    db: Database, files: Sequence[InboundFile], *, keyring: KeyRing, clock: Clock
) -> int:
    """Keep the files (a file already kept, by content, is not stored twice); returns how many
    were new."""
    if not files:
        return 0
    now = clock.now()
    rows: dict[str, dict[str, object]] = {}
    for file in files:
        digest = hashlib.sha256(file.content).hexdigest()
        rows[digest] = {
            "sha256": digest,
            "filename": file.filename.rsplit("/", 1)[-1][:200] or "bank-file",
            "content": keyring.encrypt(file.content, associated_data=_associated(digest)),
            "collected_at": now,
            "attempts": 0,
        }

    def work(conn: Connection) -> int:
        insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        known = set(conn.execute(select(_f.sha256).where(_f.sha256.in_(list(rows)))).scalars())
        new = [row for digest, row in rows.items() if digest not in known]
        if new:
            conn.execute(insert(models.job_inbound_files).on_conflict_do_nothing(), new)
        return len(new)

    return db.run(work)


def import_waiting(
    db: Database, *, keyring: KeyRing, clock: Clock, bank_account: str, limit: int = 50
) -> tuple[int, int]:
    """Import the waiting files, oldest first; returns (imported, unreadable)."""
    if not 1 <= limit <= import_batch_size_max:
        raise ValueError(f"limit is between 1 and {import_batch_size_max}")
    with db.reading() as conn:
        waiting = conn.execute(
            select(_f.sha256, _f.filename, _f.content)
            .where(_f.imported_at.is_(None), _f.outcome.is_(None))
            .order_by(_f.collected_at, _f.sha256)
            .limit(limit)
        ).all()
    imported = unreadable = 0
    for row in waiting:
        content = keyring.decrypt(row.content, associated_data=_associated(row.sha256))
        try:
            outcome = _import_one(db, row.filename, content, clock=clock, bank_account=bank_account)
        except InvalidInput as error:
            log.warning("jobs.bank_file_unreadable", file=row.filename, code=error.code)
            _settle(db, row.sha256, f"{error.code}: {error.detail}", clock=clock, imported=False)
            unreadable += 1
            continue
        _settle(db, row.sha256, outcome, clock=clock, imported=True)
        imported += 1
    return imported, unreadable


def _import_one(
    db: Database, filename: str, content: bytes, *, clock: Clock, bank_account: str
) -> str:
    try:
        kind = report_kind(content)
    except InvalidInput as error:
        if error.code != "unknown_report_format":
            raise
        kind = "statement"  # MT940 or CSV: reconciliation reads them, or says why not
    if kind in ("camt.053", "statement"):
        result = import_statement(
            db, content, filename=filename, bank_account=bank_account, clock=clock
        )
        return (
            f"{result.format} {result.import_id}: "
            + (
                "duplicate"
                if result.duplicate
                else f"{result.matched_lines}/{result.lines} matched"
            )
            + f", {result.exceptions_opened} exceptions"
        )
    report = import_bank_report(db, filename, content, clock=clock)
    return (
        f"{report.kind} {report.report_id}: "
        + ("duplicate" if report.duplicate else f"{report.applied} payouts updated")
        + (f", {len(report.unmatched)} unmatched" if report.unmatched else "")
    )


def _settle(db: Database, sha256: str, outcome: str, *, clock: Clock, imported: bool) -> None:
    """Record what became of the file; an imported file's content is not kept."""

    def work(conn: Connection) -> None:
        values: dict[str, object] = {"outcome": outcome[:outcome_length_max]}
        if imported:
            values.update(imported_at=clock.now(), content=None)
        conn.execute(
            update(models.job_inbound_files)
            .where(_f.sha256 == sha256)
            .values(attempts=models.job_inbound_files.c.attempts + 1, **values)
        )

    db.run(work)
