"""Jobs: leases with fencing tokens, payout runs fanned out in chunks, job and bank call
statistics for /metrics, and the inbox of bank files waiting to be imported.

Revision ID: 0012_jobs
Revises: 0011_reconciliation
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0012_jobs"
down_revision = "0011_reconciliation"
branch_labels = None
depends_on = None

_Json = sa.JSON().with_variant(JSONB(), "postgresql")
_Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "job_leases",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("holder", sa.String(200)),
        sa.Column("fencing_token", sa.BigInteger, nullable=False),
        sa.Column("acquired_at", _Time, nullable=False),
        sa.Column("expires_at", _Time, nullable=False),
        sa.CheckConstraint("fencing_token >= 1", name=op.f("ck_job_leases_fencing_token_positive")),
    )
    op.create_table(
        "job_payout_runs",
        sa.Column("run_id", sa.String(40), primary_key=True),
        sa.Column("run_on", sa.Date, nullable=False),
        sa.Column("chunk_size", sa.Integer, nullable=False),
        sa.Column("chunk_count", sa.Integer, nullable=False),
        sa.Column("planned_at", _Time, nullable=False),
        sa.Column("completed_at", _Time),
        sa.CheckConstraint(
            "chunk_count >= 0 AND chunk_size >= 1", name=op.f("ck_job_payout_runs_counts")
        ),
    )
    op.create_table(
        "job_payout_chunks",
        sa.Column(
            "run_id", sa.String(40), sa.ForeignKey("job_payout_runs.run_id"), primary_key=True
        ),
        sa.Column("chunk_no", sa.Integer, primary_key=True),
        sa.Column("balances", _Json, nullable=False),
        sa.Column("balance_count", sa.Integer, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("holder", sa.String(200)),
        sa.Column("dispatched_at", _Time),
        sa.Column("started_at", _Time),
        sa.Column("done_at", _Time),
        sa.Column("payouts", sa.Integer, nullable=False),
        sa.Column("skips", sa.Integer, nullable=False),
        sa.Column("already_done", sa.Integer, nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'done')", name=op.f("ck_job_payout_chunks_status")
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_job_payout_chunks_attempts")),
    )
    op.create_index("ix_job_payout_chunks_status", "job_payout_chunks", ["status", "run_id"])
    op.create_table(
        "job_stats",
        sa.Column("name", sa.String(120), primary_key=True),
        sa.Column("runs", sa.BigInteger, nullable=False),
        sa.Column("failures", sa.BigInteger, nullable=False),
        sa.Column("seconds_sum", sa.Float, nullable=False),
        sa.Column("bucket_counts", _Json, nullable=False),
        sa.Column("last_started_at", _Time),
        sa.Column("last_success_at", _Time),
        sa.Column("last_failure_at", _Time),
        sa.Column("last_error", sa.String(500)),
    )
    op.create_table(
        "job_inbound_files",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("content", sa.Text),
        sa.Column("collected_at", _Time, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("imported_at", _Time),
        sa.Column("outcome", sa.String(500)),
    )
    op.create_index(
        "ix_job_inbound_files_waiting",
        "job_inbound_files",
        ["collected_at"],
        postgresql_where=sa.text("imported_at IS NULL"),
        sqlite_where=sa.text("imported_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_job_inbound_files_waiting", table_name="job_inbound_files")
    op.drop_table("job_inbound_files")
    op.drop_table("job_stats")
    op.drop_index("ix_job_payout_chunks_status", table_name="job_payout_chunks")
    op.drop_table("job_payout_chunks")
    op.drop_table("job_payout_runs")
    op.drop_table("job_leases")
