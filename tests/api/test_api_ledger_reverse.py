"""Reading and reversing transactions over HTTP: a correction is a new, mirrored transaction."""

from __future__ import annotations

import uuid
from typing import Any

from api_builders import (
    Keys,
    balance_minor,
    order_paid,
    pending,
    release,
    transaction_count,
    unique_key,
)
from fastapi.testclient import TestClient

from http_support import assert_problem
from sellerpay.clock import FixedClock
from sellerpay.db import Database

URL = "/v1/ledger/transactions"


def post_order(client: TestClient, keys: Keys, seller_id: str) -> dict[str, Any]:
    response = client.post(
        URL,
        json=order_paid(seller_id),
        headers={**keys.of("finance"), "Idempotency-Key": unique_key("order")},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_an_operator_reads_a_transaction_with_its_entries(
    client: TestClient, keys: Keys, seller_id: str
) -> None:
    order = post_order(client, keys, seller_id)

    response = client.get(f"{URL}/{order['id']}", headers=keys.of("operator"))

    assert response.status_code == 200
    assert response.json() == order
    assert [leg["amount"]["amount"] for leg in order["entries"]] == ["100.00", "88.00", "12.00"]


def test_an_unknown_transaction_is_not_found(client: TestClient, keys: Keys) -> None:
    response = client.get(f"{URL}/{uuid.uuid4()}", headers=keys.of("operator"))

    assert_problem(response, 404, "transaction_not_found")


def test_a_malformed_transaction_id_is_refused(client: TestClient, keys: Keys) -> None:
    response = client.get(f"{URL}/not-a-uuid", headers=keys.of("operator"))

    assert_problem(response, 422, "invalid_request", field="path.transaction_id")


def test_reversing_an_order_posts_its_mirror_now_and_restores_the_balances(
    client: TestClient, keys: Keys, db: Database, seller_id: str, clock: FixedClock
) -> None:
    order = post_order(client, keys, seller_id)
    clock.set(clock.now().replace(hour=15))

    response = client.post(f"{URL}/{order['id']}/reverse", headers=keys.of("finance"))

    assert response.status_code == 201, response.text
    reversal = response.json()
    assert response.headers["Location"] == f"{URL}/{reversal['id']}"
    assert reversal["kind"] == "reversal"
    assert reversal["reverses_id"] == order["id"]
    assert reversal["idempotency_key"] == f"reversal:{order['id']}"
    assert reversal["references"] == {"reverses": order["id"]}
    assert reversal["effective_at"] == "2026-01-05T15:00:00Z"
    assert [(leg["account"], leg["side"]) for leg in reversal["entries"]] == [
        ("platform:psp_clearing", "credit"),
        (pending(seller_id), "debit"),
        ("platform:revenue:commission", "debit"),
    ]
    assert balance_minor(db, pending(seller_id)) == 0


def test_reversing_twice_replays_the_first_reversal(
    client: TestClient, keys: Keys, db: Database, seller_id: str
) -> None:
    order = post_order(client, keys, seller_id)
    first = client.post(f"{URL}/{order['id']}/reverse", headers=keys.of("finance"))
    count = transaction_count(db)

    again = client.post(f"{URL}/{order['id']}/reverse", headers=keys.of("finance"))

    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert transaction_count(db) == count


def test_a_reversal_under_its_own_key_and_description_replays_under_that_key(
    client: TestClient, keys: Keys, seller_id: str
) -> None:
    order = post_order(client, keys, seller_id)
    headers = {**keys.of("finance"), "Idempotency-Key": unique_key("correction")}
    body = {"description": "order charged twice by mistake"}

    first = client.post(f"{URL}/{order['id']}/reverse", json=body, headers=headers)
    again = client.post(f"{URL}/{order['id']}/reverse", json=body, headers=headers)

    assert first.status_code == 201
    assert first.json()["description"] == "order charged twice by mistake"
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]


def test_an_order_already_reversed_under_another_key_cannot_be_reversed_again(
    client: TestClient, keys: Keys, db: Database, seller_id: str
) -> None:
    order = post_order(client, keys, seller_id)
    first = client.post(
        f"{URL}/{order['id']}/reverse",
        headers={**keys.of("finance"), "Idempotency-Key": unique_key("correction")},
    )
    count = transaction_count(db)

    response = client.post(f"{URL}/{order['id']}/reverse", headers=keys.of("finance"))

    problem = assert_problem(response, 409, "already_reversed")
    assert problem["reversal_id"] == first.json()["id"]
    assert transaction_count(db) == count
    assert balance_minor(db, pending(seller_id)) == 0


def test_an_order_whose_funds_were_released_cannot_be_reversed(
    client: TestClient, keys: Keys, db: Database, seller_id: str
) -> None:
    order = post_order(client, keys, seller_id)
    client.post(
        URL,
        json=release(seller_id, 8_800),
        headers={**keys.of("finance"), "Idempotency-Key": unique_key()},
    )

    response = client.post(f"{URL}/{order['id']}/reverse", headers=keys.of("finance"))

    problem = assert_problem(response, 422, "debits_must_not_exceed_credits")
    assert problem["account"] == pending(seller_id)
    assert balance_minor(db, pending(seller_id)) == 0


def test_reversing_an_unknown_transaction_is_not_found(
    client: TestClient, keys: Keys, db: Database
) -> None:
    count = transaction_count(db)

    response = client.post(f"{URL}/{uuid.uuid4()}/reverse", headers=keys.of("finance"))

    assert_problem(response, 404, "transaction_not_found")
    assert transaction_count(db) == count


def test_an_operator_may_read_but_not_reverse(
    client: TestClient, keys: Keys, db: Database, seller_id: str
) -> None:
    order = post_order(client, keys, seller_id)

    response = client.post(f"{URL}/{order['id']}/reverse", headers=keys.of("operator"))

    problem = assert_problem(response, 403, "permission_required")
    assert problem["permission"] == "ledger:reverse"
    assert balance_minor(db, pending(seller_id)) == 8_800
