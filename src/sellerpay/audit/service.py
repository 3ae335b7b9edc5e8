"""Use cases of the audit trail: record an action in the caller's unit of work, list records,
and verify the whole chain.

`record_audit` runs on the caller's connection, so the record commits or rolls back with the
action it describes. Appends are serialised by locking the one-row chain head (`SELECT … FOR
UPDATE` on PostgreSQL; SQLite's write lock does it there), which is held until the caller
commits: call `record_audit` as the last write of the unit of work.

Errors: `InvalidInput` (a field or document the trail cannot hold, naming it;
`invalid_limit`), `InvariantViolation` (the chain head row is missing: a broken migration).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, Row, func, select

from sellerpay.audit import models
from sellerpay.audit.rules import (
    GENESIS_HASH,
    AuditRecord,
    BreakKind,
    ChainBreak,
    check_head,
    check_link,
    draft_record,
    seal,
)
from sellerpay.db import Database
from sellerpay.errors import InvalidInput, invariant
from sellerpay.ids import prefixed_id

__all__ = [
    "AuditRecord",
    "VerifyResult",
    "list_audit_records",
    "record_audit",
    "verify_chain",
]

page_size_max: Final = 500
verify_batch_size_default: Final = 5_000
verify_batch_size_max: Final = 100_000
_HEAD_ID: Final = 1


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """What `verify_chain` found: how many records it checked, the head it checked them against,
    and the first break (None when the chain is intact)."""

    records_checked: int
    head_seq: int
    head_hash: str
    first_break: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.first_break is None


def record_audit(
    conn: Connection,
    *,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    source_ip: str | None,
    at: datetime,
    request_id: str | None = None,
) -> AuditRecord:
    """Append one record to the audit trail, in the caller's transaction on `conn`.

    `actor` is `actor_of(principal)` or `system_actor("payout-run")`; `before` and `after` are
    the subject's state around the action (None: did not exist / no longer exists). Validated
    before anything is locked or written: bad input raises `InvalidInput` naming the field.
    """
    draft = draft_record(
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        before=before,
        after=after,
        source_ip=source_ip,
        at=at,
        request_id=request_id,
    )
    h = models.audit_chain_head.c
    head = conn.execute(
        select(h.last_seq, h.last_hash).where(h.id == _HEAD_ID).with_for_update()
    ).first()
    invariant(head is not None, "audit_chain_head has no row: the 0006_audit migration seeds it")
    assert head is not None  # for mypy: `invariant` raised otherwise
    record = seal(
        draft, seq=head.last_seq + 1, record_id=prefixed_id("aud"), prev_hash=head.last_hash
    )
    conn.execute(models.audit_records.insert().values(**_row_values(record)))
    conn.execute(
        models.audit_chain_head.update()
        .where(h.id == _HEAD_ID)
        .values(last_seq=record.seq, last_hash=record.hash)
    )
    return record


def _row_values(record: AuditRecord) -> dict[str, Any]:
    return {
        "seq": record.seq,
        "id": record.id,
        "at": record.at,
        "actor": record.actor,
        "action": record.action,
        "subject_type": record.subject_type,
        "subject_id": record.subject_id,
        "source_ip": record.source_ip,
        "request_id": record.request_id,
        "before": record.before,
        "after": record.after,
        "prev_hash": record.prev_hash,
        "hash": record.hash,
    }


def _record(row: Row[Any]) -> AuditRecord:
    return AuditRecord(
        seq=row.seq,
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=row.action,
        subject_type=row.subject_type,
        subject_id=row.subject_id,
        source_ip=row.source_ip,
        request_id=row.request_id,
        before=row.before,
        after=row.after,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def list_audit_records(
    db: Database,
    *,
    subject_type: str | None = None,
    subject_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    before_seq: int | None = None,
    limit: int = 50,
) -> tuple[list[AuditRecord], int | None]:
    """Records newest first, filtered; returns a page and the seq to continue before (None at
    the end). `subject_id` needs `subject_type` (ids of different subjects may look alike)."""
    if not 1 <= limit <= page_size_max:
        raise InvalidInput(
            f"limit must be between 1 and {page_size_max}", code="invalid_limit", field="limit"
        )
    if subject_id is not None and subject_type is None:
        raise InvalidInput(
            "subject_id needs subject_type", code="subject_type_required", field="subject_type"
        )
    r = models.audit_records.c
    query = select(models.audit_records).order_by(r.seq.desc()).limit(limit + 1)
    for column, value in (
        (r.subject_type, subject_type),
        (r.subject_id, subject_id),
        (r.actor, actor),
        (r.action, action),
    ):
        if value is not None:
            query = query.where(column == value)
    if before_seq is not None:
        query = query.where(r.seq < before_seq)
    with db.reading() as conn:
        rows = conn.execute(query).all()
    records = [_record(row) for row in rows[:limit]]
    return records, (records[-1].seq if len(rows) > limit else None)


def verify_chain(
    db: Database,
    *,
    batch_size: int = verify_batch_size_default,
    on_progress: Callable[[int, int], None] | None = None,
) -> VerifyResult:
    """Check every record against its predecessor and the chain head; stop at the first break.

    Reads the head first, then the records up to it in seq order, `batch_size` at a time, each
    batch in its own short read (millions of records never sit in memory or in one snapshot).
    Records appended meanwhile are past the head and not checked; a record past the head that
    is still past it afterwards is reported as a head mismatch. `on_progress(checked, total)`
    is called after each batch.
    """
    if not 1 <= batch_size <= verify_batch_size_max:
        raise InvalidInput(
            f"batch size must be between 1 and {verify_batch_size_max}",
            code="invalid_batch_size",
            field="batch_size",
        )
    head_seq, head_hash = _read_head(db)
    checked, last_seq, last_hash = 0, 0, GENESIS_HASH
    for batch in _batches(db, up_to_seq=head_seq, batch_size=batch_size):
        for record in batch:
            broken = check_link(record, expected_seq=last_seq + 1, prev_hash=last_hash)
            if broken is not None:
                return VerifyResult(checked, head_seq, head_hash, broken)
            checked, last_seq, last_hash = checked + 1, record.seq, record.hash
        if on_progress is not None:
            on_progress(checked, head_seq)
    broken = check_head(
        last_seq=last_seq, last_hash=last_hash, head_seq=head_seq, head_hash=head_hash
    ) or _records_past_head(db)
    return VerifyResult(checked, head_seq, head_hash, broken)


def _read_head(db: Database) -> tuple[int, str]:
    h = models.audit_chain_head.c
    with db.reading() as conn:
        head = conn.execute(select(h.last_seq, h.last_hash).where(h.id == _HEAD_ID)).first()
    invariant(head is not None, "audit_chain_head has no row: the 0006_audit migration seeds it")
    assert head is not None
    return int(head.last_seq), str(head.last_hash)


def _batches(db: Database, *, up_to_seq: int, batch_size: int) -> Iterator[list[AuditRecord]]:
    """The records with seq ≤ `up_to_seq` in seq order, a batch per short read (keyset)."""
    r = models.audit_records.c
    after_seq = 0
    while True:
        query = (
            select(models.audit_records)
            .where(r.seq > after_seq, r.seq <= up_to_seq)
            .order_by(r.seq)
            .limit(batch_size)
        )
        with db.reading() as conn:
            batch = [_record(row) for row in conn.execute(query)]
        if not batch:
            return
        yield batch
        after_seq = batch[-1].seq


def _records_past_head(db: Database) -> ChainBreak | None:
    """A record numbered past the head, read after the head itself: the head was moved back or
    the record added without it (an honest append moves both in one transaction)."""
    r = models.audit_records.c
    h = models.audit_chain_head.c
    with db.reading() as conn:
        top = int(conn.execute(select(func.coalesce(func.max(r.seq), 0))).scalar_one())
        head_seq = int(conn.execute(select(h.last_seq).where(h.id == _HEAD_ID)).scalar_one())
    if top <= head_seq:
        return None
    return ChainBreak(
        seq=head_seq + 1,
        kind=BreakKind.HEAD_MISMATCH,
        detail=f"records run to {top}, past the chain head at {head_seq}: the head was moved"
        " back or records were added without it",
        expected=f"no record past seq {head_seq}",
        found=f"records up to seq {top}",
    )
