"""Screening: sanctions list versions and their entries, the parties screened, potential matches.

Revision ID: 0010_screening
Revises: 0009_onboarding
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0010_screening"
# The brief says 0009_onboarding, but 0011_reconciliation was written on 0009 before this file
# existed; following the newest revision keeps one head. The lead orders them when committing.
down_revision = "0009_onboarding"
branch_labels = None
depends_on = None

_Json = sa.JSON().with_variant(JSONB(), "postgresql")
_Time = sa.DateTime(timezone=True)
_LIST_NAMES = "list_name IN ('ofac-sdn', 'eu-fsf')"


def upgrade() -> None:
    op.create_table(
        "screening_list_versions",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("list_name", sa.String(16), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("published_on", sa.Date),
        sa.Column("source_format", sa.String(16), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("entry_count", sa.Integer, nullable=False),
        sa.Column("added_count", sa.Integer, nullable=False),
        sa.Column("changed_count", sa.Integer, nullable=False),
        sa.Column("removed_count", sa.Integer, nullable=False),
        sa.Column("loaded_at", _Time, nullable=False),
        sa.Column("loaded_by", sa.String(200), nullable=False),
        sa.Column("rescreened_at", _Time),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_list_versions")),
        sa.CheckConstraint(_LIST_NAMES, name=op.f("ck_screening_list_versions_list_name")),
        sa.CheckConstraint(
            "entry_count >= 0", name=op.f("ck_screening_list_versions_entry_count_not_negative")
        ),
    )
    op.create_index(
        "ix_screening_list_versions_list_name_loaded_at",
        "screening_list_versions",
        ["list_name", "loaded_at"],
    )
    op.create_table(
        "screening_entry_contents",
        sa.Column("list_name", sa.String(16), nullable=False),
        sa.Column("entry_id", sa.String(40), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("entity_type", sa.String(16), nullable=False),
        sa.Column("primary_name", sa.String(350), nullable=False),
        sa.Column("document", _Json, nullable=False),
        sa.PrimaryKeyConstraint(
            "list_name", "entry_id", "content_hash", name=op.f("pk_screening_entry_contents")
        ),
        sa.CheckConstraint(_LIST_NAMES, name=op.f("ck_screening_entry_contents_list_name")),
        sa.CheckConstraint(
            "entity_type IN ('individual', 'entity', 'vessel', 'aircraft')",
            name=op.f("ck_screening_entry_contents_entity_type"),
        ),
    )
    op.create_table(
        "screening_version_entries",
        sa.Column("version_id", sa.String(40), nullable=False),
        sa.Column("list_name", sa.String(16), nullable=False),
        sa.Column("entry_id", sa.String(40), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint(
            "version_id", "entry_id", name=op.f("pk_screening_version_entries")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["screening_list_versions.id"],
            name=op.f("fk_screening_version_entries_version_id_screening_list_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["list_name", "entry_id", "content_hash"],
            [
                "screening_entry_contents.list_name",
                "screening_entry_contents.entry_id",
                "screening_entry_contents.content_hash",
            ],
            name="fk_screening_version_entries_content",
        ),
    )
    op.create_table(
        "screening_subjects",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("seller_id", sa.String(80), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("reference", sa.String(80), nullable=False),
        sa.Column("entity_type", sa.String(16)),
        sa.Column("names", _Json, nullable=False),
        sa.Column("date_of_birth", sa.Date),
        sa.Column("countries", _Json, nullable=False),
        sa.Column("details_hash", sa.String(64), nullable=False),
        sa.Column("screened_hash", sa.String(64)),
        sa.Column("screened_at", _Time),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", _Time, nullable=False),
        sa.Column("updated_at", _Time, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_subjects")),
        sa.UniqueConstraint(
            "seller_id",
            "role",
            "reference",
            name=op.f("uq_screening_subjects_seller_id_role_reference"),
        ),
        sa.CheckConstraint(
            "role IN ('seller', 'representative', 'owner')", name=op.f("ck_screening_subjects_role")
        ),
        sa.CheckConstraint(
            "entity_type IS NULL OR entity_type IN ('individual', 'entity')",
            name=op.f("ck_screening_subjects_entity_type"),
        ),
    )
    op.create_table(
        "screening_matches",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("subject_id", sa.String(40), nullable=False),
        sa.Column("seller_id", sa.String(80), nullable=False),
        sa.Column("list_name", sa.String(16), nullable=False),
        sa.Column("entry_id", sa.String(40), nullable=False),
        sa.Column("entry_content_hash", sa.String(64), nullable=False),
        sa.Column("subject_hash", sa.String(64), nullable=False),
        sa.Column("version_id", sa.String(40), nullable=False),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("matched_name", sa.String(350), nullable=False),
        sa.Column("reasons", _Json, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(200)),
        sa.Column("decided_at", _Time),
        sa.Column("note", sa.String(2000)),
        sa.Column("created_at", _Time, nullable=False),
        sa.Column("updated_at", _Time, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_matches")),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["screening_subjects.id"],
            name=op.f("fk_screening_matches_subject_id_screening_subjects"),
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["screening_list_versions.id"],
            name=op.f("fk_screening_matches_version_id_screening_list_versions"),
        ),
        sa.UniqueConstraint(
            "subject_id",
            "list_name",
            "entry_id",
            "entry_content_hash",
            "subject_hash",
            name="uq_screening_matches_remembered",
        ),
        sa.CheckConstraint(_LIST_NAMES, name=op.f("ck_screening_matches_list_name")),
        sa.CheckConstraint(
            "status IN ('open', 'confirmed', 'cleared')", name=op.f("ck_screening_matches_status")
        ),
        sa.CheckConstraint(
            "score BETWEEN 0 AND 100", name=op.f("ck_screening_matches_score_range")
        ),
        sa.CheckConstraint(
            "(status = 'open') = (decided_at IS NULL AND decided_by IS NULL)",
            name=op.f("ck_screening_matches_decided_unless_open"),
        ),
    )
    op.create_index("ix_screening_matches_status_id", "screening_matches", ["status", "id"])
    op.create_index("ix_screening_matches_seller_id", "screening_matches", ["seller_id"])


def downgrade() -> None:
    op.drop_index("ix_screening_matches_seller_id", table_name="screening_matches")
    op.drop_index("ix_screening_matches_status_id", table_name="screening_matches")
    op.drop_table("screening_matches")
    op.drop_table("screening_subjects")
    op.drop_table("screening_version_entries")
    op.drop_table("screening_entry_contents")
    op.drop_index(
        "ix_screening_list_versions_list_name_loaded_at", table_name="screening_list_versions"
    )
    op.drop_table("screening_list_versions")
