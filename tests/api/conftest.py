"""Fixtures of the API tests: the application over the shared `db`, and one API key per role."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from api_builders import Keys
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sellerpay.access.rules import Role
from sellerpay.access.service import create_api_key, revoke_api_key
from sellerpay.api import create_app
from sellerpay.clock import FixedClock
from sellerpay.db import Database


@pytest.fixture
def app(db: Database, clock: FixedClock) -> FastAPI:
    return create_app(db=db, clock=clock)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def other_seller_id() -> str:
    """A second seller, whose money the first seller's key must never see."""
    return f"sel_{uuid.uuid4().hex}"


@pytest.fixture
def keys(db: Database, clock: FixedClock, seller_id: str, other_seller_id: str) -> Keys:
    def key(role: Role, seller: str | None = None) -> str:
        _, plaintext = create_api_key(
            db, name=f"test {role.value}", role=role, seller_id=seller, clock=clock
        )
        return plaintext

    revoked_key, revoked = create_api_key(db, name="revoked", role=Role.FINANCE, clock=clock)
    revoke_api_key(db, revoked_key.id, clock=clock)
    return Keys(
        finance=key(Role.FINANCE),
        operator=key(Role.OPERATOR),
        compliance=key(Role.COMPLIANCE),
        admin=key(Role.ADMIN),
        seller=key(Role.SELLER, seller_id),
        other_seller=key(Role.SELLER, other_seller_id),
        revoked=revoked,
    )
