"""The API describes itself: OpenAPI at /openapi.json, docs at /docs, every route and error."""

from __future__ import annotations

from typing import Any

import pytest
from api_builders import PROBLEM
from fastapi.testclient import TestClient
from role_matrix import MATRIX

# every served route, each with who may call it: tests/api/role_matrix.py (one list, not two)
ROUTES = {(method.lower(), path) for method, path in MATRIX}


@pytest.fixture
def openapi(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def operations(openapi: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in openapi["paths"].items()
        for method, operation in item.items()
    ]


def test_the_openapi_document_names_sellerpay_and_documents_every_route(
    openapi: dict[str, Any],
) -> None:
    assert openapi["info"]["title"] == "Sellerpay"
    assert openapi["info"]["version"]
    assert "problem" in openapi["info"]["description"]
    assert {(method, path) for method, path, _ in operations(openapi)} == ROUTES


def test_the_interactive_docs_are_served(client: TestClient) -> None:
    response = client.get("/docs")

    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    assert "/openapi.json" in response.text


def test_every_error_a_route_documents_is_a_problem(openapi: dict[str, Any]) -> None:
    assert set(openapi["components"]["schemas"]["Problem"]["required"]) >= {
        "type", "title", "status", "detail", "instance", "code"
    }  # fmt: skip
    for method, path, operation in operations(openapi):
        errors = {s: r for s, r in operation["responses"].items() if s >= "400"}
        assert errors, (method, path)
        for status, response in errors.items():
            assert set(response["content"]) == {PROBLEM}, (method, path, status)
            schema = response["content"][PROBLEM]["schema"]
            assert schema == {"$ref": "#/components/schemas/Problem"}
    assert "HTTPValidationError" not in openapi["components"]["schemas"]


def test_every_ledger_route_requires_a_key_and_says_how_to_send_it(
    openapi: dict[str, Any],
) -> None:
    schemes = openapi["components"]["securitySchemes"]
    assert schemes["BearerKey"] == {
        "type": "http", "scheme": "bearer", "description": schemes["BearerKey"]["description"]
    }  # fmt: skip
    assert schemes["ApiKeyHeader"]["name"] == "X-API-Key"
    for method, path, operation in operations(openapi):
        if path.startswith("/v1/"):
            assert {"BearerKey": []} in operation["security"], (method, path)
            assert "401" in operation["responses"], (method, path)


def test_posting_documents_the_idempotency_key_the_replay_and_exact_amounts(
    openapi: dict[str, Any],
) -> None:
    post = openapi["paths"]["/v1/ledger/transactions"]["post"]
    (header,) = [p for p in post["parameters"] if p["in"] == "header"]
    assert header["name"] == "Idempotency-Key"
    assert header["required"] is True
    assert header["schema"]["maxLength"] == 255
    assert "Idempotent-Replayed" in post["responses"]["200"]["headers"]
    schemas = openapi["components"]["schemas"]
    assert schemas["MoneyOut"]["properties"]["amount_minor"]["type"] == "integer"
    assert schemas["MoneyOut"]["properties"]["amount"]["type"] == "string"
    entry = schemas["EntryCreate"]["properties"]
    minor = next(s for s in entry["amount_minor"]["anyOf"] if s.get("type") == "integer")
    assert minor["exclusiveMinimum"] == 0
    amount = next(s for s in entry["amount"]["anyOf"] if s.get("type") == "string")
    assert amount["pattern"]


def test_every_string_of_a_request_body_is_bounded(openapi: dict[str, Any]) -> None:
    schemas = openapi["components"]["schemas"]
    unbounded = []
    for name in ("EntryCreate", "TransactionCreate", "TransactionBatchItem", "ReversalCreate"):
        for field, schema in schemas[name]["properties"].items():
            for option in schema.get("anyOf", [schema]):
                if option.get("type") == "string" and not (
                    "maxLength" in option or "pattern" in option or "format" in option
                ):
                    unbounded.append(f"{name}.{field}")
    assert unbounded == []
