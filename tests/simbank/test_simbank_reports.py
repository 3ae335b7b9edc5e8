"""Everything the bank sends reads with our own parsers, and the amounts add up: statements
chain and balance, notices and statements agree with what the bank executed and got back."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st
from simbank_builders import (
    Reports,
    ach_file,
    ach_payouts,
    bacs_file,
    bacs_payouts,
    new_bank,
    provider_file,
    read_reports,
    run_days,
    sepa_file,
    sepa_payouts,
    unique,
    zengin_file,
    zengin_payouts,
)

from sellerpay.rails.instructions import BankFile
from sellerpay.simbank import FaultConfig, SimulatedBank, TransferRecord, fault_profile

CHAOS_WITHOUT_TIMEOUTS = fault_profile(
    "chaos", timeout_before_accept_rate=0.0, timeout_after_accept_rate=0.0
)


def every_rail() -> dict[str, BankFile]:
    return {
        "sepa": sepa_file(sepa_payouts(20)),
        "ach": ach_file(ach_payouts(20)),
        "zengin": zengin_file(zengin_payouts(20)),
        "bacs": bacs_file(bacs_payouts(20)),
        "provider": provider_file(sepa_payouts(20, prefix="PO-P")),
    }


def run_every_rail(
    faults: FaultConfig, seed: int, days: int = 14
) -> tuple[SimulatedBank, dict[str, BankFile], Reports]:
    bank, clock = new_bank(faults, seed=seed)
    files = every_rail()
    for rail, sent in files.items():
        bank.send(rail, sent.filename, sent.content, sent.message_id)
    collected = unique(run_days(bank, clock, days))
    return bank, files, read_reports(collected, ach_trace_map=files["ach"].batches)


def test_every_report_parses_and_statements_chain_and_balance() -> None:
    _, _, reports = run_every_rail(CHAOS_WITHOUT_TIMEOUTS, seed=11)
    assert reports.camt053 and len(reports.camt053) == len(reports.mt940)
    by_account = defaultdict(list)
    for statement in reports.camt053:
        by_account[statement.account].append(statement)
    assert len(by_account) == 5  # EUR SEPA, USD ACH, JPY Zengin, GBP Bacs, EUR provider
    for statements in by_account.values():
        for earlier, later in pairwise(statements):
            assert later.opening_balance == earlier.closing_balance
            assert later.opening_date > earlier.opening_date  # type: ignore[operator]
        assert all(s.balances_agree() for s in statements)
    mt940 = {s.statement_id: s for s in reports.mt940}
    for statement in reports.camt053:
        twin = mt940[statement.statement_id]
        assert (twin.opening_balance, twin.closing_balance) == (
            statement.opening_balance,
            statement.closing_balance,
        )
        assert [(x.amount, x.direction) for x in twin.lines] == [
            (x.amount, x.direction) for x in statement.lines
        ]
        assert twin.balances_agree() is True


def test_statements_and_notices_add_up_to_what_was_executed_and_returned() -> None:
    bank, _, reports = run_every_rail(CHAOS_WITHOUT_TIMEOUTS, seed=11)
    records = bank.transfers()
    executed = _totals(r for r in records if r.booked_on is not None)
    returned = _totals(r for r in records if r.returned_on is not None)
    assert executed and returned  # the scenario exercises both
    debits: dict[str, int] = defaultdict(int)
    credits: dict[str, int] = defaultdict(int)
    for statement in reports.camt053:
        for line in statement.lines:
            if line.details:
                assert sum(d.amount.amount_minor for d in line.details) == line.amount.amount_minor
            side = debits if line.direction == "debit" else credits
            side[line.amount.currency] += line.amount.amount_minor
    assert dict(debits) == executed
    assert dict(credits) == returned
    noticed: dict[str, int] = defaultdict(int)
    for notice in reports.debit_notices:
        for line in notice.lines:
            assert line.direction == "debit"
            noticed[line.amount.currency] += line.amount.amount_minor
    assert dict(noticed) == executed


def test_returns_and_rejections_in_the_reports_are_the_banks_own() -> None:
    bank, files, reports = run_every_rail(CHAOS_WITHOUT_TIMEOUTS, seed=11)
    records = bank.transfers()
    returned = {(r.reference, r.return_reason, r.amount) for r in records if r.returned_on}
    reported = {(n.end_to_end_id, n.reason_code, n.amount) for n in reports.returns}
    ach_ids = {r.reference for r in records if r.rail == "ach"}
    # NACHA returns map back through the trace numbers to the full end-to-end ids
    assert {n.end_to_end_id for n in reports.returns} & ach_ids
    assert reported == returned
    rejected = {r.reference: r.reject_reason for r in records if r.state == "rejected"}
    said = {
        t.end_to_end_id: t.reason_code
        for report in reports.status_reports
        for t in report.transfers
        if t.state == "rejected"
    }
    assert said == rejected
    answered = {report.original_message_id for report in reports.status_reports}
    assert answered == {f.message_id for rail, f in files.items() if rail != "ach"}


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    reject_rate=st.sampled_from([0.0, 0.2, 1.0]),
    return_rate=st.sampled_from([0.0, 0.3, 1.0]),
)
def test_whatever_the_faults_nothing_is_executed_twice_and_the_money_adds_up(
    seed: int, reject_rate: float, return_rate: float
) -> None:
    faults = FaultConfig(
        reject_rate=reject_rate, return_rate=return_rate, duplicate_report_rate=0.5
    )
    bank, _, reports = run_every_rail(faults, seed=seed, days=12)
    stats = bank.stats()
    assert stats.executed_more_than_once() == []
    records = bank.transfers()
    assert sum(stats.executed.values()) == sum(1 for r in records if r.booked_on)
    assert all(r.booked_on is None for r in records if r.state == "rejected")
    executed = _totals(r for r in records if r.booked_on is not None)
    returned = _totals(r for r in records if r.returned_on is not None)
    opening: dict[str, int] = defaultdict(int)
    closing: dict[str, int] = defaultdict(int)
    by_account = defaultdict(list)
    for statement in reports.camt053:
        by_account[statement.account].append(statement)
    for statements in by_account.values():
        first, last = statements[0], statements[-1]
        assert first.opening_balance is not None and last.closing_balance is not None
        opening[first.currency] += first.opening_balance.amount_minor
        closing[last.currency] += last.closing_balance.amount_minor
    for currency in opening:
        moved = returned.get(currency, 0) - executed.get(currency, 0)
        assert closing[currency] - opening[currency] == moved


def _totals(records: Iterable[TransferRecord]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for record in records:
        totals[record.amount.currency] += record.amount.amount_minor
    return dict(totals)
