"""The ledger as a hypothesis state machine, on SQLite and PostgreSQL, against a model in memory.

Random balanced transfers (some overdrawing flagged accounts), replays, reused keys, reversals
and batches with duplicate keys; after every step the invariants of RELIABILITY.md must hold:
stored balances equal the model and the sum of their entries, flagged accounts are never
negative, each key is applied once, and `verify_ledger` finds nothing wrong.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import ClassVar
from uuid import UUID

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import event as hypothesis_event
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from ledger_builders import DatabaseFactory, transaction_count_for_keys
from sqlalchemy import text

from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.errors import Conflict
from sellerpay.ledger.rules import EntryRequest, FlagViolation, Side, TransactionRequest
from sellerpay.ledger.service import (
    PostStatus,
    get_transaction,
    post_many,
    post_transaction,
    reverse_transaction,
    verify_ledger,
)
from sellerpay.money import Money

Account = tuple[str, str]  # (code, currency)
CURRENCIES = ("EUR", "JPY")
PURPOSES = ("pending", "available", "reserve", "advance_receivable")
REVERSAL_KEYS = ("default key", "new key", "key it was reversed with")
DEBITS_CAPPED = ("pending", "reserve")  # debits_must_not_exceed_credits
CREDITS_CAPPED = ("advance_receivable",)  # credits_must_not_exceed_debits


@dataclass(frozen=True, slots=True)
class Leg:
    """A leg before the example's account names are known: (slot in the account list, side)."""

    slot: int
    side: Side
    amount_minor: int


@dataclass(frozen=True, slots=True)
class Shape:
    """A transfer drawn by hypothesis: 2 or 3 legs balanced by construction in one currency."""

    currency: str
    legs: tuple[Leg, ...]


@st.composite
def shapes(draw: st.DrawFn) -> Shape:
    slots = st.integers(0, 2 * len(PURPOSES))  # two sellers' accounts and one bank account
    amounts = st.integers(1, 900)
    side = draw(st.sampled_from(Side))
    other = Side.CREDIT if side is Side.DEBIT else Side.DEBIT
    first = draw(amounts)
    legs: tuple[Leg, ...]
    if draw(st.booleans()):
        legs = (Leg(draw(slots), side, first), Leg(draw(slots), other, first))
    else:
        second = draw(amounts)
        legs = (
            Leg(draw(slots), side, first + second),
            Leg(draw(slots), other, first),
            Leg(draw(slots), other, second),
        )
    return Shape(draw(st.sampled_from(CURRENCIES)), legs)


@dataclass(slots=True)
class Posted:
    """A transaction the model knows to be stored."""

    key: str
    transaction_id: UUID
    entries: tuple[EntryRequest, ...]
    request: TransactionRequest | None  # None for reversals, which are made by the service
    reverses: str | None = None  # for a reversal: the key of the transaction it reverses
    reversal: tuple[str, UUID] | None = None  # (key, id) of the reversal once posted


@dataclass(slots=True)
class Model:
    totals: dict[Account, list[int]] = field(default_factory=dict)  # [debits, credits]
    posted: dict[str, Posted] = field(default_factory=dict)
    refused_keys: set[str] = field(default_factory=set)

    def breach(self, entries: tuple[EntryRequest, ...]) -> bool:
        """Would these entries take a flagged account beyond its limit?"""
        moved: dict[Account, list[int]] = {}
        for entry in entries:
            account = (entry.account, entry.amount.currency)
            moved.setdefault(account, [0, 0])[entry.side is Side.CREDIT] += (
                entry.amount.amount_minor
            )
        for (code, currency), (debits, credits) in moved.items():
            total_debits, total_credits = self.totals.get((code, currency), [0, 0])
            purpose = code.rsplit(":", 1)[-1]
            if purpose in DEBITS_CAPPED and total_debits + debits > total_credits + credits:
                return True
            if purpose in CREDITS_CAPPED and total_credits + credits > total_debits + debits:
                return True
        return False

    def apply(self, entries: tuple[EntryRequest, ...]) -> None:
        for entry in entries:
            totals = self.totals.setdefault((entry.account, entry.amount.currency), [0, 0])
            totals[entry.side is Side.CREDIT] += entry.amount.amount_minor


OUTCOMES: Counter[str] = Counter()  # what the runs exercised, checked at the end of the test


def event(outcome: str) -> None:
    OUTCOMES[outcome] += 1
    hypothesis_event(outcome)


def same_body(a: TransactionRequest, b: TransactionRequest) -> bool:
    return replace(a, idempotency_key="") == replace(b, idempotency_key="")


def mirrored(entries: tuple[EntryRequest, ...]) -> tuple[EntryRequest, ...]:
    flip = {Side.DEBIT: Side.CREDIT, Side.CREDIT: Side.DEBIT}
    return tuple(EntryRequest(e.account, flip[e.side], e.amount) for e in entries)


class LedgerMachine(RuleBasedStateMachine):
    """One hypothesis example: fresh accounts (a unique tag) on the backend's database."""

    db: ClassVar[Database]

    replayable = Bundle("replayable")  # keys of posted transfers (their request is known)
    reversals = Bundle("reversals")  # keys of posted reversals

    def __init__(self) -> None:
        super().__init__()
        self.clock = FixedClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
        tag = uuid.uuid4().hex[:16]
        self.accounts = [
            f"seller:sel_{tag}{seller}:{purpose}" for seller in "ab" for purpose in PURPOSES
        ]
        self.accounts.append(f"platform:bank:{tag}")
        self.model = Model()

    # -- building requests ---------------------------------------------------------------------

    def request(self, shape: Shape, key: str | None = None) -> TransactionRequest:
        entries = tuple(
            EntryRequest(self.accounts[leg.slot], leg.side, Money(leg.amount_minor, shape.currency))
            for leg in shape.legs
        )
        return TransactionRequest(
            idempotency_key=key or f"transfer:{uuid.uuid4().hex}", kind="transfer", entries=entries
        )

    def decide(self, request: TransactionRequest) -> tuple[PostStatus, str | None]:
        """What the model expects for `request` now (`record` applies it once it posted)."""
        known = self.model.posted.get(request.idempotency_key)
        if known is not None:
            if known.request is not None and same_body(known.request, request):
                return PostStatus.REPLAYED, None
            return PostStatus.REJECTED, "idempotency_key_reused"
        if self.model.breach(request.entries):
            self.model.refused_keys.add(request.idempotency_key)
            return PostStatus.REJECTED, "flag"
        return PostStatus.POSTED, None

    def record(self, request: TransactionRequest, transaction_id: UUID) -> None:
        self.model.apply(request.entries)
        self.model.refused_keys.discard(request.idempotency_key)
        self.model.posted[request.idempotency_key] = Posted(
            request.idempotency_key, transaction_id, request.entries, request
        )

    # -- rules ---------------------------------------------------------------------------------

    @rule(target=replayable, shape=shapes())
    def post_transfer(self, shape: Shape) -> object:
        request = self.request(shape)
        expected, reason = self.decide(request)
        event(f"transfer {expected.value}" + (": flag" if reason == "flag" else ""))
        if expected is PostStatus.REJECTED:
            assert reason == "flag"
            with pytest.raises(FlagViolation):
                post_transaction(self.db, request, clock=self.clock)
            return multiple()
        transaction, replayed = post_transaction(self.db, request, clock=self.clock)
        assert not replayed
        assert [(e.account, e.side, e.amount) for e in transaction.entries] == [
            (e.account, e.side, e.amount) for e in request.entries
        ]
        self.record(request, transaction.id)
        return request.idempotency_key

    @rule(key=replayable)
    def post_again_with_the_same_key(self, key: str) -> None:
        original = self.model.posted[key]
        assert original.request is not None
        self.clock.advance(timedelta(seconds=1))
        event("transfer replayed")
        transaction, replayed = post_transaction(self.db, original.request, clock=self.clock)
        assert replayed
        assert transaction.id == original.transaction_id

    @rule(key=replayable, shape=shapes())
    def post_a_reused_key_with_another_body(self, key: str, shape: Shape) -> None:
        original = self.model.posted[key]
        request = self.request(shape, key=key)
        expected, reason = self.decide(request)
        if expected is PostStatus.REPLAYED:  # hypothesis drew the very same body
            assert post_transaction(self.db, request, clock=self.clock)[1]
            return
        assert reason == "idempotency_key_reused"
        event("transfer rejected: key reused")
        with pytest.raises(Conflict) as caught:
            post_transaction(self.db, request, clock=self.clock)
        assert caught.value.code == "idempotency_key_reused"
        assert caught.value.context["transaction_id"] == str(original.transaction_id)

    @rule(target=reversals, key=replayable | reversals, how=st.sampled_from(REVERSAL_KEYS))
    def reverse(self, key: str, how: str) -> object:
        original = self.model.posted[key]
        default_key = f"reversal:{original.transaction_id}"
        given_key = f"reversal:{uuid.uuid4().hex}" if how == "new key" else None
        if how == "key it was reversed with" and original.reversal is not None:
            given_key = original.reversal[0]

        def reverse_now() -> tuple[UUID, bool]:
            transaction, replayed = reverse_transaction(
                self.db, original.transaction_id, clock=self.clock, idempotency_key=given_key
            )
            return transaction.id, replayed

        if original.reversal is not None:
            stored_key, stored_id = original.reversal
            if (given_key or default_key) == stored_key:
                event("reversal replayed")
                assert reverse_now() == (stored_id, True)
            else:
                event("reversal refused: already reversed")
                with pytest.raises(Conflict) as caught:
                    reverse_now()
                assert caught.value.code == "already_reversed"
                assert caught.value.context["reversal_id"] == str(stored_id)
            return multiple()
        entries = mirrored(original.entries)
        if self.model.breach(entries):
            event("reversal refused: flag")
            with pytest.raises(FlagViolation):
                reverse_now()
            self.model.refused_keys.add(given_key or default_key)
            return multiple()
        event("reversal posted")
        reversal_id, replayed = reverse_now()
        assert not replayed
        reversal = get_transaction(self.db, reversal_id)
        assert reversal.reverses_id == original.transaction_id
        assert [(e.account, e.side, e.amount) for e in reversal.entries] == [
            (e.account, e.side, e.amount) for e in entries
        ]
        self.model.apply(entries)
        self.model.refused_keys.discard(reversal.idempotency_key)
        original.reversal = (reversal.idempotency_key, reversal.id)
        self.model.posted[reversal.idempotency_key] = Posted(
            reversal.idempotency_key, reversal.id, entries, None, reverses=key
        )
        return reversal.idempotency_key

    @rule(reversal=reversals, how=st.sampled_from(REVERSAL_KEYS))
    def reverse_a_reversed_transaction_again(self, reversal: str, how: str) -> None:
        original_key = self.model.posted[reversal].reverses
        assert original_key is not None
        assert self.reverse(original_key, how) == multiple()

    @rule(
        target=replayable,
        shapes_=st.lists(shapes(), min_size=1, max_size=4),
        duplicate=st.booleans(),
        earlier=st.none() | replayable,
        reused=st.none() | st.tuples(replayable, shapes()),
    )
    def post_a_batch(
        self,
        shapes_: list[Shape],
        duplicate: bool,
        earlier: str | None,
        reused: tuple[str, Shape] | None,
    ) -> object:
        batch = [self.request(shape) for shape in shapes_]
        if duplicate:
            batch.insert(len(batch) // 2 + 1, batch[0])  # the same key again inside the batch
        if earlier is not None:
            request = self.model.posted[earlier].request
            assert request is not None
            batch.append(request)
        if reused is not None:
            batch.insert(0, self.request(reused[1], key=reused[0]))
        results = post_many(self.db, batch, clock=self.clock)
        assert len(results) == len(batch)
        new_keys = []
        for request, result in zip(batch, results, strict=True):
            expected, reason = self.decide(request)
            event(f"batch item {expected.value} {reason or ''}".strip())
            assert result.status is expected, (request, result)
            if expected is PostStatus.POSTED:
                assert result.transaction_id is not None
                self.record(request, result.transaction_id)
                new_keys.append(request.idempotency_key)
            elif expected is PostStatus.REPLAYED:
                assert (
                    result.transaction_id
                    == self.model.posted[request.idempotency_key].transaction_id
                )
            elif reason == "flag":
                assert isinstance(result.error, FlagViolation)
            else:
                assert isinstance(result.error, Conflict)
        return multiple(*new_keys)

    @rule(minutes=st.integers(1, 60 * 24))
    def time_passes(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))

    # -- invariants ----------------------------------------------------------------------------

    @invariant()
    def stored_balances_equal_the_model_and_the_sum_of_their_entries(self) -> None:
        tag = self.accounts[-1].rsplit(":", 1)[-1]
        with self.db.reading() as conn:
            stored = {
                (row[0], row[1]): [int(row[2]), int(row[3])]
                for row in conn.execute(
                    text(
                        "SELECT code, currency, debits_posted, credits_posted FROM ledger_accounts"
                        " WHERE code LIKE :pattern OR code = :bank"
                    ),
                    {"pattern": f"seller:sel_{tag}%", "bank": self.accounts[-1]},
                )
            }
            summed = {
                (row[0], row[1]): [int(row[2]), int(row[3])]
                for row in conn.execute(
                    text(
                        "SELECT a.code, a.currency,"
                        " COALESCE(SUM(CASE e.side WHEN 'debit' THEN e.amount_minor END), 0),"
                        " COALESCE(SUM(CASE e.side WHEN 'credit' THEN e.amount_minor END), 0)"
                        " FROM ledger_accounts a JOIN ledger_entries e ON e.account_id = a.id"
                        " WHERE a.code LIKE :pattern OR a.code = :bank GROUP BY a.code, a.currency"
                    ),
                    {"pattern": f"seller:sel_{tag}%", "bank": self.accounts[-1]},
                )
            }
        assert {k: v for k, v in stored.items() if v != [0, 0]} == {
            k: v for k, v in self.model.totals.items() if v != [0, 0]
        }
        assert summed == {k: v for k, v in stored.items() if k in summed}
        assert all(v == [0, 0] for k, v in stored.items() if k not in summed)

    @invariant()
    def flagged_accounts_are_never_beyond_their_limit(self) -> None:
        for (code, _currency), (debits, credits) in self.model.totals.items():
            purpose = code.rsplit(":", 1)[-1]
            if purpose in DEBITS_CAPPED:
                assert debits <= credits
            if purpose in CREDITS_CAPPED:
                assert credits <= debits

    @invariant()
    def each_key_is_applied_once_and_refused_keys_not_at_all(self) -> None:
        counts = transaction_count_for_keys(self.db, [*self.model.posted, *self.model.refused_keys])
        assert {key: counts[key] for key in self.model.posted} == dict.fromkeys(
            self.model.posted, 1
        )
        assert {key: counts[key] for key in self.model.refused_keys} == dict.fromkeys(
            self.model.refused_keys, 0
        )

    @invariant()
    def the_whole_ledger_verifies(self) -> None:
        report = verify_ledger(self.db)
        assert report.ok, report.breaches


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)],
)
def stateful_db(request: pytest.FixtureRequest, database_factory: DatabaseFactory) -> Database:
    """One database per backend for all examples; each example opens accounts of its own."""
    return database_factory.create(request.param)


@pytest.mark.slow
def test_ledger_keeps_its_invariants_through_random_posts_replays_reversals_and_batches(
    stateful_db: Database,
) -> None:
    machine = type(
        f"LedgerMachineOn{stateful_db.dialect.capitalize()}", (LedgerMachine,), {"db": stateful_db}
    )
    OUTCOMES.clear()
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=50,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    # the run exercised every path (rarer ones, such as a reversal refused by a flag, are also
    # pinned by the example-based tests of test_ledger_posting.py)
    assert set(OUTCOMES) >= {
        "transfer posted",
        "transfer rejected: flag",
        "transfer replayed",
        "transfer rejected: key reused",
        "batch item posted",
        "batch item replayed",
        "batch item rejected flag",
        "batch item rejected idempotency_key_reused",
        "reversal posted",
        "reversal replayed",
    }, OUTCOMES
