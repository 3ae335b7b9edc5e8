"""The `reconcile` benchmark: matching statement lines to payouts, and importing a statement.

Two sections, each at N lines and at N/10 (the scaling reference: linear means t(N)/t(N/10)
close to 10):

- (a) matching: `reconciliation.rules.match_lines` on N lines against N expected payouts fed
  straight to the matcher as `ExpectedMovement`s (creating N real payouts through the payouts
  service would take longer than the whole benchmark: sellers, bank accounts, approvals). The
  lines mix what a bank sends: 80 % quote the end-to-end id (1 in 20 with a bank fee netted),
  10 % carry no reference (amount, date and counterparty), 5 % are batch bookings of 4 payouts
  named by PmtInfId, 5 % nobody expects. Checked: every designed match is found, nothing twice.
- (b) import: `reconciliation.service.import_statement` of a camt.053 of N lines written by our
  own writer (parse, store the lines, match, the exceptions, the balance check) into a new
  PostgreSQL database, then a SQLite file for context. No payouts exist there, so every line
  becomes an `unmatched_line` exception: the most the import can have to store. Checked: every
  line stored, one exception each.
"""

from __future__ import annotations

import gc
import random
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import psycopg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.db.migrate import upgrade
from sellerpay.money import Money
from sellerpay.rails.camt import write_camt053
from sellerpay.rails.statements import Statement, StatementLine
from sellerpay.reconciliation import models
from sellerpay.reconciliation.rules import ExpectedMovement, LineToMatch, MatchPolicy, match_lines
from sellerpay.reconciliation.service import ReconciliationPolicy, import_statement

ADMIN_URL_DEFAULT: Final = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TARGET_LINES_PER_S: Final = 100_000.0
TARGET_SCALING_MAX: Final = 11.0
DAY: Final = date(2026, 3, 2)
BATCH_SIZE: Final = 4
IBAN: Final = "FR7630006000011234567890189"

StartTask = Callable[[str, int], Callable[[int], None]]


class ReconcileBenchFailed(Exception):
    """A section did not find what it was designed to find, or did not store every line."""


@dataclass(frozen=True)
class ReconcileBenchConfig:
    size: str
    match_lines: int
    import_lines: int
    admin_url: str
    seed: int = 7

    @staticmethod
    def of_size(
        *, quick: bool, lines: int | None, import_lines: int | None, admin_url: str
    ) -> ReconcileBenchConfig:
        n = lines or (100_000 if quick else 1_000_000)
        m = import_lines or (20_000 if quick else 100_000)
        if n < 100 or m < 100:
            raise ValueError("at least 100 lines: N/10 must still be a statement")
        return ReconcileBenchConfig("quick" if quick else "full", n, m, admin_url)


@dataclass(frozen=True)
class Row:
    label: str
    lines: int
    seconds: float
    backend: str

    @property
    def per_s(self) -> float:
        return self.lines / self.seconds if self.seconds else 0.0


@dataclass
class ReconcileBenchResult:
    config: ReconcileBenchConfig
    rows: list[Row] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)

    def _find(self, label: str) -> Row:
        return next(row for row in self.rows if row.label == label)

    def scaling(self, section: str) -> float:
        big, small = self._find(f"{section} N"), self._find(f"{section} N/10")
        return big.seconds / small.seconds if small.seconds else 0.0

    def summary(self) -> dict[str, Any]:
        match = self._find("(a) matching N")
        data: dict[str, Any] = {
            "bench": "reconcile",
            "ok": True,
            "size": self.config.size,
            "match_lines": match.lines,
            "match_seconds": round(match.seconds, 4),
            "match_lines_per_s": round(match.per_s),
            "match_scaling": round(self.scaling("(a) matching"), 2),
            "target_lines_per_s": TARGET_LINES_PER_S,
            "target_scaling_max": TARGET_SCALING_MAX,
        }
        for label, key in (("(b) import", "import"), ("(b2) import", "import_sqlite")):
            row = self._find(f"{label} N")
            data[f"{key}_lines"] = row.lines
            data[f"{key}_seconds"] = round(row.seconds, 3)
            data[f"{key}_lines_per_s"] = round(row.per_s)
            data[f"{key}_scaling"] = round(self.scaling(label), 2)
        return data


# --- the workload ------------------------------------------------------------------------------


def workload(n: int, seed: int) -> tuple[list[LineToMatch], list[ExpectedMovement], int]:
    """N lines and the payouts they pay (see the module docstring); returns the number of
    lines designed to match."""
    rnd = random.Random(seed)
    expected: list[ExpectedMovement] = []
    lines: list[LineToMatch] = []
    designed = 0
    i = 0
    while len(lines) < n:
        kind = rnd.random()
        due = DAY + timedelta(days=rnd.randrange(5))
        if kind < 0.05:  # a batch booking of BATCH_SIZE payouts named by its PmtInfId
            members = [_payout(i + k, rnd, due) for k in range(BATCH_SIZE)]
            block = f"PMT{i:010d}"
            total = sum(m.amount.amount_minor for m in members)
            expected += members
            expected.append(ExpectedMovement(
                key=f"batch:{block}", kind="payout_batch", direction="debit",
                amount=Money(total, "EUR"), due_on=due, references=(block,),
                members=tuple(m.key for m in members)))  # fmt: skip
            lines.append(LineToMatch(key=f"l{i}", direction="debit", amount=Money(total, "EUR"),
                                     booked_on=due, batch_references=(block,)))  # fmt: skip
            designed += 1
            i += BATCH_SIZE
            continue
        movement = _payout(i, rnd, due)
        if kind < 0.10:  # nobody expects this line
            lines.append(LineToMatch(key=f"l{i}", direction="debit", amount=movement.amount,
                                     booked_on=due))  # fmt: skip
        elif kind < 0.20:  # no reference: amount, date and counterparty
            expected.append(movement)
            account = f"DE89370400440532{i % 10_000:04d}"
            lines.append(LineToMatch(key=f"l{i}", direction="debit", amount=movement.amount,
                                     booked_on=due + timedelta(days=1),
                                     counterparty_account=account))  # fmt: skip
            designed += 1
        else:  # the end-to-end id, now and then with a bank fee netted
            expected.append(movement)
            fee = 150 if rnd.random() < 0.05 else 0
            amount = Money(movement.amount.amount_minor + fee, "EUR")
            reference = (movement.end_to_end_id,)
            lines.append(LineToMatch(key=f"l{i}", direction="debit", amount=amount,
                                     booked_on=due, references=reference))  # fmt: skip
            designed += 1
        i += 1
    return lines, expected, designed


def _payout(i: int, rnd: random.Random, due: date) -> ExpectedMovement:
    e2e = f"SP{i:018X}"
    return ExpectedMovement(
        key=f"payout:po_{i}", kind="payout", direction="debit",
        amount=Money(rnd.randrange(1_000, 5_000_000), "EUR"), due_on=due, references=(e2e,),
        counterparty_account=f"{i % 10_000:04d}", payout_id=f"po_{i}", end_to_end_id=e2e,
    )  # fmt: skip


def camt_statement(n: int, seed: int) -> bytes:
    rnd = random.Random(seed)
    lines = tuple(
        StatementLine(
            line_id=f"E{i:08d}",
            booked_on=DAY,
            value_on=DAY,
            amount=Money(rnd.randrange(1_000, 5_000_000), "EUR"),
            direction="debit",
            end_to_end_id=f"SP{i:018X}",
            counterparty_name="ACME REFURB SAS",
            counterparty_account="DE89370400440532013000",
            remittance=f"PAYOUT {i}",
        )
        for i in range(n)
    )
    closing = -sum(line.amount.amount_minor for line in lines)
    statement = Statement(
        statement_id=f"BENCH-{n}", account=IBAN, currency="EUR", lines=lines, format="camt.053",
        opening_balance=Money(0, "EUR"), closing_balance=Money(closing, "EUR"),
        opening_date=DAY, closing_date=DAY,
        created_at=datetime.combine(DAY, datetime.min.time(), tzinfo=UTC), sequence="1",
    )  # fmt: skip
    return write_camt053(statement)


# --- sections ------------------------------------------------------------------------------------


def _match_section(n: int, seed: int, result: ReconcileBenchResult, label: str) -> None:
    lines, expected, designed = workload(n, seed)
    policy = MatchPolicy(date_window_days=3, fee_tolerance_minor={"EUR": 500})
    gc.collect()
    gc.freeze()
    started = time.perf_counter()
    matched = match_lines(lines, expected, policy=policy)
    seconds = time.perf_counter() - started
    gc.unfreeze()
    found = sum(1 for m in matched.matches for _ in (m,))
    if found != designed:
        raise ReconcileBenchFailed(f"{label}: {found} matches, {designed} designed")
    result.rows.append(Row(label, len(lines), seconds, "in memory"))
    result.verified.append(f"{label}: {found:,} of {len(lines):,} lines matched as designed")


def _import_section(
    db: Database, n: int, seed: int, result: ReconcileBenchResult, label: str, backend: str
) -> None:
    data = camt_statement(n, seed)
    clock = FixedClock(datetime.combine(DAY + timedelta(days=1), datetime.min.time(), tzinfo=UTC))
    policy = ReconciliationPolicy(3, {"EUR": 500}, 5, 60, payout_bank_account="main")
    account = f"bench-{n}"
    started = time.perf_counter()
    outcome = import_statement(db, data, filename=f"bench-{n}.xml", bank_account=account,
                               clock=clock, policy=policy)  # fmt: skip
    seconds = time.perf_counter() - started
    with db.reading() as conn:
        stored = conn.execute(
            select(func.count()).select_from(models.statement_lines)
            .where(models.statement_lines.c.bank_account == account)
        ).scalar_one()  # fmt: skip
        opened = conn.execute(
            select(func.count()).select_from(models.exceptions)
            .where(models.exceptions.c.bank_account == account,
                   models.exceptions.c.kind == "unmatched_line")
        ).scalar_one()  # fmt: skip
    if stored != n or opened != n or outcome.lines != n:
        raise ReconcileBenchFailed(f"{label}: {stored} lines stored, {opened} exceptions, of {n}")
    result.rows.append(Row(label, n, seconds, backend))
    result.verified.append(f"{label} ({backend}): {n:,} lines stored, {n:,} exceptions opened")


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def run(config: ReconcileBenchConfig, *, start_task: StartTask) -> ReconcileBenchResult:
    result = ReconcileBenchResult(config)
    advance = start_task("matching (N/10, N)", 2)
    for label, n in (("(a) matching N/10", config.match_lines // 10),
                     ("(a) matching N", config.match_lines)):  # fmt: skip
        _match_section(n, config.seed, result, label)
        advance(1)
    name = f"sellerpay_bench_{secrets.token_hex(6)}"
    admin = _libpq(config.admin_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(config.admin_url).set(database=name).render_as_string(hide_password=False)
        db = Database(url, pool_size=4)
        try:
            upgrade(db)
            advance = start_task("import on PostgreSQL (N/10, N)", 2)
            for label, n in (("(b) import N/10", config.import_lines // 10),
                             ("(b) import N", config.import_lines)):  # fmt: skip
                _import_section(db, n, config.seed, result, label, "postgresql")
                advance(1)
        finally:
            db.dispose()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    with tempfile.TemporaryDirectory() as directory:
        db = Database(f"sqlite:///{Path(directory) / 'bench.db'}")
        try:
            upgrade(db)
            advance = start_task("import on SQLite (N/10, N)", 2)
            for label, n in (("(b2) import N/10", config.import_lines // 10),
                             ("(b2) import N", config.import_lines)):  # fmt: skip
                _import_section(db, n, config.seed, result, label, "sqlite")
                advance(1)
        finally:
            db.dispose()
    return result


def describe(config: ReconcileBenchConfig) -> str:
    return (
        f"reconcile benchmark ({config.size}): matching {config.match_lines:,} and "
        f"{config.match_lines // 10:,} lines in memory; importing camt.053 statements of "
        f"{config.import_lines:,} and {config.import_lines // 10:,} lines on PostgreSQL "
        f"({make_url(config.admin_url).render_as_string(hide_password=True)}) and SQLite"
    )
