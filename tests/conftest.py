"""Shared fixtures: a fresh database per run on SQLite and on PostgreSQL, and a fixed clock.

Every persistence test takes `db` (or `fresh_db`) and so runs on both backends. PostgreSQL is
found at SELLERPAY_TEST_POSTGRES_URL (default: the local server as user postgres). When it is
unreachable the PostgreSQL half is skipped with a loud reason, except in CI (CI=true), where it
is an error: the suite never passes without having run on PostgreSQL there.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from database_support import BACKENDS, DatabaseFactory, require_postgres
from sellerpay.clock import FixedClock
from sellerpay.db import Database

__all__ = ["BACKENDS", "DatabaseFactory", "require_postgres"]


@pytest.fixture(scope="session")
def database_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path_factory.mktemp("databases"))
    yield factory
    factory.close()


@pytest.fixture(scope="session", params=BACKENDS)
def db(request: pytest.FixtureRequest, database_factory: DatabaseFactory) -> Database:
    """One migrated database per backend for the whole run; tests keep to their own accounts."""
    return database_factory.create(request.param)


@pytest.fixture(params=BACKENDS)
def fresh_db(
    request: pytest.FixtureRequest, database_factory: DatabaseFactory
) -> Iterator[Database]:
    """A new, empty, migrated database for one test (for tests that look at the whole ledger),
    dropped when the test ends."""
    db = database_factory.create(request.param)
    yield db
    database_factory.discard(db)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))


@pytest.fixture
def seller_id() -> str:
    """A seller id no other test uses, so tests sharing `db` never see each other's money."""
    return f"sel_{uuid.uuid4().hex}"
