"""Fixtures of the reporting tests: the API and its keys, a database the command line opens,
and payouts allowed without onboarding data (a seller keeps the capabilities of its status)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from http_support import Keys, role_keys
from sellerpay.api import create_app
from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.settings import get_settings


@pytest.fixture(autouse=True)
def _onboarding_not_required(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("SELLERPAY_ONBOARDING_REQUIRED", "false")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def other_seller_id() -> str:
    return f"sel_{uuid.uuid4().hex}"


@pytest.fixture
def client(db: Database, clock: FixedClock) -> Iterator[TestClient]:
    with TestClient(create_app(db=db, clock=clock)) as test_client:
        yield test_client


@pytest.fixture
def keys(db: Database, clock: FixedClock, seller_id: str, other_seller_id: str) -> Keys:
    """Keys for every role; `seller` is `seller_id`'s key, `other_seller` the other's."""
    return role_keys(db, clock, seller_id=seller_id, other_seller_id=other_seller_id)


@pytest.fixture
def whole_ledger(
    fresh_db: Database, clock: FixedClock, seller_id: str, other_seller_id: str
) -> Iterator[tuple[TestClient, Keys]]:
    """The API over a database of its own, for reports over the whole ledger (the shared one
    holds other tests' extreme amounts, whose totals no currency could hold)."""
    keys = role_keys(fresh_db, clock, seller_id=seller_id, other_seller_id=other_seller_id)
    with TestClient(create_app(db=fresh_db, clock=clock)) as test_client:
        yield test_client, keys


@pytest.fixture
def cli_db(fresh_db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """A fresh database that `sellerpay …` commands open (SELLERPAY_DATABASE_URL)."""
    monkeypatch.setenv(
        "SELLERPAY_DATABASE_URL", fresh_db.engine.url.render_as_string(hide_password=False)
    )
    get_settings.cache_clear()
    yield fresh_db
    get_settings.cache_clear()
