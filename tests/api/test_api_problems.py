"""Every error is an RFC 9457 problem: routing errors, oversized bodies, and bugs alike."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from api_builders import PROBLEM, Keys, order_paid, unique_key
from fastapi import FastAPI
from fastapi.testclient import TestClient

from http_support import assert_problem
from sellerpay.api import create_app
from sellerpay.clock import FixedClock
from sellerpay.db import Database


def test_health_answers_ok_with_the_database_reachable_and_needs_no_key(
    client: TestClient, db: Database
) -> None:
    response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": {"reachable": True, "dialect": db.dialect},
    }


def test_health_answers_503_when_the_database_is_unreachable(
    tmp_path: Path, clock: FixedClock
) -> None:
    unreachable = Database(f"sqlite:///{tmp_path / 'no such folder' / 'sellerpay.db'}")
    with TestClient(create_app(db=unreachable, clock=clock)) as client:
        response = client.get("/health")

    assert_problem(response, 503, "database_unavailable")


def test_an_unknown_route_is_a_problem(client: TestClient) -> None:
    response = client.get("/v1/ledger/nothing-here")

    assert_problem(response, 404, "route_not_found")


def test_a_wrong_method_is_a_problem_that_says_which_methods_are_allowed(
    client: TestClient,
) -> None:
    response = client.delete("/v1/ledger/transactions")

    assert_problem(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == "POST"


def test_a_body_larger_than_32_mib_is_refused_before_it_is_read(
    client: TestClient, keys: Keys
) -> None:
    response = client.post(
        "/v1/ledger/transactions",
        content=b" " * (32 * 1024 * 1024 + 1),
        headers={
            **keys.of("finance"),
            "Idempotency-Key": unique_key(),
            "Content-Type": "application/json",
        },
    )

    problem = assert_problem(response, 413, "body_size_max")
    assert problem["bytes_max"] == 32 * 1024 * 1024


def test_a_streamed_body_larger_than_32_mib_is_refused_too(client: TestClient, keys: Keys) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(33):
            yield b" " * (1024 * 1024)

    response = client.post(
        "/v1/ledger/transactions",
        content=chunks(),
        headers={
            **keys.of("finance"),
            "Idempotency-Key": unique_key(),
            "Content-Type": "application/json",
        },
    )

    assert_problem(response, 413, "body_size_max")


@pytest.fixture
def failing_app(db: Database, clock: FixedClock) -> FastAPI:
    app = create_app(db=db, clock=clock)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("connection to db-primary.internal:5432 as admin/hunter2 failed")

    return app


def test_an_unexpected_error_is_logged_and_answers_500_without_internals(
    failing_app: FastAPI,
) -> None:
    with (
        structlog.testing.capture_logs() as logs,
        TestClient(failing_app, raise_server_exceptions=False) as client,
    ):
        response = client.get("/boom")

    problem = assert_problem(response, 500, "internal_error")
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    assert "Traceback" not in response.text
    (logged,) = [entry for entry in logs if entry["event"] == "api.unexpected_error"]
    assert logged["error_id"] == problem["error_id"]
    assert logged["path"] == "/boom"
    assert logged["error_type"] == "RuntimeError"


# Bad requests across the routes: each must answer problem+json with a status the route documents.
BAD_REQUESTS = [
    ("post", "/v1/ledger/transactions", "none", None),
    ("post", "/v1/ledger/transactions", "operator", None),
    ("post", "/v1/ledger/transactions", "finance", {"kind": "x"}),
    ("post", "/v1/ledger/transactions/batch", "finance", {"transactions": "all of them"}),
    ("get", "/v1/ledger/transactions/{id}", "finance", None),
    ("get", "/v1/ledger/transactions/not-an-id", "finance", None),
    ("get", "/v1/ledger/transactions/{id}", "compliance", None),
    ("post", "/v1/ledger/transactions/{id}/reverse", "finance", None),
    ("post", "/v1/ledger/transactions/{id}/reverse", "operator", None),
    ("get", "/v1/ledger/accounts/platform:psp_clearing", "none", None),
    ("get", "/v1/ledger/accounts/seller:sel_nobody:pending", "finance", None),
    ("get", "/v1/ledger/accounts/platform:psp_clearing/entries?cursor=zz", "finance", None),
    ("get", "/v1/ledger/accounts/platform:psp_clearing/entries?limit=0", "seller", None),
]


@pytest.mark.parametrize(("method", "path", "who", "body"), BAD_REQUESTS)
def test_every_refusal_is_problem_json_with_a_status_the_route_documents(
    client: TestClient,
    keys: Keys,
    method: str,
    path: str,
    who: str,
    body: object,
) -> None:
    concrete = path.replace("{id}", str(uuid.uuid4()))
    headers = {"Idempotency-Key": unique_key()} | ({} if who == "none" else keys.of(who))

    response = client.request(method, concrete, json=body, headers=headers)

    assert response.status_code >= 400
    assert response.headers["content-type"] == PROBLEM
    template = _template_of(client, concrete)
    documented = client.get("/openapi.json").json()["paths"][template][method]["responses"]
    assert str(response.status_code) in documented, (template, response.status_code)
    problem_content = documented[str(response.status_code)]["content"]
    assert set(problem_content) == {PROBLEM}


def _template_of(client: TestClient, path: str) -> str:
    path = path.split("?")[0]
    for template in client.get("/openapi.json").json()["paths"]:
        parts, wanted = template.split("/"), path.split("/")
        if len(parts) == len(wanted) and all(
            p == w or p.startswith("{") for p, w in zip(parts, wanted, strict=True)
        ):
            return str(template)
    raise AssertionError(f"no documented route for {path}")


def test_a_seller_posting_gets_a_problem_with_the_missing_permission(
    client: TestClient, keys: Keys, seller_id: str
) -> None:
    response = client.post(
        "/v1/ledger/transactions",
        json=order_paid(seller_id),
        headers={**keys.of("seller"), "Idempotency-Key": unique_key()},
    )

    problem = assert_problem(response, 403, "permission_required")
    assert problem["permission"] == "ledger:post"
    assert problem["title"] == "Forbidden"


def test_reads_answer_503_when_the_database_is_unreachable(
    tmp_path: Path, clock: FixedClock
) -> None:
    unreachable = Database(f"sqlite:///{tmp_path / 'no such folder' / 'sellerpay.db'}")
    with TestClient(create_app(db=unreachable, clock=clock)) as client:
        response = client.get(
            "/v1/ledger/accounts/platform:psp_clearing",
            headers={"Authorization": "Bearer sp_0123456789abcdef_secret"},
        )

    problem = assert_problem(response, 503, "database_unavailable")
    assert "no such folder" not in response.text
    assert problem["detail"] == "the database is unavailable; retrying later may succeed"
