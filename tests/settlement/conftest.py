"""Fixtures of the money-in tests: an open seller with their own fee plan on the shared `db`,
and for the API tests the application and one API key per role that matters here."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from settlement_builders import Keys, open_seller

from sellerpay.access.rules import Role
from sellerpay.access.service import create_api_key
from sellerpay.api import create_app
from sellerpay.clock import FixedClock
from sellerpay.db import Database


@pytest.fixture
def seller(db: Database, clock: FixedClock, seller_id: str) -> str:
    """An active seller (standard risk tier) with a 12 % plan (8 % on laptops) + 0.30 EUR/order."""
    return open_seller(db, clock, seller_id)


@pytest.fixture
def other_seller(db: Database, clock: FixedClock) -> str:
    """A second seller, whose orders the first seller's key must never see."""
    return open_seller(db, clock, f"sel_{uuid.uuid4().hex}")


@pytest.fixture
def app(db: Database, clock: FixedClock) -> FastAPI:
    return create_app(db=db, clock=clock)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def keys(db: Database, clock: FixedClock, seller: str, other_seller: str) -> Keys:
    approver_name = f"approver {uuid.uuid4().hex[:8]}"

    def key(role: Role, name: str, seller_id: str | None = None) -> str:
        return create_api_key(db, name=name, role=role, seller_id=seller_id, clock=clock)[1]

    return Keys(
        marketplace=key(Role.MARKETPLACE, "marketplace orders service"),
        operator=key(Role.OPERATOR, "ops"),
        approver=key(Role.APPROVER, approver_name),
        approver_name=approver_name,
        finance=key(Role.FINANCE, "finance"),
        compliance=key(Role.COMPLIANCE, "compliance"),
        seller=key(Role.SELLER, "seller", seller),
        other_seller=key(Role.SELLER, "other seller", other_seller),
    )
