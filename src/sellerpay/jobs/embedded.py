"""The embedded mode's runner: worker threads run the tasks of `jobs.tasks`, and a scheduler
thread sends each periodic task when its period has passed — the same functions, the same
leases and statistics as the Celery workers of the distributed mode, in one process.

A payout run sends its chunks to the same threads, so they are processed in parallel; the last
chunk completes the run. Time is the clock's: a test or a simulation drives `tick()` itself.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Final

import httpx
import structlog

from sellerpay.clock import Clock
from sellerpay.crypto import KeyRing
from sellerpay.db import Database
from sellerpay.events.service import EventPublisher
from sellerpay.jobs.context import JobContext
from sellerpay.jobs.tasks import TASKS, run_task
from sellerpay.payouts.banking import BankConnection
from sellerpay.settings import Settings

log = structlog.get_logger(__name__)

threads_max: Final = 64
tick_interval_s_min: Final = 0.01


class EmbeddedWorkers:
    """Worker threads and a scheduler for `tasks` (default: every task of `jobs.tasks`)."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: Settings,
        *,
        threads: int = 4,
        tasks: Iterable[str] | None = None,
        bank: BankConnection | None = None,
        publisher: EventPublisher | None = None,
        http: httpx.Client | None = None,
        keyring: KeyRing | None = None,
    ) -> None:
        if not 1 <= threads <= threads_max:
            raise ValueError(f"threads is between 1 and {threads_max}")
        names = list(TASKS) if tasks is None else list(tasks)
        unknown = sorted(set(names) - set(TASKS))
        if unknown:
            raise ValueError(f"unknown tasks: {', '.join(unknown)}")
        self.periodic = [TASKS[n] for n in names if TASKS[n].period_s is not None]
        self.context = JobContext(
            db, clock, settings, dispatch=self._dispatch, bank=bank, publisher=publisher,
            http=http, keyring=keyring,
        )  # fmt: skip
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sellerpay-job")
        self._lock = threading.Condition()
        self._running: dict[str, int] = {}
        self._pending = 0
        self._last_sent: dict[str, datetime] = {}
        self._failures: list[tuple[str, BaseException]] = []
        self._stop = threading.Event()
        self._scheduler: threading.Thread | None = None

    # -- sending work ---------------------------------------------------------------------------

    def submit(self, name: str, params: Mapping[str, Any] | None = None) -> Future[int]:
        """Run the task `name` on a worker thread."""
        if name not in TASKS:
            raise ValueError(f"unknown task {name}")
        with self._lock:
            self._pending += 1
            self._running[name] = self._running.get(name, 0) + 1
        try:
            future = self._pool.submit(run_task, name, self.context, dict(params or {}))
        except RuntimeError:  # stopping: the pool takes no more work
            with self._lock:
                self._pending -= 1
                self._running[name] -= 1
                self._lock.notify_all()
            raise
        future.add_done_callback(lambda done: self._finished(name, done))
        return future

    def _dispatch(self, name: str, params: Mapping[str, Any]) -> None:
        self.submit(name, params)

    def _finished(self, name: str, future: Future[int]) -> None:
        error = None if future.cancelled() else future.exception()
        with self._lock:
            self._pending -= 1
            self._running[name] -= 1
            if error is not None:
                self._failures.append((name, error))
            self._lock.notify_all()

    def run(self, name: str, params: Mapping[str, Any] | None = None) -> int:
        """Run the task `name` now, in the calling thread (what it sends goes to the threads)."""
        return run_task(name, self.context, dict(params or {}))

    # -- the scheduler --------------------------------------------------------------------------

    def tick(self) -> list[str]:
        """Send every periodic task whose period has passed since it was last sent and whose
        previous run has ended; returns their names."""
        now = self.context.clock.now()
        sent = []
        for spec in self.periodic:
            last = self._last_sent.get(spec.name)
            period = timedelta(seconds=spec.period_s or 0)
            with self._lock:
                busy = self._running.get(spec.name, 0) > 0
            if busy or (last is not None and now - last < period):
                continue
            self._last_sent[spec.name] = now
            self.submit(spec.name)
            sent.append(spec.name)
        return sent

    def start(self, *, interval_s: float = 1.0) -> None:
        """Tick every `interval_s` seconds in a daemon thread until `stop()`."""
        if interval_s < tick_interval_s_min:
            raise ValueError(f"interval_s is at least {tick_interval_s_min}")

        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.tick()
                except Exception:  # a scheduler must outlive a blip; the next tick retries
                    log.exception("jobs.tick_failed")
                self._stop.wait(interval_s)

        self._scheduler = threading.Thread(target=loop, name="sellerpay-scheduler", daemon=True)
        self._scheduler.start()

    def wait_idle(self, *, timeout_s: float = 60.0) -> bool:
        """Wait until no task is queued or running (tasks sent by tasks included)."""
        with self._lock:
            return self._lock.wait_for(lambda: self._pending == 0, timeout=timeout_s)

    def failures(self) -> list[tuple[str, BaseException]]:
        """The tasks that raised since the start (they are also logged and counted)."""
        with self._lock:
            return list(self._failures)

    def stop(self, *, wait: bool = True) -> None:
        """Stop the scheduler, let running tasks finish (if `wait`), close connections."""
        self._stop.set()
        if self._scheduler is not None:
            self._scheduler.join()
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
        self.context.close()

    def __enter__(self) -> EmbeddedWorkers:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
