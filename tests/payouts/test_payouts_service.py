"""Payouts through the real database (SQLite and PostgreSQL): runs and skips, approvals,
composition, on-demand payouts, submission at most once, status reports, returns, FX."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from payouts_builders import (
    KEYRING,
    POLICY,
    FakeBank,
    assert_ledger_sound,
    available,
    balance,
    credit,
    debit,
    funded_seller,
)

from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.errors import Conflict, Forbidden, InvalidInput
from sellerpay.money import Money
from sellerpay.payouts import service
from sellerpay.payouts.rules import PayoutStatus
from sellerpay.payouts.schedules import PayoutSchedule
from sellerpay.rails.instructions import (
    AbaAccount,
    ReturnNotice,
    StatusReport,
    TransferStatus,
)

ORIGINATORS = service.originators()
APPROVER = "key:k_approver (approver)"


def run(db: Database, clock: FixedClock, key: str = "r1") -> service.RunReport:
    return service.run_payouts(
        db,
        run_on=clock.now().date(),
        clock=clock,
        keyring=KEYRING,
        policy=POLICY,
        run_key=key,
    )


def approve_all(db: Database, clock: FixedClock) -> None:
    for p in service.list_payouts(
        db, service.PayoutFilter(status=PayoutStatus.PENDING), after_id=None, limit=500
    ):
        service.approve_payout(db, p.id, approver=APPROVER, clock=clock, keyring=KEYRING)


def only_payout(db: Database, seller_id: str) -> service.Payout:
    (payout,) = service.list_payouts(
        db, service.PayoutFilter(seller_id=seller_id), after_id=None, limit=10
    )
    return payout


# --- runs ------------------------------------------------------------------------------------


def test_a_run_pays_every_due_seller_once_and_says_why_not_the_others(
    fresh_db: Database, clock: FixedClock
) -> None:
    db = fresh_db
    paid = [funded_seller(db, clock, f"sel_paid{i}", available_minor=10_000 + i) for i in range(5)]
    funded_seller(db, clock, "sel_cool", cooled=False)
    funded_seller(db, clock, "sel_unverified", verified=False)
    funded_seller(db, clock, "sel_small", available_minor=99)
    funded_seller(db, clock, "sel_negative", available_minor=1_000)
    debit(db, clock, "sel_negative", Money(1_500, "EUR"), key="refund")

    report = run(db, clock)

    assert report.status == "completed"
    assert report.payout_count == 5
    assert report.totals == {"EUR": sum(10_000 + i for i in range(5))}
    assert report.skips_by_reason == {
        "bank_account_in_cooldown": 1,
        "no_verified_bank_account": 1,
        "below_minimum": 1,
        "negative_balance": 1,
    }
    for seller in paid:
        payout = only_payout(db, seller.id)
        assert payout.status is PayoutStatus.PENDING  # first payout to a new bank account
        assert payout.approval_reasons == ("first_payout_to_bank_account",)
        assert available(db, seller.id) == 0
    assert balance(db, "platform:payouts_in_transit", "EUR") == report.totals["EUR"]
    (skip,) = service.list_skips(db, seller_id="sel_cool")
    assert skip.reason == "bank_account_in_cooldown" and "cool-down until" in skip.detail

    # the same run again, and a chunk replayed, change nothing
    again = run(db, clock)
    assert again.payout_count == 5
    chunk = service.process_run_chunk(
        db,
        report.run_id,
        [(s.id, "EUR") for s in paid],
        run_on=clock.now().date(),
        clock=clock,
        keyring=KEYRING,
        policy=POLICY,
    )
    assert chunk.payouts == 0 and chunk.already_done == 5
    assert len(service.list_payouts(db, service.PayoutFilter(), after_id=None, limit=50)) == 5
    assert_ledger_sound(db)


def test_composition_sums_to_each_payout_across_refunds_and_partial_payouts(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    funded_seller(db, clock, seller_id, available_minor=5_000)
    credit(db, clock, seller_id, Money(7_000, "EUR"), key="o2")
    debit(db, clock, seller_id, Money(1_000, "EUR"), key="r1")
    first, _ = service.create_payout(
        db,
        seller_id=seller_id,
        currency="EUR",
        amount=Money(8_000, "EUR"),
        bank_account_id=None,
        kind="on_demand",
        requested_by="key:k_s (seller)",
        idempotency_key=f"{seller_id}-1",
        description="",
        clock=clock,
        keyring=KEYRING,
        policy=POLICY,
    )
    _, items = service.composition(db, first.id)
    # first in, first out: the 5,000 order, then 3,000 of the 7,000 order (split)
    assert [(i.kind, i.amount.amount_minor, i.partial) for i in items] == [
        ("order.released", 5_000, False),
        ("order.released", 3_000, True),
    ]
    second, _ = service.create_payout(
        db,
        seller_id=seller_id,
        currency="EUR",
        amount=None,
        bank_account_id=None,
        kind="on_demand",
        requested_by="key:k_s (seller)",
        idempotency_key=f"{seller_id}-2",
        description="",
        clock=clock,
        keyring=KEYRING,
        policy=POLICY,
    )
    _, rest = service.composition(db, second.id)
    assert second.source == Money(3_000, "EUR")
    # the rest of the split order, then the refund
    assert [(i.kind, i.amount.amount_minor, i.partial) for i in rest] == [
        ("order.released", 4_000, True),
        ("refund", -1_000, False),
    ]
    assert rest[0].transaction_id == items[-1].transaction_id
    assert available(db, seller_id) == 0


def test_on_demand_payouts_refuse_overdrafts_and_replay_by_key(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    funded_seller(db, clock, seller_id, available_minor=5_000)
    common = {
        "seller_id": seller_id,
        "currency": "EUR",
        "bank_account_id": None,
        "kind": "on_demand",
        "requested_by": "key:k_s (seller)",
        "description": "",
        "clock": clock,
        "keyring": KEYRING,
        "policy": POLICY,
    }
    with pytest.raises(InvalidInput) as overdraw:
        service.create_payout(db, amount=Money(5_001, "EUR"), idempotency_key="k0", **common)
    assert overdraw.value.code == "insufficient_available"
    payout, replayed = service.create_payout(
        db, amount=Money(2_000, "EUR"), idempotency_key=f"{seller_id}-a", **common
    )
    assert not replayed
    same, replayed = service.create_payout(
        db, amount=Money(2_000, "EUR"), idempotency_key=f"{seller_id}-a", **common
    )
    assert replayed and same.id == payout.id
    with pytest.raises(Conflict) as reused:
        service.create_payout(
            db, amount=Money(2_001, "EUR"), idempotency_key=f"{seller_id}-a", **common
        )
    assert reused.value.code == "idempotency_key_reused"
    assert available(db, seller_id) == 3_000


def test_four_eyes_and_rejection_gives_the_money_back(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    funded_seller(db, clock, seller_id, available_minor=9_000)
    payout, _ = service.create_payout(
        db,
        seller_id=seller_id,
        currency="EUR",
        amount=None,
        bank_account_id=None,
        kind="manual",
        requested_by="key:k_ops (operator)",
        idempotency_key=f"{seller_id}-m",
        description="goodwill",
        clock=clock,
        keyring=KEYRING,
        policy=POLICY,
    )
    assert payout.status is PayoutStatus.PENDING
    assert "manual_payout" in payout.approval_reasons
    with pytest.raises(Forbidden) as own:
        service.approve_payout(
            db, payout.id, approver="key:k_ops (operator)", clock=clock, keyring=KEYRING
        )
    assert own.value.code == "approver_is_requester"
    with pytest.raises(Forbidden) as changed:
        service.approve_payout(
            db, payout.id, approver="key:k_seller (seller)", clock=clock, keyring=KEYRING
        )
    assert changed.value.code == "approver_changed_bank_account"
    rejected = service.reject_payout(db, payout.id, approver=APPROVER, clock=clock, note="no")
    assert rejected.status is PayoutStatus.CANCELED
    assert available(db, seller_id) == 9_000
    with pytest.raises(Conflict):
        service.approve_payout(db, payout.id, approver=APPROVER, clock=clock, keyring=KEYRING)


# --- submission, statuses and returns ---------------------------------------------------------


def _approved_payouts(db: Database, clock: FixedClock, count: int) -> list[str]:
    sellers = [
        funded_seller(db, clock, f"sel_sub{i}", available_minor=1_000 * (i + 1))
        for i in range(count)
    ]
    run(db, clock)
    approve_all(db, clock)
    return [s.id for s in sellers]


def test_submission_reaches_the_bank_once_and_statuses_move_payouts(
    fresh_db: Database, clock: FixedClock
) -> None:
    db = fresh_db
    sellers = _approved_payouts(db, clock, 3)
    bank = FakeBank()
    report = service.submit_due(
        db, bank=bank, clock=clock, keyring=KEYRING, originators=ORIGINATORS
    )
    assert (report.files, report.submitted, report.payouts_sent) == (1, 1, 3)
    assert all(only_payout(db, s).status is PayoutStatus.SUBMITTED for s in sellers)
    again = service.submit_due(db, bank=bank, clock=clock, keyring=KEYRING, originators=ORIGINATORS)
    assert again.files == 0
    assert len(bank.received) == 1 and set(bank.executed.values()) == {1}

    paid, rejected, _ = (only_payout(db, s) for s in sellers)
    applied, unmatched = service.apply_status_report(
        db,
        StatusReport(
            message_id="R1",
            original_message_id=bank.received[0][3],
            created_at=None,
            group_state=None,
            transfers=(
                TransferStatus(paid.end_to_end_id, "settled"),
                TransferStatus(rejected.end_to_end_id, "rejected", "AC04"),
                TransferStatus("SPUNKNOWN", "accepted"),
            ),
        ),
        clock=clock,
    )
    assert applied == 2 and unmatched == ["SPUNKNOWN"]
    assert service.get_payout(db, paid.id).status is PayoutStatus.PAID
    failed = service.get_payout(db, rejected.id)
    assert failed.status is PayoutStatus.FAILED and failed.status_reason_code == "AC04"
    assert available(db, rejected.seller_id) == rejected.source.amount_minor
    assert balance(db, "platform:bank:main", "EUR") == -paid.amount.amount_minor
    assert_ledger_sound(db)


@pytest.mark.parametrize("mode", ["timeout_after", "timeout_before"])
def test_an_unknown_outcome_is_asked_about_never_resent_blindly(
    fresh_db: Database, clock: FixedClock, mode: str
) -> None:
    db = fresh_db
    sellers = _approved_payouts(db, clock, 2)
    bank = FakeBank(mode=mode)
    report = service.submit_due(
        db, bank=bank, clock=clock, keyring=KEYRING, originators=ORIGINATORS
    )
    assert report.unknown == 1
    assert all(only_payout(db, s).status is PayoutStatus.PROCESSING for s in sellers)
    # a second submit does not send the unknown file again
    bank.mode = "ok"
    assert (
        service.submit_due(
            db, bank=bank, clock=clock, keyring=KEYRING, originators=ORIGINATORS
        ).files
        == 0
    )
    outcome = service.resolve_submissions(
        db, bank=bank, clock=clock, stale_after=timedelta(minutes=5)
    )
    if mode == "timeout_after":  # the bank had it: settled by the answer, never resent
        assert outcome == {"sent": 1}
        assert all(only_payout(db, s).status is PayoutStatus.SUBMITTED for s in sellers)
    else:  # the bank never got it: only now is it sent again, the same bytes
        assert outcome == {"resend": 1}
        resent = service.submit_due(
            db, bank=bank, clock=clock, keyring=KEYRING, originators=ORIGINATORS
        )
        assert resent.submitted == 1
    assert set(bank.executed.values()) == {1} and len(bank.executed) == 2


def test_a_refused_file_fails_its_payouts(fresh_db: Database, clock: FixedClock) -> None:
    db = fresh_db
    (seller,) = _approved_payouts(db, clock, 1)
    report = service.submit_due(
        db, bank=FakeBank(mode="refuse"), clock=clock, keyring=KEYRING, originators=ORIGINATORS
    )
    assert report.refused == 1
    payout = only_payout(db, seller)
    assert payout.status is PayoutStatus.FAILED and payout.status_reason_code == "FF01"
    assert available(db, seller) == payout.source.amount_minor


def test_a_return_gives_the_money_back_less_the_fee_and_disables_a_closed_account(
    fresh_db: Database, clock: FixedClock
) -> None:
    db = fresh_db
    (seller,) = _approved_payouts(db, clock, 1)
    service.submit_due(db, bank=FakeBank(), clock=clock, keyring=KEYRING, originators=ORIGINATORS)
    payout = only_payout(db, seller)
    notice = ReturnNotice(payout.end_to_end_id, payout.amount, "AC04", clock.now().date())
    assert service.apply_returns(db, [notice], clock=clock, policy=POLICY) == (1, [])
    assert service.apply_returns(db, [notice], clock=clock, policy=POLICY) == (0, [])
    returned = service.get_payout(db, payout.id)
    assert returned.status is PayoutStatus.RETURNED
    assert returned.return_fee == Money(250, "EUR")
    assert available(db, seller) == payout.source.amount_minor - 250
    assert balance(db, "platform:bank:main", "EUR") == 0
    assert balance(db, "platform:payouts_in_transit", "EUR") == 0
    # the account is closed: the next run skips the seller instead of paying it again
    next_run = run(db, clock, key="r2")
    assert next_run.payout_count == 0
    assert next_run.skips_by_reason == {"no_verified_bank_account": 1}
    assert_ledger_sound(db)


# --- FX --------------------------------------------------------------------------------------


def test_a_eur_balance_paid_to_a_usd_account_converts_with_a_margin(
    fresh_db: Database, clock: FixedClock, seller_id: str
) -> None:
    db = fresh_db  # rates are global: a fresh database holds only this test's
    service.store_rates(
        db,
        [("EUR", "USD", Decimal("1.0842"))],
        as_of=clock.now().date() - timedelta(days=1),
        source="test",
        clock=clock,
    )
    funded_seller(
        db,
        clock,
        seller_id,
        available_minor=10_000,
        account_currency="USD",
        details=AbaAccount("021000021", "987654321"),
    )
    payout, _ = service.create_payout(
        db,
        seller_id=seller_id,
        currency="EUR",
        amount=None,
        bank_account_id=None,
        kind="on_demand",
        requested_by="key:k_s (seller)",
        idempotency_key=f"{seller_id}-fx",
        description="",
        clock=clock,
        keyring=KEYRING,
        policy=POLICY,
    )
    assert payout.source == Money(10_000, "EUR")
    assert payout.amount == Money(10_788, "USD") and payout.fx_margin == Money(54, "USD")
    assert payout.fx_rate == "1.0842" and payout.rail == "ach"
    service.cancel_payout(db, payout.id, actor="key:k_s (seller)", clock=clock)
    assert available(db, seller_id) == 10_000
    assert_ledger_sound(db)


def test_no_rate_no_payout(db: Database, clock: FixedClock, seller_id: str) -> None:
    funded_seller(
        db,
        clock,
        seller_id,
        available_minor=10_000,
        account_currency="USD",
        details=AbaAccount("021000021", "987654321"),
        currency="GBP",
        country="GB",
    )
    with pytest.raises(InvalidInput) as raised:
        service.create_payout(
            db,
            seller_id=seller_id,
            currency="GBP",
            amount=None,
            bank_account_id=None,
            kind="on_demand",
            requested_by="key:k_s (seller)",
            idempotency_key=f"{seller_id}-x",
            description="",
            clock=clock,
            keyring=KEYRING,
            policy=POLICY,
        )
    assert raised.value.code == "no_exchange_rate"


def test_a_weekly_schedule_pays_on_its_day_and_a_missed_day_on_the_next_run(
    fresh_db: Database, clock: FixedClock
) -> None:
    db = fresh_db
    monday = clock.now()  # 2026-01-05 is a Monday
    funded_seller(db, clock, "sel_weekly", available_minor=5_000)
    service.set_schedule(
        db,
        seller_id="sel_weekly",
        currency="EUR",
        schedule=PayoutSchedule.weekly(2, Money(100, "EUR")),  # Wednesdays
        actor="key:k_s (seller)",
        clock=clock,
    )
    assert run(db, clock, key="mon").due_count == 0
    clock.advance(timedelta(days=3))  # Thursday: the Wednesday run never happened
    late = run(db, clock, key="thu")
    assert (late.due_count, late.payout_count) == (1, 1)
    clock.advance(timedelta(days=1))  # Friday: paid already, not due again
    assert run(db, clock, key="fri").due_count == 0
    assert service.get_schedule(db, seller_id="sel_weekly", currency="EUR").schedule.weekday == 2
    assert monday.weekday() == 0
