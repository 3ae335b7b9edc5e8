"""The distributed mode: the task functions of `jobs.tasks` as Celery tasks over RabbitMQ
(`settings.amqp_url`), sent on schedule by Celery beat.

Settings chosen for money (docs/deploy.md says why, one by one):

- `task_acks_late` + `task_reject_on_worker_lost`: a message is acknowledged after its task
  ran, so a worker killed mid-task (SIGKILL, OOM, a lost node) has its task delivered again;
- `worker_prefetch_multiplier = 1`: a worker holds one message per process, so a long payout
  chunk never sits behind another on a busy worker while idle workers wait;
- soft and hard time limits on every task; bounded retries (`retries_max`) with exponential
  backoff and jitter on transient errors only (database or broker unavailable, a deadlock
  retried out, a bank time-out);
- `task_ignore_result`, no result backend: correctness never depends on a task result; the
  state is in the database (a payout run counts its chunks in `job_payout_chunks`);
- publisher confirms: a task sent (a payout chunk) is in the broker when `send_task` returns;
- beat messages expire after one period, so a stopped fleet does not find a backlog of stale
  schedule ticks when it comes back.

Every task is idempotent and exclusive where it must be (`jobs.tasks.run_task`), so two beats,
a task delivered twice or a chunk resent change nothing.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final, cast

import httpx
import kombu.exceptions
import structlog
from celery import Celery, Task
from celery.signals import setup_logging
from sqlalchemy.exc import OperationalError

from sellerpay.clock import SystemClock
from sellerpay.db import Database
from sellerpay.errors import Unavailable
from sellerpay.jobs.context import JobContext
from sellerpay.jobs.tasks import QUEUES, TASKS, TaskSpec, run_task
from sellerpay.payouts.banking import BankTimeout
from sellerpay.settings import Settings, get_settings

log = structlog.get_logger(__name__)

TRANSIENT_ERRORS: Final[tuple[type[BaseException], ...]] = (
    Unavailable,
    OperationalError,
    BankTimeout,
    httpx.TransportError,
    kombu.exceptions.OperationalError,
)
"""Errors worth retrying later: a dependency is down or busy. Anything else is a bug or bad
data, and retrying it would only repeat it."""
retry_backoff_s: Final = 2
retry_backoff_s_max: Final = 300
worker_pool_size_max: Final = 4  # database connections per worker process
beat_expires_s_min: Final = 10


def task_name(name: str) -> str:
    """The Celery name of a task of `jobs.tasks`: `sellerpay.<name>`."""
    return f"sellerpay.{name}"


def queue_name(settings: Settings, queue: str) -> str:
    """`<jobs_queue_prefix>.<queue>`: several environments or test runs share one broker."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue}: one of {', '.join(QUEUES)}")
    return f"{settings.jobs_queue_prefix}.{queue}"


def celery_config(settings: Settings) -> dict[str, Any]:
    """Every Celery setting of Sellerpay (asserted by tests/jobs: change them knowingly)."""
    return {
        "broker_url": settings.amqp_url,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {"confirm_publish": True},
        "result_backend": None,
        "task_ignore_result": True,
        "task_store_errors_even_if_ignored": False,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_acks_on_failure_or_timeout": True,
        "worker_prefetch_multiplier": 1,
        "worker_max_tasks_per_child": 1_000,
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
        "task_send_sent_event": False,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_default_queue": queue_name(settings, "jobs"),
        "task_create_missing_queues": True,  # durable; exchange and routing key = queue name
        "task_routes": {
            task_name(spec.name): {"queue": queue_name(settings, spec.queue)}
            for spec in TASKS.values()
        },
        "task_soft_time_limit": max(spec.soft_time_limit_s for spec in TASKS.values()),
        "task_time_limit": max(spec.time_limit_s for spec in TASKS.values()),
        "timezone": "UTC",
        "enable_utc": True,
        "beat_schedule": beat_schedule(),
    }


def beat_schedule() -> dict[str, dict[str, Any]]:
    """Every periodic task of `jobs.tasks` at its period; a tick not taken within one period
    expires (the next tick does the same work)."""
    return {
        spec.name: {
            "task": task_name(spec.name),
            "schedule": timedelta(seconds=spec.period_s),
            "options": {"expires": max(spec.period_s, beat_expires_s_min)},
        }
        for spec in TASKS.values()
        if spec.period_s is not None
    }


def create_celery_app(settings: Settings | None = None) -> Celery:
    """A Celery application with every task of `jobs.tasks` registered."""
    chosen = settings or get_settings()
    app = Celery("sellerpay", set_as_current=False)
    app.conf.update(celery_config(chosen))
    for spec in TASKS.values():
        _register(app, spec)
    return app


def _register(app: Celery, spec: TaskSpec) -> None:
    def body(self: Task, **params: Any) -> int:
        context = worker_context(self.app)
        delivery = self.request.delivery_info or {}
        with structlog.contextvars.bound_contextvars(
            task_id=self.request.id,
            retries=self.request.retries,
            redelivered=bool(delivery.get("redelivered")),
        ):
            return run_task(spec.name, context, params)

    app.task(
        name=task_name(spec.name),
        shared=False,  # this app's task only: another app (a test's) registers its own
        bind=True,
        acks_late=True,
        reject_on_worker_lost=True,
        ignore_result=True,
        autoretry_for=TRANSIENT_ERRORS,
        retry_backoff=retry_backoff_s,
        retry_backoff_max=retry_backoff_s_max,
        retry_jitter=True,
        max_retries=spec.retries_max,
        soft_time_limit=spec.soft_time_limit_s,
        time_limit=spec.time_limit_s,
    )(body)


def send(app: Celery, name: str, params: Mapping[str, Any]) -> None:
    """Send the task `name` of `jobs.tasks` to its queue (confirmed by the broker)."""
    route = app.conf.task_routes[task_name(name)]
    app.send_task(
        task_name(name),
        kwargs=dict(params),
        queue=route["queue"],
    )


_contexts: dict[int, JobContext] = {}
_contexts_lock = threading.Lock()


def worker_context(app: Celery) -> JobContext:
    """This worker process's `JobContext`, made on its first task: a forked pool process opens
    its own database connections, never its parent's."""
    pid = os.getpid()
    with _contexts_lock:
        context = _contexts.get(pid)
        if context is None:
            settings = get_settings()
            db = Database(
                settings.database_url,
                pool_size=min(settings.database_pool_size, worker_pool_size_max),
            )
            context = JobContext(db, SystemClock(), settings, dispatch=lambda n, p: send(app, n, p))
            _contexts.clear()  # a parent's context, inherited by a fork, is not ours
            _contexts[pid] = context
        return context


def _logging_is_ours(**_kwargs: Any) -> None:
    """Celery leaves logging alone when someone answers this signal: the worker and beat
    commands have configured it already (`sellerpay.observability`)."""


cast(Any, setup_logging).connect(_logging_is_ours, weak=False)


@functools.cache
def _default_app() -> Celery:
    return create_celery_app()


def __getattr__(name: str) -> Any:
    """`app`, made on first use (for `celery -A sellerpay.jobs.celery_app …`)."""
    if name == "app":
        return _default_app()
    raise AttributeError(name)
