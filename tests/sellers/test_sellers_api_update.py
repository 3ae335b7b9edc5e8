"""Updating sellers over HTTP: details, the status machine, optimistic versions, who may."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sellers_builders import events_about, seller_body

from http_support import Keys, assert_problem
from sellerpay.db import Database
from sellerpay.sellers import service

URL = "/v1/sellers"


@pytest.fixture
def seller(client: TestClient, keys: Keys, seller_id: str) -> dict[str, Any]:
    response = client.post(URL, json=seller_body(seller_id), headers=keys.of("marketplace"))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def patch(
    client: TestClient, keys: Keys, seller_id: str, body: dict[str, Any], **headers: str
) -> Any:
    return client.patch(
        f"{URL}/{seller_id}", json=body, headers={**keys.of("marketplace"), **headers}
    )


def test_a_seller_is_renamed_and_its_version_moves_on(
    client: TestClient, keys: Keys, db: Database, seller: dict[str, Any]
) -> None:
    response = patch(
        client, keys, seller["id"], {"legal_name": "Acme Refurb Europe", "risk_tier": "low"}
    )

    assert response.status_code == 200, response.text
    updated = response.json()
    assert (updated["legal_name"], updated["risk_tier"]) == ("Acme Refurb Europe", "low")
    assert updated["version"] == 2
    assert response.headers["ETag"] == '"2"'
    assert service.get_seller(db, seller["id"]).legal_name == "Acme Refurb Europe"
    (_, data) = events_about(db, seller["id"])[-1]
    assert data["changed"] == {
        "legal_name": {"before": "Acme Refurb SAS", "after": "Acme Refurb Europe"},
        "risk_tier": {"before": "standard", "after": "low"},
    }


def test_restricting_a_seller_turns_payouts_off_and_says_why(
    client: TestClient, keys: Keys, seller: dict[str, Any]
) -> None:
    restricted = patch(client, keys, seller["id"], {"status": "restricted"}).json()
    active = patch(client, keys, seller["id"], {"status": "active"}).json()
    closed = patch(client, keys, seller["id"], {"status": "closed"}).json()

    assert restricted["capabilities"] == {
        "payouts_enabled": False,
        "sales_enabled": True,
        "disabled_reason": "seller_restricted",
    }
    assert active["capabilities"]["payouts_enabled"] is True
    assert closed["capabilities"] == {
        "payouts_enabled": False,
        "sales_enabled": False,
        "disabled_reason": "seller_closed",
    }


def test_a_closed_seller_cannot_become_active_again(
    client: TestClient, keys: Keys, db: Database, seller: dict[str, Any]
) -> None:
    patch(client, keys, seller["id"], {"status": "closed"})

    response = patch(client, keys, seller["id"], {"status": "active"})

    body = assert_problem(response, 422, "status_transition", field="body.status")
    assert (body["current"], body["requested"]) == ("closed", "active")
    assert service.get_seller(db, seller["id"]).status == "closed"


def test_metadata_is_replaced_as_a_whole(
    client: TestClient, keys: Keys, seller: dict[str, Any]
) -> None:
    patch(client, keys, seller["id"], {"metadata": {"a": "1", "b": "2"}})

    response = patch(client, keys, seller["id"], {"metadata": {"b": "3"}})

    assert response.json()["metadata"] == {"b": "3"}


def test_an_update_that_changes_nothing_keeps_the_version_and_records_no_event(
    client: TestClient, keys: Keys, db: Database, seller: dict[str, Any]
) -> None:
    response = patch(client, keys, seller["id"], {"legal_name": "Acme Refurb SAS"})

    assert response.json()["version"] == 1
    assert [t for t, _ in events_about(db, seller["id"])] == ["seller.created"]


@pytest.mark.parametrize("if_match", ['"1"', "1", "*"])
def test_an_update_at_the_version_read_is_applied(
    client: TestClient, keys: Keys, seller: dict[str, Any], if_match: str
) -> None:
    response = patch(client, keys, seller["id"], {"risk_tier": "high"}, **{"If-Match": if_match})

    assert response.status_code == 200, response.text
    assert response.json()["risk_tier"] == "high"


def test_an_update_from_a_stale_version_is_refused_and_changes_nothing(
    client: TestClient, keys: Keys, db: Database, seller: dict[str, Any]
) -> None:
    patch(client, keys, seller["id"], {"risk_tier": "high"}, **{"If-Match": '"1"'})

    stale = patch(client, keys, seller["id"], {"risk_tier": "low"}, **{"If-Match": '"1"'})

    body = assert_problem(stale, 409, "version_mismatch")
    assert body["version"] == 2
    assert service.get_seller(db, seller["id"]).risk_tier == "high"


@pytest.mark.parametrize("if_match", ['W/"1"', "one", '"1', "-1", "1" * 19])
def test_an_if_match_that_is_not_a_version_is_refused(
    client: TestClient, keys: Keys, seller: dict[str, Any], if_match: str
) -> None:
    response = patch(client, keys, seller["id"], {"risk_tier": "high"}, **{"If-Match": if_match})

    assert_problem(response, 422, "invalid_if_match", field="header.if-match")


BAD_UPDATES: list[tuple[str, dict[str, Any], str]] = [
    ("unknown status", {"status": "suspended"}, "body.status"),
    ("unknown tier", {"risk_tier": "extreme"}, "body.risk_tier"),
    ("name too long", {"legal_name": "A" * 201}, "body.legal_name"),
    ("country is fixed", {"country": "ES"}, "body.country"),
    ("id is fixed", {"id": "sel_other"}, "body.id"),
    ("null metadata value", {"metadata": {"a": None}}, "body.metadata.a"),
]


@pytest.mark.parametrize(
    ("body", "field"), [c[1:] for c in BAD_UPDATES], ids=[c[0] for c in BAD_UPDATES]
)
def test_a_bad_update_is_refused_with_the_field_at_fault(
    client: TestClient, keys: Keys, db: Database, seller: dict[str, Any], body: Any, field: str
) -> None:
    response = patch(client, keys, seller["id"], body)

    assert_problem(response, 422, "invalid_request", field=field)
    assert service.get_seller(db, seller["id"]).version == 1


def test_a_blank_name_is_refused(client: TestClient, keys: Keys, seller: dict[str, Any]) -> None:
    response = patch(client, keys, seller["id"], {"legal_name": " \t "})

    assert_problem(response, 422, "invalid_name", field="body.legal_name")


@pytest.mark.parametrize("unknown_id", ["sel_doesnotexist0", "not-a-seller-id"])
def test_updating_an_unknown_seller_is_not_found(
    client: TestClient, keys: Keys, unknown_id: str
) -> None:
    response = patch(client, keys, unknown_id, {"risk_tier": "high"})

    assert_problem(response, 404, "seller_not_found")


def test_compliance_may_restrict_a_seller(
    client: TestClient, keys: Keys, seller: dict[str, Any]
) -> None:
    response = client.patch(
        f"{URL}/{seller['id']}", json={"status": "restricted"}, headers=keys.of("compliance")
    )

    assert response.json()["status"] == "restricted"


@pytest.mark.parametrize("who", ["seller", "finance", "risk"])
def test_roles_without_sellers_write_and_the_seller_itself_may_not_update(
    client: TestClient, keys: Keys, db: Database, seller: dict[str, Any], who: str
) -> None:
    response = client.patch(
        f"{URL}/{seller['id']}", json={"status": "closed"}, headers=keys.of(who)
    )

    assert_problem(response, 403, "permission_required")
    assert service.get_seller(db, seller["id"]).status == "active"
