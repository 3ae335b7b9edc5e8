"""`sellerpay onboarding …`: show a seller's requirements, onboard a simulated seller, the
verification job and the queue, with clean errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from onboarding_builders import new_seller
from typer.testing import CliRunner

from sellerpay.cli.main import app
from sellerpay.clock import FixedClock, SystemClock
from sellerpay.db import Database
from sellerpay.settings import get_settings


@pytest.fixture
def runner(
    db: Database, documents_directory: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CliRunner]:
    monkeypatch.setenv("SELLERPAY_DATABASE_URL", db.url)
    monkeypatch.setenv("SELLERPAY_DOCUMENTS_DIRECTORY", str(documents_directory))
    monkeypatch.setenv("SELLERPAY_VERIFICATION_FAILURE_PERCENT", "0")
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_show_says_what_a_new_seller_must_send_and_why_payouts_are_off(
    runner: CliRunner, db: Database
) -> None:
    seller_id = new_seller(db, SystemClock())  # the command runs on the system clock too

    result = runner.invoke(app, ["onboarding", "show", seller_id])

    assert result.exit_code == 0, result.output
    assert "payouts off · sales on · requirements_currently_due" in result.output
    assert "business_type, legal_name" in result.output


def test_simulate_onboards_and_verifies_a_seller_in_one_go(
    runner: CliRunner, db: Database, clock: FixedClock, documents_directory: Path
) -> None:
    seller_id = new_seller(db, clock, country="ES")

    result = runner.invoke(app, ["onboarding", "simulate", seller_id])
    polled = runner.invoke(app, ["onboarding", "poll"])

    assert result.exit_code == 0, result.output
    assert f"{seller_id} ES company · verification verified" in result.output
    assert "payouts on · sales on" in result.output
    assert polled.exit_code == 0 and "submitted" in polled.output
    assert len([p for p in documents_directory.rglob("*") if p.is_file()]) == 1  # one PDF


def test_an_unknown_seller_is_one_clear_line_and_exit_code_2(runner: CliRunner) -> None:
    result = runner.invoke(app, ["onboarding", "show", "sel_doesnotexist"])

    assert result.exit_code == 2
    assert "[seller_not_found] no seller sel_doesnotexist" in result.output


def test_the_queue_and_the_maintenance_jobs_run(runner: CliRunner) -> None:
    for command in (["queue", "--limit", "5"], ["announce-past-due"], ["purge-documents"]):
        result = runner.invoke(app, ["onboarding", *command])
        assert result.exit_code == 0, (command, result.output)
