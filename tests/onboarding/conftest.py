"""Fixtures of the onboarding tests: the application over the shared `db`, a key per role, and
documents stored in a folder of the test's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from onboarding_builders import CLIENT_ADDRESS, new_seller, new_seller_id

from http_support import Keys, role_keys
from sellerpay.api import create_app
from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.onboarding.documents import DocumentStore
from sellerpay.settings import get_settings


@pytest.fixture(autouse=True)
def documents_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Uploaded documents land in this test's folder (the settings object is patched, so the
    rest of the settings stay as they are)."""
    directory = tmp_path / "documents"
    monkeypatch.setattr(get_settings(), "documents_directory", directory)
    return directory


@pytest.fixture
def store(documents_directory: Path) -> DocumentStore:
    return DocumentStore(documents_directory)


@pytest.fixture
def client(db: Database, clock: FixedClock) -> Iterator[TestClient]:
    app = create_app(db=db, clock=clock)
    with TestClient(app, client=(CLIENT_ADDRESS, 50_000)) as test_client:
        yield test_client


@pytest.fixture
def seller(db: Database, clock: FixedClock, seller_id: str) -> str:
    """A French seller that exists (its onboarding not started)."""
    return new_seller(db, clock, seller_id=seller_id)


@pytest.fixture
def other_seller_id(db: Database, clock: FixedClock) -> str:
    """A second seller, whose key must never reach the first seller's onboarding."""
    return new_seller(db, clock, seller_id=new_seller_id())


@pytest.fixture
def keys(db: Database, clock: FixedClock, seller: str, other_seller_id: str) -> Keys:
    return role_keys(db, clock, seller_id=seller, other_seller_id=other_seller_id)
