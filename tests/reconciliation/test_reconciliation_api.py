"""The reconciliation routes over HTTP: finance imports and works the queue, a seller is
refused, a malformed upload is a 422 problem naming where and stores nothing, a write-off
needs a second key."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from reconciliation_builders import bank_account_id, camt053, count, debit

from http_support import Keys, assert_problem, role_keys
from sellerpay.api import create_app
from sellerpay.clock import FixedClock
from sellerpay.db import Database

DAY = date(2026, 1, 6)
BASE = "/v1/reconciliation"


@pytest.fixture
def client(db: Database, clock: FixedClock) -> Iterator[TestClient]:
    with TestClient(create_app(db=db, clock=clock)) as test_client:
        yield test_client


@pytest.fixture
def keys(db: Database, clock: FixedClock) -> Keys:
    return role_keys(db, clock, seller_id=f"sel_{uuid.uuid4().hex}",
                     other_seller_id=f"sel_{uuid.uuid4().hex}")  # fmt: skip


def upload(client: TestClient, keys: Keys, who: str, data: bytes, account: str):  # type: ignore[no-untyped-def]
    return client.post(
        f"{BASE}/statements",
        params={"bank_account": account, "filename": "day.xml"},
        content=data,
        headers={**keys.of(who), "Content-Type": "application/octet-stream"},
    )


def test_finance_imports_a_statement_and_the_same_file_again_is_a_duplicate(
    client: TestClient, keys: Keys
) -> None:
    account = bank_account_id()
    data = camt053([debit("L1", 1_000, DAY)], on=DAY)

    first = upload(client, keys, "finance", data, account)
    again = upload(client, keys, "finance", data, account)

    assert first.status_code == 201, first.text
    assert first.json()["lines"] == 1 and first.json()["duplicate"] is False
    assert again.status_code == 200 and again.json()["duplicate"] is True
    statement_id = first.json()["statement_ids"][0]
    shown = client.get(f"{BASE}/statements/{statement_id}", headers=keys.of("finance"))
    assert shown.status_code == 200
    assert shown.json()["line_states"] == {"unmatched": 1}
    assert shown.json()["closing_balance"]["amount_minor"] == -1_000


def test_a_seller_is_refused_every_route(client: TestClient, keys: Keys) -> None:
    account = bank_account_id()

    refused = upload(client, keys, "seller", camt53 := camt053([], on=DAY), account)
    listed = client.get(f"{BASE}/exceptions", headers=keys.of("seller"))

    assert_problem(refused, 403, "permission_required")
    assert_problem(listed, 403, "permission_required")
    assert camt53  # the body was a valid statement: refused for who asked, not for what
    assert client.get(f"{BASE}/exceptions").status_code == 401


def test_an_unknown_exception_is_404(client: TestClient, keys: Keys) -> None:
    response = client.get(f"{BASE}/exceptions/rexc_nope", headers=keys.of("finance"))

    assert_problem(response, 404, "exception_not_found")


def test_a_malformed_upload_is_a_422_naming_where_and_stores_nothing(
    client: TestClient, keys: Keys, db: Database
) -> None:
    account = bank_account_id()
    good = camt053([debit("L1", 1_000, DAY)], on=DAY)
    broken = good.replace(b'<Amt Ccy="EUR">10.00', b'<Amt Ccy="EUR">10,00')

    response = upload(client, keys, "finance", broken, account)

    body = assert_problem(response, 422, "invalid_amount")
    assert body["where"] == "Document/BkToCstmrStmt/Stmt/Bal[2]/Amt"  # the closing balance
    assert count(db, "statements", bank_account=account) == 0
    empty = upload(client, keys, "finance", b"", account)
    assert_problem(empty, 422, "empty_statement")


def test_the_queue_is_worked_over_http_and_a_write_off_needs_another_key(
    client: TestClient, keys: Keys
) -> None:
    account = bank_account_id()
    upload(client, keys, "finance", camt053([debit("FEE", 250, DAY)], on=DAY), account)
    listed = client.get(f"{BASE}/exceptions", params={"bank_account": account,
                                                      "kind": "unmatched_line"},
                        headers=keys.of("finance"))  # fmt: skip
    (item,) = listed.json()["exceptions"]
    path = f"{BASE}/exceptions/{item['id']}"

    noted = client.post(f"{path}/notes", json={"text": "bank fee"}, headers=keys.of("finance"))
    asked = client.post(f"{path}/resolve", json={"resolution": "write_off", "note": "fee"},
                        headers=keys.of("finance"))  # fmt: skip
    own = client.post(f"{path}/approve", headers=keys.of("finance"))
    approved = client.post(f"{path}/approve", headers=keys.of("approver"))

    assert noted.status_code == 200 and noted.json()["status"] == "investigating"
    assert asked.status_code == 200 and asked.json()["pending"]["amount_minor"] == -250
    assert_problem(own, 403, "approver_is_requester")
    assert approved.status_code == 200, approved.text
    assert approved.json()["resolution"] == "write_off"
    assert approved.json()["line"]["state"] == "written_off"
    again = client.post(f"{path}/resolve", json={"resolution": "write_off", "note": "x"},
                        headers=keys.of("finance"))  # fmt: skip
    assert_problem(again, 409, "exception_resolved")


def test_a_resolution_body_is_validated(client: TestClient, keys: Keys) -> None:
    response = client.post(f"{BASE}/exceptions/rexc_x/resolve", json={"resolution": "shrug"},
                           headers=keys.of("finance"))  # fmt: skip

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_a_csv_mapping_is_saved_and_a_bad_one_names_its_key(client: TestClient, keys: Keys) -> None:
    account = bank_account_id()
    good = {"date_column": "Date", "amount_column": "Amount", "currency": "EUR"}

    saved = client.put(f"{BASE}/csv-mappings/{account}", json=good, headers=keys.of("finance"))
    bad = client.put(f"{BASE}/csv-mappings/{account}", json={**good, "colour": "red"},
                     headers=keys.of("finance"))  # fmt: skip

    assert saved.status_code == 204
    assert_problem(bad, 422, "invalid_mapping", field="mapping.colour")
