"""Money in over HTTP: events in (one or a batch, per-event problems inline), the event log,
replays, adjustment approvals with four eyes, fee plans, orders; every bad input answers a
precise problem, and a seller never sees another seller's order."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from settlement_builders import PROBLEM, Keys, adjustment, paid, refunded, seller_balances, unique

from http_support import assert_problem
from sellerpay.db import Database
from sellerpay.settings import Settings, get_settings

EVENTS = "/v1/marketplace/events"


def send(client: TestClient, keys: Keys, body: Any, who: str = "marketplace") -> Any:
    return client.post(EVENTS, json=body, headers=keys.of(who))


# --- events in -----------------------------------------------------------------------------


def test_one_event_is_applied_and_answered_with_its_result(
    client: TestClient, keys: Keys, seller: str, db: Database
) -> None:
    event = paid(unique("ord"), seller)

    response = send(client, keys, event)

    assert response.status_code == 200
    assert response.json() == {
        "results": [
            {"event_id": event["id"], "status": "applied", "reason_code": None, "reason": None,
             "waiting_for": None, "problem": None}
        ]
    }  # fmt: skip
    assert seller_balances(db, seller).pending == 8_770


def test_a_batch_answers_each_event_in_order_with_problems_inline(
    client: TestClient, keys: Keys, seller: str
) -> None:
    order_id = unique("ord")
    bad = paid(unique("ord"), seller)
    bad["data"]["lines"][0]["amount"] = "12.345"
    del bad["data"]["lines"][0]["amount_minor"]
    events = [
        refunded(order_id, "r1", amount_minor=100),
        paid(order_id, seller),
        bad,
        refunded(order_id, "r2", amount_minor=10_000),
    ]

    response = send(client, keys, {"events": events})

    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["applied", "applied", "rejected", "rejected"]
    problem = results[2]["problem"]
    assert problem["code"] == "too_many_decimals"
    assert problem["type"] == "https://sellerpay.dev/problems/too_many_decimals"
    assert (problem["status"], problem["instance"], problem["event_id"]) == (422, EVENTS, bad["id"])
    assert results[3]["problem"]["code"] == "over_refund"
    assert results[0]["problem"] is None


def test_a_parked_event_says_what_it_waits_for(client: TestClient, keys: Keys) -> None:
    newcomer = unique("sel")  # a seller the marketplace has not created here yet

    response = send(client, keys, paid(unique("ord"), newcomer))

    (result,) = response.json()["results"]
    assert (result["status"], result["reason_code"]) == ("parked", "unknown_seller")
    assert result["waiting_for"] == f"seller:{newcomer}"


def test_a_batch_over_the_limit_is_refused_whole(
    app: FastAPI, client: TestClient, keys: Keys, seller: str
) -> None:
    app.dependency_overrides[get_settings] = lambda: Settings(api_batch_size_max=2)
    events = [paid(unique("ord"), seller) for _ in range(3)]

    response = send(client, keys, {"events": events})

    body = assert_problem(response, 413, "batch_size_max")
    assert (body["limit"], body["size"]) == (2, 3)


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ([{"id": "e1"}], "invalid_request", "body"),
        ("an event", "invalid_request", "body"),
        ({"events": {"id": "e1"}}, "invalid_request", "body.events"),
    ],
)
def test_a_body_that_is_neither_an_event_nor_a_batch_is_refused(
    client: TestClient, keys: Keys, body: Any, code: str, field: str
) -> None:
    assert_problem(send(client, keys, body), 422, code, field=field)


def test_a_body_that_is_not_json_is_refused(client: TestClient, keys: Keys) -> None:
    response = client.post(
        EVENTS,
        content=b'{"id": "e1",',
        headers={**keys.of("marketplace"), "Content-Type": "application/json"},
    )

    assert_problem(response, 422, "invalid_request")


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [("seller", 403, "permission_required"), ("operator", 403, "permission_required")],
)
def test_only_the_marketplace_sends_events(
    client: TestClient, keys: Keys, seller: str, who: str, status: int, code: str
) -> None:
    assert_problem(send(client, keys, paid(unique("ord"), seller), who), status, code)


def test_events_without_a_key_are_refused(client: TestClient) -> None:
    assert_problem(client.post(EVENTS, json={}), 401, "api_key_required")


# --- the event log and replays ---------------------------------------------------------------


def test_operators_list_parked_events_and_read_one_with_its_conflicting_bodies(
    client: TestClient, keys: Keys, seller: str
) -> None:
    refund = refunded(unique("ord"), "r1", amount_minor=100)
    send(client, keys, refund)
    send(client, keys, {**refund, "data": {**refund["data"], "amount_minor": 999}})

    listed = client.get(
        EVENTS,
        params={"status": "parked", "type": "order.refunded", "limit": 500},
        headers=keys.of("operator"),
    )
    one = client.get(f"{EVENTS}/{refund['id']}", headers=keys.of("operator"))

    assert listed.status_code == 200
    assert refund["id"] in [e["id"] for e in listed.json()["events"]]
    assert one.status_code == 200
    body = one.json()
    assert (body["status"], body["waiting_for"], body["body"]) == (
        "parked",
        f"order:{refund['data']['order_id']}",
        refund,
    )
    assert [c["body"]["data"]["amount_minor"] for c in body["conflicting_bodies"]] == [999]


def test_the_event_log_pages_with_an_opaque_cursor(client: TestClient, keys: Keys) -> None:
    for index in range(3):
        send(client, keys, refunded(unique("ord"), f"r{index}", amount_minor=1))

    first = client.get(
        EVENTS, params={"status": "parked", "limit": 2}, headers=keys.of("operator")
    ).json()
    second = client.get(
        EVENTS,
        params={"status": "parked", "limit": 2, "cursor": first["next_cursor"]},
        headers=keys.of("operator"),
    ).json()

    assert first["next_cursor"]
    assert not {e["id"] for e in first["events"]} & {e["id"] for e in second["events"]}


@pytest.mark.parametrize(
    ("params", "code", "field"),
    [
        ({"status": "lost"}, "invalid_request", "query.status"),
        ({"limit": 0}, "invalid_request", "query.limit"),
        ({"limit": 501}, "invalid_request", "query.limit"),
        ({"cursor": "not-ours"}, "invalid_cursor", "query.cursor"),
        ({"cursor": "djE6bm90LWEtdGltZXxlMQ"}, "invalid_cursor", "query.cursor"),
        ({"type": "x" * 65}, "invalid_request", "query.type"),
    ],
)
def test_bad_event_log_queries_are_refused(
    client: TestClient, keys: Keys, params: dict[str, Any], code: str, field: str
) -> None:
    assert_problem(
        client.get(EVENTS, params=params, headers=keys.of("operator")), 422, code, field=field
    )


def test_the_event_log_is_for_operators_not_the_marketplace_nor_sellers(
    client: TestClient, keys: Keys
) -> None:
    assert_problem(client.get(EVENTS, headers=keys.of("marketplace")), 403, "permission_required")
    assert_problem(
        client.get(f"{EVENTS}/e1", headers=keys.of("seller")), 403, "permission_required"
    )


def test_an_unknown_event_is_404(client: TestClient, keys: Keys) -> None:
    assert_problem(
        client.get(f"{EVENTS}/{unique('evt')}", headers=keys.of("operator")), 404, "event_not_found"
    )
    assert_problem(
        client.post(f"{EVENTS}/{unique('evt')}/replay", headers=keys.of("operator")),
        404,
        "event_not_found",
    )
    assert_problem(
        client.get(f"{EVENTS}/{'x' * 101}", headers=keys.of("operator")), 422, "invalid_request"
    )


def test_an_operator_replays_a_parked_event_but_not_an_applied_one(
    client: TestClient, keys: Keys, seller: str
) -> None:
    order_id = unique("ord")
    refund, payment = refunded(order_id, "r1", amount_minor=100), paid(order_id, seller)
    send(client, keys, refund)

    replayed = client.post(f"{EVENTS}/{refund['id']}/replay", headers=keys.of("operator"))
    send(client, keys, payment)
    refused = client.post(f"{EVENTS}/{payment['id']}/replay", headers=keys.of("operator"))
    forbidden = client.post(f"{EVENTS}/{refund['id']}/replay", headers=keys.of("marketplace"))

    assert replayed.status_code == 200
    assert (replayed.json()["status"], replayed.json()["event_id"]) == ("parked", refund["id"])
    body = assert_problem(refused, 409, "event_not_replayable")
    assert body["status"] == 409
    assert_problem(forbidden, 403, "permission_required")


# --- adjustments ---------------------------------------------------------------------------


def adjustments_path(adjustment_id: str, decision: str = "approve") -> str:
    return f"/v1/marketplace/adjustments/{adjustment_id}/{decision}"


def test_a_large_adjustment_is_approved_by_someone_else_than_its_requester(
    client: TestClient, keys: Keys, seller: str, db: Database
) -> None:
    mine, theirs = unique("adj"), unique("adj")
    send(client, keys, adjustment(mine, seller, 60_000, requested_by=keys.approver_name))
    send(client, keys, adjustment(theirs, seller, 60_000, requested_by="alice"))

    own = client.post(adjustments_path(mine), headers=keys.of("approver"))
    approved = client.post(
        adjustments_path(theirs), json={"note": "ticket 42"}, headers=keys.of("approver")
    )
    again = client.post(adjustments_path(theirs), headers=keys.of("approver"))

    assert_problem(own, 403, "four_eyes")
    assert approved.status_code == 200
    body = approved.json()
    assert (body["status"], body["decided_by"], body["decision_note"]) == (
        "applied",
        keys.approver_name,
        "ticket 42",
    )
    assert body["amount"] == {
        "amount_minor": 60_000,
        "currency": "EUR",
        "exponent": 2,
        "amount": "600.00",
    }
    assert again.status_code == 200  # the same decision again replays
    assert seller_balances(db, seller).available == 60_000


def test_adjustment_decisions_refuse_unknown_ids_decided_ones_roles_and_long_notes(
    client: TestClient, keys: Keys, seller: str
) -> None:
    adjustment_id = unique("adj")
    send(client, keys, adjustment(adjustment_id, seller, 60_000))
    rejected = client.post(adjustments_path(adjustment_id, "reject"), headers=keys.of("approver"))

    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert_problem(
        client.post(adjustments_path(adjustment_id), headers=keys.of("approver")),
        409,
        "adjustment_not_awaiting_approval",
    )
    assert_problem(
        client.post(adjustments_path(unique("adj")), headers=keys.of("approver")),
        404,
        "adjustment_not_found",
    )
    assert_problem(
        client.post(adjustments_path(adjustment_id), headers=keys.of("operator")),
        403,
        "permission_required",
    )
    long_note = client.post(
        adjustments_path(adjustment_id), json={"note": "x" * 501}, headers=keys.of("approver")
    )
    assert_problem(long_note, 422, "invalid_request", field="body.note")


# --- fee plans -----------------------------------------------------------------------------


def plan_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "standard 2026",
        "effective_from": "2026-01-01T00:00:00+01:00",
        "rules": [
            {"bps": 1200},
            {"category": "laptops", "market": "FR", "bps": 800, "min_minor": {"EUR": 50}},
        ],
        "fixed_fee_per_order": {"EUR": 30},
        "refund_policy": "proportional",
    }
    return {**body, **changes}


def test_finance_creates_a_sellers_plan_version_and_reads_it_back(
    client: TestClient, keys: Keys, seller: str
) -> None:
    created = client.post(
        "/v1/fee-plans", json=plan_body(seller_id=seller), headers=keys.of("finance")
    )

    assert created.status_code == 201, created.text
    plan = created.json()
    assert created.headers["Location"] == f"/v1/fee-plans/{plan['id']}"
    assert (plan["seller_id"], plan["version"], plan["created_by"]) == (
        seller,
        2,
        "finance",
    )  # v1: the fixture's
    assert plan["effective_from"].startswith("2025-12-31T23:00:00")
    assert plan["fixed_fee_per_order"] == [
        {"amount_minor": 30, "currency": "EUR", "exponent": 2, "amount": "0.30"}
    ]
    assert plan["rules"][1] == {
        "category": "laptops",
        "market": "FR",
        "bps": 800,
        "min_minor": {"EUR": 50},
        "max_minor": {},
    }
    read = client.get(f"/v1/fee-plans/{plan['id']}", headers=keys.of("operator"))
    listed = client.get("/v1/fee-plans", params={"seller_id": seller}, headers=keys.of("operator"))
    assert read.json() == plan
    assert [p["version"] for p in listed.json()["fee_plans"]] == [1, 2]


def test_fee_plans_page_with_an_opaque_cursor(client: TestClient, keys: Keys, seller: str) -> None:
    for _ in range(2):
        client.post("/v1/fee-plans", json=plan_body(seller_id=seller), headers=keys.of("finance"))

    first = client.get(
        "/v1/fee-plans", params={"seller_id": seller, "limit": 2}, headers=keys.of("operator")
    ).json()
    rest = client.get(
        "/v1/fee-plans",
        params={"seller_id": seller, "cursor": first["next_cursor"]},
        headers=keys.of("operator"),
    ).json()

    assert [p["version"] for p in first["fee_plans"] + rest["fee_plans"]] == [1, 2, 3]
    assert rest["next_cursor"] is None


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"rules": []}, "invalid_request", "body.rules"),
        ({"rules": [{"bps": 10_001}]}, "invalid_request", "body.rules.0.bps"),
        ({"rules": [{"bps": 12.5}]}, "invalid_request", "body.rules.0.bps"),
        ({"rules": [{"bps": 100}, {"bps": 200}]}, "duplicate_fee_rule", None),
        (
            {"rules": [{"bps": 100, "min_minor": {"EUR": 9}, "max_minor": {"EUR": 8}}]},
            "invalid_fee_bounds",
            None,
        ),
        ({"rules": [{"bps": 100, "market": "France"}]}, "invalid_request", "body.rules.0.market"),
        ({"fixed_fee_per_order": {"EURO": 30}}, "invalid_request", None),
        ({"fixed_fee_per_order": {"XYZ": 30}}, "unknown_currency", None),
        ({"fixed_fee_per_order": {"EUR": -1}}, "invalid_request", None),
        ({"seller_id": "sel_doesnotexist0000"}, "unknown_seller", "body.seller_id"),
        ({"seller_id": "seller 42"}, "invalid_request", "body.seller_id"),
        ({"name": ""}, "invalid_request", "body.name"),
        ({"name": "x" * 101}, "invalid_request", "body.name"),
        ({"effective_from": "2026-01-01T00:00:00"}, "invalid_request", "body.effective_from"),
        ({"refund_policy": "never"}, "invalid_request", "body.refund_policy"),
        ({"surprise": 1}, "invalid_request", "body.surprise"),
    ],
)
def test_an_invalid_fee_plan_is_refused_with_a_precise_problem(
    client: TestClient, keys: Keys, changes: dict[str, Any], code: str, field: str | None
) -> None:
    response = client.post("/v1/fee-plans", json=plan_body(**changes), headers=keys.of("finance"))

    assert_problem(response, 422, code, field=field)


def test_fee_plans_are_written_by_finance_and_unknown_plans_are_404(
    client: TestClient, keys: Keys
) -> None:
    assert_problem(
        client.post("/v1/fee-plans", json=plan_body(), headers=keys.of("marketplace")),
        403,
        "permission_required",
    )
    assert_problem(
        client.get("/v1/fee-plans", headers=keys.of("seller")), 403, "permission_required"
    )
    assert_problem(
        client.get("/v1/fee-plans/fp_nope", headers=keys.of("operator")), 404, "fee_plan_not_found"
    )
    assert_problem(
        client.get("/v1/fee-plans", params={"cursor": "x"}, headers=keys.of("operator")),
        422,
        "invalid_cursor",
    )


# --- orders --------------------------------------------------------------------------------


def test_a_seller_reads_their_order_with_its_lines_fees_refunds_and_release(
    client: TestClient, keys: Keys, seller: str
) -> None:
    order_id = unique("ord")
    send(
        client,
        keys,
        {
            "events": [
                paid(order_id, seller, [("a", 6_000), ("b", 4_000, "laptops")]),
                refunded(order_id, "r1", lines={"b": 1_000}),
            ]
        },
    )

    response = client.get(f"/v1/orders/{order_id}", headers=keys.of("seller"))

    assert response.status_code == 200
    order = response.json()
    assert (order["status"], order["seller_id"]) == ("partially_refunded", seller)
    assert order["gross"]["amount"] == "100.00" and order["fee"]["amount"] == "10.70"
    a, b = order["lines"]
    assert (a["commission"]["amount_minor"], a["fixed_fee"]["amount_minor"], a["bps"]) == (
        720,
        18,
        1200,
    )
    assert (b["refunded"]["amount_minor"], b["fee_returned"]["amount_minor"]) == (1_000, 83)
    (refund,) = order["refunds"]
    assert (refund["refund_id"], refund["seller_share"]["amount_minor"]) == ("r1", 917)
    assert order["release_due_at"].startswith("2026-02-04") and order["released_at"] is None
    assert order["pending"]["amount_minor"] == 8_930 - 917


def test_another_sellers_order_is_404_as_if_it_did_not_exist(
    client: TestClient, keys: Keys, seller: str
) -> None:
    order_id = unique("ord")
    send(client, keys, paid(order_id, seller))

    theirs = client.get(f"/v1/orders/{order_id}", headers=keys.of("other_seller"))
    missing = client.get(f"/v1/orders/{unique('ord')}", headers=keys.of("other_seller"))

    assert_problem(theirs, 404, "order_not_found")
    assert theirs.json()["detail"] == missing.json()["detail"].replace(
        missing.request.url.path.rsplit("/", 1)[1], order_id
    )


def test_orders_are_read_by_roles_with_balances_read_only(
    client: TestClient, keys: Keys, seller: str
) -> None:
    order_id = unique("ord")
    send(client, keys, paid(order_id, seller))

    assert client.get(f"/v1/orders/{order_id}", headers=keys.of("marketplace")).status_code == 200
    assert client.get(f"/v1/orders/{order_id}", headers=keys.of("operator")).status_code == 200
    assert_problem(
        client.get(f"/v1/orders/{order_id}", headers=keys.of("compliance")),
        403,
        "permission_required",
    )
    assert_problem(
        client.get(f"/v1/orders/{'x' * 101}", headers=keys.of("operator")), 422, "invalid_request"
    )


def test_the_openapi_document_shows_every_event_type_as_a_union_on_type(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    body = document["paths"][EVENTS]["post"]["requestBody"]["content"]["application/json"]["schema"]
    events = document["components"]["schemas"]["EventsIn"]

    assert body == {"$ref": "#/components/schemas/EventsIn"}
    union = events["anyOf"][0]
    assert set(union["discriminator"]["mapping"]) == {
        "order.paid", "order.shipped", "order.delivered", "order.refunded", "dispute.opened",
        "dispute.won", "dispute.lost", "adjustment",
    }  # fmt: skip
    line = document["components"]["schemas"]["OrderLineIn"]["properties"]
    assert (
        next(s for s in line["amount_minor"]["anyOf"] if s.get("type") == "integer")[
            "exclusiveMinimum"
        ]
        == 0
    )
    assert document["paths"][EVENTS]["post"]["responses"]["413"]["content"] == {
        PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}
    }
