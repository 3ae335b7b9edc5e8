"""Creating sellers over HTTP: ids, derived currencies, idempotent replays, refused input."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sellers_builders import events_about, new_seller_id, seller_body

from http_support import Keys, assert_problem
from sellerpay.db import Database
from sellerpay.errors import NotFound
from sellerpay.sellers import service

URL = "/v1/sellers"


def test_the_marketplace_creates_a_seller_with_its_own_id(
    client: TestClient, keys: Keys, db: Database
) -> None:
    seller_id = new_seller_id()

    response = client.post(
        URL,
        json=seller_body(seller_id, risk_tier="high", metadata={"crm_id": "A-1042"}),
        headers=keys.of("marketplace"),
    )

    assert response.status_code == 201, response.text
    assert response.headers["Location"] == f"{URL}/{seller_id}"
    assert response.headers["ETag"] == '"1"'
    assert "Idempotent-Replayed" not in response.headers
    seller = response.json()
    assert seller == {
        "id": seller_id,
        "legal_name": "Acme Refurb SAS",
        "country": "FR",
        "default_currency": "EUR",
        "risk_tier": "high",
        "status": "active",
        "capabilities": {"payouts_enabled": True, "sales_enabled": True, "disabled_reason": None},
        "metadata": {"crm_id": "A-1042"},
        "version": 1,
        "created_at": "2026-01-05T09:00:00Z",
        "updated_at": "2026-01-05T09:00:00Z",
    }
    assert service.get_seller(db, seller_id).legal_name == "Acme Refurb SAS"
    [(event_type, data)] = events_about(db, seller_id)
    assert event_type == "seller.created"
    assert data["id"] == seller_id


@pytest.mark.parametrize(
    ("country", "currency"), [("FR", "EUR"), ("ES", "EUR"), ("US", "USD"), ("JP", "JPY")]
)
def test_the_default_currency_is_the_countrys_unless_given(
    client: TestClient, keys: Keys, country: str, currency: str
) -> None:
    derived = client.post(URL, json=seller_body(country=country), headers=keys.of("marketplace"))
    chosen = client.post(
        URL, json=seller_body(country=country, default_currency="GBP"), headers=keys.of("admin")
    )

    assert derived.status_code == 201, derived.text
    assert derived.json()["default_currency"] == currency
    assert derived.json()["id"].startswith("sel_")
    assert derived.json()["risk_tier"] == "standard"
    assert chosen.json()["default_currency"] == "GBP"


def test_creating_the_same_seller_again_replays_it(
    client: TestClient, keys: Keys, db: Database
) -> None:
    seller_id = new_seller_id()
    first = client.post(URL, json=seller_body(seller_id), headers=keys.of("marketplace"))

    again = client.post(URL, json=seller_body(seller_id), headers=keys.of("marketplace"))

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == f"{URL}/{seller_id}"
    assert again.json() == first.json()
    assert [t for t, _ in events_about(db, seller_id)] == ["seller.created"]


def test_the_same_id_with_other_details_is_a_conflict_and_changes_nothing(
    client: TestClient, keys: Keys, db: Database
) -> None:
    seller_id = new_seller_id()
    client.post(URL, json=seller_body(seller_id), headers=keys.of("marketplace"))

    response = client.post(
        URL, json=seller_body(seller_id, legal_name="Other Name SARL"), headers=keys.of("operator")
    )

    body = assert_problem(response, 409, "seller_exists")
    assert body["seller_id"] == seller_id
    assert service.get_seller(db, seller_id).legal_name == "Acme Refurb SAS"


def test_an_idempotency_key_makes_a_create_without_an_id_safe_to_retry(
    client: TestClient, keys: Keys
) -> None:
    headers = {**keys.of("marketplace"), "Idempotency-Key": f"create:{new_seller_id()}"}

    first = client.post(URL, json=seller_body(), headers=headers)
    again = client.post(URL, json=seller_body(), headers=headers)
    other = client.post(URL, json=seller_body(legal_name="Someone Else"), headers=headers)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert_problem(other, 409, "seller_exists")


def test_spaces_in_the_legal_name_are_collapsed(client: TestClient, keys: Keys) -> None:
    response = client.post(
        URL, json=seller_body(legal_name="  Acme   Refurb\tSAS "), headers=keys.of("marketplace")
    )

    assert response.json()["legal_name"] == "Acme Refurb SAS"


def test_marketplace_events_waiting_for_the_seller_are_retried_when_it_is_created(
    client: TestClient, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sellerpay.settlement import service as settlement

    calls: list[str] = []
    monkeypatch.setattr(settlement, "retry_parked_for", lambda db, key, *, clock: calls.append(key))
    seller_id = new_seller_id()

    client.post(URL, json=seller_body(seller_id), headers=keys.of("marketplace"))
    client.post(URL, json=seller_body(seller_id), headers=keys.of("marketplace"))

    assert calls == [f"seller:{seller_id}"] * 2  # a replay retries too: the first may have died


def test_a_failure_retrying_parked_events_does_not_undo_the_created_seller(
    client: TestClient, keys: Keys, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sellerpay.settlement import service as settlement

    def broken(db: Database, key: str, *, clock: object) -> None:
        raise RuntimeError("broker down")

    monkeypatch.setattr(settlement, "retry_parked_for", broken)
    seller_id = new_seller_id()

    response = client.post(URL, json=seller_body(seller_id), headers=keys.of("marketplace"))

    assert response.status_code == 201, response.text
    assert service.get_seller(db, seller_id).id == seller_id


BAD_BODIES: list[tuple[str, dict[str, Any], int, str, str]] = [
    ("bad id", seller_body("seller-42"), 422, "invalid_request", "body.id"),
    ("id too long", seller_body("sel_" + "a" * 65), 422, "invalid_request", "body.id"),
    ("unknown country", seller_body(country="XX"), 422, "invalid_country", "body.country"),
    ("lower-case country", seller_body(country="fr"), 422, "invalid_request", "body.country"),
    ("currency EURO", seller_body(default_currency="EURO"), 422, "invalid_request",
     "body.default_currency"),
    ("unknown currency", seller_body(default_currency="ZZZ"), 422, "unknown_currency",
     "body.default_currency"),
    ("name too long", seller_body(legal_name="A" * 201), 422, "invalid_request",
     "body.legal_name"),
    ("blank name", seller_body(legal_name="   "), 422, "invalid_name", "body.legal_name"),
    ("no name", {"country": "FR"}, 422, "invalid_request", "body.legal_name"),
    ("unknown tier", seller_body(risk_tier="extreme"), 422, "invalid_request", "body.risk_tier"),
    ("set status", seller_body(status="closed"), 422, "invalid_request", "body.status"),
    ("numeric metadata", seller_body(metadata={"n": 1}), 422, "invalid_request", "body.metadata.n"),
    ("long metadata", seller_body(metadata={"k": "v" * 501}), 422, "invalid_request",
     "body.metadata.k"),
    ("many metadata", seller_body(metadata={f"k{i}": "v" for i in range(51)}), 422,
     "invalid_request", "body.metadata"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [case[1:] for case in BAD_BODIES],
    ids=[case[0] for case in BAD_BODIES],
)
def test_a_bad_seller_is_refused_with_the_field_at_fault_and_nothing_is_stored(
    client: TestClient,
    keys: Keys,
    db: Database,
    body: dict[str, Any],
    status: int,
    code: str,
    field: str,
) -> None:
    response = client.post(URL, json=body, headers=keys.of("marketplace"))

    assert_problem(response, status, code, field=field)
    if "id" in body and isinstance(body["id"], str) and body["id"].startswith("sel_"):
        with pytest.raises(NotFound):
            service.get_seller(db, body["id"])


@pytest.mark.parametrize("who", ["seller", "finance", "risk", "approver"])
def test_only_roles_that_manage_sellers_create_them(
    client: TestClient, keys: Keys, db: Database, who: str
) -> None:
    seller_id = new_seller_id()

    response = client.post(URL, json=seller_body(seller_id), headers=keys.of(who))

    assert_problem(response, 403, "permission_required")
    with pytest.raises(NotFound):
        service.get_seller(db, seller_id)


def test_a_create_without_a_key_is_unauthenticated(client: TestClient) -> None:
    assert_problem(client.post(URL, json=seller_body()), 401, "api_key_required")
