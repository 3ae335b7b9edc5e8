"""The sellers and balances routes describe themselves: bounded inputs, problems, keys."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

MY_PATHS = ("/v1/sellers", "/v1/sellers/{seller_id}", "/v1/sellers/{seller_id}/balance",
            "/v1/sellers/{seller_id}/balance-transactions")  # fmt: skip


@pytest.fixture
def openapi(client: TestClient) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/openapi.json").json()
    return document


def strings_of(schema: dict[str, Any], where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every string (or list of strings) a schema accepts, with where it is."""
    for option in schema.get("anyOf", [schema]):
        if option.get("type") == "array":
            yield where, option
            yield from strings_of(option["items"], f"{where}[]")
        elif option.get("type") == "object":
            values = [option.get("additionalProperties") or {}]
            values += list(option.get("patternProperties", {}).values())
            for value in values:
                yield from strings_of(value, f"{where}{{}}")
        elif option.get("type") == "string":
            yield where, option


def bounded(schema: dict[str, Any]) -> bool:
    if schema.get("type") == "array":
        return "maxItems" in schema
    return any(k in schema for k in ("maxLength", "pattern", "format", "enum", "const"))


def test_every_string_and_list_a_seller_route_takes_is_bounded(openapi: dict[str, Any]) -> None:
    schemas = openapi["components"]["schemas"]
    unbounded = []
    for name in ("SellerCreate", "SellerUpdate"):
        for field, schema in schemas[name]["properties"].items():
            resolved = schema
            if "$ref" in schema:
                resolved = schemas[schema["$ref"].rsplit("/", 1)[-1]]
            unbounded += [w for w, s in strings_of(resolved, f"{name}.{field}") if not bounded(s)]
    for path in MY_PATHS:
        for method, operation in openapi["paths"][path].items():
            for parameter in operation.get("parameters", []):
                where = f"{method} {path} {parameter['name']}"
                unbounded += [
                    w for w, s in strings_of(parameter["schema"], where) if not bounded(s)
                ]
    assert unbounded == []


def test_the_metadata_of_a_seller_is_bounded_in_keys_and_values(openapi: dict[str, Any]) -> None:
    metadata = openapi["components"]["schemas"]["SellerCreate"]["properties"]["metadata"]

    assert metadata["maxProperties"] == 50
    ((key_pattern, value),) = metadata["patternProperties"].items()
    assert key_pattern.startswith("^[A-Za-z]")
    assert value == {"type": "string", "maxLength": 500}
    assert metadata.get("additionalProperties") in (None, False)


def test_every_seller_route_needs_a_key_and_answers_errors_as_problems(
    openapi: dict[str, Any],
) -> None:
    for path in MY_PATHS:
        for method, operation in openapi["paths"][path].items():
            assert {"BearerKey": []} in operation["security"], (method, path)
            errors = {s for s in operation["responses"] if s >= "400"}
            assert {"401", "422"} <= errors, (method, path)
            for status in errors:
                content = operation["responses"][status]["content"]
                assert set(content) == {"application/problem+json"}, (method, path, status)


def test_the_csv_export_is_documented_beside_the_json_page(openapi: dict[str, Any]) -> None:
    listing = openapi["paths"]["/v1/sellers/{seller_id}/balance-transactions"]["get"]

    assert set(listing["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    assert "413" in listing["responses"]
