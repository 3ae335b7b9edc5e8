"""The simulated bank over HTTP (`sellerpay simbank`): the same operations as `SimulatedBank`.

    POST /files                  raw body; headers X-Rail, X-Filename, X-Message-Id
                                 200 received (Idempotent-Replayed: true for a known message
                                 id), 422 refused with its ISO reason code, 504 time-out
    POST /inquiries              {"rail", "message_id", "end_to_end_ids": [...]} -> statuses
    GET  /reports                the files waiting (base64); each is returned once
    POST /provider/payouts       a payout request, header Idempotency-Key = its key
                                 201 accepted or failed, 200 + Idempotent-Replayed on a repeat,
                                 409 key reused with another body, 422 malformed, 504 time-out
    GET  /provider/payouts/{id}  the payout's status now
    POST /advance                {"now": "2026-01-06T00:00:00Z"} or {} (the bank's clock): test
                                 and demo control, plays every due event
    GET  /stats                  the bank's counts (`BankStats.to_dict`)

Errors are `{"error": {"code", "message", "where", "reason_code"}}`. Faults shape the answers:
every answer waits `latency_ms`; a time-out holds the connection `timeout_hold_s` seconds,
then answers 504, so a client with a shorter time-out sees a real time-out. Which calls time
out is the bank's seeded decision, so the server adds no randomness of its own.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Annotated, Any, Final

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import AwareDatetime, BaseModel, Field
from starlette.concurrency import run_in_threadpool

from sellerpay.errors import NotFound
from sellerpay.payouts.banking import BankRefused, BankTimeout
from sellerpay.rails.instructions import END_TO_END_ID_LENGTH_MAX, RailError, TransferStatus
from sellerpay.rails.provider import BODY_BYTES_MAX, ProviderErrorBody, ProviderPayoutRequest
from sellerpay.simbank.bank import INQUIRY_IDS_MAX, ProviderConflict, SimulatedBank
from sellerpay.simbank.intake import FILE_BYTES_MAX, MESSAGE_ID_LENGTH_MAX

REPLAYED_HEADER: Final = "Idempotent-Replayed"
FILENAME_LENGTH_MAX: Final = 255


class Inquiry(BaseModel):
    rail: str = Field(min_length=1, max_length=32)
    message_id: str = Field(min_length=1, max_length=MESSAGE_ID_LENGTH_MAX)
    end_to_end_ids: list[
        Annotated[str, Field(min_length=1, max_length=END_TO_END_ID_LENGTH_MAX)]
    ] = Field(max_length=INQUIRY_IDS_MAX)


class Advance(BaseModel):
    now: AwareDatetime | None = None


def create_simbank_app(bank: SimulatedBank) -> FastAPI:
    """The HTTP face of `bank`; the bank keeps all state, so several apps may share one."""
    app = FastAPI(
        title="Sellerpay simulated bank",
        summary="Takes payout files and provider API calls; answers like a bank, with faults.",
        version="1",
    )
    _add_bank_routes(app, bank)
    _add_provider_routes(app, bank)
    _add_control_routes(app, bank)
    return app


async def _wait_latency(bank: SimulatedBank) -> None:
    if bank.faults.latency_ms:
        await asyncio.sleep(bank.faults.latency_ms / 1000)


async def _timed_out(bank: SimulatedBank, message: str) -> Response:
    """Hold the connection as a bank that does not answer would, then say so (504)."""
    await asyncio.sleep(bank.faults.timeout_hold_s)
    return _error(504, "timeout", message)


def _add_bank_routes(app: FastAPI, bank: SimulatedBank) -> None:
    """The `BankConnection` operations: send a file, inquire, collect reports."""

    @app.post("/files")
    async def receive_file(
        request: Request,
        rail: Annotated[str, Header(alias="X-Rail", min_length=1, max_length=32)],
        filename: Annotated[
            str, Header(alias="X-Filename", min_length=1, max_length=FILENAME_LENGTH_MAX)
        ],
        message_id: Annotated[
            str, Header(alias="X-Message-Id", min_length=1, max_length=MESSAGE_ID_LENGTH_MAX)
        ],
    ) -> Response:
        await _wait_latency(bank)
        content = await _body(request, FILE_BYTES_MAX)
        if content is None:
            return _error(413, "file_too_large", f"a file is at most {FILE_BYTES_MAX} bytes")
        try:
            receipt = await run_in_threadpool(bank.receive, rail, filename, content, message_id)
        except BankTimeout as error:
            return await _timed_out(bank, str(error))
        except BankRefused as error:
            return _error(422, "bank_refused", str(error), reason_code=error.reason_code)
        body = {
            "message_id": receipt.message_id,
            "duplicate": receipt.duplicate,
            "transfer_count": receipt.transfer_count,
        }
        headers = {REPLAYED_HEADER: "true"} if receipt.duplicate else {}
        return JSONResponse(body, headers=headers)

    @app.post("/inquiries")
    async def inquire(inquiry: Inquiry) -> JSONResponse:
        await _wait_latency(bank)
        try:
            statuses = await run_in_threadpool(
                bank.inquire, inquiry.rail, inquiry.message_id, inquiry.end_to_end_ids
            )
        except BankRefused as error:
            return _error(422, "bank_refused", str(error), reason_code=error.reason_code)
        return JSONResponse({"statuses": [_status_dict(status) for status in statuses]})

    @app.get("/reports")
    async def collect() -> JSONResponse:
        await _wait_latency(bank)
        files = await run_in_threadpool(bank.collect)
        return JSONResponse(
            {
                "files": [
                    {
                        "filename": file.filename,
                        "content_base64": base64.b64encode(file.content).decode("ascii"),
                    }
                    for file in files
                ]
            }
        )


def _add_provider_routes(app: FastAPI, bank: SimulatedBank) -> None:
    """The payout provider's API: one payout per idempotency key, and its status."""

    @app.post("/provider/payouts")
    async def provider_payout(
        request: Request,
        idempotency_key: Annotated[
            str | None, Header(alias="Idempotency-Key", max_length=END_TO_END_ID_LENGTH_MAX)
        ] = None,
    ) -> Response:
        await _wait_latency(bank)
        body = await _body(request, BODY_BYTES_MAX)
        if body is None:
            return _error(413, "body_too_large", f"a request is at most {BODY_BYTES_MAX} bytes")
        try:
            payout = ProviderPayoutRequest.from_json(body)
        except RailError as error:
            return _provider_error(422, error.code, error.message, error.where)
        if idempotency_key != payout.idempotency_key:
            return _provider_error(
                422,
                "idempotency_key_mismatch",
                "the Idempotency-Key header must equal the body's idempotency_key",
                "Idempotency-Key",
            )
        try:
            status, replayed = await run_in_threadpool(bank.receive_provider_payout, payout)
        except BankTimeout as error:
            return await _timed_out(bank, str(error))
        except ProviderConflict as error:
            return _provider_error(409, error.code, error.detail, "idempotency_key")
        headers = {REPLAYED_HEADER: "true"} if replayed else {}
        return JSONResponse(status.to_dict(), status_code=200 if replayed else 201, headers=headers)

    @app.get("/provider/payouts/{payout_id}")
    async def provider_status(payout_id: str) -> Response:
        await _wait_latency(bank)
        try:
            status = await run_in_threadpool(bank.provider_payout, payout_id)
        except NotFound as error:
            return _provider_error(404, error.code, error.detail, "payout_id")
        return JSONResponse(status.to_dict())


def _add_control_routes(app: FastAPI, bank: SimulatedBank) -> None:
    """Test and demo control: move the bank's time, read its counts."""

    @app.post("/advance")
    async def advance(advance: Advance) -> JSONResponse:
        produced = await run_in_threadpool(bank.advance, advance.now)
        return JSONResponse({"files_produced": produced})

    @app.get("/stats")
    async def stats() -> JSONResponse:
        snapshot = await run_in_threadpool(bank.stats)
        return JSONResponse(snapshot.to_dict())


async def _body(request: Request, bytes_max: int) -> bytes | None:
    """The request body, or None as soon as it grows past `bytes_max`."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > bytes_max:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _status_dict(status: TransferStatus) -> dict[str, Any]:
    return {
        "end_to_end_id": status.end_to_end_id,
        "state": status.state,
        "reason_code": status.reason_code,
        "reason_text": status.reason_text,
        "payment_information_id": status.payment_information_id,
    }


def _error(status: int, code: str, message: str, **extra: str | None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status_code=status)


def _provider_error(status: int, code: str, message: str, where: str | None) -> Response:
    return Response(
        ProviderErrorBody(code, message, where).to_json(),
        status_code=status,
        media_type="application/json",
    )
