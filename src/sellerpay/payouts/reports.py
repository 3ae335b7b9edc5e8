"""Files from the bank about our payouts: status reports (pain.002), returns (camt.054, NACHA
return files). Each file is applied once (remembered by its SHA-256), whatever its name.

Statements (camt.053, MT940) are reconciliation's: `import_bank_report` says so instead of
guessing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sellerpay.clock import Clock
from sellerpay.db import Database
from sellerpay.errors import InvalidInput
from sellerpay.payouts import service
from sellerpay.rails.camt import parse_camt, returns_from_camt054
from sellerpay.rails.instructions import RailError
from sellerpay.rails.nacha import returns_from_nacha
from sellerpay.rails.pain002 import parse_pain002


@dataclass(frozen=True, slots=True)
class ReportOutcome:
    report_id: str
    kind: str
    duplicate: bool
    applied: int
    unmatched: tuple[str, ...]


def report_kind(content: bytes) -> str:
    """pain.002, camt.054 or NACHA returns, from the bytes (never from the file name)."""
    head = content[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        if b"pain.002" in head or b"CstmrPmtStsRpt" in head:
            return "pain.002"
        if b"camt.054" in head or b"BkToCstmrDbtCdtNtfctn" in head:
            return "camt.054"
        if b"camt.053" in head or b"BkToCstmrStmt" in head:
            return "camt.053"
        raise InvalidInput(
            "an XML file that is neither pain.002 nor camt.054", code="unknown_report_format"
        )
    if head[:3] == b"101":  # NACHA: the file header record starts "101"
        return "nacha"
    raise InvalidInput(
        "not a bank report this engine reads (pain.002, camt.054, NACHA)",
        code="unknown_report_format",
    )


def import_bank_report(
    db: Database, filename: str, content: bytes, *, clock: Clock
) -> ReportOutcome:
    """Parse, apply and remember a bank report. A malformed file is `InvalidInput` naming the
    line or element, and nothing is applied; the same file again is a duplicate and changes
    nothing."""
    kind = report_kind(content)
    if kind == "camt.053":
        raise InvalidInput(
            "camt.053 is a statement: import it with `sellerpay reconcile import`",
            code="statement_not_report",
        )
    if service.seen_report(db, content):
        report_id, _ = service.record_report(
            db, kind=kind, filename=filename, content=content, clock=clock, summary={}
        )
        return ReportOutcome(report_id, kind, True, 0, ())
    try:
        if kind == "pain.002":
            applied, unmatched = service.apply_status_report(
                db, parse_pain002(content), clock=clock
            )
        elif kind == "camt.054":
            applied, unmatched = service.apply_returns(
                db, returns_from_camt054(content), clock=clock
            )
        else:
            applied, unmatched = service.apply_returns(db, returns_from_nacha(content), clock=clock)
    except RailError as error:
        raise InvalidInput(
            f"{kind}: {error}", code="malformed_report", where=error.where
        ) from error
    report_id, duplicate = service.record_report(
        db,
        kind=kind,
        filename=filename,
        content=content,
        clock=clock,
        summary={"applied": applied, "unmatched": unmatched[:100]},
    )
    return ReportOutcome(report_id, kind, duplicate, applied, tuple(unmatched))


def _apply_notification(db: Database, content: bytes, *, clock: Clock) -> tuple[int, list[str]]:
    """A camt.054: debits of our payouts confirm them paid; credits with a return reason are
    returns."""
    returns = returns_from_camt054(content)
    settled = [
        transfer.end_to_end_id
        for statement in parse_camt(content).statements
        for line in statement.lines
        for transfer in (line.details or (line,))
        if transfer.direction == "debit" and not transfer.reversal and transfer.end_to_end_id
    ]
    paid = service.mark_paid(db, settled, clock=clock) if settled else 0
    applied, unmatched = service.apply_returns(db, returns, clock=clock) if returns else (0, [])
    return paid + applied, unmatched
