"""What payouts expect to see on our bank statements, for reconciliation (which never reads the
payouts tables itself): one debit per payout sent, one per batch the bank may book at once (a
pain.001 payment information block, a whole bank file), and a credit per announced return."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, Final

from sqlalchemy import Connection, select

from sellerpay.db import Database
from sellerpay.money import Money
from sellerpay.payouts import models
from sellerpay.payouts.rules import PayoutStatus
from sellerpay.rails.bacs import bacs_reference
from sellerpay.rails.nacha import individual_id_for
from sellerpay.rails.zengin import zengin_reference
from sellerpay.reconciliation.rules import ExpectedMovement

__all__ = ["EXPECTED_STATUSES", "expected_for", "expected_payouts", "payout_key"]

EXPECTED_STATUSES: Final = (
    PayoutStatus.PROCESSING.value,
    PayoutStatus.SUBMITTED.value,
    PayoutStatus.PAID.value,
    PayoutStatus.RETURNED.value,
)
"""A payout handed to a bank may show on a statement; a pending, failed or canceled one never."""
lookup_chunk_size: Final = 500
_SEPA: Final = ("sepa", "sepa_instant")


def payout_key(payout_id: str) -> str:
    return f"payout:{payout_id}"


def expected_payouts(db: Database, *, currency: str, since: date) -> list[ExpectedMovement]:
    """Payouts in `currency` executed on or after `since` that a bank was given, and their
    batches (one per PmtInfId of a pain.001, one per bank file by its message id)."""
    p, s = models.payouts.c, models.bank_submissions.c
    query = (
        select(*_COLUMNS, s.message_id)
        .select_from(models.payouts.outerjoin(models.bank_submissions, s.id == p.submission_id))
        .where(
            p.currency == currency,
            p.execution_date >= since,
            p.status.in_(EXPECTED_STATUSES),
        )
    )
    with db.reading() as conn:
        rows = conn.execute(query).all()
    payouts = [_movement(row) for row in rows]
    return payouts + _batches(rows, payouts)


def expected_for(db: Database, payout_ids: Sequence[str]) -> list[ExpectedMovement]:
    """The movements of these payouts (those a bank was given; others are left out)."""
    p, s = models.payouts.c, models.bank_submissions.c
    found: list[ExpectedMovement] = []
    with db.reading() as conn:
        for start in range(0, len(payout_ids), lookup_chunk_size):
            chunk = list(payout_ids[start : start + lookup_chunk_size])
            found += [_movement(row) for row in _rows(conn, p.id.in_(chunk), s)]
    return found


def _rows(conn: Connection, condition: Any, s: Any) -> Iterable[Any]:
    p = models.payouts.c
    query = (
        select(*_COLUMNS, s.message_id)
        .select_from(models.payouts.outerjoin(models.bank_submissions, s.id == p.submission_id))
        .where(condition, p.status.in_(EXPECTED_STATUSES))
    )
    return conn.execute(query).all()


_COLUMNS: Final = tuple(
    models.payouts.c[name]
    for name in (
        "id",
        "status",
        "currency",
        "amount_minor",
        "rail",
        "end_to_end_id",
        "bank_reference",
        "bank_account_masked",
        "execution_date",
        "closed_at",
    )
)


def _movement(row: Any) -> ExpectedMovement:
    returned = row.status == PayoutStatus.RETURNED.value and row.closed_at is not None
    return ExpectedMovement(
        key=payout_key(row.id),
        kind="payout",
        direction="debit",
        amount=Money(row.amount_minor, row.currency),
        due_on=row.execution_date,
        references=_references(row.rail, row.end_to_end_id, row.bank_reference),
        counterparty_account=row.bank_account_masked.rsplit(" ", 1)[-1],
        payout_id=row.id,
        end_to_end_id=row.end_to_end_id,
        returned_on=row.closed_at.date() if returned else None,
    )


def _references(rail: str, end_to_end_id: str, bank_reference: str | None) -> tuple[str, ...]:
    """What a bank may quote for one payout: its end-to-end id, the shortened form its rail
    carries, and for ACH the trace number (a pain.001's PmtInfId names a batch, not a payout)."""
    references = [end_to_end_id]
    if rail == "ach":
        references.append(individual_id_for(end_to_end_id).strip())
        if bank_reference:
            references.append(bank_reference)
    elif rail == "zengin":
        references.append(zengin_reference(end_to_end_id))
    elif rail in ("bacs", "fps"):
        references.append(bacs_reference(end_to_end_id))
    return tuple(dict.fromkeys(references))


def _batches(rows: Sequence[Any], payouts: Sequence[ExpectedMovement]) -> list[ExpectedMovement]:
    groups: dict[str, list[tuple[Any, ExpectedMovement]]] = defaultdict(list)
    for row, movement in zip(rows, payouts, strict=True):
        if row.message_id:
            groups[f"batch:message:{row.message_id}"].append((row, movement))
        if row.rail in _SEPA and row.bank_reference:
            groups[f"batch:pmtinf:{row.message_id}:{row.bank_reference}"].append((row, movement))
    batches = []
    for key, members in sorted(groups.items()):
        reference = key.rsplit(":", 1)[-1]
        batches.append(
            ExpectedMovement(
                key=key,
                kind="payout_batch",
                direction="debit",
                amount=Money(
                    sum(m.amount.amount_minor for _, m in members), members[0][1].amount.currency
                ),
                due_on=min(m.due_on for _, m in members),
                references=(reference,),
                members=tuple(m.key for _, m in members),
            )
        )
    return batches
