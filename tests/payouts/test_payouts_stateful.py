"""A hypothesis state machine of payouts with bank faults (RELIABILITY.md, stateful property).

Steps: money in and refunds, payout runs, approvals, submissions to a bank that times out
(before or after taking the file) or refuses it, inquiries, status reports, returns,
cancellations. After every step: no end-to-end id executed twice by the bank (invariant 5),
every unit accounted for (invariant 6, per seller), every payout's states only moved along
the state machine (invariant 7); at the end the ledger verifies.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)
from payouts_builders import (
    KEYRING,
    POLICY,
    FakeBank,
    assert_ledger_sound,
    available,
    credit,
    debit,
    funded_seller,
)

from database_support import DatabaseFactory
from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.money import Money
from sellerpay.payouts import service
from sellerpay.payouts.rules import TRANSITIONS, PayoutStatus
from sellerpay.rails.instructions import ReturnNotice, StatusReport, TransferStatus

ORIGINATORS = service.originators()
_S = PayoutStatus
_examples = itertools.count()


def reachable(start: PayoutStatus, end: PayoutStatus) -> bool:
    seen, frontier = {start}, [start]
    while frontier:
        for nxt in TRANSITIONS[frontier.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return end in seen


class PayoutMachine(RuleBasedStateMachine):
    db: Database
    clock: FixedClock

    def __init__(self) -> None:
        super().__init__()
        example = next(_examples)
        self.sellers = [f"sel_st{example}x{i}" for i in range(3)]
        self.bank = FakeBank()
        self.net_in: dict[str, int] = {}
        self.seen: dict[str, PayoutStatus] = {}
        self.runs = itertools.count()
        self.keys = itertools.count()
        for seller in self.sellers:
            funded_seller(self.db, self.clock, seller, available_minor=10_000)
            self.net_in[seller] = 10_000

    # --- money in ----------------------------------------------------------------------------

    @rule(seller=st.integers(0, 2), minor=st.integers(1, 50_000))
    def order(self, seller: int, minor: int) -> None:
        seller_id = self.sellers[seller]
        credit(self.db, self.clock, seller_id, Money(minor, "EUR"), key=f"o{next(self.keys)}")
        self.net_in[seller_id] += minor

    @rule(seller=st.integers(0, 2), minor=st.integers(1, 30_000))
    def refund(self, seller: int, minor: int) -> None:
        seller_id = self.sellers[seller]
        debit(self.db, self.clock, seller_id, Money(minor, "EUR"), key=f"r{next(self.keys)}")
        self.net_in[seller_id] -= minor

    # --- payouts -----------------------------------------------------------------------------

    @rule()
    def payout_run(self) -> None:
        keys = [(s, "EUR") for s in self.sellers]
        run = service.start_run(
            self.db,
            run_on=self.clock.now().date(),
            clock=self.clock,
            requested_by="test",
            run_key=f"{self.sellers[0]}:{next(self.runs)}",
        )
        service.process_run_chunk(
            self.db,
            run.run_id,
            keys,
            run_on=self.clock.now().date(),
            clock=self.clock,
            keyring=KEYRING,
            policy=POLICY,
        )

    @rule()
    def approve(self) -> None:
        for payout in self._payouts(_S.PENDING):
            service.approve_payout(
                self.db, payout.id, approver="key:k_a (approver)", clock=self.clock, keyring=KEYRING
            )

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        open_ = self._payouts(_S.PENDING) + self._payouts(_S.APPROVED)
        if open_:
            payout = data.draw(st.sampled_from(open_))
            service.cancel_payout(self.db, payout.id, actor="key:k_s (seller)", clock=self.clock)

    @rule(mode=st.sampled_from(["ok", "ok", "timeout_after", "timeout_before", "refuse"]))
    def submit(self, mode: str) -> None:
        self.bank.mode = mode
        service.submit_due(
            self.db, bank=self.bank, clock=self.clock, keyring=KEYRING, originators=ORIGINATORS
        )
        self.bank.mode = "ok"

    @rule(state=st.sampled_from(["settled", "rejected"]))
    def the_whole_way(self, state: str) -> None:
        """Run, approve, submit and hear back in one step, so that long lives are common."""
        self.payout_run()
        self.approve()
        self.submit("ok")
        for payout in self._payouts(_S.SUBMITTED):
            report = StatusReport(
                "R",
                "unknown-message",
                None,
                None,
                (TransferStatus(payout.end_to_end_id, state, "AC01"),),  # type: ignore[arg-type]
            )
            service.apply_status_report(self.db, report, clock=self.clock)

    @rule()
    def resolve(self) -> None:
        service.resolve_submissions(
            self.db, bank=self.bank, clock=self.clock, stale_after=timedelta(0)
        )

    @rule(data=st.data(), state=st.sampled_from(["settled", "rejected", "accepted"]))
    def status_report(self, data: st.DataObject, state: str) -> None:
        sent = self._payouts(_S.SUBMITTED) + self._payouts(_S.PROCESSING)
        sent = [p for p in sent if self.bank.states.get(p.end_to_end_id)]
        if not sent:
            return
        payout = data.draw(st.sampled_from(sent))
        report = StatusReport(
            "R",
            "unknown-message",
            None,
            None,
            (TransferStatus(payout.end_to_end_id, state, "AC04"),),
        )  # type: ignore[arg-type]
        service.apply_status_report(self.db, report, clock=self.clock)

    @rule(data=st.data(), reason=st.sampled_from(["AC04", "AM04", "MS03"]))
    def bank_return(self, data: st.DataObject, reason: str) -> None:
        paid = self._payouts(_S.PAID)
        if paid:
            payout = data.draw(st.sampled_from(paid))
            notice = ReturnNotice(
                payout.end_to_end_id, payout.amount, reason, self.clock.now().date()
            )
            service.apply_returns(self.db, [notice], clock=self.clock, policy=POLICY)

    @rule(hours=st.integers(1, 72))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(timedelta(hours=hours))

    # --- invariants ----------------------------------------------------------------------------

    def _payouts(self, status: PayoutStatus | None = None) -> list[service.Payout]:
        found = []
        for seller in self.sellers:
            found += service.list_payouts(
                self.db,
                service.PayoutFilter(seller_id=seller, status=status),
                after_id=None,
                limit=200,
            )
        return found

    @invariant()
    def no_end_to_end_id_executed_twice(self) -> None:
        assert all(count == 1 for count in self.bank.executed.values()), self.bank.executed

    @invariant()
    def states_follow_the_machine(self) -> None:
        for payout in self._payouts():
            before = self.seen.get(payout.id)
            if before is not None and before is not payout.status:
                assert reachable(before, payout.status), (payout.id, before, payout.status)
            self.seen[payout.id] = payout.status

    @invariant()
    def every_unit_is_accounted_for(self) -> None:
        """What came in = what is available + what left in payouts still standing + fees."""
        for seller in self.sellers:
            payouts = service.list_payouts(
                self.db, service.PayoutFilter(seller_id=seller), after_id=None, limit=500
            )
            out = sum(
                p.source.amount_minor
                for p in payouts
                if p.status not in (_S.FAILED, _S.CANCELED, _S.RETURNED)
            )
            fees = sum(p.return_fee.amount_minor for p in payouts if p.return_fee)
            assert available(self.db, seller) + out + fees == self.net_in[seller]

    def teardown(self) -> None:
        for status in sorted({p.status.value for p in self._payouts()}):
            event(f"reached {status}")  # --hypothesis-show-statistics: what the runs covered
        assert_ledger_sound(self.db)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_payout_lifecycle_with_bank_faults(
    backend: str, database_factory: DatabaseFactory, clock: FixedClock
) -> None:
    machine = type(
        f"PayoutMachine_{backend}",
        (PayoutMachine,),
        {"db": database_factory.create(backend), "clock": clock},
    )
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=10 if backend == "sqlite" else 4,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
