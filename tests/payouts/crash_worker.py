"""The process the crash test kills: a payout run, its approvals and its submission to a bank
that lives in a directory (each `send` writes a new file, never deduplicated, so a payout sent
twice would show up twice).

    python crash_worker.py DATABASE_URL BANK_DIR DAY
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from lxml import etree

sys.path.insert(0, str(Path(__file__).parent))

from payouts_builders import KEYRING, POLICY

from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.payouts import service
from sellerpay.payouts.banking import InboundFile
from sellerpay.payouts.rules import PayoutStatus
from sellerpay.rails.instructions import TransferStatus


def end_to_end_ids(content: bytes) -> list[str]:
    root = etree.fromstring(content)
    return [e.text or "" for e in root.iter() if etree.QName(e).localname == "EndToEndId"]


class DirectoryBank:
    """A bank whose inbox is a directory; a file is received once it is renamed into it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, rail: str, filename: str, content: bytes, message_id: str) -> None:
        temporary = self.directory / f".{uuid.uuid4().hex}.tmp"
        with temporary.open("wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        temporary.rename(self.directory / f"{message_id}.{uuid.uuid4().hex}.xml")

    def received(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for path in self.directory.glob("*.xml"):
            for e2e in end_to_end_ids(path.read_bytes()):
                counts[e2e] = counts.get(e2e, 0) + 1
        return counts

    def inquire(
        self, rail: str, message_id: str, end_to_end_ids: Sequence[str]
    ) -> list[TransferStatus]:
        have = self.received()
        return [
            TransferStatus(e2e, "accepted" if e2e in have else "unknown") for e2e in end_to_end_ids
        ]

    def collect(self) -> list[InboundFile]:
        return []


def main(url: str, bank_dir: str, day: str) -> None:
    os.environ["SELLERPAY_ONBOARDING_REQUIRED"] = "false"
    db = Database(url, pool_size=2)
    clock = FixedClock(
        datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC) + timedelta(hours=9)
    )
    bank = DirectoryBank(Path(bank_dir))
    service.run_payouts(
        db,
        run_on=clock.now().date(),
        clock=clock,
        keyring=KEYRING,
        policy=replace(POLICY, chunk_size=20),
        run_key="crash-test",
    )
    for payout in service.list_payouts(
        db, service.PayoutFilter(status=PayoutStatus.PENDING), after_id=None, limit=500
    ):
        service.approve_payout(
            db, payout.id, approver="key:k_a (approver)", clock=clock, keyring=KEYRING
        )
    print("submitting", flush=True)
    service.resolve_submissions(db, bank=bank, clock=clock, stale_after=timedelta(0))
    while True:  # small files, one after the other: many points to be killed at
        report = service.submit_due(
            db,
            bank=bank,
            clock=clock,
            keyring=KEYRING,
            originators=service.originators(),
            limit=7,
        )
        if report.files == 0:
            break
    db.dispose()


if __name__ == "__main__":
    print("ready", flush=True)  # imports done: the test's kills land in the work itself
    main(*sys.argv[1:4])
