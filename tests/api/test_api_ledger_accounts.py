"""Reading accounts over HTTP: balances now and as of a moment, and history page by page."""

from __future__ import annotations

from typing import Any

import pytest
from api_builders import Keys, entry, order_paid, pending, unique_key
from fastapi.testclient import TestClient

from http_support import assert_problem

URL = "/v1/ledger/accounts"


def post(client: TestClient, keys: Keys, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(
        "/v1/ledger/transactions",
        json=body,
        headers={**keys.of("finance"), "Idempotency-Key": unique_key()},
    )
    assert response.status_code == 201, response.text
    posted: dict[str, Any] = response.json()
    return posted


def test_a_sellers_pending_balance_is_shown_with_its_flags_and_totals(
    client: TestClient, keys: Keys, seller_id: str
) -> None:
    post(client, keys, order_paid(seller_id))
    post(client, keys, order_paid(seller_id, gross_minor=5_000, commission_minor=600))

    response = client.get(f"{URL}/{pending(seller_id)}", headers=keys.of("finance"))

    assert response.status_code == 200, response.text
    account = response.json()
    assert account["code"] == pending(seller_id)
    assert account["as_of"] is None
    assert account["balances"] == [
        {
            "currency": "EUR",
            "exponent": 2,
            "kind": "liability",
            "normal_side": "credit",
            "flags": ["debits_must_not_exceed_credits"],
            "debits_posted": {
                "amount_minor": 0,
                "currency": "EUR",
                "exponent": 2,
                "amount": "0.00",
            },
            "credits_posted": {
                "amount_minor": 13_200,
                "currency": "EUR",
                "exponent": 2,
                "amount": "132.00",
            },
            "balance": {
                "amount_minor": 13_200,
                "currency": "EUR",
                "exponent": 2,
                "amount": "132.00",
            },
            "version": 2,
        }
    ]


def test_an_account_in_two_currencies_shows_both_or_the_one_asked_for(
    client: TestClient, keys: Keys, seller_id: str
) -> None:
    post(client, keys, order_paid(seller_id))
    post(
        client, keys, order_paid(seller_id, gross_minor=1_000, commission_minor=100, currency="JPY")
    )

    both = client.get(f"{URL}/{pending(seller_id)}", headers=keys.of("finance")).json()
    yen = client.get(
        f"{URL}/{pending(seller_id)}", params={"currency": "JPY"}, headers=keys.of("finance")
    ).json()

    assert [b["currency"] for b in both["balances"]] == ["EUR", "JPY"]
    assert [b["balance"] for b in yen["balances"]] == [
        {"amount_minor": 900, "currency": "JPY", "exponent": 0, "amount": "900"}
    ]


def test_a_balance_as_of_a_past_moment_counts_only_entries_effective_by_then(
    client: TestClient, keys: Keys, seller_id: str
) -> None:
    post(client, keys, order_paid(seller_id, effective_at="2026-01-01T12:00:00Z"))
    post(client, keys, order_paid(seller_id, effective_at="2026-01-04T12:00:00+09:00"))

    response = client.get(
        f"{URL}/{pending(seller_id)}",
        params={"as_of": "2026-01-02T00:00:00+01:00"},
        headers=keys.of("finance"),
    )

    assert response.status_code == 200, response.text
    account = response.json()
    assert account["as_of"] == "2026-01-01T23:00:00Z"
    (balance,) = account["balances"]
    assert balance["balance"]["amount"] == "88.00"
    assert balance["version"] == 1


@pytest.mark.parametrize(
    ("params", "code", "field"),
    [
        ({"as_of": "2026-01-02T00:00:00"}, "invalid_request", "query.as_of"),
        ({"as_of": "yesterday"}, "invalid_request", "query.as_of"),
        ({"currency": "EURO"}, "invalid_request", "query.currency"),
        ({"currency": "EUX"}, "unknown_currency", "query.currency"),
    ],
    ids=["naive_as_of", "as_of_not_a_time", "currency_too_long", "unknown_currency"],
)
def test_a_balance_query_with_a_bad_parameter_is_refused(
    client: TestClient,
    keys: Keys,
    seller_id: str,
    params: dict[str, str],
    code: str,
    field: str,
) -> None:
    post(client, keys, order_paid(seller_id))

    response = client.get(f"{URL}/{pending(seller_id)}", params=params, headers=keys.of("finance"))

    assert_problem(response, 422, code, field=field)


def test_an_account_never_used_is_not_found(client: TestClient, keys: Keys, seller_id: str) -> None:
    response = client.get(f"{URL}/{pending(seller_id)}", headers=keys.of("finance"))

    assert_problem(response, 404, "account_not_found")


def test_history_pages_through_every_entry_newest_first_with_running_balances(
    client: TestClient, keys: Keys, seller_id: str
) -> None:
    for gross in (1_000, 2_000, 3_000, 4_000, 5_000):
        post(client, keys, order_paid(seller_id, gross_minor=gross, commission_minor=gross // 10))
    pages: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        response = client.get(
            f"{URL}/{pending(seller_id)}/entries", params=params, headers=keys.of("operator")
        )
        assert response.status_code == 200, response.text
        pages.append(response.json())
        cursor = pages[-1]["next_cursor"]
        if cursor is None:
            break

    assert [len(page["entries"]) for page in pages] == [2, 2, 1]
    lines = [line for page in pages for line in page["entries"]]
    assert [line["amount"]["amount_minor"] for line in lines] == [4_500, 3_600, 2_700, 1_800, 900]
    assert [line["balance_after"]["amount"] for line in lines] == [
        "135.00",
        "90.00",
        "54.00",
        "27.00",
        "9.00",
    ]
    assert [line["account_version"] for line in lines] == [5, 4, 3, 2, 1]
    assert {line["kind"] for line in lines} == {"order_paid"}
    assert {line["side"] for line in lines} == {"credit"}
    first = lines[0]
    assert set(first) >= {"transaction_id", "effective_at", "posted_at", "references"}


def test_history_of_an_account_in_two_currencies_needs_the_currency(
    client: TestClient, keys: Keys, seller_id: str
) -> None:
    post(client, keys, order_paid(seller_id))
    post(client, keys, order_paid(seller_id, currency="USD"))

    refused = client.get(f"{URL}/{pending(seller_id)}/entries", headers=keys.of("finance"))
    dollars = client.get(
        f"{URL}/{pending(seller_id)}/entries",
        params={"currency": "USD"},
        headers=keys.of("finance"),
    )

    assert_problem(refused, 422, "currency_required")
    assert [line["amount"]["currency"] for line in dollars.json()["entries"]] == ["USD"]


@pytest.mark.parametrize(
    "cursor",
    ["not base64!", "djE6", "djE6MA", "eDox", "djE6LTE", "AAAA"],
    ids=["not_base64", "no_version", "version_zero", "other_prefix", "negative", "binary"],
)
def test_a_cursor_not_given_by_the_api_is_refused(
    client: TestClient, keys: Keys, seller_id: str, cursor: str
) -> None:
    post(client, keys, order_paid(seller_id))

    response = client.get(
        f"{URL}/{pending(seller_id)}/entries", params={"cursor": cursor}, headers=keys.of("finance")
    )

    assert_problem(response, 422, "invalid_cursor", field="query.cursor")


@pytest.mark.parametrize("limit", [0, 501, "ten"])
def test_a_page_size_outside_1_to_500_is_refused(
    client: TestClient, keys: Keys, seller_id: str, limit: Any
) -> None:
    post(client, keys, order_paid(seller_id))

    response = client.get(
        f"{URL}/{pending(seller_id)}/entries", params={"limit": limit}, headers=keys.of("finance")
    )

    assert_problem(response, 422, "invalid_request", field="query.limit")


def test_a_platform_account_lists_entries_across_sellers(
    client: TestClient, keys: Keys, seller_id: str
) -> None:
    body = {
        "kind": "provider_settled",
        "entries": [
            entry("platform:bank:main", "debit", amount="100.00"),
            entry("platform:psp_clearing", "credit", amount="100.00"),
        ],
    }
    posted = post(client, keys, body)

    response = client.get(
        f"{URL}/platform:bank:main/entries", params={"limit": 1}, headers=keys.of("finance")
    )

    assert response.status_code == 200
    assert response.json()["entries"][0]["transaction_id"] == posted["id"]
