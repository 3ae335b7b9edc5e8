"""Bank accounts over HTTP: masked answers, sellers confined to their own accounts (404 for any
other), the roles' permissions, idempotent adds, problems naming the failing field, the
cool-down released by an approver only, and events and audit records for every change."""

from __future__ import annotations

from typing import Any

import pytest
from bankaccounts_builders import (
    ABA_ACCOUNT,
    ES_IBAN,
    FR_IBAN,
    events_about,
    iban_body,
    new_seller_id,
    setting,
    stored_key_id,
)
from fastapi.testclient import TestClient
from pydantic import SecretStr

from http_support import Keys, assert_problem
from sellerpay.api import create_app
from sellerpay.audit.service import list_audit_records
from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.settings import Settings, get_settings


def accounts_url(seller_id: str) -> str:
    return f"/v1/sellers/{seller_id}/bank-accounts"


def post(
    client: TestClient,
    keys: Keys,
    seller_id: str,
    body: dict[str, Any],
    *,
    who: str = "seller",
    key: str = "add-1",
) -> Any:
    return client.post(
        accounts_url(seller_id), json=body, headers={**keys.of(who), "Idempotency-Key": key}
    )


def added(client: TestClient, keys: Keys, seller_id: str, **fields: Any) -> dict[str, Any]:
    response = post(client, keys, seller_id, iban_body(**fields), key=new_seller_id())
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


# --- add -----------------------------------------------------------------------------------


def test_a_seller_adds_an_account_and_sees_it_masked_and_on_hold(
    client: TestClient, keys: Keys, seller: str, clock: FixedClock
) -> None:
    response = post(client, keys, seller, iban_body(FR_IBAN[:4] + " " + FR_IBAN[4:]))

    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["Location"] == f"/v1/bank-accounts/{body['id']}"
    assert body["seller_id"] == seller
    assert (body["format"], body["country"], body["currency"], body["rail"]) == (
        "iban",
        "FR",
        "EUR",
        "sepa",
    )
    assert (body["masked"], body["bank_identifier"]) == ("•••• 0189", "AGRIFRPP")
    assert (body["status"], body["is_default"], body["on_hold"]) == ("active", True, True)
    assert body["cooldown_until"] == "2026-01-08T09:00:00Z"
    assert FR_IBAN not in response.text and FR_IBAN[4:] not in response.text


@pytest.mark.parametrize(
    ("details", "currency", "holder", "masked"),
    [
        (
            {"format": "aba", "routing_number": "021000021", "account_number": ABA_ACCOUNT},
            "USD",
            "Acme Inc",
            "•••• 8351",
        ),
        (
            {"format": "uk", "sort_code": "40-47-84", "account_number": "1926837"},
            "GBP",
            "Acme Ltd",
            "•••• 6837",
        ),
        (
            {
                "format": "zengin",
                "bank_code": "0001",
                "branch_code": "123",
                "account_type": "当座",
                "account_number": "8273645",
            },
            "JPY",
            "かぶしきがいしゃ あくめ",
            "•••• 645",
        ),
    ],
)
def test_each_format_is_added_over_http_and_shown_masked(
    client: TestClient,
    keys: Keys,
    seller: str,
    details: dict[str, str],
    currency: str,
    holder: str,
    masked: str,
) -> None:
    body = {"holder_name": holder, "currency": currency, "details": details}

    response = post(client, keys, seller, body)

    assert response.status_code == 201, response.text
    assert response.json()["masked"] == masked
    assert details["account_number"] not in response.text


def test_a_zengin_account_shows_its_holder_in_half_width_kana_and_its_type(
    client: TestClient, keys: Keys, seller: str
) -> None:
    body = {
        "holder_name": "やまだ たろう",
        "currency": "JPY",
        "details": {
            "format": "zengin",
            "bank_code": "0001",
            "branch_code": "123",
            "account_type": "普通",
            "account_number": "4567",
        },
    }

    shown = post(client, keys, seller, body).json()

    assert (shown["holder_name"], shown["account_type"]) == ("ﾔﾏﾀﾞ ﾀﾛｳ", "ordinary")
    assert shown["bank_identifier"] == "0001-123"


def test_the_same_idempotency_key_replays_and_with_another_body_conflicts(
    client: TestClient, keys: Keys, seller: str, db: Database
) -> None:
    first = post(client, keys, seller, iban_body())
    replay = post(client, keys, seller, iban_body())
    other = post(client, keys, seller, iban_body(ES_IBAN, None))

    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert_problem(other, 409, "idempotency_key_reused")
    # the holder name is the seller's legal name: the ownership check verifies it at once
    assert [kind for kind, _ in events_about(db, seller)] == [
        "bank_account.added",
        "bank_account.verified",
    ]


def test_adding_without_an_idempotency_key_is_refused(
    client: TestClient, keys: Keys, seller: str
) -> None:
    response = client.post(accounts_url(seller), json=iban_body(), headers=keys.of("seller"))

    assert_problem(response, 422, "idempotency_key_required", field="header.Idempotency-Key")


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        (iban_body("FR7630006000011234567890188"), "iban_digits", "body.details.iban"),
        (iban_body(FR_IBAN, "BNPAFRPP"), "bic_bank_mismatch", "body.details.bic"),
        (iban_body(FR_IBAN, "COBADEFF"), "bic_country_mismatch", "body.details.bic"),
        (iban_body(currency="USD"), "no_rail", "body.currency"),
        (iban_body(holder_name="   "), "holder_name_required", "body.holder_name"),
        (
            {
                "holder_name": "山田太郎",
                "currency": "JPY",
                "details": {
                    "format": "zengin",
                    "bank_code": "0001",
                    "branch_code": "123",
                    "account_number": "1",
                },
            },
            "holder_name_kanji",
            "body.holder_name",
        ),
        (
            {
                "holder_name": "ﾔﾏﾀﾞ",
                "currency": "JPY",
                "details": {
                    "format": "zengin",
                    "bank_code": "0001",
                    "branch_code": "123",
                    "account_type": "savings",
                    "account_number": "1",
                },
            },
            "account_type",
            "body.details.account_type",
        ),
        (
            {
                "holder_name": "Acme Inc",
                "currency": "USD",
                "details": {
                    "format": "aba",
                    "routing_number": "021000022",
                    "account_number": "1234",
                },
            },
            "routing_number_check_digit",
            "body.details.routing_number",
        ),
        (
            {"holder_name": "A", "currency": "EUR", "details": {"format": "swift", "iban": "x"}},
            "invalid_request",
            "body.details",
        ),
        (iban_body(extra="field"), "invalid_request", "body.extra"),
    ],
)
def test_invalid_accounts_are_problems_naming_the_field_and_nothing_is_stored(
    client: TestClient,
    keys: Keys,
    seller: str,
    db: Database,
    body: dict[str, Any],
    code: str,
    field: str,
) -> None:
    response = post(client, keys, seller, body)

    assert_problem(response, 422, code, field=field)
    listed = client.get(accounts_url(seller), headers=keys.of("seller")).json()
    assert listed["bank_accounts"] == [] and events_about(db, seller) == []


# --- who sees what -------------------------------------------------------------------------


def test_another_sellers_key_gets_404_on_every_route_exactly_as_for_a_missing_account(
    client: TestClient, keys: Keys, seller: str, other_seller: str
) -> None:
    mine_id = added(client, keys, seller)["id"]
    missing_id = "ba_" + "0" * 32
    other = keys.of("other_seller")

    for account_id in (mine_id, missing_id):
        base = f"/v1/bank-accounts/{account_id}"
        assert_problem(client.get(base, headers=other), 404, "bank_account_not_found")
        assert_problem(client.post(f"{base}/default", headers=other), 404, "bank_account_not_found")
        assert_problem(client.delete(base, headers=other), 404, "bank_account_not_found")
    assert_problem(client.get(accounts_url(seller), headers=other), 404, "seller_not_found")
    assert_problem(
        post(client, keys, seller, iban_body(), who="other_seller"), 404, "seller_not_found"
    )
    still = client.get(f"/v1/bank-accounts/{mine_id}", headers=keys.of("seller")).json()
    assert (still["status"], still["is_default"]) == ("active", True)


def test_a_malformed_or_unknown_account_id_is_not_found(
    client: TestClient, keys: Keys, seller: str
) -> None:
    for account_id in ("ba_nothex", "sel_123", "ba_" + "f" * 32):
        response = client.get(f"/v1/bank-accounts/{account_id}", headers=keys.of("operator"))
        assert_problem(response, 404, "bank_account_not_found")


@pytest.mark.parametrize(
    "who",
    ["seller", "marketplace", "operator", "approver", "compliance", "risk", "finance", "admin"],
)
def test_the_seller_and_staff_with_bank_accounts_read_see_an_account(
    client: TestClient, keys: Keys, seller: str, who: str
) -> None:
    account = added(client, keys, seller)

    response = client.get(f"/v1/bank-accounts/{account['id']}", headers=keys.of(who))
    listed = client.get(accounts_url(seller), headers=keys.of(who))

    assert response.status_code == 200, response.text
    assert response.json() == account | {"on_hold": True}
    assert [a["id"] for a in listed.json()["bank_accounts"]] == [account["id"]]


@pytest.mark.parametrize("who", ["operator", "approver", "risk", "finance"])
def test_staff_without_bank_accounts_write_cannot_add_change_or_disable(
    client: TestClient, keys: Keys, seller: str, who: str
) -> None:
    account = added(client, keys, seller)
    url = f"/v1/bank-accounts/{account['id']}"

    assert_problem(post(client, keys, seller, iban_body(), who=who), 403, "permission_required")
    assert_problem(client.post(f"{url}/default", headers=keys.of(who)), 403, "permission_required")
    assert_problem(client.delete(url, headers=keys.of(who)), 403, "permission_required")


@pytest.mark.parametrize("who", ["marketplace", "compliance", "admin"])
def test_the_marketplace_compliance_and_admins_add_accounts_for_a_seller(
    client: TestClient, keys: Keys, seller: str, who: str
) -> None:
    response = post(client, keys, seller, iban_body(), who=who)

    assert response.status_code == 201, response.text


def test_staff_on_an_unknown_seller_get_404(
    client: TestClient, keys: Keys, unknown_seller: str
) -> None:
    assert_problem(
        client.get(accounts_url(unknown_seller), headers=keys.of("operator")),
        404,
        "seller_not_found",
    )
    assert_problem(
        post(client, keys, unknown_seller, iban_body(), who="compliance"), 404, "seller_not_found"
    )


# --- default, disable, list ----------------------------------------------------------------


def test_a_seller_makes_another_account_the_default_then_disables_the_old_one(
    client: TestClient, keys: Keys, seller: str, db: Database
) -> None:
    first = added(client, keys, seller)
    second = added(client, keys, seller, value=ES_IBAN, bic=None)

    made = client.post(f"/v1/bank-accounts/{second['id']}/default", headers=keys.of("seller"))
    removed = client.delete(f"/v1/bank-accounts/{first['id']}", headers=keys.of("seller"))
    again = client.delete(f"/v1/bank-accounts/{first['id']}", headers=keys.of("seller"))
    refused = client.post(f"/v1/bank-accounts/{first['id']}/default", headers=keys.of("seller"))

    assert made.status_code == 200 and made.json()["is_default"]
    assert removed.status_code == 200
    assert (removed.json()["status"], removed.json()["disabled_reason"]) == (
        "disabled",
        "removed_by_seller",
    )
    assert again.json() == removed.json()
    assert_problem(refused, 422, "bank_account_not_active")
    kinds = [kind for kind, _ in events_about(db, seller)]
    assert kinds == [
        "bank_account.added",
        "bank_account.verified",
        "bank_account.added",
        "bank_account.verified",
        "bank_account.default_changed",
        "bank_account.disabled",
    ]


def test_a_sellers_accounts_are_listed_a_page_at_a_time_filtered_by_status(
    client: TestClient, keys: Keys, seller: str
) -> None:
    made = [added(client, keys, seller)["id"] for _ in range(3)]
    client.delete(f"/v1/bank-accounts/{made[0]}", headers=keys.of("seller"))

    page = client.get(accounts_url(seller), params={"limit": 2}, headers=keys.of("seller")).json()
    rest = client.get(
        accounts_url(seller), params={"cursor": page["next_cursor"]}, headers=keys.of("seller")
    ).json()
    active = client.get(
        accounts_url(seller), params={"status": "active"}, headers=keys.of("seller")
    ).json()
    bad = client.get(accounts_url(seller), params={"cursor": "nope"}, headers=keys.of("seller"))

    assert [a["id"] for a in page["bank_accounts"] + rest["bank_accounts"]] == made
    assert rest["next_cursor"] is None
    assert [a["id"] for a in active["bank_accounts"]] == made[1:]
    assert_problem(bad, 422, "invalid_cursor", field="query.cursor")


# --- the cool-down hold --------------------------------------------------------------------


def test_an_approver_releases_the_hold_of_an_account_someone_else_added(
    client: TestClient, keys: Keys, seller: str, db: Database
) -> None:
    account = added(client, keys, seller)
    url = f"/v1/bank-accounts/{account['id']}/release-hold"

    by_seller = client.post(url, headers=keys.of("seller"))
    by_operator = client.post(url, headers=keys.of("operator"))
    released = client.post(url, headers=keys.of("approver"))

    assert_problem(by_seller, 403, "permission_required")
    assert_problem(by_operator, 403, "permission_required")
    assert released.status_code == 200, released.text
    assert (released.json()["on_hold"], released.json()["hold_released_at"]) == (
        False,
        "2026-01-05T09:00:00Z",
    )
    records, _ = list_audit_records(db, subject_type="bank_account", subject_id=account["id"])
    assert [r.action for r in records] == [
        "bank_account.hold_released",
        "bank_account.verified",
        "bank_account.added",
    ]
    assert records[0].actor.startswith("key:") and "approver" in records[0].actor
    assert records[0].source_ip == "testclient"
    assert FR_IBAN not in str(records[0].before) + str(records[0].after)


def test_whoever_added_an_account_cannot_release_its_hold_over_http(
    client: TestClient, keys: Keys, seller: str
) -> None:
    account = post(client, keys, seller, iban_body(), who="admin").json()

    response = client.post(
        f"/v1/bank-accounts/{account['id']}/release-hold", headers=keys.of("admin")
    )

    assert_problem(response, 403, "four_eyes")


def test_a_seller_cannot_release_the_hold_of_another_sellers_account_or_learn_it_exists(
    client: TestClient, keys: Keys, seller: str
) -> None:
    account = added(client, keys, seller)

    response = client.post(
        f"/v1/bank-accounts/{account['id']}/release-hold", headers=keys.of("other_seller")
    )

    assert_problem(response, 403, "permission_required")  # before anything is read


# --- the key ring from the settings --------------------------------------------------------


def test_without_a_key_ring_on_the_app_the_configured_keys_encrypt(
    db: Database, clock: FixedClock, keys: Keys, seller: str
) -> None:
    app = create_app(db=db, clock=clock)
    app.dependency_overrides[get_settings] = lambda: Settings(
        encryption_keys=SecretStr(setting("cfg2", "test1")), bank_account_cooldown_hours=1
    )
    with TestClient(app) as client:
        response = post(client, keys, seller, iban_body())

    assert response.status_code == 201, response.text
    assert response.json()["cooldown_until"] == "2026-01-05T10:00:00Z"
    assert stored_key_id(db, response.json()["id"]) == "cfg2"


def test_a_holder_name_that_is_not_the_sellers_stays_unverified_for_compliance(
    client: TestClient, keys: Keys, seller: str, db: Database
) -> None:
    """The ownership check: someone else's account gets no payouts until compliance decides."""
    body = added(client, keys, seller, holder_name="John Smith")

    assert body["verified"] is False
    assert [kind for kind, _ in events_about(db, seller)] == ["bank_account.added"]
    onboarding = client.get(f"/v1/sellers/{seller}/onboarding", headers=keys.of("seller"))
    assert onboarding.status_code == 200, onboarding.text
    assert "John Smith" in onboarding.text


def test_compliance_verifies_a_mismatched_account_by_hand(
    client: TestClient, keys: Keys, seller: str
) -> None:
    account = added(client, keys, seller, holder_name="John Smith")
    url = f"/v1/bank-accounts/{account['id']}/verify"

    by_seller = client.post(url, json={"note": "bank letter"}, headers=keys.of("seller"))
    by_compliance = client.post(url, json={"note": "bank letter"}, headers=keys.of("compliance"))

    assert_problem(by_seller, 403, "permission_required")
    assert by_compliance.status_code == 200, by_compliance.text
    assert by_compliance.json()["verified"] is True
