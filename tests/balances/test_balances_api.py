"""A seller's balances and balance transactions over HTTP: shapes, pages, filters, CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from balances_builders import T0, SellerLedger, money
from fastapi.testclient import TestClient

from http_support import Keys, assert_problem
from sellerpay.balances import service
from sellerpay.balances.api import prefers_csv
from sellerpay.db import Database
from sellerpay.ledger.rules import Side
from sellerpay.settlement import service as settlement

CSV_COLUMNS = [
    "id", "effective_at", "posted_at", "type", "category", "account", "currency", "amount",
    "amount_minor", "balance_after", "balance_after_minor", "order_id", "refund_id", "dispute_id",
    "adjustment_id", "payout_id", "description", "transaction_id",
]  # fmt: skip


def balance_url(seller_id: str) -> str:
    return f"/v1/sellers/{seller_id}/balance"


def movements_url(seller_id: str) -> str:
    return f"/v1/sellers/{seller_id}/balance-transactions"


def csv_rows(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    assert reader.fieldnames == CSV_COLUMNS
    return list(reader)


def test_a_seller_reads_its_balance_per_currency_as_exact_amounts(
    client: TestClient, keys: Keys, ledger: SellerLedger
) -> None:
    ledger.order_paid(8_800, fee_minor=1_200)
    ledger.release(5_000)
    ledger.dispute_opened(1_000)
    ledger.reserve_held(500)
    ledger.currency = "JPY"
    ledger.order_paid(1_500)

    response = client.get(balance_url(ledger.seller_id), headers=keys.of("seller"))

    assert response.status_code == 200, response.text
    assert response.json() == {
        "seller_id": ledger.seller_id,
        "balances": [
            {
                "currency": "EUR",
                "exponent": 2,
                "pending": money(3_800),
                "available": money(3_500),
                "reserved": money(500),
                "dispute_hold": money(1_000),
                "in_transit": money(0),
                "negative_to_recover": money(0),
                "last_movement_at": "2026-01-05T09:04:00Z",
            },
            {
                "currency": "JPY",
                "exponent": 0,
                "pending": money(1_500, "JPY"),
                "available": money(0, "JPY"),
                "reserved": money(0, "JPY"),
                "dispute_hold": money(0, "JPY"),
                "in_transit": money(0, "JPY"),
                "negative_to_recover": money(0, "JPY"),
                "last_movement_at": "2026-01-05T09:05:00Z",
            },
        ],
        "last_movement_at": "2026-01-05T09:05:00Z",
    }


def test_a_negative_available_balance_shows_what_is_left_to_recover(
    client: TestClient, keys: Keys, ledger: SellerLedger
) -> None:
    ledger.order_paid(2_000)
    ledger.release(2_000)
    ledger.refund_after_release(3_250)

    (balance,) = client.get(balance_url(ledger.seller_id), headers=keys.of("risk")).json()[
        "balances"
    ]

    assert balance["available"] == money(-1_250)
    assert balance["available"]["amount"] == "-12.50"
    assert balance["negative_to_recover"] == money(1_250)


def test_balance_transactions_come_in_pages_with_each_accounts_running_balance(
    client: TestClient, keys: Keys, ledger: SellerLedger
) -> None:
    for _ in range(3):
        ledger.order_paid(1_000)
    ledger.release(2_500)  # two movements: pending -, available +
    ledger.refund_after_release(3_000)
    ledger.order_paid(700)
    # 7 movements, 3 a page: 3 + 3 + 1
    pages: list[list[dict[str, Any]]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        response = client.get(movements_url(ledger.seller_id), params=params,
                              headers=keys.of("seller"))  # fmt: skip
        assert response.status_code == 200, response.text
        pages.append(response.json()["balance_transactions"])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break

    assert [len(page) for page in pages] == [3, 3, 1]
    movements = [m for page in pages for m in page]
    assert len({m["id"] for m in movements}) == 7
    running: dict[str, int] = {}
    for movement in reversed(movements):  # oldest first: each balance follows from the last
        before = running.get(movement["account"], 0)
        after = movement["balance_after"]["amount_minor"]
        assert after == before + movement["amount"]["amount_minor"], movement
        running[movement["account"]] = after
    assert running == {"pending": 1_200, "available": -500}
    balance = client.get(balance_url(ledger.seller_id), headers=keys.of("seller")).json()
    assert balance["balances"][0]["pending"]["amount_minor"] == 1_200
    assert balance["balances"][0]["available"]["amount_minor"] == -500


def test_a_balance_transaction_says_what_it_is_and_where_it_comes_from(
    client: TestClient, keys: Keys, ledger: SellerLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    line_fee = {"line_id": "l1", "currency": "EUR", "gross_minor": 10_000, "bps": 1_200,
                "commission_minor": 1_150, "fixed_fee_minor": 50, "fee_minor": 1_200,
                "net_minor": 8_800, "category": "phones", "refunded_minor": 0,
                "fee_returned_minor": 0}  # fmt: skip
    monkeypatch.setattr(
        settlement, "order_fee_breakdown", lambda db, ids: {i: [line_fee] for i in ids}
    )
    order_id = ledger.order_paid(8_800, fee_minor=1_200)

    (movement,) = client.get(movements_url(ledger.seller_id), headers=keys.of("seller")).json()[
        "balance_transactions"
    ]

    assert movement["id"].startswith("bt_")
    assert movement["type"] == "order.paid"
    assert movement["category"] == "order"
    assert movement["account"] == "pending"
    assert movement["amount"] == money(8_800)
    assert movement["balance_after"] == money(8_800)
    assert movement["references"] == {"order_id": order_id}
    assert movement["effective_at"] == "2026-01-05T09:01:00Z"
    assert movement["fee_breakdown"] == [
        {
            "line_id": "l1",
            "category": "phones",
            "gross": money(10_000),
            "bps": 1_200,
            "commission": money(1_150),
            "fixed_fee": money(50),
            "fee": money(1_200),
            "net": money(8_800),
            "refunded": money(0),
            "fee_returned": money(0),
        }
    ]


def test_balance_transactions_are_filtered_by_type_currency_and_dates(
    client: TestClient, keys: Keys, ledger: SellerLedger
) -> None:
    ledger.order_paid(1_000)  # 09:01
    ledger.release(1_000)  # 09:02
    ledger.currency = "USD"
    ledger.order_paid(2_000)  # 09:03

    def amounts(**params: Any) -> list[int]:
        response = client.get(
            movements_url(ledger.seller_id), params=params, headers=keys.of("operator")
        )
        assert response.status_code == 200, response.text
        return [m["amount"]["amount_minor"] for m in response.json()["balance_transactions"]]

    assert amounts(type="release") == [1_000, -1_000]
    assert amounts(type=["order.paid", "release"], currency="EUR") == [1_000, -1_000, 1_000]
    assert amounts(currency="USD") == [2_000]
    assert amounts(**{"from": "2026-01-05T10:02:00+01:00"}) == [2_000, 1_000, -1_000]
    assert amounts(**{"from": "2026-01-05T09:02:00Z", "to": "2026-01-05T09:03:00Z"}) == [
        1_000,
        -1_000,
    ]
    assert amounts(type="dispute.opened") == []


BAD_QUERIES: list[tuple[str, dict[str, Any], str, str | None]] = [
    ("currency EURO", {"currency": "EURO"}, "invalid_request", "query.currency"),
    ("unknown currency", {"currency": "ZZZ"}, "unknown_currency", None),
    ("bad type", {"type": "Order Paid"}, "invalid_type", None),
    ("long type", {"type": "a" * 65}, "invalid_request", "query.type.0"),
    ("many types", {"type": [f"k{i}" for i in range(21)]}, "invalid_request", "query.type"),
    ("date without zone", {"from": "2026-01-05T09:00:00"}, "invalid_request", "query.from"),
    ("unix time", {"to": "1767603600"}, "invalid_request", "query.to"),
    ("empty range", {"from": "2026-01-05T09:00:00Z", "to": "2026-01-05T09:00:00Z"},
     "invalid_date_range", None),
    ("limit zero", {"limit": 0}, "invalid_request", "query.limit"),
    ("limit too big", {"limit": 201}, "invalid_request", "query.limit"),
    ("foreign cursor", {"cursor": "djE6MTIz"}, "invalid_cursor", "query.cursor"),
    ("garbage cursor", {"cursor": "***"}, "invalid_cursor", "query.cursor"),
    ("long cursor", {"cursor": "a" * 201}, "invalid_request", "query.cursor"),
    ("unknown format", {"format": "xml"}, "invalid_request", "query.format"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("params", "code", "field"), [c[1:] for c in BAD_QUERIES], ids=[c[0] for c in BAD_QUERIES]
)
def test_a_bad_balance_transactions_query_is_refused_with_the_parameter_at_fault(
    client: TestClient,
    keys: Keys,
    ledger: SellerLedger,
    params: dict[str, Any],
    code: str,
    field: str | None,
) -> None:
    response = client.get(movements_url(ledger.seller_id), params=params, headers=keys.of("seller"))

    assert_problem(response, 422, code, field=field)


def test_the_csv_export_sums_to_the_change_of_balance_over_its_range(
    client: TestClient, keys: Keys, ledger: SellerLedger
) -> None:
    ledger.order_paid(8_800, fee_minor=1_200)  # 09:01
    ledger.release(8_800)  # 09:02
    balance_at_start = 8_800  # pending 0 + available 8 800, after 09:02
    ledger.order_paid(4_321)  # 09:03
    ledger.refund_after_release(9_999)  # 09:04
    ledger.dispute_opened(150)  # 09:05

    response = client.get(
        movements_url(ledger.seller_id),
        params={"format": "csv", "from": "2026-01-05T09:02:30Z"},
        headers=keys.of("seller"),
    )

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    rows = csv_rows(response.text)
    assert [r["type"] for r in rows] == [
        "order.paid", "order.refunded", "dispute.opened", "dispute.opened"
    ]  # fmt: skip
    assert all(r["currency"] == "EUR" for r in rows)
    change_minor = sum(int(r["amount_minor"]) for r in rows)
    assert sum(Decimal(r["amount"]) for r in rows) == Decimal(change_minor) / 100
    (balance,) = client.get(balance_url(ledger.seller_id), headers=keys.of("seller")).json()[
        "balances"
    ]
    total = sum(balance[k]["amount_minor"] for k in ("pending", "available", "dispute_hold"))
    assert total == balance_at_start + change_minor
    assert rows[1]["amount"] == "-99.99" and rows[1]["amount_minor"] == "-9999"
    assert rows[1]["balance_after"] == "-11.99" and rows[1]["refund_id"].startswith("ref_")


def test_asking_for_text_csv_in_accept_exports_csv_oldest_first(
    client: TestClient, keys: Keys, ledger: SellerLedger
) -> None:
    ledger.order_paid(100)
    ledger.order_paid(200)

    response = client.get(
        movements_url(ledger.seller_id),
        headers={**keys.of("finance"), "Accept": "text/csv, application/json;q=0.5"},
    )

    assert response.headers["content-type"].startswith("text/csv")
    assert [r["amount_minor"] for r in csv_rows(response.text)] == ["100", "200"]


def test_a_csv_export_of_a_seller_without_movements_is_just_the_header(
    client: TestClient, keys: Keys, ledger: SellerLedger
) -> None:
    response = client.get(
        movements_url(ledger.seller_id), params={"format": "csv"}, headers=keys.of("seller")
    )

    assert csv_rows(response.text) == []


def test_text_a_spreadsheet_would_run_as_a_formula_is_defused_in_the_csv(
    client: TestClient, keys: Keys, ledger: SellerLedger
) -> None:
    ledger.post_at(
        T0 + timedelta(minutes=1),
        "adjustment",
        [ledger.leg("platform:adjustments", Side.DEBIT, 100),
         ledger.leg("available", Side.CREDIT, 100)],
        order_id='=HYPERLINK("http://evil.example","click")',
    )  # fmt: skip

    response = client.get(
        movements_url(ledger.seller_id), params={"format": "csv"}, headers=keys.of("seller")
    )

    (row,) = csv_rows(response.text)
    assert row["order_id"] == "'" + '=HYPERLINK("http://evil.example","click")'
    assert row["amount_minor"] == "100"


def test_a_csv_export_too_large_is_refused_with_a_problem_before_any_row(
    client: TestClient, keys: Keys, ledger: SellerLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "export_rows_max", 1)
    ledger.order_paid(100)
    ledger.order_paid(200)

    response = client.get(
        movements_url(ledger.seller_id), params={"format": "csv"}, headers=keys.of("seller")
    )

    assert_problem(response, 413, "export_rows_max")


@pytest.mark.parametrize("path", ["balance", "balance-transactions"])
def test_an_unknown_seller_has_no_balance(
    client: TestClient, keys: Keys, db: Database, seller_id: str, path: str
) -> None:
    response = client.get(f"/v1/sellers/{seller_id}/{path}", headers=keys.of("operator"))

    assert_problem(response, 404, "seller_not_found")


@pytest.mark.parametrize(
    ("accept", "csv_wanted"),
    [
        ("text/csv", True),
        ("text/csv, application/json;q=0.5", True),
        ("application/json, text/csv;q=0.5", False),
        ("text/csv;q=0", False),
        ("*/*", False),
        ("TEXT/CSV; charset=utf-8", True),
        ("text/csv;q=nonsense", False),
        (None, False),
    ],
)
def test_the_accept_header_chooses_csv_only_when_it_prefers_it(
    accept: str | None, csv_wanted: bool
) -> None:
    assert prefers_csv(accept) is csv_wanted
