"""The webhooks API, on SQLite and PostgreSQL: endpoints registered, read, changed, disabled and
rotated by an admin; the secret shown once; the delivery log; and every bad input refused with
the rule it broke."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from webhook_receiver import running_receiver

from http_support import assert_problem
from sellerpay.access.rules import Role
from sellerpay.access.service import create_api_key
from sellerpay.api import create_app
from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.events import models
from sellerpay.events.service import deliver_due, record_event, relay_outbox
from sellerpay.settings import Settings, get_settings

PROBLEM = "application/problem+json"
BASE = "/v1/webhook-endpoints"
LOCAL = "http://127.0.0.1:9/hooks"  # never called: no deliverer runs on the shared database
UNKNOWN_ENDPOINT = f"we_{uuid.uuid4().hex}"


@pytest.fixture
def app(db: Database, clock: FixedClock) -> FastAPI:
    return create_app(db=db, clock=clock)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def key_of(db: Database, clock: FixedClock, role: Role) -> dict[str, str]:
    seller = f"sel_{uuid.uuid4().hex}" if role is Role.SELLER else None
    _, plaintext = create_api_key(
        db, name=f"webhooks test {role.value}", role=role, seller_id=seller, clock=clock
    )
    return {"Authorization": f"Bearer {plaintext}"}


@pytest.fixture
def admin(db: Database, clock: FixedClock) -> dict[str, str]:
    return key_of(db, clock, Role.ADMIN)


def register(client: TestClient, admin: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"url": LOCAL, "event_types": ["seller.*"], **fields}
    response = client.post(BASE, json=body, headers=admin)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


# --- the happy paths -----------------------------------------------------------------------


def test_registering_an_endpoint_shows_its_secret_once_and_never_again(
    client: TestClient, admin: dict[str, str], db: Database
) -> None:
    response = client.post(
        BASE,
        json={"url": LOCAL, "event_types": ["seller.*", "funds.released"], "description": "ops"},
        headers=admin,
    )

    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    created = response.json()
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(secret) == len("whsec_") + 43  # 32 bytes
    assert created["event_types"] == ["seller.*", "funds.released"]
    assert (created["enabled"], created["description"]) == (True, "ops")
    assert response.headers["location"] == f"{BASE}/{created['id']}"
    read = client.get(response.headers["location"], headers=admin)
    listed = client.get(BASE, params={"limit": 100}, headers=admin)
    assert read.status_code == 200 and "secret" not in read.json()
    for answer in (read, listed):
        assert secret not in answer.text
    o = models.outbox.c
    with db.reading() as conn:
        (data,) = conn.execute(select(o.data).where(o.subject == created["id"])).scalars()
    assert secret not in str(data) and data["url"] == LOCAL  # the event carries no secret


def test_an_endpoint_is_changed_disabled_and_enabled_again(
    client: TestClient, admin: dict[str, str], clock: FixedClock
) -> None:
    endpoint = register(client, admin)
    path = f"{BASE}/{endpoint['id']}"
    clock.advance(timedelta(minutes=1))

    changed = client.patch(
        path,
        json={"url": LOCAL + "/v2", "event_types": ["*"], "description": "all of it"},
        headers=admin,
    )
    deleted = client.delete(path, headers=admin)
    read_while_disabled = client.get(path, headers=admin)
    enabled = client.patch(path, json={"enabled": True}, headers=admin)

    assert changed.status_code == 200
    assert changed.json()["url"] == LOCAL + "/v2" and changed.json()["event_types"] == ["*"]
    assert changed.json()["description"] == "all of it"
    assert changed.json()["updated_at"] != endpoint["updated_at"]
    assert deleted.status_code == 200 and deleted.json()["enabled"] is False
    assert read_while_disabled.json()["enabled"] is False  # kept, with its delivery log
    assert enabled.status_code == 200 and enabled.json()["enabled"] is True


def test_rotating_the_secret_shows_a_new_one_and_keeps_the_old_for_24_hours(
    client: TestClient, admin: dict[str, str], clock: FixedClock
) -> None:
    endpoint = register(client, admin)

    rotated = client.post(f"{BASE}/{endpoint['id']}/rotate-secret", headers=admin)

    assert rotated.status_code == 200 and rotated.headers["cache-control"] == "no-store"
    assert rotated.json()["secret"] not in (endpoint["secret"], None)
    expires = rotated.json()["previous_secret_expires_at"]
    assert expires == (clock.now() + timedelta(hours=24)).isoformat().replace("+00:00", "Z")


def test_endpoints_are_listed_page_by_page_in_the_order_they_were_registered(
    client: TestClient, admin: dict[str, str]
) -> None:
    mine = [register(client, admin)["id"] for _ in range(5)]

    seen: list[str] = []
    cursor: str | None = None
    for _ in range(100):
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get(BASE, params=params, headers=admin).json()
        assert len(page["endpoints"]) <= 2
        seen += [e["id"] for e in page["endpoints"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == sorted(seen)
    assert [i for i in seen if i in mine] == mine


def test_the_delivery_log_shows_each_attempt_and_a_failed_delivery_is_retried_by_hand(
    fresh_db: Database, clock: FixedClock
) -> None:
    db = fresh_db  # its own database: deliveries are really sent here
    admin = key_of(db, clock, Role.ADMIN)
    with running_receiver() as receiver, TestClient(create_app(db=db, clock=clock)) as client:
        receiver.now, receiver.default = clock.now, 500
        endpoint = register(client, admin, url=receiver.url, event_types=["seller.created"])
        receiver.secret = endpoint["secret"]
        with db.transaction() as conn:
            event = record_event(conn, type="seller.created", subject="s", data={}, now=clock.now())
        relay_outbox(db, clock=clock)
        with httpx.Client() as http:
            deliver_due(db, clock=clock, http=http)
        log_path = f"{BASE}/{endpoint['id']}/deliveries"

        page = client.get(log_path, params={"status": "pending"}, headers=admin).json()
        (delivery,) = page["deliveries"]
        assert (delivery["event_id"], delivery["event_type"]) == (str(event.id), "seller.created")
        assert (delivery["status"], delivery["attempt_count"]) == ("pending", 1)
        assert delivery["next_attempt_at"] is not None and page["next_cursor"] is None
        (attempt,) = delivery["attempts"]
        seen = (attempt["number"], attempt["status_code"], attempt["outcome"], attempt["error"])
        assert seen == (1, 500, "failed", "HTTP 500: receiver says no")
        assert attempt["latency_ms"] >= 0
        succeeded = client.get(log_path, params={"status": "succeeded"}, headers=admin)
        assert succeeded.json() == {"deliveries": [], "next_cursor": None}

        retried = client.post(f"{log_path}/{delivery['id']}/retry", headers=admin)
        assert retried.status_code == 200
        assert retried.json()["next_attempt_at"] == clock.now().isoformat().replace("+00:00", "Z")
        assert (
            client.get(f"{log_path}/{delivery['id']}", headers=admin).json()["id"]
            == (delivery["id"])
        )


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"url": "ftp://marketplace.example/hooks"}, "invalid_url", "body.url"),
        ({"url": "not a url"}, "invalid_url", "body.url"),
        ({"url": "https://user:pw@marketplace.example/h"}, "url_credentials_refused", "body.url"),
        ({"url": "https://marketplace.example/h#x"}, "invalid_url", "body.url"),
        ({"event_types": ["orders.*"]}, "unknown_event_type", "body.event_types"),
        ({"event_types": ["Seller Created"]}, "invalid_event_type_pattern", "body.event_types"),
        ({"url": "https://x.example/" + "a" * 2000}, "invalid_request", "body.url"),
        ({"event_types": []}, "invalid_request", "body.event_types"),
        ({"event_types": ["*"] * 51}, "invalid_request", "body.event_types"),
        ({"event_types": "*"}, "invalid_request", "body.event_types"),
        ({"event_types": ["seller." + "x" * 64]}, "invalid_request", "body.event_types.0"),
        ({"description": "d" * 501}, "invalid_request", "body.description"),
        ({"secret": "whsec_mine"}, "invalid_request", "body.secret"),
        ({"url": None}, "invalid_request", "body.url"),
    ],
)
def test_a_bad_endpoint_is_refused_by_the_rule_it_breaks_and_nothing_is_stored(
    client: TestClient,
    admin: dict[str, str],
    db: Database,
    body: dict[str, Any],
    code: str,
    field: str,
) -> None:
    before = _endpoint_count(db)

    response = client.post(BASE, json={"url": LOCAL, "event_types": ["*"], **body}, headers=admin)

    assert_problem(response, 422, code, field=field)
    assert _endpoint_count(db) == before


def test_a_bad_change_is_refused_and_changes_nothing(
    client: TestClient, admin: dict[str, str]
) -> None:
    endpoint = register(client, admin)
    path = f"{BASE}/{endpoint['id']}"

    assert_problem(
        client.patch(path, json={"event_types": ["nope.*"]}, headers=admin),
        422,
        "unknown_event_type",
        field="body.event_types",
    )
    assert_problem(
        client.patch(path, json={"url": "gopher://x"}, headers=admin), 422, "invalid_url"
    )
    assert_problem(
        client.patch(path, json={"enabled": "maybe"}, headers=admin),
        422,
        "invalid_request",
        field="body.enabled",
    )
    assert client.get(path, headers=admin).json() == {
        k: v for k, v in endpoint.items() if k != "secret"
    }


def test_plain_http_is_refused_where_the_setting_forbids_it(
    app: FastAPI, client: TestClient, admin: dict[str, str]
) -> None:
    app.dependency_overrides[get_settings] = lambda: Settings(webhook_allow_http=False)

    refused = client.post(BASE, json={"url": LOCAL, "event_types": ["*"]}, headers=admin)
    accepted = client.post(
        BASE, json={"url": "https://127.0.0.1:9/hooks", "event_types": ["*"]}, headers=admin
    )

    assert_problem(refused, 422, "https_required", field="body.url")
    assert accepted.status_code == 201


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("patch", ""),
        ("delete", ""),
        ("post", "/rotate-secret"),
        ("get", "/deliveries"),
        ("get", f"/deliveries/whd_{uuid.uuid4().hex}"),
        ("post", f"/deliveries/whd_{uuid.uuid4().hex}/retry"),
    ],
)
def test_an_unknown_endpoint_is_404(
    client: TestClient, admin: dict[str, str], method: str, suffix: str
) -> None:
    kwargs: dict[str, Any] = {"json": {}} if method == "patch" else {}

    response = client.request(method, f"{BASE}/{UNKNOWN_ENDPOINT}{suffix}", headers=admin, **kwargs)

    assert_problem(response, 404, "webhook_endpoint_not_found")


def test_an_unknown_delivery_or_another_endpoints_delivery_is_404(
    client: TestClient, admin: dict[str, str], db: Database, clock: FixedClock
) -> None:
    mine = register(client, admin, event_types=["funds.released"])
    other = register(client, admin, event_types=["funds.released"])
    with db.transaction() as conn:
        record_event(conn, type="funds.released", subject="ord_x", data={}, now=clock.now())
    while relay_outbox(db, clock=clock):
        pass
    page = client.get(f"{BASE}/{other['id']}/deliveries", headers=admin).json()
    others_delivery = page["deliveries"][0]["id"]

    for path in (
        f"{BASE}/{mine['id']}/deliveries/{others_delivery}",
        f"{BASE}/{mine['id']}/deliveries/whd_{uuid.uuid4().hex}",
    ):
        assert_problem(client.get(path, headers=admin), 404, "delivery_not_found")
        assert_problem(client.post(path + "/retry", headers=admin), 404, "delivery_not_found")


def test_a_delivery_of_a_disabled_endpoint_cannot_be_retried_until_it_is_enabled(
    client: TestClient, admin: dict[str, str], db: Database, clock: FixedClock
) -> None:
    endpoint = register(client, admin, event_types=["refund.recorded"])
    with db.transaction() as conn:
        record_event(conn, type="refund.recorded", subject="ord_y", data={}, now=clock.now())
    while relay_outbox(db, clock=clock):
        pass
    log_path = f"{BASE}/{endpoint['id']}/deliveries"
    (delivery,) = client.get(log_path, headers=admin).json()["deliveries"]
    client.delete(f"{BASE}/{endpoint['id']}", headers=admin)

    refused = client.post(f"{log_path}/{delivery['id']}/retry", headers=admin)

    assert_problem(refused, 422, "endpoint_disabled")


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "not-ours"},
        {"cursor": "djE6c2VsXzE"},  # "v1:sel_1": well formed, but not an endpoint id
        {"limit": 0},
        {"limit": 101},
        {"cursor": "x" * 101},
    ],
)
def test_bad_paging_is_refused(
    client: TestClient, admin: dict[str, str], params: dict[str, Any]
) -> None:
    endpoint = register(client, admin)

    for path in (BASE, f"{BASE}/{endpoint['id']}/deliveries"):
        response = client.get(path, params=params, headers=admin)
        code = "invalid_cursor" if "cursor" in params and len(params["cursor"]) < 100 else None
        assert_problem(response, 422, code or "invalid_request")


def test_an_unknown_delivery_status_filter_is_refused(
    client: TestClient, admin: dict[str, str]
) -> None:
    endpoint = register(client, admin)

    response = client.get(
        f"{BASE}/{endpoint['id']}/deliveries", params={"status": "lost"}, headers=admin
    )

    assert_problem(response, 422, "invalid_request", field="query.status")


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.FINANCE, Role.SELLER])
def test_only_a_role_with_webhooks_manage_may_touch_endpoints(
    client: TestClient, admin: dict[str, str], db: Database, clock: FixedClock, role: Role
) -> None:
    endpoint = register(client, admin)
    headers = key_of(db, clock, role)
    before = _endpoint_count(db)

    for method, path in [
        ("post", BASE),
        ("get", BASE),
        ("get", f"{BASE}/{endpoint['id']}"),
        ("delete", f"{BASE}/{endpoint['id']}"),
        ("post", f"{BASE}/{endpoint['id']}/rotate-secret"),
        ("get", f"{BASE}/{endpoint['id']}/deliveries"),
    ]:
        body = {"url": LOCAL, "event_types": ["*"]} if method == "post" else None
        response = client.request(method, path, json=body, headers=headers)
        assert_problem(response, 403, "permission_required")

    assert _endpoint_count(db) == before
    assert client.get(f"{BASE}/{endpoint['id']}", headers=admin).json()["enabled"] is True


def test_without_a_key_nothing_is_answered(client: TestClient) -> None:
    assert_problem(client.get(BASE), 401, "api_key_required")
    assert_problem(client.post(BASE, json={}), 401, "api_key_required")


def _endpoint_count(db: Database) -> int:
    with db.reading() as conn:
        return len(conn.execute(select(models.webhook_endpoints.c.id)).all())
