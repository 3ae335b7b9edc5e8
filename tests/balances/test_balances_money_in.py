"""End to end with money in: an order paid before its seller existed is parked, applied when
the marketplace creates the seller, and shows in the seller's balance with its fee breakdown;
a lost dispute shows as a dispute and a fee, and leaves a negative balance to recover."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from balances_builders import money, unique
from fastapi.testclient import TestClient

from sellerpay.access.rules import Role
from sellerpay.access.service import create_api_key
from sellerpay.api import create_app
from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.settlement.rules import FeeRule
from sellerpay.settlement.service import IngestStatus, create_fee_plan, ingest_events


@pytest.fixture
def client(fresh_db: Database, clock: FixedClock) -> Iterator[TestClient]:
    """The API over a database of its own: the platform fee plan made here stays here."""
    with TestClient(create_app(db=fresh_db, clock=clock)) as test_client:
        yield test_client


def bearer(db: Database, clock: FixedClock, role: Role, seller_id: str | None = None) -> Any:
    _, key = create_api_key(db, name=role.value, role=role, seller_id=seller_id, clock=clock)
    return {"Authorization": f"Bearer {key}"}


def order_paid(seller_id: str, order_id: str) -> dict[str, Any]:
    return {
        "id": unique("evt"),
        "type": "order.paid",
        "occurred_at": "2026-01-05T08:00:00Z",
        "data": {
            "order_id": order_id,
            "seller_id": seller_id,
            "currency": "EUR",
            "market": "FR",
            "lines": [
                {"line_id": "phone", "amount_minor": 10_000, "category": "smartphones"},
                {"line_id": "case", "amount": "5.00", "category": "accessories"},
            ],
            "paid_at": "2026-01-05T08:00:00Z",
        },
    }


def platform_fee_plan(db: Database, clock: FixedClock) -> None:
    create_fee_plan(
        db,
        name="Platform 2026",
        effective_from=datetime(2026, 1, 1, tzinfo=UTC),
        rules=(FeeRule(bps=1_200),),
        created_by="test",
        clock=clock,
    )


def test_an_order_paid_before_its_seller_existed_lands_when_the_seller_is_created(
    client: TestClient, fresh_db: Database, clock: FixedClock, seller_id: str
) -> None:
    platform_fee_plan(fresh_db, clock)
    order_id = unique("ord")
    (parked,) = ingest_events(
        fresh_db, [order_paid(seller_id, order_id)], source="http", clock=clock
    )
    assert (parked.status, parked.waiting_for) == (IngestStatus.PARKED, f"seller:{seller_id}")

    created = client.post(
        "/v1/sellers",
        json={"id": seller_id, "legal_name": "Acme Refurb", "country": "FR"},
        headers=bearer(fresh_db, clock, Role.MARKETPLACE),
    )

    assert created.status_code == 201, created.text
    own_key = bearer(fresh_db, clock, Role.SELLER, seller_id)
    (balance,) = client.get(f"/v1/sellers/{seller_id}/balance", headers=own_key).json()["balances"]
    assert balance["pending"] == money(8_800 + 440)  # 12% of 100.00 and of 5.00 kept
    (movement,) = client.get(
        f"/v1/sellers/{seller_id}/balance-transactions", headers=own_key
    ).json()["balance_transactions"]
    assert (movement["type"], movement["category"]) == ("order.paid", "order")
    assert movement["amount"] == money(9_240)
    assert movement["references"]["order_id"] == order_id
    phone, case = movement["fee_breakdown"]
    assert (phone["line_id"], phone["category"]) == ("phone", "smartphones")
    assert (phone["gross"], phone["fee"], phone["net"]) == (money(10_000), money(1_200),
                                                            money(8_800))  # fmt: skip
    assert (case["gross"], case["commission"], case["net"]) == (money(500), money(60), money(440))
    assert phone["refunded"] == money(0)


def test_a_lost_dispute_shows_as_a_dispute_and_a_fee_and_leaves_money_to_recover(
    client: TestClient, fresh_db: Database, clock: FixedClock, seller_id: str
) -> None:
    platform_fee_plan(fresh_db, clock)
    client.post(
        "/v1/sellers",
        json={"id": seller_id, "legal_name": "Acme Refurb", "country": "FR"},
        headers=bearer(fresh_db, clock, Role.MARKETPLACE),
    )
    order_id, dispute_id = unique("ord"), unique("dp")
    events = [
        order_paid(seller_id, order_id),
        {"id": unique("evt"), "type": "dispute.opened", "occurred_at": "2026-01-05T08:30:00Z",
         "data": {"dispute_id": dispute_id, "order_id": order_id, "amount_minor": 5_000}},
        {"id": unique("evt"), "type": "dispute.lost", "occurred_at": "2026-01-05T08:40:00Z",
         "data": {"dispute_id": dispute_id}},
    ]  # fmt: skip
    results = ingest_events(fresh_db, events, source="http", clock=clock)
    assert [r.status for r in results] == [IngestStatus.APPLIED] * 3, results

    own_key = bearer(fresh_db, clock, Role.SELLER, seller_id)
    (balance,) = client.get(f"/v1/sellers/{seller_id}/balance", headers=own_key).json()["balances"]
    movements = client.get(
        f"/v1/sellers/{seller_id}/balance-transactions", params={"type": "dispute.lost"},
        headers=own_key,
    ).json()["balance_transactions"]  # fmt: skip

    assert {(m["category"], m["account"], m["amount"]["amount_minor"]) for m in movements} == {
        ("dispute", "dispute_hold", -5_000),
        ("fee", "available", -1_500),
    }
    assert balance["available"] == money(-1_500)
    assert balance["negative_to_recover"] == money(1_500)
    assert balance["dispute_hold"] == money(0)
    assert balance["pending"] == money(9_240 - 5_000)  # the disputed amount came from pending
