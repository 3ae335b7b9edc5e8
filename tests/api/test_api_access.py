"""Who may do what over HTTP: keys authenticate, roles authorize, sellers see only their own."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from api_builders import Keys, balance_minor, order_paid, pending, transaction_count, unique_key
from fastapi.testclient import TestClient

from http_support import assert_problem
from sellerpay.db import Database

POST_URL = "/v1/ledger/transactions"


def post_order(client: TestClient, keys: Keys, seller_id: str) -> dict[str, Any]:
    response = client.post(
        POST_URL,
        json=order_paid(seller_id),
        headers={**keys.of("finance"), "Idempotency-Key": unique_key()},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(
    ("headers", "code", "challenge"),
    [
        ({}, "api_key_required", 'Bearer realm="sellerpay"'),
        ({"Authorization": "Bearer sp_nokey_nosecret"}, "invalid_api_key", "invalid_token"),
        ({"Authorization": "Bearer not-a-key"}, "invalid_api_key", "invalid_token"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "invalid_api_key", "invalid_token"),
        ({"X-API-Key": "sp_nokey_nosecret"}, "invalid_api_key", "invalid_token"),
        ({"Authorization": "Bearer " + "x" * 600}, "invalid_api_key", "invalid_token"),
    ],
    ids=["no_key", "unknown_key", "malformed_key", "basic_auth", "unknown_header_key", "huge_key"],
)
def test_a_post_without_a_valid_key_is_unauthenticated_and_stores_nothing(
    client: TestClient,
    db: Database,
    seller_id: str,
    headers: dict[str, str],
    code: str,
    challenge: str,
) -> None:
    count = transaction_count(db)

    response = client.post(
        POST_URL, json=order_paid(seller_id), headers={**headers, "Idempotency-Key": unique_key()}
    )

    assert_problem(response, 401, code)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert challenge in response.headers["WWW-Authenticate"]
    assert transaction_count(db) == count
    assert balance_minor(db, pending(seller_id)) is None


def test_a_key_with_a_wrong_secret_is_unauthenticated(client: TestClient, keys: Keys) -> None:
    forged = keys.finance.rsplit("_", 1)[0] + "_" + "A" * 43

    response = client.get(f"{POST_URL}/{uuid.uuid4()}", headers=keys.bearer(forged))

    assert_problem(response, 401, "invalid_api_key")


def test_a_revoked_key_is_unauthenticated(
    client: TestClient, keys: Keys, db: Database, seller_id: str
) -> None:
    response = client.post(
        POST_URL,
        json=order_paid(seller_id),
        headers={**keys.of("revoked"), "Idempotency-Key": unique_key()},
    )

    assert_problem(response, 401, "revoked_api_key")
    assert balance_minor(db, pending(seller_id)) is None


def test_a_key_may_also_come_in_the_x_api_key_header(
    client: TestClient, keys: Keys, seller_id: str
) -> None:
    response = client.post(
        POST_URL,
        json=order_paid(seller_id),
        headers={"X-API-Key": keys.finance, "Idempotency-Key": unique_key()},
    )

    assert response.status_code == 201, response.text


@pytest.mark.parametrize("role", ["operator", "compliance", "seller"])
def test_only_finance_and_admin_may_post(
    client: TestClient, keys: Keys, db: Database, seller_id: str, role: str
) -> None:
    response = client.post(
        POST_URL,
        json=order_paid(seller_id),
        headers={**keys.of(role), "Idempotency-Key": unique_key()},
    )

    problem = assert_problem(response, 403, "permission_required")
    assert problem["permission"] == "ledger:post"
    assert balance_minor(db, pending(seller_id)) is None


def test_compliance_may_not_read_the_ledger(client: TestClient, keys: Keys, seller_id: str) -> None:
    order = post_order(client, keys, seller_id)

    transaction = client.get(f"{POST_URL}/{order['id']}", headers=keys.of("compliance"))
    account = client.get(f"/v1/ledger/accounts/{pending(seller_id)}", headers=keys.of("compliance"))

    assert_problem(transaction, 403, "permission_required")
    assert_problem(account, 403, "permission_required")


def test_a_seller_reads_their_own_balance_and_history(
    client: TestClient, keys: Keys, seller_id: str
) -> None:
    post_order(client, keys, seller_id)

    balance = client.get(f"/v1/ledger/accounts/{pending(seller_id)}", headers=keys.of("seller"))
    history = client.get(
        f"/v1/ledger/accounts/{pending(seller_id)}/entries", headers=keys.of("seller")
    )

    assert balance.status_code == 200
    assert balance.json()["balances"][0]["balance"]["amount"] == "88.00"
    assert history.status_code == 200
    assert len(history.json()["entries"]) == 1


def test_a_seller_cannot_tell_another_sellers_account_from_a_missing_one(
    client: TestClient, keys: Keys, seller_id: str, other_seller_id: str
) -> None:
    post_order(client, keys, seller_id)
    never_used = f"seller:sel_{uuid.uuid4().hex}:pending"

    others = client.get(
        f"/v1/ledger/accounts/{pending(seller_id)}", headers=keys.of("other_seller")
    )
    missing = client.get(f"/v1/ledger/accounts/{never_used}", headers=keys.of("other_seller"))

    problem = assert_problem(others, 404, "account_not_found")
    assert problem["detail"] == f"no account {pending(seller_id)}"
    assert assert_problem(missing, 404, "account_not_found")["detail"] == f"no account {never_used}"
    assert set(problem) == set(missing.json())


@pytest.mark.parametrize(
    "path",
    ["/v1/ledger/accounts/{account}/entries", "/v1/ledger/accounts/{account}?currency=EUR"],
    ids=["history", "balance_in_one_currency"],
)
def test_a_seller_gets_not_found_on_every_view_of_another_sellers_account(
    client: TestClient, keys: Keys, seller_id: str, path: str
) -> None:
    post_order(client, keys, seller_id)

    response = client.get(path.format(account=pending(seller_id)), headers=keys.of("other_seller"))

    assert_problem(response, 404, "account_not_found")


def test_a_seller_cannot_see_platform_accounts(
    client: TestClient, keys: Keys, seller_id: str
) -> None:
    post_order(client, keys, seller_id)

    response = client.get("/v1/ledger/accounts/platform:psp_clearing", headers=keys.of("seller"))

    assert_problem(response, 404, "account_not_found")


def test_a_seller_cannot_tell_whether_a_transaction_exists(
    client: TestClient, keys: Keys, seller_id: str
) -> None:
    order = post_order(client, keys, seller_id)

    own = client.get(f"{POST_URL}/{order['id']}", headers=keys.of("seller"))
    unknown = client.get(f"{POST_URL}/{uuid.uuid4()}", headers=keys.of("seller"))

    assert_problem(own, 404, "transaction_not_found")
    assert_problem(unknown, 404, "transaction_not_found")


def test_a_seller_may_not_reverse(client: TestClient, keys: Keys, seller_id: str) -> None:
    order = post_order(client, keys, seller_id)

    response = client.post(f"{POST_URL}/{order['id']}/reverse", headers=keys.of("seller"))

    assert_problem(response, 403, "permission_required")


def test_authentication_comes_before_validation(client: TestClient, seller_id: str) -> None:
    """An anonymous caller learns nothing about what a valid request looks like."""
    response = client.post(POST_URL, json={"kind": 1})

    assert_problem(response, 401, "api_key_required")
