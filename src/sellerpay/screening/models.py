"""Tables of screening: list versions and their entries, the parties screened (subjects), and the
potential matches of the review queue.

Entry contents are stored once per (list, entry, content hash) and shared by every version that
publishes them unchanged; a version lists its entries by id and hash. A match is unique per
subject, entry, entry content hash and subject details hash: that is how a cleared match stays
cleared until the entry (or the party) changes.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
)

from sellerpay.db import JsonDocument, UtcDateTime, metadata

_LIST_NAMES = "list_name IN ('ofac-sdn', 'eu-fsf')"

screening_list_versions = Table(
    "screening_list_versions",
    metadata,
    Column("id", String(40), primary_key=True),  # slv_…
    Column("list_name", String(16), nullable=False),
    Column("version", String(64), nullable=False),  # as published, or "sha256:…" when not stated
    Column("published_on", Date),
    Column("source_format", String(16), nullable=False),
    Column("content_hash", String(64), nullable=False),  # over every entry's id and hash
    Column("entry_count", Integer, nullable=False),
    Column("added_count", Integer, nullable=False),
    Column("changed_count", Integer, nullable=False),
    Column("removed_count", Integer, nullable=False),
    Column("loaded_at", UtcDateTime, nullable=False),
    Column("loaded_by", String(200), nullable=False),
    Column("rescreened_at", UtcDateTime),  # NULL: its changes are not screened yet
    CheckConstraint(_LIST_NAMES, name="list_name"),
    CheckConstraint("entry_count >= 0", name="entry_count_not_negative"),
    Index("ix_screening_list_versions_list_name_loaded_at", "list_name", "loaded_at"),
)

screening_entry_contents = Table(
    "screening_entry_contents",
    metadata,
    Column("list_name", String(16), nullable=False),
    Column("entry_id", String(40), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("entity_type", String(16), nullable=False),
    Column("primary_name", String(350), nullable=False),
    Column("document", JsonDocument, nullable=False),  # ListEntry.document()
    PrimaryKeyConstraint("list_name", "entry_id", "content_hash"),
    CheckConstraint(_LIST_NAMES, name="list_name"),
    CheckConstraint(
        "entity_type IN ('individual', 'entity', 'vessel', 'aircraft')", name="entity_type"
    ),
)

screening_version_entries = Table(
    "screening_version_entries",
    metadata,
    Column("version_id", String(40), ForeignKey("screening_list_versions.id"), nullable=False),
    Column("list_name", String(16), nullable=False),
    Column("entry_id", String(40), nullable=False),
    Column("content_hash", String(64), nullable=False),
    PrimaryKeyConstraint("version_id", "entry_id"),
    ForeignKeyConstraint(
        ["list_name", "entry_id", "content_hash"],
        [
            "screening_entry_contents.list_name",
            "screening_entry_contents.entry_id",
            "screening_entry_contents.content_hash",
        ],
        name="fk_screening_version_entries_content",
    ),
)

screening_subjects = Table(
    "screening_subjects",
    metadata,
    Column("id", String(40), primary_key=True),  # scs_…
    Column("seller_id", String(80), nullable=False),
    Column("role", String(16), nullable=False),
    Column("reference", String(80), nullable=False),  # the seller's id, or the person's
    Column("entity_type", String(16)),  # NULL: not known yet (no business type chosen)
    Column("names", JsonDocument, nullable=False),  # every form given: legal name, kana…
    Column("date_of_birth", Date),
    Column("countries", JsonDocument, nullable=False),
    Column("details_hash", String(64), nullable=False),
    Column("screened_hash", String(64)),  # details_hash when last screened against all entries
    Column("screened_at", UtcDateTime),
    Column("active", Boolean, nullable=False),  # false: the person left the seller's onboarding
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("seller_id", "role", "reference"),
    CheckConstraint("role IN ('seller', 'representative', 'owner')", name="role"),
    CheckConstraint(
        "entity_type IS NULL OR entity_type IN ('individual', 'entity')", name="entity_type"
    ),
)

screening_matches = Table(
    "screening_matches",
    metadata,
    Column("id", String(40), primary_key=True),  # scm_…
    Column("subject_id", String(40), ForeignKey("screening_subjects.id"), nullable=False),
    Column("seller_id", String(80), nullable=False),
    Column("list_name", String(16), nullable=False),
    Column("entry_id", String(40), nullable=False),
    Column("entry_content_hash", String(64), nullable=False),
    Column("subject_hash", String(64), nullable=False),
    Column(
        "version_id", String(40), ForeignKey("screening_list_versions.id"), nullable=False
    ),  # the version of the list screened when the match was raised or last re-raised
    Column("score", Integer, nullable=False),
    Column("matched_name", String(350), nullable=False),
    Column("reasons", JsonDocument, nullable=False),
    Column("status", String(16), nullable=False),
    Column("decided_by", String(200)),
    Column("decided_at", UtcDateTime),
    Column("note", String(2000)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint(
        "subject_id",
        "list_name",
        "entry_id",
        "entry_content_hash",
        "subject_hash",
        name="uq_screening_matches_remembered",  # the convention's name passes 63 characters
    ),
    CheckConstraint(_LIST_NAMES, name="list_name"),
    CheckConstraint("status IN ('open', 'confirmed', 'cleared')", name="status"),
    CheckConstraint("score BETWEEN 0 AND 100", name="score_range"),
    CheckConstraint(
        "(status = 'open') = (decided_at IS NULL AND decided_by IS NULL)",
        name="decided_unless_open",
    ),
    Index("ix_screening_matches_status_id", "status", "id"),
    Index("ix_screening_matches_seller_id", "seller_id"),
)
