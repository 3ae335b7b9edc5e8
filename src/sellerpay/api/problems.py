"""RFC 9457 problem details: the one place where errors become HTTP answers.

Every error response of the API is `application/problem+json`:

    {"type": "https://sellerpay.dev/problems/too_many_decimals", "title": "Too many decimals",
     "status": 422, "detail": "12.345 has more than 2 decimals…", "instance": "/v1/…",
     "code": "too_many_decimals", "field": "body.entries.0.amount", …context of the error}

`code` is the stable, machine-readable name of the rule that failed; `type` is the same code as
a URI. A `SellerpayError` answers with its class's `status` and its keyword-only context; a
request that fails schema validation answers 422 `invalid_request` with one item per bad field
in `errors`; unknown routes, wrong methods and oversized bodies answer in the same format; a
database that cannot be reached answers 503 `database_unavailable`; any other exception is
logged and answers 500 `internal_error` without a word about its internals.
"""

from __future__ import annotations

import http
from collections.abc import Mapping, Sequence
from typing import Any, Final

import structlog
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from sellerpay.errors import SellerpayError, Unauthenticated
from sellerpay.ids import uuid7

PROBLEM_MEDIA_TYPE: Final = "application/problem+json"
PROBLEM_TYPE_BASE: Final = "https://sellerpay.dev/problems/"
_RESERVED: Final = frozenset({"type", "title", "status", "detail", "instance", "code", "errors"})
# A missing field whose absence has a name of its own, more useful than `invalid_request`.
_MISSING_FIELD_CODES: Final = {"header.idempotency-key": "idempotency_key_required"}
# Errors Starlette raises itself (routing, body limit), by status.
_HTTP_CODES: Final = {
    404: "route_not_found",
    405: "method_not_allowed",
    413: "body_size_max",
}
log = structlog.get_logger(__name__)


class FieldProblem(BaseModel):
    """One invalid field of a request: where it is, what is wrong, and a stable code."""

    field: str = Field(examples=["body.entries.0.amount_minor"])
    message: str
    code: str = Field(examples=["int_type"])


class Problem(BaseModel):
    """An RFC 9457 problem: what went wrong, as a stable `code` and words for people."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["https://sellerpay.dev/problems/idempotency_key_reused"])
    title: str = Field(examples=["Conflict"])
    status: int = Field(examples=[409])
    detail: str
    instance: str = Field(description="The path of the request that failed")
    code: str = Field(description="The stable name of the rule that failed")
    errors: list[FieldProblem] | None = Field(
        default=None, description="Each invalid field, when the request failed validation"
    )


def problem_body(
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    instance: str,
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The problem document; context fields are added unless they would shadow a standard one."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
    }
    for key, value in (context or {}).items():
        if key not in _RESERVED:
            body[key] = jsonable_encoder(value)
    return body


def error_problem(error: SellerpayError, *, instance: str) -> dict[str, Any]:
    """The problem document of a `SellerpayError` (also used inside batch results)."""
    return problem_body(
        status=error.status,
        code=error.code,
        title=error.title,
        detail=error.detail,
        instance=instance,
        context=error.context,
    )


def problem_response(
    body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        dict(body), status_code=body["status"], media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` documenting that these statuses answer with a `Problem`."""
    schema = {"$ref": "#/components/schemas/Problem"}
    return {
        status: {
            "description": http.HTTPStatus(status).phrase + " (problem details)",
            "content": {PROBLEM_MEDIA_TYPE: {"schema": schema}},
        }
        for status in statuses
    }


def field_path(loc: Sequence[int | str]) -> str:
    """("body", "entries", 0, "amount") → "body.entries.0.amount"."""
    return ".".join(str(part) for part in loc)


# --- handlers ------------------------------------------------------------------------------


async def _sellerpay_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, SellerpayError)
    headers = None
    if isinstance(error, Unauthenticated):
        # RFC 6750 §3: a 401 names the scheme; a presented but refused key is an invalid token.
        challenge = 'Bearer realm="sellerpay"'
        if error.code != "api_key_required":
            challenge += ', error="invalid_token"'
        headers = {"WWW-Authenticate": challenge}
    return problem_response(error_problem(error, instance=request.url.path), headers)


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = [
        FieldProblem(field=field_path(item["loc"]), message=item["msg"], code=item["type"])
        for item in error.errors()
    ]
    code = "invalid_request"
    for item in problems:
        if item.code == "missing" and item.field.lower() in _MISSING_FIELD_CODES:
            code = _MISSING_FIELD_CODES[item.field.lower()]
    count = len(problems)
    body = problem_body(
        status=422,
        code=code,
        title="Invalid request",
        detail=f"the request has {count} invalid field{'s' if count != 1 else ''}: "
        + ", ".join(p.field for p in problems[:5])
        + (", …" if count > 5 else ""),
        instance=request.url.path,
    )
    body["errors"] = [p.model_dump() for p in problems]
    return problem_response(body)


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    status = error.status_code
    phrase = http.HTTPStatus(status).phrase
    detail = error.detail if isinstance(error.detail, str) and error.detail != phrase else None
    body = problem_body(
        status=status,
        code=_HTTP_CODES.get(status, f"http_{status}"),
        title=phrase,
        detail=detail or _http_detail(request, status),
        instance=request.url.path,
    )
    return problem_response(body, error.headers)


def _http_detail(request: Request, status: int) -> str:
    if status == 404:
        return f"no route {request.url.path}"
    if status == 405:
        return f"{request.method} is not allowed on {request.url.path}"
    if status == 413:
        return "the request body is larger than the server accepts"
    return http.HTTPStatus(status).description


async def _database_unavailable(request: Request, error: Exception) -> JSONResponse:
    """A read that could not reach the database (writes get `Unavailable` from `Database.run`)."""
    log.warning(
        "api.database_unavailable", method=request.method, path=request.url.path, error=str(error)
    )
    body = problem_body(
        status=503,
        code="database_unavailable",
        title="Service unavailable",
        detail="the database is unavailable; retrying later may succeed",
        instance=request.url.path,
    )
    return problem_response(body)


async def _unexpected_error(request: Request, error: Exception) -> JSONResponse:
    error_id = uuid7().hex  # quoted by the caller, found in the log with the traceback
    log.exception(
        "api.unexpected_error",
        error_id=error_id,
        method=request.method,
        path=request.url.path,
        error_type=type(error).__name__,
    )
    body = problem_body(
        status=500,
        code="internal_error",
        title="Internal error",
        detail=f"an unexpected error occurred; it was logged as {error_id}",
        instance=request.url.path,
        context={"error_id": error_id},
    )
    return problem_response(body)


def install_problem_handlers(app: FastAPI) -> None:
    """Map every error to a problem response, once, for the whole application."""
    app.add_exception_handler(SellerpayError, _sellerpay_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected_error)
