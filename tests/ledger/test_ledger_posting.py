"""Posting, replaying, rejecting and reversing transactions, and reading balances and history,
on SQLite and PostgreSQL (the shared `db`: every test keeps to its own seller's accounts)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from ledger_builders import (
    credit,
    debit,
    entry_totals,
    order_paid,
    release,
    scalar,
    stored_totals,
    transaction_count_for_keys,
    transfer,
    unique_key,
)
from sqlalchemy import text

from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.errors import Conflict, InvalidInput, LimitExceeded, NotFound, SellerpayError
from sellerpay.ledger.rules import FlagViolation, Side, TransactionRequest
from sellerpay.ledger.service import (
    PostStatus,
    account_balances,
    account_history,
    batch_size_max,
    get_transaction,
    page_size_max,
    post_many,
    post_many_in,
    post_transaction,
    reverse_transaction,
)
from sellerpay.money import Money


def balance_minor(db: Database, code: str, currency: str = "EUR") -> int:
    (balance,) = account_balances(db, code, currency=currency)
    assert type(balance.balance.amount_minor) is int
    return balance.balance.amount_minor


def history(
    db: Database, code: str, currency: str | None = None
) -> list[tuple[str, int, int, int]]:
    """(side, amount, balance after, version) of every entry of the account, newest first."""
    page = account_history(db, code, currency=currency, limit=page_size_max)
    assert page.next_before_version is None
    return [
        (
            line.side.value,
            line.amount.amount_minor,
            line.balance_after.amount_minor,
            line.account_version,
        )
        for line in page.lines
    ]


# --- posting ----------------------------------------------------------------------------------


def test_order_paid_then_released_moves_balances_and_history_keeps_running_balances(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    pending, available = f"seller:{seller_id}:pending", f"seller:{seller_id}:available"
    paid, replayed = post_transaction(db, order_paid(seller_id, amount_minor=10_000), clock=clock)
    assert not replayed
    assert paid.kind == "order.paid"
    assert paid.effective_at == clock.now() == paid.posted_at
    seller_leg = paid.entries[1]
    assert (seller_leg.leg, seller_leg.account, seller_leg.side) == (1, pending, Side.CREDIT)
    assert (seller_leg.amount, seller_leg.balance_after) == (Money(10_000, "EUR"),) * 2
    assert seller_leg.account_version == 1

    post_transaction(db, release(seller_id, amount_minor=2_500), clock=clock)
    post_transaction(db, release(seller_id, amount_minor=1_500), clock=clock)

    assert balance_minor(db, pending) == 6_000
    assert balance_minor(db, available) == 4_000
    assert history(db, pending) == [
        ("debit", 1_500, 6_000, 3),
        ("debit", 2_500, 7_500, 2),
        ("credit", 10_000, 10_000, 1),
    ]
    assert history(db, available) == [("credit", 1_500, 4_000, 2), ("credit", 2_500, 2_500, 1)]
    (pending_balance,) = account_balances(db, pending)
    assert pending_balance.debits_posted == Money(4_000, "EUR")
    assert pending_balance.credits_posted == Money(10_000, "EUR")
    assert pending_balance.version == 3
    assert pending_balance.normal_side is Side.CREDIT
    assert pending_balance.debits_must_not_exceed_credits
    assert stored_totals(db, pending, "EUR") == entry_totals(db, pending, "EUR")


def test_asset_account_balance_is_read_on_its_debit_side(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    receivable = f"seller:{seller_id}:advance_receivable"
    bank = f"platform:bank:{seller_id[4:20]}"
    post_transaction(
        db,
        transfer(debit_account=receivable, credit_account=bank, amount_minor=50_000),
        clock=clock,
    )
    assert balance_minor(db, receivable) == 50_000
    assert balance_minor(db, bank) == -50_000


def test_transaction_is_stored_with_its_labels_and_read_back_as_posted(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    request = transfer(
        debit_account=f"seller:{seller_id}:available",
        credit_account="platform:revenue:payout_fees",
        amount_minor=35,
        kind="payout.fee",
        description="fee of payout po_1",
        references={"payout": "po_1"},
        metadata={"rule": "flat", "count": 1, "waived": False, "note": None},
        effective_at=datetime(2026, 1, 4, 23, 59, 59, 123456, tzinfo=UTC),
    )
    posted, _ = post_transaction(db, request, clock=clock)
    again = get_transaction(db, posted.id)
    assert again == posted
    assert again.idempotency_key == request.idempotency_key
    assert again.description == "fee of payout po_1"
    assert dict(again.references) == {"payout": "po_1"}
    assert dict(again.metadata) == {"rule": "flat", "count": 1, "waived": False, "note": None}
    assert again.effective_at == datetime(2026, 1, 4, 23, 59, 59, 123456, tzinfo=UTC)
    assert again.reverses_id is None


def test_unknown_transaction_is_not_found(db: Database) -> None:
    with pytest.raises(NotFound) as caught:
        get_transaction(db, uuid.uuid4())
    assert caught.value.code == "transaction_not_found"


def test_transaction_debiting_and_crediting_one_flagged_account_is_judged_on_its_net(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    pending = f"seller:{seller_id}:pending"
    post_transaction(db, order_paid(seller_id, amount_minor=100), clock=clock)
    request = TransactionRequest(
        idempotency_key=unique_key(),
        kind="pending.reshuffle",
        entries=(
            debit(pending, 300),
            credit(pending, 250),
            credit(f"seller:{seller_id}:available", 50),
        ),
    )
    post_transaction(db, request, clock=clock)
    assert balance_minor(db, pending) == 50
    assert history(db, pending) == [
        ("credit", 250, 50, 3),
        ("debit", 300, -200, 2),  # within the transaction only; the net never broke the flag
        ("credit", 100, 100, 1),
    ]


# --- idempotency ------------------------------------------------------------------------------


def test_order_paid_posted_twice_with_the_same_key_is_applied_once_and_replays_the_original(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    pending = f"seller:{seller_id}:pending"
    request = order_paid(seller_id, amount_minor=4_200)
    first, first_replayed = post_transaction(db, request, clock=clock)
    clock.advance(timedelta(minutes=5))
    second, second_replayed = post_transaction(db, request, clock=clock)
    assert (first_replayed, second_replayed) == (False, True)
    assert second == first  # the original stands, posted_at included
    assert balance_minor(db, pending) == 4_200
    assert len(history(db, pending)) == 1
    assert transaction_count_for_keys(db, [request.idempotency_key]) == {request.idempotency_key: 1}


def test_same_key_with_another_amount_is_a_conflict_and_changes_nothing(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    pending = f"seller:{seller_id}:pending"
    key = unique_key("order")
    original, _ = post_transaction(
        db, order_paid(seller_id, amount_minor=4_200, key=key), clock=clock
    )
    with pytest.raises(Conflict) as caught:
        post_transaction(db, order_paid(seller_id, amount_minor=4_300, key=key), clock=clock)
    assert caught.value.code == "idempotency_key_reused"
    assert caught.value.status == 409
    assert caught.value.context["transaction_id"] == str(original.id)
    assert balance_minor(db, pending) == 4_200
    assert len(history(db, pending)) == 1


def test_retry_giving_the_same_effective_moment_in_another_timezone_replays(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    """A retry from a client in Paris of a request first sent in UTC is the same request."""
    moment = datetime(2026, 1, 4, 18, 30, tzinfo=UTC)
    key = unique_key("order")
    request = transfer(
        debit_account="platform:psp_clearing",
        credit_account=f"seller:{seller_id}:pending",
        amount_minor=700,
        key=key,
        effective_at=moment,
    )
    first, _ = post_transaction(db, request, clock=clock)
    paris = timezone(timedelta(hours=1))
    retry = transfer(
        debit_account="platform:psp_clearing",
        credit_account=f"seller:{seller_id}:pending",
        amount_minor=700,
        key=key,
        effective_at=moment.astimezone(paris),
    )
    second, replayed = post_transaction(db, retry, clock=clock)
    assert replayed
    assert second.id == first.id


def test_rejected_transaction_stores_nothing_so_its_key_may_post_once_funds_arrive(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    key = unique_key("release")
    with pytest.raises(FlagViolation):
        post_transaction(db, release(seller_id, amount_minor=500, key=key), clock=clock)
    assert transaction_count_for_keys(db, [key]) == {key: 0}
    post_transaction(db, order_paid(seller_id, amount_minor=500), clock=clock)
    _, replayed = post_transaction(db, release(seller_id, amount_minor=500, key=key), clock=clock)
    assert not replayed
    assert balance_minor(db, f"seller:{seller_id}:available") == 500


# --- batches ----------------------------------------------------------------------------------


def test_batch_decides_each_transaction_against_the_balances_left_by_the_ones_before(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    pending, available = f"seller:{seller_id}:pending", f"seller:{seller_id}:available"
    batch = [
        release(seller_id, amount_minor=100),  # nothing pending yet: rejected
        order_paid(seller_id, amount_minor=1_000),
        release(seller_id, amount_minor=600),
        release(seller_id, amount_minor=600),  # only 400 left: rejected alone
        release(seller_id, amount_minor=400),  # exactly what is left
    ]
    results = post_many(db, batch, clock=clock)
    assert [r.status for r in results] == [
        PostStatus.REJECTED,
        PostStatus.POSTED,
        PostStatus.POSTED,
        PostStatus.REJECTED,
        PostStatus.POSTED,
    ]
    assert [r.idempotency_key for r in results] == [r.idempotency_key for r in batch]
    for rejected in (results[0], results[3]):
        assert isinstance(rejected.error, FlagViolation)
        assert rejected.error.code == "debits_must_not_exceed_credits"
        assert rejected.error.context == {"account": pending, "currency": "EUR"}
        assert rejected.transaction_id is None
    assert all(
        r.error is None and r.transaction_id for r in results if r.status is PostStatus.POSTED
    )
    assert balance_minor(db, pending) == 0
    assert balance_minor(db, available) == 1_000
    assert history(db, pending) == [
        ("debit", 400, 0, 3),
        ("debit", 600, 400, 2),
        ("credit", 1_000, 1_000, 1),
    ]
    assert transaction_count_for_keys(db, [r.idempotency_key for r in batch]) == {
        batch[0].idempotency_key: 0,
        batch[1].idempotency_key: 1,
        batch[2].idempotency_key: 1,
        batch[3].idempotency_key: 0,
        batch[4].idempotency_key: 1,
    }


def test_key_given_twice_in_one_batch_posts_once_and_the_repeat_replays(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    paid = order_paid(seller_id, amount_minor=300)
    changed = order_paid(seller_id, amount_minor=301, key=paid.idempotency_key)
    results = post_many(db, [paid, paid, changed], clock=clock)
    assert [r.status for r in results] == [
        PostStatus.POSTED,
        PostStatus.REPLAYED,
        PostStatus.REJECTED,
    ]
    assert results[1].transaction_id == results[0].transaction_id
    assert isinstance(results[2].error, Conflict)
    assert results[2].error.code == "idempotency_key_reused"
    assert balance_minor(db, f"seller:{seller_id}:pending") == 300
    assert post_many(db, [paid], clock=clock)[0].status is PostStatus.REPLAYED


def test_batch_with_one_account_outside_the_chart_is_refused_whole_with_nothing_stored(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    good = order_paid(seller_id, amount_minor=100)
    bad = transfer(
        debit_account="platform:psp_clearing",
        credit_account=f"seller:{seller_id}:wallet",
        amount_minor=100,
    )
    with pytest.raises(InvalidInput) as caught:
        post_many(db, [good, bad], clock=clock)
    assert caught.value.code == "account_not_in_chart"
    assert caught.value.context["index"] == 1
    assert transaction_count_for_keys(db, [good.idempotency_key]) == {good.idempotency_key: 0}
    assert (
        scalar(
            db,
            "SELECT COUNT(*) FROM ledger_accounts WHERE code LIKE :prefix",
            prefix=f"seller:{seller_id}:%",
        )
        == 0
    )
    with pytest.raises(NotFound):
        account_balances(db, f"seller:{seller_id}:pending")


def test_single_post_to_an_account_outside_the_chart_is_refused(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    request = transfer(
        debit_account="platform:petty_cash",
        credit_account=f"seller:{seller_id}:available",
        amount_minor=100,
    )
    with pytest.raises(InvalidInput) as caught:
        post_transaction(db, request, clock=clock)
    assert caught.value.code == "account_not_in_chart"
    assert transaction_count_for_keys(db, [request.idempotency_key]) == {request.idempotency_key: 0}


def test_empty_batch_posts_nothing(db: Database, clock: FixedClock) -> None:
    assert post_many(db, [], clock=clock) == []


def test_batch_larger_than_the_limit_is_refused(db: Database, clock: FixedClock) -> None:
    request = order_paid("sel_unused", amount_minor=1)
    with pytest.raises(LimitExceeded) as caught:
        post_many(db, [request] * (batch_size_max + 1), clock=clock)
    assert caught.value.code == "batch_size_max"


def test_posting_inside_the_callers_unit_of_work_is_undone_with_it(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    """A service that posts and writes its own rows either does both or neither."""
    request = order_paid(seller_id, amount_minor=900)

    class PayoutStepFailed(Exception):
        pass

    with pytest.raises(PayoutStepFailed), db.transaction() as conn:
        (result,) = post_many_in(conn, [request], now=clock.now())
        assert result.status is PostStatus.POSTED
        raise PayoutStepFailed
    assert transaction_count_for_keys(db, [request.idempotency_key]) == {request.idempotency_key: 0}

    with db.transaction() as conn:
        (result,) = post_many_in(conn, [request], now=clock.now())
    assert result.status is PostStatus.POSTED
    assert balance_minor(db, f"seller:{seller_id}:pending") == 900


# --- reversals --------------------------------------------------------------------------------


def test_reversal_posts_the_mirror_now_and_restores_the_balances(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    pending = f"seller:{seller_id}:pending"
    post_transaction(db, order_paid(seller_id, amount_minor=1_000), clock=clock)
    backdated = transfer(
        debit_account=pending,
        credit_account=f"seller:{seller_id}:available",
        amount_minor=250,
        effective_at=clock.now() - timedelta(days=1),
    )
    original, _ = post_transaction(db, backdated, clock=clock)
    clock.advance(timedelta(hours=2))

    reversal, replayed = reverse_transaction(db, original.id, clock=clock)

    assert not replayed
    assert reversal.reverses_id == original.id
    assert reversal.kind == "reversal"
    assert dict(reversal.references) == {"reverses": str(original.id)}
    assert reversal.idempotency_key == f"reversal:{original.id}"
    assert reversal.effective_at == clock.now()  # a correction happens now
    assert get_transaction(db, original.id).effective_at == backdated.effective_at
    assert [(e.account, e.side, e.amount) for e in reversal.entries] == [
        (pending, Side.CREDIT, Money(250, "EUR")),
        (f"seller:{seller_id}:available", Side.DEBIT, Money(250, "EUR")),
    ]
    assert balance_minor(db, pending) == 1_000
    assert balance_minor(db, f"seller:{seller_id}:available") == 0


def test_reversing_again_with_the_same_key_replays_and_with_another_key_conflicts(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    original, _ = post_transaction(db, order_paid(seller_id, amount_minor=800), clock=clock)
    key = unique_key("reversal")
    reversal, _ = reverse_transaction(db, original.id, clock=clock, idempotency_key=key)
    clock.advance(timedelta(minutes=1))

    again, replayed = reverse_transaction(db, original.id, clock=clock, idempotency_key=key)
    assert replayed
    assert again == reversal

    with pytest.raises(Conflict) as caught:
        reverse_transaction(db, original.id, clock=clock, idempotency_key=unique_key("reversal"))
    assert caught.value.code == "already_reversed"
    assert caught.value.context["reversal_id"] == str(reversal.id)
    with pytest.raises(Conflict) as default_key:
        reverse_transaction(db, original.id, clock=clock)
    assert default_key.value.code == "already_reversed"
    assert balance_minor(db, f"seller:{seller_id}:pending") == 0
    assert len(history(db, f"seller:{seller_id}:pending")) == 2


def test_reversal_that_would_overdraw_a_pending_account_is_rejected_and_stores_nothing(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    pending = f"seller:{seller_id}:pending"
    paid, _ = post_transaction(db, order_paid(seller_id, amount_minor=1_000), clock=clock)
    released, _ = post_transaction(db, release(seller_id, amount_minor=700), clock=clock)

    with pytest.raises(FlagViolation) as caught:
        reverse_transaction(db, paid.id, clock=clock)
    assert caught.value.code == "debits_must_not_exceed_credits"
    assert caught.value.context["account"] == pending
    assert balance_minor(db, pending) == 300
    assert transaction_count_for_keys(db, [f"reversal:{paid.id}"]) == {f"reversal:{paid.id}": 0}

    reverse_transaction(db, released.id, clock=clock)  # give the released funds back first
    reverse_transaction(db, paid.id, clock=clock)
    assert balance_minor(db, pending) == 0


def test_reversal_key_already_used_for_another_transaction_is_a_conflict(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    other = order_paid(seller_id, amount_minor=10)
    post_transaction(db, other, clock=clock)
    target, _ = post_transaction(db, order_paid(seller_id, amount_minor=20), clock=clock)
    with pytest.raises(Conflict) as caught:
        reverse_transaction(db, target.id, clock=clock, idempotency_key=other.idempotency_key)
    assert caught.value.code == "idempotency_key_reused"
    assert balance_minor(db, f"seller:{seller_id}:pending") == 30


def test_reversal_can_itself_be_reversed_once(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    paid, _ = post_transaction(db, order_paid(seller_id, amount_minor=60), clock=clock)
    reversal, _ = reverse_transaction(db, paid.id, clock=clock)
    restored, _ = reverse_transaction(db, reversal.id, clock=clock)
    assert restored.reverses_id == reversal.id
    assert balance_minor(db, f"seller:{seller_id}:pending") == 60


def test_reversing_an_unknown_transaction_is_not_found(db: Database, clock: FixedClock) -> None:
    with pytest.raises(NotFound) as caught:
        reverse_transaction(db, uuid.uuid4(), clock=clock)
    assert caught.value.code == "transaction_not_found"


# --- balances as of a moment ------------------------------------------------------------------


def test_balance_as_of_a_moment_counts_a_backdated_entry_posted_later(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    pending = f"seller:{seller_id}:pending"

    def jan(day: int) -> datetime:
        return datetime(2026, 1, day, 9, tzinfo=UTC)

    clock.set(jan(5))
    post_transaction(db, order_paid(seller_id, amount_minor=10_000), clock=clock)
    clock.set(jan(10))
    post_transaction(
        db,
        transfer(
            debit_account="platform:psp_clearing",
            credit_account=pending,
            amount_minor=500,
            effective_at=jan(3),  # an order from the 3rd, learnt of on the 10th
        ),
        clock=clock,
    )
    post_transaction(
        db,
        transfer(
            debit_account=pending,
            credit_account=f"seller:{seller_id}:available",
            amount_minor=2_000,
            effective_at=jan(8),
        ),
        clock=clock,
    )

    def as_of(moment: datetime) -> tuple[int, int, int, int]:
        (balance,) = account_balances(db, pending, as_of=moment)
        assert balance.as_of == moment
        amounts = (balance.balance, balance.debits_posted, balance.credits_posted)
        assert all(type(m.amount_minor) is int for m in amounts)
        balance_minor, debits_minor, credits_minor = (m.amount_minor for m in amounts)
        return balance_minor, debits_minor, credits_minor, balance.version

    assert as_of(jan(2)) == (0, 0, 0, 0)
    assert as_of(jan(3)) == (500, 0, 500, 1)  # an entry effective at the very moment counts
    assert as_of(jan(4)) == (500, 0, 500, 1)
    assert as_of(jan(5)) == (10_500, 0, 10_500, 2)
    assert as_of(jan(9)) == (8_500, 2_000, 10_500, 3)
    assert as_of(jan(9).astimezone(timezone(timedelta(hours=-5)))) == (8_500, 2_000, 10_500, 3)
    assert balance_minor(db, pending) == 8_500


# --- reading ----------------------------------------------------------------------------------


def test_history_pages_through_every_entry_newest_first_without_gaps_or_repeats(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    pending = f"seller:{seller_id}:pending"
    amounts = [100, 200, 300, 400, 500, 600, 700]
    post_many(db, [order_paid(seller_id, amount_minor=a) for a in amounts], clock=clock)

    pages = []
    before: int | None = None
    while True:
        page = account_history(db, pending, before_version=before, limit=3)
        pages.append(
            [(line.amount.amount_minor, line.balance_after.amount_minor) for line in page.lines]
        )
        if page.next_before_version is None:
            break
        assert page.next_before_version == page.lines[-1].account_version
        before = page.next_before_version
    assert pages == [
        [(700, 2_800), (600, 2_100), (500, 1_500)],
        [(400, 1_000), (300, 600), (200, 300)],
        [(100, 100)],
    ]


def test_history_page_that_ends_exactly_at_the_oldest_entry_says_there_is_no_more(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    pending = f"seller:{seller_id}:pending"
    post_many(db, [order_paid(seller_id, amount_minor=a) for a in (1, 2, 3)], clock=clock)
    page = account_history(db, pending, limit=3)
    assert len(page.lines) == 3
    assert page.next_before_version is None


@pytest.mark.parametrize("limit", [0, -1, page_size_max + 1])
def test_history_page_size_outside_the_limits_is_refused(
    db: Database, clock: FixedClock, seller_id: str, limit: int
) -> None:
    post_transaction(db, order_paid(seller_id, amount_minor=1), clock=clock)
    with pytest.raises(InvalidInput) as caught:
        account_history(db, f"seller:{seller_id}:pending", limit=limit)
    assert caught.value.code == "invalid_limit"


def test_balances_and_history_of_an_account_never_used_are_not_found(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    with pytest.raises(NotFound) as caught:
        account_balances(db, f"seller:{seller_id}:available")
    assert caught.value.code == "account_not_found"
    with pytest.raises(NotFound):
        account_history(db, f"seller:{seller_id}:available")
    post_transaction(db, order_paid(seller_id, amount_minor=5), clock=clock)
    with pytest.raises(NotFound):
        account_balances(db, f"seller:{seller_id}:pending", currency="JPY")
    with pytest.raises(NotFound):
        account_history(db, f"seller:{seller_id}:pending", currency="JPY")


def test_account_holding_two_currencies_needs_the_currency_for_its_history(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    pending = f"seller:{seller_id}:pending"
    post_many(
        db,
        [
            order_paid(seller_id, amount_minor=1_250, currency="EUR"),
            order_paid(seller_id, amount_minor=1_600, currency="JPY"),
        ],
        clock=clock,
    )
    with pytest.raises(InvalidInput) as caught:
        account_history(db, pending)
    assert caught.value.code == "currency_required"
    assert history(db, pending, "JPY") == [("credit", 1_600, 1_600, 1)]
    balances = account_balances(db, pending)
    assert [(b.currency, b.balance) for b in balances] == [
        ("EUR", Money(1_250, "EUR")),
        ("JPY", Money(1_600, "JPY")),
    ]


def test_stored_totals_equal_the_sum_of_entries_after_mixed_posts_and_reversals(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    posted = post_many(
        db,
        [order_paid(seller_id, amount_minor=a) for a in (10, 20, 30)]
        + [release(seller_id, amount_minor=25)],
        clock=clock,
    )
    assert posted[0].transaction_id is not None
    reverse_transaction(db, posted[0].transaction_id, clock=clock)
    for code in (f"seller:{seller_id}:pending", f"seller:{seller_id}:available"):
        assert stored_totals(db, code, "EUR") == entry_totals(db, code, "EUR")


def test_account_row_is_opened_with_the_charts_flags(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    post_transaction(db, order_paid(seller_id, amount_minor=5), clock=clock)
    with db.reading() as conn:
        row = conn.execute(
            text(
                "SELECT kind, normal_side, debits_must_not_exceed_credits,"
                " credits_must_not_exceed_debits FROM ledger_accounts WHERE code = :code"
            ),
            {"code": f"seller:{seller_id}:pending"},
        ).one()
    assert (row[0], row[1], bool(row[2]), bool(row[3])) == ("liability", "credit", True, False)


def test_credit_that_would_overflow_an_accounts_totals_is_refused_with_a_typed_error(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    """Two of the largest amounts Money allows cannot be totalled in a BIGINT column."""

    def huge_order() -> TransactionRequest:
        return transfer(
            debit_account=f"platform:bank:{seller_id[4:20]}",  # not the shared psp_clearing
            credit_account=f"seller:{seller_id}:pending",
            amount_minor=2**62,
        )

    post_transaction(db, huge_order(), clock=clock)
    overflowing = huge_order()
    with pytest.raises(SellerpayError):
        post_transaction(db, overflowing, clock=clock)
    assert transaction_count_for_keys(db, [overflowing.idempotency_key]) == {
        overflowing.idempotency_key: 0
    }
