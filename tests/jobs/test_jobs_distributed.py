"""THE distributed test: real Celery worker processes on RabbitMQ and PostgreSQL run a payout run
split in chunks; one worker is killed (SIGKILL) in the middle of a chunk; the broker delivers
that chunk again to another worker, and in the end every due seller has exactly one payout, the
run was completed once, and the ledger verifies.

Mid-chunk, for certain: the test holds a row lock on the available account of one seller of
chunk 5, so whichever worker takes chunk 5 stops inside its unit of work (chunk started and
committed, payouts of the chunk being decided) until the test has killed it. Each run has its
own database and its own queue names, deleted at the end. RabbitMQ and PostgreSQL are
mandatory in CI (CI=true): there the test fails, never skips, when either is down.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pika
import psycopg
import pytest
from jobs_builders import (
    KEYRING_SETTING,
    assert_ledger_sound,
    available,
    balance,
    funded_seller,
    payouts_of,
    require_rabbitmq,
    settings_with,
)
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from database_support import DatabaseFactory
from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.events import models as events_models
from sellerpay.jobs import fanout
from sellerpay.jobs import models as jobs_models
from sellerpay.jobs.celery_app import create_celery_app, send
from sellerpay.ledger import models as ledger_models
from sellerpay.payouts import service

pytestmark = [pytest.mark.slow, pytest.mark.postgresql]

SELLERS = 200
CHUNK_SIZE = 20  # 10 chunks
WORKERS = 3
VICTIM_CHUNK = 5
wait_s_max = 40.0


def seller_id(number: int) -> str:
    return f"sel_dist{number:03d}"  # chunks follow account order: chunk k = sellers 20k…20k+19


def wait_for(what: str, condition: Callable[[], Any], *, timeout_s: float = wait_s_max) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def libpq(db: Database) -> str:
    return make_url(db.url).set(drivername="postgresql").render_as_string(hide_password=False)


class Fleet:
    """Worker processes of one test, their logs, and their queues (deleted at the end)."""

    def __init__(self, db: Database, amqp_url: str, logs: Path) -> None:
        self.prefix = f"sellerpay-test-{uuid.uuid4().hex[:10]}"
        self.amqp_url = amqp_url
        self.logs = logs
        self.env = {
            **os.environ,
            "SELLERPAY_DATABASE_URL": db.url,
            "SELLERPAY_AMQP_URL": amqp_url,
            "SELLERPAY_DEPLOYMENT_MODE": "distributed",
            "SELLERPAY_JOBS_QUEUE_PREFIX": self.prefix,
            "SELLERPAY_ONBOARDING_REQUIRED": "false",
            "SELLERPAY_ENCRYPTION_KEYS": KEYRING_SETTING,
            "SELLERPAY_PAYOUT_RUN_CHUNK_SIZE": str(CHUNK_SIZE),
            "SELLERPAY_LOG_JSON": "true",
        }
        self.workers: list[subprocess.Popen[bytes]] = []

    def start(self, count: int) -> None:
        command = [sys.executable, "-m", "sellerpay.cli.worker", "--pool", "solo"]
        command += ["--concurrency", "1", "--queues", "jobs", "--queues", "payout-chunks"]
        for number in range(count):
            log = (self.logs / f"worker-{number}.log").open("wb")
            self.workers.append(
                subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT)
            )

    def consumers(self, queue: str) -> int:
        connection = pika.BlockingConnection(pika.URLParameters(self.amqp_url))
        try:
            declared = connection.channel().queue_declare(f"{self.prefix}.{queue}", passive=True)
            return int(declared.method.consumer_count)
        except pika.exceptions.ChannelClosedByBroker:
            return 0  # not declared yet: no worker is up
        finally:
            if connection.is_open:
                connection.close()

    def stop(self) -> None:
        for worker in self.workers:  # the test is over: nothing to finish, no need to wait
            if worker.poll() is None:
                worker.kill()
            worker.wait()
        connection = pika.BlockingConnection(pika.URLParameters(self.amqp_url))
        channel = connection.channel()
        for queue in ("jobs", "payout-chunks"):
            channel.queue_delete(f"{self.prefix}.{queue}")
            channel.exchange_delete(f"{self.prefix}.{queue}")
        connection.close()

    def log_tail(self) -> str:
        return "\n".join(
            f"--- {path.name}\n" + path.read_text(errors="replace")[-3000:]
            for path in sorted(self.logs.glob("worker-*.log"))
        )


@pytest.fixture
def db(database_factory: DatabaseFactory) -> Database:
    return database_factory.create("postgresql")  # fails in CI when PostgreSQL is down


@pytest.fixture
def fleet(db: Database, tmp_path: Path) -> Iterator[Fleet]:
    fleet = Fleet(db, require_rabbitmq(), tmp_path)
    try:
        yield fleet
    finally:
        fleet.stop()


def the_chunk(db: Database, run_id: str, chunk_no: int) -> fanout.Chunk | None:
    chunks = {c.chunk_no: c for c in fanout.list_chunks(db, run_id)}
    return chunks.get(chunk_no)


def run_id_planned(db: Database) -> str | None:
    with db.reading() as conn:
        return conn.execute(select(jobs_models.job_payout_runs.c.run_id)).scalar()


def waiting_on_a_lock(admin: psycopg.Connection[Any], database: str) -> bool:
    row = admin.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
        (database,),
    ).fetchone()
    return bool(row and row[0] >= 1)


def count(db: Database, table: Any, *where: Any) -> int:
    with db.reading() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def test_a_payout_run_split_across_workers_survives_one_killed_mid_chunk(
    db: Database, fleet: Fleet
) -> None:
    clock = FixedClock(datetime.now(UTC) - timedelta(minutes=1))
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(
            lambda n: funded_seller(db, clock, seller_id(n), available_minor=1_000 + n),
            range(SELLERS),
        ))  # fmt: skip
    victim = seller_id(VICTIM_CHUNK * CHUNK_SIZE + 7)
    fleet.start(WORKERS)
    wait_for("every worker to consume", lambda: fleet.consumers("payout-chunks") == WORKERS)

    with psycopg.connect(libpq(db)) as blocker, psycopg.connect(libpq(db)) as admin:
        blocker.execute(  # the worker of chunk 5 will wait on this row, mid-chunk
            "SELECT id FROM ledger_accounts WHERE code = %s AND currency = 'EUR' FOR UPDATE",
            (f"seller:{victim}:available",),
        )
        app = create_celery_app(
            settings_with(amqp_url=fleet.amqp_url, jobs_queue_prefix=fleet.prefix)
        )
        send(app, "payout-run", {"run_on": clock.now().date().isoformat()})
        run_id = wait_for("the run to be planned", lambda: run_id_planned(db))
        stuck = wait_for(
            "a worker to be stuck inside chunk 5",
            lambda: (
                (chunk := the_chunk(db, run_id, VICTIM_CHUNK)) is not None
                and chunk.attempts == 1
                and waiting_on_a_lock(admin, make_url(db.url).database or "")
                and chunk
            ),
        )
        assert stuck.status == "pending" and stuck.holder is not None
        killed_pid = int(stuck.holder.split(":")[1])
        assert killed_pid in [w.pid for w in fleet.workers]
        os.kill(killed_pid, signal.SIGKILL)
        wait_for("the killed worker to be gone", lambda: any(
            w.pid == killed_pid and w.poll() is not None for w in fleet.workers
        ))  # fmt: skip
        blocker.rollback()  # the lock goes; the dead worker's transaction is rolled back

    try:
        wait_for(
            "the run to be completed",
            lambda: (
                (plan := fanout.get_plan(db, run_id)) is not None and plan.completed_at is not None
            ),
        )
    except AssertionError:
        pytest.fail(f"the run did not complete; worker logs:\n{fleet.log_tail()}")

    report = service.summarize_run(db, run_id)
    assert report.status == "completed"
    assert (report.payout_count, report.skip_count) == (SELLERS, 0)
    per_seller = Counter(p.seller_id for p in payouts_of(db))
    assert per_seller == Counter({seller_id(n): 1 for n in range(SELLERS)})  # exactly once
    chunks = fanout.list_chunks(db, run_id)
    assert len(chunks) == SELLERS // CHUNK_SIZE and {c.status for c in chunks} == {"done"}
    victim_chunk = chunks[VICTIM_CHUNK]
    assert victim_chunk.attempts == 2  # killed once, then done by another worker
    assert victim_chunk.holder is not None and f":{killed_pid}:" not in victim_chunk.holder
    assert [c.attempts for c in chunks if c.chunk_no != VICTIM_CHUNK] == [1] * 9
    # no chunk's effect applied twice: one ledger transaction and one event per payout
    assert (
        count(db, ledger_models.transactions, ledger_models.transactions.c.kind == "payout")
        == SELLERS
    )  # one ledger transaction per payout
    outbox = events_models.outbox
    assert count(db, outbox, outbox.c.type == "payout.created") == SELLERS
    assert count(db, outbox, outbox.c.type == "payout_run.completed") == 1
    assert all(available(db, seller_id(n)) == 0 for n in range(SELLERS))
    assert balance(db, "platform:payouts_in_transit", "EUR") == sum(
        1_000 + n for n in range(SELLERS)
    )
    assert_ledger_sound(db)
