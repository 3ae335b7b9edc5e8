"""`sellerpay consume` refuses what it cannot run with, with a clear line and an exit code:
2 for a bad option or a database schema behind, 3 when the broker cannot be reached."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from sellerpay.cli.consume import consume
from sellerpay.db import Database
from sellerpay.settings import get_settings

UNREACHABLE = "amqp://guest:guest@127.0.0.1:1/%2F"


@pytest.fixture
def command() -> typer.Typer:
    app = typer.Typer()
    app.command("consume")(consume)
    app.command("version")(lambda: None)  # two commands, so "consume" is a subcommand as in main
    return app


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    yield
    get_settings.cache_clear()


def use_database(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("SELLERPAY_DATABASE_URL", url)
    get_settings.cache_clear()


def run(command: typer.Typer, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(command, ["consume", *args])
    return result.exit_code, result.output


def test_a_broker_that_cannot_be_reached_exits_3_without_the_password(
    command: typer.Typer, monkeypatch: pytest.MonkeyPatch, fresh_db: Database
) -> None:
    use_database(monkeypatch, fresh_db.url)

    code, output = run(command, "--amqp-url", UNREACHABLE.replace("guest:guest", "svc:s3cret"))

    assert code == 3, output
    assert "RabbitMQ unavailable at amqp://svc:***@127.0.0.1:1" in output
    assert "s3cret" not in output


def test_the_broker_url_comes_from_the_settings_when_not_given(
    command: typer.Typer, monkeypatch: pytest.MonkeyPatch, fresh_db: Database
) -> None:
    use_database(monkeypatch, fresh_db.url)
    monkeypatch.setenv("SELLERPAY_AMQP_URL", UNREACHABLE)

    code, output = run(command)

    assert code == 3, output
    assert "127.0.0.1:1" in output


def test_a_database_that_was_never_upgraded_is_refused_before_consuming(
    command: typer.Typer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use_database(monkeypatch, f"sqlite:///{tmp_path}/empty.db")

    code, output = run(command, "--amqp-url", UNREACHABLE)

    assert code == 2, output
    assert "sellerpay db upgrade" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--prefetch", "50", "--batch-size", "100"], "at most the prefetch"),
        (["--prefetch", "0"], "--prefetch"),
        (["--batch-size", "1001"], "--batch-size"),
        (["--batch-wait-ms", "-1"], "--batch-wait-ms"),
        (["--queue", "amq.gen-1"], "amq."),
        (["--exchange", "has space"], "exchange name"),
        (["--amqp-url", "http://127.0.0.1:5672/"], "amqp://"),
    ],
)
def test_bad_options_exit_2_saying_what_is_wrong(
    command: typer.Typer,
    monkeypatch: pytest.MonkeyPatch,
    fresh_db: Database,
    args: list[str],
    message: str,
) -> None:
    use_database(monkeypatch, fresh_db.url)

    code, output = run(command, *args)

    assert code == 2, output
    assert message in output
