"""Payouts over HTTP (SQLite and PostgreSQL): payouts on demand and manual, four-eyes approvals
with their audit records, rejection and cancellation giving the money back, reading payouts
and their composition, and schedules; a seller's key sees and touches its own payouts only
(another seller's answer 404, as if missing)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from payouts_api_builders import (
    PAYOUTS,
    actor_of_key,
    api_client,
    available_shown,
    change_bank_account,
    created,
    new_key,
    payout_body,
    post_payout,
)
from payouts_builders import IBANS, credit, debit, funded_seller

from http_support import Keys, assert_problem, role_keys
from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.money import Money
from sellerpay.sellers.service import create_seller


@pytest.fixture
def other_seller_id() -> str:
    return f"sel_{uuid.uuid4().hex}"


@pytest.fixture
def client(db: Database, clock: FixedClock) -> Iterator[TestClient]:
    with api_client(db, clock) as test_client:
        yield test_client


@pytest.fixture
def keys(db: Database, clock: FixedClock, seller_id: str, other_seller_id: str) -> Keys:
    return role_keys(db, clock, seller_id=seller_id, other_seller_id=other_seller_id)


def payout_of(client: TestClient, keys: Keys, who: str, payout_id: str) -> Any:
    return client.get(f"{PAYOUTS}/{payout_id}", headers=keys.of(who))


def decide(client: TestClient, keys: Keys, who: str, payout_id: str, action: str) -> Any:
    return client.post(f"{PAYOUTS}/{payout_id}/{action}", json={"note": "t"}, headers=keys.of(who))


# --- create ----------------------------------------------------------------------------------


def test_a_seller_asks_for_a_payout_of_its_own_balance_and_a_replay_returns_it(
    client: TestClient, keys: Keys, db: Database, clock: FixedClock, seller_id: str
) -> None:
    funded_seller(db, clock, seller_id, available_minor=50_000)
    key = new_key()
    body = payout_body(seller_id, amount_minor=20_000, description="weekly")

    first = post_payout(client, keys, "seller", body, idempotency_key=key)

    payout = created(first)
    assert first.headers["Location"] == f"{PAYOUTS}/{payout['id']}"
    assert "Idempotent-Replayed" not in first.headers
    assert payout["seller_id"] == seller_id and payout["kind"] == "on_demand"
    assert payout["source"]["amount_minor"] == 20_000 and payout["amount"]["currency"] == "EUR"
    # the first payout to a new bank account always waits for an approver
    assert payout["status"] == "pending"
    assert payout["approval_reasons"] == ["first_payout_to_bank_account"]
    iban = IBANS[sum(seller_id.encode()) % len(IBANS)]  # the one funded_seller chose
    assert payout["bank_account"] == f"•••• {iban[-4:]}"  # masked, never the number
    assert available_shown(client, keys, seller_id) == 30_000

    replay = post_payout(client, keys, "seller", body, idempotency_key=key)
    assert replay.status_code == 200, replay.text
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == payout["id"]
    assert available_shown(client, keys, seller_id) == 30_000  # paid once

    other_body = payout_body(seller_id, amount_minor=20_001, description="weekly")
    reused = post_payout(client, keys, "seller", other_body, idempotency_key=key)
    assert_problem(reused, 409, "idempotency_key_reused")
    assert available_shown(client, keys, seller_id) == 30_000


def test_the_whole_available_balance_is_paid_when_no_amount_is_given(
    client: TestClient, keys: Keys, db: Database, clock: FixedClock, seller_id: str
) -> None:
    funded_seller(db, clock, seller_id, available_minor=12_345)
    payout = created(post_payout(client, keys, "seller", payout_body(seller_id)))
    assert payout["source"] == {
        "amount_minor": 12_345, "currency": "EUR", "exponent": 2, "amount": "123.45"
    }  # fmt: skip
    assert available_shown(client, keys, seller_id) == 0
    empty = post_payout(client, keys, "seller", payout_body(seller_id))
    assert_problem(empty, 422, "nothing_available")


def test_another_sellers_key_cannot_ask_for_this_sellers_money(
    client: TestClient, keys: Keys, db: Database, clock: FixedClock, seller_id: str
) -> None:
    funded_seller(db, clock, seller_id, available_minor=5_000)
    response = post_payout(client, keys, "other_seller", payout_body(seller_id))
    assert_problem(response, 404, "seller_not_found")
    assert available_shown(client, keys, seller_id) == 5_000


def test_an_operator_makes_a_manual_payout_that_waits_for_an_approver(
    client: TestClient, keys: Keys, db: Database, clock: FixedClock, seller_id: str
) -> None:
    funded_seller(db, clock, seller_id, available_minor=9_000)
    body = payout_body(seller_id, kind="manual", description="goodwill")
    payout = created(post_payout(client, keys, "operator", body))
    assert payout["status"] == "pending" and payout["kind"] == "manual"
    assert "manual_payout" in payout["approval_reasons"]
    assert payout["requested_by"] == actor_of_key(keys, "operator")
    # the operator cannot approve it: the role does not grant payouts:approve
    assert_problem(decide(client, keys, "operator", payout["id"], "approve"), 403,
                   "permission_required")  # fmt: skip


def test_a_seller_key_cannot_make_a_manual_payout_even_for_itself(
    client: TestClient, keys: Keys, db: Database, clock: FixedClock, seller_id: str
) -> None:
    funded_seller(db, clock, seller_id, available_minor=9_000)
    response = post_payout(client, keys, "seller", payout_body(seller_id, kind="manual"))
    assert_problem(response, 403, "permission_required")
    assert available_shown(client, keys, seller_id) == 9_000


def test_a_payout_above_the_available_balance_is_refused_and_nothing_moves(
    client: TestClient, keys: Keys, db: Database, clock: FixedClock, seller_id: str
) -> None:
    funded_seller(db, clock, seller_id, available_minor=5_000)
    response = post_payout(client, keys, "seller", payout_body(seller_id, amount_minor=5_001))
    body = assert_problem(response, 422, "insufficient_available")
    assert body["available_minor"] == 5_000
    assert available_shown(client, keys, seller_id) == 5_000
    listed = client.get(PAYOUTS, headers=keys.of("seller")).json()
    assert listed["data"] == []


def test_a_negative_balance_is_recovered_before_any_payout(
    client: TestClient, keys: Keys, db: Database, clock: FixedClock, seller_id: str
) -> None:
    funded_seller(db, clock, seller_id, available_minor=1_000)
    debit(db, clock, seller_id, Money(1_500, "EUR"), key="refund")
    response = post_payout(client, keys, "seller", payout_body(seller_id))
    assert_problem(response, 422, "negative_balance")


def test_a_payout_for_a_seller_that_does_not_exist(
    client: TestClient, keys: Keys, other_seller_id: str
) -> None:
    """A seller's key learns nothing (404); an operator, who may pay any seller, is told there
    is nothing to pay: an unknown seller has no balance (422 insufficient_available when an
    amount is asked for, else payouts_disabled: there is no seller to enable)."""
    unknown = f"sel_{uuid.uuid4().hex}"
    as_seller = post_payout(client, keys, "seller", payout_body(unknown))
    assert_problem(as_seller, 404, "seller_not_found")
    with_amount = post_payout(client, keys, "operator", payout_body(unknown, amount_minor=100))
    assert_problem(with_amount, 422, "insufficient_available")
    whole = post_payout(client, keys, "operator", payout_body(unknown))
    assert_problem(whole, 422, "payouts_disabled")


def test_a_bank_account_in_cool_down_is_not_paid(
    client: TestClient, keys: Keys, db: Database, clock: FixedClock, seller_id: str
) -> None:
    funded_seller(db, clock, seller_id, available_minor=5_000, cooled=False)
    response = post_payout(client, keys, "seller", payout_body(seller_id))
    body = assert_problem(response, 422, "bank_account_in_cooldown")
    assert "cool-down until" in body["detail"]
    assert available_shown(client, keys, seller_id) == 5_000


def test_a_payout_without_an_idempotency_key_is_refused(
    client: TestClient, keys: Keys, db: Database, clock: FixedClock, seller_id: str
) -> None:
    funded_seller(db, clock, seller_id, available_minor=5_000)
    response = client.post(PAYOUTS, json=payout_body(seller_id), headers=keys.of("seller"))
    assert_problem(response, 422, "idempotency_key_required", field="header.Idempotency-Key")
    assert available_shown(client, keys, seller_id) == 5_000


# --- approvals -------------------------------------------------------------------------------


def _pending(client: TestClient, keys: Keys, seller_id: str, who: str = "seller") -> str:
    payout = created(post_payout(client, keys, who, payout_body(seller_id)))
    assert payout["status"] == "pending"
    payout_id: str = payout["id"]
    return payout_id


def test_an_approver_approves_once_and_the_approval_is_audited(
    client: TestClient, keys: Keys, db: Database, clock: FixedClock, seller_id: str
) -> None:
    funded_seller(db, clock, seller_id, available_minor=7_000)
    payout_id = _pending(client, keys, seller_id)

    approved = decide(client, keys, "approver", payout_id, "approve")

    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert approved.json()["approved_by"] == actor_of_key(keys, "approver")
    assert_problem(decide(client, keys, "approver", payout_id, "approve"), 409,
                   "invalid_transition")  # fmt: skip
    audit = client.get(
        "/v1/audit",
        params={"subject_type": "payout", "subject_id": payout_id},
        headers=keys.of("approver"),
    )
    assert audit.status_code == 200, audit.text
    (record,) = audit.json()["records"]
    assert record["action"] == "payout.approved"
    assert record["actor"] == actor_of_key(keys, "approver")
    assert record["before"] == {"status": "pending"}
    assert record["after"]["status"] == "approved"


def test_whoever_asked_for_a_payout_cannot_approve_it(
    client: TestClient, keys: Keys, db: Database, clock: FixedClock, seller_id: str
) -> None:
    funded_seller(db, clock, seller_id, available_minor=7_000)
    payout_id = _pending(client, keys, seller_id, who="admin")  # admins may create and approve
    assert_problem(decide(client, keys, "admin", payout_id, "approve"), 403,
                   "approver_is_requester")  # fmt: skip
    assert payout_of(client, keys, "admin", payout_id).json()["status"] == "pending"


def test_whoever_last_changed_the_bank_account_cannot_approve_a_payout_to_it(
    client: TestClient, keys: Keys, db: Database, clock: FixedClock, seller_id: str
) -> None:
    funded_seller(db, clock, seller_id, available_minor=7_000)
    change_bank_account(db, clock, seller_id, actor=actor_of_key(keys, "approver"))
    payout_id = _pending(client, keys, seller_id)
    assert_problem(decide(client, keys, "approver", payout_id, "approve"), 403,
                   "approver_changed_bank_account")  # fmt: skip
    assert decide(client, keys, "admin", payout_id, "approve").json()["status"] == "approved"


@pytest.mark.parametrize("who", ["seller", "other_seller"])
def test_a_seller_key_cannot_approve_or_reject_a_payout(
    client: TestClient, keys: Keys, db: Database, clock: FixedClock, seller_id: str, who: str
) -> None:
    """Refused by permission before the payout is read: the same 403 for one's own payout
    and another seller's, so it tells another seller nothing."""
    funded_seller(db, clock, seller_id, available_minor=7_000)
    payout_id = _pending(client, keys, seller_id)
    for action in ("approve", "reject"):
        assert_problem(decide(client, keys, who, payout_id, action), 403, "permission_required")
    assert payout_of(client, keys, "seller", payout_id).json()["status"] == "pending"


def test_a_rejected_payout_gives_the_money_back(
    client: TestClient, keys: Keys, db: Database, clock: FixedClock, seller_id: str
) -> None:
    funded_seller(db, clock, seller_id, available_minor=8_000)
    payout_id = _pending(client, keys, seller_id)
    assert available_shown(client, keys, seller_id) == 0

    rejected = decide(client, keys, "approver", payout_id, "reject")

    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "canceled"
    assert available_shown(client, keys, seller_id) == 8_000
    assert_problem(decide(client, keys, "approver", payout_id, "reject"), 409,
                   "invalid_transition")  # fmt: skip
    assert available_shown(client, keys, seller_id) == 8_000  # given back once


def test_a_seller_cancels_its_own_payout_and_gets_the_money_back_but_not_anothers(
    client: TestClient, keys: Keys, db: Database, clock: FixedClock, seller_id: str
) -> None:
    funded_seller(db, clock, seller_id, available_minor=6_000)
    payout_id = _pending(client, keys, seller_id)
    assert_problem(decide(client, keys, "other_seller", payout_id, "cancel"), 404,
                   "payout_not_found")  # fmt: skip
    assert_problem(decide(client, keys, "approver", payout_id, "cancel"), 403,
                   "permission_required")  # fmt: skip

    canceled = decide(client, keys, "seller", payout_id, "cancel")

    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["status"] == "canceled"
    assert available_shown(client, keys, seller_id) == 6_000


def test_an_approved_payout_can_still_be_canceled_by_an_operator(
    client: TestClient, keys: Keys, db: Database, clock: FixedClock, seller_id: str
) -> None:
    funded_seller(db, clock, seller_id, available_minor=4_000)
    payout_id = _pending(client, keys, seller_id)
    assert decide(client, keys, "approver", payout_id, "approve").status_code == 200
    canceled = decide(client, keys, "operator", payout_id, "cancel")
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["status"] == "canceled"
    assert available_shown(client, keys, seller_id) == 4_000


# --- reading ---------------------------------------------------------------------------------


def test_a_seller_lists_only_its_own_payouts_a_page_at_a_time(
    client: TestClient,
    keys: Keys,
    db: Database,
    clock: FixedClock,
    seller_id: str,
    other_seller_id: str,
) -> None:
    funded_seller(db, clock, seller_id, available_minor=5_000)
    funded_seller(db, clock, other_seller_id, available_minor=5_000)
    mine = [
        created(post_payout(client, keys, "seller", payout_body(seller_id, amount_minor=1_000)))
        for _ in range(5)
    ]
    theirs = created(post_payout(client, keys, "other_seller", payout_body(other_seller_id)))

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        # a seller's key lists its own payouts whatever seller_id it asks for
        params["seller_id"] = other_seller_id
        response = client.get(PAYOUTS, params=params, headers=keys.of("seller"))
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [p["id"] for p in page["data"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [p["id"] for p in reversed(mine)]  # newest first, each once
    assert theirs["id"] not in seen
    assert_problem(payout_of(client, keys, "seller", theirs["id"]), 404, "payout_not_found")
    staff = client.get(PAYOUTS, params={"seller_id": other_seller_id}, headers=keys.of("risk"))
    assert [p["id"] for p in staff.json()["data"]] == [theirs["id"]]


def test_staff_without_payouts_read_cannot_list_or_read_payouts(
    client: TestClient, keys: Keys, db: Database, clock: FixedClock, seller_id: str
) -> None:
    funded_seller(db, clock, seller_id, available_minor=5_000)
    payout_id = _pending(client, keys, seller_id)
    assert_problem(client.get(PAYOUTS, headers=keys.of("compliance")), 403, "permission_required")
    assert_problem(payout_of(client, keys, "compliance", payout_id), 403, "permission_required")
    assert payout_of(client, keys, "finance", payout_id).json()["id"] == payout_id


def test_a_composition_sums_to_what_left_the_balance(
    client: TestClient, keys: Keys, db: Database, clock: FixedClock, seller_id: str
) -> None:
    funded_seller(db, clock, seller_id, available_minor=5_000)
    credit(db, clock, seller_id, Money(7_000, "EUR"), key="order-2")
    debit(db, clock, seller_id, Money(1_000, "EUR"), key="refund-1")
    first = created(post_payout(client, keys, "seller", payout_body(seller_id, amount_minor=8_000)))
    second = created(post_payout(client, keys, "seller", payout_body(seller_id)))

    for payout, expected in (
        (first, [("order.released", 5_000, False), ("order.released", 3_000, True)]),
        (second, [("order.released", 4_000, True), ("refund", -1_000, False)]),
    ):
        response = client.get(f"{PAYOUTS}/{payout['id']}/composition", headers=keys.of("seller"))
        assert response.status_code == 200, response.text
        composition = response.json()
        lines = composition["lines"]
        assert [(x["kind"], x["amount"]["amount_minor"], x["partial"]) for x in lines] == expected
        assert composition["amount"] == payout["source"]
        total = sum(line["amount"]["amount_minor"] for line in lines)
        assert total == payout["source"]["amount_minor"]
    composition_url = f"{PAYOUTS}/{first['id']}/composition"
    assert_problem(client.get(composition_url, headers=keys.of("other_seller")), 404,
                   "payout_not_found")  # fmt: skip


def test_an_unknown_payout_is_not_found_for_everyone(client: TestClient, keys: Keys) -> None:
    missing = f"po_{uuid.uuid4().hex}"
    for who in ("seller", "operator"):
        assert_problem(payout_of(client, keys, who, missing), 404, "payout_not_found")
        composition = client.get(f"{PAYOUTS}/{missing}/composition", headers=keys.of(who))
        assert_problem(composition, 404, "payout_not_found")
    assert_problem(decide(client, keys, "approver", missing, "approve"), 404, "payout_not_found")


# --- schedules -------------------------------------------------------------------------------


def schedule_url(seller_id: str, currency: str = "EUR") -> str:
    return f"/v1/sellers/{seller_id}/payout-schedules/{currency}"


def test_a_seller_reads_its_default_schedule_then_sets_a_weekly_one(
    client: TestClient, keys: Keys, db: Database, clock: FixedClock, seller_id: str
) -> None:
    create_seller(db, seller_id=seller_id, legal_name="Acme", country="FR", clock=clock)
    default = client.get(schedule_url(seller_id, "eur"), headers=keys.of("seller"))
    assert default.status_code == 200, default.text
    assert default.json()["interval"] == "daily"
    assert default.json()["minimum"]["amount_minor"] == 100

    body = {"interval": "weekly", "weekday": 4, "minimum_minor": 5_000}
    response = client.put(schedule_url(seller_id), json=body, headers=keys.of("seller"))

    assert response.status_code == 200, response.text
    again = client.get(schedule_url(seller_id), headers=keys.of("operator")).json()
    assert again == response.json()
    assert (again["interval"], again["weekday"], again["day_of_month"]) == ("weekly", 4, None)
    assert again["minimum"]["amount_minor"] == 5_000
    other = client.get(schedule_url(seller_id), headers=keys.of("other_seller"))
    assert_problem(other, 404, "seller_not_found")
    put_other = client.put(schedule_url(seller_id), json=body, headers=keys.of("other_seller"))
    assert_problem(put_other, 404, "seller_not_found")
    assert_problem(client.put(schedule_url(seller_id), json=body, headers=keys.of("risk")), 403,
                   "permission_required")  # fmt: skip


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"interval": "weekly"}, "invalid_payout_schedule", "weekday"),
        ({"interval": "daily", "weekday": 2}, "invalid_payout_schedule", "weekday"),
        ({"interval": "monthly"}, "invalid_payout_schedule", "day_of_month"),
        ({"interval": "weekly", "day_of_month": 3, "weekday": 1}, "invalid_payout_schedule",
         "day_of_month"),
        ({"interval": "weekly", "weekday": 7}, "invalid_request", "body.weekday"),
        ({"interval": "monthly", "day_of_month": 32}, "invalid_request", "body.day_of_month"),
        ({"interval": "hourly"}, "invalid_request", "body.interval"),
        ({"interval": "daily", "minimum_minor": -1}, "invalid_request", "body.minimum_minor"),
        ({"interval": "daily", "minimum_minor": "1.5"}, "invalid_request", "body.minimum_minor"),
        ({"interval": "daily", "extra": 1}, "invalid_request", "body.extra"),
        ({}, "invalid_request", "body.interval"),
    ],
)  # fmt: skip
def test_a_schedule_that_does_not_fit_together_is_refused_naming_the_field(
    client: TestClient,
    keys: Keys,
    db: Database,
    clock: FixedClock,
    seller_id: str,
    body: dict[str, Any],
    code: str,
    field: str,
) -> None:
    create_seller(db, seller_id=seller_id, legal_name="Acme", country="FR", clock=clock)
    response = client.put(schedule_url(seller_id), json=body, headers=keys.of("seller"))
    assert_problem(response, 422, code, field=field)
    assert client.get(schedule_url(seller_id), headers=keys.of("seller")).json()["interval"] == (
        "daily"
    )


@pytest.mark.parametrize(
    ("currency", "code"),
    [("EU", "invalid_currency"), ("EURO", "invalid_currency"), ("€€€", "invalid_currency"),
     ("12A", "invalid_currency"), ("XXQ", "unknown_currency")],
)  # fmt: skip
def test_a_schedule_in_no_currency_is_refused(
    client: TestClient, keys: Keys, seller_id: str, currency: str, code: str
) -> None:
    for method in ("GET", "PUT"):
        response = client.request(
            method,
            schedule_url(seller_id, currency),
            json={"interval": "daily"},
            headers=keys.of("seller"),
        )
        assert_problem(response, 422, code)
