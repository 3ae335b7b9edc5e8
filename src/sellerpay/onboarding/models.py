"""Tables of onboarding: one profile per seller (with the summary of its requirements that
capabilities are read from), its persons, its documents, compliance decisions, and the
idempotency keys of its POST routes."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    text,
)

from sellerpay.db import JsonDocument, UtcDateTime, metadata

onboarding_profiles = Table(
    "onboarding_profiles",
    metadata,
    Column("seller_id", String(80), primary_key=True),
    Column("country", String(2), nullable=False),
    Column("business_type", String(16)),  # NULL: not chosen yet
    Column("legal_name", String(200)),
    Column("legal_name_kana", String(200)),
    Column("registration_number", String(64)),
    Column("tax_id", String(64)),
    Column("address", JsonDocument),
    Column("owners_provided", Boolean, nullable=False),
    Column("bank_account_holder_name", String(140)),
    # the holder name compliance accepted although it does not match, and the legal name then
    Column("bank_account_holder_approved", JsonDocument),
    Column("terms_accepted_at", UtcDateTime),
    Column("terms_accepted_ip", String(45)),
    Column("verification_status", String(16), nullable=False),
    Column("verification_provider", String(32)),
    Column("verification_reference", String(120)),
    Column("verification_fingerprint", String(64)),
    Column("verification_reason_code", String(64)),
    Column("verification_reason", String(500)),
    Column("verification_updated_at", UtcDateTime),
    Column("sanctions_blocked", Boolean, nullable=False),
    Column("sanctions_reason", String(500)),
    Column("volume_reached_at", JsonDocument, nullable=False),  # {"1000000": iso time}
    Column("started_at", UtcDateTime, nullable=False),  # the seller's creation: deadlines run
    # the stored assessment (rules.assess) and its summary, refreshed with every change
    Column("assessments", JsonDocument, nullable=False),
    Column("due_deadline", UtcDateTime),
    Column("pending_count", Integer, nullable=False),
    Column("error_count", Integer, nullable=False),
    # the capabilities last announced (seller.capabilities_changed)
    Column("payouts_enabled", Boolean, nullable=False),
    Column("sales_enabled", Boolean, nullable=False),
    Column("disabled_reason", String(64)),
    Column("version", BigInteger, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint(
        "business_type IS NULL OR business_type IN "
        "('individual', 'sole_trader', 'company', 'non_profit')",
        name="business_type",
    ),
    CheckConstraint(
        "verification_status IN ('none', 'pending', 'review', 'verified', 'rejected')",
        name="verification_status",
    ),
    CheckConstraint("pending_count >= 0 AND error_count >= 0", name="counts_not_negative"),
    Index(
        "ix_onboarding_profiles_attention",
        "seller_id",
        postgresql_where=text("pending_count > 0 OR error_count > 0"),
        sqlite_where=text("pending_count > 0 OR error_count > 0"),
    ),
    Index("ix_onboarding_profiles_due_deadline", "due_deadline"),
    Index("ix_onboarding_profiles_verification_status", "verification_status"),
)

onboarding_persons = Table(
    "onboarding_persons",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("seller_id", String(80), ForeignKey("onboarding_profiles.seller_id"), nullable=False),
    Column("first_name", String(200), nullable=False),
    Column("last_name", String(200), nullable=False),
    Column("first_name_kana", String(200)),
    Column("last_name_kana", String(200)),
    Column("date_of_birth", Date),
    Column("nationality", String(2)),
    Column("representative", Boolean, nullable=False),
    Column("owner", Boolean, nullable=False),
    Column("ownership_bps", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("removed_at", UtcDateTime),  # kept, for the record; no longer counts
    CheckConstraint("ownership_bps BETWEEN 0 AND 10000", name="ownership_bps"),
    CheckConstraint("owner OR ownership_bps = 0", name="only_owners_own"),
    Index("ix_onboarding_persons_seller_id", "seller_id"),
)

onboarding_documents = Table(
    "onboarding_documents",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("seller_id", String(80), ForeignKey("onboarding_profiles.seller_id"), nullable=False),
    Column("person_id", String(40), ForeignKey("onboarding_persons.id")),
    Column("kind", String(32), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("media_type", String(32), nullable=False),
    Column("storage_key", String(80), nullable=False),
    Column("file_name", String(255)),
    Column("status", String(16), nullable=False),
    Column("reason_code", String(32)),
    Column("review_note", String(500)),
    Column("reviewed_by", String(200)),
    Column("reviewed_at", UtcDateTime),
    Column("uploaded_by", String(200), nullable=False),
    Column("uploaded_at", UtcDateTime, nullable=False),
    Column("retention_until", UtcDateTime, nullable=False),
    Column("purged_at", UtcDateTime),
    CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status"),
    CheckConstraint(
        "kind IN ('proof_of_identity', 'proof_of_registration', 'proof_of_bank_account', "
        "'proof_of_address')",
        name="kind",
    ),
    CheckConstraint(
        "(status = 'rejected') = (reason_code IS NOT NULL)", name="rejected_has_reason"
    ),
    Index("ix_onboarding_documents_seller_id", "seller_id"),
    Index(
        "ix_onboarding_documents_pending",
        "uploaded_at",
        postgresql_where=text("status = 'pending'"),
        sqlite_where=text("status = 'pending'"),
    ),
    Index("ix_onboarding_documents_retention_until", "retention_until"),
)

onboarding_decisions = Table(
    "onboarding_decisions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("seller_id", String(80), ForeignKey("onboarding_profiles.seller_id"), nullable=False),
    Column("scope", String(32), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("reason_code", String(32)),
    Column("note", String(500)),
    Column("decided_by", String(200), nullable=False),
    Column("decided_at", UtcDateTime, nullable=False),
    CheckConstraint("decision IN ('approve', 'reject')", name="decision"),
    CheckConstraint("scope IN ('verification', 'bank_account_ownership')", name="scope"),
    Index("ix_onboarding_decisions_seller_id", "seller_id"),
)

onboarding_idempotency_keys = Table(
    "onboarding_idempotency_keys",
    metadata,
    Column("scope", String(160), nullable=False),  # operation and the id it acts on
    Column("key", String(255), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("resource_id", String(80), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("scope", "key"),
)
