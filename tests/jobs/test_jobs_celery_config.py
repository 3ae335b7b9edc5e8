"""The Celery application of the distributed mode: the settings chosen for money, every task
registered with its limits and bounded retries, routes to the queues, beat's schedule."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from jobs_builders import context, settings_with

from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.errors import Unavailable
from sellerpay.jobs import celery_app
from sellerpay.jobs.celery_app import TRANSIENT_ERRORS, create_celery_app, send, task_name
from sellerpay.jobs.tasks import QUEUES, TASKS

SETTINGS = settings_with(jobs_queue_prefix="sp-test", amqp_url="amqp://u:p@broker:5672/vh")


@pytest.fixture(scope="module")
def app() -> Any:
    return create_celery_app(SETTINGS)


def test_the_settings_are_chosen_for_money(app: Any) -> None:
    conf = app.conf

    assert conf.broker_url == "amqp://u:p@broker:5672/vh"
    assert conf.task_acks_late is True  # acknowledged after the task ran…
    assert conf.task_reject_on_worker_lost is True  # …so a killed worker's task comes back
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_ignore_result is True and conf.result_backend is None
    assert conf.broker_transport_options == {"confirm_publish": True}
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.task_default_queue == "sp-test.jobs"
    assert conf.enable_utc is True and conf.timezone == "UTC"


def test_every_task_is_registered_late_acked_time_limited_with_bounded_retries(app: Any) -> None:
    for name, spec in TASKS.items():
        task = app.tasks[task_name(name)]
        assert task.acks_late is True and task.reject_on_worker_lost is True, name
        assert task.ignore_result is True, name
        assert 0 < task.soft_time_limit < task.time_limit, name
        assert task.time_limit == spec.time_limit_s, name
        assert task.max_retries == spec.retries_max and 0 < task.max_retries <= 10, name
        assert task.retry_backoff and task.retry_jitter and task.retry_backoff_max <= 300, name
        assert set(task.autoretry_for) == set(TRANSIENT_ERRORS), name
        assert spec.lease_ttl() > timedelta(seconds=spec.time_limit_s), name  # outlives a run
    assert Unavailable in TRANSIENT_ERRORS and RuntimeError not in TRANSIENT_ERRORS


def test_each_task_goes_to_its_queue_under_the_configured_prefix(app: Any) -> None:
    routes = app.conf.task_routes

    assert {route["queue"] for route in routes.values()} == {f"sp-test.{q}" for q in QUEUES}
    assert routes["sellerpay.payout-run-chunk"] == {"queue": "sp-test.payout-chunks"}
    assert routes["sellerpay.submit-to-bank"] == {"queue": "sp-test.bank"}
    assert routes["sellerpay.relay-outbox"] == {"queue": "sp-test.events"}


def test_beat_sends_every_periodic_task_and_a_tick_expires_after_one_period(app: Any) -> None:
    schedule = app.conf.beat_schedule
    periodic = {name for name, spec in TASKS.items() if spec.period_s is not None}

    assert set(schedule) == periodic and "payout-run-chunk" not in schedule
    for name in periodic:
        entry = schedule[name]
        period = TASKS[name].period_s
        assert entry["task"] == f"sellerpay.{name}"
        assert entry["schedule"] == timedelta(seconds=period)
        assert entry["options"]["expires"] >= period


def test_send_routes_a_task_to_its_queue(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(app, "send_task", lambda name, **kw: sent.append((name, kw)))

    send(app, "payout-run-chunk", {"run_id": "run_1", "chunk_no": 4})

    assert sent == [
        (
            "sellerpay.payout-run-chunk",
            {"kwargs": {"run_id": "run_1", "chunk_no": 4}, "queue": "sp-test.payout-chunks"},
        )
    ]


def test_a_transient_error_is_retried_and_a_bug_is_not(
    db: Database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_celery_app(SETTINGS)
    app.conf.task_always_eager = True  # retries run at once, in this process
    ctx, _ = context(db, clock, SETTINGS)
    monkeypatch.setattr(celery_app, "worker_context", lambda _app: ctx)
    calls: list[str] = []

    def flaky(_db: Database, _clock: object) -> int:
        calls.append("call")
        if len(calls) == 1:
            raise Unavailable("database restarting", code="database_unavailable")
        return 3

    monkeypatch.setattr("sellerpay.jobs.tasks.rescreen_job", flaky)
    result = app.tasks["sellerpay.rescreen-sellers"].apply()
    assert result.successful() and result.result == 3 and len(calls) == 2

    def broken(_db: Database, _clock: object) -> int:
        calls.append("bug")
        raise RuntimeError("a bug")

    monkeypatch.setattr("sellerpay.jobs.tasks.rescreen_job", broken)
    failed = app.tasks["sellerpay.rescreen-sellers"].apply()
    assert failed.failed() and calls.count("bug") == 1
