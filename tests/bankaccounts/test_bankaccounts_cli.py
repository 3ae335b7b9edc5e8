"""`sellerpay bank-accounts reencrypt|list` on SQLite and PostgreSQL: rotation moves every
account under the new key and says so; a listing shows accounts masked, never their numbers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bankaccounts_builders import (
    ABA_ACCOUNT,
    FR_IBAN,
    aba,
    add,
    iban,
    make_seller,
    setting,
    stored_key_id,
)
from typer.testing import CliRunner

from sellerpay.cli.main import app
from sellerpay.clock import FixedClock
from sellerpay.crypto import KeyRing
from sellerpay.db import Database
from sellerpay.settings import get_settings


@pytest.fixture
def runner(fresh_db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("SELLERPAY_DATABASE_URL", fresh_db.url)
    monkeypatch.setenv("SELLERPAY_ENCRYPTION_KEYS", setting("k2", "k1"))
    monkeypatch.setenv("COLUMNS", "200")  # the table's full width, as on a wide terminal
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_reencrypt_moves_every_account_to_the_current_key_once(
    fresh_db: Database, clock: FixedClock, runner: CliRunner
) -> None:
    old = KeyRing.from_setting(setting("k1"))
    seller = make_seller(fresh_db, clock)
    made = [add(fresh_db, clock, seller, aba(f"5555{n}"), keyring=old) for n in range(3)]

    first = runner.invoke(app, ["bank-accounts", "reencrypt", "--batch-size", "2"])
    second = runner.invoke(app, ["bank-accounts", "reencrypt"])

    assert first.exit_code == 0, first.output
    assert "re-encrypted 3 bank account(s) under key k2; 0 left under other keys" in first.output
    assert "re-encrypted 0 bank account(s)" in second.output
    assert {stored_key_id(fresh_db, a.id) for a in made} == {"k2"}


def test_reencrypt_without_the_old_key_stops_with_one_clear_line(
    fresh_db: Database, clock: FixedClock, runner: CliRunner
) -> None:
    seller = make_seller(fresh_db, clock)
    add(fresh_db, clock, seller, keyring=KeyRing.from_setting(setting("k0")))

    result = runner.invoke(app, ["bank-accounts", "reencrypt"])

    assert result.exit_code == 2
    assert "[encryption_key_missing]" in result.output and "'k0'" in result.output


def test_list_shows_a_sellers_accounts_masked(
    fresh_db: Database, clock: FixedClock, runner: CliRunner
) -> None:
    keyring = KeyRing.from_setting(setting("k2"))
    seller = make_seller(fresh_db, clock)
    euro = add(fresh_db, clock, seller, iban(), keyring=keyring)
    add(fresh_db, clock, seller, aba(), keyring=keyring)

    result = runner.invoke(app, ["bank-accounts", "list", "--seller", seller])

    assert result.exit_code == 0, result.output
    assert euro.id in result.output
    assert "•••• 0189" in result.output and "•••• 8351" in result.output
    assert FR_IBAN not in result.output and ABA_ACCOUNT not in result.output


def test_list_of_an_unknown_seller_is_one_clear_line(runner: CliRunner) -> None:
    result = runner.invoke(app, ["bank-accounts", "list", "--seller", "sel_nobody"])

    assert result.exit_code == 2
    assert "[seller_not_found]" in result.output
