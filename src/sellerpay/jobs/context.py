"""What a task needs besides its parameters: the database, the clock, the settings, and the
connections opened once per process on first use (the bank, the broker publisher, an HTTP
client for webhooks, the key ring), plus how to hand work to another task (`dispatch`).

Both runners build one: the embedded runner once for the process, each Celery worker process
once after it started (a forked child opens its own connections, never its parent's).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import structlog

from sellerpay.bankaccounts.service import configured_keyring
from sellerpay.clock import Clock
from sellerpay.crypto import KeyRing
from sellerpay.db import Database
from sellerpay.events.service import USER_AGENT, EventPublisher
from sellerpay.jobs.stats import TimedBank
from sellerpay.payouts.banking import BankConnection
from sellerpay.settings import Settings

log = structlog.get_logger(__name__)

Dispatch = Callable[[str, Mapping[str, Any]], None]
"""Send the task named by its first argument with these keyword parameters to the workers."""


class JobContext:
    """The process's resources for tasks; connections are opened on first use and kept."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: Settings,
        *,
        dispatch: Dispatch,
        bank: BankConnection | None = None,
        publisher: EventPublisher | None = None,
        http: httpx.Client | None = None,
        keyring: KeyRing | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.dispatch = dispatch
        self._bank = None if bank is None else TimedBank(bank, db, clock)
        self._publisher = publisher
        self._http = http
        self._keyring = keyring
        self._owned: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def keyring(self) -> KeyRing:
        """The key ring of SELLERPAY_ENCRYPTION_KEYS (bank account numbers, bank files)."""
        with self._lock:
            if self._keyring is None:
                self._keyring = configured_keyring(self.db, self.settings)
            return self._keyring

    def bank(self) -> BankConnection | None:
        """The bank connection (every call timed for /metrics), or None when there is none:
        the one given, else an `HttpBank` to `bank_url`."""
        with self._lock:
            if self._bank is None:
                if not self.settings.bank_url:
                    return None
                from sellerpay.simbank.client import HttpBank  # the one connection we have

                client = HttpBank(self.settings.bank_url)
                self._owned.append(client.close)
                self._bank = TimedBank(client, self.db, self.clock)
            return self._bank

    def publisher(self) -> EventPublisher | None:
        """The broker in distributed mode (the outbox is relayed to it); None when embedded."""
        with self._lock:
            if self._publisher is None and self.settings.deployment_mode == "distributed":
                from sellerpay.events.broker import AmqpPublisher

                publisher = AmqpPublisher(self.settings.amqp_url)
                self._owned.append(publisher.close)
                self._publisher = publisher
            return self._publisher

    def http(self) -> httpx.Client:
        """The HTTP client webhooks are posted with."""
        with self._lock:
            if self._http is None:
                self._http = httpx.Client(headers={"User-Agent": USER_AGENT})
                self._owned.append(self._http.close)
            return self._http

    def close(self) -> None:
        """Close the connections this context opened (not those it was given)."""
        with self._lock:
            for close in reversed(self._owned):
                try:
                    close()
                except Exception:  # closing is best effort: the process is going away
                    log.warning("jobs.close_failed", exc_info=True)
            self._owned.clear()
