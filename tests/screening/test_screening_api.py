"""The screening routes over HTTP: uploading list versions, the review queue, decisions (audited
with the caller's address), problem details for bad input, and every route against every role."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from screening_builders import (
    CLIENT_ADDRESS,
    add_person,
    eu_xml,
    new_seller,
    ofac_csv_files,
    ofac_xml,
    zipped,
)

from http_support import Keys, assert_problem
from sellerpay.audit.service import list_audit_records
from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.onboarding import service as onboarding_service
from sellerpay.screening import api as screening_api

URL = "/v1/screening"
XML = {"Content-Type": "application/xml"}


def upload(
    client: TestClient, keys: Keys, list_name: str, body: bytes, *, who: str = "compliance",
    **params: str,
) -> Any:  # fmt: skip
    headers = {**keys.of(who), **XML}
    return client.post(f"{URL}/lists", params={"list": list_name, **params}, content=body,
                       headers=headers)  # fmt: skip


def seller_with_putin(db: Database, clock: FixedClock) -> str:
    seller_id = new_seller(db, clock, legal_name="Neva Refurb SARL")
    add_person(db, clock, seller_id, "Vladimir", "Putin", born=date(1952, 10, 7), nationality="RU")
    return seller_id


def open_matches(client: TestClient, keys: Keys, **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"{URL}/matches", params={"status": "open", **params},
                          headers=keys.of("compliance"))  # fmt: skip
    assert response.status_code == 200, response.text
    matches: list[dict[str, Any]] = response.json()["matches"]
    return matches


# --- lists --------------------------------------------------------------------------------------


def test_uploading_a_list_stores_a_version_rescreens_and_the_same_file_again_answers_200(
    client: TestClient, keys: Keys, fresh_db: Database, clock: FixedClock
) -> None:
    seller_with_putin(fresh_db, clock)

    first = upload(client, keys, "ofac-sdn", ofac_xml())
    again = upload(client, keys, "ofac-sdn", zipped(ofac_csv_files()), who="admin")
    listed = client.get(f"{URL}/lists", headers=keys.of("compliance"))

    assert first.status_code == 201, first.text
    body = first.json()
    assert body["created"] is True
    assert body["version"]["entry_count"] == 13
    assert body["version"]["version"] == "2026-11-14"
    assert body["rescreen"]["matches_opened"] == 1
    assert again.status_code == 200
    assert again.json()["created"] is False and again.json()["rescreen"] is None
    assert [v["id"] for v in listed.json()["versions"]] == [body["version"]["id"]]


def test_a_malformed_upload_is_refused_with_the_line_and_nothing_is_stored(
    client: TestClient, keys: Keys
) -> None:
    broken = eu_xml().replace(b'code="enterprise"', b'code="spaceship"', 1)

    refused = upload(client, keys, "eu-fsf", broken, file_name="eu.xml")
    empty = upload(client, keys, "eu-fsf", b"")
    wrong_list = upload(client, keys, "eu-fsf", ofac_xml())

    problem = assert_problem(refused, 422, "list_format")
    assert (problem["file"], problem["element"]) == ("eu.xml", "subjectType")
    assert isinstance(problem["line"], int)
    assert_problem(empty, 422, "empty_list", field="body")
    assert_problem(wrong_list, 422, "list_format_unknown")
    assert_problem(upload(client, keys, "un-list", eu_xml()), 422, "invalid_request",
                   field="query.list")  # fmt: skip
    assert client.get(f"{URL}/lists", headers=keys.of("admin")).json()["versions"] == []


def test_an_upload_larger_than_the_limit_is_refused_with_413(
    client: TestClient, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(screening_api, "upload_bytes_max", 1_000)

    assert_problem(upload(client, keys, "ofac-sdn", ofac_xml()), 413, "list_file_too_large")


# --- the review queue and decisions -------------------------------------------------------------


def test_compliance_clears_a_match_audited_with_its_address_and_it_leaves_the_queue(
    client: TestClient, keys: Keys, fresh_db: Database, clock: FixedClock
) -> None:
    seller_id = seller_with_putin(fresh_db, clock)
    upload(client, keys, "ofac-sdn", ofac_xml())
    (match,) = open_matches(client, keys)

    decided = client.post(
        f"{URL}/matches/{match['id']}/decision",
        json={"decision": "clear", "note": "a namesake: born 1980, passport seen"},
        headers=keys.of("compliance"),
    )

    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert (body["status"], body["note"]) == ("cleared", "a namesake: born 1980, passport seen")
    assert body["decided_by"].endswith("compliance)")
    assert match["seller_id"] == seller_id
    assert match["subject"]["role"] == "representative"
    assert match["entry"]["entry_id"] == "35096"
    assert match["entry"]["names"][0] == {
        "text": "PUTIN, Vladimir Vladimirovich", "script": "Latn", "kind": "primary",
    }  # fmt: skip
    assert match["score"] == 100 and match["reasons"][0].startswith("name ")
    assert open_matches(client, keys) == []
    records, _ = list_audit_records(
        fresh_db, subject_type="screening_match", subject_id=match["id"]
    )
    assert [(r.action, r.source_ip) for r in records] == [
        ("screening.match_cleared", CLIENT_ADDRESS)
    ]
    assert records[0].before is not None and records[0].before["status"] == "open"


def test_confirming_over_http_blocks_the_seller_and_a_second_decision_is_a_conflict(
    client: TestClient, keys: Keys, fresh_db: Database, clock: FixedClock
) -> None:
    seller_id = seller_with_putin(fresh_db, clock)
    upload(client, keys, "ofac-sdn", ofac_xml())
    (match,) = open_matches(client, keys)
    path = f"{URL}/matches/{match['id']}/decision"

    confirmed = client.post(path, json={"decision": "confirm", "note": "same passport"},
                            headers=keys.of("compliance"))  # fmt: skip
    again = client.post(path, json={"decision": "clear", "note": "oops"}, headers=keys.of("admin"))

    assert confirmed.status_code == 200, confirmed.text
    allowed = onboarding_service.seller_capabilities(fresh_db, [seller_id], now=clock.now())
    assert allowed[seller_id].disabled_reason == "sanctions_match"
    assert_problem(again, 409, "match_already_decided")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"decision": "maybe", "note": "x"}, "body.decision"),
        ({"decision": "clear", "note": ""}, "body.note"),
        ({"decision": "clear"}, "body.note"),
        ({"decision": "clear", "note": "x" * 2001}, "body.note"),
        ({"decision": "clear", "note": "x", "extra": 1}, "body.extra"),
    ],
)
def test_a_bad_decision_is_refused_naming_the_field(
    shared_client: TestClient, shared_keys: Keys, body: dict[str, Any], field: str
) -> None:
    response = shared_client.post(
        f"{URL}/matches/scm_x/decision", json=body, headers=shared_keys.of("admin")
    )

    assert_problem(response, 422, "invalid_request", field=field)


def test_an_unknown_match_is_not_found(shared_client: TestClient, shared_keys: Keys) -> None:
    headers = shared_keys.of("compliance")
    read = shared_client.get(f"{URL}/matches/scm_nothing", headers=headers)
    decide = shared_client.post(
        f"{URL}/matches/scm_nothing/decision", json={"decision": "clear", "note": "x"},
        headers=headers,
    )  # fmt: skip

    assert_problem(read, 404, "match_not_found")
    assert_problem(decide, 404, "match_not_found")


def test_the_queue_is_read_a_page_at_a_time_and_filtered_by_seller(
    client: TestClient, keys: Keys, fresh_db: Database, clock: FixedClock
) -> None:
    sellers = [seller_with_putin(fresh_db, clock) for _ in range(3)]
    upload(client, keys, "ofac-sdn", ofac_xml())

    first = client.get(f"{URL}/matches", params={"limit": 2}, headers=keys.of("compliance"))
    cursor = first.json()["next_cursor"]
    rest = client.get(f"{URL}/matches", params={"limit": 2, "cursor": cursor},
                      headers=keys.of("compliance"))  # fmt: skip
    one = open_matches(client, keys, seller_id=sellers[1])
    bad_cursor = client.get(f"{URL}/matches", params={"cursor": "nonsense"},
                            headers=keys.of("compliance"))  # fmt: skip

    ids = [m["id"] for m in first.json()["matches"] + rest.json()["matches"]]
    assert len(ids) == 3 and len(set(ids)) == 3
    assert rest.json()["next_cursor"] is None
    assert [m["seller_id"] for m in one] == [sellers[1]]
    assert_problem(bad_cursor, 422, "invalid_cursor", field="query.cursor")


# --- who may do what ----------------------------------------------------------------------------

ROUTES = [
    ("GET", "/matches", "screening:read"),
    ("GET", "/matches/scm_x", "screening:read"),
    ("POST", "/matches/scm_x/decision", "screening:decide"),
    ("GET", "/lists", "screening:read"),
    ("POST", "/lists?list=eu-fsf", "screening:lists"),
]
ALLOWED = {"compliance", "admin"}


@pytest.mark.parametrize(("method", "path", "permission"), ROUTES)
@pytest.mark.parametrize(
    "who",
    ["compliance", "admin", "operator", "approver", "risk", "finance", "marketplace", "seller"],
)
def test_every_route_is_open_to_compliance_and_admin_only(
    shared_client: TestClient,
    shared_keys: Keys,
    method: str,
    path: str,
    permission: str,
    who: str,
) -> None:
    response = shared_client.request(
        method,
        URL + path,
        headers={**shared_keys.of(who), **XML},
        json={"decision": "clear", "note": "x"} if path.endswith("decision") else None,
        content=b"<nothing/>" if path.startswith("/lists?") else None,
    )

    if who in ALLOWED:
        assert response.status_code not in (401, 403), response.text
    else:
        problem = assert_problem(response, 403, "permission_required")
        assert problem["permission"] == permission


def test_no_key_is_401(shared_client: TestClient) -> None:
    assert_problem(shared_client.get(f"{URL}/matches"), 401, "api_key_required")
