"""BOLA: a seller's key on another seller's onboarding gets 404 on every route, exactly as for a
seller that does not exist, and nothing of the other seller is read or changed. Compliance
routes refuse sellers altogether (403, the same for every id)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from onboarding_builders import (
    company_profile_body,
    idempotency,
    new_seller_id,
    pdf,
    representative_body,
)

from http_support import Keys, assert_problem
from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.onboarding.service import get_onboarding

Call = Callable[[TestClient, str, dict[str, str], str], Any]


def _get(client: TestClient, seller_id: str, headers: dict[str, str], _person: str) -> Any:
    return client.get(f"/v1/sellers/{seller_id}/onboarding", headers=headers)


def _put(client: TestClient, seller_id: str, headers: dict[str, str], _person: str) -> Any:
    return client.put(
        f"/v1/sellers/{seller_id}/onboarding",
        json=company_profile_body(legal_name="Hijacked SAS"),
        headers=headers,
    )


def _add_person(client: TestClient, seller_id: str, headers: dict[str, str], _person: str) -> Any:
    return client.post(
        f"/v1/sellers/{seller_id}/persons",
        json=representative_body(
            representative=False, first_name="Mallory", ownership_percent="10"
        ),
        headers={**headers, **idempotency()},
    )


def _remove_person(client: TestClient, seller_id: str, headers: dict[str, str], person: str) -> Any:
    return client.delete(f"/v1/sellers/{seller_id}/persons/{person}", headers=headers)


def _upload(client: TestClient, seller_id: str, headers: dict[str, str], _person: str) -> Any:
    return client.post(
        f"/v1/sellers/{seller_id}/documents",
        files={"file": ("id.pdf", pdf("mallory"), "application/pdf")},
        data={"kind": "proof_of_identity"},
        headers={**headers, **idempotency()},
    )


SELLER_ROUTES: dict[str, Call] = {
    "GET onboarding": _get,
    "PUT onboarding": _put,
    "POST persons": _add_person,
    "DELETE person": _remove_person,
    "POST documents": _upload,
}


@pytest.fixture
def victim(client: TestClient, keys: Keys, seller: str) -> tuple[str, str]:
    """Seller A (the `seller` fixture) with a profile and a representative; (id, person id)."""
    assert (
        client.put(
            f"/v1/sellers/{seller}/onboarding",
            json=company_profile_body(),
            headers=keys.of("seller"),
        ).status_code
        == 200
    )
    person = client.post(
        f"/v1/sellers/{seller}/persons",
        json=representative_body(),
        headers={**keys.of("seller"), **idempotency()},
    )
    assert person.status_code == 201, person.text
    return seller, person.json()["id"]


@pytest.mark.parametrize("route", list(SELLER_ROUTES))
def test_another_sellers_key_gets_404_as_if_the_seller_did_not_exist(
    client: TestClient,
    keys: Keys,
    victim: tuple[str, str],
    route: str,
    db: Database,
    clock: FixedClock,
) -> None:
    seller_id, person_id = victim
    before = get_onboarding(db, seller_id, now=clock.now())
    call = SELLER_ROUTES[route]
    missing_id = new_seller_id()

    theirs = call(client, seller_id, keys.of("other_seller"), person_id)
    missing = call(client, missing_id, keys.of("other_seller"), person_id)

    assert_problem(theirs, 404, "seller_not_found")
    assert_problem(missing, 404, "seller_not_found")
    assert theirs.json()["detail"].replace(seller_id, "X") == missing.json()["detail"].replace(
        missing_id, "X"
    )
    after = get_onboarding(db, seller_id, now=clock.now())
    assert after.profile.version == before.profile.version
    assert after.profile.legal_name == "Acme Refurb SAS"
    assert after.persons == before.persons and after.documents == before.documents


@pytest.mark.parametrize("route", list(SELLER_ROUTES))
def test_the_seller_itself_may_use_every_route(
    client: TestClient, keys: Keys, victim: tuple[str, str], route: str
) -> None:
    seller_id, person_id = victim

    response = SELLER_ROUTES[route](client, seller_id, keys.of("seller"), person_id)

    assert response.status_code in (200, 201, 204), response.text


@pytest.mark.parametrize("route", list(SELLER_ROUTES))
def test_ids_that_cannot_be_seller_ids_are_not_found_too(
    client: TestClient, keys: Keys, route: str
) -> None:
    response = SELLER_ROUTES[route](client, "not-a-seller", keys.of("admin"), "per_x")

    assert_problem(response, 404, "seller_not_found")


def test_compliance_routes_refuse_sellers_whatever_the_id(
    client: TestClient, keys: Keys, victim: tuple[str, str]
) -> None:
    seller_id, _ = victim
    document = _upload(client, seller_id, keys.of("seller"), "")
    assert document.status_code == 201
    document_id = document.json()["id"]
    review = {"decision": "approve"}
    decision = {"scope": "verification", "decision": "approve"}

    answers = [
        client.get("/v1/compliance/queue", headers=keys.of("other_seller")),
        client.post(
            f"/v1/compliance/documents/{document_id}/review",
            json=review,
            headers={**keys.of("other_seller"), **idempotency()},
        ),
        client.post(
            "/v1/compliance/documents/doc_missing/review",
            json=review,
            headers={**keys.of("other_seller"), **idempotency()},
        ),
        client.get(f"/v1/compliance/documents/{document_id}/content", headers=keys.of("seller")),
        client.post(
            f"/v1/compliance/sellers/{seller_id}/decision",
            json=decision,
            headers={**keys.of("seller"), **idempotency()},
        ),
    ]

    for answer in answers:
        assert_problem(answer, 403, "permission_required")


def test_a_seller_does_not_see_who_reviewed_its_documents_nor_a_sanctions_flag(
    client: TestClient, keys: Keys, victim: tuple[str, str]
) -> None:
    seller_id, _ = victim
    document_id = _upload(client, seller_id, keys.of("seller"), "").json()["id"]
    reviewed = client.post(
        f"/v1/compliance/documents/{document_id}/review",
        json={"decision": "approve"},
        headers={**keys.of("compliance"), **idempotency()},
    )
    assert reviewed.status_code == 200, reviewed.text

    own = client.get(f"/v1/sellers/{seller_id}/onboarding", headers=keys.of("seller")).json()
    staff = client.get(f"/v1/sellers/{seller_id}/onboarding", headers=keys.of("compliance")).json()

    assert [d["reviewed_by"] for d in own["documents"]] == [None]
    assert own["sanctions_blocked"] is None
    assert staff["documents"][0]["reviewed_by"].startswith("key:")
    assert staff["sanctions_blocked"] is False
