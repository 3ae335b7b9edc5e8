"""The ledger's entries in bulk, by posting time, for the analytics export (read-only).

Posting time, not effective time: the journal is append-only in posting order, while an entry
may be effective in the past (a backdated correction). An export by intervals of posting time
therefore sees every entry exactly once, however far back it is effective.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Final, NamedTuple
from uuid import UUID

from sqlalchemy import select

from sellerpay.clock import ensure_utc
from sellerpay.db import Database
from sellerpay.errors import InvalidInput
from sellerpay.ledger import models
from sellerpay.ledger.rules import JsonScalar

chunk_size_max: Final = 50_000


class ExportedEntry(NamedTuple):
    """One entry with its account and its transaction's labels (a flat row)."""

    transaction_id: UUID
    leg: int
    account: str
    account_kind: str
    side: str
    amount_minor: int
    currency: str
    account_version: int
    balance_after_minor: int
    effective_at: datetime
    posted_at: datetime
    kind: str
    description: str
    reverses_id: UUID | None
    references: Mapping[str, str]
    metadata: Mapping[str, JsonScalar]


def entries_posted_between(
    db: Database, *, start: datetime, end: datetime, chunk_size: int = 10_000
) -> Iterator[list[ExportedEntry]]:
    """The entries of the transactions posted in [start, end), in posting order (posted_at,
    transaction id, leg), a chunk at a time from one statement (the connection stays open while
    the caller iterates; PostgreSQL streams it with a server-side cursor)."""
    if not 1 <= chunk_size <= chunk_size_max:
        raise InvalidInput(f"chunk_size must be 1..{chunk_size_max}", code="invalid_chunk_size")
    t, e, a = models.transactions.c, models.entries.c, models.accounts.c
    query = (
        select(
            e.transaction_id,
            e.leg,
            a.code,
            a.kind.label("account_kind"),
            e.side,
            e.amount_minor,
            e.currency,
            e.account_version,
            e.balance_after,
            e.effective_at,
            t.posted_at,
            t.kind,
            t.description,
            t.reverses_id,
            t.references,
            t.metadata,
        )
        .select_from(
            models.entries.join(models.transactions, t.id == e.transaction_id).join(
                models.accounts, a.id == e.account_id
            )
        )
        .where(t.posted_at >= ensure_utc(start), t.posted_at < ensure_utc(end))
        .order_by(t.posted_at, e.transaction_id, e.leg)
    )
    with db.reading() as conn:
        result = conn.execution_options(yield_per=chunk_size).execute(query)
        for rows in result.partitions():
            yield [ExportedEntry._make(row) for row in rows]
