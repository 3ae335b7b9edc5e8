"""Matching against real payouts and what matches do (SQLite and PostgreSQL, a fresh database
each: payouts and the ledger's bank account are shared by the whole database): paid, batch
bookings, bank fees, returns, the daily balance check, overdue payouts, and resolutions."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from reconciliation_builders import (
    POLICY,
    bank_balance,
    camt053,
    credit,
    debit,
    fund_bank,
    submitted_payouts,
)

from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.errors import Conflict, Forbidden, InvalidInput
from sellerpay.ledger.service import balances_of, verify_ledger
from sellerpay.payouts import service as payouts
from sellerpay.payouts.rules import PayoutStatus
from sellerpay.reconciliation import service

FINANCE = "key:k_finance (finance desk, finance)"
APPROVER = "key:k_approver (second pair of eyes, approver)"
OPENING = 1_000_000


def import_(db: Database, clock: FixedClock, data: bytes) -> service.ImportOutcome:
    return service.import_statement(db, data, filename="s.xml", bank_account="main",
                                    clock=clock, policy=POLICY)  # fmt: skip


def kinds(db: Database) -> list[tuple[str, int | None]]:
    views, _ = service.list_exceptions(db, limit=500)
    return sorted(
        (v.kind, None if v.amount is None else v.amount.amount_minor)
        for v in views
        if v.status != "resolved"
    )


def the(db: Database, kind: str) -> service.ExceptionView:
    views, _ = service.list_exceptions(db, service.ExceptionFilter(kind=kind), limit=10)  # type: ignore[arg-type]
    (view,) = [v for v in views if v.status != "resolved"]
    return view


def day_of(payout: payouts.Payout) -> date:
    return payout.execution_date


def test_payouts_on_the_statement_become_paid_and_the_bank_balance_agrees(
    fresh_db: Database, clock: FixedClock
) -> None:
    db = fresh_db
    fund_bank(db, clock, OPENING)
    p1, p2 = submitted_payouts(db, clock, [12_000, 3_456])
    day = day_of(p1)
    lines = [debit("L1", 12_000, day, end_to_end_id=p1.end_to_end_id),
             debit("L2", 3_456, day, end_to_end_id=p2.end_to_end_id)]  # fmt: skip

    outcome = import_(db, clock, camt053(lines, on=day, opening_minor=OPENING))

    assert outcome.matched_lines == 2 and outcome.rules == {"exact_reference": 2}
    assert [payouts.get_payout(db, p.id).status for p in (p1, p2)] == [PayoutStatus.PAID] * 2
    assert bank_balance(db) == OPENING - 15_456
    assert kinds(db) == []
    assert verify_ledger(db).ok


def test_a_batch_booking_pays_every_payout_of_its_block(
    fresh_db: Database, clock: FixedClock
) -> None:
    db = fresh_db
    fund_bank(db, clock, OPENING)
    made = submitted_payouts(db, clock, [1_000, 2_000, 3_000])
    block = made[0].bank_reference
    assert block and all(p.bank_reference == block for p in made)  # one PmtInf block

    outcome = import_(db, clock, camt053(
        [debit("B1", 6_000, day_of(made[0]), payment_information_id=block)],
        on=day_of(made[0]), opening_minor=OPENING))  # fmt: skip

    assert outcome.rules == {"batch_reference": 1}
    assert {payouts.get_payout(db, p.id).status for p in made} == {PayoutStatus.PAID}
    assert kinds(db) == []


def test_a_bank_fee_netted_from_a_payout_is_matched_and_booked_as_its_own_adjustment(
    fresh_db: Database, clock: FixedClock
) -> None:
    db = fresh_db
    fund_bank(db, clock, OPENING)
    (p1,) = submitted_payouts(db, clock, [10_000])
    day = day_of(p1)

    import_(db, clock, camt053([debit("L1", 10_250, day, end_to_end_id=p1.end_to_end_id)],
                               on=day, opening_minor=OPENING))  # fmt: skip

    assert payouts.get_payout(db, p1.id).status is PayoutStatus.PAID
    losses = balances_of(db, [("platform:losses", "EUR")])[("platform:losses", "EUR")]
    assert losses.amount_minor == 250
    assert bank_balance(db) == OPENING - 10_250
    assert kinds(db) == []


def test_a_return_credit_sends_the_money_back_to_the_seller(
    fresh_db: Database, clock: FixedClock
) -> None:
    db = fresh_db
    fund_bank(db, clock, OPENING)
    (p1,) = submitted_payouts(db, clock, [7_500])
    day = day_of(p1)
    import_(db, clock, camt053([debit("L1", 7_500, day, end_to_end_id=p1.end_to_end_id)],
                               on=day, opening_minor=OPENING))  # fmt: skip
    later = day + timedelta(days=3)

    import_(db, clock, camt053(
        [credit("R1", 7_500, later, end_to_end_id=p1.end_to_end_id, return_reason_code="AC04")],
        on=later, opening_minor=OPENING - 7_500, sequence=2))  # fmt: skip

    returned = payouts.get_payout(db, p1.id)
    assert returned.status is PayoutStatus.RETURNED and returned.status_reason_code == "AC04"
    seller = (f"seller:{p1.seller_id}:available", "EUR")
    assert balances_of(db, [seller])[seller].amount_minor == 7_500
    assert bank_balance(db) == OPENING
    assert kinds(db) == []


def test_a_line_nobody_expects_is_an_exception_and_explains_the_balance(
    fresh_db: Database, clock: FixedClock
) -> None:
    db = fresh_db
    fund_bank(db, clock, OPENING)
    day = date(2026, 1, 6)

    import_(db, clock, camt053([debit("FEE", 1_500, day, remittance="ACCOUNT FEE")], on=day,
                               opening_minor=OPENING))  # fmt: skip

    assert kinds(db) == [("unmatched_line", -1_500)]  # the open line explains the balance


def test_a_difference_no_line_explains_is_a_balance_exception(
    fresh_db: Database, clock: FixedClock
) -> None:
    db = fresh_db
    fund_bank(db, clock, OPENING)
    day = date(2026, 1, 6)

    import_(db, clock, camt053([], on=day, opening_minor=OPENING - 999))

    exception = the(db, "balance_difference")
    assert exception.amount is not None and exception.amount.amount_minor == -999
    assert exception.evidence["ledger_minor"] == OPENING
    assert exception.on_date == day


def test_an_amount_changed_beyond_the_tolerance_is_one_mismatch_and_not_overdue(
    fresh_db: Database, clock: FixedClock
) -> None:
    db = fresh_db
    fund_bank(db, clock, OPENING)
    (p1,) = submitted_payouts(db, clock, [10_000])
    day = day_of(p1)
    late = day + timedelta(days=10)

    import_(db, clock, camt053([debit("L1", 13_000, day, end_to_end_id=p1.end_to_end_id)],
                               on=day, opening_minor=OPENING))  # fmt: skip
    import_(db, clock, camt053([], on=late, opening_minor=OPENING - 13_000, sequence=2))

    assert kinds(db) == [("amount_mismatch", -13_000)]
    assert payouts.get_payout(db, p1.id).status is PayoutStatus.SUBMITTED


def test_a_payout_on_no_statement_after_the_grace_is_overdue(
    fresh_db: Database, clock: FixedClock
) -> None:
    db = fresh_db
    fund_bank(db, clock, OPENING)
    (p1,) = submitted_payouts(db, clock, [4_200])
    late = day_of(p1) + timedelta(days=POLICY.overdue_days + 1)

    import_(db, clock, camt053([], on=late, opening_minor=OPENING))

    exception = the(db, "expected_past_due")
    assert exception.expected_key == f"payout:{p1.id}"
    assert exception.amount is not None and exception.amount.amount_minor == -4_200


def test_a_manual_match_links_the_line_and_pays_the_payout(
    fresh_db: Database, clock: FixedClock
) -> None:
    db = fresh_db
    fund_bank(db, clock, OPENING)
    p1, p2 = submitted_payouts(db, clock, [5_000, 5_000])
    day = day_of(p1)
    import_(db, clock, camt053([debit("L1", 5_000, day)], on=day, opening_minor=OPENING))
    exception = the(db, "unmatched_line")  # two payouts of 5,000: ambiguous by amount

    with pytest.raises(InvalidInput) as refused:
        service.resolve_exception(db, exception.id, resolution="manual_match", note="",
                                  payout_ids=[p1.id, p2.id], actor=FINANCE, clock=clock,
                                  policy=POLICY)  # fmt: skip
    assert refused.value.code == "amounts_differ"
    resolved = service.resolve_exception(db, exception.id, resolution="manual_match",
                                         note="remittance names seller 1", payout_ids=[p1.id],
                                         actor=FINANCE, clock=clock, policy=POLICY)  # fmt: skip

    assert (resolved.status, resolved.resolution) == ("resolved", "manual_match")
    assert payouts.get_payout(db, p1.id).status is PayoutStatus.PAID
    assert payouts.get_payout(db, p2.id).status is PayoutStatus.SUBMITTED
    assert bank_balance(db) == OPENING - 5_000
    with pytest.raises(Conflict):
        service.resolve_exception(db, exception.id, resolution="manual_match", note="",
                                  payout_ids=[p2.id], actor=FINANCE, clock=clock)  # fmt: skip


def test_a_write_off_needs_a_second_person_and_then_books_the_fee(
    fresh_db: Database, clock: FixedClock
) -> None:
    db = fresh_db
    fund_bank(db, clock, OPENING)
    day = date(2026, 1, 6)
    import_(db, clock, camt053([debit("FEE", 1_500, day)], on=day, opening_minor=OPENING))
    exception = the(db, "unmatched_line")

    asked = service.resolve_exception(
        db, exception.id, resolution="write_off", note="monthly account fee", actor=FINANCE,
        clock=clock,
    )  # fmt: skip
    assert asked.status == "investigating" and asked.pending is not None
    assert bank_balance(db) == OPENING  # nothing booked yet
    with pytest.raises(Forbidden) as refused:
        renamed = "key:k_finance (renamed key, finance)"
        service.approve_write_off(db, exception.id, actor=renamed, clock=clock)
    assert refused.value.code == "approver_is_requester"

    approved = service.approve_write_off(db, exception.id, actor=APPROVER, clock=clock)

    assert (approved.status, approved.resolution) == ("resolved", "write_off")
    assert approved.approved_by == APPROVER and approved.ledger_transaction_id
    assert bank_balance(db) == OPENING - 1_500
    losses = balances_of(db, [("platform:losses", "EUR")])[("platform:losses", "EUR")]
    assert losses.amount_minor == 1_500
    with pytest.raises(Conflict):
        service.approve_write_off(db, exception.id, actor=APPROVER, clock=clock)
    # the next day's balance check finds nothing to explain: the fee is in the ledger now
    import_(db, clock, camt053([], on=day + timedelta(days=1), opening_minor=OPENING - 1_500,
                               sequence=2))  # fmt: skip
    assert kinds(db) == []


def test_resolutions_that_do_not_fit_the_kind_are_refused(
    fresh_db: Database, clock: FixedClock
) -> None:
    db = fresh_db
    fund_bank(db, clock, OPENING)
    day = date(2026, 1, 6)
    import_(db, clock, camt053([debit("X", 100, day)], on=day, opening_minor=OPENING))
    exception = the(db, "unmatched_line")

    with pytest.raises(InvalidInput) as refused:
        service.resolve_exception(db, exception.id, resolution="accepted", note="meh",
                                  actor=FINANCE, clock=clock)  # fmt: skip

    assert refused.value.code == "resolution_not_allowed"


def test_assign_and_notes_are_kept_and_audited(fresh_db: Database, clock: FixedClock) -> None:
    from sellerpay.audit.service import list_audit_records

    db = fresh_db
    day = date(2026, 1, 6)
    import_(db, clock, camt053([debit("X", 100, day)], on=day, opening_minor=0))
    exception = the(db, "unmatched_line")

    service.assign_exception(db, exception.id, owner="ana", actor=FINANCE, clock=clock)
    view = service.add_note(db, exception.id, text="asked the bank", actor=FINANCE, clock=clock)

    assert (view.owner, view.status) == ("ana", "investigating")
    assert [n.text for n in view.notes] == ["asked the bank"]
    records, _ = list_audit_records(db, subject_type="reconciliation_exception",
                                    subject_id=exception.id, limit=10)  # fmt: skip
    assert {r.action for r in records} == {"reconciliation.exception_assigned",
                                           "reconciliation.exception_noted"}  # fmt: skip
