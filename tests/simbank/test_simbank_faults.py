"""Each fault of the simulated bank, alone, and the fault configuration itself."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from simbank_builders import (
    MONDAY,
    SEPA_ORIGINATOR,
    TUESDAY,
    ach_file,
    ach_payouts,
    day,
    new_bank,
    read_reports,
    run_days,
    sepa_file,
    sepa_payouts,
    unique,
)

from sellerpay.errors import InvalidInput
from sellerpay.payouts.banking import BankTimeout
from sellerpay.rails.sepa import write_pain001
from sellerpay.simbank import FaultConfig, fault_profile
from sellerpay.simbank.outcomes import (
    ACH_REJECT_REASONS,
    ACH_RETURN_REASONS,
    REJECT_REASONS,
    RETURN_REASONS,
)


def test_a_timeout_before_accept_leaves_the_bank_without_the_file() -> None:
    bank, clock = new_bank(FaultConfig(timeout_before_accept_rate=1.0))
    sent = sepa_file(sepa_payouts(2))
    with pytest.raises(BankTimeout, match="did not get it"):
        bank.send("sepa", sent.filename, sent.content, sent.message_id)
    assert [s.state for s in bank.inquire("sepa", sent.message_id, sent.end_to_end_ids)] == [
        "unknown",
        "unknown",
    ]
    assert run_days(bank, clock, 3) == []
    stats = bank.stats()
    assert (stats.timeouts_before_accept, stats.files_received, stats.received) == (1, 0, {})


def test_after_a_timeout_before_accept_the_same_file_sent_again_is_executed_once() -> None:
    bank, clock = new_bank(FaultConfig(timeout_before_accept_rate=1.0))
    sent = sepa_file(sepa_payouts(1))
    with pytest.raises(BankTimeout):
        bank.send("sepa", sent.filename, sent.content, sent.message_id)
    bank.faults = FaultConfig()  # the line is back
    bank.send("sepa", sent.filename, sent.content, sent.message_id)
    run_days(bank, clock, 2)
    assert bank.stats().executed == {"PO-S0": 1}


def test_a_timeout_after_accept_leaves_the_file_at_the_bank_which_inquiry_shows() -> None:
    bank, clock = new_bank(FaultConfig(timeout_after_accept_rate=1.0))
    sent = sepa_file(sepa_payouts(2))
    with pytest.raises(BankTimeout, match="has it"):
        bank.send("sepa", sent.filename, sent.content, sent.message_id)
    assert [s.state for s in bank.inquire("sepa", sent.message_id, sent.end_to_end_ids)] == [
        "accepted",
        "accepted",
    ]
    with pytest.raises(BankTimeout):  # sent again blindly: the bank still executes once
        bank.send("sepa", sent.filename, sent.content, sent.message_id)
    run_days(bank, clock, 2)
    stats = bank.stats()
    assert stats.timeouts_after_accept == 2
    assert stats.executed == {"PO-S0": 1, "PO-S1": 1}
    assert stats.received == {"PO-S0": 2, "PO-S1": 2}


def test_timeouts_strike_by_seed_and_attempt_so_a_retry_may_go_through() -> None:
    faults = FaultConfig(timeout_before_accept_rate=0.5)
    outcomes = []
    for seed in range(40):
        bank, _ = new_bank(faults, seed=seed)
        sent = sepa_file(sepa_payouts(1))
        attempts = 0
        while True:
            attempts += 1
            try:
                bank.send("sepa", sent.filename, sent.content, sent.message_id)
                break
            except BankTimeout:
                assert attempts < 20
        outcomes.append(attempts)
    assert 1 in outcomes and max(outcomes) > 1


def test_rejected_transfers_come_back_rjct_with_a_reason_and_are_never_booked() -> None:
    bank, clock = new_bank(FaultConfig(reject_rate=1.0))
    sent = sepa_file(sepa_payouts(4))
    bank.send("sepa", sent.filename, sent.content, sent.message_id)
    reports = read_reports(run_days(bank, clock, 3))
    [status] = reports.status_reports
    assert status.group_state == "rejected"
    assert {t.state for t in status.transfers} == {"rejected"}
    assert {t.reason_code for t in status.transfers} <= set(REJECT_REASONS)
    assert all(t.reason_text for t in status.transfers)
    assert reports.debit_notices == []
    assert reports.camt053 and not any(s.lines for s in reports.camt053)
    answers = bank.inquire("sepa", sent.message_id, sent.end_to_end_ids)
    assert [(a.state, a.reason_code) for a in answers] == [
        ("rejected", t.reason_code) for t in status.transfers
    ]
    assert bank.stats().executed == {}


def test_a_partly_rejected_file_has_no_group_status_and_lists_each_transfer() -> None:
    bank, clock = new_bank(FaultConfig(reject_rate=0.5), seed=3)
    sent = sepa_file(sepa_payouts(12))
    bank.send("sepa", sent.filename, sent.content, sent.message_id)
    [status] = read_reports(run_days(bank, clock, 1)).status_reports
    states = [t.state for t in status.transfers]
    assert "rejected" in states and "accepted" in states
    assert status.group_state is None
    rejected = {r.reference for r in bank.transfers() if r.state == "rejected"}
    assert {t.end_to_end_id for t in status.transfers if t.state == "rejected"} == rejected


def test_returns_come_days_later_as_camt054_credits_with_their_reason() -> None:
    faults = FaultConfig(return_rate=1.0, return_delay_days_min=3, return_delay_days_max=3)
    bank, clock = new_bank(faults)
    sent = sepa_file(sepa_payouts(2))
    bank.send("sepa", sent.filename, sent.content, sent.message_id)
    reports = read_reports(run_days(bank, clock, 10))
    assert sorted(r.end_to_end_id for r in reports.returns) == ["PO-S0", "PO-S1"]
    # paid Tuesday 6th; three banking days later is Friday 9th
    assert {r.booked_on for r in reports.returns} == {day(4)}
    assert {r.reason_code for r in reports.returns} <= set(RETURN_REASONS)
    assert {r.amount.amount_minor for r in reports.returns} == {1000, 1001}
    assert [s.state for s in bank.inquire("sepa", sent.message_id, ["PO-S0"])] == ["settled"]
    assert bank.stats().returned == {"PO-S0": 1, "PO-S1": 1}


def test_a_return_delay_skips_the_weekend() -> None:
    faults = FaultConfig(return_rate=1.0, return_delay_days_min=1, return_delay_days_max=1)
    bank, clock = new_bank(faults, start=MONDAY + timedelta(days=3))  # Thursday
    [transfer] = sepa_payouts(1)
    friday = replace(transfer, execution_date=day(4))
    sent = write_pain001([friday], SEPA_ORIGINATOR, message_id="M-FRI", created_at=clock.now())
    bank.send("sepa", sent.filename, sent.content, sent.message_id)
    [returned] = read_reports(run_days(bank, clock, 6)).returns
    assert returned.booked_on == day(7)  # Monday, not Saturday


def test_ach_returns_come_as_a_nacha_return_file_that_maps_back_to_end_to_end_ids() -> None:
    faults = FaultConfig(return_rate=1.0, return_delay_days_min=2, return_delay_days_max=2)
    bank, clock = new_bank(faults)
    sent = ach_file(ach_payouts(3))
    bank.send("ach", sent.filename, sent.content, sent.message_id)
    files = run_days(bank, clock, 6)
    assert any(f.filename.endswith(".returns.ach") for f in files)
    assert not any(f.filename.endswith(".pain002.xml") for f in files)  # ACH has none
    reports = read_reports(files, ach_trace_map=sent.batches)
    assert sorted(r.end_to_end_id for r in reports.returns) == ["PO-A0", "PO-A1", "PO-A2"]
    assert {r.reason_code for r in reports.returns} <= set(ACH_RETURN_REASONS)
    assert {r.original_trace for r in reports.returns} == set(sent.batches)
    assert {r.amount.amount_minor for r in reports.returns} == {2500, 2501, 2502}


def test_an_ach_entry_the_receiving_bank_cannot_post_returns_the_next_banking_day() -> None:
    bank, clock = new_bank(FaultConfig(reject_rate=1.0))
    sent = ach_file(ach_payouts(2))
    bank.send("ach", sent.filename, sent.content, sent.message_id)
    reports = read_reports(run_days(bank, clock, 4), ach_trace_map=sent.batches)
    assert {r.reason_code for r in reports.returns} <= set(ACH_REJECT_REASONS)
    assert {r.booked_on for r in reports.returns} == {TUESDAY + timedelta(days=1)}
    assert bank.stats().executed == {"PO-A0": 1, "PO-A1": 1}


def test_duplicate_reports_deliver_the_same_bytes_twice_an_hour_apart() -> None:
    bank, clock = new_bank(FaultConfig(duplicate_report_rate=1.0))
    sent = sepa_file(sepa_payouts(1))
    bank.send("sepa", sent.filename, sent.content, sent.message_id)
    bank.advance(clock.now())
    first = bank.collect()
    assert [f.filename for f in first] == ["SBS000000001.pain002.xml"]
    bank.advance(clock.now() + timedelta(minutes=59))
    assert bank.collect() == []
    bank.advance(clock.now() + timedelta(hours=1))
    assert bank.collect() == first
    files = run_days(bank, clock, 3)
    assert len(files) == 2 * len(unique(files))
    assert bank.stats().reports_duplicated == bank.stats().reports_written


def test_an_unknown_status_answers_pending_for_a_while_then_the_real_state() -> None:
    bank, clock = new_bank(FaultConfig(pending_status_rate=1.0, pending_status_hours=24))
    sent = sepa_file(sepa_payouts(1))
    bank.send("sepa", sent.filename, sent.content, sent.message_id)
    clock.advance(timedelta(hours=23))
    assert [s.state for s in bank.inquire("sepa", sent.message_id, ["PO-S0"])] == ["pending"]
    clock.advance(timedelta(hours=1))
    bank.advance()
    assert [s.state for s in bank.inquire("sepa", sent.message_id, ["PO-S0"])] == ["settled"]


def test_a_late_report_comes_late_report_hours_after_receipt() -> None:
    bank, clock = new_bank(FaultConfig(late_report_rate=1.0, late_report_hours=30))
    sent = sepa_file(sepa_payouts(1))
    bank.send("sepa", sent.filename, sent.content, sent.message_id)
    bank.advance(clock.now() + timedelta(hours=29, minutes=59))
    assert not any(f.filename.endswith(".pain002.xml") for f in bank.collect())
    bank.advance(clock.now() + timedelta(hours=30))
    [report] = [f for f in bank.collect() if f.filename.endswith(".pain002.xml")]
    assert read_reports([report]).status_reports[0].original_message_id == sent.message_id


def test_profiles_grow_from_none_to_chaos_and_settings_can_be_overridden() -> None:
    none, default, chaos = (fault_profile(name) for name in ("none", "default", "chaos"))
    assert none == FaultConfig()
    assert 0 < default.reject_rate < chaos.reject_rate
    assert 0 < default.timeout_after_accept_rate < chaos.timeout_after_accept_rate
    tuned = fault_profile("chaos", reject_rate=0.0)
    assert (tuned.reject_rate, tuned.return_rate) == (0.0, chaos.return_rate)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: fault_profile("mayhem"), "faults"),
        (lambda: fault_profile("none", rejection_rate=0.1), "rejection_rate"),
        (lambda: FaultConfig(reject_rate=1.5), "reject_rate"),
        (lambda: FaultConfig(return_rate=-0.1), "return_rate"),
        (lambda: FaultConfig(reject_rate=float("nan")), "reject_rate"),
        (lambda: FaultConfig(reject_rate=True), "reject_rate"),
        (lambda: FaultConfig(return_delay_days_min=1.5), "return_delay_days_min"),
        (
            lambda: FaultConfig(return_delay_days_min=4, return_delay_days_max=2),
            "return_delay_days_max",
        ),
        (lambda: FaultConfig(latency_ms=-1), "latency_ms"),
        (lambda: FaultConfig.from_dict({"reject": 0.1}), "reject"),
    ],
)
def test_a_wrong_fault_setting_is_refused_naming_it(call: object, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        call()  # type: ignore[operator]
    assert refused.value.context["field"] == field
