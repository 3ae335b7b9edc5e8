"""Use cases of onboarding: sellers (or the marketplace for them) submit their profile, persons and
documents; compliance reviews documents and decides verifications; the verification provider's
answers are polled; payout runs read capabilities in bulk; screening blocks sanctioned sellers.

Every change runs in one unit of work that (1) applies the change, (2) re-assesses the seller's
requirements (`rules.assess`) and stores their summary on the profile, recording
`seller.requirements_updated` and `seller.capabilities_changed` when they change, and (3) writes
the audit record last (it locks the audit chain's head until commit).

Capabilities are read from the stored summary: `capabilities_of` answers for a chunk of sellers
with two queries (profiles, and the sellers' status), whatever the chunk's size up to
`capabilities_chunk_size`. A seller without any onboarding data gets no payouts (its
requirements are all due from its creation, `requirements_currently_due` and then
`requirements_past_due`) unless the setting `onboarding_required` is off.

Errors: `InvalidInput` (a field, naming it: names, kana, dates, ownership, `InvalidTaxId`,
`invalid_file_name`, `corrupt_document`…), `UnsupportedDocumentType` (415), `LimitExceeded`
(413 `document_size_max`), `NotFound` (`seller_not_found`, `person_not_found`,
`document_not_found`), `Conflict` (`idempotency_key_reused`, `representative_exists`,
`document_already_reviewed`, `nothing_to_decide`), `Forbidden` (`four_eyes`: nobody reviews a
document they uploaded).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import partial
from typing import Any, Final

import structlog
from sqlalchemy import Connection, Row, func, or_, select, update

from sellerpay.audit.rules import system_actor
from sellerpay.audit.service import record_audit
from sellerpay.db import Database
from sellerpay.errors import Conflict, Forbidden, InvalidInput, NotFound
from sellerpay.events.service import record_event
from sellerpay.ids import prefixed_id
from sellerpay.money import Money
from sellerpay.onboarding import models, taxids
from sellerpay.onboarding.documents import (
    DocumentStore,
    MediaType,
    SniffedDocument,
    check_file_name,
    sniff,
)
from sellerpay.onboarding.rules import (
    Address,
    Assessment,
    BusinessType,
    Capabilities,
    DocumentFacts,
    DocumentKind,
    DocumentStatus,
    OnboardingProfile,
    Outcome,
    Person,
    RejectionReason,
    Requirement,
    RequirementError,
    RequirementsState,
    Summary,
    VerificationStatus,
    assess,
    capabilities_from,
    check_birth_date,
    check_ownership_total,
    eur_equivalent,
    normalise_kana,
    not_started_capabilities,
    ownership_bps,
    percent_text,
    state_at,
    summarize,
    thresholds_reached,
    verification_fingerprint,
    verification_ready,
)
from sellerpay.onboarding.verification import (
    ProviderOutcome,
    SimulatedProvider,
    VerificationProvider,
    VerificationRequest,
    VerificationResult,
)
from sellerpay.sellers import rules as seller_rules
from sellerpay.sellers import service as sellers_service
from sellerpay.settings import get_settings

capabilities_chunk_size: Final = 500
queue_page_size_max: Final = 200
poll_batch_size_max: Final = 1_000
document_retention: Final = timedelta(days=5 * 365 + 1)
"""AML record keeping: five years (AMLD art. 40); the bytes are purged after, the record kept."""
text_length_max: Final = 200
note_length_max: Final = 500

log = structlog.get_logger(__name__)
_p = models.onboarding_profiles.c
_pe = models.onboarding_persons.c
_d = models.onboarding_documents.c
_k = models.onboarding_idempotency_keys.c


# --- inputs and views ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProfileSubmission:
    """A seller's profile, replacing the one stored (`PUT`). Terms accepted once stay accepted:
    leaving `terms_accepted_at` out keeps an earlier acceptance."""

    business_type: BusinessType
    legal_name: str | None = None
    legal_name_kana: str | None = None
    registration_number: str | None = None
    tax_id: str | None = None
    address: Address | None = None
    owners_provided: bool = False
    bank_account_holder_name: str | None = None
    terms_accepted_at: datetime | None = None
    terms_accepted_ip: str | None = None


@dataclass(frozen=True, slots=True)
class PersonSubmission:
    first_name: str
    last_name: str
    first_name_kana: str | None = None
    last_name_kana: str | None = None
    date_of_birth: date | None = None
    nationality: str | None = None
    representative: bool = False
    owner: bool = False
    ownership_percent: Decimal | None = None


@dataclass(frozen=True, slots=True)
class DocumentUpload:
    kind: DocumentKind
    content: bytes
    file_name: str | None = None
    person_id: str | None = None


@dataclass(frozen=True, slots=True)
class DocumentView:
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
    review_note: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    uploaded_by: str
    uploaded_at: datetime
    retention_until: datetime
    purged: bool


@dataclass(frozen=True, slots=True)
class ProfileView:
    """The stored profile (fields None until given); `version` 0 when nothing was sent yet."""

    seller_id: str
    country: str
    business_type: BusinessType | None
    legal_name: str | None
    legal_name_kana: str | None
    registration_number: str | None
    tax_id: str | None
    address: Address | None
    owners_provided: bool
    bank_account_holder_name: str | None
    terms_accepted_at: datetime | None
    terms_accepted_ip: str | None
    verification_status: VerificationStatus
    verification_provider: str | None
    verification_reason_code: str | None
    verification_reason: str | None
    verification_updated_at: datetime | None
    sanctions_blocked: bool
    sanctions_reason: str | None
    volume_reached_at: Mapping[int, datetime]
    version: int
    created_at: datetime | None
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class OnboardingView:
    profile: ProfileView
    persons: tuple[Person, ...]
    documents: tuple[DocumentView, ...]
    requirements: RequirementsState


class DecisionScope(StrEnum):
    VERIFICATION = "verification"  # the seller's identity/company, when the provider could not
    BANK_ACCOUNT_OWNERSHIP = "bank_account_ownership"  # a holder name that does not match


@dataclass(frozen=True, slots=True)
class DecisionView:
    id: str
    seller_id: str
    scope: DecisionScope
    approve: bool
    reason_code: str | None
    note: str | None
    decided_by: str
    decided_at: datetime


@dataclass(frozen=True, slots=True)
class QueueItem:
    """A seller compliance should look at, with the documents waiting for review."""

    seller_id: str
    country: str
    business_type: BusinessType | None
    verification_status: VerificationStatus
    requirements: RequirementsState
    documents_to_review: tuple[DocumentView, ...]


@dataclass(frozen=True, slots=True)
class PollReport:
    submitted: int
    verified: int
    sent_to_review: int
    still_pending: int


# --- reading -------------------------------------------------------------------------------------


def get_onboarding(db: Database, seller_id: str, *, now: datetime) -> OnboardingView:
    """The seller's profile, persons, documents and requirements at `now`; a seller that sent
    nothing yet has an empty profile. `NotFound(seller_not_found)` if there is no such seller."""
    with db.reading() as conn:
        seller = _seller(conn, seller_id)
        row = _profile_row(conn, seller_id)
        if row is None:
            return _not_started_view(seller, now=now)
        profile = _profile_from(conn, row, seller)
        documents = tuple(_document_view(d) for d in _document_rows(conn, seller_id))
    state = state_at(
        _assessments_from(row.assessments),
        now=now,
        seller_status=seller.status,
        sanctions_blocked=row.sanctions_blocked,
    )
    return OnboardingView(_profile_view(row), profile.persons, documents, state)


def _not_started_view(seller: sellers_service.Seller, *, now: datetime) -> OnboardingView:
    profile = _empty_profile(seller)
    nothing: dict[str, Any] = dict.fromkeys(ProfileView.__dataclass_fields__)
    view = ProfileView(
        **{
            **nothing,
            "seller_id": seller.id,
            "country": seller.country,
            "owners_provided": False,
            "verification_status": VerificationStatus.NONE,
            "sanctions_blocked": False,
            "volume_reached_at": {},
            "version": 0,
        }
    )
    state = state_at(assess(profile), now=now, seller_status=seller.status, sanctions_blocked=False)
    if not get_settings().onboarding_required:  # as `capabilities_of` answers for this seller
        state = replace(state, capabilities=seller_rules.capabilities(seller.status))
    return OnboardingView(view, (), (), state)


def capabilities_of(
    conn: Connection, seller_ids: Collection[str], now: datetime
) -> dict[str, Capabilities]:
    """The capabilities of each seller in `seller_ids` that exists (unknown ids are left out),
    at `now`, read in chunks of `capabilities_chunk_size` with two queries per chunk: payout
    runs call this for up to a million sellers."""
    required = get_settings().onboarding_required
    wanted = sorted(set(seller_ids))
    found: dict[str, Capabilities] = {}
    for start in range(0, len(wanted), capabilities_chunk_size):
        chunk = wanted[start : start + capabilities_chunk_size]
        summaries = {
            row.seller_id: row
            for row in conn.execute(
                select(
                    _p.seller_id,
                    _p.due_deadline,
                    _p.pending_count,
                    _p.error_count,
                    _p.sanctions_blocked,
                ).where(_p.seller_id.in_(chunk))
            )
        }
        for seller_id, seller in sellers_service.find_sellers_in(conn, chunk).items():
            row = summaries.get(seller_id)
            found[seller_id] = _capabilities(row, seller, required=required, now=now)
    return found


def _capabilities(
    row: Any, seller: sellers_service.Seller, *, required: bool, now: datetime
) -> Capabilities:
    if row is None:
        if not required:
            return seller_rules.capabilities(seller.status)
        return not_started_capabilities(
            seller_status=seller.status, started_at=seller.created_at, now=now
        )
    summary = Summary(row.due_deadline, row.pending_count, row.error_count)
    return capabilities_from(
        summary=summary,
        seller_status=seller.status,
        sanctions_blocked=row.sanctions_blocked,
        now=now,
    )


def seller_capabilities(
    db: Database, seller_ids: Collection[str], *, now: datetime
) -> dict[str, Capabilities]:
    """`capabilities_of` in a read-only unit of work of its own (for the sellers API)."""
    with db.reading() as conn:
        return capabilities_of(conn, seller_ids, now)


# --- the profile ---------------------------------------------------------------------------------


def put_profile(
    db: Database,
    seller_id: str,
    submission: ProfileSubmission,
    *,
    actor: str,
    source_ip: str | None = None,
    now: datetime,
) -> OnboardingView:
    """Replace the seller's profile with `submission` (validated first: nothing is stored if a
    field is wrong). Changing who the seller is (business type, legal name, registration
    number) sends it to verification again."""

    def work(conn: Connection) -> None:
        seller = _seller(conn, seller_id)
        values = _profile_values(submission, country=seller.country, now=now)
        before = _ensure_profile(conn, seller, now=now)
        if submission.terms_accepted_at is None:  # accepted once, accepted for good
            values["terms_accepted_at"] = before.terms_accepted_at
            values["terms_accepted_ip"] = before.terms_accepted_ip
        conn.execute(
            update(models.onboarding_profiles).where(_p.seller_id == seller_id).values(**values)
        )
        _refresh(conn, seller, now=now)
        _audit(
            conn,
            actor,
            "onboarding.profile_updated",
            seller_id,
            source_ip,
            now,
            before=_profile_audit(before),
            after=_profile_audit(_locked_profile(conn, seller_id)),
        )

    db.run(work, retry_unique_violations=True)
    return get_onboarding(db, seller_id, now=now)


def _profile_values(
    submission: ProfileSubmission, *, country: str, now: datetime
) -> dict[str, Any]:
    """The submission as column values, every field checked (named `body.<field>`)."""
    business_type = submission.business_type
    registration = _optional(submission.registration_number)
    tax_id = _optional(submission.tax_id)
    if registration is not None:
        registration = taxids.validate_registration_number(
            registration,
            country=country,
            business_type=business_type,
            field="body.registration_number",
        )
    if tax_id is not None:
        tax_id = taxids.validate_tax_id(
            tax_id, country=country, business_type=business_type, field="body.tax_id"
        )
    taxids.check_vat_matches_registration(
        country=country, registration_number=registration, tax_id=tax_id, field="body.tax_id"
    )
    kana = _optional(submission.legal_name_kana)
    return {
        "business_type": business_type.value,
        "legal_name": _clean_text(submission.legal_name, "body.legal_name"),
        "legal_name_kana": None
        if kana is None
        else normalise_kana(kana, field="body.legal_name_kana"),
        "registration_number": registration,
        "tax_id": tax_id,
        "address": None if submission.address is None else _address_json(submission.address),
        "owners_provided": submission.owners_provided,
        "bank_account_holder_name": _clean_text(
            submission.bank_account_holder_name, "body.bank_account_holder_name", length_max=140
        ),
        "terms_accepted_at": _terms_time(submission.terms_accepted_at, now=now),
        "terms_accepted_ip": _ip(submission.terms_accepted_ip, submission.terms_accepted_at),
    }


def _optional(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def _clean_text(value: str | None, field: str, *, length_max: int = text_length_max) -> str | None:
    """Spaces collapsed; None stays None; empty, too long or with control characters refused."""
    if value is None:
        return None
    text = " ".join(value.split())
    if not 1 <= len(text) <= length_max or not text.isprintable():
        raise InvalidInput(
            f"{field} must be 1 to {length_max} printable characters",
            code="invalid_text",
            field=field,
        )
    return text


def _address_json(address: Address) -> dict[str, Any]:
    return {
        "line1": _clean_text(address.line1, "body.address.line1"),
        "line2": _clean_text(address.line2, "body.address.line2"),
        "postal_code": _clean_text(address.postal_code, "body.address.postal_code", length_max=20),
        "city": _clean_text(address.city, "body.address.city", length_max=100),
        "region": _clean_text(address.region, "body.address.region", length_max=100),
        "country": address.country,
    }


def _terms_time(accepted_at: datetime | None, *, now: datetime) -> datetime | None:
    if accepted_at is not None and (accepted_at.tzinfo is None or accepted_at > now):
        raise InvalidInput(
            "terms are accepted at a time with a zone, not in the future",
            code="invalid_terms_acceptance",
            field="body.terms_acceptance.accepted_at",
        )
    return accepted_at


def _ip(text: str | None, accepted_at: datetime | None) -> str | None:
    field = "body.terms_acceptance.ip"
    if accepted_at is not None and text is None:
        raise InvalidInput(
            "the IP address terms were accepted from is required",
            code="invalid_terms_acceptance",
            field=field,
        )
    if text is None:
        return None
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise InvalidInput(
            f"{text[:50]!r} is not an IP address", code="invalid_ip_address", field=field
        ) from None


# --- persons -------------------------------------------------------------------------------------


def add_person(
    db: Database,
    seller_id: str,
    submission: PersonSubmission,
    *,
    idempotency_key: str,
    actor: str,
    source_ip: str | None = None,
    now: datetime,
) -> tuple[Person, bool]:
    """Add a representative and/or owner; returns the person and whether it was added now
    (False: a replay of the same key). One representative at a time (`representative_exists`);
    owners' shares may not add up to more than 100 %; beneficial owners (25 % or more) need
    their date of birth."""
    values = _person_values(submission, today=now.date())
    request_hash = _hash(values)
    scope = f"person.create:{seller_id}"

    def work(conn: Connection) -> tuple[Person, bool]:
        seller = _seller(conn, seller_id)
        _ensure_profile(conn, seller, now=now)
        replayed = _replayed(conn, scope, idempotency_key, request_hash)
        if replayed is not None:
            return _person(_person_row(conn, seller_id, replayed)), False
        persons = _persons(conn, seller_id)
        if submission.representative and any(p.representative for p in persons):
            raise Conflict(
                "the seller has a representative: remove it first to name another",
                code="representative_exists",
                field="body.relationship.representative",
            )
        person_id = prefixed_id("per")
        person = _person({**values, "id": person_id})
        check_ownership_total([*persons, person])
        conn.execute(
            models.onboarding_persons.insert().values(
                id=person_id, seller_id=seller_id, created_at=now, removed_at=None, **values
            )
        )
        _remember(conn, scope, idempotency_key, request_hash, person_id, now)
        _refresh(conn, seller, now=now)
        _audit(
            conn,
            actor,
            "onboarding.person_added",
            seller_id,
            source_ip,
            now,
            before=None,
            after=_person_audit(person),
        )
        return person, True

    return db.run(work, retry_unique_violations=True)


def _person_values(submission: PersonSubmission, *, today: date) -> dict[str, Any]:
    field = "body.relationship"
    if not (submission.representative or submission.owner):
        raise InvalidInput(
            "a person is the representative, an owner, or both",
            code="person_without_relationship",
            field=field,
        )
    bps = 0
    if submission.owner:
        if submission.ownership_percent is None:
            raise InvalidInput(
                "an owner's ownership percentage is required",
                code="ownership_percent_required",
                field=f"{field}.ownership_percent",
            )
        bps = ownership_bps(submission.ownership_percent, field=f"{field}.ownership_percent")
    elif submission.ownership_percent is not None:
        raise InvalidInput(
            "only owners hold shares",
            code="ownership_without_owner",
            field=f"{field}.ownership_percent",
        )
    born = submission.date_of_birth
    if born is not None:
        check_birth_date(
            born, today=today, representative=submission.representative, field="body.date_of_birth"
        )
    elif submission.owner and bps >= 2_500:
        raise InvalidInput(
            "a beneficial owner's date of birth is required",
            code="owner_date_of_birth_required",
            field="body.date_of_birth",
        )
    kana = [_optional(submission.first_name_kana), _optional(submission.last_name_kana)]
    if (kana[0] is None) != (kana[1] is None):
        raise InvalidInput(
            "give both names in kana, or neither", code="invalid_kana", field="body.first_name_kana"
        )
    return {
        "first_name": _clean_text(submission.first_name, "body.first_name"),
        "last_name": _clean_text(submission.last_name, "body.last_name"),
        "first_name_kana": None
        if kana[0] is None
        else normalise_kana(kana[0], field="body.first_name_kana"),
        "last_name_kana": None
        if kana[1] is None
        else normalise_kana(kana[1], field="body.last_name_kana"),
        "date_of_birth": born,
        "nationality": submission.nationality,
        "representative": submission.representative,
        "owner": submission.owner,
        "ownership_bps": bps,
    }


def remove_person(
    db: Database,
    seller_id: str,
    person_id: str,
    *,
    actor: str,
    source_ip: str | None = None,
    now: datetime,
) -> None:
    """Remove a person (kept in the records, no longer counted). Removing a removed person again
    does nothing."""

    def work(conn: Connection) -> None:
        seller = _seller(conn, seller_id)
        _ensure_profile(conn, seller, now=now)
        row = _person_row(conn, seller_id, person_id)
        if row.removed_at is not None:
            return
        conn.execute(
            update(models.onboarding_persons).where(_pe.id == person_id).values(removed_at=now)
        )
        _refresh(conn, seller, now=now)
        _audit(
            conn,
            actor,
            "onboarding.person_removed",
            seller_id,
            source_ip,
            now,
            before=_person_audit(_person(row)),
            after=None,
        )

    db.run(work, retry_unique_violations=True)


# --- documents -----------------------------------------------------------------------------------


def document_store() -> DocumentStore:
    return DocumentStore(get_settings().documents_directory)


def upload_document(
    db: Database,
    seller_id: str,
    upload: DocumentUpload,
    *,
    idempotency_key: str,
    actor: str,
    source_ip: str | None = None,
    now: datetime,
    store: DocumentStore | None = None,
) -> tuple[DocumentView, bool]:
    """Store an uploaded proof, pending review; returns it and whether it was added now.

    The bytes are checked before anything is stored (size, real type, archives, image bombs,
    the file name) and written content-addressed; the same bytes uploaded twice are one file.
    """
    sniffed = sniff(upload.content, bytes_max=get_settings().document_bytes_max)
    file_name = None if upload.file_name is None else check_file_name(upload.file_name)
    request = {
        "kind": upload.kind.value,
        "person_id": upload.person_id,
        "sha256": sniffed.sha256,
        "file_name": file_name,
    }
    request_hash = _hash(request)
    scope = f"document.upload:{seller_id}"
    with db.reading() as conn:  # no bytes written for a seller that does not exist
        _seller(conn, seller_id)
    storage_key = (store or document_store()).put(upload.content)

    def work(conn: Connection) -> tuple[DocumentView, bool]:
        seller = _seller(conn, seller_id)
        _ensure_profile(conn, seller, now=now)
        replayed = _replayed(conn, scope, idempotency_key, request_hash)
        if replayed is not None:
            return _document_view(_document_row(conn, replayed)), False
        if upload.person_id is not None:
            person = _person_row(conn, seller_id, upload.person_id, field="body.person_id")
            if person.removed_at is not None:
                raise _person_not_found(upload.person_id, field="body.person_id")
        document_id = _insert_document(
            conn, seller_id, upload, sniffed, storage_key, file_name, actor=actor, now=now
        )
        _remember(conn, scope, idempotency_key, request_hash, document_id, now)
        _refresh(conn, seller, now=now)
        document = _document_view(_document_row(conn, document_id))
        _audit(
            conn,
            actor,
            "onboarding.document_uploaded",
            seller_id,
            source_ip,
            now,
            before=None,
            after=_document_audit(document),
        )
        return document, True

    return db.run(work, retry_unique_violations=True)


def _insert_document(
    conn: Connection,
    seller_id: str,
    upload: DocumentUpload,
    sniffed: SniffedDocument,
    storage_key: str,
    file_name: str | None,
    *,
    actor: str,
    now: datetime,
) -> str:
    document_id = prefixed_id("doc")
    conn.execute(
        models.onboarding_documents.insert().values(
            id=document_id,
            seller_id=seller_id,
            person_id=upload.person_id,
            kind=upload.kind.value,
            sha256=sniffed.sha256,
            size_bytes=sniffed.size_bytes,
            media_type=sniffed.media_type.value,
            storage_key=storage_key,
            file_name=file_name,
            status=DocumentStatus.PENDING.value,
            reason_code=None,
            review_note=None,
            reviewed_by=None,
            reviewed_at=None,
            uploaded_by=actor,
            uploaded_at=now,
            retention_until=now + document_retention,
            purged_at=None,
        )
    )
    return document_id


def review_document(
    db: Database,
    document_id: str,
    *,
    approve: bool,
    reason_code: RejectionReason | None = None,
    note: str | None = None,
    idempotency_key: str,
    actor: str,
    source_ip: str | None = None,
    now: datetime,
) -> tuple[DocumentView, bool]:
    """Approve or reject a pending document (a rejection names its reason); returns it and
    whether it was decided now (False: a replay). Records `seller.document_reviewed`."""
    _check_decision(approve, reason_code)
    note = _clean_text(note, "body.note", length_max=note_length_max)
    request_hash = _hash({"approve": approve, "reason_code": reason_code, "note": note})
    scope = f"document.review:{document_id}"

    def work(conn: Connection) -> tuple[DocumentView, bool]:
        found = conn.execute(select(_d.seller_id).where(_d.id == document_id)).first()
        if found is None:
            raise _document_not_found(document_id)
        seller = _seller(conn, found.seller_id)
        _locked_profile(conn, seller.id)
        replayed = _replayed(conn, scope, idempotency_key, request_hash)
        if replayed is not None:
            return _document_view(_document_row(conn, document_id)), False
        before = _document_view(_document_row(conn, document_id))
        _check_reviewable(before, actor)
        status = DocumentStatus.APPROVED if approve else DocumentStatus.REJECTED
        conn.execute(
            update(models.onboarding_documents)
            .where(_d.id == document_id)
            .values(
                status=status.value,
                reason_code=None if reason_code is None else reason_code.value,
                review_note=note,
                reviewed_by=actor,
                reviewed_at=now,
            )
        )
        _remember(conn, scope, idempotency_key, request_hash, document_id, now)
        after = _document_view(_document_row(conn, document_id))
        record_event(
            conn,
            type="seller.document_reviewed",
            subject=seller.id,
            now=now,
            data=_document_event(after),
        )
        _refresh(conn, seller, now=now)
        _audit(
            conn,
            actor,
            "onboarding.document_reviewed",
            seller.id,
            source_ip,
            now,
            before=_document_audit(before),
            after=_document_audit(after),
        )
        return after, True

    return db.run(work)


def _check_decision(approve: bool, reason_code: RejectionReason | None) -> None:
    if approve and reason_code is not None:
        raise InvalidInput(
            "an approval has no reason code",
            code="reason_code_not_allowed",
            field="body.reason_code",
        )
    if not approve and reason_code is None:
        raise InvalidInput(
            "a rejection names its reason code",
            code="reason_code_required",
            field="body.reason_code",
        )


def _check_reviewable(document: DocumentView, actor: str) -> None:
    if document.status is not DocumentStatus.PENDING:
        raise Conflict(
            f"document {document.id} was {document.status.value} already",
            code="document_already_reviewed",
            document_status=document.status.value,
        )
    if document.uploaded_by == actor:
        raise Forbidden(
            f"{actor} uploaded document {document.id}: someone else reviews it",
            code="four_eyes",
        )


def read_document(
    db: Database, document_id: str, *, store: DocumentStore | None = None
) -> tuple[DocumentView, bytes]:
    """A document and its bytes (for the reviewer); `NotFound(document_purged)` once its
    retention ended."""
    with db.reading() as conn:
        row = _document_row(conn, document_id)
    document = _document_view(row)
    if document.purged:
        raise NotFound(
            f"document {document_id} was purged at the end of its retention", code="document_purged"
        )
    return document, (store or document_store()).read(row.storage_key)


def purge_expired_documents(
    db: Database, *, now: datetime, store: DocumentStore | None = None, limit: int = 1_000
) -> int:
    """Delete the bytes of documents whose retention ended (their record stays); bytes shared
    with a document still retained are kept. Returns how many documents were purged."""
    store = store or document_store()

    def work(conn: Connection) -> int:
        rows = conn.execute(
            select(_d.id, _d.sha256, _d.storage_key)
            .where(_d.retention_until <= now, _d.purged_at.is_(None))
            .limit(limit)
        ).all()
        for row in rows:
            conn.execute(
                update(models.onboarding_documents).where(_d.id == row.id).values(purged_at=now)
            )
            kept = conn.execute(
                select(func.count()).where(_d.sha256 == row.sha256, _d.purged_at.is_(None))
            ).scalar_one()
            if not kept:
                store.delete(row.storage_key)
        return len(rows)

    return db.run(work)


# --- compliance: decisions and the queue ---------------------------------------------------------


def decide(
    db: Database,
    seller_id: str,
    *,
    scope: DecisionScope,
    approve: bool,
    reason_code: RejectionReason | None = None,
    note: str | None = None,
    idempotency_key: str,
    actor: str,
    source_ip: str | None = None,
    now: datetime,
) -> tuple[DecisionView, bool]:
    """A compliance decision, recorded with who decided and why: on a verification the provider
    could not make (or a manual verification instead of the provider), or on a bank account
    whose holder name does not match. Returns it and whether it was made now."""
    _check_decision(approve, reason_code)
    note = _clean_text(note, "body.note", length_max=note_length_max)
    request_hash = _hash(
        {"scope": scope, "approve": approve, "reason_code": reason_code, "note": note}
    )
    key_scope = f"decision:{seller_id}"

    def work(conn: Connection) -> tuple[DecisionView, bool]:
        seller = _seller(conn, seller_id)
        before = _ensure_profile(conn, seller, now=now)
        replayed = _replayed(conn, key_scope, idempotency_key, request_hash)
        if replayed is not None:
            return _decision_view(conn, replayed), False
        if scope is DecisionScope.VERIFICATION:
            changes = _verification_decision(before, approve, reason_code, actor, now)
        else:
            changes = _holder_decision(before, approve)
        conn.execute(
            update(models.onboarding_profiles).where(_p.seller_id == seller_id).values(**changes)
        )
        decision_id = prefixed_id("dec")
        conn.execute(
            models.onboarding_decisions.insert().values(
                id=decision_id,
                seller_id=seller_id,
                scope=scope.value,
                decision="approve" if approve else "reject",
                reason_code=None if reason_code is None else reason_code.value,
                note=note,
                decided_by=actor,
                decided_at=now,
            )
        )
        _remember(conn, key_scope, idempotency_key, request_hash, decision_id, now)
        _refresh(conn, seller, now=now)
        after = _locked_profile(conn, seller_id)
        _audit(
            conn,
            actor,
            f"onboarding.{scope.value}_decided",
            seller_id,
            source_ip,
            now,
            before=_decision_audit(before, scope),
            after=_decision_audit(after, scope),
        )
        return _decision_view(conn, decision_id), True

    return db.run(work, retry_unique_violations=True)


def _verification_decision(
    row: Row[Any], approve: bool, reason_code: RejectionReason | None, actor: str, now: datetime
) -> dict[str, Any]:
    status = VerificationStatus(row.verification_status)
    if status not in (VerificationStatus.PENDING, VerificationStatus.REVIEW):
        raise Conflict(
            f"the seller's verification is {status.value}: there is nothing to decide",
            code="nothing_to_decide",
            verification_status=status.value,
        )
    return {
        "verification_status": (
            VerificationStatus.VERIFIED if approve else VerificationStatus.REJECTED
        ).value,
        "verification_provider": "manual",
        "verification_reference": None,
        "verification_reason_code": None if reason_code is None else reason_code.value,
        "verification_reason": f"decided by {actor}"[:500],
        "verification_updated_at": now,
    }


def _holder_decision(row: Row[Any], approve: bool) -> dict[str, Any]:
    assessments = {a.requirement: a for a in _assessments_from(row.assessments)}
    ownership = assessments.get(Requirement.BANK_ACCOUNT_OWNERSHIP)
    if ownership is None or ownership.error is None:
        raise Conflict(
            "the bank account holder name does not need a decision",
            code="nothing_to_decide",
        )
    if not approve:
        return {}
    return {
        "bank_account_holder_approved": {
            "holder_name": row.bank_account_holder_name,
            "legal_name": row.legal_name,
        }
    }


def compliance_queue(
    db: Database, *, now: datetime, after_seller_id: str | None = None, limit: int = 50
) -> tuple[list[QueueItem], str | None]:
    """Sellers with something waiting for a review, refused, or past due, by seller id, a page at
    a time, each with the documents waiting for review (oldest first); returns the page and the
    seller id to continue after (None at the end)."""
    if not 1 <= limit <= queue_page_size_max:
        raise InvalidInput(
            f"limit must be between 1 and {queue_page_size_max}",
            code="invalid_limit",
            field="query.limit",
        )
    query = (
        select(models.onboarding_profiles)
        .where(or_(_p.pending_count > 0, _p.error_count > 0, _p.due_deadline <= now))
        .order_by(_p.seller_id)
        .limit(limit + 1)
    )
    if after_seller_id is not None:
        query = query.where(_p.seller_id > after_seller_id)
    with db.reading() as conn:
        rows = conn.execute(query).all()
        page = rows[:limit]
        ids = [row.seller_id for row in page]
        sellers = sellers_service.find_sellers_in(conn, ids)
        pending = conn.execute(
            select(models.onboarding_documents)
            .where(_d.seller_id.in_(ids), _d.status == DocumentStatus.PENDING.value)
            .order_by(_d.uploaded_at, _d.id)
        ).all()
    items = [_queue_item(row, sellers.get(row.seller_id), pending, now=now) for row in page]
    return items, (page[-1].seller_id if len(rows) > limit else None)


def _queue_item(
    row: Row[Any],
    seller: sellers_service.Seller | None,
    pending: Sequence[Row[Any]],
    *,
    now: datetime,
) -> QueueItem:
    status = seller.status if seller is not None else seller_rules.SellerStatus.CLOSED
    state = state_at(
        _assessments_from(row.assessments),
        now=now,
        seller_status=status,
        sanctions_blocked=row.sanctions_blocked,
    )
    return QueueItem(
        seller_id=row.seller_id,
        country=row.country,
        business_type=None if row.business_type is None else BusinessType(row.business_type),
        verification_status=VerificationStatus(row.verification_status),
        requirements=state,
        documents_to_review=tuple(
            _document_view(d) for d in pending if d.seller_id == row.seller_id
        ),
    )


# --- sanctions, bank account holder, volume ------------------------------------------------------


def set_sanctions_block(
    conn: Connection,
    seller_id: str,
    *,
    blocked: bool,
    reason: str | None,
    actor: str,
    at: datetime,
    source_ip: str | None = None,
) -> Capabilities:
    """Block (a confirmed sanctions match) or unblock (the match was cleared) a seller, in the
    caller's unit of work: blocked, payouts and sales are off at once (`sanctions_match`).
    Returns the seller's capabilities after. Called by screening."""
    seller = _seller(conn, seller_id)
    before = _ensure_profile(conn, seller, now=at)
    text = _clean_text(reason, "reason", length_max=note_length_max)
    conn.execute(
        update(models.onboarding_profiles)
        .where(_p.seller_id == seller_id)
        .values(sanctions_blocked=blocked, sanctions_reason=text if blocked else None)
    )
    capabilities = _refresh(conn, seller, now=at)
    action = "onboarding.sanctions_blocked" if blocked else "onboarding.sanctions_cleared"
    _audit(
        conn,
        actor,
        action,
        seller_id,
        source_ip,
        at,
        before={"sanctions_blocked": before.sanctions_blocked, "reason": before.sanctions_reason},
        after={"sanctions_blocked": blocked, "reason": text if blocked else None},
    )
    return capabilities


def onboarding_started(conn: Connection, seller_id: str) -> bool:
    """Whether the seller has sent any onboarding data (a profile exists)."""
    return _profile_row(conn, seller_id) is not None


def set_bank_account_holder(
    conn: Connection,
    seller_id: str,
    *,
    holder_name: str,
    actor: str,
    at: datetime,
    source_ip: str | None = None,
) -> Capabilities:
    """The holder name of the seller's (new) bank account, in the caller's unit of work: it is
    compared with the legal name at once; a mismatch is a requirement error that compliance
    reviews. Called when a bank account is added or changed."""
    seller = _seller(conn, seller_id)
    before = _ensure_profile(conn, seller, now=at)
    name = _clean_text(holder_name, "holder_name", length_max=140)
    conn.execute(
        update(models.onboarding_profiles)
        .where(_p.seller_id == seller_id)
        .values(bank_account_holder_name=name)
    )
    capabilities = _refresh(conn, seller, now=at)
    _audit(
        conn,
        actor,
        "onboarding.bank_account_holder_changed",
        seller_id,
        source_ip,
        at,
        before={"holder_name": before.bank_account_holder_name},
        after={"holder_name": name},
    )
    return capabilities


def record_volume(
    db: Database, seller_id: str, *, lifetime: Sequence[Money], at: datetime
) -> dict[int, datetime]:
    """The seller's lifetime volume (one amount per currency) reached so far: thresholds it
    reaches (EUR-equivalent, `rules.VOLUME_THRESHOLDS`) make more requirements due, with their
    own deadline. Returns the thresholds reached, by EUR minor units."""
    volume = eur_equivalent(lifetime)

    def work(conn: Connection) -> dict[int, datetime]:
        seller = _seller(conn, seller_id)
        row = _ensure_profile(conn, seller, now=at)
        before = _reached_from(row.volume_reached_at)
        reached = thresholds_reached(volume, before, at=at)
        if reached != before:
            conn.execute(
                update(models.onboarding_profiles)
                .where(_p.seller_id == seller_id)
                .values(volume_reached_at=_reached_json(reached))
            )
            _refresh(conn, seller, now=at)
        return reached

    return db.run(work, retry_unique_violations=True)


# --- verification --------------------------------------------------------------------------------


def default_provider() -> VerificationProvider:
    """The provider the settings name: the simulated one (the only adapter so far)."""
    settings = get_settings()
    return SimulatedProvider(
        seed=settings.verification_seed,
        failure_percent=settings.verification_failure_percent,
        delay=timedelta(seconds=settings.verification_delay_s),
    )


def poll_verifications(
    db: Database,
    now: datetime,
    *,
    provider: VerificationProvider | None = None,
    limit: int = 200,
) -> PollReport:
    """The verification job: send queued verifications to the provider and record its answers.

    Provider calls are made outside any database transaction; each answer is then recorded in a
    unit of work of its own, only if the verification is still the one asked about (the seller
    may have changed its details meanwhile). A failure goes to manual review. Safe to run twice.
    """
    if not 1 <= limit <= poll_batch_size_max:
        raise InvalidInput(
            f"limit must be between 1 and {poll_batch_size_max}", code="invalid_limit"
        )
    provider = provider or default_provider()
    with db.reading() as conn:
        rows = conn.execute(
            select(_p.seller_id, _p.verification_reference, _p.verification_fingerprint)
            .where(_p.verification_status == VerificationStatus.PENDING.value)
            .order_by(_p.verification_updated_at, _p.seller_id)
            .limit(limit)
        ).all()
    counts = {"submitted": 0, "verified": 0, "sent_to_review": 0, "still_pending": 0}
    for row in rows:
        try:
            reference = row.verification_reference
            if reference is None:
                reference = _submit(db, row.seller_id, row.verification_fingerprint, provider, now)
                if reference is None:
                    continue
                counts["submitted"] += 1
            result = provider.result(reference, now=now)
        except Exception:  # one provider failure must not stop the others: retried next run
            log.exception("onboarding.provider_failed", seller_id=row.seller_id)
            counts["still_pending"] += 1
            continue
        outcome = _record_result(db, row.seller_id, result, provider.name, now)
        if outcome is ProviderOutcome.VERIFIED:
            counts["verified"] += 1
        elif outcome is ProviderOutcome.FAILED:
            counts["sent_to_review"] += 1
        else:
            counts["still_pending"] += 1
    return PollReport(**counts)


def _submit(
    db: Database, seller_id: str, fingerprint: str, provider: VerificationProvider, now: datetime
) -> str | None:
    with db.reading() as conn:
        seller = _seller(conn, seller_id)
        row = _profile_row(conn, seller_id)
        if row is None:
            return None
        profile = _profile_from(conn, row, seller)
    person = profile.representative
    if person is None or person.date_of_birth is None or not profile.legal_name:
        return None
    request = VerificationRequest(
        seller_id=seller_id,
        country=profile.country,
        business_type=str(profile.business_type),
        legal_name=profile.legal_name,
        registration_number=profile.registration_number,
        representative_name=person.full_name,
        representative_date_of_birth=person.date_of_birth,
        fingerprint=fingerprint,
    )
    reference = provider.submit(request, now=now)

    def work(conn: Connection) -> bool:
        changed = conn.execute(
            update(models.onboarding_profiles)
            .where(
                _p.seller_id == seller_id,
                _p.verification_status == VerificationStatus.PENDING.value,
                _p.verification_reference.is_(None),
                _p.verification_fingerprint == fingerprint,
            )
            .values(
                verification_reference=reference,
                verification_provider=provider.name,
                verification_updated_at=now,
            )
        )
        return bool(changed.rowcount)

    return reference if db.run(work) else None


def _record_result(
    db: Database, seller_id: str, result: VerificationResult, provider_name: str, now: datetime
) -> ProviderOutcome | None:
    """Record the provider's answer if the verification is still the one it answers."""
    if result.outcome is ProviderOutcome.PENDING:
        return None
    status = (
        VerificationStatus.VERIFIED
        if result.outcome is ProviderOutcome.VERIFIED
        else VerificationStatus.REVIEW
    )

    def work(conn: Connection) -> ProviderOutcome | None:
        seller = _seller(conn, seller_id)
        row = _locked_profile(conn, seller_id)
        if (
            row.verification_status != VerificationStatus.PENDING.value
            or row.verification_reference != result.reference
        ):
            return None
        conn.execute(
            update(models.onboarding_profiles)
            .where(_p.seller_id == seller_id)
            .values(
                verification_status=status.value,
                verification_reason_code=result.reason_code,
                verification_reason=result.reason,
                verification_updated_at=now,
            )
        )
        _refresh(conn, seller, now=now)
        _audit(
            conn,
            system_actor(f"verification-{provider_name}"),
            "onboarding.verification_result",
            seller_id,
            None,
            now,
            before={"verification_status": row.verification_status},
            after={
                "verification_status": status.value,
                "reference": result.reference,
                "reason_code": result.reason_code,
            },
        )
        return result.outcome

    return db.run(work)


def announce_past_due(db: Database, *, now: datetime, limit: int = 1_000) -> int:
    """Re-assess sellers whose deadline passed while their sales were still announced enabled, so
    `seller.capabilities_changed` tells the marketplace to stop selling. Returns how many."""
    with db.reading() as conn:
        ids = (
            conn.execute(
                select(_p.seller_id)
                .where(_p.due_deadline <= now, _p.sales_enabled.is_(True))
                .order_by(_p.seller_id)
                .limit(limit)
            )
            .scalars()
            .all()
        )

    def work(conn: Connection, *, seller_id: str) -> None:
        seller = _seller(conn, seller_id)
        _locked_profile(conn, seller_id)
        _refresh(conn, seller, now=now)

    for seller_id in ids:
        db.run(partial(work, seller_id=seller_id))
    return len(ids)


# --- the refresh: re-assess, store the summary, announce changes ---------------------------------


def _refresh(conn: Connection, seller: sellers_service.Seller, *, now: datetime) -> Capabilities:
    """Re-assess the (locked) seller's requirements after a change; store them and their summary;
    record `seller.requirements_updated` / `seller.capabilities_changed` if they changed."""
    row = _locked_profile(conn, seller.id)
    profile = _profile_from(conn, row, seller)
    verification = _verification_changes(row, profile, now=now)
    if verification:
        profile = replace(
            profile,
            verification_status=VerificationStatus(
                verification.get("verification_status", row.verification_status)
            ),
        )
    assessments = assess(profile)
    summary = summarize(assessments)
    capabilities = capabilities_from(
        summary=summary,
        seller_status=seller.status,
        sanctions_blocked=profile.sanctions_blocked,
        now=now,
    )
    conn.execute(
        update(models.onboarding_profiles)
        .where(_p.seller_id == seller.id)
        .values(
            assessments=_assessments_json(assessments),
            due_deadline=summary.due_deadline,
            pending_count=summary.pending_count,
            error_count=summary.error_count,
            payouts_enabled=capabilities.payouts_enabled,
            sales_enabled=capabilities.sales_enabled,
            disabled_reason=capabilities.disabled_reason,
            version=row.version + 1,
            updated_at=now,
            **verification,
        )
    )
    _announce(conn, row, seller, assessments, capabilities, now=now)
    return capabilities


def _verification_changes(
    row: Row[Any], profile: OnboardingProfile, *, now: datetime
) -> dict[str, Any]:
    """Verification follows the details it vouches for: changed details undo a verification (or
    a pending one); complete details are queued for the provider."""
    fingerprint = verification_fingerprint(profile)
    stored = VerificationStatus(row.verification_status)
    stale = stored is not VerificationStatus.NONE and row.verification_fingerprint != fingerprint
    status = VerificationStatus.NONE if stale else stored
    if status is VerificationStatus.NONE and verification_ready(profile):
        status = VerificationStatus.PENDING
    if status is stored and not stale:
        return {}
    return {
        "verification_status": status.value,
        "verification_fingerprint": fingerprint if status is VerificationStatus.PENDING else None,
        "verification_reference": None,
        "verification_provider": None,
        "verification_reason_code": None,
        "verification_reason": None,
        "verification_updated_at": now,
    }


def _announce(
    conn: Connection,
    row: Row[Any],
    seller: sellers_service.Seller,
    assessments: Sequence[Assessment],
    capabilities: Capabilities,
    *,
    now: datetime,
) -> None:
    before = state_at(
        _assessments_from(row.assessments),
        now=now,
        seller_status=seller.status,
        sanctions_blocked=row.sanctions_blocked,
    )
    after = state_at(
        assessments, now=now, seller_status=seller.status, sanctions_blocked=row.sanctions_blocked
    )
    if requirements_public(before) != requirements_public(after):
        record_event(
            conn,
            type="seller.requirements_updated",
            subject=seller.id,
            now=now,
            data={"seller_id": seller.id, "requirements": requirements_public(after)},
        )
    announced = Capabilities(row.payouts_enabled, row.sales_enabled, row.disabled_reason)
    if announced != capabilities:
        record_event(
            conn,
            type="seller.capabilities_changed",
            subject=seller.id,
            now=now,
            data={
                "seller_id": seller.id,
                "before": _capabilities_json(announced),
                "after": _capabilities_json(capabilities),
            },
        )


def requirements_public(state: RequirementsState) -> dict[str, Any]:
    """The requirements as events and the API show them."""
    return {
        "currently_due": [r.value for r in state.currently_due],
        "eventually_due": [r.value for r in state.eventually_due],
        "past_due": [r.value for r in state.past_due],
        "pending_verification": [r.value for r in state.pending_verification],
        "errors": [
            {"requirement": e.requirement.value, "code": e.code, "reason": e.reason}
            for e in state.errors
        ],
        "current_deadline": None
        if state.current_deadline is None
        else state.current_deadline.isoformat(),
    }


def _capabilities_json(capabilities: Capabilities) -> dict[str, Any]:
    return {
        "payouts_enabled": capabilities.payouts_enabled,
        "sales_enabled": capabilities.sales_enabled,
        "disabled_reason": capabilities.disabled_reason,
    }


# --- rows ----------------------------------------------------------------------------------------


def _seller(conn: Connection, seller_id: str) -> sellers_service.Seller:
    seller = sellers_service.find_seller_in(conn, seller_id)
    if seller is None:
        raise NotFound(f"no seller {seller_id}", code="seller_not_found", seller_id=seller_id)
    return seller


def _profile_row(conn: Connection, seller_id: str) -> Row[Any] | None:
    return conn.execute(select(models.onboarding_profiles).where(_p.seller_id == seller_id)).first()


def _locked_profile(conn: Connection, seller_id: str) -> Row[Any]:
    row = conn.execute(
        select(models.onboarding_profiles).where(_p.seller_id == seller_id).with_for_update()
    ).first()
    if row is None:
        raise NotFound(
            f"no onboarding profile for {seller_id}", code="seller_not_found", seller_id=seller_id
        )
    return row


def _ensure_profile(conn: Connection, seller: sellers_service.Seller, *, now: datetime) -> Row[Any]:
    """The seller's profile row, locked; created empty the first time anything is sent."""
    if _profile_row(conn, seller.id) is None:
        assessments = assess(_empty_profile(seller))
        summary = summarize(assessments)
        conn.execute(
            models.onboarding_profiles.insert().values(
                seller_id=seller.id,
                country=seller.country,
                owners_provided=False,
                verification_status=VerificationStatus.NONE.value,
                sanctions_blocked=False,
                volume_reached_at={},
                started_at=seller.created_at,
                assessments=_assessments_json(assessments),
                due_deadline=summary.due_deadline,
                pending_count=0,
                error_count=0,
                version=0,
                created_at=now,
                updated_at=now,
                **_capabilities_json(
                    not_started_capabilities(
                        seller_status=seller.status, started_at=seller.created_at, now=now
                    )
                ),
            )
        )
    return _locked_profile(conn, seller.id)


def _empty_profile(seller: sellers_service.Seller) -> OnboardingProfile:
    return OnboardingProfile(
        seller_id=seller.id,
        country=seller.country,
        seller_status=seller.status,
        started_at=seller.created_at,
    )


def _persons(conn: Connection, seller_id: str) -> list[Person]:
    rows = conn.execute(
        select(models.onboarding_persons)
        .where(_pe.seller_id == seller_id, _pe.removed_at.is_(None))
        .order_by(_pe.created_at, _pe.id)
    )
    return [_person(row) for row in rows]


def _person_row(
    conn: Connection, seller_id: str, person_id: str, *, field: str | None = None
) -> Row[Any]:
    row = conn.execute(
        select(models.onboarding_persons).where(_pe.id == person_id, _pe.seller_id == seller_id)
    ).first()
    if row is None:
        raise _person_not_found(person_id, field=field)
    return row


def _person_not_found(person_id: str, *, field: str | None) -> NotFound:
    context = {} if field is None else {"field": field}
    return NotFound(
        f"no person {person_id[:40]} for this seller", code="person_not_found", **context
    )


def _person(row: Row[Any] | Mapping[str, Any]) -> Person:
    values = row._mapping if isinstance(row, Row) else row
    return Person(**{name: values[name] for name in Person.__dataclass_fields__})


def _document_rows(conn: Connection, seller_id: str) -> list[Row[Any]]:
    return list(
        conn.execute(
            select(models.onboarding_documents)
            .where(_d.seller_id == seller_id)
            .order_by(_d.uploaded_at, _d.id)
        )
    )


def _document_row(conn: Connection, document_id: str) -> Row[Any]:
    row = conn.execute(select(models.onboarding_documents).where(_d.id == document_id)).first()
    if row is None:
        raise _document_not_found(document_id)
    return row


def _document_not_found(document_id: str) -> NotFound:
    return NotFound(f"no document {document_id[:40]}", code="document_not_found")


def _document_view(row: Row[Any]) -> DocumentView:
    return DocumentView(
        id=row.id,
        seller_id=row.seller_id,
        kind=DocumentKind(row.kind),
        person_id=row.person_id,
        sha256=row.sha256,
        size_bytes=row.size_bytes,
        media_type=MediaType(row.media_type),
        file_name=row.file_name,
        status=DocumentStatus(row.status),
        reason_code=row.reason_code,
        review_note=row.review_note,
        reviewed_by=row.reviewed_by,
        reviewed_at=row.reviewed_at,
        uploaded_by=row.uploaded_by,
        uploaded_at=row.uploaded_at,
        retention_until=row.retention_until,
        purged=row.purged_at is not None,
    )


def _decision_view(conn: Connection, decision_id: str) -> DecisionView:
    row = conn.execute(
        select(models.onboarding_decisions).where(models.onboarding_decisions.c.id == decision_id)
    ).one()
    return DecisionView(
        id=row.id,
        seller_id=row.seller_id,
        scope=DecisionScope(row.scope),
        approve=row.decision == "approve",
        reason_code=row.reason_code,
        note=row.note,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
    )


def _profile_from(
    conn: Connection, row: Row[Any], seller: sellers_service.Seller
) -> OnboardingProfile:
    """The rules' input: the stored profile, its persons and documents, the seller's status."""
    documents = conn.execute(
        select(_d.id, _d.kind, _d.status, _d.person_id, _d.reason_code)
        .where(_d.seller_id == seller.id)
        .order_by(_d.uploaded_at, _d.id)
    ).all()
    approved = row.bank_account_holder_approved or {}
    return OnboardingProfile(
        seller_id=seller.id,
        country=row.country,
        seller_status=seller.status,
        started_at=row.started_at,
        business_type=None if row.business_type is None else BusinessType(row.business_type),
        legal_name=row.legal_name,
        legal_name_kana=row.legal_name_kana,
        registration_number=row.registration_number,
        tax_id=row.tax_id,
        address=None if row.address is None else Address(**row.address),
        owners_provided=row.owners_provided,
        persons=tuple(_persons(conn, seller.id)),
        documents=tuple(
            DocumentFacts(
                d.id, DocumentKind(d.kind), DocumentStatus(d.status), d.person_id, d.reason_code
            )
            for d in documents
        ),
        bank_account_holder_name=row.bank_account_holder_name,
        bank_account_holder_approved=bool(approved)
        and approved.get("holder_name") == row.bank_account_holder_name
        and approved.get("legal_name") == row.legal_name,
        terms_accepted_at=row.terms_accepted_at,
        verification_status=VerificationStatus(row.verification_status),
        verification_reason_code=row.verification_reason_code,
        volume_reached_at=_reached_from(row.volume_reached_at),
        sanctions_blocked=row.sanctions_blocked,
    )


def _profile_view(row: Row[Any]) -> ProfileView:
    return ProfileView(
        seller_id=row.seller_id,
        country=row.country,
        business_type=None if row.business_type is None else BusinessType(row.business_type),
        legal_name=row.legal_name,
        legal_name_kana=row.legal_name_kana,
        registration_number=row.registration_number,
        tax_id=row.tax_id,
        address=None if row.address is None else Address(**row.address),
        owners_provided=row.owners_provided,
        bank_account_holder_name=row.bank_account_holder_name,
        terms_accepted_at=row.terms_accepted_at,
        terms_accepted_ip=row.terms_accepted_ip,
        verification_status=VerificationStatus(row.verification_status),
        verification_provider=row.verification_provider,
        verification_reason_code=row.verification_reason_code,
        verification_reason=row.verification_reason,
        verification_updated_at=row.verification_updated_at,
        sanctions_blocked=row.sanctions_blocked,
        sanctions_reason=row.sanctions_reason,
        volume_reached_at=_reached_from(row.volume_reached_at),
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _assessments_json(assessments: Iterable[Assessment]) -> list[dict[str, Any]]:
    return [
        {
            "requirement": a.requirement.value,
            "outcome": a.outcome.value,
            "deadline": None if a.deadline is None else a.deadline.isoformat(),
            "code": None if a.error is None else a.error.code,
            "reason": None if a.error is None else a.error.reason,
        }
        for a in assessments
    ]


def _assessments_from(stored: Sequence[Mapping[str, Any]]) -> tuple[Assessment, ...]:
    assessments = []
    for item in stored:
        requirement = Requirement(item["requirement"])
        error = None
        if item["code"] is not None:
            error = RequirementError(requirement, item["code"], item["reason"])
        deadline = None if item["deadline"] is None else datetime.fromisoformat(item["deadline"])
        assessments.append(Assessment(requirement, Outcome(item["outcome"]), deadline, error))
    return tuple(assessments)


def _reached_from(stored: Mapping[str, str]) -> dict[int, datetime]:
    return {int(amount): datetime.fromisoformat(at) for amount, at in stored.items()}


def _reached_json(reached: Mapping[int, datetime]) -> dict[str, str]:
    return {str(amount): at.isoformat() for amount, at in sorted(reached.items())}


# --- idempotency ---------------------------------------------------------------------------------


def _hash(request: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


def _replayed(conn: Connection, scope: str, key: str, request_hash: str) -> str | None:
    """The resource a key created before with the same request; `Conflict` with another."""
    row = conn.execute(
        select(_k.request_hash, _k.resource_id).where(_k.scope == scope, _k.key == key)
    ).first()
    if row is None:
        return None
    if row.request_hash != request_hash:
        raise Conflict(
            "this Idempotency-Key was used before with another request",
            code="idempotency_key_reused",
            field="header.idempotency-key",
        )
    return str(row.resource_id)


def _remember(
    conn: Connection, scope: str, key: str, request_hash: str, resource_id: str, now: datetime
) -> None:
    conn.execute(
        models.onboarding_idempotency_keys.insert().values(
            scope=scope,
            key=key,
            request_hash=request_hash,
            resource_id=resource_id,
            created_at=now,
        )
    )


# --- the audit trail -----------------------------------------------------------------------------


def _audit(
    conn: Connection,
    actor: str,
    action: str,
    seller_id: str,
    source_ip: str | None,
    at: datetime,
    *,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> None:
    record_audit(
        conn,
        actor=actor,
        action=action,
        subject_type="seller",
        subject_id=seller_id,
        before=before,
        after=after,
        source_ip=source_ip,
        at=at,
    )


def _masked(value: str | None) -> str | None:
    """Tax ids in the audit trail: enough to tell two apart, not enough to use one."""
    if value is None:
        return None
    return "*" * max(len(value) - 4, 0) + value[-4:]


def _profile_audit(row: Row[Any]) -> dict[str, Any]:
    return {
        "business_type": row.business_type,
        "legal_name": row.legal_name,
        "legal_name_kana": row.legal_name_kana,
        "registration_number": row.registration_number,
        "tax_id": _masked(row.tax_id),
        "address": row.address,
        "owners_provided": row.owners_provided,
        "bank_account_holder_name": row.bank_account_holder_name,
        "terms_accepted_at": row.terms_accepted_at,
        "terms_accepted_ip": row.terms_accepted_ip,
    }


def _person_audit(person: Person) -> dict[str, Any]:
    return {
        "id": person.id,
        "name": person.full_name,
        "year_of_birth": None if person.date_of_birth is None else person.date_of_birth.year,
        "representative": person.representative,
        "owner": person.owner,
        "ownership_percent": percent_text(person.ownership_bps) if person.owner else None,
    }


def _document_audit(document: DocumentView) -> dict[str, Any]:
    return {
        "id": document.id,
        "kind": document.kind.value,
        "sha256": document.sha256,
        "status": document.status.value,
        "reason_code": document.reason_code,
    }


def _document_event(document: DocumentView) -> dict[str, Any]:
    return {
        "seller_id": document.seller_id,
        "document_id": document.id,
        "kind": document.kind.value,
        "status": document.status.value,
        "reason_code": document.reason_code,
    }


def _decision_audit(row: Row[Any], scope: DecisionScope) -> dict[str, Any]:
    if scope is DecisionScope.VERIFICATION:
        return {
            "verification_status": row.verification_status,
            "reason_code": row.verification_reason_code,
        }
    return {
        "bank_account_holder_name": row.bank_account_holder_name,
        "legal_name": row.legal_name,
        "approved": row.bank_account_holder_approved,
    }
