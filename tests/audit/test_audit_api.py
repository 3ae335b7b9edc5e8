"""GET /v1/audit: who may read the trail, exact filters, newest first, a page at a time."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from audit_builders import record
from fastapi.testclient import TestClient

from http_support import Keys, assert_problem, role_keys
from sellerpay.api import create_app
from sellerpay.api.pagination import encode_cursor
from sellerpay.clock import FixedClock
from sellerpay.db import Database

URL = "/v1/audit"


@pytest.fixture
def client(db: Database, clock: FixedClock) -> Iterator[TestClient]:
    with TestClient(create_app(db=db, clock=clock)) as test_client:
        yield test_client


@pytest.fixture
def keys(db: Database, clock: FixedClock, seller_id: str) -> Keys:
    return role_keys(db, clock, seller_id=seller_id, other_seller_id=f"sel_{uuid.uuid4().hex}")


@pytest.fixture
def subject_id(db: Database) -> str:
    """A subject with three audit records of its own (numbers 0, 1, 2)."""
    subject = f"sel_{uuid.uuid4().hex}"
    for number in range(3):
        db.run(lambda conn, n=number: record(conn, n, subject_id=subject))
    return subject


@pytest.mark.parametrize("who", ["compliance", "admin", "finance", "approver"])
def test_roles_with_audit_read_read_a_subjects_trail_newest_first(
    client: TestClient, keys: Keys, subject_id: str, who: str
) -> None:
    response = client.get(
        URL, params={"subject_type": "seller", "subject_id": subject_id}, headers=keys.of(who)
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert [r["after"]["version"] for r in body["records"]] == [3, 2, 1]
    assert body["next_cursor"] is None
    newest = body["records"][0]
    assert newest["actor"] == "key:3f9a1c2b4d5e6f70 (ops desk, admin)"
    assert newest["action"] == "seller.status_changed"
    assert newest["source_ip"] == "203.0.113.7" and newest["request_id"] == "req_2"
    assert newest["at"] == "2026-11-26T09:30:02.123456Z"
    assert newest["seq"] > body["records"][1]["seq"] and len(newest["hash"]) == 64


@pytest.mark.parametrize("who", ["operator", "risk", "marketplace", "seller"])
def test_other_roles_may_not_read_the_trail(client: TestClient, keys: Keys, who: str) -> None:
    assert_problem(client.get(URL, headers=keys.of(who)), 403, "permission_required")


def test_the_trail_needs_an_api_key(client: TestClient) -> None:
    assert_problem(client.get(URL), 401, "api_key_required")


def test_pages_follow_the_cursor_to_the_oldest_record(
    client: TestClient, keys: Keys, subject_id: str
) -> None:
    query = {"subject_type": "seller", "subject_id": subject_id, "limit": 2}

    first = client.get(URL, params=query, headers=keys.of("admin")).json()
    second = client.get(
        URL, params={**query, "cursor": first["next_cursor"]}, headers=keys.of("admin")
    ).json()

    assert [r["request_id"] for r in first["records"]] == ["req_2", "req_1"]
    assert [r["request_id"] for r in second["records"]] == ["req_0"]
    assert second["next_cursor"] is None


def test_actor_and_action_filter_exactly(
    client: TestClient, keys: Keys, db: Database, subject_id: str
) -> None:
    actor = f"system:job-{uuid.uuid4().hex[:8]}"
    db.run(lambda conn: record(conn, 7, subject_id=subject_id, actor=actor, action="seller.closed"))

    by_actor = client.get(URL, params={"actor": actor}, headers=keys.of("compliance")).json()
    by_action = client.get(
        URL,
        params={"subject_type": "seller", "subject_id": subject_id, "action": "seller.closed"},
        headers=keys.of("compliance"),
    ).json()

    assert [r["request_id"] for r in by_actor["records"]] == ["req_7"]
    assert [r["actor"] for r in by_action["records"]] == [actor]


def test_a_subject_id_without_its_type_is_refused(client: TestClient, keys: Keys) -> None:
    response = client.get(URL, params={"subject_id": "sel_1"}, headers=keys.of("admin"))

    assert_problem(response, 422, "subject_type_required", field="query.subject_type")


@pytest.mark.parametrize(
    "cursor", ["garbage", encode_cursor("0"), encode_cursor("-3"), encode_cursor("12", "x")]
)
def test_a_cursor_this_api_did_not_give_is_refused(
    client: TestClient, keys: Keys, cursor: str
) -> None:
    response = client.get(URL, params={"cursor": cursor}, headers=keys.of("admin"))

    assert_problem(response, 422, "invalid_cursor", field="query.cursor")


def test_a_limit_beyond_the_page_size_is_refused(client: TestClient, keys: Keys) -> None:
    response = client.get(URL, params={"limit": 501}, headers=keys.of("admin"))

    assert_problem(response, 422, "invalid_request", field="query.limit")
