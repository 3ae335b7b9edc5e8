"""The onboarding HTTP routes: a seller's onboarding (`/v1/sellers/{id}/…`) and compliance's
queue and decisions (`/v1/compliance/…`).

Seller-scoped routes are BOLA-safe: a seller's key on another seller's id answers 404 exactly
like a missing seller, before anything is read or written. POST routes take an
`Idempotency-Key`: the same key and request replay the first answer (200 with
`Idempotent-Replayed: true`), another request with it is 409 `idempotency_key_reused`.
Documents are uploaded as `multipart/form-data` (fields `kind`, `person_id`, `file`), parsed
here with a hard size limit; their type is sniffed from the bytes by the service.
"""

from __future__ import annotations

from collections.abc import Mapping
from email.message import Message
from functools import partial
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from sellerpay.access.rules import Permission, Principal, Role, may_act_for_seller
from sellerpay.api.deps import (
    ClockDep,
    DatabaseDep,
    PrincipalDep,
    permission_denied,
    require,
    source_ip,
)
from sellerpay.api.pagination import decode_cursor, encode_cursor, one_part
from sellerpay.api.problems import problem_responses
from sellerpay.audit.rules import actor_of
from sellerpay.errors import InvalidInput, LimitExceeded, NotFound
from sellerpay.onboarding import service
from sellerpay.onboarding.documents import UnsupportedDocumentType
from sellerpay.onboarding.rules import (
    Address,
    DocumentKind,
    Person,
    RequirementsState,
    percent_text,
)
from sellerpay.onboarding.schemas import (
    AddressOut,
    DecisionCreate,
    DecisionPublic,
    DocumentPublic,
    DocumentReview,
    OnboardingPublic,
    OnboardingUpdate,
    PersonCreate,
    PersonPublic,
    QueueItemPublic,
    QueuePage,
    RequirementErrorPublic,
    RequirementsPublic,
    TermsAcceptanceOut,
    VerificationPublic,
)
from sellerpay.sellers.api import SellerIdPath
from sellerpay.sellers.rules import SELLER_ID
from sellerpay.sellers.schemas import CapabilitiesPublic, seller_id_length_max
from sellerpay.settings import get_settings

__all__ = ["compliance_router", "router"]

router = APIRouter(tags=["onboarding"])
compliance_router = APIRouter(tags=["compliance"])

REPLAYED_HEADER: Final = "Idempotent-Replayed"
multipart_overhead_bytes: Final = 64 * 1024  # headers and boundaries around the file
multipart_parts_max: Final = 10
cursor_length_max: Final = 120

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x20-\x7e]+$",
        description="Makes the request safe to retry: the same key and request replay the "
        "first answer; the same key with another request is 409.",
    ),
]
ResourceIdPath = Annotated[str, Path(min_length=1, max_length=40, examples=["doc_0190f7c3…"])]


def _replay_response(model: type[Any]) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": f"An idempotent replay, with `{REPLAYED_HEADER}: true`",
            "model": model,
            "headers": {REPLAYED_HEADER: {"schema": {"type": "string", "enum": ["true"]}}},
        }
    }


# --- a seller's onboarding ------------------------------------------------------------------


@router.get(
    "/{seller_id}/onboarding",
    response_model=OnboardingPublic,
    responses=problem_responses(401, 403, 404, 422),
    summary="Read a seller's onboarding and requirements",
)
def get_onboarding(
    seller_id: SellerIdPath, principal: PrincipalDep, db: DatabaseDep, clock: ClockDep
) -> OnboardingPublic:
    """What the seller sent, what is currently due, past due, waiting for review or refused, and
    what it may do now (capabilities). A seller's key reads only its own."""
    _authorize(principal, seller_id, Permission.ONBOARDING_READ)
    view = service.get_onboarding(db, seller_id, now=clock.now())
    return onboarding_public(view, staff=principal.role is not Role.SELLER)


@router.put(
    "/{seller_id}/onboarding",
    response_model=OnboardingPublic,
    responses=problem_responses(401, 403, 404, 422),
    summary="Submit a seller's onboarding profile",
)
def put_onboarding(
    seller_id: SellerIdPath,
    body: OnboardingUpdate,
    principal: PrincipalDep,
    db: DatabaseDep,
    clock: ClockDep,
    request: Request,
) -> OnboardingPublic:
    """Replace the seller's profile (business type, legal name, registration number, tax id,
    address, owners declared, bank account holder name, terms acceptance); tax and company ids
    are validated per country (422 naming the field and why: `check_digit_mismatch`,
    `invalid_length`, `invalid_format`…). Replacing it is idempotent by nature."""
    _authorize(principal, seller_id, Permission.ONBOARDING_WRITE)
    now = clock.now()
    terms = body.terms_acceptance
    accepted_at, accepted_ip = None, None
    if terms is not None:
        own = principal.role is Role.SELLER
        accepted_at = terms.accepted_at or (now if own else None)
        accepted_ip = terms.ip or (source_ip(request) if own else None)
        if accepted_at is None:
            raise InvalidInput(
                "on a seller's behalf, say when the seller accepted the terms",
                code="invalid_terms_acceptance",
                field="body.terms_acceptance.accepted_at",
            )
    submission = service.ProfileSubmission(
        business_type=body.business_type,
        legal_name=body.legal_name,
        legal_name_kana=body.legal_name_kana,
        registration_number=body.registration_number,
        tax_id=body.tax_id,
        address=None if body.address is None else Address(**body.address.model_dump()),
        owners_provided=body.owners_provided,
        bank_account_holder_name=body.bank_account_holder_name,
        terms_accepted_at=accepted_at,
        terms_accepted_ip=accepted_ip,
    )
    view = service.put_profile(
        db,
        seller_id,
        submission,
        actor=actor_of(principal),
        source_ip=source_ip(request),
        now=now,
    )
    return onboarding_public(view, staff=principal.role is not Role.SELLER)


@router.post(
    "/{seller_id}/persons",
    status_code=201,
    response_model=PersonPublic,
    responses={**_replay_response(PersonPublic), **problem_responses(401, 403, 404, 409, 422)},
    summary="Add a representative or owner",
)
def add_person(
    seller_id: SellerIdPath,
    body: PersonCreate,
    idempotency_key: IdempotencyKey,
    principal: PrincipalDep,
    db: DatabaseDep,
    clock: ClockDep,
    request: Request,
    response: Response,
) -> PersonPublic:
    """Add the seller's representative (one at a time: 409 `representative_exists`) or an owner
    (shares may not add up to more than 100 %: 422 `ownership_exceeds_100`)."""
    _authorize(principal, seller_id, Permission.ONBOARDING_WRITE)
    submission = service.PersonSubmission(**body.model_dump())
    person, created = service.add_person(
        db,
        seller_id,
        submission,
        idempotency_key=idempotency_key,
        actor=actor_of(principal),
        source_ip=source_ip(request),
        now=clock.now(),
    )
    _answer(response, created)
    return person_public(person)


@router.delete(
    "/{seller_id}/persons/{person_id}",
    status_code=204,
    responses=problem_responses(401, 403, 404, 422),
    summary="Remove a representative or owner",
)
def remove_person(
    seller_id: SellerIdPath,
    person_id: ResourceIdPath,
    principal: PrincipalDep,
    db: DatabaseDep,
    clock: ClockDep,
    request: Request,
) -> Response:
    """The person no longer counts (it stays in the records). Removing it again is a no-op."""
    _authorize(principal, seller_id, Permission.ONBOARDING_WRITE)
    service.remove_person(
        db,
        seller_id,
        person_id,
        actor=actor_of(principal),
        source_ip=source_ip(request),
        now=clock.now(),
    )
    return Response(status_code=204)


_UPLOAD_BODY: Final = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["kind", "file"],
                    "properties": {
                        "kind": {"type": "string", "enum": [k.value for k in DocumentKind]},
                        "person_id": {
                            "type": "string",
                            "description": "Whose proof of identity or address it is "
                            "(default: the representative's)",
                        },
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "PDF, JPEG or PNG; the type is read from the bytes",
                        },
                    },
                }
            }
        },
    }
}


@router.post(
    "/{seller_id}/documents",
    status_code=201,
    response_model=DocumentPublic,
    responses={
        **_replay_response(DocumentPublic),
        **problem_responses(401, 403, 404, 409, 413, 415, 422),
    },
    openapi_extra=_UPLOAD_BODY,
    summary="Upload a document",
)
async def upload_document(
    seller_id: SellerIdPath,
    idempotency_key: IdempotencyKey,
    principal: PrincipalDep,
    db: DatabaseDep,
    clock: ClockDep,
    request: Request,
    response: Response,
) -> DocumentPublic:
    """Upload a proof (`multipart/form-data`: `kind`, optional `person_id`, `file`), pending
    review. Only PDF, JPEG and PNG, sniffed from the bytes (a PDF named `.exe` is accepted, an
    executable named `.pdf` is not: 415); archives are refused (415 `archive_refused`); at most
    the configured size (413 `document_size_max`); file names with paths are refused (422)."""
    _authorize(principal, seller_id, Permission.ONBOARDING_WRITE)
    bytes_max = get_settings().document_bytes_max
    body = await _read_body(request, bytes_max=bytes_max + multipart_overhead_bytes)
    fields, file_name, content = _form(request.headers.get("content-type", ""), body)
    upload = service.DocumentUpload(
        kind=_kind(fields.get("kind")),
        content=content,
        file_name=file_name,
        person_id=fields.get("person_id") or None,
    )
    document, created = await run_in_threadpool(
        partial(
            service.upload_document,
            db,
            seller_id,
            upload,
            idempotency_key=idempotency_key,
            actor=actor_of(principal),
            source_ip=source_ip(request),
            now=clock.now(),
        )
    )
    _answer(response, created)
    return document_public(document, staff=principal.role is not Role.SELLER)


# --- compliance -----------------------------------------------------------------------------


@compliance_router.get(
    "/queue",
    response_model=QueuePage,
    dependencies=[Depends(require(Permission.COMPLIANCE_REVIEW))],
    responses=problem_responses(401, 403, 422),
    summary="The compliance queue",
)
def compliance_queue(
    db: DatabaseDep,
    clock: ClockDep,
    limit: Annotated[int, Query(ge=1, le=service.queue_page_size_max)] = 50,
    cursor: Annotated[str | None, Query(max_length=cursor_length_max)] = None,
) -> QueuePage:
    """Sellers with requirements waiting for a review or the provider, refused, or past due, by
    seller id, each with its documents waiting for review (oldest first)."""
    now = clock.now()
    items, last = service.compliance_queue(
        db, now=now, after_seller_id=decode_cursor(cursor, _seller_cursor), limit=limit
    )
    return QueuePage(
        sellers=[_queue_item_public(item) for item in items],
        next_cursor=None if last is None else encode_cursor(last),
    )


@compliance_router.post(
    "/documents/{document_id}/review",
    response_model=DocumentPublic,
    dependencies=[Depends(require(Permission.DOCUMENTS_REVIEW))],
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Approve or reject a document",
)
def review_document(
    document_id: ResourceIdPath,
    body: DocumentReview,
    idempotency_key: IdempotencyKey,
    principal: PrincipalDep,
    db: DatabaseDep,
    clock: ClockDep,
    request: Request,
    response: Response,
) -> DocumentPublic:
    """Approve or reject (with a reason code) a pending document; 409 if it was reviewed
    already, 403 `four_eyes` for the one who uploaded it. Audited."""
    document, created = service.review_document(
        db,
        document_id,
        approve=body.decision == "approve",
        reason_code=body.reason_code,
        note=body.note,
        idempotency_key=idempotency_key,
        actor=actor_of(principal),
        source_ip=source_ip(request),
        now=clock.now(),
    )
    if not created:
        response.headers[REPLAYED_HEADER] = "true"
    return document_public(document, staff=True)


@compliance_router.get(
    "/documents/{document_id}/content",
    response_class=Response,
    dependencies=[Depends(require(Permission.DOCUMENTS_REVIEW))],
    responses={
        200: {"content": {m: {} for m in ("application/pdf", "image/jpeg", "image/png")}},
        **problem_responses(401, 403, 404, 422),
    },
    summary="Download a document to review it",
)
def document_content(document_id: ResourceIdPath, db: DatabaseDep) -> Response:
    """The document's bytes, as an attachment named by its id (never the uploaded name)."""
    document, content = service.read_document(db, document_id)
    return Response(
        content,
        media_type=document.media_type.value,
        headers={
            "Content-Disposition": f'attachment; filename="{document.id}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


@compliance_router.post(
    "/sellers/{seller_id}/decision",
    status_code=201,
    response_model=DecisionPublic,
    dependencies=[Depends(require(Permission.COMPLIANCE_REVIEW))],
    responses={**_replay_response(DecisionPublic), **problem_responses(401, 403, 404, 409, 422)},
    summary="Decide a verification or a bank account holder mismatch",
)
def decide(
    seller_id: SellerIdPath,
    body: DecisionCreate,
    idempotency_key: IdempotencyKey,
    principal: PrincipalDep,
    db: DatabaseDep,
    clock: ClockDep,
    request: Request,
    response: Response,
) -> DecisionPublic:
    """A manual decision: verify (or not) a seller the provider could not, or accept (or not) a
    bank account whose holder name does not match; 409 `nothing_to_decide` otherwise. Audited."""
    if SELLER_ID.fullmatch(seller_id) is None:
        raise _not_found(seller_id)
    decision, created = service.decide(
        db,
        seller_id,
        scope=body.scope,
        approve=body.decision == "approve",
        reason_code=body.reason_code,
        note=body.note,
        idempotency_key=idempotency_key,
        actor=actor_of(principal),
        source_ip=source_ip(request),
        now=clock.now(),
    )
    _answer(response, created)
    return DecisionPublic(
        id=decision.id,
        seller_id=decision.seller_id,
        scope=decision.scope,
        decision="approve" if decision.approve else "reject",
        reason_code=decision.reason_code,
        note=decision.note,
        decided_by=decision.decided_by,
        decided_at=decision.decided_at,
    )


# --- authorization and helpers --------------------------------------------------------------


def _authorize(principal: Principal, seller_id: str, permission: Permission) -> None:
    """A seller acts only for itself and learns nothing of others (404 as if missing); staff
    need `permission` (403 otherwise). Ids that cannot be seller ids are missing too."""
    if not may_act_for_seller(principal, seller_id, permission):
        if principal.role is Role.SELLER:
            raise _not_found(seller_id)
        raise permission_denied(principal, permission)
    if SELLER_ID.fullmatch(seller_id) is None:
        raise _not_found(seller_id)


def _not_found(seller_id: str) -> NotFound:
    shown = seller_id[:seller_id_length_max]
    return NotFound(f"no seller {shown}", code="seller_not_found", seller_id=shown)


def _answer(response: Response, created: bool) -> None:
    if not created:
        response.status_code = 200
        response.headers[REPLAYED_HEADER] = "true"


def _seller_cursor(parts: list[str]) -> str:
    after = one_part(parts)
    if SELLER_ID.fullmatch(after) is None:
        raise ValueError(after)
    return after


def _kind(value: str | None) -> DocumentKind:
    try:
        return DocumentKind(value or "")
    except ValueError:
        raise InvalidInput(
            f"kind must be one of {', '.join(k.value for k in DocumentKind)}",
            code="invalid_document_kind",
            field="body.kind",
        ) from None


async def _read_body(request: Request, *, bytes_max: int) -> bytes:
    """The request body, refused with 413 as soon as it grows past `bytes_max`."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > bytes_max:
            raise LimitExceeded(
                f"a document upload is at most {bytes_max} bytes",
                code="document_size_max",
                limit=get_settings().document_bytes_max,
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _form(content_type: str, body: bytes) -> tuple[dict[str, str], str | None, bytes]:
    """Parse `multipart/form-data`: the text fields, and the one file's name and bytes."""
    header = Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    if header.get_content_type() != "multipart/form-data" or not isinstance(boundary, str):
        raise UnsupportedDocumentType(
            "upload documents as multipart/form-data", code="multipart_required"
        )
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    sections = (b"\r\n" + body).split(delimiter)
    if len(sections) < 3 or not sections[-1].startswith(b"--"):
        raise _bad_form("the multipart body is not closed by its boundary")
    if len(sections) - 2 > multipart_parts_max:
        raise _bad_form(f"at most {multipart_parts_max} parts")
    fields: dict[str, str] = {}
    file: tuple[str | None, bytes] | None = None
    for section in sections[1:-1]:
        name, file_name, content = _part(section)
        if name == "file" and file is None:
            file = (file_name, content)
        elif name in ("kind", "person_id") and name not in fields and file_name is None:
            fields[name] = content.decode("utf-8", errors="replace").strip()[:80]
        else:
            raise _bad_form(f"unexpected or repeated part {name!r}")
    if file is None:
        raise InvalidInput("the upload has no file part", code="file_required", field="body.file")
    return fields, file[0], file[1]


def _part(section: bytes) -> tuple[str | None, str | None, bytes]:
    head, separator, content = section.partition(b"\r\n\r\n")
    if not separator:
        raise _bad_form("a part without headers")
    disposition = Message()
    for line in head.split(b"\r\n")[1:]:
        key, colon, value = line.decode("latin-1").partition(":")
        if colon and key.strip().lower() == "content-disposition":
            disposition["content-disposition"] = value.strip()
    name = disposition.get_param("name", header="content-disposition")
    file_name = disposition.get_filename()
    return (name if isinstance(name, str) else None), file_name, content


def _bad_form(why: str) -> InvalidInput:
    return InvalidInput(f"malformed multipart body: {why}", code="invalid_multipart")


# --- shaping answers ------------------------------------------------------------------------


def requirements_public(state: RequirementsState) -> RequirementsPublic:
    return RequirementsPublic(
        currently_due=list(state.currently_due),
        eventually_due=list(state.eventually_due),
        past_due=list(state.past_due),
        pending_verification=list(state.pending_verification),
        errors=[
            RequirementErrorPublic(requirement=e.requirement, code=e.code, reason=e.reason)
            for e in state.errors
        ],
        current_deadline=state.current_deadline,
    )


def capabilities_public(state: RequirementsState) -> CapabilitiesPublic:
    allowed = state.capabilities
    return CapabilitiesPublic(
        payouts_enabled=allowed.payouts_enabled,
        sales_enabled=allowed.sales_enabled,
        disabled_reason=allowed.disabled_reason,
    )


def person_public(person: Person) -> PersonPublic:
    return PersonPublic(
        id=person.id,
        first_name=person.first_name,
        last_name=person.last_name,
        first_name_kana=person.first_name_kana,
        last_name_kana=person.last_name_kana,
        date_of_birth=person.date_of_birth,
        nationality=person.nationality,
        representative=person.representative,
        owner=person.owner,
        ownership_percent=percent_text(person.ownership_bps) if person.owner else None,
    )


def document_public(document: service.DocumentView, *, staff: bool) -> DocumentPublic:
    return DocumentPublic(
        id=document.id,
        seller_id=document.seller_id,
        kind=document.kind,
        person_id=document.person_id,
        sha256=document.sha256,
        size_bytes=document.size_bytes,
        media_type=document.media_type,
        file_name=document.file_name,
        status=document.status,
        reason_code=document.reason_code,
        reviewed_by=document.reviewed_by if staff else None,
        reviewed_at=document.reviewed_at,
        uploaded_at=document.uploaded_at,
        retention_until=document.retention_until,
        purged=document.purged,
    )


def onboarding_public(view: service.OnboardingView, *, staff: bool) -> OnboardingPublic:
    profile = view.profile
    terms = None
    if profile.terms_accepted_at is not None:
        terms = TermsAcceptanceOut(
            accepted_at=profile.terms_accepted_at, ip=profile.terms_accepted_ip
        )
    address: Mapping[str, Any] | None = None
    if profile.address is not None:
        address = {name: getattr(profile.address, name) for name in AddressOut.model_fields}
    return OnboardingPublic(
        seller_id=profile.seller_id,
        country=profile.country,
        business_type=profile.business_type,
        legal_name=profile.legal_name,
        legal_name_kana=profile.legal_name_kana,
        registration_number=profile.registration_number,
        tax_id=profile.tax_id,
        address=None if address is None else AddressOut(**address),
        owners_provided=profile.owners_provided,
        bank_account_holder_name=profile.bank_account_holder_name,
        terms_acceptance=terms,
        verification=VerificationPublic(
            status=profile.verification_status,
            provider=profile.verification_provider,
            reason_code=profile.verification_reason_code,
            reason=profile.verification_reason,
            updated_at=profile.verification_updated_at,
        ),
        persons=[person_public(p) for p in view.persons],
        documents=[document_public(d, staff=staff) for d in view.documents],
        requirements=requirements_public(view.requirements),
        capabilities=capabilities_public(view.requirements),
        sanctions_blocked=profile.sanctions_blocked if staff else None,
        version=profile.version,
        created_at=profile.created_at,
        updated_at=profile.updated_at,
    )


def _queue_item_public(item: service.QueueItem) -> QueueItemPublic:
    return QueueItemPublic(
        seller_id=item.seller_id,
        country=item.country,
        business_type=item.business_type,
        verification_status=item.verification_status,
        requirements=requirements_public(item.requirements),
        capabilities=capabilities_public(item.requirements),
        documents_to_review=[document_public(d, staff=True) for d in item.documents_to_review],
    )
