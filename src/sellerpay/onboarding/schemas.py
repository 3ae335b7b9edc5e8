"""Request and response bodies of the onboarding API: one schema per purpose, every string
bounded. Tax ids, kana and dates are checked again by the service, which names the field."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from sellerpay.api.fields import CountryCode
from sellerpay.onboarding.documents import MediaType
from sellerpay.onboarding.rules import (
    BusinessType,
    DocumentKind,
    DocumentStatus,
    RejectionReason,
    Requirement,
    VerificationStatus,
)
from sellerpay.onboarding.service import DecisionScope
from sellerpay.sellers.schemas import CapabilitiesPublic

name_length_max: Final = 200
note_length_max: Final = 500

Name = Annotated[str, StringConstraints(min_length=1, max_length=name_length_max)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class AddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line1: Name = Field(examples=["12 rue des Lilas"])
    line2: Name | None = None
    postal_code: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    city: ShortText = Field(examples=["Lyon"])
    region: ShortText | None = None
    country: CountryCode


class AddressOut(BaseModel):
    line1: str
    line2: str | None
    postal_code: str
    city: str
    region: str | None
    country: str


class TermsAcceptanceIn(BaseModel):
    """When and from where the seller accepted the terms. A seller's own request may leave both
    out: the time of the request and its address are used."""

    model_config = ConfigDict(extra="forbid")

    accepted_at: datetime | None = None
    ip: Annotated[str, StringConstraints(min_length=2, max_length=45)] | None = None


class TermsAcceptanceOut(BaseModel):
    accepted_at: datetime
    ip: str | None


class OnboardingUpdate(BaseModel):
    """The seller's profile, replacing the one stored; a field left out is not provided (except
    `terms_acceptance`: terms accepted once stay accepted)."""

    model_config = ConfigDict(extra="forbid")

    business_type: BusinessType
    legal_name: Name | None = Field(default=None, examples=["Acme Refurb SAS"])
    legal_name_kana: Name | None = Field(
        default=None, description="Japan: the legal name's reading in katakana"
    )
    registration_number: Identifier | None = Field(
        default=None,
        description="FR: SIREN or SIRET; ES: CIF; US: EIN; JP: 法人番号 (corporate number)",
        examples=["732829320"],
    )
    tax_id: Identifier | None = Field(
        default=None,
        description="FR/ES companies: VAT number; FR individuals: numéro fiscal; ES: NIF/NIE; "
        "US individuals: SSN or ITIN; JP: invoice number (T + corporate number); other EU "
        "countries: VAT number",
        examples=["FR44732829320"],
    )
    address: AddressIn | None = None
    owners_provided: bool = Field(
        default=False,
        description="Companies: every owner of 25 % or more is declared (as a person)",
    )
    bank_account_holder_name: (
        Annotated[str, StringConstraints(min_length=1, max_length=140)] | None
    ) = Field(default=None, description="Compared with the legal name")
    terms_acceptance: TermsAcceptanceIn | None = None


class RequirementErrorPublic(BaseModel):
    requirement: Requirement
    code: str = Field(examples=["document_unreadable", "holder_name_mismatch"])
    reason: str


class RequirementsPublic(BaseModel):
    """Where the seller's requirements stand now. `eventually_due` lists everything not yet met,
    including `currently_due`, `past_due` and what a volume threshold will require."""

    currently_due: list[Requirement]
    eventually_due: list[Requirement]
    past_due: list[Requirement]
    pending_verification: list[Requirement]
    errors: list[RequirementErrorPublic]
    current_deadline: datetime | None = Field(
        description="When what is currently due becomes past due (sales stop then)"
    )


class VerificationPublic(BaseModel):
    status: VerificationStatus
    provider: str | None
    reason_code: str | None
    reason: str | None
    updated_at: datetime | None


class PersonCreate(BaseModel):
    """A representative and/or owner of the seller."""

    model_config = ConfigDict(extra="forbid")

    first_name: Name
    last_name: Name
    first_name_kana: Name | None = Field(default=None, description="Japan: in katakana")
    last_name_kana: Name | None = Field(default=None, description="Japan: in katakana")
    date_of_birth: date | None = None
    nationality: CountryCode | None = None
    representative: bool = False
    owner: bool = False
    ownership_percent: Decimal | None = Field(
        default=None,
        gt=0,
        le=100,
        max_digits=5,
        decimal_places=2,
        description='Owners: their share, at most two decimals ("25.5")',
        examples=["25.50"],
    )


class PersonPublic(BaseModel):
    id: str
    first_name: str
    last_name: str
    first_name_kana: str | None
    last_name_kana: str | None
    date_of_birth: date | None
    nationality: str | None
    representative: bool
    owner: bool
    ownership_percent: str | None = Field(examples=["25.50"])


class DocumentPublic(BaseModel):
    """An uploaded proof; `reviewed_by` is shown to staff only."""

    id: str
    seller_id: str
    kind: DocumentKind
    person_id: str | None
    sha256: str
    size_bytes: int
    media_type: MediaType
    file_name: str | None
    status: DocumentStatus
    reason_code: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    uploaded_at: datetime
    retention_until: datetime
    purged: bool


class OnboardingPublic(BaseModel):
    """A seller's onboarding: what it sent, what is missing, and what it may do."""

    seller_id: str
    country: str
    business_type: BusinessType | None
    legal_name: str | None
    legal_name_kana: str | None
    registration_number: str | None
    tax_id: str | None
    address: AddressOut | None
    owners_provided: bool
    bank_account_holder_name: str | None
    terms_acceptance: TermsAcceptanceOut | None
    verification: VerificationPublic
    persons: list[PersonPublic]
    documents: list[DocumentPublic]
    requirements: RequirementsPublic
    capabilities: CapabilitiesPublic
    sanctions_blocked: bool | None = Field(description="Staff only (null for the seller)")
    version: int = Field(description="0 until the seller sends anything")
    created_at: datetime | None
    updated_at: datetime | None


class DocumentReview(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    reason_code: RejectionReason | None = Field(
        default=None,
        description="Required to reject; `not_accepted` when the true reason "
        "must not be told to the seller",
    )
    note: Annotated[str, StringConstraints(max_length=note_length_max)] | None = None


class DecisionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: DecisionScope
    decision: Literal["approve", "reject"]
    reason_code: RejectionReason | None = None
    note: Annotated[str, StringConstraints(max_length=note_length_max)] | None = None


class DecisionPublic(BaseModel):
    id: str
    seller_id: str
    scope: DecisionScope
    decision: str = Field(examples=["approve"])
    reason_code: str | None
    note: str | None
    decided_by: str
    decided_at: datetime


class QueueItemPublic(BaseModel):
    seller_id: str
    country: str
    business_type: BusinessType | None
    verification_status: VerificationStatus
    requirements: RequirementsPublic
    capabilities: CapabilitiesPublic
    documents_to_review: list[DocumentPublic]


class QueuePage(BaseModel):
    """Sellers needing attention, by seller id; pass `next_cursor` back for the next page."""

    sellers: list[QueueItemPublic]
    next_cursor: str | None = Field(description="null on the last page")
