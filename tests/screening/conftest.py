"""Fixtures of the screening API tests: the application over a fresh database (lists and
rescreens are global) and a key per role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from screening_builders import CLIENT_ADDRESS, new_seller_id

from http_support import Keys, role_keys
from sellerpay.api import create_app
from sellerpay.clock import FixedClock
from sellerpay.db import Database


@pytest.fixture
def client(fresh_db: Database, clock: FixedClock) -> Iterator[TestClient]:
    app = create_app(db=fresh_db, clock=clock)
    with TestClient(app, client=(CLIENT_ADDRESS, 50_000)) as test_client:
        yield test_client


@pytest.fixture
def keys(fresh_db: Database, clock: FixedClock, seller_id: str) -> Keys:
    return role_keys(fresh_db, clock, seller_id=seller_id, other_seller_id=new_seller_id())


@pytest.fixture
def shared_client(db: Database, clock: FixedClock) -> Iterator[TestClient]:
    """The application over the session's shared database: for tests that store nothing
    global (who may call which route), so they need no database of their own."""
    with TestClient(create_app(db=db, clock=clock)) as test_client:
        yield test_client


@pytest.fixture
def shared_keys(db: Database, clock: FixedClock, seller_id: str) -> Keys:
    return role_keys(db, clock, seller_id=seller_id, other_seller_id=new_seller_id())
