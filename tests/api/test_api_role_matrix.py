"""Every route against every role (issue 8, RELIABILITY.md "authorization"), on SQLite and
PostgreSQL: one application over the shared `db`, one key per role and a seller's key for each
of two sellers, and real objects of seller A (bank accounts, payouts, an order, a document…).

For each route of the served OpenAPI document and each caller, the answer must be what
`role_matrix.MATRIX` says: no key is 401; a role lacking the permission is 403
`permission_required` naming it; a role holding it is neither 401 nor 403 (its request is one a
client could send, so it is not refused as malformed either); seller A on its own resources is
let through; seller B on seller A's resources gets 404, as if they did not exist (BOLA).
"""

from __future__ import annotations

import json
import re
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from api_builders import order_paid
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response
from role_matrix import (
    MATRIX,
    UNLISTED,
    Public,
    Rule,
    SellerFiltered,
    SellerScoped,
    Staff,
    missing_permission,
    roles_section,
)

from http_support import Keys, assert_problem, role_keys
from sellerpay.access.rules import Permission, Role
from sellerpay.access.service import create_api_key
from sellerpay.api import create_app
from sellerpay.bankaccounts import service as bank_accounts
from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.events import service as events
from sellerpay.ids import prefixed_id
from sellerpay.ledger.rules import EntryRequest, Side, TransactionRequest
from sellerpay.ledger.service import post_transaction
from sellerpay.money import Money
from sellerpay.onboarding import service as onboarding
from sellerpay.onboarding.rules import DocumentKind
from sellerpay.payouts import service as payouts
from sellerpay.rails.instructions import AbaAccount, IbanAccount
from sellerpay.reconciliation import service as reconciliation
from sellerpay.settings import get_settings

_TESTS = Path(__file__).resolve().parents[1]
for _folder in ("payouts", "settlement", "onboarding", "reconciliation"):
    if str(_TESTS / _folder) not in sys.path:  # their builders, shared rather than copied
        sys.path.append(str(_TESTS / _folder))

from onboarding_builders import pdf  # noqa: E402  (the folders added just above)
from payouts_builders import IBANS, KEYRING, POLICY, funded_seller  # noqa: E402
from reconciliation_builders import camt053, debit  # noqa: E402
from settlement_builders import T0, adjustment, give_plan, paid, send, unique  # noqa: E402

SETUP = "role matrix setup"
"""The actor who made the objects: no key of the test, so no four-eyes rule refuses a key."""
STAFF = ("marketplace", "operator", "approver", "compliance", "risk", "finance", "admin")
CALLERS = ("seller", "other_seller", *STAFF, "anonymous")
"""Sellers first: seller A's own request is the first to act on its objects (cancels its payout)."""
STATEMENT_DAY = date(2026, 1, 6)
DOCS = _TESTS.parent / "docs" / "api.md"


# --- the world: seller A's objects, and a key per caller -------------------------------------


@dataclass
class World:
    """The application, the keys, and the ids each route's path is filled with."""

    client: TestClient
    keys: Keys
    db: Database
    clock: FixedClock
    seller: str
    other_seller: str
    ids: dict[str, str]
    objects: dict[str, str]
    other_person: str
    other_bank_account: str
    run_key: str
    statement_file: bytes


@pytest.fixture(scope="module")
def _settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A seller that never started onboarding may be paid out (as in the payouts tests), and
    uploaded documents land in a folder of this module's own."""
    documents = tmp_path_factory.mktemp("role-matrix-documents")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SELLERPAY_ONBOARDING_REQUIRED", "false")
        patch.setenv("SELLERPAY_DOCUMENTS_DIRECTORY", str(documents))
        get_settings.cache_clear()
        yield
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def world(db: Database, _settings: None) -> Iterator[World]:
    """Made once per backend and shared by the module's tests: the objects are seller A's (and
    one of seller B's), so no other test of the shared `db` sees them. Every object a route
    acts on was made by `SETUP`, never by a key of the test."""
    clock = FixedClock(T0)
    seller = f"sel_{uuid.uuid4().hex}"
    other_seller = f"sel_{uuid.uuid4().hex}"
    funded_seller(db, clock, seller, available_minor=50_000)
    other = funded_seller(db, clock, other_seller, available_minor=10_000)
    app = create_app(db=db, clock=clock)
    app.state.keyring = KEYRING
    keys = role_keys(db, clock, seller_id=seller, other_seller_id=other_seller)
    objects = {
        **_bank_accounts(db, clock, seller),
        **_payouts(db, clock, seller),
        **_money_in(db, clock, seller),
        **_onboarding(db, clock, seller),
        **_webhooks(db, clock),
    }
    statement_file, reconciliation_objects = _reconciliation(db, clock)
    objects.update(reconciliation_objects)
    run = payouts.start_run(
        db, run_on=clock.now().date(), clock=clock, requested_by=SETUP, run_key=unique("run")
    )
    payouts.complete_run(db, run.run_id, clock=clock)  # nobody paid: the run walked no chunk
    ids = {
        "seller_id": seller,
        "code": f"seller:{seller}:available",
        "currency": "EUR",
        "run_id": run.run_id,
        "delivery_id": f"whd_{uuid.uuid4().hex}",  # none: making one relays the shared outbox
        "match_id": f"scm_{uuid.uuid4().hex}",  # none: a match needs a list loaded for everyone
        **{name: objects[name] for name in _DEFAULT_OBJECTS},
    }
    with TestClient(app) as client:
        yield World(
            client=client,
            keys=keys,
            db=db,
            clock=clock,
            seller=seller,
            other_seller=other_seller,
            ids=ids,
            objects=objects,
            other_person=_person(db, clock, other_seller),
            other_bank_account=other.bank_account_id,
            run_key=run.run_key,
            statement_file=statement_file,
        )


_DEFAULT_OBJECTS = (
    "transaction_id", "event_id", "adjustment_id", "fee_plan_id", "order_id", "endpoint_id",
    "person_id", "document_id", "bank_account_id", "statement_id", "bank_account",
    "exception_id", "payout_id",
)  # fmt: skip


def _bank_accounts(db: Database, clock: FixedClock, seller: str) -> dict[str, str]:
    """Two USD accounts (the ones the bank account routes change: one is disabled, the other
    made the default) and an EUR one in its cool-down (the hold an approver releases); the EUR
    default, where payouts go, is left alone so that no key becomes the last to change it."""

    def usd(account_number: str) -> str:
        account, _ = bank_accounts.add_bank_account(
            db, seller_id=seller, details=AbaAccount("021000021", account_number, "checking"),
            holder_name="Acme Refurb SAS", currency="USD", actor=SETUP,
            now=clock.now() - timedelta(hours=100), keyring=KEYRING,
        )  # fmt: skip
        return account.id

    held, _ = bank_accounts.add_bank_account(
        db, seller_id=seller, details=IbanAccount(_iban_other_than_default(seller)),
        holder_name="Acme Refurb SAS", currency="EUR", actor=SETUP, now=clock.now(),
        keyring=KEYRING,
    )  # fmt: skip
    return {
        "bank_account_id": usd("739104628351"),
        "default_bank_account_id": usd("739104628352"),
        "held_bank_account_id": held.id,
    }


def _iban_other_than_default(seller: str) -> str:
    default = IBANS[sum(seller.encode()) % len(IBANS)]  # the one funded_seller chose
    return next(iban for iban in IBANS if iban != default)


def _payouts(db: Database, clock: FixedClock, seller: str) -> dict[str, str]:
    """Manual payouts, pending an approver: one to read, one each to approve, reject, cancel."""

    def payout() -> str:
        made, _ = payouts.create_payout(
            db, seller_id=seller, currency="EUR", amount=Money(1_000, "EUR"),
            bank_account_id=None, kind="manual", requested_by=SETUP,
            idempotency_key=uuid.uuid4().hex, description="role matrix", clock=clock,
            keyring=KEYRING, policy=POLICY,
        )  # fmt: skip
        return made.id

    return {
        "payout_id": payout(),
        "approve_payout_id": payout(),
        "reject_payout_id": payout(),
        "cancel_payout_id": payout(),
    }


def _money_in(db: Database, clock: FixedClock, seller: str) -> dict[str, str]:
    """A fee plan, an order, a parked event, two adjustments waiting for an approver, and a
    ledger transaction to read and reverse."""
    plan = give_plan(db, clock, seller)
    order_id = unique("ord")
    send(db, clock, paid(order_id, seller))
    (parked,) = send(db, clock, paid(unique("ord"), f"sel_{uuid.uuid4().hex}"))
    assert parked.status.value == "parked" and parked.event_id is not None
    adjustments = {}
    for name in ("adjustment_id", "reject_adjustment_id"):
        adjustments[name] = unique("adj")
        (waiting,) = send(
            db, clock, adjustment(adjustments[name], seller, 60_000, requested_by=SETUP)
        )
        assert waiting.status.value == "awaiting_approval", waiting
    amount = Money(2_000, "EUR")
    transaction, _ = post_transaction(
        db,
        TransactionRequest(
            idempotency_key=unique("role-matrix"),
            kind="order.released",
            entries=(
                EntryRequest("platform:psp_clearing", Side.DEBIT, amount),
                EntryRequest(f"seller:{seller}:available", Side.CREDIT, amount),
            ),
        ),
        clock=clock,
    )
    return {
        "fee_plan_id": plan.id,
        "order_id": order_id,
        "event_id": parked.event_id,
        "transaction_id": str(transaction.id),
        **adjustments,
    }


def _person(db: Database, clock: FixedClock, seller: str) -> str:
    person, _ = onboarding.add_person(
        db, seller, onboarding.PersonSubmission(
            first_name="Camille", last_name="Martin", owner=True, ownership_percent=Decimal(5)
        ),
        idempotency_key=uuid.uuid4().hex, actor=SETUP, now=clock.now(),
    )  # fmt: skip
    return person.id


def _onboarding(db: Database, clock: FixedClock, seller: str) -> dict[str, str]:
    """A person to remove, and a document pending review (uploaded by nobody with a key)."""
    upload = onboarding.DocumentUpload(
        kind=DocumentKind.PROOF_OF_REGISTRATION, content=pdf(uuid.uuid4().hex)
    )
    document, _ = onboarding.upload_document(
        db, seller, upload, idempotency_key=uuid.uuid4().hex, actor=SETUP, now=clock.now()
    )
    return {"person_id": _person(db, clock, seller), "document_id": document.id}


def _reconciliation(db: Database, clock: FixedClock) -> tuple[bytes, dict[str, str]]:
    """A statement of a bank account of its own with three unmatched lines: an exception to
    work, and two write-offs asked for (by nobody with a key) to approve and to reject."""
    bank_account = unique("rm").lower()
    data = camt053([debit(f"L{n}", 100 * n, STATEMENT_DAY) for n in (1, 2, 3)], on=STATEMENT_DAY)
    outcome = reconciliation.import_statement(
        db, data, filename="day.xml", bank_account=bank_account, clock=clock, actor=SETUP
    )
    where = reconciliation.ExceptionFilter(bank_account=bank_account)
    views, _ = reconciliation.list_exceptions(db, where)
    assert len(views) == 3, views
    for view in views[1:]:
        reconciliation.resolve_exception(
            db, view.id, resolution="write_off", note="bank fee", actor=SETUP, clock=clock
        )
    return data, {
        "bank_account": bank_account,
        "statement_id": outcome.statement_ids[0],
        "exception_id": views[0].id,
        "approve_exception_id": views[1].id,
        "reject_exception_id": views[2].id,
    }


def _webhooks(db: Database, clock: FixedClock) -> dict[str, str]:
    """A disabled endpoint (the `db` is shared: an enabled one would get other tests' events)."""
    endpoint, _ = events.create_webhook_endpoint(
        db, url="https://example.invalid/role-matrix", event_types=["payout.paid"],
        allow_http=False, clock=clock,
    )  # fmt: skip
    events.disable_webhook_endpoint(db, endpoint.id, clock=clock)
    return {"endpoint_id": endpoint.id}


# --- what each route is sent --------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One request: path ids replacing the defaults, query, body, headers.

    `absent`: the path names an id that does not exist (on purpose: see `world`), so a role
    holding the permission gets 404. `after` undoes what the request left behind.
    """

    path: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    data: Mapping[str, str] | None = None
    files: Mapping[str, tuple[str, bytes, str]] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    absent: bool = False
    after: Callable[[World, Response], None] | None = None


def _key() -> dict[str, str]:
    return {"Idempotency-Key": f"role-matrix-{uuid.uuid4().hex}"}


def _disable_created_endpoint(world: World, response: Response) -> None:
    if response.status_code == 201:
        events.disable_webhook_endpoint(world.db, response.json()["id"], clock=world.clock)


def _statement_upload(w: World) -> Call:
    return Call(
        query={"bank_account": w.ids["bank_account"], "filename": "day.xml"},
        content=w.statement_file,
        headers={"Content-Type": "application/octet-stream"},
    )


def _webhook_endpoint(_: World) -> Call:
    body = {"url": "https://example.invalid/role-matrix", "event_types": ["payout.paid"]}
    return Call(json=body, after=_disable_created_endpoint)


def _fee_plan(w: World) -> Call:
    rules = [{"bps": 1_200}]
    body = {"name": "role matrix", "seller_id": w.seller, "effective_from": "2026-01-01T00:00:00Z"}
    return Call(json={**body, "rules": rules})


def _bank_account(_: World) -> Call:
    details = {"format": "iban", "iban": "ES9121000418450200051332"}
    body = {"holder_name": "Acme Refurb SAS", "currency": "EUR", "details": details}
    return Call(json={**body, "make_default": False}, headers=_key())


def _document(_: World) -> Call:
    files = {"file": ("kbis.pdf", pdf(uuid.uuid4().hex), "application/pdf")}
    return Call(data={"kind": "proof_of_registration"}, files=files, headers=_key())


def _other(name: str, **fields: Any) -> Callable[[World], Call]:
    """The route acts on the object `name` of the world (not the default one of its kind)."""

    def call(w: World) -> Call:
        kind = re.sub(r"^[a-z]+_", "", name)  # approve_payout_id → payout_id
        return Call(path={kind: w.objects[name]}, **fields)

    return call


def _fixed(**fields: Any) -> Callable[[World], Call]:
    return lambda _: Call(**fields)


_NOTE = {"note": "role matrix"}
RECIPES: dict[tuple[str, str], Callable[[World], Call]] = {
    ("POST", "/v1/ledger/transactions"): lambda w: Call(json=order_paid(w.seller), headers=_key()),
    ("POST", "/v1/ledger/transactions/batch"): _fixed(json={"transactions": []}),
    ("GET", "/v1/ledger/accounts/{code}/entries"): _fixed(query={"currency": "EUR"}),
    ("POST", "/v1/marketplace/events"): _fixed(json={"events": []}),
    ("POST", "/v1/marketplace/adjustments/{adjustment_id}/reject"): _other("reject_adjustment_id"),
    ("POST", "/v1/fee-plans"): _fee_plan,
    ("GET", "/v1/fee-plans"): lambda w: Call(query={"seller_id": w.seller}),
    ("POST", "/v1/webhook-endpoints"): _webhook_endpoint,
    ("PATCH", "/v1/webhook-endpoints/{endpoint_id}"): _fixed(json={"description": "role matrix"}),
    ("GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}"): _fixed(absent=True),
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/retry"): _fixed(
        absent=True
    ),
    ("POST", "/v1/sellers"): _fixed(json={"legal_name": "Role Matrix SAS", "country": "FR"}),
    ("GET", "/v1/sellers"): _fixed(query={"limit": "1"}),
    ("PATCH", "/v1/sellers/{seller_id}"): _fixed(json={"metadata": {"role_matrix": "yes"}}),
    ("PUT", "/v1/sellers/{seller_id}/onboarding"): _fixed(json={"business_type": "company"}),
    ("POST", "/v1/sellers/{seller_id}/persons"): lambda _: Call(
        json={"first_name": "Jo", "last_name": "Doe", "owner": True, "ownership_percent": "1"},
        headers=_key(),
    ),
    ("POST", "/v1/sellers/{seller_id}/documents"): _document,
    ("GET", "/v1/compliance/queue"): _fixed(query={"limit": "1"}),
    ("POST", "/v1/compliance/documents/{document_id}/review"): lambda _: Call(
        json={"decision": "approve"}, headers=_key()
    ),
    ("POST", "/v1/compliance/sellers/{seller_id}/decision"): lambda _: Call(
        json={"scope": "verification", "decision": "approve"}, headers=_key()
    ),
    ("GET", "/v1/audit"): _fixed(query={"limit": "1"}),
    ("POST", "/v1/sellers/{seller_id}/bank-accounts"): _bank_account,
    ("POST", "/v1/bank-accounts/{bank_account_id}/default"): _other("default_bank_account_id"),
    ("POST", "/v1/bank-accounts/{bank_account_id}/release-hold"): _other("held_bank_account_id"),
    ("POST", "/v1/bank-accounts/{bank_account_id}/verify"): _fixed(json={"note": "bank letter"}),
    ("POST", "/v1/reconciliation/statements"): _statement_upload,
    ("GET", "/v1/reconciliation/statements"): lambda w: Call(
        query={"bank_account": w.ids["bank_account"]}
    ),
    ("PUT", "/v1/reconciliation/csv-mappings/{bank_account}"): _fixed(
        json={"date_column": "Date", "amount_column": "Amount", "currency": "EUR"}
    ),
    ("GET", "/v1/reconciliation/exceptions"): lambda w: Call(
        query={"bank_account": w.ids["bank_account"]}
    ),
    ("POST", "/v1/reconciliation/exceptions/{exception_id}/assign"): _fixed(
        json={"owner": "role matrix"}
    ),
    ("POST", "/v1/reconciliation/exceptions/{exception_id}/notes"): _fixed(
        json={"text": "role matrix"}
    ),
    ("POST", "/v1/reconciliation/exceptions/{exception_id}/resolve"): _fixed(
        json={"resolution": "write_off", "note": "role matrix"}
    ),
    ("POST", "/v1/reconciliation/exceptions/{exception_id}/approve"): _other(
        "approve_exception_id"
    ),
    ("POST", "/v1/reconciliation/exceptions/{exception_id}/reject"): _other(
        "reject_exception_id", json=_NOTE
    ),
    ("POST", "/v1/payouts"): lambda w: Call(
        json={"seller_id": w.seller, "currency": "EUR", "amount_minor": 100}, headers=_key()
    ),
    ("GET", "/v1/payouts"): lambda w: Call(query={"seller_id": w.seller}),
    ("POST", "/v1/payouts/{payout_id}/approve"): _other("approve_payout_id", json=_NOTE),
    ("POST", "/v1/payouts/{payout_id}/reject"): _other("reject_payout_id", json=_NOTE),
    ("POST", "/v1/payouts/{payout_id}/cancel"): _other("cancel_payout_id", json=_NOTE),
    # the run made in `world` again: answered as it is, nobody paid (a new run would walk
    # every balance of the shared database)
    ("POST", "/v1/payout-runs"): lambda w: Call(
        json={"run_on": w.clock.now().date().isoformat(), "run_key": w.run_key}
    ),
    ("PUT", "/v1/sellers/{seller_id}/payout-schedules/{currency}"): _fixed(
        json={"interval": "daily", "minimum_minor": 100}
    ),
    ("GET", "/v1/screening/matches"): lambda w: Call(query={"seller_id": w.seller}),
    ("GET", "/v1/screening/matches/{match_id}"): _fixed(absent=True),
    ("POST", "/v1/screening/matches/{match_id}/decision"): _fixed(
        json={"decision": "clear", "note": "role matrix"}, absent=True
    ),
    # not a list file (a real one would be screened against every seller of the shared db)
    ("POST", "/v1/screening/lists"): _fixed(
        query={"list": "eu-fsf", "rescreen": "false"},
        content=b"<not-a-sanctions-list/>",
        headers={"Content-Type": "application/xml"},
    ),
    ("GET", "/v1/sellers/{seller_id}/statements"): _fixed(query={"currency": "EUR"}),
    ("GET", "/v1/reports/cash-position"): _fixed(query={"from": "2026-01-01", "to": "2026-01-05"}),
    ("GET", "/v1/reports/revenue"): _fixed(
        query={"from": "2026-01-01T00:00:00Z", "to": "2026-01-06T00:00:00Z"}
    ),
}


def send_call(
    world: World, route: tuple[str, str], caller: str, *, swap: tuple[str, str] = ("", "")
) -> tuple[Response, Call]:
    """Send `route`'s request as `caller`; `swap` replaces an id by another in its path and
    body (to ask for a missing object instead of seller A's)."""
    method, template = route
    call = RECIPES.get(route, _fixed())(world)
    url = template.format_map({**world.ids, **call.path})
    body = call.json
    if swap[0]:
        url = url.replace(*swap)
        body = json.loads(json.dumps(body).replace(*swap))
    headers = dict(call.headers)
    if caller != "anonymous":
        headers.update(world.keys.of(caller))
    response = world.client.request(
        method,
        url,
        params=dict(call.query),
        json=body,
        content=call.content,
        data=call.data,
        files=call.files,
        headers=headers,
    )
    if call.after is not None:
        call.after(world, response)
    return response, call


# --- what each caller must get ---------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    permission: Permission | None = None


def refusal(rule: Rule, caller: str) -> Refusal | None:
    """What `caller` must be refused with on a route of `rule`, or None if let through."""
    if isinstance(rule, Public):
        return None
    if caller == "anonymous":
        return Refusal(401, "api_key_required")
    if caller in STAFF:
        missing = missing_permission(Role(caller), rule.permissions)
        return None if missing is None else Refusal(403, "permission_required", missing)
    if isinstance(rule, Staff):
        if rule.seller_status == 404:
            return Refusal(404, rule.seller_code)
        return Refusal(403, rule.seller_code, rule.permissions[0])
    if isinstance(rule, SellerFiltered):
        return None
    if caller == "other_seller":
        return Refusal(404, rule.hidden_as)
    if rule.own == "refused":
        return Refusal(403, "permission_required", rule.permissions[0])
    return None


def _seller_ids_in(document: Any) -> set[str]:
    """Every `seller_id` value anywhere in a JSON document."""
    if isinstance(document, list):
        return {found for item in document for found in _seller_ids_in(item)}
    if not isinstance(document, dict):
        return set()
    found = {str(document["seller_id"])} if "seller_id" in document else set()
    return found | {f for value in document.values() for f in _seller_ids_in(value)}


def assert_let_through(
    world: World, rule: Rule, caller: str, response: Response, call: Call
) -> None:
    where = f"{caller}: {response.status_code} {response.text[:500]}"
    assert response.status_code not in (401, 403), where
    if response.headers.get("content-type") == "application/problem+json":
        # refused as malformed, the request would not have reached the route's authorization
        assert response.json()["code"] != "invalid_request", where
    if response.status_code == 404:
        assert call.absent and caller in STAFF, where
    if isinstance(rule, SellerFiltered) and caller in ("seller", "other_seller"):
        own = world.seller if caller == "seller" else world.other_seller
        assert response.status_code == 200, where
        assert _seller_ids_in(response.json()) <= {own}, where
        if caller == "seller":
            assert world.ids["payout_id"] in response.text, where


def _route_id(route: tuple[str, str]) -> str:
    return f"{route[0]} {route[1]}"


CASES = [(route, caller) for route in sorted(MATRIX) for caller in CALLERS]


@pytest.mark.parametrize(("route", "caller"), CASES, ids=[f"{_route_id(r)}-{c}" for r, c in CASES])
def test_every_route_answers_every_caller_as_the_role_matrix_says(
    world: World, route: tuple[str, str], caller: str
) -> None:
    rule = MATRIX[route]

    response, call = send_call(world, route, caller)

    refused = refusal(rule, caller)
    if refused is None:
        assert_let_through(world, rule, caller, response, call)
        return
    body = assert_problem(response, refused.status, refused.code)
    if refused.permission is not None:
        assert body["permission"] == refused.permission.value, body
    if refused.status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    # a refusal never tells whose the object is (unless the request named its seller)
    if world.seller not in f"{response.url} {json.dumps(call.json)}":
        assert world.seller not in response.text, body


SCOPED = sorted(route for route, rule in MATRIX.items() if isinstance(rule, SellerScoped))
_OWNED_KINDS = {"payout_id": "po", "bank_account_id": "ba", "order_id": "ord"}


@pytest.mark.parametrize("route", SCOPED, ids=_route_id)
def test_another_sellers_resource_is_answered_exactly_as_a_missing_one(
    world: World, route: tuple[str, str]
) -> None:
    """Seller B cannot tell seller A's ids from ids that do not exist: the same 404, word for
    word (RELIABILITY.md: "404, not 403, so ids do not leak")."""
    kind = next((k for k in _OWNED_KINDS if f"{{{k}}}" in route[1]), None)
    if kind is None:  # the seller's id names the resource (path, account code or body)
        real, missing = world.seller, f"sel_{uuid.uuid4().hex}"
    else:
        real = {**world.ids, **RECIPES.get(route, _fixed())(world).path}[kind]
        missing = prefixed_id(_OWNED_KINDS[kind])

    foreign, _ = send_call(world, route, "other_seller")
    absent, _ = send_call(world, route, "other_seller", swap=(real, missing))

    assert (foreign.status_code, absent.status_code) == (404, 404), (foreign.text, absent.text)
    assert foreign.text.replace(real, "<id>") == absent.text.replace(missing, "<id>")


# --- the matrix covers what is served ----------------------------------------------------------


@pytest.fixture(scope="module")
def served_app() -> Iterator[FastAPI]:
    """The application as served, for its route list (no request reaches its database)."""
    database = Database("sqlite://")
    yield create_app(db=database)
    database.dispose()


def _openapi_routes(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (method.upper(), path) for path, item in app.openapi()["paths"].items() for method in item
    }


def test_every_route_of_the_openapi_document_has_a_rule_and_no_rule_is_stale(
    served_app: FastAPI,
) -> None:
    served = _openapi_routes(served_app)

    assert sorted(served - MATRIX.keys()) == [], "served without a rule in role_matrix.MATRIX"
    assert sorted(MATRIX.keys() - served) == [], "a rule for a route that is not served"
    assert sorted(RECIPES.keys() - MATRIX.keys()) == []


def test_the_routes_outside_the_openapi_document_are_known_and_need_no_key(
    world: World, served_app: FastAPI
) -> None:
    routes = {
        (method, str(route.path))
        for route in iter_route_contexts(served_app.routes)
        for method in route.methods or ()
        if method != "HEAD"
    }

    assert routes - _openapi_routes(served_app) == UNLISTED.keys()
    for method, path in UNLISTED:
        assert world.client.request(method, path).status_code == 200, path


# --- seller A naming seller B's objects inside its own requests ------------------------------


def test_a_seller_cannot_pay_itself_to_another_sellers_bank_account(world: World) -> None:
    body = {"seller_id": world.seller, "currency": "EUR", "amount_minor": 100}

    response = world.client.post(
        "/v1/payouts",
        json={**body, "bank_account_id": world.other_bank_account},
        headers={**world.keys.of("seller"), **_key()},
    )

    assert_problem(response, 422, "bank_account_not_usable", field="bank_account_id")


def test_a_seller_cannot_make_a_manual_payout_even_for_itself(world: World) -> None:
    body = {"seller_id": world.seller, "currency": "EUR", "amount_minor": 100, "kind": "manual"}

    response = world.client.post(
        "/v1/payouts", json=body, headers={**world.keys.of("seller"), **_key()}
    )

    body = assert_problem(response, 403, "permission_required")
    assert body["permission"] == Permission.PAYOUTS_CREATE.value


def test_a_seller_cannot_remove_another_sellers_person_through_its_own_path(
    world: World,
) -> None:
    path = f"/v1/sellers/{world.seller}/persons/{world.other_person}"

    response = world.client.delete(path, headers=world.keys.of("seller"))

    assert_problem(response, 404, "person_not_found")


def test_a_seller_cannot_file_a_document_under_another_sellers_person(world: World) -> None:
    files = {"file": ("id.pdf", pdf(uuid.uuid4().hex), "application/pdf")}
    data = {"kind": "proof_of_identity", "person_id": world.other_person}

    response = world.client.post(
        f"/v1/sellers/{world.seller}/documents",
        data=data,
        files=files,
        headers={**world.keys.of("seller"), **_key()},
    )

    assert_problem(response, 404, "person_not_found", field="body.person_id")


def test_a_seller_reads_no_account_of_another_seller_by_its_code(world: World) -> None:
    for suffix in ("available", "pending"):
        code = f"seller:{world.other_seller}:{suffix}"
        response = world.client.get(f"/v1/ledger/accounts/{code}", headers=world.keys.of("seller"))
        assert_problem(response, 404, "account_not_found")


_KEYED_WRITES = [
    ("POST", "/v1/sellers/{seller_id}/bank-accounts"),
    ("POST", "/v1/sellers/{seller_id}/persons"),
    ("POST", "/v1/sellers/{seller_id}/documents"),
]


@pytest.mark.parametrize("route", _KEYED_WRITES, ids=_route_id)
def test_a_seller_reusing_another_sellers_idempotency_key_gets_its_own_object(
    world: World, route: tuple[str, str]
) -> None:
    """Idempotency keys are kept per seller: seller B sending seller A's key (and the same
    body) creates B's object, never replays A's nor says the key was taken."""
    call = RECIPES[route](world)
    path = route[1].format_map({**world.ids, **call.path})
    first = world.client.request(
        route[0], path, json=call.json, data=call.data, files=call.files,
        headers={**call.headers, **world.keys.of("seller")},
    )  # fmt: skip
    other_path = path.replace(world.seller, world.other_seller)

    second = world.client.request(
        route[0], other_path, json=call.json, data=call.data, files=call.files,
        headers={**call.headers, **world.keys.of("other_seller")},
    )  # fmt: skip

    assert (first.status_code, second.status_code) == (201, 201), second.text
    assert "Idempotent-Replayed" not in second.headers
    assert second.json()["id"] != first.json()["id"]
    assert world.seller not in second.text


def test_a_seller_reusing_another_sellers_idempotency_key_for_a_payout_gets_no_replay(
    world: World,
) -> None:
    """(A third seller of its own: seller A and B have started onboarding, so their payouts
    wait for it.)"""
    paid_seller = funded_seller(world.db, world.clock, f"sel_{uuid.uuid4().hex}").id
    _, plaintext = create_api_key(
        world.db, name="paid seller", role=Role.SELLER, seller_id=paid_seller, clock=world.clock
    )
    key = _key()
    body = {"seller_id": paid_seller, "currency": "EUR", "amount_minor": 100}
    made = world.client.post(
        "/v1/payouts", json=body, headers={**key, "Authorization": f"Bearer {plaintext}"}
    )

    again = world.client.post(
        "/v1/payouts", json={**body, "seller_id": world.seller},
        headers={**key, **world.keys.of("seller")},
    )  # fmt: skip

    assert made.status_code == 201, made.text
    assert again.status_code != 200 and "Idempotent-Replayed" not in again.headers
    assert made.json()["id"] not in again.text and paid_seller not in again.text
    assert again.json()["code"] != "idempotency_key_reused"


# --- docs/api.md shows the matrix of the code ----------------------------------------------------


@pytest.mark.parametrize("table", roles_section(), ids=["roles", "seller-scoped", "four-eyes"])
def test_the_roles_section_of_the_api_docs_is_the_one_the_code_gives(table: str) -> None:
    """docs/api.md carries the tables `role_matrix.roles_section()` renders from
    `ROLE_PERMISSIONS` and `MATRIX` (regenerate: `python tests/api/role_matrix.py`)."""
    assert table in DOCS.read_text(encoding="utf-8"), table
