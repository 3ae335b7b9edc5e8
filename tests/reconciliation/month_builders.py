"""Builders of the month-long reconciliation test: sellers paid out every banking day through
the payouts service, a `SimulatedBank` (no faults, the same clock) that books the payouts and
writes the statements, and a `Tamper` that changes the bank's statements on chosen days.

One month is 20 banking days of March 2026 (no TARGET or Federal Reserve holiday: the payouts'
calendars and the bank's, which knows none, agree). Each day at 09:00 sales are credited,
the payout run pays every seller with money, the first payout to each bank account is
approved, and the bank takes the day's files (a SEPA pain.001 with batch booking, a NACHA
file). At 00:30 the next day the bank has played the day: its status reports and
notifications go to `payouts.reports.import_bank_report`, its statements (camt.053 and MT940
of each account) to reconciliation, one format per run (as a deployment subscribes to one).

Imported by the test modules of this folder (pytest puts the folder on `sys.path`).
"""

from __future__ import annotations

import io
import sys
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Final, Literal

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "payouts"))  # shared builders

from payouts_builders import KEYRING, POLICY, credit, funded_seller
from reconciliation_builders import count

from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.ledger.rules import EntryRequest, Side, TransactionRequest
from sellerpay.ledger.service import balances_of, post_transaction
from sellerpay.money import Money
from sellerpay.payouts import service as payouts
from sellerpay.payouts.banking import InboundFile
from sellerpay.payouts.calendar import is_banking_day
from sellerpay.payouts.reports import ReportOutcome, import_bank_report
from sellerpay.payouts.rules import PayoutStatus
from sellerpay.rails.camt import parse_camt, write_camt053
from sellerpay.rails.instructions import IbanAccount
from sellerpay.rails.statements import Statement, StatementLine
from sellerpay.reconciliation import service as reconciliation
from sellerpay.simbank import SimulatedBank, fault_profile
from sellerpay.simbank.mt940_writer import write_mt940

StatementKind = Literal["camt.053", "mt940"]
STATEMENT_KINDS: Final[tuple[StatementKind, ...]] = ("camt.053", "mt940")
BANK_ACCOUNT: Final = "main"  # platform:bank:main, which payouts leave from
FIRST_DAY: Final = date(2026, 3, 2)  # a Monday
BANKING_DAYS: Final = 20
WORK_AT: Final = time(9, 0)  # before every rail's cut-off: payouts execute the same day
BANK_NIGHT_AT: Final = time(0, 30)  # the bank's statements are written at 00:00
SEED: Final = 7
EUR_SELLERS: Final = 16
USD_SELLERS: Final = 4
OPENING: Final[Mapping[str, Money]] = {
    "EUR": Money(50_000_000, "EUR"),
    "USD": Money(20_000_000, "USD"),
}
"""What each of our accounts holds when the month starts, at the bank and in the ledger."""
SALE_MIN_MINOR: Final = 10_000
SALE_SPREAD_MINOR: Final = 89_000  # sales (and so payouts) of 100.00 to 989.99
SINGLE_PAYOUT_DAYS: Final[Mapping[int, int]] = {3: 0, 5: 1, 12: 2}
"""Day index -> the only EUR seller paid that day: the bank books a lone payout as a plain
line (several are one batch entry), which is what the injected differences change."""
EUR_IBANS: Final = (  # not our own account (FR76 3000 6000 0112 3456 7890 189)
    "DE89370400440532013000",
    "ES9121000418450200051332",
    "FR1420041010050500013M02606",
    "NL91ABNA0417164300",
    "BE68539007547034",
    "IT60X0542811101000000123456",
    "AT611904300234573201",
)
APPROVER: Final = "key:k_approver (second pair of eyes, approver)"
RECONCILIATION: Final = reconciliation.ReconciliationPolicy(
    date_window_days=3,
    fee_tolerance_minor={"EUR": 500, "USD": 500},
    overdue_days=5,
    lookback_days=60,
    payout_bank_account=BANK_ACCOUNT,
)
PAYOUTS: Final = replace(POLICY, chunk_size=50, platform_bank=BANK_ACCOUNT)


def banking_days(first: date = FIRST_DAY, count: int = BANKING_DAYS) -> list[date]:
    """`count` weekdays from `first` on."""
    days: list[date] = []
    day = first
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def seller_ids() -> list[str]:
    return [f"sel_month{number:02d}" for number in range(EUR_SELLERS + USD_SELLERS)]


def sales_of(index: int) -> list[tuple[int, int]]:
    """The sales of day `index` as (seller number, amount in minor units): about a third of
    the EUR sellers and half of the USD sellers each day, one EUR seller on the single days."""
    if index in SINGLE_PAYOUT_DAYS:
        eur = [SINGLE_PAYOUT_DAYS[index]]
    else:
        eur = [n for n in range(EUR_SELLERS) if (n + index) % 3 == 0]
    usd = [EUR_SELLERS + n for n in range(USD_SELLERS) if (n + index) % 2 == 0]
    return [
        (n, SALE_MIN_MINOR + (n * 7_919 + index * 6_271) % SALE_SPREAD_MINOR) for n in eur + usd
    ]


# --- changing the bank's statements -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Injected:
    """One difference put into a statement: what, on which day, and how a test finds it (the
    payout's end-to-end id, or the bank reference of a line the bank never wrote)."""

    kind: Literal["missing_line", "changed_amount", "unknown_line", "bank_fee_line", "netted_fee"]
    on: date
    end_to_end_id: str = ""
    bank_reference: str = ""
    amount: Money | None = None  # the line as it now is on the statement (None: removed)


Change = Callable[[Statement], tuple[tuple[StatementLine, ...], Injected]]


def _only_payout(statement: Statement) -> StatementLine:
    (line,) = statement.lines  # a single-payout day: one plain debit line
    assert line.direction == "debit" and line.end_to_end_id and not line.details, line
    return line


def drop_the_payout(statement: Statement) -> tuple[tuple[StatementLine, ...], Injected]:
    """The bank's debit of the day's payout is not on the statement."""
    line = _only_payout(statement)
    return (), Injected("missing_line", line.booked_on, end_to_end_id=line.end_to_end_id)


def change_amount(delta_minor: int, kind: Literal["changed_amount", "netted_fee"]) -> Change:
    """The payout's debit is `delta_minor` larger than what we sent."""

    def change(statement: Statement) -> tuple[tuple[StatementLine, ...], Injected]:
        line = _only_payout(statement)
        changed = replace(line, amount=line.amount + Money(delta_minor, line.amount.currency))
        found = Injected(kind, line.booked_on, end_to_end_id=line.end_to_end_id,
                         amount=changed.amount)  # fmt: skip
        return (changed,), found

    return change


def add_line(
    kind: Literal["unknown_line", "bank_fee_line"], amount_minor: int, reference: str, **text: str
) -> Change:
    """A debit of `amount_minor` that nobody asked for, booked with the day's lines."""

    def change(statement: Statement) -> tuple[tuple[StatementLine, ...], Injected]:
        on = statement.closing_date
        assert on is not None
        line = StatementLine(
            line_id=reference,
            booked_on=on,
            value_on=on,
            amount=Money(amount_minor, statement.currency),
            direction="debit",
            bank_reference=reference,
            **text,  # type: ignore[arg-type]
        )
        found = Injected(kind, on, bank_reference=reference, amount=line.amount)
        return (*statement.lines, line), found

    return change


@dataclass
class Tamper:
    """Changes the bank's statements of chosen days (index of the banking day, currency), and
    carries each change into the balances of every later statement of that account, as the bank
    would have had it: only the changed day differs from the ledger, never the chain of
    balances."""

    changes: Mapping[tuple[int, str], Change]
    days: Sequence[date] = field(default_factory=banking_days)
    injected: list[Injected] = field(default_factory=list)
    _carried: dict[tuple[str, str], int] = field(default_factory=dict)

    def statement(self, original: Statement) -> Statement:
        """The statement as the test's bank sends it (`original` itself when unchanged)."""
        key = (original.account, original.currency)
        carried = self._carried.get(key, 0)
        on = original.closing_date
        index = self.days.index(on) if on in self.days else None
        change = self.changes.get((index, original.currency)) if index is not None else None
        if change is None and not carried:
            return original
        lines = original.lines
        if change is not None:
            lines, found = change(original)
            self.injected.append(found)
        moved = _signed_total(lines) - _signed_total(original.lines)
        self._carried[key] = carried + moved
        assert original.opening_balance is not None and original.closing_balance is not None
        currency = original.currency
        return replace(
            original,
            lines=lines,
            opening_balance=original.opening_balance + Money(carried, currency),
            closing_balance=original.closing_balance + Money(carried + moved, currency),
        )


def _signed_total(lines: Sequence[StatementLine]) -> int:
    return sum(line.signed_amount.amount_minor for line in lines)


def month_of_differences() -> Tamper:
    """The four differences of the issue (and a fee netted within the tolerance), in EUR. The
    added lines' amounts are outside the payouts' range (100.00 to 989.99), so no rule can
    take them for a payout by amount; the changed ones are on single-payout days, whose payout
    the bank books as a plain line in both formats."""
    return Tamper(
        {
            (3, "EUR"): drop_the_payout,
            (5, "EUR"): change_amount(2_000, "changed_amount"),
            (8, "EUR"): add_line("unknown_line", 987_654, "SBXUNKNOWN0001",
                                 counterparty_name="UNKNOWN TRADING LTD",
                                 remittance="INVOICE 4711"),
            (10, "EUR"): add_line("bank_fee_line", 1_250, "SBXFEE00000001",
                                  remittance="ACCOUNT MAINTENANCE FEE",
                                  bank_transaction_code="ACMT-MDOP-CHRG"),
            (12, "EUR"): change_amount(300, "netted_fee"),
        }
    )  # fmt: skip


# --- the month --------------------------------------------------------------------------------


@dataclass
class StatementImport:
    """A statement file as reconciliation got it (after the tamper, if any)."""

    filename: str
    content: bytes
    statement: Statement
    outcome: reconciliation.ImportOutcome


@dataclass
class Month:
    """The platform and the bank through `BANKING_DAYS` banking days; statements of `kind`
    imported into reconciliation, the other format's files left aside."""

    db: Database
    kind: StatementKind
    tamper: Tamper | None = None
    clock: FixedClock = field(
        default_factory=lambda: FixedClock(datetime.combine(FIRST_DAY, time(8), tzinfo=UTC))
    )
    bank: SimulatedBank = field(init=False)
    statements: list[StatementImport] = field(default_factory=list)
    reports: list[ReportOutcome] = field(default_factory=list)
    set_aside: list[str] = field(default_factory=list)  # the other format's statements
    unfaithful: list[str] = field(default_factory=list)
    _twins: dict[str, tuple[Statement, Statement]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.bank = SimulatedBank(
            clock=self.clock, seed=SEED, faults=fault_profile("none"), opening_balances=OPENING
        )

    def run(self) -> None:
        days = banking_days()
        closed = [d for d in days for rail in ("sepa", "ach") if not is_banking_day(rail, d)]
        assert closed == [], f"the month must have no holiday of the rails: {closed}"
        self.open()
        for index, day in enumerate(days):
            self.work(index, day)
            self.bank_night(day + timedelta(days=1))

    def open(self) -> None:
        """Sellers with verified bank accounts past their cool-down, and our accounts' money."""
        for number, seller_id in enumerate(seller_ids()):
            usd = number >= EUR_SELLERS
            funded_seller(
                self.db, self.clock, seller_id, available_minor=0,
                currency="USD" if usd else "EUR", country="US" if usd else "FR",
                details=None if usd else IbanAccount(EUR_IBANS[number % len(EUR_IBANS)]),
            )  # fmt: skip
        for currency, amount in sorted(OPENING.items()):
            post_transaction(
                self.db,
                TransactionRequest(
                    idempotency_key=f"test:opening:{BANK_ACCOUNT}:{currency}",
                    kind="opening_balance",
                    entries=(
                        EntryRequest(f"platform:bank:{BANK_ACCOUNT}", Side.DEBIT, amount),
                        EntryRequest("platform:psp_clearing", Side.CREDIT, amount),
                    ),
                    effective_at=self.clock.now() - timedelta(days=1),
                ),
                clock=self.clock,
            )

    def work(self, index: int, day: date) -> None:
        """09:00: the day's sales, the payout run, approvals, and the files to the bank."""
        self.clock.set(datetime.combine(day, WORK_AT, tzinfo=UTC))
        ids = seller_ids()
        for number, amount_minor in sales_of(index):
            currency = "USD" if number >= EUR_SELLERS else "EUR"
            credit(self.db, self.clock, ids[number], Money(amount_minor, currency),
                   key=f"sale:{day.isoformat()}")  # fmt: skip
        payouts.run_payouts(self.db, run_on=day, clock=self.clock, keyring=KEYRING, policy=PAYOUTS)
        pending = payouts.list_payouts(
            self.db, payouts.PayoutFilter(status=PayoutStatus.PENDING), after_id=None, limit=500
        )
        for payout in pending:  # a first payout to a bank account waits for a second person
            payouts.approve_payout(
                self.db, payout.id, approver=APPROVER, clock=self.clock, keyring=KEYRING,
                note="first payout to this account: holder checked",
            )  # fmt: skip
        report = payouts.submit_due(
            self.db, bank=self.bank, clock=self.clock, keyring=KEYRING,
            originators=payouts.originators(),
        )  # fmt: skip
        assert report.unknown == report.refused == 0, report

    def bank_night(self, day: date) -> None:
        """00:30: what the bank did is collected and imported, in the order it was written."""
        self.clock.set(datetime.combine(day, BANK_NIGHT_AT, tzinfo=UTC))
        self.bank.advance(self.clock.now())
        for file in self.bank.collect():
            self.receive(file)

    def receive(self, file: InboundFile) -> None:
        name = file.filename
        if name.endswith(".camt053.xml"):  # the bank writes it first, its MT940 twin next
            self._camt053(name, file.content)
        elif name.endswith(".mt940.sta"):
            self._mt940(name, file.content)
        else:  # pain.002, camt.054, NACHA returns
            self.reports.append(import_bank_report(self.db, name, file.content, clock=self.clock))

    def _camt053(self, filename: str, content: bytes) -> None:
        """The camt.053 is read (it has the batch details) and tampered with, for its twin
        too; imported here when this run reads camt.053 (rewritten when it was changed)."""
        (original,) = parse_camt(content).statements
        statement = self.tamper.statement(original) if self.tamper else original
        self._twins[filename.removesuffix(".camt053.xml")] = (original, statement)
        if self.kind != "camt.053":
            self.set_aside.append(filename)
            return
        if statement is not original:
            content = write_camt053(statement)
        self._import_statement(filename, content, statement)

    def _mt940(self, filename: str, content: bytes) -> None:
        """The same statement as MT940: the bank's bytes, or when the tamper changed the
        statement, what the bank's own MT940 writer makes of the changed one (`unfaithful`
        lists the files where that writer would not have given the bank's bytes back)."""
        original, statement = self._twins[filename.removesuffix(".mt940.sta")]
        if write_mt940([original]) != content:
            self.unfaithful.append(filename)
        if self.kind != "mt940":
            self.set_aside.append(filename)
            return
        if statement is not original:
            content = write_mt940([statement])
        self._import_statement(filename, content, statement)

    def _import_statement(self, filename: str, content: bytes, statement: Statement) -> None:
        outcome = self.import_(content, filename)
        self.statements.append(StatementImport(filename, content, statement, outcome))

    def import_(self, content: bytes, filename: str) -> reconciliation.ImportOutcome:
        return reconciliation.import_statement(
            self.db, content, filename=filename, bank_account=BANK_ACCOUNT, clock=self.clock,
            policy=RECONCILIATION,
        )  # fmt: skip


# --- looking at the result ---------------------------------------------------------------------


def bank_balance(db: Database, currency: str) -> Money:
    """The ledger's `platform:bank:main` in `currency`."""
    return balance(db, f"platform:bank:{BANK_ACCOUNT}", currency)


def balance(db: Database, code: str, currency: str) -> Money:
    return balances_of(db, [(code, currency)])[(code, currency)]


def all_payouts(db: Database) -> list[payouts.Payout]:
    found: list[payouts.Payout] = []
    while True:
        after = found[-1].id if found else None
        page = payouts.list_payouts(db, payouts.PayoutFilter(), after_id=after, limit=500)
        found += page
        if len(page) < 500:
            return found


def all_exceptions(db: Database) -> list[reconciliation.ExceptionView]:
    """Every exception, resolved or not (a resolved one would still say something happened)."""
    views, after = reconciliation.list_exceptions(db, limit=500)
    assert after is None, "more exceptions than one page"
    return views


def reference_of(view: reconciliation.ExceptionView) -> str:
    """What an exception is about: the expected movement it names, else its line's bank
    reference."""
    if view.expected_key:
        return view.expected_key
    return str(view.evidence["references"]["bank_reference"])


def snapshot(db: Database) -> dict[str, object]:
    """What importing a statement may change: exceptions (with their versions), statements,
    lines, matches, payouts (with their versions) and the ledger accounts reconciliation moves."""
    statements, after = reconciliation.list_statements(db, limit=500)
    assert after is None, "more statements than one page"
    codes = (f"platform:bank:{BANK_ACCOUNT}", "platform:losses", "platform:payouts_in_transit")
    keys = [(code, currency) for code in codes for currency in sorted(OPENING)]
    return {
        "exceptions": sorted((v.id, v.kind, v.status, v.version) for v in all_exceptions(db)),
        "statements": sorted(s.id for s in statements),
        "imports": count(db, "statement_imports"),
        "lines": count(db, "statement_lines"),
        "matches": count(db, "matches"),
        "payouts": sorted((p.id, p.status.value, p.version) for p in all_payouts(db)),
        "balances": balances_of(db, keys),
    }


def resent(kind: StatementKind, imports: Sequence[StatementImport]) -> bytes:
    """One file holding statements imported before, in other bytes: their camt.053 documents
    in a zip, or their MT940 texts one after the other."""
    if kind == "mt940":
        return b"".join(statement.content for statement in imports)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for statement in imports:
            archive.writestr(statement.filename, statement.content)
    return buffer.getvalue()
