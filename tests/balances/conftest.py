"""Fixtures of the balances tests: sellers that exist, their ledgers, the API and its keys."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from balances_builders import SellerLedger
from fastapi.testclient import TestClient

from http_support import Keys, role_keys
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
    return role_keys(db, clock, seller_id=seller_id, other_seller_id=other_seller_id)
