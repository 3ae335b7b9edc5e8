"""The simulated payout provider: one payout per idempotency key, a status that moves from
accepted to paid (and maybe returned), and its batch "file" going through the same keys."""

from __future__ import annotations

from dataclasses import replace

import pytest
from simbank_builders import TUESDAY, new_bank, provider_file, read_reports, run_days, sepa_payouts

from sellerpay.errors import NotFound
from sellerpay.money import Money
from sellerpay.payouts.banking import BankTimeout
from sellerpay.rails.provider import ProviderPayoutRequest
from sellerpay.simbank import FaultConfig, ProviderConflict
from sellerpay.simbank.outcomes import REJECT_REASONS, RETURN_REASONS


def payout(key: str = "PO-1", amount_minor: int = 1234) -> ProviderPayoutRequest:
    [transfer] = sepa_payouts(1)
    return ProviderPayoutRequest.from_transfer(
        replace(transfer, end_to_end_id=key, amount=Money(amount_minor, "EUR"))
    )


def test_the_same_key_and_body_get_the_same_answer_and_pay_once() -> None:
    bank, clock = new_bank()
    first, replayed = bank.receive_provider_payout(payout())
    again, replayed_again = bank.receive_provider_payout(payout())
    assert (first, replayed, replayed_again) == (again, False, True)
    assert first.status == "accepted"
    assert first.id.startswith("pp_")
    run_days(bank, clock, 2)
    assert bank.stats().executed == {"PO-1": 1}
    assert bank.stats().received == {"PO-1": 2}
    later, _ = bank.receive_provider_payout(payout())
    assert later == first  # the first answer, even after the payout moved on


def test_the_same_key_with_another_body_is_a_conflict() -> None:
    bank, _ = new_bank()
    bank.accept_provider_payout(payout())
    with pytest.raises(ProviderConflict) as conflict:
        bank.accept_provider_payout(payout(amount_minor=9999))
    assert conflict.value.code == "idempotency_key_reused"
    assert conflict.value.status == 409
    assert bank.stats().provider_conflicts == 1


def test_a_status_moves_from_accepted_to_paid_to_returned() -> None:
    faults = FaultConfig(return_rate=1.0, return_delay_days_min=2, return_delay_days_max=2)
    bank, clock = new_bank(faults)
    answer = bank.accept_provider_payout(payout())
    assert bank.provider_payout(answer.id).status == "accepted"
    run_days(bank, clock, 1)
    paid = bank.provider_payout(answer.id)
    assert (paid.status, paid.paid_on) == ("paid", TUESDAY)
    files = run_days(bank, clock, 5)
    returned = bank.provider_payout(answer.id)
    assert returned.status == "returned"
    assert returned.reason_code in RETURN_REASONS and returned.reason_text
    [notice] = read_reports(files).returns
    assert (notice.end_to_end_id, notice.reason_code) == ("PO-1", returned.reason_code)


def test_a_failed_payout_says_why_and_is_never_paid() -> None:
    bank, clock = new_bank(FaultConfig(reject_rate=1.0))
    answer = bank.accept_provider_payout(payout())
    assert answer.status == "failed"
    assert answer.reason_code in REJECT_REASONS
    run_days(bank, clock, 3)
    assert bank.provider_payout(answer.id).status == "failed"
    assert bank.stats().executed == {}


def test_an_unknown_payout_id_is_not_found() -> None:
    bank, _ = new_bank()
    with pytest.raises(NotFound):
        bank.provider_payout("pp_nothing")


def test_time_outs_strike_the_provider_api_too_and_the_retry_is_idempotent() -> None:
    bank, clock = new_bank(FaultConfig(timeout_after_accept_rate=1.0))
    with pytest.raises(BankTimeout):
        bank.accept_provider_payout(payout())
    bank.faults = FaultConfig()
    answer, replayed = bank.receive_provider_payout(payout())
    assert replayed is True and answer.status == "accepted"
    run_days(bank, clock, 2)
    assert bank.stats().executed == {"PO-1": 1}


def test_a_batch_file_goes_through_the_same_keys_as_the_api() -> None:
    bank, clock = new_bank()
    transfers = sepa_payouts(3, prefix="PO-")
    bank.accept_provider_payout(ProviderPayoutRequest.from_transfer(transfers[0]))
    sent = provider_file(transfers)
    bank.send("provider", sent.filename, sent.content, sent.message_id)
    reports = read_reports(run_days(bank, clock, 2))
    assert bank.stats().executed == {"PO-0": 1, "PO-1": 1, "PO-2": 1}
    [status] = reports.status_reports
    assert {t.end_to_end_id: t.state for t in status.transfers} == dict.fromkeys(
        ("PO-0", "PO-1", "PO-2"), "accepted"
    )
    states = bank.inquire("provider", sent.message_id, sent.end_to_end_ids)
    assert [s.state for s in states] == ["settled"] * 3


def test_a_batch_reusing_a_key_for_another_payout_gets_that_payout_rejected_am05() -> None:
    bank, clock = new_bank()
    bank.accept_provider_payout(payout("PO-S0", amount_minor=1))
    sent = provider_file(sepa_payouts(2))  # PO-S0 is 10.00 EUR here
    bank.send("provider", sent.filename, sent.content, sent.message_id)
    [status] = read_reports(run_days(bank, clock, 2)).status_reports
    assert [(t.end_to_end_id, t.state, t.reason_code) for t in status.transfers] == [
        ("PO-S0", "rejected", "AM05"),
        ("PO-S1", "accepted", None),
    ]
    assert bank.stats().executed == {"PO-S0": 1, "PO-S1": 1}  # PO-S0: the API payout only
