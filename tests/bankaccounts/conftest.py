"""Fixtures of the bank accounts tests: sellers, the application over the shared `db` with the
test key ring, and a key per role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bankaccounts_builders import KEYRING, make_seller, new_seller_id
from fastapi.testclient import TestClient

from http_support import Keys, role_keys
from sellerpay.api import create_app
from sellerpay.clock import FixedClock
from sellerpay.db import Database


@pytest.fixture
def seller(db: Database, clock: FixedClock) -> str:
    """A new seller on the shared database."""
    return make_seller(db, clock)


@pytest.fixture
def other_seller(db: Database, clock: FixedClock) -> str:
    """A second seller, whose accounts the first seller's key must never see."""
    return make_seller(db, clock)


@pytest.fixture
def client(db: Database, clock: FixedClock) -> Iterator[TestClient]:
    app = create_app(db=db, clock=clock)
    app.state.keyring = KEYRING
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def keys(db: Database, clock: FixedClock, seller: str, other_seller: str) -> Keys:
    return role_keys(db, clock, seller_id=seller, other_seller_id=other_seller)


@pytest.fixture
def unknown_seller() -> str:
    return new_seller_id()
