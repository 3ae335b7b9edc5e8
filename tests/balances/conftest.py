"""Fixtures of the balances tests: sellers that exist, their ledgers, the API and its keys."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from balances_builders import Keys, SellerLedger
from fastapi.testclient import TestClient

from sellerpay.access.rules import Role
from sellerpay.access.service import create_api_key
from sellerpay.api import create_app
from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.sellers.service import create_seller


@pytest.fixture
def other_seller_id() -> str:
    return f"sel_{uuid.uuid4().hex}"


@pytest.fixture
def ledger(db: Database, clock: FixedClock, seller_id: str) -> SellerLedger:
    """A French seller (EUR) that exists, and a way to post movements on its accounts."""
    create_seller(db, seller_id=seller_id, legal_name="Acme Refurb", country="FR", clock=clock)
    return SellerLedger(db, clock, seller_id)


@pytest.fixture
def other_ledger(db: Database, clock: FixedClock, other_seller_id: str) -> SellerLedger:
    """A second seller, whose money the first seller's key must never see."""
    create_seller(db, seller_id=other_seller_id, legal_name="Other Co", country="ES", clock=clock)
    return SellerLedger(db, clock, other_seller_id)


@pytest.fixture
def client(db: Database, clock: FixedClock) -> Iterator[TestClient]:
    with TestClient(create_app(db=db, clock=clock)) as test_client:
        yield test_client


@pytest.fixture
def keys(db: Database, clock: FixedClock, seller_id: str, other_seller_id: str) -> Keys:
    def key(role: Role, seller: str | None = None) -> str:
        _, plaintext = create_api_key(
            db, name=f"test {role.value}", role=role, seller_id=seller, clock=clock
        )
        return plaintext

    return Keys(
        marketplace=key(Role.MARKETPLACE),
        operator=key(Role.OPERATOR),
        compliance=key(Role.COMPLIANCE),
        finance=key(Role.FINANCE),
        risk=key(Role.RISK),
        approver=key(Role.APPROVER),
        admin=key(Role.ADMIN),
        seller=key(Role.SELLER, seller_id),
        other_seller=key(Role.SELLER, other_seller_id),
    )
