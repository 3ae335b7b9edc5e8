"""The reconciliation HTTP routes (`/v1/reconciliation/…`): statement upload and the exceptions
queue. Finance works them (`reconciliation:read`/`:write`); write-offs need a second person
with `reconciliation:approve`. Nothing here is seller-scoped: a seller's key gets 403.

A statement is uploaded as the request body itself (any content type: the format is read from
the bytes), with `bank_account` and `filename` as query parameters; a malformed file is 422
naming the line or element (`where`), and nothing is stored.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from sellerpay.access.rules import Permission, Principal
from sellerpay.api.deps import ClockDep, DatabaseDep, require, source_ip
from sellerpay.api.pagination import decode_cursor, encode_cursor, one_part
from sellerpay.api.problems import problem_responses
from sellerpay.audit.rules import actor_of
from sellerpay.errors import InvalidInput, LimitExceeded
from sellerpay.ledger.schemas import MoneyOut
from sellerpay.money import Money
from sellerpay.rails.csv_statements import CsvMapping
from sellerpay.rails.instructions import RailError
from sellerpay.rails.statements import STATEMENT_FILE_BYTES_MAX
from sellerpay.reconciliation import service
from sellerpay.reconciliation.schemas import (
    AssignRequest,
    DecisionRequest,
    ExceptionKind,
    ExceptionPage,
    ExceptionPublic,
    ExceptionStatus,
    ImportPublic,
    LinePublic,
    NotePublic,
    NoteRequest,
    ResolveRequest,
    StatementPage,
    StatementPublic,
)

__all__ = ["router"]

router = APIRouter(tags=["reconciliation"])
cursor_length_max: Final = 80
upload_bytes_max: Final = STATEMENT_FILE_BYTES_MAX

Reader = Annotated[Principal, Depends(require(Permission.RECONCILIATION_READ))]
Writer = Annotated[Principal, Depends(require(Permission.RECONCILIATION_WRITE))]
Approver = Annotated[Principal, Depends(require(Permission.RECONCILIATION_APPROVE))]
BankAccount = Annotated[
    str,
    Query(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_\-]{0,63}$",
          description="Our bank account id (its ledger account is platform:bank:<id>)",
          examples=["main"]),
]  # fmt: skip
ExceptionId = Annotated[str, Path(min_length=1, max_length=40)]
Cursor = Annotated[
    str | None,
    Query(max_length=cursor_length_max, description="`next_cursor` of the previous page"),
]


def _money(money: Money | None) -> MoneyOut | None:
    return None if money is None else MoneyOut.of(money)


async def _read_body(request: Request) -> bytes:
    """The uploaded file, refused with 413 as soon as it grows past `upload_bytes_max`."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > upload_bytes_max:
            raise LimitExceeded(
                f"a statement upload is at most {upload_bytes_max} bytes",
                code="statement_file_too_large",
                limit=upload_bytes_max,
            )
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body:
        raise InvalidInput("the request body is the statement file; it is empty",
                           code="empty_statement", field="body")  # fmt: skip
    return body


_UPLOAD_BODY: Final = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}

# --- statements -----------------------------------------------------------------------------------


@router.post(
    "/statements",
    status_code=201,
    response_model=ImportPublic,
    responses={
        200: {"description": "Imported before: nothing changed", "model": ImportPublic},
        **problem_responses(401, 403, 413, 422),
    },
    openapi_extra=_UPLOAD_BODY,
    summary="Import a bank statement",
)
async def import_statement(
    bank_account: BankAccount,
    principal: Writer,
    db: DatabaseDep,
    clock: ClockDep,
    request: Request,
    response: Response,
    filename: Annotated[str, Query(min_length=1, max_length=200)] = "statement",
) -> ImportPublic:
    """Import a camt.053, MT940 or CSV statement (the body is the file; CSV needs the bank
    account's saved mapping), match it to payouts and expected settlements, apply what the
    matches prove and check the balances. The same file again answers 200 with `duplicate`."""
    data = await _read_body(request)
    outcome = await run_in_threadpool(
        partial(
            service.import_statement,
            db,
            data,
            filename=filename,
            bank_account=bank_account,
            clock=clock,
            actor=actor_of(principal),
            source_ip=source_ip(request),
        )
    )
    if outcome.duplicate:
        response.status_code = 200
    return ImportPublic(
        import_id=outcome.import_id,
        duplicate=outcome.duplicate,
        format=outcome.format,
        statements=outcome.statements,
        statements_skipped=outcome.statements_skipped,
        lines=outcome.lines,
        matched_lines=outcome.matched_lines,
        exceptions_opened=outcome.exceptions_opened,
        effects_applied=outcome.effects_applied,
        message=outcome.message,
        statement_ids=list(outcome.statement_ids),
        rules=dict(outcome.rules),
    )


def _statement_public(view: service.StatementView) -> StatementPublic:
    return StatementPublic(
        id=view.id,
        import_id=view.import_id,
        bank_account=view.bank_account,
        account=view.account,
        currency=view.currency,
        statement_id=view.statement_id,
        sequence=view.sequence,
        format=view.format,
        opening_balance=_money(view.opening_balance),
        closing_balance=_money(view.closing_balance),
        opening_date=view.opening_date,
        closing_date=view.closing_date,
        line_count=view.line_count,
        adds_up=view.adds_up,
        imported_at=view.imported_at,
        line_states=dict(view.line_states),
    )


@router.get(
    "/statements",
    response_model=StatementPage,
    responses=problem_responses(401, 403, 422),
    summary="List imported statements",
)
def list_statements(
    _principal: Reader,
    db: DatabaseDep,
    bank_account: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=service.page_size_max)] = 50,
    cursor: Cursor = None,
) -> StatementPage:
    """Imported statements, oldest import first."""
    views, last = service.list_statements(
        db, bank_account=bank_account, after_id=decode_cursor(cursor, one_part), limit=limit
    )
    return StatementPage(
        statements=[_statement_public(v) for v in views],
        next_cursor=None if last is None else encode_cursor(last),
    )


@router.get(
    "/statements/{statement_id}",
    response_model=StatementPublic,
    responses=problem_responses(401, 403, 404, 422),
    summary="Get an imported statement",
)
def get_statement(
    statement_id: Annotated[str, Path(min_length=1, max_length=40)],
    _principal: Reader,
    db: DatabaseDep,
) -> StatementPublic:
    """A statement, with how many of its lines are matched, open, written off…"""
    return _statement_public(service.get_statement(db, statement_id))


@router.put(
    "/csv-mappings/{bank_account}",
    status_code=204,
    responses=problem_responses(401, 403, 422),
    summary="Save how a bank account's CSV statements are read",
)
def put_csv_mapping(
    bank_account: Annotated[str, Path(min_length=1, max_length=64)],
    mapping: dict[str, Any],
    principal: Writer,
    db: DatabaseDep,
    clock: ClockDep,
) -> Response:
    """The CSV column mapping of a bank account (see docs/reconciliation.md): used by every
    CSV import of the account from now on. An unknown key or a bad value is 422 naming it."""
    try:
        parsed = CsvMapping.from_dict(mapping)
    except RailError as error:
        raise InvalidInput(str(error), code=error.code, field=error.where or "body") from error
    service.save_csv_mapping(db, bank_account, parsed, actor=actor_of(principal), clock=clock)
    return Response(status_code=204)


# --- exceptions -----------------------------------------------------------------------------------


def exception_public(view: service.ExceptionView) -> ExceptionPublic:
    line = view.line
    return ExceptionPublic(
        id=view.id,
        kind=view.kind,
        status=view.status,
        bank_account=view.bank_account,
        currency=view.currency,
        owner=view.owner,
        line_id=view.line_id,
        statement_row_id=view.statement_row_id,
        expected_key=view.expected_key,
        on_date=view.on_date,
        amount=_money(view.amount),
        detail=view.detail,
        evidence=dict(view.evidence),
        resolution=view.resolution,
        pending=None if view.pending is None else dict(view.pending),
        resolved_by=view.resolved_by,
        approved_by=view.approved_by,
        resolved_at=view.resolved_at,
        ledger_transaction_id=view.ledger_transaction_id,
        created_at=view.created_at,
        updated_at=view.updated_at,
        version=view.version,
        notes=[NotePublic(seq=n.seq, author=n.author, text=n.text, at=n.at) for n in view.notes],
        line=None
        if line is None
        else LinePublic(**{**line, "amount": MoneyOut.of(line["amount"])}),
    )


@router.get(
    "/exceptions",
    response_model=ExceptionPage,
    responses=problem_responses(401, 403, 422),
    summary="The exceptions queue",
)
def list_exceptions(
    _principal: Reader,
    db: DatabaseDep,
    status: ExceptionStatus | None = None,
    kind: ExceptionKind | None = None,
    bank_account: Annotated[str | None, Query(max_length=64)] = None,
    owner: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=service.page_size_max)] = 50,
    cursor: Cursor = None,
) -> ExceptionPage:
    """Exceptions oldest first, filtered exactly by status, kind, bank account and owner."""
    where = service.ExceptionFilter(status=status, kind=kind, bank_account=bank_account,
                                    owner=owner)  # fmt: skip
    views, last = service.list_exceptions(
        db, where, after_id=decode_cursor(cursor, one_part), limit=limit
    )
    return ExceptionPage(
        exceptions=[exception_public(v) for v in views],
        next_cursor=None if last is None else encode_cursor(last),
    )


@router.get(
    "/exceptions/{exception_id}",
    response_model=ExceptionPublic,
    responses=problem_responses(401, 403, 404, 422),
    summary="Get an exception",
)
def get_exception(
    exception_id: ExceptionId, _principal: Reader, db: DatabaseDep
) -> ExceptionPublic:
    """One exception with its notes and its statement line."""
    return exception_public(service.get_exception(db, exception_id))


@router.post(
    "/exceptions/{exception_id}/assign",
    response_model=ExceptionPublic,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Give an exception an owner",
)
def assign_exception(
    exception_id: ExceptionId,
    body: AssignRequest,
    principal: Writer,
    db: DatabaseDep,
    clock: ClockDep,
    request: Request,
) -> ExceptionPublic:
    """The owner works it; an open exception becomes `investigating`. Audited."""
    view = service.assign_exception(db, exception_id, owner=body.owner,
                                    actor=actor_of(principal), clock=clock,
                                    source_ip=source_ip(request))  # fmt: skip
    return exception_public(view)


@router.post(
    "/exceptions/{exception_id}/notes",
    response_model=ExceptionPublic,
    responses=problem_responses(401, 403, 404, 422),
    summary="Add a note to an exception",
)
def add_note(
    exception_id: ExceptionId,
    body: NoteRequest,
    principal: Writer,
    db: DatabaseDep,
    clock: ClockDep,
    request: Request,
) -> ExceptionPublic:
    """A note, kept with its author and time. Audited."""
    view = service.add_note(db, exception_id, text=body.text, actor=actor_of(principal),
                            clock=clock, source_ip=source_ip(request))  # fmt: skip
    return exception_public(view)


@router.post(
    "/exceptions/{exception_id}/resolve",
    response_model=ExceptionPublic,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Resolve an exception",
)
def resolve_exception(
    exception_id: ExceptionId,
    body: ResolveRequest,
    principal: Writer,
    db: DatabaseDep,
    clock: ClockDep,
    request: Request,
) -> ExceptionPublic:
    """`manual_match` (its line to `payout_ids`, applied at once), `write_off` (waits for an
    approver: `POST …/approve`), or `accepted` (nothing to book; `note` says why). 422
    `resolution_not_allowed` when the kind cannot be resolved so, `amounts_differ` when the
    payouts do not make the line."""
    view = service.resolve_exception(
        db,
        exception_id,
        resolution=body.resolution,
        note=body.note,
        payout_ids=body.payout_ids,
        actor=actor_of(principal),
        clock=clock,
        source_ip=source_ip(request),
    )
    return exception_public(view)


@router.post(
    "/exceptions/{exception_id}/approve",
    response_model=ExceptionPublic,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Approve a write-off",
)
def approve_write_off(
    exception_id: ExceptionId,
    principal: Approver,
    db: DatabaseDep,
    clock: ClockDep,
    request: Request,
) -> ExceptionPublic:
    """The second person books the write-off in the ledger and resolves the exception; 403
    `approver_is_requester` for the one who asked, 409 `no_pending_write_off`."""
    view = service.approve_write_off(db, exception_id, actor=actor_of(principal), clock=clock,
                                     source_ip=source_ip(request))  # fmt: skip
    return exception_public(view)


@router.post(
    "/exceptions/{exception_id}/reject",
    response_model=ExceptionPublic,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Turn a write-off down",
)
def reject_write_off(
    exception_id: ExceptionId,
    body: DecisionRequest,
    principal: Approver,
    db: DatabaseDep,
    clock: ClockDep,
    request: Request,
) -> ExceptionPublic:
    """The write-off is not booked; the exception stays under investigation."""
    view = service.reject_write_off(db, exception_id, note=body.note, actor=actor_of(principal),
                                    clock=clock, source_ip=source_ip(request))  # fmt: skip
    return exception_public(view)
