"""A seller's onboarding over HTTP: submitting the profile and persons, precise field errors with
nothing stored, idempotent POSTs, and the requirements and capabilities shown after each step."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from onboarding_builders import (
    CLIENT_ADDRESS,
    company_profile_body,
    idempotency,
    new_seller,
    pdf,
    representative_body,
)

from http_support import Keys, assert_problem
from sellerpay.clock import FixedClock
from sellerpay.db import Database


def url(seller_id: str, tail: str = "onboarding") -> str:
    return f"/v1/sellers/{seller_id}/{tail}"


def put(
    client: TestClient, keys: Keys, seller_id: str, body: dict[str, Any], who: str = "seller"
) -> Any:
    return client.put(url(seller_id), json=body, headers=keys.of(who))


def add_person(
    client: TestClient,
    keys: Keys,
    seller_id: str,
    body: dict[str, Any],
    who: str = "seller",
    key: str | None = None,
) -> Any:
    return client.post(
        url(seller_id, "persons"), json=body, headers={**keys.of(who), **idempotency(key)}
    )


def upload(client: TestClient, keys: Keys, seller_id: str, kind: str, who: str = "seller") -> Any:
    return client.post(
        url(seller_id, "documents"),
        files={"file": (f"{kind}.pdf", pdf(f"{seller_id}:{kind}"), "application/pdf")},
        data={"kind": kind},
        headers={**keys.of(who), **idempotency()},
    )


def test_a_new_seller_has_everything_due_and_no_payouts(
    client: TestClient, keys: Keys, seller: str
) -> None:
    response = client.get(url(seller), headers=keys.of("seller"))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["version"] == 0 and body["business_type"] is None
    assert body["requirements"]["currently_due"][:2] == ["business_type", "legal_name"]
    assert body["requirements"]["past_due"] == []
    assert body["requirements"]["current_deadline"] == "2026-02-04T09:00:00Z"
    assert body["capabilities"] == {
        "payouts_enabled": False,
        "sales_enabled": True,
        "disabled_reason": "requirements_currently_due",
    }
    assert body["sanctions_blocked"] is None  # not shown to the seller itself


def test_a_complete_profile_leaves_only_people_and_proofs_due(
    client: TestClient, keys: Keys, seller: str
) -> None:
    response = put(client, keys, seller, company_profile_body())

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["registration_number"] == "732829320"  # stored compact
    assert body["tax_id"] == "FR44732829320"
    assert body["terms_acceptance"] == {"accepted_at": "2026-01-05T08:00:00Z", "ip": "203.0.113.7"}
    assert body["requirements"]["currently_due"] == [
        "representative",
        "representative.dob",
        "documents.proof_of_identity",
        "documents.proof_of_registration",
        "documents.proof_of_bank_account",
        "verification",
    ]
    assert body["version"] >= 1


def test_a_seller_accepting_the_terms_itself_gets_the_time_and_address_of_its_request(
    client: TestClient, keys: Keys, seller: str
) -> None:
    response = put(client, keys, seller, company_profile_body(terms_acceptance={}))

    assert response.json()["terms_acceptance"] == {
        "accepted_at": "2026-01-05T09:00:00Z",
        "ip": CLIENT_ADDRESS,
    }


def test_the_marketplace_submitting_for_a_seller_says_when_the_terms_were_accepted(
    client: TestClient, keys: Keys, seller: str
) -> None:
    response = put(client, keys, seller, company_profile_body(terms_acceptance={}), "marketplace")

    assert_problem(
        response, 422, "invalid_terms_acceptance", field="body.terms_acceptance.accepted_at"
    )


def test_terms_accepted_once_stay_accepted_when_a_later_profile_leaves_them_out(
    client: TestClient, keys: Keys, seller: str
) -> None:
    put(client, keys, seller, company_profile_body())

    again = put(client, keys, seller, company_profile_body(terms_acceptance=None))

    assert again.json()["terms_acceptance"]["ip"] == "203.0.113.7"
    assert "terms_acceptance" not in again.json()["requirements"]["currently_due"]


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"registration_number": "732829321"}, "check_digit_mismatch", "body.registration_number"),
        ({"registration_number": "7328293"}, "invalid_length", "body.registration_number"),
        ({"tax_id": "FR41303265045"}, "check_digit_mismatch", "body.tax_id"),
        ({"tax_id": "DE136695976"}, "country_mismatch", "body.tax_id"),
        ({"tax_id": "FR40303265045"}, "vat_registration_mismatch", "body.tax_id"),
        ({"legal_name_kana": "山田"}, "invalid_kana", "body.legal_name_kana"),
        (
            {"terms_acceptance": {"accepted_at": "2026-01-05T08:00:00Z", "ip": "999.1.1.1"}},
            "invalid_ip_address",
            "body.terms_acceptance.ip",
        ),
        (
            {"terms_acceptance": {"accepted_at": "2027-01-01T00:00:00Z", "ip": "203.0.113.7"}},
            "invalid_terms_acceptance",
            "body.terms_acceptance.accepted_at",
        ),
        ({"legal_name": "Acme\x07Refurb"}, "invalid_text", "body.legal_name"),
        ({"business_type": "llc"}, "invalid_request", "body.business_type"),
        ({"tax_id": "1" * 65}, "invalid_request", "body.tax_id"),
    ],
)
def test_a_bad_field_is_refused_by_name_and_nothing_is_stored(
    client: TestClient, keys: Keys, seller: str, fields: dict[str, Any], code: str, field: str
) -> None:
    response = put(client, keys, seller, company_profile_body(**fields))

    assert_problem(response, 422, code, field=field)
    assert client.get(url(seller), headers=keys.of("seller")).json()["version"] == 0


def test_persons_are_added_once_per_key_and_shown_with_their_share(
    client: TestClient, keys: Keys, seller: str
) -> None:
    first = add_person(client, keys, seller, representative_body(), key="rep-1")
    again = add_person(client, keys, seller, representative_body(), key="rep-1")
    other_body = add_person(client, keys, seller, representative_body(last_name="X"), key="rep-1")
    no_key = client.post(
        url(seller, "persons"), json=representative_body(), headers=keys.of("seller")
    )

    assert first.status_code == 201, first.text
    assert first.json()["ownership_percent"] == "60.00"
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert_problem(other_body, 409, "idempotency_key_reused")
    assert_problem(no_key, 422, "idempotency_key_required")
    persons = client.get(url(seller), headers=keys.of("seller")).json()["persons"]
    assert [p["id"] for p in persons] == [first.json()["id"]]


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        (
            representative_body(representative=False, owner=False, ownership_percent=None),
            422,
            "person_without_relationship",
            "body.relationship",
        ),
        (
            representative_body(ownership_percent=None),
            422,
            "ownership_percent_required",
            "body.relationship.ownership_percent",
        ),
        (
            representative_body(owner=False),
            422,
            "ownership_without_owner",
            "body.relationship.ownership_percent",
        ),
        (
            representative_body(date_of_birth="2010-06-01"),
            422,
            "representative_under_age",
            "body.date_of_birth",
        ),
        (
            representative_body(representative=False, date_of_birth=None),
            422,
            "owner_date_of_birth_required",
            "body.date_of_birth",
        ),
        (
            representative_body(first_name_kana="タロウ"),
            422,
            "invalid_kana",
            "body.first_name_kana",
        ),
        (
            representative_body(ownership_percent="25.555"),
            422,
            "invalid_request",
            "body.ownership_percent",
        ),
        (
            representative_body(ownership_percent="100.5"),
            422,
            "invalid_request",
            "body.ownership_percent",
        ),
    ],
)
def test_a_bad_person_is_refused_by_name(
    client: TestClient,
    keys: Keys,
    seller: str,
    body: dict[str, Any],
    status: int,
    code: str,
    field: str,
) -> None:
    response = add_person(client, keys, seller, body)

    assert_problem(response, status, code, field=field)
    assert client.get(url(seller), headers=keys.of("seller")).json()["persons"] == []


def test_one_representative_at_a_time_and_owners_never_above_100_percent(
    client: TestClient, keys: Keys, seller: str
) -> None:
    add_person(client, keys, seller, representative_body())  # 60 %
    second_representative = add_person(
        client, keys, seller, representative_body(owner=False, ownership_percent=None)
    )
    too_much = add_person(
        client,
        keys,
        seller,
        representative_body(representative=False, first_name="Léa", ownership_percent="40.01"),
    )
    just_enough = add_person(
        client,
        keys,
        seller,
        representative_body(representative=False, first_name="Léa", ownership_percent="40"),
    )

    assert_problem(second_representative, 409, "representative_exists")
    body = assert_problem(too_much, 422, "ownership_exceeds_100")
    assert body["total_percent"] == "100.01"
    assert just_enough.status_code == 201, just_enough.text


def test_a_removed_representative_can_be_replaced(
    client: TestClient, keys: Keys, seller: str
) -> None:
    first = add_person(client, keys, seller, representative_body()).json()

    removed = client.delete(url(seller, f"persons/{first['id']}"), headers=keys.of("seller"))
    removed_again = client.delete(url(seller, f"persons/{first['id']}"), headers=keys.of("seller"))
    replacement = add_person(client, keys, seller, representative_body(first_name="Léa"))
    unknown = client.delete(url(seller, "persons/per_nope"), headers=keys.of("seller"))

    assert removed.status_code == removed_again.status_code == 204
    assert replacement.status_code == 201, replacement.text
    assert_problem(unknown, 404, "person_not_found")
    persons = client.get(url(seller), headers=keys.of("seller")).json()["persons"]
    assert [p["first_name"] for p in persons] == ["Léa"]


def test_each_step_moves_requirements_until_only_review_and_verification_remain(
    client: TestClient, keys: Keys, seller: str
) -> None:
    put(client, keys, seller, company_profile_body())
    add_person(client, keys, seller, representative_body())
    for kind in ("proof_of_identity", "proof_of_registration", "proof_of_bank_account"):
        assert upload(client, keys, seller, kind).status_code == 201

    body = client.get(url(seller), headers=keys.of("seller")).json()

    assert body["requirements"]["currently_due"] == []
    assert set(body["requirements"]["pending_verification"]) == {
        "documents.proof_of_identity",
        "documents.proof_of_registration",
        "documents.proof_of_bank_account",
        "verification",
        "documents.owners_proof_of_identity",  # the representative owns 60 %: the same proof
    }
    assert body["verification"]["status"] == "pending"  # queued for the provider
    assert body["capabilities"]["disabled_reason"] == "requirements_pending_verification"


@pytest.mark.parametrize(
    ("who", "read", "write"),
    [
        ("marketplace", 200, 200),
        ("compliance", 200, 200),
        ("admin", 200, 200),
        ("operator", 200, 403),
        ("risk", 200, 403),
        ("finance", 403, 403),
        ("approver", 403, 403),
    ],
)
def test_staff_roles_read_and_write_onboarding_as_their_permissions_say(
    client: TestClient, keys: Keys, seller: str, who: str, read: int, write: int
) -> None:
    got = client.get(url(seller), headers=keys.of(who))
    put_response = put(client, keys, seller, company_profile_body(), who)

    assert got.status_code == read, got.text
    assert put_response.status_code == write, put_response.text
    if read == 200:
        assert got.json()["sanctions_blocked"] is False  # staff see it
    if write == 403:
        assert_problem(put_response, 403, "permission_required")


def test_sellers_of_every_country_get_their_countrys_rules(
    client: TestClient, keys: Keys, db: Database, clock: FixedClock
) -> None:
    japanese = new_seller(db, clock, country="JP")

    response = put(
        client,
        keys,
        japanese,
        {
            "business_type": "company",
            "legal_name": "株式会社アクメ",
            "legal_name_kana": "ｱｸﾒ",
            "registration_number": "7000012050002",
            "tax_id": "T7000012050002",
        },
        "marketplace",
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["legal_name_kana"] == "アクメ"
    assert "legal_name" not in body["requirements"]["currently_due"]
    assert "tax_id" not in body["requirements"]["eventually_due"]
