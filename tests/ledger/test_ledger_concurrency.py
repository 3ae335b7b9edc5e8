"""Several OS processes post to the same accounts with the same idempotency keys at once.

Each process opens its own `Database` on one fresh database and runs a seeded plan: shared
orders paid (the same key and body in every process: one effect, the others replay), releases
that may overdraw a flagged `pending` account, payouts, small batches, and reversals of the same
transaction raced by every process. Each returns what it saw; afterwards the ledger must verify,
flagged accounts must never have gone negative, every key must be stored once, balances must
equal a recomputation from the successful posts, and no database error may have leaked out of
the service (deadlocks, serialization failures and lost races are retried inside it).
"""

from __future__ import annotations

import multiprocessing
import random
import threading
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

import pytest
from ledger_builders import DatabaseFactory, transaction_count_for_keys, transfer
from sqlalchemy import text

from sellerpay.clock import SystemClock
from sellerpay.db import Database
from sellerpay.errors import Conflict
from sellerpay.ledger.rules import FlagViolation, TransactionRequest
from sellerpay.ledger.service import (
    PostResult,
    PostStatus,
    account_balances,
    post_many,
    post_transaction,
    reverse_transaction,
    verify_ledger,
)

if TYPE_CHECKING:
    from multiprocessing.synchronize import Barrier


SELLERS = ("sel_anna", "sel_bruno", "sel_chiara")
BANK = "platform:bank:main"
SHARED_ORDERS = 24  # keys every process posts, with the same body
RACED_REVERSALS = range(0, SHARED_ORDERS, 4)  # shared orders every process tries to reverse
Entry = tuple[str, str, str, int]  # (account, currency, side, amount_minor)


@dataclass(frozen=True, slots=True)
class Seen:
    """One outcome as a worker saw it."""

    worker: int
    operation: str
    key: str
    status: str  # posted, replayed, rejected, error
    transaction_id: str | None
    code: str | None  # the error's code, or the error's text when status is "error"
    entries: tuple[Entry, ...]
    reverses: str | None = None  # for a reversal: the key of the shared order it reverses


def shared_order(index: int) -> TransactionRequest:
    """Order `index`, paid in every process with this same key and body.

    Orders whose reversal is raced go to a seller whose pending funds are never released, so
    exactly one reversal of each must succeed.
    """
    seller = "sel_dora" if index in RACED_REVERSALS else SELLERS[index % len(SELLERS)]
    return transfer(
        debit_account=BANK,
        credit_account=f"seller:{seller}:pending",
        amount_minor=1_000 + 37 * index,
        key=f"order:{index}",
        kind="order.paid",
    )


def entries_of(request: TransactionRequest) -> tuple[Entry, ...]:
    return tuple(
        (e.account, e.amount.currency, e.side.value, e.amount.amount_minor) for e in request.entries
    )


def hammer(url: str, worker: int, operations: int, barrier: Barrier, results: Any) -> None:
    """A worker process: wait for the others, run a seeded plan, put what it saw on `results`."""
    seen: list[Seen] = []
    try:
        db = Database(url, pool_size=2)
        clock = SystemClock()
        rng = random.Random(worker)
        order_ids: dict[int, str] = {}
        orders = list(range(SHARED_ORDERS))
        rng.shuffle(orders)
        barrier.wait(timeout=120)

        for step in range(operations):
            choice = rng.random()
            seller = rng.choice(SELLERS)
            try:
                if orders and choice < 0.35:
                    index = orders.pop()
                    request = shared_order(index)
                    outcome = post_one(db, clock, worker, "order", request)
                    assert outcome.transaction_id is not None, outcome  # orders are never refused
                    order_ids[index] = outcome.transaction_id
                    seen.append(outcome)
                elif choice < 0.6:
                    request = transfer(
                        debit_account=f"seller:{seller}:pending",
                        credit_account=f"seller:{seller}:available",
                        amount_minor=rng.randint(200, 1_500),
                        key=f"release:{worker}:{step}",
                        kind="funds.released",
                    )
                    seen.append(post_one(db, clock, worker, "release", request))
                elif choice < 0.75:
                    request = transfer(
                        debit_account=f"seller:{seller}:available",
                        credit_account="platform:payouts_in_transit",
                        amount_minor=rng.randint(100, 800),
                        key=f"payout:{worker}:{step}",
                        kind="payout.sent",
                    )
                    seen.append(post_one(db, clock, worker, "payout", request))
                elif choice < 0.9:
                    batch = [
                        transfer(
                            debit_account=f"seller:{s}:pending",
                            credit_account=f"seller:{s}:available",
                            amount_minor=rng.randint(100, 900),
                            key=f"batch-release:{worker}:{step}:{n}",
                            kind="funds.released",
                        )
                        for n, s in enumerate(rng.sample(SELLERS, 2))
                    ]
                    batch.insert(1, shared_order(rng.randrange(SHARED_ORDERS)))
                    batch.append(batch[0])  # the same key twice inside the batch
                    for request, result in zip(
                        batch, post_many(db, batch, clock=clock), strict=True
                    ):
                        seen.append(from_result(worker, "batch", request, result))
                else:
                    targets = [i for i in RACED_REVERSALS if i in order_ids]
                    if targets:
                        index = rng.choice(targets)
                        seen.append(reverse_one(db, clock, worker, step, index, order_ids[index]))
            except Exception as error:
                seen.append(
                    Seen(
                        worker,
                        "crash",
                        "",
                        "error",
                        None,
                        "".join(traceback.format_exception(error))[-2_000:],
                        (),
                    )
                )
        # every worker ends by racing the reversals it has not tried yet
        for index in RACED_REVERSALS:
            if index not in order_ids:
                outcome = post_one(db, clock, worker, "order", shared_order(index))
                assert outcome.transaction_id is not None, outcome
                order_ids[index] = outcome.transaction_id
                seen.append(outcome)
            seen.append(reverse_one(db, clock, worker, operations, index, order_ids[index]))
        db.dispose()
    except Exception as error:
        seen.append(
            Seen(
                worker,
                "crash",
                "",
                "error",
                None,
                "".join(traceback.format_exception(error))[-2_000:],
                (),
            )
        )
    results.put(seen)


def from_result(
    worker: int, operation: str, request: TransactionRequest, result: PostResult
) -> Seen:
    return Seen(
        worker,
        operation,
        request.idempotency_key,
        result.status.value,
        None if result.transaction_id is None else str(result.transaction_id),
        None if result.error is None else result.error.code,
        entries_of(request),
    )


def post_one(
    db: Database, clock: SystemClock, worker: int, operation: str, request: TransactionRequest
) -> Seen:
    try:
        transaction, replayed = post_transaction(db, request, clock=clock)
    except (FlagViolation, Conflict) as error:
        return Seen(worker, operation, request.idempotency_key, "rejected", None, error.code, ())
    status = "replayed" if replayed else "posted"
    return Seen(
        worker,
        operation,
        request.idempotency_key,
        status,
        str(transaction.id),
        None,
        entries_of(request),
    )


def reverse_one(
    db: Database, clock: SystemClock, worker: int, step: int, index: int, order_id: str
) -> Seen:
    key = f"reversal:{worker}:{step}:{index}"
    try:
        reversal, replayed = reverse_transaction(
            db, UUID(order_id), clock=clock, idempotency_key=key
        )
    except (FlagViolation, Conflict) as error:
        return Seen(worker, "reversal", key, "rejected", None, error.code, (), f"order:{index}")
    entries = tuple(
        (e.account, e.amount.currency, e.side.value, e.amount.amount_minor)
        for e in reversal.entries
    )
    return Seen(
        worker,
        "reversal",
        key,
        "replayed" if replayed else "posted",
        str(reversal.id),
        None,
        entries,
        f"order:{index}",
    )


def run_workers(url: str, workers: int, operations: int) -> list[Seen]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(workers)
    results = context.Queue()
    processes = [
        context.Process(target=hammer, args=(url, n, operations, barrier, results))
        for n in range(workers)
    ]
    for process in processes:
        process.start()
    seen: list[Seen] = []
    try:
        for _ in processes:
            seen.extend(results.get(timeout=240))
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    assert all(process.exitcode == 0 for process in processes)
    return seen


def check_ledger_after_the_race(db: Database, seen: list[Seen]) -> Counter[str]:
    """Every invariant that must hold whatever the interleaving was."""
    errors = [s.code for s in seen if s.status == "error"]
    assert errors == [], "\n\n".join(str(e) for e in errors)

    by_key: dict[str, list[Seen]] = defaultdict(list)
    for s in seen:
        by_key[s.key].append(s)
    for key, outcomes in by_key.items():
        posted = {s.transaction_id for s in outcomes if s.status == "posted"}
        replayed = {s.transaction_id for s in outcomes if s.status == "replayed"}
        assert len(posted) <= 1, f"{key} posted {len(posted)} times"
        assert replayed <= posted, key
    counts = transaction_count_for_keys(db, by_key)
    for key, outcomes in by_key.items():
        stored = {s.transaction_id for s in outcomes if s.status in ("posted", "replayed")}
        assert counts[key] == len(stored) <= 1, (key, counts[key], outcomes)
        if key.startswith("order:"):  # an order is never refused: one effect, however many posts
            assert counts[key] == 1, key

    reversals_per_order = Counter(
        s.reverses for s in seen if s.operation == "reversal" and s.status == "posted"
    )
    assert all(n == 1 for n in reversals_per_order.values()), reversals_per_order

    expected: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    effects: dict[str, tuple[Entry, ...]] = {}
    for s in seen:
        if s.status == "posted":
            assert s.transaction_id is not None
            effects[s.transaction_id] = s.entries
    for entries in effects.values():
        for account, currency, side, amount in entries:
            expected[(account, currency)][side == "credit"] += amount
    for (account, currency), (debits, credits) in expected.items():
        (balance,) = account_balances(db, account, currency=currency)
        assert (balance.debits_posted.amount_minor, balance.credits_posted.amount_minor) == (
            debits,
            credits,
        ), account

    with db.reading() as conn:
        overdrawn = conn.execute(
            text(
                "SELECT a.code, e.account_version, e.balance_after FROM ledger_entries e"
                " JOIN ledger_accounts a ON a.id = e.account_id"
                " WHERE a.debits_must_not_exceed_credits AND e.balance_after < 0"
            )
        ).all()
    assert overdrawn == []
    report = verify_ledger(db)
    assert report.ok, report.breaches
    assert report.transactions == len(effects)

    outcome = Counter(f"{s.operation} {s.status} {s.code or ''}".strip() for s in seen)
    return outcome


@pytest.mark.postgresql
@pytest.mark.slow
def test_processes_racing_on_shared_accounts_and_keys_keep_every_invariant_on_postgresql(
    database_factory: DatabaseFactory,
) -> None:
    db = database_factory.create("postgresql")
    seen = run_workers(db.url, workers=4, operations=100)
    outcome = check_ledger_after_the_race(db, seen)
    # the race really happened: keys were replayed across processes, flags refused overdrafts,
    # and reversals of one order collided
    assert outcome["order replayed"] > 0
    assert outcome["release rejected debits_must_not_exceed_credits"] > 0
    assert outcome["reversal posted"] == len(RACED_REVERSALS)
    assert outcome["reversal rejected already_reversed"] > 0
    assert outcome["batch replayed"] > 0


@pytest.mark.slow
def test_processes_writing_one_sqlite_file_queue_on_its_lock_instead_of_failing(
    database_factory: DatabaseFactory,
) -> None:
    db = database_factory.create("sqlite")
    seen = run_workers(db.url, workers=3, operations=40)
    outcome = check_ledger_after_the_race(db, seen)
    assert outcome["order replayed"] > 0
    assert outcome["reversal posted"] == len(RACED_REVERSALS)


# --- targeted races: many writers released at the same instant, round after round -------------


def race(db: Database, writers: int, attempt: Any) -> Counter[str]:
    """Run `attempt(n)` in `writers` threads released together; count what each one got."""
    barrier = threading.Barrier(writers)
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def writer(n: int) -> None:
        barrier.wait(timeout=60)
        try:
            outcome = attempt(n)
        except (FlagViolation, Conflict) as error:
            outcome = f"{type(error).__name__} {error.code}"
        except Exception as error:  # everything else leaked out of the service
            outcome = f"LEAKED {type(error).__module__}.{type(error).__name__}"
        with lock:
            seen[outcome] += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return seen


@pytest.mark.postgresql
def test_one_order_reversed_by_several_writers_at_once_is_reversed_once_the_others_told_why(
    database_factory: DatabaseFactory,
) -> None:
    """Half the orders go to a seller with plenty pending, half to one with only that order:
    either way the losers must hear `already_reversed`, not a flag or a database error."""
    db = database_factory.create("postgresql")
    clock = SystemClock()
    post_transaction(
        db,
        transfer(debit_account=BANK, credit_account="seller:sel_rich:pending", amount_minor=10**9),
        clock=clock,
    )
    seen: Counter[str] = Counter()
    for round_ in range(12):
        seller = "sel_rich" if round_ % 2 else f"sel_new{round_}"
        order = transfer(
            debit_account=BANK, credit_account=f"seller:{seller}:pending", amount_minor=500
        )
        paid, _ = post_transaction(db, order, clock=clock)

        def reverse(n: int, paid_id: UUID = paid.id, round_: int = round_) -> str:
            _, replayed = reverse_transaction(
                db, paid_id, clock=clock, idempotency_key=f"reversal:{round_}:{n}"
            )
            return "replayed" if replayed else "posted"

        seen += race(db, 5, reverse)
    assert seen == {"posted": 12, "Conflict already_reversed": 48}
    assert verify_ledger(db).ok


@pytest.mark.postgresql
def contested_order(n: int, round_: int) -> TransactionRequest:
    """Writer `n`'s body for the key of `round_`: its own accounts, so no lock orders writers."""
    return transfer(
        debit_account=f"platform:bank:b{n}",
        credit_account=f"seller:sel_s{n}:pending",
        amount_minor=100 + n,
        key=f"order:{round_}",
    )


@pytest.mark.postgresql
def test_one_key_posted_at_once_with_different_bodies_on_separate_accounts_posts_one_body(
    database_factory: DatabaseFactory,
) -> None:
    """The writers meet only on the unique key; the losers' retry must say the key is taken."""
    db = database_factory.create("postgresql")
    clock = SystemClock()
    seen: Counter[str] = Counter()
    for round_ in range(12):

        def post(n: int, round_: int = round_) -> str:
            _, replayed = post_transaction(db, contested_order(n, round_), clock=clock)
            return "replayed" if replayed else "posted"

        seen += race(db, 5, post)
    assert seen == {"posted": 12, "Conflict idempotency_key_reused": 48}
    assert verify_ledger(db).ok


@pytest.mark.postgresql
def test_one_key_raced_inside_large_batches_posts_once_and_the_rest_of_each_batch_posts(
    database_factory: DatabaseFactory,
) -> None:
    """Large batches take the bulk (COPY) path; a lost race there must be retried too."""
    db = database_factory.create("postgresql")
    clock = SystemClock()
    seen: Counter[str] = Counter()
    for round_ in range(8):

        def post_batch(n: int, round_: int = round_) -> str:
            fillers = [
                transfer(
                    debit_account=f"platform:bank:b{n}",
                    credit_account=f"seller:sel_s{n}:available",
                    amount_minor=1 + i,
                )
                for i in range(12)
            ]
            results = post_many(db, [*fillers, contested_order(n, round_)], clock=clock)
            assert all(r.status is PostStatus.POSTED for r in results[:-1])
            contested = results[-1]
            return f"{contested.status.value} {contested.error.code if contested.error else ''}"

        seen += race(db, 4, post_batch)
    assert seen == {"posted ": 8, "rejected idempotency_key_reused": 24}
    report = verify_ledger(db)
    assert report.ok
    assert report.transactions == 8 * 4 * 12 + 8
