"""What the audit tests share: recording a record with defaults, and tampering with the table
behind the database's back (the append-only triggers are switched off for the tamper only)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text

from sellerpay.audit.rules import AuditRecord
from sellerpay.audit.service import record_audit
from sellerpay.db import Database

T0 = datetime(2026, 11, 26, 9, 30, 0, 123456, tzinfo=UTC)

_SQLITE_TRIGGERS = {
    operation: (
        f"CREATE TRIGGER audit_records_no_{operation.lower()} BEFORE {operation} ON audit_records"
        f" BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only:"
        f" {operation} on audit_records refused'); END"
    )
    for operation in ("UPDATE", "DELETE")
}


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def record(conn: Connection, number: int = 0, **overrides: Any) -> AuditRecord:
    """An audit record of a seller's status change, numbered so records differ."""
    fields: dict[str, Any] = {
        "actor": "key:3f9a1c2b4d5e6f70 (ops desk, admin)",
        "action": "seller.status_changed",
        "subject_type": "seller",
        "subject_id": f"sel_audit{number}",
        "before": {"status": "active", "version": number},
        "after": {"status": "restricted", "version": number + 1},
        "source_ip": "203.0.113.7",
        "at": T0 + timedelta(seconds=number),
        "request_id": f"req_{number}",
    }
    fields.update(overrides)
    return record_audit(conn, **fields)


def record_many(db: Database, count: int, **overrides: Any) -> list[AuditRecord]:
    """`count` records, each in its own unit of work as real actions write them."""
    return [db.run(lambda conn, n=n: record(conn, n, **overrides)) for n in range(count)]


def head(db: Database) -> tuple[int, str]:
    with db.reading() as conn:
        row = conn.execute(text("SELECT last_seq, last_hash FROM audit_chain_head")).one()
    return int(row.last_seq), str(row.last_hash)


@contextmanager
def tampering(db: Database) -> Iterator[Connection]:
    """A connection on which UPDATE and DELETE of audit records work: the triggers are off
    inside this transaction only and back on when it commits (an attacker with DBA rights)."""
    with db.transaction() as conn:
        if db.dialect == "postgresql":
            conn.execute(
                text("ALTER TABLE audit_records DISABLE TRIGGER audit_records_append_only")
            )
            yield conn
            conn.execute(text("ALTER TABLE audit_records ENABLE TRIGGER audit_records_append_only"))
            return
        for operation in _SQLITE_TRIGGERS:
            conn.execute(text(f"DROP TRIGGER audit_records_no_{operation.lower()}"))
        yield conn
        for create in _SQLITE_TRIGGERS.values():
            conn.execute(text(create))


def set_column(db: Database, seq: int, column: str, value: Any) -> None:
    """Overwrite one column of the record at `seq`, as a tamperer would."""
    with tampering(db) as conn:
        updated = conn.execute(
            text(f'UPDATE audit_records SET "{column}" = :value WHERE seq = :seq'),
            {"value": value, "seq": seq},
        ).rowcount
    assert updated == 1


def set_document(db: Database, seq: int, column: str, document: Mapping[str, Any]) -> None:
    """Overwrite `before` or `after` of the record at `seq` with a JSON document."""
    cast = "CAST(:value AS jsonb)" if db.dialect == "postgresql" else ":value"
    with tampering(db) as conn:
        updated = conn.execute(
            text(f'UPDATE audit_records SET "{column}" = {cast} WHERE seq = :seq'),
            {"value": json.dumps(document), "seq": seq},
        ).rowcount
    assert updated == 1
