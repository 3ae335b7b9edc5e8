"""The simulation's own parts, without a database: the population it draws, its fault
profiles and worker deaths, its replayable ids, the outbox subscriber's state machine check and
the money equation's classification of accounts."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sellerpay import ids
from sellerpay.bankaccounts.rules import rail_for, validate_details, zengin_holder_name
from sellerpay.clock import FixedClock
from sellerpay.errors import InvalidInput
from sellerpay.events.service import Event
from sellerpay.ledger.rules import AccountKind, account_rule
from sellerpay.rails.instructions import ZenginAccount
from sellerpay.simulation.determinism import SeededIds, seeded_ids
from sellerpay.simulation.faults import Restarts, WorkerCrash, simulation_faults
from sellerpay.simulation.invariants import CurrencyEquation, _add
from sellerpay.simulation.journal import Journal, Subscriber
from sellerpay.simulation.population import SANCTIONED_NAME, draw_population

START = datetime(2026, 11, 2, tzinfo=UTC)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32), count=st.integers(min_value=8, max_value=60))
def test_every_seller_drawn_has_a_valid_bank_account_on_a_rail_of_its_currency(
    seed: int, count: int
) -> None:
    sellers = draw_population(random.Random(seed), count, days=30)

    assert len({s.id for s in sellers}) == count
    assert {s.country for s in sellers} == {"FR", "ES", "US", "JP"}
    for seller in sellers:
        assert validate_details(seller.account) == seller.account
        rail_for(seller.account, seller.account_currency)  # raises when no rail pays it
        if isinstance(seller.account, ZenginAccount):
            assert zengin_holder_name(seller.holder_name).startswith("ｶ)ﾃﾞﾓ")
    assert [s.legal_name for s in sellers if s.sanctioned] == [SANCTIONED_NAME]
    changers = [s for s in sellers if s.changes_account_on is not None]
    assert len(changers) == 1 and not changers[0].sanctioned
    assert 0 < (changers[0].changes_account_on or 0) < 30


def test_the_same_seed_draws_the_same_sellers() -> None:
    first = draw_population(random.Random(9), 40, days=30)

    assert first == draw_population(random.Random(9), 40, days=30)
    assert first != draw_population(random.Random(10), 40, days=30)


def test_the_fault_profiles_go_from_nothing_to_everything_turned_up() -> None:
    none, default, chaos = (simulation_faults(n) for n in ("none", "default", "chaos"))

    assert none.restart_rate == 0 and none.bank.reject_rate == 0
    assert none.marketplace.duplicate_rate == 0
    assert 0 < default.restart_rate < chaos.restart_rate
    assert default.marketplace.duplicate_rate < chaos.marketplace.duplicate_rate
    assert default.bank.timeout_after_accept_rate < chaos.bank.timeout_after_accept_rate
    with pytest.raises(InvalidInput) as raised:
        simulation_faults("mayhem")
    assert raised.value.code == "unknown_fault_profile"


def test_workers_die_at_the_profile_rate_and_never_once_disarmed() -> None:
    restarts = Restarts(random.Random(1), 0.5)
    deaths = 0
    for _ in range(400):
        try:
            restarts.point("somewhere")
        except WorkerCrash as crash:
            assert crash.where == "somewhere"
            deaths += 1

    assert 150 < deaths < 250
    assert restarts.killed["somewhere"] == deaths
    restarts.disarm()
    for _ in range(100):
        restarts.point("somewhere")  # never raises


def test_seeded_ids_are_uuid7_in_time_order_and_the_same_for_the_same_seed() -> None:
    clock = FixedClock(START)
    first, second = SeededIds(clock, 5), SeededIds(FixedClock(START), 5)
    made = []
    for step in range(50):
        if step % 10 == 0:
            clock.advance(timedelta(milliseconds=3))
        made.append(first())

    assert all(made_id.version == 7 for made_id in made)
    assert made == sorted(made), "ids sort by creation"
    assert len(set(made)) == len(made)
    replay_clock = FixedClock(START)
    replay = SeededIds(replay_clock, 5)
    again = []
    for step in range(50):
        if step % 10 == 0:
            replay_clock.advance(timedelta(milliseconds=3))
        again.append(replay())
    assert again == made
    assert second() != SeededIds(FixedClock(START), 6)()


def test_seeded_ids_stand_in_for_every_uuid7_while_the_run_lasts() -> None:
    from sellerpay.ledger import service as ledger_service

    original = ids.uuid7
    with seeded_ids(FixedClock(START), 1):
        inside = ids.prefixed_id("po")
        assert ledger_service.uuid7 is not original
        assert uuid.UUID(hex=inside[3:]).int >> 80 == int(START.timestamp() * 1000)
    assert ids.uuid7 is original and ledger_service.uuid7 is original
    assert ids.prefixed_id("po") != inside


def _event(payout_id: str, kind: str, status: str, previous: str | None = None) -> Event:
    data = {"payout_id": payout_id, "status": status}
    if previous is not None:
        data["previous_status"] = previous
    return Event(uuid.uuid4(), f"payout.{kind}", payout_id, data, START)


def test_the_subscriber_flags_a_payout_moving_off_the_state_machine() -> None:
    breaches: list[tuple[str, str]] = []
    subscriber = Subscriber(Journal(), lambda check, detail: breaches.append((check, detail)))

    subscriber.publish(
        [
            _event("po_1", "created", "approved"),
            _event("po_1", "processing", "processing", "approved"),
            _event("po_1", "submitted", "submitted", "processing"),
            _event("po_1", "paid", "paid", "submitted"),
        ]
    )
    assert breaches == []
    subscriber.publish([_event("po_1", "approved", "approved", "paid")])  # paid -> approved
    subscriber.publish([_event("po_2", "paid", "paid", "submitted")])  # never created

    assert [check for check, _ in breaches] == ["payout_states"] * 2
    assert "po_1 moved paid -> approved" in breaches[0][1]
    assert "po_2 moved from submitted, but its events left it unknown" in breaches[1][1]
    assert subscriber.reached["submitted->paid"] == 2


ACCOUNTS = (
    "platform:psp_clearing",
    "platform:bank:main",
    "platform:payouts_in_transit",
    "platform:refunds_payable",
    "platform:revenue:commission",
    "platform:revenue:payout_fees",
    "platform:losses",
    "platform:adjustments",
    "platform:fx:EUR",
    "seller:sel_a1:pending",
    "seller:sel_a1:available",
    "seller:sel_a1:dispute_hold",
    "seller:sel_b2:available",
    "seller:sel_b2:advance_receivable",
)


@settings(max_examples=200, deadline=None)
@given(
    postings=st.lists(
        st.tuples(
            st.sampled_from(ACCOUNTS),
            st.sampled_from(ACCOUNTS),
            st.integers(min_value=1, max_value=10**9),
        ),
        max_size=30,
    )
)
def test_the_money_equation_holds_for_any_balanced_postings(
    postings: list[tuple[str, str, int]],
) -> None:
    """Whatever balanced transactions move money, assets and expenses equal liabilities and
    revenue: the equation's sides follow the chart's account kinds and normal sides."""
    net: dict[str, int] = dict.fromkeys(ACCOUNTS, 0)  # debits minus credits
    for debit, credit, amount in postings:
        net[debit] += amount
        net[credit] -= amount
    equation = CurrencyEquation("EUR")
    for code, debit_minus_credit in net.items():
        kind = account_rule(code, "EUR").kind
        normal_debit = kind in (AccountKind.ASSET, AccountKind.EXPENSE)
        _add(equation, code, debit_minus_credit if normal_debit else -debit_minus_credit)

    assert equation.holds, (equation.left, equation.right)


def test_a_one_sided_amount_breaks_the_money_equation() -> None:
    equation = CurrencyEquation("EUR")
    _add(equation, "platform:bank:main", -500)  # money left the bank
    _add(equation, "seller:sel_a1:available", 0)  # and nobody's balance went down

    assert not equation.holds
