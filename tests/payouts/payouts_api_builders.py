"""Builders of the payouts API tests: the application with the test key ring, the actor an API
key acts as, request bodies, and a bank account changed by a named person.

Imported by the test modules of this folder (pytest puts the folder on `sys.path`); the funded
sellers and the fake bank come from `payouts_builders`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from payouts_builders import KEYRING

from http_support import Keys
from sellerpay.access.rules import Principal, Role, split_key
from sellerpay.api import create_app
from sellerpay.audit.rules import actor_of
from sellerpay.bankaccounts import service as bank_accounts
from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.rails.instructions import IbanAccount

PAYOUTS = "/v1/payouts"
RUNS = "/v1/payout-runs"
HOLDER = "Acme Refurb SAS"
OTHER_IBAN = "DE89370400440532013000"


@contextmanager
def api_client(
    db: Database, clock: FixedClock, *, raise_server_exceptions: bool = True
) -> Iterator[TestClient]:
    """The application over `db` on `clock`, with the key ring the payouts builders encrypt
    bank account numbers under (so the service can decrypt them to choose a rail).

    `raise_server_exceptions=False` turns an unexpected error into the 500 a client would see
    (the bad-input tests assert there is none)."""
    app = create_app(db=db, clock=clock)
    app.state.keyring = KEYRING
    with TestClient(app, raise_server_exceptions=raise_server_exceptions) as client:
        yield client


def new_key() -> str:
    """A fresh Idempotency-Key."""
    return f"idem-{uuid.uuid4().hex}"


def actor_of_key(keys: Keys, who: str) -> str:
    """The actor text the API records for the role key `who` (as `role_keys` named it)."""
    plaintext: str = getattr(keys, who)
    parts = split_key(plaintext)
    assert parts is not None, "role_keys makes well-formed keys"
    role = Role(who)
    return actor_of(Principal(parts[0], f"test {role.value}", role))


def payout_body(seller_id: str, **fields: Any) -> dict[str, Any]:
    """A `POST /v1/payouts` body in EUR (the whole balance unless `amount_minor` is given)."""
    return {"seller_id": seller_id, "currency": "EUR", **fields}


def post_payout(
    client: TestClient,
    keys: Keys,
    who: str,
    body: dict[str, Any],
    *,
    idempotency_key: str | None = None,
) -> Any:
    headers = {**keys.of(who), "Idempotency-Key": idempotency_key or new_key()}
    return client.post(PAYOUTS, json=body, headers=headers)


def created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def change_bank_account(db: Database, clock: FixedClock, seller_id: str, *, actor: str) -> str:
    """`actor` makes a new, verified account the seller's EUR default (its cool-down already
    over): the last person to change the account a payout goes to."""
    account, _ = bank_accounts.add_bank_account(
        db,
        seller_id=seller_id,
        details=IbanAccount(OTHER_IBAN),
        holder_name=HOLDER,
        currency="EUR",
        make_default=True,
        actor=actor,
        now=clock.now() - timedelta(hours=100),
        keyring=KEYRING,
    )
    with db.transaction() as conn:
        bank_accounts.record_verification(
            conn, account.id, note="test: name matches", actor="system:test", now=clock.now()
        )
    return account.id


def available_shown(client: TestClient, keys: Keys, seller_id: str, currency: str = "EUR") -> int:
    """The seller's available balance as `GET /v1/sellers/{id}/balance` shows it to the seller."""
    response = client.get(f"/v1/sellers/{seller_id}/balance", headers=keys.of("seller"))
    assert response.status_code == 200, response.text
    for balance in response.json()["balances"]:
        if balance["currency"] == currency:
            amount: int = balance["available"]["amount_minor"]
            return amount
    return 0
