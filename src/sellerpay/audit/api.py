"""The audit trail's HTTP route: GET /v1/audit, filtered, newest first (`audit:read`)."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Depends, Query

from sellerpay.access.rules import Permission
from sellerpay.api.deps import DatabaseDep, require
from sellerpay.api.pagination import decode_cursor, encode_cursor, one_part
from sellerpay.api.problems import problem_responses
from sellerpay.audit import service
from sellerpay.audit.rules import (
    AuditRecord,
    action_length_max,
    actor_length_max,
    subject_id_length_max,
    subject_type_length_max,
)
from sellerpay.audit.schemas import AuditPage, AuditRecordPublic
from sellerpay.errors import InvalidInput

__all__ = ["router"]

router = APIRouter(tags=["audit"])
cursor_length_max: Final = 60


@router.get(
    "",
    response_model=AuditPage,
    dependencies=[Depends(require(Permission.AUDIT_READ))],
    responses=problem_responses(401, 403, 422),
    summary="List audit records",
)
def list_audit_records(
    db: DatabaseDep,
    subject_type: Annotated[
        str | None, Query(min_length=1, max_length=subject_type_length_max, examples=["api_key"])
    ] = None,
    subject_id: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=subject_id_length_max,
            description="Needs `subject_type` too",
        ),
    ] = None,
    actor: Annotated[
        str | None,
        Query(min_length=1, max_length=actor_length_max, description="The exact actor text"),
    ] = None,
    action: Annotated[
        str | None, Query(min_length=1, max_length=action_length_max, examples=["api_key.revoked"])
    ] = None,
    limit: Annotated[int, Query(ge=1, le=service.page_size_max)] = 50,
    cursor: Annotated[
        str | None,
        Query(max_length=cursor_length_max, description="`next_cursor` of the previous page"),
    ] = None,
) -> AuditPage:
    """Who did what to which subject, when and from where, newest first, filtered exactly by
    subject, actor and action. 422 `subject_type_required` for a `subject_id` alone."""
    if subject_id is not None and subject_type is None:
        raise InvalidInput(
            "subject_id needs subject_type: ids of different subjects may look alike",
            code="subject_type_required",
            field="query.subject_type",
        )
    records, next_seq = service.list_audit_records(
        db,
        subject_type=subject_type,
        subject_id=subject_id,
        actor=actor,
        action=action,
        before_seq=decode_cursor(cursor, _seq),
        limit=limit,
    )
    return AuditPage(
        records=[audit_record_public(r) for r in records],
        next_cursor=None if next_seq is None else encode_cursor(str(next_seq)),
    )


def _seq(parts: list[str]) -> int:
    """The seq a cursor continues before: a positive decimal integer, nothing else."""
    text = one_part(parts)
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise ValueError(text)
    return int(text)


def audit_record_public(record: AuditRecord) -> AuditRecordPublic:
    return AuditRecordPublic(
        seq=record.seq,
        id=record.id,
        at=record.at,
        actor=record.actor,
        action=record.action,
        subject_type=record.subject_type,
        subject_id=record.subject_id,
        source_ip=record.source_ip,
        request_id=record.request_id,
        before=None if record.before is None else dict(record.before),
        after=None if record.after is None else dict(record.after),
        prev_hash=record.prev_hash,
        hash=record.hash,
    )
