"""Posting batches over HTTP: all validated before anything is stored, each item decided in turn."""

from __future__ import annotations

from typing import Any

from api_builders import (
    Keys,
    balance_minor,
    key_is_stored,
    order_paid,
    pending,
    release,
    transaction_count,
    unique_key,
)
from fastapi.testclient import TestClient

from http_support import assert_problem
from sellerpay.db import Database

URL = "/v1/ledger/transactions/batch"


def item(body: dict[str, Any], key: str | None = None) -> dict[str, Any]:
    return {"idempotency_key": key or unique_key("batch"), **body}


def test_a_batch_posts_each_order_and_reports_each_outcome_in_order(
    client: TestClient, keys: Keys, db: Database, seller_id: str
) -> None:
    posted_before = client.post(
        "/v1/ledger/transactions",
        json=order_paid(seller_id),
        headers={**keys.of("finance"), "Idempotency-Key": (replayed_key := unique_key())},
    ).json()
    batch = [
        item(order_paid(seller_id, gross_minor=5_000, commission_minor=600)),
        item(order_paid(seller_id), replayed_key),
        item(release(seller_id, 1_000_000)),  # more than is pending: refused, others still go
        item(release(seller_id, 4_400)),
    ]

    response = client.post(URL, json={"transactions": batch}, headers=keys.of("finance"))

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["idempotency_key"] for r in results] == [b["idempotency_key"] for b in batch]
    assert [r["status"] for r in results] == ["posted", "replayed", "rejected", "posted"]
    assert results[1]["transaction_id"] == posted_before["id"]
    assert results[2]["transaction_id"] is None
    problem = results[2]["problem"]
    assert problem["code"] == "debits_must_not_exceed_credits"
    assert problem["status"] == 422
    assert problem["account"] == pending(seller_id)
    assert results[0]["problem"] is None
    assert not key_is_stored(db, batch[2]["idempotency_key"])
    assert balance_minor(db, pending(seller_id)) == 8_800 + 4_400 - 4_400


def test_a_batch_reusing_a_key_for_another_body_rejects_that_item_only(
    client: TestClient, keys: Keys, seller_id: str
) -> None:
    key = unique_key()
    batch = [item(order_paid(seller_id), key), item(order_paid(seller_id, gross_minor=20_000), key)]

    response = client.post(URL, json={"transactions": batch}, headers=keys.of("finance"))

    results = response.json()["results"]
    assert [r["status"] for r in results] == ["posted", "rejected"]
    assert results[1]["problem"]["code"] == "idempotency_key_reused"
    assert results[1]["problem"]["status"] == 409


def test_a_batch_over_the_size_limit_is_refused_whole(
    client: TestClient, keys: Keys, db: Database, seller_id: str
) -> None:
    batch = [item(order_paid(seller_id)) for _ in range(1_001)]
    count = transaction_count(db)

    response = client.post(URL, json={"transactions": batch}, headers=keys.of("finance"))

    problem = assert_problem(response, 413, "batch_size_max")
    assert problem["limit"] == 1_000
    assert problem["size"] == 1_001
    assert transaction_count(db) == count
    assert balance_minor(db, pending(seller_id)) is None


def test_a_batch_of_exactly_the_size_limit_is_posted(
    client: TestClient, keys: Keys, db: Database, seller_id: str
) -> None:
    batch = [
        item(order_paid(seller_id, gross_minor=100, commission_minor=10)) for _ in range(1_000)
    ]

    response = client.post(URL, json={"transactions": batch}, headers=keys.of("finance"))

    assert response.status_code == 200, response.text
    assert {r["status"] for r in response.json()["results"]} == {"posted"}
    assert balance_minor(db, pending(seller_id)) == 90 * 1_000


def test_one_malformed_item_refuses_the_whole_batch_naming_the_item(
    client: TestClient, keys: Keys, db: Database, seller_id: str
) -> None:
    bad = order_paid(seller_id)
    bad["entries"][1]["amount_minor"] = 88.5
    batch = [item(order_paid(seller_id)), item(order_paid(seller_id)), item(bad)]
    count = transaction_count(db)

    response = client.post(URL, json={"transactions": batch}, headers=keys.of("finance"))

    assert_problem(
        response, 422, "invalid_request", field="body.transactions.2.entries.1.amount_minor"
    )
    assert transaction_count(db) == count
    assert balance_minor(db, pending(seller_id)) is None


def test_an_item_with_too_many_decimals_refuses_the_whole_batch_naming_the_item(
    client: TestClient, keys: Keys, db: Database, seller_id: str
) -> None:
    bad = order_paid(seller_id)
    del bad["entries"][1]["amount_minor"]
    bad["entries"][1]["amount"] = "88.005"
    batch = [item(order_paid(seller_id)), item(bad)]

    response = client.post(URL, json={"transactions": batch}, headers=keys.of("finance"))

    problem = assert_problem(
        response, 422, "too_many_decimals", field="body.transactions.1.entries.1.amount"
    )
    assert problem["index"] == 1
    assert balance_minor(db, pending(seller_id)) is None


def test_an_unbalanced_item_refuses_the_whole_batch_naming_the_item(
    client: TestClient, keys: Keys, db: Database, seller_id: str
) -> None:
    bad = order_paid(seller_id)
    bad["entries"][2]["amount_minor"] = 1
    batch = [item(order_paid(seller_id)), item(order_paid(seller_id)), item(bad)]

    response = client.post(URL, json={"transactions": batch}, headers=keys.of("finance"))

    problem = assert_problem(response, 422, "unbalanced")
    assert problem["index"] == 2
    assert balance_minor(db, pending(seller_id)) is None


def test_a_batch_item_without_its_idempotency_key_is_refused(
    client: TestClient, keys: Keys, seller_id: str
) -> None:
    response = client.post(
        URL, json={"transactions": [order_paid(seller_id)]}, headers=keys.of("finance")
    )

    assert_problem(response, 422, "invalid_request", field="body.transactions.0.idempotency_key")


def test_an_empty_batch_posts_nothing(client: TestClient, keys: Keys) -> None:
    response = client.post(URL, json={"transactions": []}, headers=keys.of("finance"))

    assert response.status_code == 200
    assert response.json() == {"results": []}


def test_an_operator_may_not_post_a_batch(client: TestClient, keys: Keys, seller_id: str) -> None:
    response = client.post(
        URL, json={"transactions": [item(order_paid(seller_id))]}, headers=keys.of("operator")
    )

    assert_problem(response, 403, "permission_required")
