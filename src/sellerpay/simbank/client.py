"""`HttpBank`: a `BankConnection` to `sellerpay simbank` over HTTP (httpx).

How transport failures map onto the two bank errors, which are the whole at-most-once story:

    httpx time-out, connection error, 5xx (504 time-out)   BankTimeout: the outcome is unknown,
                                                           so the caller inquires, never resends
    4xx on POST /files                                     BankRefused with the bank's reason
                                                           code: it certainly did not take it

A connection refused could only mean "not received", but telling it apart from a connection
dropped after the request left is not reliable across platforms; both are BankTimeout, which
is always safe (an inquiry settles it). The provider calls raise `ProviderRefused` (4xx,
carrying the provider's error body) and BankTimeout the same way.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Final

import httpx

from sellerpay.payouts.banking import BankRefused, BankTimeout, InboundFile
from sellerpay.rails.instructions import RailError, TransferState, TransferStatus
from sellerpay.rails.provider import (
    ProviderErrorBody,
    ProviderPayoutRequest,
    ProviderPayoutStatus,
)

TIMEOUT_S_DEFAULT: Final = 30.0
_STATES: Final[frozenset[str]] = frozenset(
    {"accepted", "settled", "rejected", "pending", "unknown"}
)


class ProviderRefused(Exception):
    """The provider refused a request (4xx): `status` and its error body say why."""

    def __init__(self, status: int, error: ProviderErrorBody) -> None:
        super().__init__(f"{status} {error.code}: {error.message}")
        self.status = status
        self.error = error


class BankProtocolError(Exception):
    """The server answered something this client cannot read: a bug on one side, not a fault."""


class HttpBank:
    """The simulated bank (or anything speaking its HTTP API) as a `BankConnection`."""

    def __init__(
        self,
        base_url: str,
        timeout: float = TIMEOUT_S_DEFAULT,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._client = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)

    def __enter__(self) -> HttpBank:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    # -- BankConnection -------------------------------------------------------------------------

    def send(self, rail: str, filename: str, content: bytes, message_id: str) -> None:
        response = self._call(
            "POST",
            "/files",
            content=content,
            headers={
                "X-Rail": rail,
                "X-Filename": filename,
                "X-Message-Id": message_id,
                "Content-Type": "application/octet-stream",
            },
        )
        if 400 <= response.status_code < 500:
            error = _error_fields(response)
            raise BankRefused(
                str(error.get("message") or response.text[:500]),
                reason_code=str(error.get("reason_code") or "FF01"),
            )
        _expect(response, 200)

    def inquire(
        self, rail: str, message_id: str, end_to_end_ids: Sequence[str]
    ) -> Sequence[TransferStatus]:
        response = self._call(
            "POST",
            "/inquiries",
            json={"rail": rail, "message_id": message_id, "end_to_end_ids": list(end_to_end_ids)},
        )
        body = _expect(response, 200)
        return [_status(item) for item in body.get("statuses", [])]

    def collect(self) -> Sequence[InboundFile]:
        body = _expect(self._call("GET", "/reports"), 200)
        try:
            return [
                InboundFile(str(item["filename"]), base64.b64decode(item["content_base64"]))
                for item in body["files"]
            ]
        except (KeyError, TypeError, binascii.Error) as error:
            raise BankProtocolError(f"unreadable report list: {error}") from error

    # -- provider API ---------------------------------------------------------------------------

    def pay_via_provider(self, request: ProviderPayoutRequest) -> ProviderPayoutStatus:
        """POST /provider/payouts with the request's idempotency key: safe to repeat."""
        response = self._call(
            "POST",
            "/provider/payouts",
            content=request.to_json(),
            headers={
                "Idempotency-Key": request.idempotency_key,
                "Content-Type": "application/json",
            },
        )
        return self._provider_answer(response, (200, 201))

    def provider_payout(self, payout_id: str) -> ProviderPayoutStatus:
        return self._provider_answer(self._call("GET", f"/provider/payouts/{payout_id}"), (200,))

    def _provider_answer(
        self, response: httpx.Response, expected: tuple[int, ...]
    ) -> ProviderPayoutStatus:
        if 400 <= response.status_code < 500:
            try:
                error = ProviderErrorBody.from_json(response.content)
            except RailError:
                error = ProviderErrorBody("unreadable_error", response.text[:500])
            raise ProviderRefused(response.status_code, error)
        if response.status_code not in expected:
            raise BankProtocolError(f"unexpected {response.status_code}: {response.text[:500]}")
        try:
            return ProviderPayoutStatus.from_json(response.content)
        except RailError as error:
            raise BankProtocolError(f"unreadable payout status: {error}") from error

    # -- demo and test control ------------------------------------------------------------------

    def advance(self, now: datetime | None = None) -> int:
        """Let the bank play every event due up to `now`; returns the files it produced."""
        body = _expect(
            self._call("POST", "/advance", json={"now": now.isoformat() if now else None}), 200
        )
        return int(body["files_produced"])

    def stats(self) -> dict[str, Any]:
        return _expect(self._call("GET", "/stats"), 200)

    def _call(self, method: str, path: str, **options: Any) -> httpx.Response:
        try:
            response = self._client.request(method, path, **options)
        except httpx.TransportError as error:  # time-outs, connection and protocol errors
            raise BankTimeout(f"{method} {path}: {type(error).__name__}: {error}") from error
        if response.status_code >= 500:
            raise BankTimeout(f"{method} {path}: the bank answered {response.status_code}")
        return response


def _expect(response: httpx.Response, status: int) -> dict[str, Any]:
    if response.status_code != status:
        raise BankProtocolError(f"expected {status}, got {response.status_code}: {response.text}")
    try:
        body = response.json()
    except ValueError as error:
        raise BankProtocolError(f"the bank's answer is not JSON: {error}") from error
    if not isinstance(body, dict):
        raise BankProtocolError("the bank's answer is not a JSON object")
    return body


def _error_fields(response: httpx.Response) -> dict[str, Any]:
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return {}
    return error if isinstance(error, dict) else {}


def _status(item: Any) -> TransferStatus:
    if not isinstance(item, dict) or item.get("state") not in _STATES:
        raise BankProtocolError(f"unreadable transfer status: {item!r}")
    state: TransferState = item["state"]
    return TransferStatus(
        end_to_end_id=str(item["end_to_end_id"]),
        state=state,
        reason_code=item.get("reason_code"),
        reason_text=item.get("reason_text"),
        payment_information_id=item.get("payment_information_id"),
    )
