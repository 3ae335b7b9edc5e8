"""Alembic environment: runs migrations on the engine `sellerpay.db.migrate` passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

import sellerpay.access.models
import sellerpay.audit.models
import sellerpay.bankaccounts.models
import sellerpay.events.models
import sellerpay.jobs.models
import sellerpay.ledger.models
import sellerpay.onboarding.models
import sellerpay.payouts.models
import sellerpay.reconciliation.models
import sellerpay.screening.models
import sellerpay.sellers.models
import sellerpay.settlement.models  # noqa: F401  (registers the tables for autogenerate checks)
from sellerpay.db.types import metadata

engine: Engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
