"""Request and response bodies of the screening API: one schema per purpose, strings bounded."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from sellerpay.screening.rules import EntityType, NameKind, SanctionsList

note_length_max = 2_000

Note = Annotated[
    str,
    StringConstraints(min_length=1, max_length=note_length_max),
    Field(
        description="Why: what was compared and found (a different date of birth, a passport)",
        examples=["Date of birth 1984-03-02 on the passport we hold, the listed one is 1952"],
    ),
]


class MatchDecision(BaseModel):
    """A reviewer's decision on an open match."""

    model_config = ConfigDict(extra="forbid")

    decision: Annotated[
        str,
        StringConstraints(pattern=r"^(confirm|clear)$"),
        Field(
            description="`confirm`: it is the listed party, the seller is blocked at once; "
            "`clear`: it is not, and it is not raised again unless the entry or party changes",
            examples=["clear"],
        ),
    ]
    note: Note


class ListNamePublic(BaseModel):
    text: str
    script: str = Field(description="ISO 15924: Latn, Cyrl, Arab, Jpan, Hani…")
    kind: NameKind


class ListEntryPublic(BaseModel):
    """A sanctions list entry as screening read it."""

    list_name: SanctionsList
    entry_id: str = Field(description="OFAC's uid / ent_num, or the EU's logicalId")
    entity_type: EntityType
    names: list[ListNamePublic]
    dates_of_birth: list[str] = Field(
        description="YYYY-MM-DD, YYYY-MM, YYYY, a range YYYY/YYYY, or ~YYYY (about)"
    )
    countries: list[str] = Field(description="ISO 3166 alpha-2 where known")
    programs: list[str]
    content_hash: str


class SubjectPublic(BaseModel):
    """The party screened: the seller, or one of its representatives or owners."""

    id: str
    role: str = Field(examples=["representative"])
    reference: str = Field(description="The seller's id, or the onboarding person's id")
    entity_type: EntityType | None
    names: list[str]
    date_of_birth: date | None
    countries: list[str]


class MatchPublic(BaseModel):
    """A potential match: its score 0..100, the reasons for the score, and its review."""

    id: str
    status: str = Field(examples=["open"], description="open, confirmed or cleared")
    score: int = Field(ge=0, le=100)
    reasons: list[str]
    matched_name: str = Field(description="The list's name (or alias) that matched best")
    seller_id: str
    subject: SubjectPublic
    entry: ListEntryPublic
    version_id: str = Field(description="The list version screened when it was raised")
    decided_by: str | None
    decided_at: datetime | None
    note: str | None
    created_at: datetime
    updated_at: datetime


class MatchPage(BaseModel):
    """A page of matches, oldest first; pass `next_cursor` back to read the next one."""

    matches: list[MatchPublic]
    next_cursor: str | None


class ListVersionPublic(BaseModel):
    """A loaded version of a list, and what changed since the one before."""

    id: str
    list_name: SanctionsList
    version: str = Field(description="As published (a date or time), or sha256:… if not stated")
    published_on: date | None
    source_format: str = Field(examples=["ofac-xml"])
    content_hash: str
    entry_count: int
    added_count: int
    changed_count: int
    removed_count: int
    loaded_at: datetime
    loaded_by: str
    rescreened_at: datetime | None = Field(
        description="When its changes were screened against every party; null: not yet"
    )


class ListVersionPage(BaseModel):
    versions: list[ListVersionPublic]


class RescreenPublic(BaseModel):
    subjects_changed: int
    subjects_screened_in_full: int
    subjects_screened_for_changes: int
    entries_changed: int
    matches_opened: int
    matches_updated: int


class ListLoadPublic(BaseModel):
    """The version loaded (`created` false: the same content was already the current version)
    and the rescreen it triggered."""

    version: ListVersionPublic
    created: bool
    rescreen: RescreenPublic | None
