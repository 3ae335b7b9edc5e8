"""Liveness and readiness for the probes, request ids, and JSON logs that carry the request and
payout ids."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import structlog
from fastapi.testclient import TestClient
from jobs_builders import require_rabbitmq

from database_support import DatabaseFactory
from http_support import assert_problem
from sellerpay.api import create_app
from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.db.migrate import head_revision, upgrade
from sellerpay.observability import (
    bound_ids,
    configure_logging,
    ids_in_path,
    start_probe_server,
)
from sellerpay.observability import main as probes_main
from sellerpay.settings import Settings, get_settings


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Set SELLERPAY_* variables for one test; the settings are read again around it."""
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def set_env(env: pytest.MonkeyPatch, **values: str) -> None:
    for key, value in values.items():
        env.setenv(f"SELLERPAY_{key.upper()}", value)
    get_settings.cache_clear()


def test_ready_when_the_database_answers_at_the_newest_schema(
    db: Database, clock: FixedClock
) -> None:
    with TestClient(create_app(db=db, clock=clock)) as client:
        response = client.get("/ready")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "broker": "skipped"},
        "schema_revision": head_revision(),
    }


def test_not_ready_when_the_database_is_unreachable(tmp_path: Path, clock: FixedClock) -> None:
    unreachable = Database(f"sqlite:///{tmp_path / 'no such folder' / 'sellerpay.db'}")
    with TestClient(create_app(db=unreachable, clock=clock)) as client:
        ready = client.get("/ready")
        alive = client.get("/health")

    body = assert_problem(ready, 503, "not_ready")
    assert body["checks"]["database"] == "failed"
    assert "database does not answer" in body["detail"]
    assert_problem(alive, 503, "database_unavailable")


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]
)
def test_not_ready_while_the_schema_is_behind_the_release(
    backend: str, database_factory: DatabaseFactory, clock: FixedClock
) -> None:
    behind = database_factory.create(backend, migrate=False)
    upgrade(behind, "0005_webhooks")
    with TestClient(create_app(db=behind, clock=clock)) as client:
        response = client.get("/ready")

    body = assert_problem(response, 503, "not_ready")
    assert body["checks"] == {"database": "ok", "migrations": "failed", "broker": "skipped"}
    assert "0005_webhooks" in body["detail"]


def test_in_distributed_mode_not_ready_without_the_broker(
    db: Database, clock: FixedClock, env: pytest.MonkeyPatch
) -> None:
    set_env(env, deployment_mode="distributed", amqp_url="amqp://guest:guest@127.0.0.1:1/%2F")
    with TestClient(create_app(db=db, clock=clock)) as client:
        response = client.get("/ready")

    body = assert_problem(response, 503, "not_ready")
    assert body["checks"]["broker"] == "failed" and body["checks"]["database"] == "ok"


def test_in_distributed_mode_ready_with_the_broker(
    db: Database, clock: FixedClock, env: pytest.MonkeyPatch
) -> None:
    set_env(env, deployment_mode="distributed", amqp_url=require_rabbitmq())
    with TestClient(create_app(db=db, clock=clock)) as client:
        response = client.get("/ready")

    assert response.status_code == 200, response.text
    assert response.json()["checks"]["broker"] == "ok"


def test_every_answer_carries_a_request_id_the_callers_own_if_sane(
    db: Database, clock: FixedClock
) -> None:
    with TestClient(create_app(db=db, clock=clock)) as client:
        given = client.get("/health", headers={"X-Request-ID": "req-7f3a.1"})
        made = client.get("/health")
        insane = client.get("/health", headers={"X-Request-ID": "a b\tc" * 50})
        problem = client.get("/v1/nothing-here", headers={"X-Request-ID": "req-404"})

    assert given.headers["X-Request-ID"] == "req-7f3a.1"
    assert len(made.headers["X-Request-ID"]) == 32
    assert insane.headers["X-Request-ID"] != "a b\tc" * 50
    assert problem.status_code == 404 and problem.headers["X-Request-ID"] == "req-404"


@pytest.fixture
def json_logs() -> Iterator[None]:
    configure_logging(Settings(log_json=True, log_level="INFO"))
    yield
    structlog.reset_defaults()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == "sellerpay-structlog":
            root.removeHandler(handler)


def test_json_logs_carry_the_request_and_payout_ids(
    db: Database, clock: FixedClock, json_logs: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with TestClient(create_app(db=db, clock=clock)) as client:
        client.get("/v1/payouts/po_0190abc", headers={"X-Request-ID": "req-1"})
    with bound_ids(payout_id="po_42", run_id=None):
        structlog.get_logger("test").info("payout.sent", rail="sepa")
    structlog.get_logger("test").debug("hidden below INFO")

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    (request,) = [line for line in lines if line["event"] == "http.request"]
    assert request["request_id"] == "req-1" and request["payout_id"] == "po_0190abc"
    assert request["status"] == 401 and request["level"] == "info" and "timestamp" in request
    (job,) = [line for line in lines if line["event"] == "payout.sent"]
    assert job["payout_id"] == "po_42" and "run_id" not in job and "request_id" not in job
    assert all(line["event"] != "hidden below INFO" for line in lines)


def test_the_ids_of_a_path_are_the_payout_seller_and_run_it_names() -> None:
    assert ids_in_path("/v1/sellers/sel_1/payouts") == {"seller_id": "sel_1"}
    assert ids_in_path("/v1/payouts/po_9/approve") == {"payout_id": "po_9"}
    assert ids_in_path("/v1/payout-runs/run_3") == {"run_id": "run_3"}
    assert ids_in_path("/health") == {}


def test_processes_without_http_answer_the_probes_on_a_port_of_their_own(
    db: Database, tmp_path: Path
) -> None:
    unreachable = Database(f"sqlite:///{tmp_path / 'no such folder' / 'sellerpay.db'}")
    settings = Settings(deployment_mode="embedded")
    good = start_probe_server(0, db=db, settings=settings, host="127.0.0.1")
    bad = start_probe_server(0, db=unreachable, settings=settings, host="127.0.0.1")
    try:
        with httpx.Client() as client:
            up = f"http://127.0.0.1:{good.server_address[1]}"
            down = f"http://127.0.0.1:{bad.server_address[1]}"
            answers = {
                "live": client.get(f"{up}/health"),
                "ready": client.get(f"{up}/ready"),
                "unknown": client.get(f"{up}/metrics"),
                "live without database": client.get(f"{down}/health"),
                "not ready": client.get(f"{down}/ready"),
            }
    finally:
        good.shutdown()
        bad.shutdown()

    assert {name: r.status_code for name, r in answers.items()} == {
        "live": 200, "ready": 200, "unknown": 404, "live without database": 200, "not ready": 503
    }  # fmt: skip
    assert answers["ready"].json()["checks"]["migrations"] == "ok"
    assert answers["not ready"].json()["checks"]["database"] == "failed"


def test_the_probe_wrapper_runs_the_sellerpay_command_it_is_given() -> None:
    with pytest.raises(SystemExit) as usage:
        probes_main(["--probe-port"])
    assert "usage" in str(usage.value.code)

    with pytest.raises(SystemExit) as refused:  # the worker itself refuses this queue
        probes_main(["--probe-port", "0", "--", "worker", "--queues", "payments"])
    assert refused.value.code == 2
