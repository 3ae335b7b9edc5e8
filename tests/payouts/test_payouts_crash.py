"""The crash test of RELIABILITY.md: a payout run and its submission, in a separate process,
killed with SIGKILL at random points many times, then resumed. No end-to-end id reaches the
bank twice, every due seller is paid exactly once, and the ledger verifies."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from payouts_builders import assert_ledger_sound, available, funded_seller

from database_support import DatabaseFactory
from sellerpay.clock import FixedClock
from sellerpay.payouts import service
from sellerpay.payouts.rules import PayoutStatus

WORKER = Path(__file__).with_name("crash_worker.py")
SELLERS = 100
KILLS = 10


def _start(url: str, bank: Path, day: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SELLERPAY_ONBOARDING_REQUIRED": "false",
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")]
        ),
    }
    return subprocess.Popen(
        [sys.executable, str(WORKER), url, str(bank), day],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_killed_runs_resume_without_paying_twice_or_losing_anything(
    backend: str, database_factory: DatabaseFactory, clock: FixedClock, tmp_path: Path
) -> None:
    db = database_factory.create(backend)
    url = db.engine.url.render_as_string(hide_password=False)
    sellers = [f"sel_crash{i:03d}" for i in range(SELLERS)]
    for i, seller in enumerate(sellers):
        funded_seller(db, clock, seller, available_minor=1_000 + i)
    bank = tmp_path / "bank"
    bank.mkdir()
    day = clock.now().date().isoformat()
    chance = random.Random(20261125)
    for kill in range(KILLS):
        worker = _start(url, bank, day)
        assert worker.stdout is not None
        assert worker.stdout.readline() == b"ready\n"
        if kill % 2:  # half the kills land while files are written and sent
            worker.stdout.readline()  # "submitting" (or nothing: no work was left)
            time.sleep(chance.uniform(0.0, 0.3))
        else:  # the others anywhere in the run and the approvals
            time.sleep(chance.uniform(0.0, 0.2 + 0.1 * kill))
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    for _ in range(2):  # resumed, twice: the second finds nothing left to do
        finished = _start(url, bank, day)
        finished.communicate(timeout=300)
        assert finished.returncode == 0

    from crash_worker import DirectoryBank

    received = DirectoryBank(bank).received()
    assert received, "the bank received nothing"
    assert set(received.values()) == {1}, "an end-to-end id reached the bank twice"
    payouts = service.list_payouts(db, service.PayoutFilter(), after_id=None, limit=500)
    by_seller = {p.seller_id: p for p in payouts}
    assert len(payouts) == SELLERS == len(by_seller)  # one payout per seller: none twice
    for i, seller in enumerate(sellers):
        payout = by_seller[seller]
        assert payout.status is PayoutStatus.SUBMITTED
        assert payout.source.amount_minor == 1_000 + i
        assert received[payout.end_to_end_id] == 1
        assert available(db, seller) == 0
    assert_ledger_sound(db)
