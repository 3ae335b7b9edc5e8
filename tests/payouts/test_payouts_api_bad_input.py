"""Bad input on every payouts route (SQLite and PostgreSQL): each answers an RFC 9457 problem
with a stable code naming the field at fault, never a 5xx, and nothing is stored half-way;
then hypothesis throws arbitrary bodies, notes and ids at the routes that write."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from payouts_api_builders import (
    PAYOUTS,
    RUNS,
    api_client,
    available_shown,
    created,
    new_key,
    payout_body,
    post_payout,
)
from payouts_builders import funded_seller

from http_support import PROBLEM, Keys, assert_problem, role_keys
from sellerpay.clock import FixedClock
from sellerpay.db import Database

FUNDED_MINOR = 50_000


@pytest.fixture
def other_seller_id() -> str:
    return f"sel_{uuid.uuid4().hex}"


@pytest.fixture
def client(db: Database, clock: FixedClock) -> Iterator[TestClient]:
    with api_client(db, clock, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def keys(db: Database, clock: FixedClock, seller_id: str, other_seller_id: str) -> Keys:
    return role_keys(db, clock, seller_id=seller_id, other_seller_id=other_seller_id)


@pytest.fixture
def funded(db: Database, clock: FixedClock, seller_id: str) -> str:
    funded_seller(db, clock, seller_id, available_minor=FUNDED_MINOR)
    return seller_id


def _no_payout_stored(client: TestClient, keys: Keys, seller_id: str) -> None:
    assert available_shown(client, keys, seller_id) == FUNDED_MINOR
    assert client.get(PAYOUTS, headers=keys.of("seller")).json()["data"] == []


# --- POST /v1/payouts ------------------------------------------------------------------------

LONG = "x" * 141


@pytest.mark.parametrize(
    ("fields", "status", "code", "field"),
    [
        ({"amount_minor": 0}, 422, "invalid_request", "body.amount_minor"),
        ({"amount_minor": -100}, 422, "invalid_request", "body.amount_minor"),
        ({"amount_minor": 10.5}, 422, "invalid_request", "body.amount_minor"),
        ({"amount_minor": "ten"}, 422, "invalid_request", "body.amount_minor"),
        ({"amount_minor": 2**62}, 422, "insufficient_available", "amount"),
        ({"amount_minor": 10**30}, 422, "invalid_amount", None),  # beyond a 64-bit integer
        ({"currency": "eur"}, 422, "invalid_request", "body.currency"),
        ({"currency": "EURO"}, 422, "invalid_request", "body.currency"),
        ({"currency": "XXQ"}, 422, "unknown_currency", None),
        ({"currency": "USD"}, 422, "nothing_available", None),  # no USD balance
        ({"seller_id": "42"}, 422, "invalid_request", "body.seller_id"),
        ({"seller_id": None}, 422, "invalid_request", "body.seller_id"),
        ({"kind": "scheduled"}, 422, "invalid_request", "body.kind"),
        ({"description": LONG}, 422, "invalid_request", "body.description"),
        ({"bank_account_id": "b" * 41}, 422, "invalid_request", "body.bank_account_id"),
        ({"bank_account_id": "ba_missing"}, 422, "bank_account_not_usable", "bank_account_id"),
        ({"run_id": "run_1"}, 422, "invalid_request", "body.run_id"),
    ],
)
def test_a_malformed_payout_request_is_a_problem_naming_the_field(
    client: TestClient,
    keys: Keys,
    funded: str,
    fields: dict[str, Any],
    status: int,
    code: str,
    field: str | None,
) -> None:
    response = post_payout(client, keys, "seller", {**payout_body(funded), **fields})
    assert_problem(response, status, code, field=field)
    _no_payout_stored(client, keys, funded)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"[]", "application/json"),
        (b"null", "application/json"),
        (b"seller_id=sel_1", "application/x-www-form-urlencoded"),
        (b"", "application/json"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_problem(
    client: TestClient, keys: Keys, funded: str, content: bytes, content_type: str
) -> None:
    headers = {**keys.of("seller"), "Idempotency-Key": new_key(), "Content-Type": content_type}
    response = client.post(PAYOUTS, content=content, headers=headers)
    assert_problem(response, 422, "invalid_request")
    _no_payout_stored(client, keys, funded)


@pytest.mark.parametrize("key", [b"", b"k" * 201, "clé".encode("latin-1"), b"tab\there"])
def test_a_malformed_idempotency_key_is_a_problem(
    client: TestClient, keys: Keys, funded: str, key: bytes
) -> None:
    headers: dict[str, str | bytes] = {**keys.of("seller"), "Idempotency-Key": key}
    response = client.post(PAYOUTS, json=payout_body(funded), headers=headers)
    assert_problem(response, 422, "invalid_request", field="header.Idempotency-Key")
    _no_payout_stored(client, keys, funded)


def test_without_a_key_or_with_a_wrong_one_every_route_is_401(client: TestClient) -> None:
    some = f"po_{uuid.uuid4().hex}"
    seller = f"sel_{uuid.uuid4().hex}"
    routes = [
        ("POST", PAYOUTS),
        ("GET", PAYOUTS),
        ("GET", f"{PAYOUTS}/{some}"),
        ("GET", f"{PAYOUTS}/{some}/composition"),
        ("POST", f"{PAYOUTS}/{some}/approve"),
        ("POST", f"{PAYOUTS}/{some}/reject"),
        ("POST", f"{PAYOUTS}/{some}/cancel"),
        ("POST", RUNS),
        ("GET", f"{RUNS}/run_1"),
        ("GET", f"{RUNS}/run_1/skips"),
        ("GET", f"/v1/sellers/{seller}/payout-skips"),
        ("GET", f"/v1/sellers/{seller}/payout-schedules/EUR"),
        ("PUT", f"/v1/sellers/{seller}/payout-schedules/EUR"),
    ]
    for method, path in routes:
        assert_problem(client.request(method, path), 401, "api_key_required")
        wrong = {"Authorization": "Bearer sp_nope_nope"}
        assert_problem(client.request(method, path, headers=wrong), 401, "invalid_api_key")


# --- reads -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "query.limit"),
        ({"limit": 201}, "query.limit"),
        ({"limit": "many"}, "query.limit"),
        ({"status": "lost"}, "query.status"),
        ({"seller_id": "s" * 69}, "query.seller_id"),
        ({"run_id": "r" * 41}, "query.run_id"),
        ({"cursor": "c" * 201}, "query.cursor"),
    ],
)
def test_a_malformed_listing_is_a_problem_naming_the_parameter(
    client: TestClient, keys: Keys, params: dict[str, Any], field: str
) -> None:
    response = client.get(PAYOUTS, params=params, headers=keys.of("operator"))
    assert_problem(response, 422, "invalid_request", field=field)


@pytest.mark.parametrize("cursor", ["bm90IG91cnM", "!!!", "c3A6", "%%"])
def test_a_cursor_this_api_did_not_give_is_refused(
    client: TestClient, keys: Keys, cursor: str
) -> None:
    response = client.get(PAYOUTS, params={"cursor": cursor}, headers=keys.of("seller"))
    assert_problem(response, 422, "invalid_cursor", field="query.cursor")


@pytest.mark.parametrize("payout_id", ["p" * 41, "po_" + "0" * 200, "..", "po_%01", "' OR 1=1"])
def test_a_malformed_payout_id_is_not_found_on_every_payout_route(
    client: TestClient, keys: Keys, payout_id: str
) -> None:
    for method, suffix, who in (
        ("GET", "", "operator"),
        ("GET", "/composition", "seller"),
        ("POST", "/approve", "approver"),
        ("POST", "/reject", "approver"),
        ("POST", "/cancel", "seller"),
    ):
        response = client.request(
            method, f"{PAYOUTS}/{payout_id}{suffix}", json={}, headers=keys.of(who)
        )
        assert response.status_code in (404, 405), response.text  # ".." may leave the route
        assert response.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/sellers/{seller}/payout-skips", {"limit": 0}, "query.limit"),
        ("/v1/sellers/{seller}/payout-skips", {"limit": 1001}, "query.limit"),
        (RUNS + "/run_1/skips", {"limit": 0}, "query.limit"),
        (RUNS + "/run_1/skips", {"limit": "x"}, "query.limit"),
    ],
)
def test_a_malformed_skips_listing_is_a_problem(
    client: TestClient, keys: Keys, seller_id: str, path: str, params: dict[str, Any], field: str
) -> None:
    url = path.format(seller=seller_id)
    response = client.get(url, params=params, headers=keys.of("operator"))
    assert_problem(response, 422, "invalid_request", field=field)


def test_a_malformed_seller_id_in_a_path_is_a_problem_not_a_crash(
    client: TestClient, keys: Keys
) -> None:
    for path in ("/v1/sellers/{}/payout-skips", "/v1/sellers/{}/payout-schedules/EUR"):
        response = client.get(path.format("s" * 200), headers=keys.of("operator"))
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == PROBLEM


# --- decisions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"note": "n" * 501}, "body.note"),
        ({"note": 5}, "body.note"),
        ({"reason": "x"}, "body.reason"),
        (None, "body"),
    ],
)
def test_a_malformed_decision_is_refused_and_the_payout_stays_pending(
    client: TestClient, keys: Keys, funded: str, body: dict[str, Any] | None, field: str
) -> None:
    payout = created(post_payout(client, keys, "seller", payout_body(funded)))
    for action, who in (("approve", "approver"), ("reject", "approver"), ("cancel", "seller")):
        response = client.post(
            f"{PAYOUTS}/{payout['id']}/{action}", json=body, headers=keys.of(who)
        )
        assert_problem(response, 422, "invalid_request", field=field)
    shown = client.get(f"{PAYOUTS}/{payout['id']}", headers=keys.of("seller")).json()
    assert shown["status"] == "pending"


# --- hypothesis: arbitrary input never makes a 5xx -------------------------------------------


def _text(*, min_size: int = 0, max_size: int) -> st.SearchStrategy[str]:
    """Any text an HTTP client can send (no lone surrogates) but NUL, whose refusal has a test
    of its own (PostgreSQL cannot store it)."""
    alphabet = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
    return st.text(alphabet, min_size=min_size, max_size=max_size)


_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text(max_size=300)
)
_json = st.recursive(
    _json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(_text(max_size=20), children, max_size=3)
    ),
    max_leaves=8,
)
_fields = st.fixed_dictionaries(
    {},
    optional={
        "currency": st.sampled_from(["EUR", "USD", "JPY", "eur", "", "XXQ"]) | _text(max_size=5),
        "amount_minor": st.integers(min_value=-(2**70), max_value=2**70) | _json,
        "bank_account_id": _text(max_size=45) | st.none(),
        "kind": st.sampled_from(["on_demand", "manual", "scheduled"]) | _text(max_size=10),
        "description": _text(max_size=160),
        "seller_id": _json,
    },
)
_fuzz = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _answer_is_sound(response: Any) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == PROBLEM, response.text
        problem = response.json()
        assert problem["status"] == response.status_code and problem["code"]


@_fuzz
@given(fields=_fields)
def test_any_payout_request_is_answered_without_a_server_error(
    client: TestClient, keys: Keys, funded: str, fields: dict[str, Any]
) -> None:
    response = post_payout(client, keys, "seller", {**payout_body(funded), **fields})
    _answer_is_sound(response)
    if response.status_code == 201:  # a valid request: give the money back for the next one
        payout_id = response.json()["id"]
        canceled = client.post(f"{PAYOUTS}/{payout_id}/cancel", json={}, headers=keys.of("seller"))
        assert canceled.status_code == 200, canceled.text
    assert available_shown(client, keys, funded) == FUNDED_MINOR


@_fuzz
@given(note=_text(max_size=600), body=_json)
def test_any_decision_or_run_request_is_answered_without_a_server_error(
    client: TestClient, keys: Keys, seller_id: str, note: str, body: Any
) -> None:
    missing = f"po_{uuid.uuid4().hex}"
    response = client.post(f"{PAYOUTS}/{missing}/approve", json={"note": note},
                           headers=keys.of("approver"))  # fmt: skip
    _answer_is_sound(response)
    _answer_is_sound(client.post(f"{PAYOUTS}/{missing}/cancel", json=body,
                                 headers=keys.of("seller")))  # fmt: skip
    _answer_is_sound(client.put(f"/v1/sellers/{seller_id}/payout-schedules/EUR", json=body,
                                headers=keys.of("operator")))  # fmt: skip
    # a run request that is not a run: refused before anything runs (a valid one is not sent)
    if not (isinstance(body, dict) and "run_on" in body):
        _answer_is_sound(client.post(RUNS, json=body, headers=keys.of("operator")))


@_fuzz
@given(text=_text(min_size=1, max_size=300))
def test_arbitrary_texts_in_notes_descriptions_and_ids_are_stored_or_refused_cleanly(
    client: TestClient, keys: Keys, funded: str, text: str
) -> None:
    """Text reaches the database (descriptions, notes, audit records): NUL, control and
    astral characters must be refused with a problem or stored, never crash PostgreSQL."""
    response = post_payout(client, keys, "seller", payout_body(funded, description=text[:140]))
    _answer_is_sound(response)
    if response.status_code == 201:
        payout_id = response.json()["id"]
        decided = client.post(f"{PAYOUTS}/{payout_id}/reject", json={"note": text[:500]},
                              headers=keys.of("approver"))  # fmt: skip
        _answer_is_sound(decided)
        if decided.status_code != 200:
            canceled = client.post(f"{PAYOUTS}/{payout_id}/cancel", json={},
                                   headers=keys.of("seller"))  # fmt: skip
            assert canceled.status_code == 200, canceled.text
    quoted = quote(text, safe="")
    for path in (f"{PAYOUTS}/{quoted}", f"{RUNS}/{quoted}", f"{RUNS}/{quoted}/skips"):
        _answer_is_sound(client.get(path, headers=keys.of("operator")))
    assert available_shown(client, keys, funded) == FUNDED_MINOR


def test_the_skips_of_an_unknown_run_are_not_found(client: TestClient, keys: Keys) -> None:
    missing = f"run_{uuid.uuid4().hex}"
    response = client.get(f"{RUNS}/{missing}/skips", headers=keys.of("operator"))
    assert_problem(response, 404, "payout_run_not_found")


# --- NUL: refused, on both backends (PostgreSQL cannot store it; SQLite would) -----------------


@pytest.mark.parametrize(
    ("case", "status", "field"),
    [
        ("description", 422, "body.description"),
        ("reject_note", 422, "body.note"),
        ("cancel_note", 422, "body.note"),
        ("run_key", 422, "body.run_key"),
        ("payout_id", 404, None),
        ("run_id", 404, None),
        ("run_skips", 404, None),
    ],
)
def test_a_nul_character_is_refused_never_stored_nor_a_server_error(
    client: TestClient,
    keys: Keys,
    db: Database,
    clock: FixedClock,
    funded: str,
    case: str,
    status: int,
    field: str | None,
) -> None:
    pending = created(post_payout(client, keys, "seller", payout_body(funded, amount_minor=100)))
    payout_url = f"{PAYOUTS}/{pending['id']}"
    send = {
        "description": lambda: post_payout(client, keys, "seller",
                                           payout_body(funded, description="a\x00b")),
        "reject_note": lambda: client.post(f"{payout_url}/reject", json={"note": "no\x00"},
                                           headers=keys.of("approver")),
        "cancel_note": lambda: client.post(f"{payout_url}/cancel", json={"note": "no\x00"},
                                           headers=keys.of("seller")),
        # with a run_on that is no date: a run on the shared database would pay other tests'
        # sellers; the refusal must still name the run key among the invalid fields
        "run_key": lambda: client.post(RUNS, json={"run_on": "never", "run_key": "k\x00"},
                                       headers=keys.of("operator")),
        "payout_id": lambda: client.get(f"{PAYOUTS}/po_%00", headers=keys.of("operator")),
        "run_id": lambda: client.get(f"{RUNS}/run_%00", headers=keys.of("operator")),
        "run_skips": lambda: client.get(f"{RUNS}/run_%00/skips", headers=keys.of("operator")),
    }  # fmt: skip
    response = send[case]()
    assert response.status_code < 500, response.text
    assert response.headers["content-type"] == PROBLEM, response.text
    assert response.status_code == status, response.text
    if field is not None:
        assert_problem(response, status, "invalid_request", field=field)
    assert client.get(payout_url, headers=keys.of("seller")).json()["status"] == "pending"
