"""Reading and listing sellers over HTTP: who sees which seller, filters, pages."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sellers_builders import new_seller_id, seller_body

from http_support import Keys, assert_problem
from sellerpay.db import Database

URL = "/v1/sellers"


def create(client: TestClient, keys: Keys, seller_id: str, **fields: Any) -> dict[str, Any]:
    response = client.post(URL, json=seller_body(seller_id, **fields), headers=keys.of("admin"))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


@pytest.mark.parametrize("who", ["seller", "marketplace", "operator", "compliance", "risk"])
def test_a_seller_is_read_by_itself_and_by_roles_with_sellers_read(
    client: TestClient, keys: Keys, seller_id: str, who: str
) -> None:
    created = create(client, keys, seller_id)

    response = client.get(f"{URL}/{seller_id}", headers=keys.of(who))

    assert response.status_code == 200, response.text
    assert response.json() == created
    assert response.headers["ETag"] == '"1"'


def test_a_sellers_key_on_another_seller_is_not_found_as_if_it_did_not_exist(
    client: TestClient, keys: Keys, seller_id: str, other_seller_id: str
) -> None:
    create(client, keys, seller_id)
    create(client, keys, other_seller_id)

    theirs = client.get(f"{URL}/{other_seller_id}", headers=keys.of("seller"))
    missing = client.get(f"{URL}/{new_seller_id()}", headers=keys.of("seller"))

    assert_problem(theirs, 404, "seller_not_found")
    assert_problem(missing, 404, "seller_not_found")
    assert theirs.json()["detail"].replace(other_seller_id, "X") == missing.json()[
        "detail"
    ].replace(missing.json()["seller_id"], "X")


@pytest.mark.parametrize("unknown_id", ["sel_doesnotexist0", "not-a-seller-id"])
def test_an_unknown_seller_is_not_found(client: TestClient, keys: Keys, unknown_id: str) -> None:
    response = client.get(f"{URL}/{unknown_id}", headers=keys.of("operator"))

    assert_problem(response, 404, "seller_not_found")


def test_a_seller_id_longer_than_any_seller_id_is_refused(client: TestClient, keys: Keys) -> None:
    response = client.get(f"{URL}/sel_{'a' * 100}", headers=keys.of("operator"))

    assert_problem(response, 422, "invalid_request", field="path.seller_id")


def test_sellers_are_listed_a_page_at_a_time_with_filters(
    client: TestClient, keys: Keys, db: Database
) -> None:
    tier = "high"
    country = "JP"  # few other tests make Japanese high-risk sellers: filter on a fresh prefix
    made = sorted(create(client, keys, new_seller_id(), country=country, risk_tier=tier)["id"]
                  for _ in range(5))  # fmt: skip
    listed: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"country": country, "risk_tier": tier, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get(URL, params=params, headers=keys.of("marketplace")).json()
        listed += [s["id"] for s in page["sellers"]]
        pages += 1
        assert all(s["country"] == country and s["risk_tier"] == tier for s in page["sellers"])
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert listed == sorted(listed)
    assert set(made) <= set(listed)
    assert pages >= 3


def test_sellers_are_filtered_by_status(client: TestClient, keys: Keys, seller_id: str) -> None:
    create(client, keys, seller_id, country="ES")
    client.patch(f"{URL}/{seller_id}", json={"status": "restricted"}, headers=keys.of("admin"))

    restricted = client.get(
        URL, params={"status": "restricted", "limit": 500}, headers=keys.of("operator")
    ).json()["sellers"]
    active = client.get(
        URL, params={"status": "active", "country": "ES", "limit": 500}, headers=keys.of("operator")
    ).json()["sellers"]

    assert seller_id in [s["id"] for s in restricted]
    assert all(s["status"] == "restricted" for s in restricted)
    assert seller_id not in [s["id"] for s in active]


BAD_QUERIES: list[tuple[str, dict[str, Any], str, str]] = [
    ("limit zero", {"limit": 0}, "invalid_request", "query.limit"),
    ("limit too big", {"limit": 501}, "invalid_request", "query.limit"),
    ("lower-case country", {"country": "fr"}, "invalid_request", "query.country"),
    ("unknown status", {"status": "frozen"}, "invalid_request", "query.status"),
    ("unknown tier", {"risk_tier": "extreme"}, "invalid_request", "query.risk_tier"),
    ("foreign cursor", {"cursor": "bm90LW91cnM"}, "invalid_cursor", "query.cursor"),
    ("garbage cursor", {"cursor": "%%%"}, "invalid_cursor", "query.cursor"),
    ("long cursor", {"cursor": "a" * 121}, "invalid_request", "query.cursor"),
]


@pytest.mark.parametrize(
    ("params", "code", "field"), [c[1:] for c in BAD_QUERIES], ids=[c[0] for c in BAD_QUERIES]
)
def test_a_bad_listing_is_refused_with_the_parameter_at_fault(
    client: TestClient, keys: Keys, params: dict[str, Any], code: str, field: str
) -> None:
    response = client.get(URL, params=params, headers=keys.of("operator"))

    assert_problem(response, 422, code, field=field)


def test_a_seller_may_not_list_sellers(client: TestClient, keys: Keys) -> None:
    assert_problem(client.get(URL, headers=keys.of("seller")), 403, "permission_required")
