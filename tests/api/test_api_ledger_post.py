"""Posting transactions over HTTP: created once, replayed on retry, amounts exact both ways."""

from __future__ import annotations

from typing import Any

from api_builders import (
    Keys,
    available,
    balance_minor,
    entry,
    order_paid,
    pending,
    transaction_count,
    unique_key,
)
from fastapi.testclient import TestClient

from sellerpay.db import Database

URL = "/v1/ledger/transactions"


def post(client: TestClient, keys: Keys, body: dict[str, Any], key: str) -> Any:
    return client.post(URL, json=body, headers={**keys.of("finance"), "Idempotency-Key": key})


def test_order_paid_is_posted_with_the_sellers_share_pending_and_the_commission_earned(
    client: TestClient, keys: Keys, db: Database, seller_id: str
) -> None:
    key = unique_key("order")
    response = post(client, keys, order_paid(seller_id, references={"order": "ord_1"}), key)

    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["Location"] == f"{URL}/{body['id']}"
    assert "Idempotent-Replayed" not in response.headers
    assert body["idempotency_key"] == key
    assert body["kind"] == "order_paid"
    assert body["references"] == {"order": "ord_1"}
    assert body["effective_at"] == body["posted_at"] == "2026-01-05T09:00:00Z"
    seller_leg = body["entries"][1]
    assert seller_leg["account"] == pending(seller_id)
    assert seller_leg["side"] == "credit"
    assert seller_leg["amount"] == {
        "amount_minor": 8800,
        "currency": "EUR",
        "exponent": 2,
        "amount": "88.00",
    }
    assert seller_leg["balance_after"]["amount"] == "88.00"
    assert seller_leg["account_version"] == 1
    assert balance_minor(db, pending(seller_id)) == 8800


def test_a_retry_with_the_same_key_replays_the_original_without_posting_again(
    client: TestClient, keys: Keys, db: Database, seller_id: str
) -> None:
    key = unique_key("order")
    first = post(client, keys, order_paid(seller_id), key)
    count = transaction_count(db)

    retry = post(client, keys, order_paid(seller_id), key)

    assert retry.status_code == 200
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.headers["Location"] == first.headers["Location"]
    assert retry.json() == first.json()
    assert transaction_count(db) == count
    assert balance_minor(db, pending(seller_id)) == 8800


def test_amounts_may_be_written_as_exact_decimal_text_in_the_currencys_own_decimals(
    client: TestClient, keys: Keys, db: Database, seller_id: str
) -> None:
    body = {
        "kind": "order_paid",
        "entries": [
            entry("platform:psp_clearing", "debit", amount="1234", currency="JPY"),
            entry(pending(seller_id), "credit", amount="1200", currency="JPY"),
            entry("platform:revenue:commission", "credit", amount_minor=34, currency="JPY"),
            entry("platform:psp_clearing", "debit", amount="10.005", currency="BHD"),
            entry(pending(seller_id), "credit", amount="10.005", currency="BHD"),
        ],
    }
    response = post(client, keys, body, unique_key())

    assert response.status_code == 201, response.text
    amounts = [leg["amount"] for leg in response.json()["entries"]]
    assert amounts[0] == {"amount_minor": 1234, "currency": "JPY", "exponent": 0, "amount": "1234"}
    assert amounts[3] == {
        "amount_minor": 10005,
        "currency": "BHD",
        "exponent": 3,
        "amount": "10.005",
    }
    assert balance_minor(db, pending(seller_id), "BHD") == 10005


def test_a_backdated_transaction_keeps_its_effective_time_in_utc_and_its_labels(
    client: TestClient, keys: Keys, seller_id: str
) -> None:
    body = order_paid(
        seller_id,
        effective_at="2026-01-03T10:30:00+01:00",
        description="order 1 paid by card",
        metadata={"channel": "web", "items": 2, "gift": False, "coupon": None},
    )
    response = post(client, keys, body, unique_key())

    assert response.status_code == 201, response.text
    stored = response.json()
    assert stored["effective_at"] == "2026-01-03T09:30:00Z"
    assert stored["posted_at"] == "2026-01-05T09:00:00Z"
    assert stored["description"] == "order 1 paid by card"
    assert stored["metadata"] == {"channel": "web", "items": 2, "gift": False, "coupon": None}


def test_released_funds_move_from_pending_to_available(
    client: TestClient, keys: Keys, db: Database, seller_id: str
) -> None:
    post(client, keys, order_paid(seller_id), unique_key())
    body = {
        "kind": "funds_released",
        "entries": [
            entry(pending(seller_id), "debit", amount="88.00"),
            entry(available(seller_id), "credit", amount="88"),
        ],
    }
    response = post(client, keys, body, unique_key())

    assert response.status_code == 201, response.text
    assert balance_minor(db, pending(seller_id)) == 0
    assert balance_minor(db, available(seller_id)) == 8800


def test_the_location_of_a_posted_transaction_reads_it_back(
    client: TestClient, keys: Keys, seller_id: str
) -> None:
    posted = post(client, keys, order_paid(seller_id), unique_key())

    read = client.get(posted.headers["Location"], headers=keys.of("operator"))

    assert read.status_code == 200
    assert read.json() == posted.json()


def test_an_admin_key_may_post_too(client: TestClient, keys: Keys, seller_id: str) -> None:
    response = client.post(
        URL,
        json=order_paid(seller_id),
        headers={**keys.of("admin"), "Idempotency-Key": unique_key()},
    )
    assert response.status_code == 201, response.text
