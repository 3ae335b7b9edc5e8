"""`sellerpay worker` and `sellerpay beat`: what they refuse before starting, what they start."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import typer
from typer.testing import CliRunner

from database_support import DatabaseFactory
from sellerpay.cli.beat import beat
from sellerpay.cli.worker import Pool, worker, worker_argv
from sellerpay.db.migrate import upgrade
from sellerpay.settings import get_settings

runner = CliRunner()
app = typer.Typer()  # the two commands as `sellerpay` registers them, without the others
app.command("worker")(worker)
app.command("beat")(beat)


def test_sellerpay_has_the_worker_and_beat_commands() -> None:
    from sellerpay.cli.main import app as sellerpay

    result = runner.invoke(sellerpay, ["--help"])

    assert result.exit_code == 0
    assert "worker" in result.output and "beat" in result.output


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_the_worker_refuses_an_unknown_queue(env: pytest.MonkeyPatch) -> None:
    result = runner.invoke(app, ["worker", "--queues", "jobs", "--queues", "payments"])

    assert result.exit_code == 2
    assert "[unknown_queue]" in result.output and "payments" in result.output


def test_the_worker_refuses_a_database_behind_the_release(
    env: pytest.MonkeyPatch, database_factory: DatabaseFactory
) -> None:
    behind = database_factory.create("sqlite", migrate=False)
    upgrade(behind, "0005_webhooks")
    env.setenv("SELLERPAY_DATABASE_URL", behind.url)

    result = runner.invoke(app, ["worker"])

    assert result.exit_code == 2
    assert "sellerpay db upgrade" in result.output


def test_the_worker_runs_celery_on_the_prefixed_queues_without_gossip() -> None:
    argv = worker_argv(
        ["sp.jobs", "sp.payout-chunks"],
        concurrency=3,
        pool=Pool.SOLO,
        loglevel="INFO",
        hostname="sellerpay-1@host",
    )

    assert argv[0] == "worker"
    assert "--queues=sp.jobs,sp.payout-chunks" in argv
    assert {"--concurrency=3", "--pool=solo", "--hostname=sellerpay-1@host"} <= set(argv)
    assert {"--without-gossip", "--without-mingle", "--without-heartbeat"} <= set(argv)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--send-now", "pay-everyone"], "unknown_task"),
        (["--send-now", "payout-run-chunk"], "unknown_task"),  # only tasks send chunks
        (["--send-now", "release-due-funds", "--run-on", "2026-01-05"], "run_on_unexpected"),
        (["--send-now", "payout-run", "--run-on", "05/01/2026"], "invalid_date"),
    ],
)
def test_beat_refuses_what_it_cannot_send(args: list[str], code: str) -> None:
    result = runner.invoke(app, ["beat", *args])

    assert result.exit_code == 2
    assert f"[{code}]" in result.output


def test_beat_says_so_when_the_broker_is_down(env: pytest.MonkeyPatch) -> None:
    env.setenv("SELLERPAY_AMQP_URL", "amqp://guest:guest@127.0.0.1:1/%2F")

    result = runner.invoke(app, ["beat", "--send-now", "payout-run", "--run-on", "2026-01-05"])

    assert result.exit_code == 3
    assert "[broker_unavailable]" in result.output
