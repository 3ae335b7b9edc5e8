"""`sellerpay serve`: runs the API with uvicorn, and refuses a database whose schema is behind."""

from __future__ import annotations

from typing import Any

import pytest
import typer
import uvicorn
from fastapi import FastAPI
from typer.testing import CliRunner

from sellerpay.cli.serve import serve
from sellerpay.db import Database
from sellerpay.settings import get_settings


@pytest.fixture
def command() -> typer.Typer:
    app = typer.Typer()
    app.command("serve")(serve)
    app.command("version")(lambda: None)  # two commands, so "serve" is a subcommand as in main
    return app


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(
        uvicorn, "run", lambda app, **options: calls.append({"app": app, **options})
    )
    return calls


def use_database(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("SELLERPAY_DATABASE_URL", url)
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_settings() -> Any:
    yield
    get_settings.cache_clear()


def test_serve_runs_the_api_on_the_given_host_and_port(
    command: typer.Typer,
    served: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    fresh_db: Database,
) -> None:
    use_database(monkeypatch, fresh_db.url)

    result = CliRunner().invoke(command, ["serve", "--host", "0.0.0.0", "--port", "8123"])

    assert result.exit_code == 0, result.output
    (call,) = served
    assert isinstance(call["app"], FastAPI)
    assert call["app"].title == "Sellerpay"
    assert (call["host"], call["port"]) == ("0.0.0.0", 8123)
    assert "http://0.0.0.0:8123" in result.output


def test_serve_listens_on_localhost_port_8000_by_default(
    command: typer.Typer,
    served: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    fresh_db: Database,
) -> None:
    use_database(monkeypatch, fresh_db.url)

    result = CliRunner().invoke(command, ["serve"])

    assert result.exit_code == 0, result.output
    assert (served[0]["host"], served[0]["port"]) == ("127.0.0.1", 8000)


def test_serve_refuses_a_database_that_was_never_upgraded(
    command: typer.Typer,
    served: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    use_database(monkeypatch, f"sqlite:///{tmp_path / 'empty.db'}")

    result = CliRunner().invoke(command, ["serve"])

    assert result.exit_code == 2
    assert "sellerpay db upgrade" in result.output
    assert served == []


@pytest.mark.parametrize("port", ["0", "65536", "http"])
def test_serve_refuses_a_port_outside_1_to_65535(
    command: typer.Typer, served: list[dict[str, Any]], port: str
) -> None:
    result = CliRunner().invoke(command, ["serve", "--port", port])

    assert result.exit_code == 2
    assert served == []
