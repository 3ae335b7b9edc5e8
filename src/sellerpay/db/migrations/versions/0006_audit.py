"""Audit: the hash-chained, append-only audit trail and the one-row head that serialises appends.

Revision ID: 0006_audit
Revises: 0005_webhooks
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006_audit"
down_revision = "0005_webhooks"
branch_labels = None
depends_on = None

_Json = sa.JSON().with_variant(JSONB(), "postgresql")
_Time = sa.DateTime(timezone=True)
_GENESIS_HASH = "0" * 64

_PG_APPEND_ONLY = """
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'restrict_violation';
END $$
"""


def upgrade() -> None:
    op.create_table(
        "audit_records",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("at", _Time, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("subject_type", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(200), nullable=False),
        sa.Column("source_ip", sa.String(64)),
        sa.Column("request_id", sa.String(200)),
        sa.Column("before", _Json),
        sa.Column("after", _Json),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("seq", name="uq_audit_records_seq"),
        sa.CheckConstraint("seq >= 1", name="seq_positive"),
        sa.CheckConstraint("length(hash) = 64 AND length(prev_hash) = 64", name="hash_length"),
    )
    op.create_index(
        "ix_audit_records_subject_type_subject_id_seq",
        "audit_records",
        ["subject_type", "subject_id", "seq"],
    )
    op.create_index("ix_audit_records_actor_seq", "audit_records", ["actor", "seq"])
    op.create_index("ix_audit_records_action_seq", "audit_records", ["action", "seq"])
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.CheckConstraint("id = 1", name="single_row"),
        sa.CheckConstraint("last_seq >= 0", name="last_seq_not_negative"),
    )
    op.execute(
        sa.text(
            "INSERT INTO audit_chain_head (id, last_seq, last_hash) VALUES (1, 0, :genesis)"
        ).bindparams(genesis=_GENESIS_HASH)
    )
    _forbid_update_and_delete("audit_records")


def _forbid_update_and_delete(table: str) -> None:
    """Audit records are never changed nor removed: the database refuses it, whoever asks."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_APPEND_ONLY)
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE"
            f" ON {table} FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()"
        )
        return
    for operation in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table}"
            f" BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only:"
            f" {operation} on {table} refused'); END"
        )


def downgrade() -> None:
    op.drop_table("audit_chain_head")
    op.drop_index("ix_audit_records_action_seq", table_name="audit_records")
    op.drop_index("ix_audit_records_actor_seq", table_name="audit_records")
    op.drop_index("ix_audit_records_subject_type_subject_id_seq", table_name="audit_records")
    op.drop_table("audit_records")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_append_only()")
