"""Migrations on SQLite and PostgreSQL: a new database upgrades to head, downgrades to base and
upgrades again, step by step too; the migrated schema is the one the SQLAlchemy models describe."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from datetime import UTC, datetime
from typing import Protocol

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import CheckConstraint, inspect, text
from sqlalchemy.exc import DBAPIError

import sellerpay
from sellerpay.clock import FixedClock
from sellerpay.db import Database, metadata
from sellerpay.db.migrate import _SCRIPTS, current_revision, downgrade, head_revision, upgrade
from sellerpay.ledger.rules import EntryRequest, Side, TransactionRequest
from sellerpay.ledger.service import post_transaction, verify_ledger
from sellerpay.money import Money


class DatabaseFactory(Protocol):
    """The session fixture `database_factory` of tests/conftest.py, as these tests use it."""

    def create(self, backend: str, *, migrate: bool = True) -> Database: ...


APPEND_ONLY_TABLES = {"ledger_entries", "ledger_transactions"}


def import_every_context_model() -> None:
    """Register every context's tables on `metadata`, as the Alembic environment does."""
    for module in pkgutil.iter_modules(sellerpay.__path__):
        if module.ispkg and importlib.util.find_spec(f"sellerpay.{module.name}.models"):
            importlib.import_module(f"sellerpay.{module.name}.models")


import_every_context_model()
MODELLED_TABLES = set(metadata.tables)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def empty_db(request: pytest.FixtureRequest, database_factory: DatabaseFactory) -> Database:
    """A new database with no schema at all."""
    return database_factory.create(request.param, migrate=False)


def tables(db: Database) -> set[str]:
    return set(inspect(db.engine).get_table_names())


def revisions_oldest_first() -> list[str]:
    script = ScriptDirectory(str(_SCRIPTS))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def append_only_triggers(db: Database) -> set[str]:
    with db.reading() as conn:
        if db.dialect == "postgresql":
            rows = conn.execute(
                text(
                    "SELECT tgrelid::regclass::text FROM pg_trigger"
                    " WHERE NOT tgisinternal AND tgname LIKE '%append_only'"
                )
            )
        else:
            rows = conn.execute(text("SELECT tbl_name FROM sqlite_master WHERE type = 'trigger'"))
        return {row[0] for row in rows}


def post_an_order(db: Database) -> None:
    request = TransactionRequest(
        idempotency_key="order:ord_1:paid",
        kind="order.paid",
        entries=(
            EntryRequest("platform:psp_clearing", Side.DEBIT, Money(10_000, "EUR")),
            EntryRequest("seller:sel_1:pending", Side.CREDIT, Money(10_000, "EUR")),
        ),
    )
    post_transaction(db, request, clock=FixedClock(datetime(2026, 1, 5, tzinfo=UTC)))


def test_new_database_upgrades_to_head_with_every_table_and_the_journal_guards(
    empty_db: Database,
) -> None:
    assert current_revision(empty_db) is None
    upgrade(empty_db)
    assert current_revision(empty_db) == head_revision() == revisions_oldest_first()[-1]
    assert {"ledger_accounts", "ledger_entries", "ledger_transactions"} <= MODELLED_TABLES
    assert tables(empty_db) == MODELLED_TABLES | {"alembic_version"}
    assert append_only_triggers(empty_db) >= APPEND_ONLY_TABLES


def test_downgrade_to_base_removes_everything_and_upgrading_again_gives_a_working_ledger(
    empty_db: Database,
) -> None:
    upgrade(empty_db)
    post_an_order(empty_db)
    downgrade(empty_db, "base")
    assert current_revision(empty_db) is None
    assert tables(empty_db) == {"alembic_version"}
    if empty_db.dialect == "postgresql":
        with empty_db.reading() as conn:
            functions = conn.execute(
                text("SELECT COUNT(*) FROM pg_proc WHERE proname = 'ledger_append_only'")
            ).scalar_one()
        assert functions == 0

    upgrade(empty_db)
    assert current_revision(empty_db) == head_revision()
    assert append_only_triggers(empty_db) >= APPEND_ONLY_TABLES
    post_an_order(empty_db)
    report = verify_ledger(empty_db)
    assert report.ok
    assert report.transactions == 1  # the old journal went with the downgrade
    with pytest.raises(DBAPIError), empty_db.transaction() as conn:
        conn.execute(text("DELETE FROM ledger_entries"))


def test_each_migration_upgrades_and_downgrades_one_step_at_a_time(empty_db: Database) -> None:
    revisions = revisions_oldest_first()
    assert len(revisions) >= 2
    for revision in revisions:
        upgrade(empty_db, revision)
        assert current_revision(empty_db) == revision
    for previous in [*reversed(revisions[:-1]), None]:
        downgrade(empty_db, "-1")
        assert current_revision(empty_db) == previous
    assert tables(empty_db) == {"alembic_version"}


def test_migrated_schema_matches_the_models_as_alembic_autogenerate_sees_them(
    empty_db: Database,
) -> None:
    upgrade(empty_db)
    with empty_db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_migrated_check_constraints_are_the_models_by_name(empty_db: Database) -> None:
    """Autogenerate does not compare CHECK constraints; they carry the money rules, so we do."""
    upgrade(empty_db)
    inspector = inspect(empty_db.engine)
    checked = 0
    for table in metadata.sorted_tables:
        modelled = {
            name if name.startswith("ck_") else f"ck_{table.name}_{name}"
            for name in (str(c.name) for c in table.constraints if isinstance(c, CheckConstraint))
        }
        reflected = {str(c["name"]) for c in inspector.get_check_constraints(table.name)}
        assert reflected == modelled, table.name
        checked += len(modelled)
    assert checked >= 9  # ledger accounts 5, entries 3, api keys 1
