"""The screening HTTP routes: the review queue of potential sanctions matches, decisions on them,
and sanctions list versions (upload and history).

Compliance reads (`screening:read`) and decides (`screening:decide`, audited with the caller's
address); loading a list needs `screening:lists` (compliance, admin). Each route parses,
authorizes, calls `screening.service` and shapes the answer.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from sellerpay.access.rules import Permission, Principal
from sellerpay.api.deps import ClockDep, DatabaseDep, require, source_ip
from sellerpay.api.fields import SellerId
from sellerpay.api.pagination import decode_cursor, encode_cursor, one_part
from sellerpay.api.problems import problem_responses
from sellerpay.audit.rules import actor_of
from sellerpay.errors import InvalidInput, LimitExceeded
from sellerpay.screening import service
from sellerpay.screening.lists import list_file_bytes_max
from sellerpay.screening.rules import ListEntry, SanctionsList
from sellerpay.screening.schemas import (
    ListEntryPublic,
    ListLoadPublic,
    ListNamePublic,
    ListVersionPage,
    ListVersionPublic,
    MatchDecision,
    MatchPage,
    MatchPublic,
    RescreenPublic,
    SubjectPublic,
)

__all__ = ["router"]

router = APIRouter(tags=["screening"])

upload_bytes_max: Final = min(list_file_bytes_max, 32 * 1024 * 1024)  # the app's body limit
cursor_length_max: Final = 120
match_id_length_max: Final = 40

Reader = Annotated[Principal, Depends(require(Permission.SCREENING_READ))]
Decider = Annotated[Principal, Depends(require(Permission.SCREENING_DECIDE))]
Loader = Annotated[Principal, Depends(require(Permission.SCREENING_LISTS))]
MatchId = Annotated[str, Path(min_length=1, max_length=match_id_length_max)]
Cursor = Annotated[
    str | None,
    Query(max_length=cursor_length_max, description="`next_cursor` of the previous page"),
]
_UPLOAD_BODY: Final = {
    "requestBody": {
        "required": True,
        "description": "The list file as published: OFAC's sdn.xml, the EU's XML, or a ZIP "
        "holding OFAC's sdn.csv (with add.csv, alt.csv, sdn_comments.csv)",
        "content": {
            media: {"schema": {"type": "string", "format": "binary"}}
            for media in ("application/xml", "application/zip", "application/octet-stream")
        },
    }
}


_UNCHANGED_RESPONSE: Final[dict[int | str, dict[str, Any]]] = {
    200: {"description": "The same content is the current version already", "model": ListLoadPublic}
}


# --- the review queue -------------------------------------------------------------------------


@router.get(
    "/matches",
    response_model=MatchPage,
    responses=problem_responses(401, 403, 422),
    summary="List potential sanctions matches",
)
def list_matches(
    _principal: Reader,
    db: DatabaseDep,
    status: Annotated[
        service.MatchStatus | None, Query(description="open: the review queue")
    ] = None,
    seller_id: Annotated[SellerId | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=service.page_size_max)] = 50,
    cursor: Cursor = None,
) -> MatchPage:
    """Matches oldest first (the queue's order), each with its score, reasons, the party and the
    list entry."""
    matches, last_id = service.list_matches(
        db,
        status=status,
        seller_id=seller_id,
        after_id=decode_cursor(cursor, one_part),
        limit=limit,
    )
    return MatchPage(
        matches=[match_public(m) for m in matches],
        next_cursor=None if last_id is None else encode_cursor(last_id),
    )


@router.get(
    "/matches/{match_id}",
    response_model=MatchPublic,
    responses=problem_responses(401, 403, 404, 422),
    summary="Read a potential sanctions match",
)
def get_match(match_id: MatchId, _principal: Reader, db: DatabaseDep) -> MatchPublic:
    return match_public(service.get_match(db, match_id))


@router.post(
    "/matches/{match_id}/decision",
    response_model=MatchPublic,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Confirm or clear a potential sanctions match",
)
def decide_match(
    match_id: MatchId,
    body: MatchDecision,
    principal: Decider,
    db: DatabaseDep,
    clock: ClockDep,
    request: Request,
) -> MatchPublic:
    """`confirm` blocks the seller at once (payouts and sales off) and records
    `screening.match_confirmed`; `clear` remembers that this party is not this entry. Either is
    audited with who, when and from where; a decided match answers 409
    `match_already_decided`."""
    match = service.decide_match(
        db,
        match_id,
        decision=service.Decision(body.decision),
        note=body.note,
        actor=actor_of(principal),
        clock=clock,
        source_ip=source_ip(request),
    )
    return match_public(match)


# --- list versions ----------------------------------------------------------------------------


@router.post(
    "/lists",
    status_code=201,
    response_model=ListLoadPublic,
    responses={**_UNCHANGED_RESPONSE, **problem_responses(401, 403, 413, 422)},
    openapi_extra=_UPLOAD_BODY,
    summary="Load a new version of a sanctions list",
)
async def load_list(
    principal: Loader,
    db: DatabaseDep,
    clock: ClockDep,
    request: Request,
    response: Response,
    list_name: Annotated[SanctionsList, Query(alias="list")],
    file_name: Annotated[
        str,
        Query(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$",
              description="Named in errors; `sdn.csv` for OFAC's main CSV file alone"),
    ] = "upload",
    rescreen: Annotated[
        bool,
        Query(description="Rescreen what changed before answering; false: leave it to "
              "`sellerpay screening rescreen` or the scheduled job"),
    ] = True,
) -> ListLoadPublic:  # fmt: skip
    """Load a list file (the body), store it as the list's new version and rescreen: the entries
    added or changed against every party, every entry against new or changed parties. A
    malformed file is refused with 422 naming the line or element, and nothing is stored."""
    data = await _read_body(request)
    result = await run_in_threadpool(
        partial(
            service.load_list,
            db,
            list_name,
            {file_name: data},
            actor=actor_of(principal),
            clock=clock,
            source_ip=source_ip(request),
            rescreen_after=rescreen,
        )
    )
    if not result.created:
        response.status_code = 200
    return ListLoadPublic(
        version=version_public(result.version),
        created=result.created,
        rescreen=None if result.rescreen is None else RescreenPublic(**result.rescreen.public()),
    )


@router.get(
    "/lists",
    response_model=ListVersionPage,
    responses=problem_responses(401, 403, 422),
    summary="List the loaded versions of the sanctions lists",
)
def list_versions(
    _principal: Reader,
    db: DatabaseDep,
    list_name: Annotated[SanctionsList | None, Query(alias="list")] = None,
    limit: Annotated[int, Query(ge=1, le=service.page_size_max)] = 50,
) -> ListVersionPage:
    """Versions newest first: when each was loaded, by whom, and what changed."""
    versions = service.list_versions(db, list_name=list_name, limit=limit)
    return ListVersionPage(versions=[version_public(v) for v in versions])


# --- helpers ----------------------------------------------------------------------------------


async def _read_body(request: Request) -> bytes:
    """The uploaded file, refused with 413 as soon as it grows past `upload_bytes_max`."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > upload_bytes_max:
            raise LimitExceeded(
                f"a list upload is at most {upload_bytes_max} bytes: zip it",
                code="list_file_too_large",
                limit=upload_bytes_max,
            )
        chunks.append(chunk)
    if not size:
        raise InvalidInput(
            "the request body is the list file; it is empty", code="empty_list", field="body"
        )
    return b"".join(chunks)


def entry_public(entry: ListEntry) -> ListEntryPublic:
    return ListEntryPublic(
        list_name=SanctionsList(entry.list_name),
        entry_id=entry.entry_id,
        entity_type=entry.entity_type,
        names=[ListNamePublic(text=n.text, script=n.script, kind=n.kind) for n in entry.names],
        dates_of_birth=list(entry.dates_of_birth),
        countries=list(entry.countries),
        programs=list(entry.programs),
        content_hash=entry.content_hash,
    )


def match_public(match: service.Match) -> MatchPublic:
    subject = match.subject
    return MatchPublic(
        id=match.id,
        status=match.status.value,
        score=match.score,
        reasons=list(match.reasons),
        matched_name=match.matched_name,
        seller_id=match.seller_id,
        subject=SubjectPublic(
            id=subject.id,
            role=subject.role.value,
            reference=subject.reference,
            entity_type=subject.entity_type,
            names=list(subject.names),
            date_of_birth=subject.date_of_birth,
            countries=list(subject.countries),
        ),
        entry=entry_public(match.entry),
        version_id=match.version_id,
        decided_by=match.decided_by,
        decided_at=match.decided_at,
        note=match.note,
        created_at=match.created_at,
        updated_at=match.updated_at,
    )


def version_public(version: service.ListVersion) -> ListVersionPublic:
    return ListVersionPublic(**version.public())
