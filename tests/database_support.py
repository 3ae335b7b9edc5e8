"""Throw-away test databases on SQLite and PostgreSQL (imported by conftest.py and by tests
that need a database of their own; kept out of conftest.py so that importing it never picks up
another folder's conftest)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from sellerpay.db import Database
from sellerpay.db.migrate import upgrade

POSTGRES_URL = os.environ.get(
    "SELLERPAY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgresql),
]


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def require_postgres() -> str:
    """The admin URL of a reachable PostgreSQL server, or skip (fail in CI) saying why."""
    try:
        with psycopg.connect(_libpq(POSTGRES_URL), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        message = f"PostgreSQL unreachable at {POSTGRES_URL}: {error}".strip()
        if IN_CI:
            pytest.fail(f"CI=true and {message}: the PostgreSQL suite is mandatory", pytrace=False)
        pytest.skip(f"SKIPPING THE POSTGRESQL SUITE: {message}")
    return POSTGRES_URL


class DatabaseFactory:
    """Creates throw-away databases (a file, or a PostgreSQL database) and drops them after."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._cleanups: list[Callable[[], None]] = []
        self._own: dict[int, list[Callable[[], None]]] = {}

    def create(self, backend: str, *, migrate: bool = True) -> Database:
        name = f"sellerpay_test_{uuid.uuid4().hex[:12]}"
        own: list[Callable[[], None]] = []
        if backend == "sqlite":
            db = Database(f"sqlite:///{self.directory / name}.db")
        else:
            admin = require_postgres()
            with psycopg.connect(_libpq(admin), autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            url = make_url(admin).set(database=name).render_as_string(hide_password=False)
            db = Database(url, pool_size=4)
            own.append(lambda: _drop_pg(admin, name))
        own.append(db.dispose)
        self._own[id(db)] = own
        self._cleanups.extend(own)
        if migrate:
            upgrade(db)
        return db

    def discard(self, db: Database) -> None:
        """Dispose of `db` and drop it now (a test's own database): its connections must not
        stay open until the session ends, or PostgreSQL runs out of connection slots."""
        for cleanup in reversed(self._own.pop(id(db), [])):
            self._cleanups.remove(cleanup)
            cleanup()

    def close(self) -> None:
        for cleanup in reversed(self._cleanups):
            cleanup()
        self._cleanups.clear()


def _drop_pg(admin: str, name: str) -> None:
    with psycopg.connect(_libpq(admin), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
