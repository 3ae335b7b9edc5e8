"""Response bodies of the audit API: one record, and a page of records newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class AuditRecordPublic(BaseModel):
    """One audit record: who (`actor`) did what (`action`) to which subject, when, from where,
    the subject's state before and after, and the record's place in the hash chain."""

    seq: int = Field(description="Position in the chain, contiguous from 1")
    id: str = Field(examples=["aud_0190f7c3a1b27c4e8d5f6a7b8c9d0e1f"])
    at: datetime
    actor: str = Field(examples=["key:3f9a1c2b4d5e6f70 (ops desk, admin)", "system:payout-run"])
    action: str = Field(examples=["api_key.created"])
    subject_type: str = Field(examples=["api_key"])
    subject_id: str
    source_ip: str | None
    request_id: str | None
    before: dict[str, Any] | None = Field(description="null: the subject did not exist before")
    after: dict[str, Any] | None = Field(description="null: the subject no longer exists")
    prev_hash: str = Field(description="`hash` of record seq - 1 (64 zeros for the first)")
    hash: str = Field(description="SHA-256 of this record's canonical encoding and prev_hash")


class AuditPage(BaseModel):
    """A page of audit records, newest first; pass `next_cursor` back to read older ones."""

    records: list[AuditRecordPublic]
    next_cursor: str | None = Field(description="null on the last page")
