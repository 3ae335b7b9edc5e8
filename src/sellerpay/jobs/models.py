"""Tables of the job runner: leases with fencing tokens, the fan-out of payout runs into chunks,
the statistics of job runs and bank calls (read by /metrics), and the inbox of bank files."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from sellerpay.db import JsonDocument, UtcDateTime, metadata

# One row per lease name (`job:release-due-funds`…). Taking a lease that has expired adds one to
# its fencing token, so a holder that outlived its lease is recognised and refused.
job_leases = Table(
    "job_leases",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("holder", String(200)),  # NULL once released
    Column("fencing_token", BigInteger, nullable=False),
    Column("acquired_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    CheckConstraint("fencing_token >= 1", name="fencing_token_positive"),
)

# A payout run as the workers see it: planned once (every chunk written in one transaction),
# completed once every chunk is done.
job_payout_runs = Table(
    "job_payout_runs",
    metadata,
    Column("run_id", String(40), primary_key=True),
    Column("run_on", Date, nullable=False),
    Column("chunk_size", Integer, nullable=False),
    Column("chunk_count", Integer, nullable=False),
    Column("planned_at", UtcDateTime, nullable=False),
    Column("completed_at", UtcDateTime),
    CheckConstraint("chunk_count >= 0 AND chunk_size >= 1", name="counts"),
)

job_payout_chunks = Table(
    "job_payout_chunks",
    metadata,
    Column("run_id", String(40), ForeignKey("job_payout_runs.run_id"), primary_key=True),
    Column("chunk_no", Integer, primary_key=True),
    Column("balances", JsonDocument, nullable=False),  # [[seller id, currency], …]
    Column("balance_count", Integer, nullable=False),
    Column("status", String(8), nullable=False),
    Column("attempts", Integer, nullable=False),  # started this many times
    Column("holder", String(200)),  # the worker of the latest attempt: host:pid
    Column("dispatched_at", UtcDateTime),
    Column("started_at", UtcDateTime),
    Column("done_at", UtcDateTime),
    Column("payouts", Integer, nullable=False),
    Column("skips", Integer, nullable=False),
    Column("already_done", Integer, nullable=False),
    CheckConstraint("status IN ('pending', 'done')", name="status"),
    CheckConstraint("attempts >= 0", name="attempts"),
    Index("ix_job_payout_chunks_status", "status", "run_id"),
)

# Counters and a histogram per measured operation: `job:<task name>` and `bank:<operation>`.
job_stats = Table(
    "job_stats",
    metadata,
    Column("name", String(120), primary_key=True),
    Column("runs", BigInteger, nullable=False),
    Column("failures", BigInteger, nullable=False),
    Column("seconds_sum", Float, nullable=False),
    Column("bucket_counts", JsonDocument, nullable=False),  # one count per bound, then +Inf
    Column("last_started_at", UtcDateTime),
    Column("last_success_at", UtcDateTime),
    Column("last_failure_at", UtcDateTime),
    Column("last_error", String(500)),
)

# Files collected from the bank, kept (encrypted) until imported: the bank hands each file
# over once, so a worker that dies between collecting and importing must not lose it.
job_inbound_files = Table(
    "job_inbound_files",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("filename", String(200), nullable=False),
    Column("content", Text),  # encrypted with the key ring; NULL once imported
    Column("collected_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("imported_at", UtcDateTime),
    Column("outcome", String(500)),
    Index(
        "ix_job_inbound_files_waiting",
        "collected_at",
        postgresql_where="imported_at IS NULL",
        sqlite_where="imported_at IS NULL",
    ),
)
