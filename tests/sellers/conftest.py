"""Fixtures of the sellers tests: the application over the shared `db`, and a key per role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sellers_builders import Keys, new_seller_id

from sellerpay.access.rules import Role
from sellerpay.access.service import create_api_key
from sellerpay.api import create_app
from sellerpay.clock import FixedClock
from sellerpay.db import Database


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
