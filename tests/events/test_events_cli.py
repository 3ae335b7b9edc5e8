"""`sellerpay events relay|deliver --once` on SQLite and PostgreSQL: what the outbox holds is
relayed and posted to a real receiver, and the command says what it did."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner
from webhook_receiver import running_receiver

from sellerpay.cli.events import app
from sellerpay.clock import SystemClock
from sellerpay.db import Database
from sellerpay.events.service import create_webhook_endpoint, record_event
from sellerpay.settings import get_settings


@pytest.fixture
def runner(fresh_db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("SELLERPAY_DATABASE_URL", fresh_db.url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_relay_then_deliver_once_posts_the_recorded_event(
    fresh_db: Database, runner: CliRunner
) -> None:
    clock = SystemClock()  # the commands run on the system clock: record on it too
    with running_receiver() as receiver:
        _, receiver.secret = create_webhook_endpoint(
            fresh_db, url=receiver.url, event_types=["seller.created"], allow_http=True, clock=clock
        )
        with fresh_db.transaction() as conn:
            event = record_event(
                conn, type="seller.created", subject="sel_9", data={}, now=clock.now()
            )

        relayed = runner.invoke(app, ["relay", "--once"])
        delivered = runner.invoke(app, ["deliver", "--once"])

        assert relayed.exit_code == 0, relayed.output
        assert "relayed 2 event(s)" in relayed.output  # the endpoint's own and the seller's
        assert delivered.exit_code == 0, delivered.output
        assert "1 delivered, 0 to retry later, 0 failed for good" in delivered.output
        assert receiver.event_ids() == [str(event.id)]
        assert receiver.received[0].verified


@pytest.mark.parametrize(
    "arguments",
    [["deliver", "--once", "--limit", "0"], ["relay", "--once", "--batch-size", "1001"]],
)
def test_out_of_bounds_options_are_refused_before_anything_runs(
    runner: CliRunner, arguments: list[str]
) -> None:
    result = runner.invoke(app, arguments)

    assert result.exit_code == 2
    assert "Invalid value" in result.output
