"""The ledger: accounts with balances, transactions, entries; the journal is append-only.

Revision ID: 0001_ledger
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001_ledger"
down_revision = None
branch_labels = None
depends_on = None

_Json = sa.JSON().with_variant(JSONB(), "postgresql")
_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_Time = sa.DateTime(timezone=True)

_PG_APPEND_ONLY = """
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the ledger journal is append-only: % on % refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'restrict_violation';
END $$
"""


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(200), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("normal_side", sa.String(6), nullable=False),
        sa.Column("debits_must_not_exceed_credits", sa.Boolean, nullable=False),
        sa.Column("credits_must_not_exceed_debits", sa.Boolean, nullable=False),
        sa.Column("debits_posted", sa.BigInteger, nullable=False),
        sa.Column("credits_posted", sa.BigInteger, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("metadata", _Json, nullable=False),
        sa.Column("created_at", _Time, nullable=False),
        sa.Column("updated_at", _Time, nullable=False),
        sa.CheckConstraint("normal_side IN ('debit', 'credit')", name="normal_side"),
        sa.CheckConstraint(
            "debits_posted >= 0 AND credits_posted >= 0 AND version >= 0", name="totals"
        ),
        sa.CheckConstraint(
            "NOT debits_must_not_exceed_credits OR debits_posted <= credits_posted",
            name="debits_must_not_exceed_credits",
        ),
        sa.CheckConstraint(
            "NOT credits_must_not_exceed_debits OR credits_posted <= debits_posted",
            name="credits_must_not_exceed_debits",
        ),
        sa.CheckConstraint("length(currency) = 3", name="currency"),
    )
    op.create_index(
        "uq_ledger_accounts_code_currency", "ledger_accounts", ["code", "currency"], unique=True
    )
    op.create_table(
        "ledger_transactions",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("idempotency_key", sa.String(255), nullable=False, unique=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("effective_at", _Time, nullable=False),
        sa.Column("posted_at", _Time, nullable=False),
        sa.Column("reverses_id", sa.Uuid, sa.ForeignKey("ledger_transactions.id"), unique=True),
        sa.Column("references", _Json, nullable=False),
        sa.Column("metadata", _Json, nullable=False),
    )
    op.create_table(
        "ledger_entries",
        sa.Column(
            "transaction_id", sa.Uuid, sa.ForeignKey("ledger_transactions.id"), primary_key=True
        ),
        sa.Column("leg", sa.Integer, primary_key=True),
        sa.Column("account_id", _Id, sa.ForeignKey("ledger_accounts.id"), nullable=False),
        sa.Column("side", sa.String(6), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("account_version", sa.BigInteger, nullable=False),
        sa.Column("balance_after", sa.BigInteger, nullable=False),
        sa.Column("effective_at", _Time, nullable=False),
        sa.CheckConstraint("amount_minor > 0", name="amount_positive"),
        sa.CheckConstraint("side IN ('debit', 'credit')", name="side"),
        sa.CheckConstraint("account_version > 0", name="account_version"),
    )
    op.create_index(
        "uq_ledger_entries_account_id_account_version",
        "ledger_entries",
        ["account_id", "account_version"],
        unique=True,
    )
    _forbid_update_and_delete(["ledger_entries", "ledger_transactions"])


def _forbid_update_and_delete(tables: list[str]) -> None:
    """Entries and transactions are never changed nor removed: corrections are reversals."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_APPEND_ONLY)
        for table in tables:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE"
                f" ON {table} FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()"
            )
        return
    for table in tables:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table}"
                f" BEGIN SELECT RAISE(ABORT, 'the ledger journal is append-only:"
                f" {operation} on {table} refused'); END"
            )


def downgrade() -> None:
    op.drop_table("ledger_entries")
    op.drop_table("ledger_transactions")
    op.drop_table("ledger_accounts")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION ledger_append_only()")
