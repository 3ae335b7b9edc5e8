"""Builders of the jobs tests: settings with chosen values, a `JobContext` whose dispatched tasks
are recorded or run, funded sellers (the payouts tests' builders), and a bank that hands over
status reports.

Imported by the test modules of this folder (pytest puts the folder on `sys.path`).
"""

from __future__ import annotations

import base64
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

for folder in ("payouts", "settlement"):  # their builders, shared rather than copied
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / folder))

import pika  # noqa: E402
import pika.exceptions  # noqa: E402
import pytest  # noqa: E402
from payouts_builders import (  # noqa: E402  (the folders added just above)
    IBANS,
    KEYRING,
    FakeBank,
    assert_ledger_sound,
    available,
    balance,
    funded_seller,
)
from settlement_builders import T0, open_seller, paid, send, unique  # noqa: E402

from sellerpay.clock import Clock  # noqa: E402
from sellerpay.db import Database  # noqa: E402
from sellerpay.jobs.context import JobContext  # noqa: E402
from sellerpay.jobs.tasks import run_task  # noqa: E402
from sellerpay.payouts import service  # noqa: E402
from sellerpay.payouts.banking import InboundFile  # noqa: E402
from sellerpay.rails.instructions import StatusReport, TransferStatus  # noqa: E402
from sellerpay.rails.pain002 import write_pain002  # noqa: E402
from sellerpay.settings import Settings  # noqa: E402

__all__ = [
    "AMQP_URL",
    "IBANS",
    "KEYRING",
    "KEYRING_SETTING",
    "T0",
    "FakeBank",
    "assert_ledger_sound",
    "available",
    "balance",
    "funded_seller",
    "open_seller",
    "paid",
    "send",
    "unique",
]

AMQP_URL = os.environ.get("SELLERPAY_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_rabbitmq() -> str:
    """The URL of a reachable RabbitMQ, or skip (fail in CI) saying why."""
    try:
        pika.BlockingConnection(pika.URLParameters(f"{AMQP_URL}?socket_timeout=3")).close()
    except pika.exceptions.AMQPError as error:
        message = f"RabbitMQ unreachable at {AMQP_URL}: {error!r}"
        if IN_CI:
            pytest.fail(f"CI=true and {message}: the RabbitMQ suite is mandatory", pytrace=False)
        pytest.skip(f"SKIPPING THE RABBITMQ TESTS: {message}")
    return AMQP_URL


KEYRING_SETTING = "test:" + base64.b64encode(KEYRING.keys["test"]).decode("ascii")
"""The payouts tests' key ring as SELLERPAY_ENCRYPTION_KEYS (for worker processes)."""


def settings_with(**values: Any) -> Settings:
    """The settings of the environment, with these values (onboarding not required, and the
    payouts tests' key ring, so that bank accounts they wrote can be read)."""
    return Settings(**{"onboarding_required": False, "encryption_keys": KEYRING_SETTING, **values})


@dataclass
class Dispatched:
    """What tasks sent to other tasks, in order (a runner that runs nothing)."""

    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __call__(self, name: str, params: Mapping[str, Any]) -> None:
        self.sent.append((name, dict(params)))


def context(
    db: Database,
    clock: Clock,
    settings: Settings | None = None,
    *,
    bank: Any = None,
    inline: bool = False,
) -> tuple[JobContext, Dispatched]:
    """A context whose dispatched tasks are recorded (and, when `inline`, run at once)."""
    dispatched = Dispatched()
    ctx = JobContext(
        db, clock, settings or settings_with(), dispatch=dispatched, bank=bank, keyring=KEYRING
    )
    if inline:

        def run_inline(name: str, params: Mapping[str, Any]) -> None:
            dispatched(name, params)
            run_task(name, ctx, params)

        ctx.dispatch = run_inline
    return ctx, dispatched


def payouts_of(db: Database, seller_id: str | None = None) -> list[service.Payout]:
    return service.list_payouts(
        db, service.PayoutFilter(seller_id=seller_id), after_id=None, limit=500
    )


@dataclass
class ReportingBank(FakeBank):
    """A `FakeBank` that, once files were sent, hands over one pain.002 settling every transfer
    it executed (then nothing: the bank hands each file over once)."""

    reports: list[InboundFile] = field(default_factory=list)
    now: datetime | None = None

    def report_settled(self, db: Database, now: datetime) -> None:
        for number, (_rail, _filename, _content, message_id) in enumerate(self.received):
            transfers = tuple(
                TransferStatus(p.end_to_end_id, "settled", payment_information_id=p.bank_reference)
                for p in payouts_of(db)
                if p.end_to_end_id in self.executed
            )
            report = StatusReport(f"RPT{number}", message_id, None, None, transfers)
            content = write_pain002(report, created_at=now)
            self.reports.append(InboundFile(f"pain002-{number}.xml", content))

    def collect(self) -> list[InboundFile]:
        files, self.reports = self.reports, []
        return files


def only(items: Sequence[Any]) -> Any:
    (item,) = items
    return item
