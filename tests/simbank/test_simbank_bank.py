"""The simulated bank without faults: what it takes, refuses, books, states and answers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from simbank_builders import (
    MONDAY,
    SEPA_ORIGINATOR,
    TUESDAY,
    ach_file,
    ach_payouts,
    bacs_file,
    bacs_payouts,
    day,
    new_bank,
    read_reports,
    run_days,
    sepa_file,
    sepa_payouts,
    zengin_file,
    zengin_payouts,
)

from sellerpay.money import Money
from sellerpay.payouts.banking import BankRefused
from sellerpay.rails.sepa import write_pain001
from sellerpay.simbank import reference_for


def test_a_sepa_file_is_accepted_then_settled_on_its_execution_day_and_stated() -> None:
    bank, clock = new_bank()
    transfers = sepa_payouts(3)
    sent = sepa_file(transfers)
    bank.send("sepa", sent.filename, sent.content, sent.message_id)
    assert [s.state for s in bank.inquire("sepa", sent.message_id, ["PO-S0"])] == ["accepted"]

    reports = read_reports(run_days(bank, clock, 2))

    [status] = reports.status_reports
    assert (status.original_message_id, status.group_state) == (sent.message_id, "accepted")
    assert {t.end_to_end_id: t.state for t in status.transfers} == dict.fromkeys(
        sent.end_to_end_ids, "accepted"
    )
    [notice] = reports.debit_notices
    [batch] = notice.lines  # pain.001 asks for batch booking: one entry, one detail per payout
    assert (batch.direction, batch.booked_on, batch.message_id) == ("debit", TUESDAY, "MSG-SEPA-1")
    assert batch.amount == Money(1000 + 1001 + 1002, "EUR")
    assert [d.end_to_end_id for d in batch.details] == ["PO-S0", "PO-S1", "PO-S2"]
    [tuesday] = [s for s in reports.camt053 if s.opening_date == TUESDAY]
    assert tuesday.account == "FR1420041010050500013M02606"
    assert tuesday.closing_balance == tuesday.opening_balance - Money(3003, "EUR")  # type: ignore[operator]
    assert [line.details for line in tuesday.lines] == [batch.details]
    assert [s.state for s in bank.inquire("sepa", sent.message_id, sent.end_to_end_ids)] == [
        "settled"
    ] * 3


def test_a_transfer_due_on_saturday_is_booked_on_monday_and_weekends_have_no_statements() -> None:
    saturday = datetime(2026, 1, 10, 9, tzinfo=UTC)
    bank, clock = new_bank(start=saturday)
    [transfer] = sepa_payouts(1)
    saturday_payout = replace(transfer, execution_date=saturday.date())
    sent = write_pain001(
        [saturday_payout], SEPA_ORIGINATOR, message_id="MSG-SAT", created_at=saturday
    )
    bank.send("sepa", sent.filename, sent.content, sent.message_id)
    reports = read_reports(run_days(bank, clock, 3))
    assert [n.lines[0].booked_on for n in reports.debit_notices] == [day(7)]  # Monday the 12th
    assert sorted(s.opening_date for s in reports.camt053) == [day(7)]  # type: ignore[type-var]


def test_sepa_instant_is_booked_on_its_day_even_a_sunday() -> None:
    sunday = datetime(2026, 1, 11, 9, tzinfo=UTC)
    bank, clock = new_bank(start=sunday)
    [transfer] = sepa_payouts(1)
    instant = replace(transfer, execution_date=sunday.date(), instant=True)
    sent = write_pain001([instant], SEPA_ORIGINATOR, message_id="MSG-INST", created_at=sunday)
    bank.send("sepa_instant", sent.filename, sent.content, sent.message_id)
    reports = read_reports(run_days(bank, clock, 1))
    assert [n.lines[0].booked_on for n in reports.debit_notices] == [sunday.date()]
    assert [s.opening_date for s in reports.camt053] == [sunday.date()]


def test_the_same_message_id_twice_is_acknowledged_again_but_executed_once() -> None:
    bank, clock = new_bank()
    sent = sepa_file(sepa_payouts(2))
    first = bank.receive("sepa", sent.filename, sent.content, sent.message_id)
    again = bank.receive("sepa", sent.filename, sent.content, sent.message_id)
    run_days(bank, clock, 3)
    assert (first.duplicate, again.duplicate, again.transfer_count) == (False, True, 2)
    stats = bank.stats()
    assert stats.received == {"PO-S0": 2, "PO-S1": 2}
    assert stats.executed == {"PO-S0": 1, "PO-S1": 1}
    assert (stats.files_received, stats.files_duplicate) == (1, 1)
    assert stats.executed_more_than_once() == []


def test_another_file_under_a_used_message_id_is_refused_as_a_duplicate_message() -> None:
    bank, _ = new_bank()
    sent = sepa_file(sepa_payouts(2))
    bank.send("sepa", sent.filename, sent.content, sent.message_id)
    other = sepa_file(sepa_payouts(3))
    with pytest.raises(BankRefused) as refused:
        bank.send("sepa", other.filename, other.content, other.message_id)
    assert refused.value.reason_code == "DU01"
    assert bank.stats().received == {"PO-S0": 1, "PO-S1": 1}


def test_the_same_payouts_under_a_new_message_id_are_paid_again_and_the_stats_say_so() -> None:
    bank, clock = new_bank()
    for message_id in ("MSG-1", "MSG-2"):
        sent = sepa_file(sepa_payouts(1), message_id=message_id)
        bank.send("sepa", sent.filename, sent.content, sent.message_id)
    run_days(bank, clock, 2)
    assert bank.stats().executed == {"PO-S0": 2}
    assert bank.stats().executed_more_than_once() == ["PO-S0"]


@pytest.mark.parametrize(
    ("rail", "content", "message_id", "reason"),
    [
        ("sepa", b"not xml at all", "M-1", "not well-formed"),
        ("sepa", b"<Document><Other/></Document>", "M-1", "not a pain.001 version"),
        ("ach", b"101 not a nacha file", "M-1", "ach file M-1"),
        ("zengin", b"\x00" * 120, "M-1", "zengin file M-1"),
        ("bacs", b"VOL1", "M-1", "bacs file M-1"),
        ("provider", b"{}", "M-1", "missing"),
        ("swift", b"x", "M-1", "no 'swift' files"),
        ("sepa", b"", "M-1", "1 to"),
        ("sepa", b"x", "M 1 " + "x" * 40, "message id"),
    ],
)
def test_a_malformed_file_is_refused_whole_and_the_bank_knows_nothing_of_it(
    rail: str, content: bytes, message_id: str, reason: str
) -> None:
    bank, _ = new_bank()
    with pytest.raises(BankRefused, match=reason) as refused:
        bank.send(rail, "file", content, message_id)
    assert refused.value.reason_code == "FF01"
    assert bank.stats().received == {}
    assert [s.state for s in bank.inquire(rail, message_id, ["PO-1"])] == ["unknown"]


def test_a_pain001_whose_control_sum_is_wrong_is_refused_am10() -> None:
    sent = sepa_file(sepa_payouts(2))
    tampered = sent.content.replace(b"<CtrlSum>20.01</CtrlSum>", b"<CtrlSum>20.02</CtrlSum>", 1)
    assert tampered != sent.content
    bank, _ = new_bank()
    with pytest.raises(BankRefused) as refused:
        bank.send("sepa", sent.filename, tampered, sent.message_id)
    assert refused.value.reason_code == "AM10"


def test_a_pain001_under_another_message_id_than_its_own_is_refused() -> None:
    sent = sepa_file(sepa_payouts(1))
    bank, _ = new_bank()
    with pytest.raises(BankRefused, match="GrpHdr/MsgId"):
        bank.send("sepa", sent.filename, sent.content, "SOMETHING-ELSE")


def test_every_rail_is_read_and_inquiries_by_full_end_to_end_id_find_what_the_file_carried() -> (
    None
):
    bank, clock = new_bank()
    files = {
        "ach": ach_file(ach_payouts(2)),
        "zengin": zengin_file(zengin_payouts(2)),
        "bacs": bacs_file(bacs_payouts(2)),
    }
    for rail, sent in files.items():
        receipt = bank.receive(rail, sent.filename, sent.content, sent.message_id)
        assert receipt.transfer_count == 2
    run_days(bank, clock, 2)
    for rail, sent in files.items():
        statuses = bank.inquire(rail, sent.message_id, [*sent.end_to_end_ids, "PO-NEVER"])
        assert [s.end_to_end_id for s in statuses] == [*sent.end_to_end_ids, "PO-NEVER"]
        assert [s.state for s in statuses] == ["settled", "settled", "unknown"], rail
    executed = bank.stats().executed
    for rail, sent in files.items():
        for end_to_end_id in sent.end_to_end_ids:
            assert executed[reference_for(rail, end_to_end_id)] == 1


def test_the_references_a_bank_can_quote_follow_each_rails_field() -> None:
    assert reference_for("sepa", "po_0192abcd-ef") == "po_0192abcd-ef"
    assert reference_for("ach", "po_0192abcdef0123456789") == "abcdef0123456789"[-15:]
    assert reference_for("zengin", "po_0192-abcd") == "PO0192ABCD"
    assert reference_for("zengin", "12-34") == "00000000000000001234"
    assert reference_for("bacs", "po_0192abcdef0123456789") == "0192ABCDEF0123456789"[-18:]
    assert reference_for("provider", "PO-1") == "PO-1"


def test_time_never_goes_back_and_nothing_is_produced_twice() -> None:
    bank, _ = new_bank()
    sent = sepa_file(sepa_payouts(1))
    bank.send("sepa", sent.filename, sent.content, sent.message_id)
    produced = bank.advance(MONDAY + timedelta(days=2))
    assert produced > 0
    assert bank.advance(MONDAY) == 0
    assert bank.advance(MONDAY + timedelta(days=2)) == 0
    assert len(bank.collect()) == produced
    assert bank.collect() == []


def test_accounts_open_with_ten_million_units_of_their_currency_unless_told() -> None:
    bank, clock = new_bank()
    sent = zengin_file(zengin_payouts(1))
    bank.send("zengin", sent.filename, sent.content, sent.message_id)
    [monday] = read_reports(run_days(bank, clock, 1)).camt053
    assert monday.opening_balance == Money(10_000_000, "JPY")
    assert monday.account == "JP-0001-001-1234567"
