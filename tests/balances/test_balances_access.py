"""Who reads which seller: for every seller-scoped route, another seller's key answers 404
exactly as for a seller that does not exist; staff roles need their permission (403)."""

from __future__ import annotations

from typing import Any

import pytest
from balances_builders import SellerLedger
from fastapi.testclient import TestClient

from http_support import Keys, assert_problem

# (method, path under /v1/sellers/{id}, body, what the seller's own key gets)
SELLER_ROUTES: list[tuple[str, str, dict[str, Any] | None, int]] = [
    ("GET", "", None, 200),
    ("PATCH", "", {"legal_name": "Taken Over"}, 403),  # sellers do not edit themselves
    ("GET", "/balance", None, 200),
    ("GET", "/balance-transactions", None, 200),
    ("GET", "/balance-transactions?format=csv", None, 200),
]
ROUTE_IDS = ["read", "update", "balance", "balance-transactions", "balance-transactions-csv"]


def call(client: TestClient, keys: Keys, who: str, method: str, url: str, body: Any) -> Any:
    return client.request(method, url, json=body, headers=keys.of(who))


@pytest.mark.parametrize(("method", "path", "body", "own_status"), SELLER_ROUTES, ids=ROUTE_IDS)
def test_another_sellers_key_is_answered_as_if_the_seller_did_not_exist(
    client: TestClient,
    keys: Keys,
    ledger: SellerLedger,
    other_ledger: SellerLedger,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    own_status: int,
) -> None:
    ledger.order_paid(1_000)
    other_ledger.order_paid(2_000)  # seller B has money of its own, so its key works

    on_a = call(client, keys, "other_seller", method, f"/v1/sellers/{ledger.seller_id}{path}", body)
    missing = call(client, keys, "other_seller", method, f"/v1/sellers/sel_nobody42{path}", body)
    on_b = call(client, keys, "other_seller", method,
                f"/v1/sellers/{other_ledger.seller_id}{path}", body)  # fmt: skip

    assert_problem(on_a, 404, "seller_not_found")
    assert_problem(missing, 404, "seller_not_found")
    # word for word the answer for a seller that does not exist, but for the id asked about
    assert on_a.text.replace(ledger.seller_id, "<id>") == missing.text.replace(
        "sel_nobody42", "<id>"
    )
    assert on_b.status_code == own_status, on_b.text


@pytest.mark.parametrize("who", ["marketplace", "operator", "finance", "risk", "approver", "admin"])
@pytest.mark.parametrize("path", ["/balance", "/balance-transactions"])
def test_roles_with_balances_read_read_any_sellers_balances(
    client: TestClient, keys: Keys, ledger: SellerLedger, who: str, path: str
) -> None:
    ledger.order_paid(1_000)

    response = client.get(f"/v1/sellers/{ledger.seller_id}{path}", headers=keys.of(who))

    assert response.status_code == 200, response.text


@pytest.mark.parametrize("path", ["/balance", "/balance-transactions"])
def test_compliance_does_not_read_balances(
    client: TestClient, keys: Keys, ledger: SellerLedger, path: str
) -> None:
    response = client.get(f"/v1/sellers/{ledger.seller_id}{path}", headers=keys.of("compliance"))

    assert_problem(response, 403, "permission_required")


@pytest.mark.parametrize("path", ["", "/balance", "/balance-transactions"])
def test_a_seller_route_without_a_key_is_unauthenticated(
    client: TestClient, ledger: SellerLedger, path: str
) -> None:
    response = client.get(f"/v1/sellers/{ledger.seller_id}{path}")

    assert_problem(response, 401, "api_key_required")
