"""Payout runs over HTTP, each on a database of its own (a run walks every seller balance):
an operator runs a day's schedule and reads the counts, the payouts and why the others were
not paid; a seller reads its own skips and nobody else's."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from payouts_api_builders import PAYOUTS, RUNS, api_client, available_shown
from payouts_builders import assert_ledger_sound, funded_seller

from http_support import Keys, assert_problem, role_keys
from sellerpay.clock import FixedClock
from sellerpay.db import Database


@pytest.fixture
def other_seller_id() -> str:
    return f"sel_{uuid.uuid4().hex}"


@pytest.fixture
def client(fresh_db: Database, clock: FixedClock) -> Iterator[TestClient]:
    with api_client(fresh_db, clock) as test_client:
        yield test_client


@pytest.fixture
def keys(fresh_db: Database, clock: FixedClock, seller_id: str, other_seller_id: str) -> Keys:
    return role_keys(fresh_db, clock, seller_id=seller_id, other_seller_id=other_seller_id)


def start_run(client: TestClient, keys: Keys, body: dict[str, Any], who: str = "operator") -> Any:
    return client.post(RUNS, json=body, headers=keys.of(who))


def skips_of(client: TestClient, keys: Keys, who: str, seller_id: str) -> Any:
    return client.get(f"/v1/sellers/{seller_id}/payout-skips", headers=keys.of(who))


def test_an_operator_runs_the_day_and_reads_who_was_paid_and_why_not_the_others(
    client: TestClient,
    keys: Keys,
    fresh_db: Database,
    clock: FixedClock,
    seller_id: str,
    other_seller_id: str,
) -> None:
    db = fresh_db
    funded_seller(db, clock, seller_id, available_minor=8_000, cooled=False)  # skipped
    funded_seller(db, clock, other_seller_id, available_minor=10_000)  # paid
    funded_seller(db, clock, f"sel_{uuid.uuid4().hex}", available_minor=99)  # below minimum
    day = clock.now().date().isoformat()

    response = start_run(client, keys, {"run_on": day})

    assert response.status_code == 200, response.text
    run = response.json()
    assert run["run_key"] == f"scheduled:{day}" and run["run_on"] == day
    assert run["status"] == "completed"
    assert (run["due_count"], run["payout_count"], run["skip_count"]) == (3, 1, 2)
    assert run["totals"] == {"EUR": 10_000}
    assert run["skips_by_reason"] == {"bank_account_in_cooldown": 1, "below_minimum": 1}

    paid = client.get(PAYOUTS, params={"run_id": run["id"]}, headers=keys.of("operator")).json()
    (payout,) = paid["data"]
    assert payout["seller_id"] == other_seller_id and payout["kind"] == "scheduled"
    assert payout["source"]["amount_minor"] == 10_000 and payout["run_id"] == run["id"]

    read = client.get(f"{RUNS}/{run['id']}", headers=keys.of("risk"))
    assert read.status_code == 200 and read.json() == run
    skips = client.get(f"{RUNS}/{run['id']}/skips", headers=keys.of("operator")).json()["data"]
    assert sorted(s["reason"] for s in skips) == ["bank_account_in_cooldown", "below_minimum"]
    assert all(s["run_id"] == run["id"] for s in skips)

    # the same day again is the same run: nobody is paid twice
    again = start_run(client, keys, {"run_on": day})
    assert again.status_code == 200 and again.json() == run
    assert available_shown(client, keys, seller_id) == 8_000
    assert_ledger_sound(db)


def test_a_seller_reads_why_it_was_not_paid_and_nobody_elses_skips(
    client: TestClient,
    keys: Keys,
    fresh_db: Database,
    clock: FixedClock,
    seller_id: str,
    other_seller_id: str,
) -> None:
    funded_seller(fresh_db, clock, seller_id, available_minor=8_000, cooled=False)
    funded_seller(fresh_db, clock, other_seller_id, available_minor=50)
    run = start_run(client, keys, {"run_on": clock.now().date().isoformat()}).json()

    mine = skips_of(client, keys, "seller", seller_id)

    assert mine.status_code == 200, mine.text
    (skip,) = mine.json()["data"]
    assert (skip["run_id"], skip["seller_id"], skip["currency"]) == (run["id"], seller_id, "EUR")
    assert skip["reason"] == "bank_account_in_cooldown"
    assert skip["detail"].startswith("bank account in cool-down until")
    assert skip["available"]["amount_minor"] == 8_000
    assert_problem(skips_of(client, keys, "other_seller", seller_id), 404, "seller_not_found")
    theirs = skips_of(client, keys, "other_seller", other_seller_id).json()["data"]
    assert [s["reason"] for s in theirs] == ["below_minimum"]
    assert skips_of(client, keys, "finance", seller_id).json()["data"] == [skip]
    assert_problem(skips_of(client, keys, "compliance", seller_id), 403, "permission_required")


def test_a_run_key_runs_once_and_another_key_runs_again(
    client: TestClient, keys: Keys, fresh_db: Database, clock: FixedClock, seller_id: str
) -> None:
    funded_seller(fresh_db, clock, seller_id, available_minor=8_000, cooled=False)
    day = clock.now().date().isoformat()
    first = start_run(client, keys, {"run_on": day, "run_key": "retry-1"}).json()
    second = start_run(client, keys, {"run_on": day, "run_key": "retry-2"}).json()
    assert first["id"] != second["id"]
    assert first["run_key"] == "retry-1" and second["run_key"] == "retry-2"
    assert start_run(client, keys, {"run_on": day, "run_key": "retry-1"}).json() == first
    reasons = [s["reason"] for s in skips_of(client, keys, "seller", seller_id).json()["data"]]
    assert reasons == ["bank_account_in_cooldown", "bank_account_in_cooldown"]


@pytest.mark.parametrize("who", ["seller", "approver", "finance", "marketplace"])
def test_only_roles_with_payouts_run_start_a_run(
    client: TestClient, keys: Keys, clock: FixedClock, who: str
) -> None:
    response = start_run(client, keys, {"run_on": clock.now().date().isoformat()}, who=who)
    assert_problem(response, 403, "permission_required")


def test_runs_and_their_skips_are_not_for_sellers(
    client: TestClient, keys: Keys, clock: FixedClock
) -> None:
    run = start_run(client, keys, {"run_on": clock.now().date().isoformat()}).json()
    assert run["due_count"] == 0  # nothing to pay in an empty database
    for path in (f"{RUNS}/{run['id']}", f"{RUNS}/{run['id']}/skips"):
        assert_problem(client.get(path, headers=keys.of("seller")), 403, "permission_required")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body.run_on"),
        ({"run_on": "2026-02-30"}, "body.run_on"),
        ({"run_on": "tomorrow"}, "body.run_on"),
        ({"run_on": "2026-01-05", "run_key": ""}, "body.run_key"),
        ({"run_on": "2026-01-05", "run_key": "k" * 201}, "body.run_key"),
        ({"run_on": "2026-01-05", "chunk_size": 5}, "body.chunk_size"),
    ],
)
def test_a_run_asked_for_badly_is_refused_naming_the_field(
    client: TestClient, keys: Keys, body: dict[str, Any], field: str
) -> None:
    assert_problem(start_run(client, keys, body), 422, "invalid_request", field=field)
    listed = client.get(PAYOUTS, headers=keys.of("operator"))
    assert listed.json()["data"] == []


def test_an_unknown_run_is_not_found(client: TestClient, keys: Keys) -> None:
    missing = f"run_{uuid.uuid4().hex}"
    assert_problem(client.get(f"{RUNS}/{missing}", headers=keys.of("operator")), 404,
                   "payout_run_not_found")  # fmt: skip
    too_long = client.get(f"{RUNS}/{'r' * 300}", headers=keys.of("operator"))
    assert_problem(too_long, 404, "payout_run_not_found")
