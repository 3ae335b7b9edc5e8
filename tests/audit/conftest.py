"""Fixtures of the audit tests: a fresh database the command line is pointed at."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sellerpay.db import Database
from sellerpay.settings import get_settings


@pytest.fixture
def cli_db(fresh_db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """A fresh database that `sellerpay …` commands open (SELLERPAY_DATABASE_URL)."""
    monkeypatch.setenv(
        "SELLERPAY_DATABASE_URL", fresh_db.engine.url.render_as_string(hide_password=False)
    )
    get_settings.cache_clear()
    yield fresh_db
    get_settings.cache_clear()
