"""Fixtures of the sellers tests: the application over the shared `db`, and a key per role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sellers_builders import new_seller_id

from http_support import Keys, role_keys
from sellerpay.api import create_app
from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.settings import get_settings


@pytest.fixture(autouse=True)
def _capabilities_from_status_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about seller records: capabilities follow the status alone here
    (onboarding requirements have their own tests in tests/onboarding)."""
    monkeypatch.setattr(get_settings(), "onboarding_required", False)


@pytest.fixture
def client(db: Database, clock: FixedClock) -> Iterator[TestClient]:
    with TestClient(create_app(db=db, clock=clock)) as test_client:
        yield test_client


@pytest.fixture
def other_seller_id() -> str:
    """A second seller, whose records the first seller's key must never see."""
    return new_seller_id()


@pytest.fixture
def keys(db: Database, clock: FixedClock, seller_id: str, other_seller_id: str) -> Keys:
    return role_keys(db, clock, seller_id=seller_id, other_seller_id=other_seller_id)
