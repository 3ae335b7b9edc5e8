"""A simulated month end to end (issue 7, Tests): sellers paid out every banking day through the
payouts service, the simulated bank (no faults, the same clock) books the payouts and writes
each account's statement as camt.053 and as MT940, and reconciliation imports them.

A clean month reconciles with no exception at all: every payout paid on the bank's booking day,
the ledger's bank account equal to the last closing balance. A month whose statements were
changed (a payout's debit missing, an amount changed, a line nobody expects, a bank fee line,
and a fee netted within the tolerance) yields exactly the exceptions those changes call for.

Each statement format has its own run, in its own database: one deployment imports one format
(the bank's camt.053 and MT940 of a day are two copies of one statement; importing both into
one bank account would book every line twice), and the payouts they reconcile against must be
the ones the bank was sent. Each run takes 5 to 10 s, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import date

import pytest
from month_builders import (
    BANKING_DAYS,
    OPENING,
    STATEMENT_KINDS,
    Month,
    StatementKind,
    all_exceptions,
    all_payouts,
    balance,
    bank_balance,
    month_of_differences,
    reference_of,
    resent,
    sales_of,
    snapshot,
)

from sellerpay.db import Database
from sellerpay.ledger.service import verify_ledger
from sellerpay.money import Money
from sellerpay.payouts.rules import PayoutStatus
from sellerpay.rails.statements import Statement, StatementLine
from sellerpay.rails.swift_mt940 import parse_mt940
from sellerpay.reconciliation import service as reconciliation
from sellerpay.simbank.mt940_writer import write_mt940

IN_TRANSIT = "platform:payouts_in_transit"
RULES_BY_KIND: dict[StatementKind, set[str]] = {
    # camt.053 carries every payout of a batch booking as its own detail, with its end-to-end id
    "camt.053": {"exact_reference"},
    # MT940 has one line per booking: a batch is matched whole, by reference or by amount
    "mt940": {"exact_reference", "batch_reference", "many_to_one"},
}


def sold() -> int:
    """How many sales the month has: each becomes one payout (the seller's whole balance)."""
    return sum(len(sales_of(index)) for index in range(BANKING_DAYS))


def last_closing(month: Month, currency: str) -> Money:
    statement = [s.statement for s in month.statements if s.statement.currency == currency][-1]
    assert statement.closing_balance is not None
    return statement.closing_balance


def assert_reimports_change_nothing(month: Month, kind: StatementKind) -> None:
    """Every statement imported again, under another name, and the last two resent in other
    bytes (a zip of their camt.053, or their MT940 in one file): nothing changes."""
    before = snapshot(month.db)
    for imported in month.statements:
        again = month.import_(imported.content, f"again-{imported.filename}")
        assert again.duplicate and again.statements == 0, again
    both = month.import_(resent(kind, month.statements[-2:]), "resent.zip")
    assert both.duplicate and both.statements_skipped == 2, both
    assert snapshot(month.db) == before


@pytest.mark.parametrize("kind", STATEMENT_KINDS)
def test_a_month_of_bank_statements_reconciles_with_no_exception(
    fresh_db: Database, kind: StatementKind
) -> None:
    month = Month(fresh_db, kind)

    month.run()

    db = fresh_db
    assert all_exceptions(db) == []
    made = all_payouts(db)
    assert len(made) == sold()
    assert {p.status for p in made} == {PayoutStatus.PAID}
    assert all(p.paid_at is not None and p.paid_at.date() == p.execution_date for p in made)
    assert len(month.statements) == len(month.set_aside) == 2 * BANKING_DAYS  # EUR and USD
    outcomes = [s.outcome for s in month.statements]
    assert not any(o.duplicate for o in outcomes)
    states = [reconciliation.get_statement(db, o.statement_ids[0]).line_states for o in outcomes]
    assert {state for counts in states for state in counts} == {"matched"}  # lines and details
    assert {rule for o in outcomes for rule in o.rules} <= RULES_BY_KIND[kind]
    for currency in sorted(OPENING):
        assert bank_balance(db, currency) == last_closing(month, currency)
        assert balance(db, IN_TRANSIT, currency) == Money(0, currency)
    assert all(not r.unmatched for r in month.reports)
    stats = month.bank.stats()
    assert stats.executed_more_than_once() == [] and len(stats.executed) == len(made)
    assert month.unfaithful == []
    assert verify_ledger(db).ok
    assert_reimports_change_nothing(month, kind)


@pytest.mark.parametrize("kind", STATEMENT_KINDS)
def test_a_month_with_injected_differences_yields_exactly_those_exceptions(
    fresh_db: Database, kind: StatementKind
) -> None:
    tamper = month_of_differences()
    month = Month(fresh_db, kind, tamper=tamper)

    month.run()

    db = fresh_db
    injected = {i.kind: i for i in tamper.injected}
    assert len(injected) == len(tamper.injected) == 5
    by_end_to_end_id = {p.end_to_end_id: p for p in all_payouts(db)}
    missing = by_end_to_end_id[injected["missing_line"].end_to_end_id]
    changed = by_end_to_end_id[injected["changed_amount"].end_to_end_id]
    netted = by_end_to_end_id[injected["netted_fee"].end_to_end_id]
    changed_line = injected["changed_amount"].amount
    assert changed_line is not None and changed_line != changed.amount
    found = {(v.kind, reference_of(v)): v for v in all_exceptions(db)}
    assert sorted(found) == sorted(
        [
            ("expected_past_due", f"payout:{missing.id}"),
            ("amount_mismatch", f"payout:{changed.id}"),
            ("unmatched_line", "SBXUNKNOWN0001"),
            ("unmatched_line", "SBXFEE00000001"),
        ]
    )
    assert {v.status for v in found.values()} == {"open"}
    amounts = {key: view.amount for key, view in found.items()}
    assert amounts == {
        ("expected_past_due", f"payout:{missing.id}"): -missing.amount,
        ("amount_mismatch", f"payout:{changed.id}"): -changed_line,
        ("unmatched_line", "SBXUNKNOWN0001"): Money(-987_654, "EUR"),
        ("unmatched_line", "SBXFEE00000001"): Money(-1_250, "EUR"),
    }
    mismatch = found[("amount_mismatch", f"payout:{changed.id}")]
    assert mismatch.evidence["reference"] == changed.end_to_end_id
    assert found[("expected_past_due", f"payout:{missing.id}")].on_date == missing.execution_date

    statuses = {p.id: p.status for p in by_end_to_end_id.values()}
    assert statuses.pop(missing.id) is statuses.pop(changed.id) is PayoutStatus.SUBMITTED
    assert set(statuses.values()) == {PayoutStatus.PAID} and netted.id in statuses
    assert balance(db, "platform:losses", "EUR") == Money(300, "EUR")  # the fee netted, booked
    open_lines = -(changed_line + Money(987_654 + 1_250, "EUR"))
    assert last_closing(month, "EUR") - bank_balance(db, "EUR") == open_lines
    assert last_closing(month, "USD") == bank_balance(db, "USD")
    assert verify_ledger(db).ok
    assert_reimports_change_nothing(month, kind)


def test_an_mt940_batch_line_names_its_batch_as_its_camt_twin_does() -> None:
    day = date(2026, 3, 2)
    details = tuple(
        StatementLine(
            line_id=f"SB000000000001/{n}", booked_on=day, value_on=day,
            amount=Money(10_000 * n, "EUR"), direction="debit",
            end_to_end_id=f"SP{n:018d}", payment_information_id="SPMESSAGE0001-1",
        )
        for n in (1, 2)
    )  # fmt: skip
    batch = StatementLine(
        line_id="SB000000000001", booked_on=day, value_on=day, amount=Money(30_000, "EUR"),
        direction="debit", bank_reference="SB000000000001", message_id="SPMESSAGE0001",
        payment_information_id="SPMESSAGE0001-1", remittance="BATCH OF 2 TRANSFERS",
        details=details,
    )  # fmt: skip
    statement = Statement(
        statement_id="SB2603020102EUR", account="FR7630006000011234567890189", currency="EUR",
        lines=(batch,), format="camt.053", opening_balance=Money(100_000, "EUR"),
        closing_balance=Money(70_000, "EUR"), opening_date=day, closing_date=day, sequence="1",
    )  # fmt: skip

    (line,) = parse_mt940(write_mt940([statement])).statements[0].lines

    assert "SPMESSAGE0001-1" in (line.payment_information_id, line.message_id)
