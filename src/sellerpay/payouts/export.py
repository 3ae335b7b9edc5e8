"""Payouts in bulk, by the time they last changed, for the analytics export (read-only).

A payout changes state over days; each change bumps its `version` and `updated_at`. An export
by intervals of `updated_at` writes each (payout, version) it sees once: a payout's rows across
files are its history as exported, and its newest state is the row with the highest version.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Final

from sqlalchemy import select

from sellerpay.clock import ensure_utc
from sellerpay.db import Database
from sellerpay.errors import InvalidInput
from sellerpay.payouts import models
from sellerpay.payouts.service import Payout, _payout

chunk_size_max: Final = 50_000


def payouts_changed_between(
    db: Database, *, start: datetime, end: datetime, chunk_size: int = 10_000
) -> Iterator[list[Payout]]:
    """Payouts whose `updated_at` is in [start, end), in (updated_at, id) order, a chunk at a
    time from one statement (the connection stays open while the caller iterates)."""
    if not 1 <= chunk_size <= chunk_size_max:
        raise InvalidInput(f"chunk_size must be 1..{chunk_size_max}", code="invalid_chunk_size")
    p = models.payouts.c
    query = (
        select(models.payouts)
        .where(p.updated_at >= ensure_utc(start), p.updated_at < ensure_utc(end))
        .order_by(p.updated_at, p.id)
    )
    with db.reading() as conn:
        result = conn.execution_options(yield_per=chunk_size).execute(query)
        for rows in result.partitions():
            yield [_payout(row) for row in rows]
