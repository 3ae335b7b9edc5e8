"""Tables of the audit trail: the append-only, hash-chained records and the one-row chain head.

The database refuses UPDATE and DELETE on `audit_records` (triggers of migration 0006_audit).
`audit_chain_head` holds the last seq and hash; appends lock it, so they queue one at a time.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Column, Index, Integer, String, Table

from sellerpay.db import JsonDocument, UtcDateTime, metadata

audit_records = Table(
    "audit_records",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("seq", BigInteger, nullable=False, unique=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(100), nullable=False),
    Column("subject_type", String(64), nullable=False),
    Column("subject_id", String(200), nullable=False),
    Column("source_ip", String(64)),
    Column("request_id", String(200)),
    Column("before", JsonDocument),
    Column("after", JsonDocument),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    CheckConstraint("seq >= 1", name="seq_positive"),
    CheckConstraint("length(hash) = 64 AND length(prev_hash) = 64", name="hash_length"),
    Index("ix_audit_records_subject_type_subject_id_seq", "subject_type", "subject_id", "seq"),
    Index("ix_audit_records_actor_seq", "actor", "seq"),
    Index("ix_audit_records_action_seq", "action", "seq"),
)

audit_chain_head = Table(
    "audit_chain_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("last_hash", String(64), nullable=False),
    CheckConstraint("id = 1", name="single_row"),
    CheckConstraint("last_seq >= 0", name="last_seq_not_negative"),
)
