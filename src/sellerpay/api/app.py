"""`create_app`: the Sellerpay FastAPI application, its routers, error mapping and OpenAPI."""

from __future__ import annotations

import http
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sellerpay import __version__
from sellerpay.api import health, metrics
from sellerpay.api.problems import (
    FieldProblem,
    Problem,
    install_problem_handlers,
    problem_body,
    problem_response,
)
from sellerpay.clock import Clock, SystemClock
from sellerpay.db import Database
from sellerpay.observability import RequestIdMiddleware
from sellerpay.settings import get_settings

request_body_bytes_max: Final = 32 * 1024 * 1024
"""A full batch (1,000 transactions of 64 entries) is ~10 MB of JSON; larger bodies get 413."""

_DESCRIPTION: Final = """\
Sellerpay pays the sellers of a marketplace: a double-entry ledger of every seller's balances,
payouts over real bank rails, reconciliation.

* **Amounts** are exact: integer minor units with their ISO 4217 currency, written as
  `{"amount_minor": 8800, "currency": "EUR", "exponent": 2, "amount": "88.00"}`; never floats.
* **Authentication**: an API key as `Authorization: Bearer <key>` (or `X-API-Key: <key>`).
* **Writes are idempotent**: send an `Idempotency-Key`; a replay answers `200` with
  `Idempotent-Replayed: true` and the original result, the same key with another body `409`.
* **Errors** are RFC 9457 problem details (`application/problem+json`) with a stable `code`.
"""


class BodySizeLimit:
    """Refuse request bodies larger than `bytes_max` with a 413 problem, declared or streamed."""

    def __init__(self, app: ASGIApp, *, bytes_max: int) -> None:
        self.app = app
        self.bytes_max = bytes_max

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.bytes_max:
            body = problem_body(
                status=413,
                code="body_size_max",
                title=http.HTTPStatus(413).phrase,
                detail=f"the request body is larger than {self.bytes_max} bytes",
                instance=scope["path"],
                context={"bytes_max": self.bytes_max},
            )
            await problem_response(body)(scope, receive, send)
            return
        received = 0

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.bytes_max:  # a chunked body with no Content-Length
                    raise StarletteHTTPException(413)
            return message

        await self.app(scope, receive_limited, send)


class SellerpayAPI(FastAPI):
    """FastAPI whose OpenAPI document also defines the `Problem` schema every error refers to."""

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is not None:
            return self.openapi_schema
        schema = super().openapi()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (Problem, FieldProblem):
            definition = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(definition.pop("$defs", {}))
            schemas[model.__name__] = definition
        self.openapi_schema = schema
        return schema


def create_app(*, db: Database | None = None, clock: Clock | None = None) -> FastAPI:
    """The application, serving `db` (default: the configured database) on `clock`.

    A database created here is disposed of when the application shuts down; one passed in
    belongs to the caller.
    """
    settings = get_settings()
    owns_database = db is None
    database = db or Database(settings.database_url, pool_size=settings.database_pool_size)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if owns_database:
            database.dispose()

    app = SellerpayAPI(
        title="Sellerpay",
        version=__version__,
        description=_DESCRIPTION,
        lifespan=lifespan,
    )
    app.add_middleware(BodySizeLimit, bytes_max=request_body_bytes_max)
    app.add_middleware(RequestIdMiddleware)
    app.state.db = database
    app.state.clock = clock or SystemClock()
    install_problem_handlers(app)
    app.include_router(health.router)
    app.include_router(metrics.router)
    # Imported here, not at the top: the contexts' routers import `sellerpay.api.deps`, so a
    # top-level import would make `import sellerpay.ledger.api` circular.
    from sellerpay.ledger.api import router as ledger_router

    app.include_router(ledger_router, prefix="/v1/ledger")
    from sellerpay.settlement.api import router as settlement_router

    app.include_router(settlement_router, prefix="/v1")
    from sellerpay.events.api import router as webhooks_router

    app.include_router(webhooks_router, prefix="/v1/webhook-endpoints")
    from sellerpay.balances.api import router as balances_router
    from sellerpay.sellers.api import router as sellers_router

    app.include_router(sellers_router, prefix="/v1/sellers")
    app.include_router(balances_router, prefix="/v1/sellers")
    from sellerpay.onboarding.api import compliance_router
    from sellerpay.onboarding.api import router as onboarding_router

    app.include_router(onboarding_router, prefix="/v1/sellers")
    app.include_router(compliance_router, prefix="/v1/compliance")
    from sellerpay.audit.api import router as audit_router

    app.include_router(audit_router, prefix="/v1/audit")
    from sellerpay.bankaccounts.api import router as bank_accounts_router

    app.include_router(bank_accounts_router, prefix="/v1")
    from sellerpay.reconciliation.api import router as reconciliation_router

    app.include_router(reconciliation_router, prefix="/v1/reconciliation")
    from sellerpay.payouts.api import router as payouts_router
    from sellerpay.payouts.api import runs_router as payout_runs_router
    from sellerpay.payouts.api import seller_router as seller_payouts_router

    app.include_router(payouts_router, prefix="/v1/payouts")
    app.include_router(payout_runs_router, prefix="/v1/payout-runs")
    app.include_router(seller_payouts_router, prefix="/v1/sellers")
    from sellerpay.screening.api import router as screening_router

    app.include_router(screening_router, prefix="/v1/screening")
    from sellerpay.reporting.api import router as reporting_router

    app.include_router(reporting_router, prefix="/v1")
    return app
