"""Onboarding: seller profiles with their requirements' summary, persons (representatives and
owners), uploaded documents, compliance decisions, idempotency keys of the onboarding routes.

Revision ID: 0009_onboarding
Revises: 0008_payouts
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0009_onboarding"
down_revision = "0008_payouts"
branch_labels = None
depends_on = None

_Json = sa.JSON().with_variant(JSONB(), "postgresql")
_Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    _profiles()
    _persons_and_documents()
    _decisions_and_keys()


def _profiles() -> None:
    op.create_table(
        "onboarding_profiles",
        sa.Column("seller_id", sa.String(80), primary_key=True),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("business_type", sa.String(16)),
        sa.Column("legal_name", sa.String(200)),
        sa.Column("legal_name_kana", sa.String(200)),
        sa.Column("registration_number", sa.String(64)),
        sa.Column("tax_id", sa.String(64)),
        sa.Column("address", _Json),
        sa.Column("owners_provided", sa.Boolean, nullable=False),
        sa.Column("bank_account_holder_name", sa.String(140)),
        sa.Column("bank_account_holder_approved", _Json),
        sa.Column("terms_accepted_at", _Time),
        sa.Column("terms_accepted_ip", sa.String(45)),
        sa.Column("verification_status", sa.String(16), nullable=False),
        sa.Column("verification_provider", sa.String(32)),
        sa.Column("verification_reference", sa.String(120)),
        sa.Column("verification_fingerprint", sa.String(64)),
        sa.Column("verification_reason_code", sa.String(64)),
        sa.Column("verification_reason", sa.String(500)),
        sa.Column("verification_updated_at", _Time),
        sa.Column("sanctions_blocked", sa.Boolean, nullable=False),
        sa.Column("sanctions_reason", sa.String(500)),
        sa.Column("volume_reached_at", _Json, nullable=False),
        sa.Column("started_at", _Time, nullable=False),
        sa.Column("assessments", _Json, nullable=False),
        sa.Column("due_deadline", _Time),
        sa.Column("pending_count", sa.Integer, nullable=False),
        sa.Column("error_count", sa.Integer, nullable=False),
        sa.Column("payouts_enabled", sa.Boolean, nullable=False),
        sa.Column("sales_enabled", sa.Boolean, nullable=False),
        sa.Column("disabled_reason", sa.String(64)),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("created_at", _Time, nullable=False),
        sa.Column("updated_at", _Time, nullable=False),
        sa.CheckConstraint(
            "business_type IS NULL OR business_type IN "
            "('individual', 'sole_trader', 'company', 'non_profit')",
            name="business_type",
        ),
        sa.CheckConstraint(
            "verification_status IN ('none', 'pending', 'review', 'verified', 'rejected')",
            name="verification_status",
        ),
        sa.CheckConstraint("pending_count >= 0 AND error_count >= 0", name="counts_not_negative"),
    )
    op.create_index(
        "ix_onboarding_profiles_attention",
        "onboarding_profiles",
        ["seller_id"],
        postgresql_where=sa.text("pending_count > 0 OR error_count > 0"),
        sqlite_where=sa.text("pending_count > 0 OR error_count > 0"),
    )
    op.create_index("ix_onboarding_profiles_due_deadline", "onboarding_profiles", ["due_deadline"])
    op.create_index(
        "ix_onboarding_profiles_verification_status", "onboarding_profiles", ["verification_status"]
    )


def _persons_and_documents() -> None:
    op.create_table(
        "onboarding_persons",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "seller_id",
            sa.String(80),
            sa.ForeignKey("onboarding_profiles.seller_id"),
            nullable=False,
        ),
        sa.Column("first_name", sa.String(200), nullable=False),
        sa.Column("last_name", sa.String(200), nullable=False),
        sa.Column("first_name_kana", sa.String(200)),
        sa.Column("last_name_kana", sa.String(200)),
        sa.Column("date_of_birth", sa.Date),
        sa.Column("nationality", sa.String(2)),
        sa.Column("representative", sa.Boolean, nullable=False),
        sa.Column("owner", sa.Boolean, nullable=False),
        sa.Column("ownership_bps", sa.Integer, nullable=False),
        sa.Column("created_at", _Time, nullable=False),
        sa.Column("removed_at", _Time),
        sa.CheckConstraint("ownership_bps BETWEEN 0 AND 10000", name="ownership_bps"),
        sa.CheckConstraint("owner OR ownership_bps = 0", name="only_owners_own"),
    )
    op.create_index("ix_onboarding_persons_seller_id", "onboarding_persons", ["seller_id"])
    op.create_table(
        "onboarding_documents",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "seller_id",
            sa.String(80),
            sa.ForeignKey("onboarding_profiles.seller_id"),
            nullable=False,
        ),
        sa.Column("person_id", sa.String(40), sa.ForeignKey("onboarding_persons.id")),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("media_type", sa.String(32), nullable=False),
        sa.Column("storage_key", sa.String(80), nullable=False),
        sa.Column("file_name", sa.String(255)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason_code", sa.String(32)),
        sa.Column("review_note", sa.String(500)),
        sa.Column("reviewed_by", sa.String(200)),
        sa.Column("reviewed_at", _Time),
        sa.Column("uploaded_by", sa.String(200), nullable=False),
        sa.Column("uploaded_at", _Time, nullable=False),
        sa.Column("retention_until", _Time, nullable=False),
        sa.Column("purged_at", _Time),
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status"),
        sa.CheckConstraint(
            "kind IN ('proof_of_identity', 'proof_of_registration', 'proof_of_bank_account', "
            "'proof_of_address')",
            name="kind",
        ),
        sa.CheckConstraint(
            "(status = 'rejected') = (reason_code IS NOT NULL)", name="rejected_has_reason"
        ),
    )
    op.create_index("ix_onboarding_documents_seller_id", "onboarding_documents", ["seller_id"])
    op.create_index(
        "ix_onboarding_documents_pending",
        "onboarding_documents",
        ["uploaded_at"],
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_onboarding_documents_retention_until", "onboarding_documents", ["retention_until"]
    )


def _decisions_and_keys() -> None:
    op.create_table(
        "onboarding_decisions",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "seller_id",
            sa.String(80),
            sa.ForeignKey("onboarding_profiles.seller_id"),
            nullable=False,
        ),
        sa.Column("scope", sa.String(32), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reason_code", sa.String(32)),
        sa.Column("note", sa.String(500)),
        sa.Column("decided_by", sa.String(200), nullable=False),
        sa.Column("decided_at", _Time, nullable=False),
        sa.CheckConstraint("decision IN ('approve', 'reject')", name="decision"),
        sa.CheckConstraint("scope IN ('verification', 'bank_account_ownership')", name="scope"),
    )
    op.create_index("ix_onboarding_decisions_seller_id", "onboarding_decisions", ["seller_id"])
    op.create_table(
        "onboarding_idempotency_keys",
        sa.Column("scope", sa.String(160), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.String(80), nullable=False),
        sa.Column("created_at", _Time, nullable=False),
        sa.PrimaryKeyConstraint("scope", "key"),
    )


def downgrade() -> None:
    op.drop_table("onboarding_idempotency_keys")
    op.drop_index("ix_onboarding_decisions_seller_id", table_name="onboarding_decisions")
    op.drop_table("onboarding_decisions")
    op.drop_index("ix_onboarding_documents_retention_until", table_name="onboarding_documents")
    op.drop_index("ix_onboarding_documents_pending", table_name="onboarding_documents")
    op.drop_index("ix_onboarding_documents_seller_id", table_name="onboarding_documents")
    op.drop_table("onboarding_documents")
    op.drop_index("ix_onboarding_persons_seller_id", table_name="onboarding_persons")
    op.drop_table("onboarding_persons")
    op.drop_index("ix_onboarding_profiles_verification_status", table_name="onboarding_profiles")
    op.drop_index("ix_onboarding_profiles_due_deadline", table_name="onboarding_profiles")
    op.drop_index("ix_onboarding_profiles_attention", table_name="onboarding_profiles")
    op.drop_table("onboarding_profiles")
