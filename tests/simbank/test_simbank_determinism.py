"""A seed reproduces a run: the same outcomes and the same report bytes, whatever the order in
which files arrive; another seed gives another run."""

from __future__ import annotations

from simbank_builders import (
    ach_file,
    ach_payouts,
    new_bank,
    provider_file,
    run_days,
    sepa_file,
    sepa_payouts,
    zengin_file,
    zengin_payouts,
)

from sellerpay.payouts.banking import BankTimeout, InboundFile
from sellerpay.rails.instructions import BankFile
from sellerpay.simbank import SimulatedBank, fault_profile
from sellerpay.simbank.faults import FaultConfig

CHAOS = fault_profile("chaos")


def files() -> list[tuple[str, BankFile]]:
    return [
        ("sepa", sepa_file(sepa_payouts(30))),
        ("ach", ach_file(ach_payouts(30))),
        ("zengin", zengin_file(zengin_payouts(30))),
        ("provider", provider_file(sepa_payouts(30, prefix="PO-P"))),
    ]


def play(
    seed: int, order: list[tuple[str, BankFile]], faults: FaultConfig = CHAOS
) -> tuple[SimulatedBank, list[InboundFile]]:
    """Send every file until the bank has it (time-outs are part of the run), then 10 days."""
    bank, clock = new_bank(faults, seed=seed)
    for rail, sent in order:
        for _ in range(50):
            try:
                bank.send(rail, sent.filename, sent.content, sent.message_id)
                break
            except BankTimeout:
                if bank.inquire(rail, sent.message_id, sent.end_to_end_ids[:1])[0].state != (
                    "unknown"
                ):
                    break  # the bank has it: never send again blindly
    return bank, run_days(bank, clock, 10)


def outcomes(bank: SimulatedBank) -> dict[str, tuple[object, ...]]:
    return {
        r.reference: (r.state, r.reject_reason, r.return_reason, r.booked_on, r.returned_on)
        for r in bank.transfers()
    }


def test_the_same_seed_and_calls_give_identical_outcomes_and_identical_report_bytes() -> None:
    first_bank, first_files = play(5, files())
    second_bank, second_files = play(5, files())
    assert first_bank.transfers() == second_bank.transfers()
    assert [(f.filename, f.content) for f in first_files] == [
        (f.filename, f.content) for f in second_files
    ]
    assert first_bank.stats() == second_bank.stats()
    assert len(first_files) > 50


def test_outcomes_do_not_depend_on_the_order_files_arrive_in() -> None:
    forward, _ = play(5, files())
    backward, _ = play(5, list(reversed(files())))
    assert outcomes(forward) == outcomes(backward)


def test_another_seed_gives_other_outcomes() -> None:
    base = outcomes(play(5, files())[0])
    others = [outcomes(play(seed, files())[0]) for seed in (6, 7)]
    assert all(other != base for other in others)
    assert all(other.keys() == base.keys() for other in others)


def test_without_faults_every_transfer_is_settled_whatever_the_seed() -> None:
    for seed in (1, 2, 3):
        bank, _ = play(seed, files(), FaultConfig())
        assert {r.state for r in bank.transfers()} == {"settled"}
        assert all(r.returned_on is None for r in bank.transfers())
