"""The reporting routes over HTTP: statements (JSON, CSV, PDF) for their seller only, a payout's
composition as CSV, and finance reports for finance and admin only."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from reporting_builders import new_seller, paid_out_seller

from http_support import Keys, assert_problem
from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.payouts.service import get_payout


def statement_url(seller_id: str) -> str:
    return f"/v1/sellers/{seller_id}/statements"


@pytest.fixture
def seller(db: Database, clock: FixedClock, seller_id: str) -> str:
    """`seller_id` with a sale, its release and a refund."""
    book = new_seller(db, clock, seller_id=seller_id)
    book.order_paid(8_800, fee=1_200)
    book.release(8_800)
    book.refund(1_000)
    clock.set(book.at)
    return seller_id


def test_a_seller_reads_its_own_statement_as_json(
    client: TestClient, keys: Keys, seller: str
) -> None:
    response = client.get(statement_url(seller), headers=keys.of("seller"))

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["currency"], body["language"], body["locale"]) == ("EUR", "fr", "fr_FR")
    assert body["opening"]["total"]["amount_minor"] == 0
    assert body["closing"]["total"] == {
        "amount_minor": 7_800,
        "currency": "EUR",
        "exponent": 2,
        "amount": "78.00",
    }
    assert [line["category"] for line in body["lines"]] == ["order", "release", "refund"]
    release = body["lines"][1]
    assert release["pending"]["amount_minor"] == -8_800
    assert release["available"]["amount_minor"] == 8_800
    assert release["amount"]["amount_minor"] == 0
    assert release["reserved"] is None


def test_another_seller_gets_404_for_a_statement_that_is_not_theirs(
    client: TestClient, keys: Keys, seller: str
) -> None:
    for output in ("json", "csv", "pdf"):
        response = client.get(
            statement_url(seller), params={"format": output}, headers=keys.of("other_seller")
        )
        assert_problem(response, 404, "seller_not_found")


def test_staff_need_balances_read_for_statements(
    client: TestClient, keys: Keys, seller: str
) -> None:
    assert client.get(statement_url(seller), headers=keys.of("operator")).status_code == 200
    assert client.get(statement_url(seller), headers=keys.of("finance")).status_code == 200
    assert_problem(
        client.get(statement_url(seller), headers=keys.of("compliance")),
        403,
        "permission_required",
    )
    assert_problem(client.get(statement_url(seller)), 401, "api_key_required")


def test_the_statement_comes_as_csv_and_as_pdf(client: TestClient, keys: Keys, seller: str) -> None:
    as_csv = client.get(statement_url(seller), params={"format": "csv"}, headers=keys.of("seller"))
    as_pdf = client.get(
        statement_url(seller),
        params={"format": "pdf", "language": "ja"},
        headers=keys.of("seller"),
    )

    assert as_csv.status_code == 200, as_csv.text
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert f'filename="{seller}-EUR-statement.csv"' in as_csv.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.text, newline="")))
    assert [r["row_type"] for r in rows] == [
        "opening",
        "movement",
        "movement",
        "movement",
        "closing",
    ]
    assert as_pdf.status_code == 200
    assert as_pdf.headers["content-type"] == "application/pdf"
    assert as_pdf.content.startswith(b"%PDF-") and as_pdf.content.rstrip().endswith(b"%%EOF")
    assert b"HeiseiKakuGo-W5" in as_pdf.content


def test_a_bad_statement_request_names_what_is_wrong(
    client: TestClient, keys: Keys, seller: str
) -> None:
    headers = keys.of("seller")
    assert_problem(
        client.get(statement_url(seller), params={"language": "de"}, headers=headers),
        422,
        "unsupported_language",
    )
    assert_problem(
        client.get(
            statement_url(seller),
            params={"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
            headers=headers,
        ),
        422,
        "invalid_date_range",
    )
    assert_problem(
        client.get(statement_url(seller), params={"currency": "ABC"}, headers=headers),
        422,
        "unknown_currency",
    )
    naive = client.get(
        statement_url(seller), params={"from": "2026-01-01T00:00:00"}, headers=headers
    )
    assert naive.status_code == 422


# --- payout composition ----------------------------------------------------------------------


def test_a_payouts_composition_csv_sums_to_the_payout(
    client: TestClient, keys: Keys, db: Database, clock: FixedClock, seller_id: str
) -> None:
    _, payout_id = paid_out_seller(db, clock, seller_id)
    payout = get_payout(db, payout_id)

    response = client.get(f"/v1/payouts/{payout_id}/composition.csv", headers=keys.of("seller"))

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.text, newline="")))
    assert [(r["type"], r["category"], int(r["amount_minor"])) for r in rows] == [
        ("order.released", "order", 7_000),
        ("order.released", "order", 2_500),
        ("order.refunded", "refund", -1_000),
    ]
    assert sum(int(r["amount_minor"]) for r in rows) == payout.source.amount_minor == 8_500
    assert {r["payout_id"] for r in rows} == {payout_id}
    assert rows[2]["refund_id"].startswith("re_")


def test_a_payouts_composition_is_for_its_seller_and_payouts_readers_only(
    client: TestClient, keys: Keys, db: Database, clock: FixedClock, seller_id: str
) -> None:
    _, payout_id = paid_out_seller(db, clock, seller_id)
    url = f"/v1/payouts/{payout_id}/composition.csv"

    assert_problem(client.get(url, headers=keys.of("other_seller")), 404, "payout_not_found")
    assert_problem(client.get(url, headers=keys.of("compliance")), 403, "permission_required")
    assert client.get(url, headers=keys.of("operator")).status_code == 200
    assert_problem(
        client.get("/v1/payouts/po_missing/composition.csv", headers=keys.of("operator")),
        404,
        "payout_not_found",
    )


# --- finance reports -----------------------------------------------------------------------

FINANCE_ROUTES = [
    ("/v1/reports/cash-position", {"from": "2026-01-01", "to": "2026-01-31"}),
    ("/v1/reports/seller-liabilities", {}),
    ("/v1/reports/revenue", {"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"}),
    ("/v1/reports/trial-balance", {}),
]


@pytest.mark.parametrize(("url", "params"), FINANCE_ROUTES)
def test_a_seller_cannot_read_finance_reports(
    client: TestClient, keys: Keys, url: str, params: dict[str, str]
) -> None:
    assert_problem(
        client.get(url, params=params, headers=keys.of("seller")), 403, "permission_required"
    )
    assert_problem(
        client.get(url, params=params, headers=keys.of("operator")), 403, "permission_required"
    )


@pytest.mark.parametrize(("url", "params"), FINANCE_ROUTES)
def test_finance_and_admin_read_finance_reports(
    whole_ledger: tuple[TestClient, Keys], url: str, params: dict[str, str]
) -> None:
    client, keys = whole_ledger
    for who in ("finance", "admin"):
        response = client.get(url, params=params, headers=keys.of(who))
        assert response.status_code == 200, response.text


def test_the_trial_balance_over_http_balances_in_every_currency(
    whole_ledger: tuple[TestClient, Keys], fresh_db: Database, clock: FixedClock, seller_id: str
) -> None:
    client, keys = whole_ledger
    book = new_seller(fresh_db, clock, seller_id=seller_id)
    book.order_paid(8_800, fee=1_200)
    book.release(8_800)
    book.refund(1_000)
    clock.set(book.at)
    body = client.get("/v1/reports/trial-balance", headers=keys.of("finance")).json()
    as_csv = client.get(
        "/v1/reports/trial-balance", params={"format": "csv"}, headers=keys.of("finance")
    )
    by_account = client.get(
        "/v1/reports/trial-balance", params={"by": "account"}, headers=keys.of("finance")
    )

    assert body["balanced"] is True
    assert body["totals"] and all(t["difference"]["amount_minor"] == 0 for t in body["totals"])
    assert any(line["line"] == "seller:*:available" for line in body["lines"])
    totals = [r for r in csv.DictReader(io.StringIO(as_csv.text)) if r["row_type"] == "total"]
    assert totals and all(r["balance_minor"] == "0" for r in totals)
    accounts = list(csv.DictReader(io.StringIO(by_account.text)))
    assert any(r["account"] == f"seller:{seller_id}:available" for r in accounts)
    assert all(r["balance_minor"] == "0" for r in accounts if r["row_type"] == "total")


def test_finance_reports_refuse_bad_periods(client: TestClient, keys: Keys) -> None:
    headers = keys.of("finance")
    assert_problem(
        client.get(
            "/v1/reports/cash-position", params={"from": "2026-02-01", "to": "2026-01-01"},
            headers=headers,
        ),
        422,
        "invalid_date_range",
    )  # fmt: skip
    assert_problem(
        client.get(
            "/v1/reports/cash-position", params={"from": "2024-01-01", "to": "2026-01-01"},
            headers=headers,
        ),
        422,
        "days_max",
    )  # fmt: skip
    missing = client.get("/v1/reports/revenue", headers=headers)
    assert missing.status_code == 422
