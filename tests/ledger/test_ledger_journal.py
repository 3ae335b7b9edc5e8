"""The journal guards itself: the database refuses changes to entries and transactions and
non-positive amounts, and `verify_ledger` finds every kind of tampering done behind its back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from uuid import UUID

import pytest
from ledger_builders import credit, debit, order_paid, release, stored_totals, unique_key
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.ledger.rules import TransactionRequest
from sellerpay.ledger.service import (
    Transaction,
    VerifyReport,
    post_transaction,
    verify_ledger,
)

JOURNAL_CHANGES = [
    pytest.param("UPDATE ledger_entries SET amount_minor = amount_minor + 1", id="update-entry"),
    pytest.param("UPDATE ledger_entries SET balance_after = 0", id="update-balance-after"),
    pytest.param("DELETE FROM ledger_entries", id="delete-entry"),
    pytest.param("UPDATE ledger_transactions SET kind = 'forged'", id="update-transaction"),
    pytest.param("DELETE FROM ledger_transactions", id="delete-transaction"),
]


def posted(db: Database, clock: FixedClock, request: TransactionRequest) -> Transaction:
    transaction, _ = post_transaction(db, request, clock=clock)
    return transaction


def journal_row(db: Database, transaction_id: UUID) -> tuple[object, ...]:
    with db.reading() as conn:
        row = conn.execute(
            text(
                "SELECT t.kind, e.leg, e.amount_minor, e.balance_after FROM ledger_transactions t"
                " JOIN ledger_entries e ON e.transaction_id = t.id"
                " WHERE t.id = :id ORDER BY e.leg LIMIT 1"
            ),
            {"id": transaction_id.hex if db.dialect == "sqlite" else transaction_id},
        ).one()
    return tuple(row)


@contextmanager
def rolled_back(db: Database) -> Iterator[Connection]:
    """A unit of work that is always rolled back: to show a raw write is possible at all."""
    with db.engine.connect() as conn:
        outer = conn.begin()
        try:
            yield conn
        finally:
            outer.rollback()


def id_param(db: Database, transaction_id: UUID) -> object:
    """How a UUID is compared in raw SQL: SQLite stores it as 32 hex characters."""
    return transaction_id.hex if db.dialect == "sqlite" else transaction_id


# --- append-only ------------------------------------------------------------------------------


@pytest.mark.parametrize("statement", JOURNAL_CHANGES)
def test_database_refuses_to_change_or_remove_posted_journal_rows(
    db: Database, clock: FixedClock, seller_id: str, statement: str
) -> None:
    transaction = posted(db, clock, order_paid(seller_id, amount_minor=1_000))
    table = "ledger_entries" if "ledger_entries" in statement else "ledger_transactions"
    column = "transaction_id" if table == "ledger_entries" else "id"
    before = journal_row(db, transaction.id)

    with pytest.raises(DBAPIError) as caught, db.transaction() as conn:
        conn.execute(
            text(f"{statement} WHERE {column} = :id"), {"id": id_param(db, transaction.id)}
        )
    assert "append-only" in str(caught.value.orig)
    assert journal_row(db, transaction.id) == before


def test_database_refuses_to_empty_the_journal_wholesale(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    """TRUNCATE on PostgreSQL; on SQLite a DELETE without WHERE (its truncate optimisation)."""
    transaction = posted(db, clock, order_paid(seller_id, amount_minor=1_000))
    for table in ("ledger_entries", "ledger_transactions"):
        statement = (
            f"TRUNCATE {table} CASCADE" if db.dialect == "postgresql" else f"DELETE FROM {table}"
        )
        with pytest.raises(DBAPIError) as caught, db.transaction() as conn:
            conn.execute(text(statement))
        assert "append-only" in str(caught.value.orig)
    assert journal_row(db, transaction.id)[0] == "order.paid"


def insert_entry(conn: Connection, db: Database, transaction: Transaction, **values: object) -> int:
    """A raw entry added to a posted transaction on the first leg's account."""
    row = {
        "transaction_id": id_param(db, transaction.id),
        "leg": 99,
        "side": "debit",
        "amount_minor": 1,
        "currency": "EUR",
        "account_version": 10_000,
        "balance_after": 0,
        "effective_at": "2026-01-05 09:00:00"
        if db.dialect == "sqlite"
        else transaction.effective_at,
        **values,
    }
    return conn.execute(
        text(
            "INSERT INTO ledger_entries (transaction_id, leg, account_id, side, amount_minor,"
            " currency, account_version, balance_after, effective_at)"
            " SELECT :transaction_id, :leg, e.account_id, :side, :amount_minor, :currency,"
            " :account_version, :balance_after, :effective_at FROM ledger_entries e"
            " WHERE e.transaction_id = :transaction_id AND e.leg = 0"
        ),
        row,
    ).rowcount


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({"amount_minor": 0}, id="zero-amount"),
        pytest.param({"amount_minor": -500}, id="negative-amount"),
        pytest.param({"side": "both"}, id="unknown-side"),
        pytest.param({"account_version": 0}, id="version-zero"),
    ],
)
def test_database_check_constraints_refuse_malformed_entries_inserted_raw(
    db: Database, clock: FixedClock, seller_id: str, values: dict[str, object]
) -> None:
    transaction = posted(db, clock, order_paid(seller_id, amount_minor=1_000))
    with rolled_back(db) as conn:  # the well-formed raw insert works: the CHECK is what refuses
        assert insert_entry(conn, db, transaction) == 1
    with pytest.raises(IntegrityError), db.transaction() as conn:
        insert_entry(conn, db, transaction, **values)


def test_database_refuses_stored_totals_that_overdraw_a_flagged_account(
    db: Database, clock: FixedClock, seller_id: str
) -> None:
    """The CHECK constraint is the last line behind `debits_must_not_exceed_credits`."""
    pending = f"seller:{seller_id}:pending"
    posted(db, clock, order_paid(seller_id, amount_minor=1_000))
    with pytest.raises(IntegrityError), db.transaction() as conn:
        conn.execute(
            text("UPDATE ledger_accounts SET debits_posted = 1001 WHERE code = :code"),
            {"code": pending},
        )
    with rolled_back(db) as conn:  # up to the credits is allowed: only the flag refuses
        conn.execute(
            text("UPDATE ledger_accounts SET debits_posted = 1000 WHERE code = :code"),
            {"code": pending},
        )
    assert stored_totals(db, pending, "EUR") == (0, 1_000, 1)


# --- verify_ledger on a healthy ledger ---------------------------------------------------------


def test_empty_ledger_verifies_with_nothing_counted(fresh_db: Database) -> None:
    report = verify_ledger(fresh_db)
    assert report.ok
    assert (report.transactions, report.entries, report.accounts) == (0, 0, 0)
    assert report.trial_balance == {}


def post_scenario(db: Database, clock: FixedClock) -> dict[str, Transaction]:
    """Two sellers, two currencies: 4 transactions, 9 entries, 8 accounts."""
    return {
        "paid_eur": posted(
            db,
            clock,
            TransactionRequest(
                idempotency_key=unique_key("order"),
                kind="order.paid",
                entries=(
                    debit("platform:psp_clearing", 10_000),
                    credit("seller:sel_a:pending", 8_800),
                    credit("platform:revenue:commission", 1_200),
                ),
            ),
        ),
        "paid_jpy": posted(db, clock, order_paid("sel_b", amount_minor=5_000, currency="JPY")),
        "released": posted(db, clock, release("sel_a", amount_minor=3_000)),
        "refund": posted(
            db,
            clock,
            TransactionRequest(
                idempotency_key=unique_key("refund"),
                kind="refund.owed",
                entries=(
                    debit("seller:sel_b:available", 700, "JPY"),
                    credit("platform:refunds_payable", 700, "JPY"),
                ),
            ),
        ),
    }


def test_healthy_ledger_verifies_with_exact_counts_and_a_trial_balance_that_balances(
    fresh_db: Database, clock: FixedClock
) -> None:
    post_scenario(fresh_db, clock)
    checks_run: list[str] = []
    report = verify_ledger(fresh_db, on_check=checks_run.append)
    assert report.breaches == ()
    assert report.ok
    assert (report.transactions, report.entries, report.accounts) == (4, 9, 8)
    assert report.trial_balance == {"EUR": (13_000, 13_000), "JPY": (5_700, 5_700)}
    assert len(checks_run) == 6


# --- verify_ledger finds tampering -------------------------------------------------------------


@contextmanager
def tampering(db: Database) -> Iterator[Connection]:
    """A unit of work with the append-only guards off, as a superuser or a file owner could."""
    with db.transaction() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            names = conn.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            ).scalars()
            for name in list(names):
                conn.execute(text(f'DROP TRIGGER "{name}"'))
        yield conn


def breaches_by_check(report: VerifyReport) -> dict[str, list[str]]:
    """Breach subjects by check, transaction ids spelt as `str(UUID)` on both backends."""
    found: dict[str, list[str]] = {}
    for breach in report.breaches:
        first, _, rest = breach.subject.partition(" ")
        with suppress(ValueError):  # SQLite spells a UUID as 32 hex digits, PostgreSQL with dashes
            first = str(UUID(first))
        found.setdefault(breach.check, []).append(f"{first} {rest}" if rest else first)
    return found


def test_altered_entry_amount_is_found_in_its_transaction_account_running_balance_and_trial(
    fresh_db: Database, clock: FixedClock
) -> None:
    scenario = post_scenario(fresh_db, clock)
    paid = scenario["paid_eur"]
    with tampering(fresh_db) as conn:
        conn.execute(
            text(
                "UPDATE ledger_entries SET amount_minor = amount_minor + 1"
                " WHERE transaction_id = :id AND leg = 1"
            ),
            {"id": id_param(fresh_db, paid.id)},
        )
    report = verify_ledger(fresh_db)
    assert not report.ok
    found = breaches_by_check(report)
    assert set(found) == {
        "transaction_balances",
        "balance_equals_entries",
        "running_balance",
        "trial_balance",
    }
    assert found["transaction_balances"] == [f"{paid.id} EUR"]
    assert found["balance_equals_entries"] == ["seller:sel_a:pending EUR stored"]
    assert found["trial_balance"] == ["EUR"]
    assert report.trial_balance["EUR"] == (13_000, 13_001)


def test_deleted_entry_is_found_in_its_transaction_and_its_account(
    fresh_db: Database, clock: FixedClock
) -> None:
    scenario = post_scenario(fresh_db, clock)
    refund = scenario["refund"]
    with tampering(fresh_db) as conn:
        conn.execute(
            text("DELETE FROM ledger_entries WHERE transaction_id = :id AND leg = 1"),
            {"id": id_param(fresh_db, refund.id)},
        )
    report = verify_ledger(fresh_db)
    found = breaches_by_check(report)
    assert set(found) == {
        "transaction_balances",
        "transaction_has_entries",
        "balance_equals_entries",
        "trial_balance",
    }
    assert found["transaction_has_entries"] == [f"{refund.id} 1"]
    assert found["balance_equals_entries"] == ["platform:refunds_payable JPY stored"]
    assert found["trial_balance"] == ["JPY"]
    assert report.entries == 8


def test_stored_balance_changed_behind_the_ledger_is_found_against_its_entries(
    fresh_db: Database, clock: FixedClock
) -> None:
    post_scenario(fresh_db, clock)
    with fresh_db.transaction() as conn:  # balances are not append-only; no guard to switch off
        conn.execute(
            text(
                "UPDATE ledger_accounts SET credits_posted = credits_posted + 100"
                " WHERE code = 'seller:sel_a:available'"
            )
        )
    found = breaches_by_check(verify_ledger(fresh_db))
    assert found == {"balance_equals_entries": ["seller:sel_a:available EUR stored"]}


def test_stored_version_out_of_step_with_the_entries_is_found(
    fresh_db: Database, clock: FixedClock
) -> None:
    post_scenario(fresh_db, clock)
    with fresh_db.transaction() as conn:
        conn.execute(
            text(
                "UPDATE ledger_accounts SET version = version + 1"
                " WHERE code = 'platform:psp_clearing' AND currency = 'EUR'"
            )
        )
    found = breaches_by_check(verify_ledger(fresh_db))
    assert found == {"balance_equals_entries": ["platform:psp_clearing EUR stored"]}


def test_wrong_balance_after_on_an_entry_is_found_as_a_running_balance_breach(
    fresh_db: Database, clock: FixedClock
) -> None:
    scenario = post_scenario(fresh_db, clock)
    released = scenario["released"]
    with tampering(fresh_db) as conn:
        conn.execute(
            text(
                "UPDATE ledger_entries SET balance_after = balance_after + 1"
                " WHERE transaction_id = :id AND leg = 0"
            ),
            {"id": id_param(fresh_db, released.id)},
        )
    found = breaches_by_check(verify_ledger(fresh_db))
    assert found == {"running_balance": [f"{released.id} 0"]}


def test_entry_moved_to_another_currency_is_found(fresh_db: Database, clock: FixedClock) -> None:
    scenario = post_scenario(fresh_db, clock)
    released = scenario["released"]
    with tampering(fresh_db) as conn:
        conn.execute(
            text(
                "UPDATE ledger_entries SET currency = 'JPY' WHERE transaction_id = :id AND leg = 0"
            ),
            {"id": id_param(fresh_db, released.id)},
        )
    found = breaches_by_check(verify_ledger(fresh_db))
    assert found["entry_currency"] == [f"{released.id} 0"]
    assert sorted(found["transaction_balances"]) == [f"{released.id} EUR", f"{released.id} JPY"]
    assert sorted(found["trial_balance"]) == ["EUR", "JPY"]


def test_flagged_account_overdrawn_behind_the_checks_is_found(
    fresh_db: Database, clock: FixedClock
) -> None:
    """Even with constraints off (a restored dump, a manual fix), the flag check still runs."""
    post_scenario(fresh_db, clock)
    with fresh_db.transaction() as conn:
        if fresh_db.dialect == "sqlite":
            conn.execute(text("PRAGMA ignore_check_constraints = ON"))
        else:
            conn.execute(
                text(
                    "ALTER TABLE ledger_accounts"
                    " DROP CONSTRAINT ck_ledger_accounts_debits_must_not_exceed_credits"
                )
            )
        conn.execute(
            text(
                "UPDATE ledger_accounts SET debits_posted = credits_posted + 5"
                " WHERE code = 'seller:sel_a:pending'"
            )
        )
        if fresh_db.dialect == "sqlite":
            conn.execute(text("PRAGMA ignore_check_constraints = OFF"))
    found = breaches_by_check(verify_ledger(fresh_db))
    assert found["account_flags"] == ["seller:sel_a:pending EUR 8805"]
    assert set(found) == {"account_flags", "balance_equals_entries"}
