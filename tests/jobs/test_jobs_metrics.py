"""`GET /metrics` on SQLite and PostgreSQL: every named metric is exposed, its values follow what
happens to payouts, events, the outbox and the jobs, reads are cached, and a database that does
not answer shows as `sellerpay_database_up 0` rather than an error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from jobs_builders import FakeBank, context, funded_seller, paid, send, settings_with, unique
from prometheus_client.parser import text_string_to_metric_families

from sellerpay.api import create_app
from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.jobs.tasks import run_task
from sellerpay.settings import get_settings

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
NAMED = {
    "sellerpay_database_up",
    "sellerpay_events_ingested",
    "sellerpay_events_parked",
    "sellerpay_events_parked_oldest_age_seconds",
    "sellerpay_payouts",
    "sellerpay_payouts_in_transit_minor_units",
    "sellerpay_outbox_unrelayed_events",
    "sellerpay_outbox_lag_seconds",
    "sellerpay_payout_run_chunks_pending",
    "sellerpay_job_runs",
    "sellerpay_job_failures",
    "sellerpay_job_duration_seconds",
    "sellerpay_job_last_success_timestamp_seconds",
    "sellerpay_bank_call_seconds",
    "sellerpay_bank_call_failures",
}


@pytest.fixture
def cache_s(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No caching, so that each scrape reads the database."""
    monkeypatch.setenv("SELLERPAY_METRICS_CACHE_S", "0")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def scrape(client: TestClient) -> tuple[set[str], Samples]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = list(text_string_to_metric_families(response.text))
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in families
        for sample in family.samples
    }
    return {family.name for family in families}, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_the_named_metrics_follow_payouts_events_the_outbox_and_the_jobs(
    fresh_db: Database, clock: FixedClock, cache_s: None
) -> None:
    db = fresh_db
    with TestClient(create_app(db=db, clock=clock)) as client:
        _, before = scrape(client)
        assert value(before, "sellerpay_database_up") == 1
        assert value(before, "sellerpay_payouts", status="pending") == 0

        sellers = [unique("sel") for _ in range(3)]
        for number, seller in enumerate(sellers):
            funded_seller(db, clock, seller, available_minor=1_000 * (number + 1))
        send(db, clock, paid(unique("ord"), unique("sel")))  # parked: no such seller yet
        ctx, _ = context(db, clock, settings_with(), bank=FakeBank(), inline=True)
        run_task("payout-run", ctx, {"run_on": clock.now().date().isoformat()})
        run_task("submit-to-bank", ctx)  # nothing approved yet: no file, no bank call
        names, after = scrape(client)

    assert names >= NAMED - {"sellerpay_bank_call_seconds", "sellerpay_bank_call_failures"}
    assert value(after, "sellerpay_payouts", status="pending") == 3
    assert value(after, "sellerpay_payouts_in_transit_minor_units", currency="EUR") == 6_000
    assert value(after, "sellerpay_events_ingested", status="parked") == 1
    assert value(after, "sellerpay_events_parked") == 1
    assert value(after, "sellerpay_outbox_unrelayed_events") > 0
    assert value(after, "sellerpay_outbox_lag_seconds") >= 0
    assert value(after, "sellerpay_payout_run_chunks_pending") == 0
    assert value(after, "sellerpay_job_runs_total", job="payout-run") == 1
    assert value(after, "sellerpay_job_runs_total", job="payout-run-chunk") == 1
    assert value(after, "sellerpay_job_failures_total", job="payout-run") == 0
    assert value(after, "sellerpay_job_duration_seconds_count", job="payout-run") == 1
    assert value(after, "sellerpay_job_duration_seconds_bucket", job="payout-run", le="+Inf") == 1


def test_bank_calls_are_timed_as_bank_submission_latency(
    fresh_db: Database, clock: FixedClock, cache_s: None
) -> None:
    db = fresh_db
    ctx, _ = context(db, clock, settings_with(), bank=FakeBank(mode="timeout_before"))
    bank = ctx.bank()
    assert bank is not None
    with pytest.raises(Exception, match="timed out"):
        bank.send("sepa", "f.xml", b"<x/>", "MSG1")
    bank.inquire("sepa", "MSG1", ["E2E1"])

    with TestClient(create_app(db=db, clock=clock)) as client:
        names, samples = scrape(client)

    assert {"sellerpay_bank_call_seconds", "sellerpay_bank_call_failures"} <= names
    assert value(samples, "sellerpay_bank_call_seconds_count", operation="send") == 1
    assert value(samples, "sellerpay_bank_call_failures_total", operation="send") == 1
    assert value(samples, "sellerpay_bank_call_failures_total", operation="inquire") == 0


def test_a_scrape_within_the_cache_time_reuses_the_last_read(
    fresh_db: Database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SELLERPAY_METRICS_CACHE_S", "300")
    get_settings.cache_clear()
    db = fresh_db
    with TestClient(create_app(db=db, clock=clock)) as client:
        _, first = scrape(client)
        send(db, clock, paid(unique("ord"), unique("sel")))
        _, cached = scrape(client)
    with TestClient(create_app(db=db, clock=clock)) as client:  # a new process reads afresh
        _, fresh = scrape(client)
    get_settings.cache_clear()

    assert value(first, "sellerpay_events_parked") == value(cached, "sellerpay_events_parked") == 0
    assert value(fresh, "sellerpay_events_parked") == 1


def test_a_database_that_does_not_answer_is_a_metric_not_an_error(
    tmp_path: Path, clock: FixedClock, cache_s: None
) -> None:
    unreachable = Database(f"sqlite:///{tmp_path / 'no such folder' / 'sellerpay.db'}")
    with TestClient(create_app(db=unreachable, clock=clock)) as client:
        names, samples = scrape(client)

    assert names == {"sellerpay_database_up"}
    assert value(samples, "sellerpay_database_up") == 0
