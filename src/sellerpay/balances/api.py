"""The balances' HTTP routes: a seller's balances and balance transactions (JSON or CSV).

A seller's key reads only its own seller: any other id answers 404 as if missing. Staff roles
need `balances:read`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Annotated, Any, Final, Literal
from uuid import UUID

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse
from starlette.responses import Response

from sellerpay.access.rules import Permission
from sellerpay.api.deps import DatabaseDep, PrincipalDep
from sellerpay.api.pagination import decode_cursor, encode_cursor
from sellerpay.api.problems import problem_responses
from sellerpay.balances import service
from sellerpay.balances.rules import SellerBalance, spreadsheet_safe
from sellerpay.balances.schemas import (
    BalanceTransactionPage,
    BalanceTransactionPublic,
    LineFeePublic,
    SellerBalancePublic,
    SellerBalancesPublic,
)
from sellerpay.ledger.schemas import MoneyOut, Rfc3339DateTime
from sellerpay.ledger.service import JournalPosition
from sellerpay.money import Money
from sellerpay.sellers.api import SellerIdPath, authorize_for_seller

__all__ = ["router"]

router = APIRouter(tags=["balances"])

CSV_MEDIA_TYPE: Final = "text/csv"
cursor_length_max: Final = 200
accept_length_max: Final = 500
_CSV_FLUSH_BYTES: Final = 64 * 1024
_CSV_REFERENCES: Final = ("order_id", "refund_id", "dispute_id", "adjustment_id", "payout_id")
CSV_COLUMNS: Final = (
    "id", "effective_at", "posted_at", "type", "category", "account", "currency",
    "amount", "amount_minor", "balance_after", "balance_after_minor",
    *_CSV_REFERENCES, "description", "transaction_id",
)  # fmt: skip

CurrencyQuery = Annotated[
    str | None, Query(min_length=3, max_length=3, description="ISO 4217 code, e.g. EUR")
]
TypesQuery = Annotated[
    list[Annotated[str, Query(max_length=64)]] | None,
    Query(
        alias="type",
        max_length=service.types_per_filter_max,
        description="Transaction kinds (repeat for several), e.g. `order.paid`",
    ),
]
FromQuery = Annotated[
    Rfc3339DateTime | None,
    Query(alias="from", description="Effective at or after (RFC 3339 with an offset)"),
]
ToQuery = Annotated[
    Rfc3339DateTime | None, Query(alias="to", description="Effective before (RFC 3339)")
]


@router.get(
    "/{seller_id}/balance",
    response_model=SellerBalancesPublic,
    responses=problem_responses(401, 403, 404, 422),
    summary="Read a seller's balances",
)
def get_balance(
    seller_id: SellerIdPath, principal: PrincipalDep, db: DatabaseDep
) -> SellerBalancesPublic:
    """Pending, available, reserved, disputed and in-transit money per currency, and what a
    negative available balance leaves to recover from later sales."""
    authorize_for_seller(principal, seller_id, Permission.BALANCES_READ)
    balances = service.seller_balances(db, seller_id=seller_id)
    return SellerBalancesPublic(
        seller_id=balances.seller_id,
        balances=[_balance_public(b) for b in balances.balances],
        last_movement_at=balances.last_movement_at,
    )


@router.get(
    "/{seller_id}/balance-transactions",
    response_model=BalanceTransactionPage,
    responses={
        200: {
            "description": "A page of movements (JSON), or with `format=csv` or "
            "`Accept: text/csv` every movement selected, oldest first, as CSV",
            "content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}},
        },
        **problem_responses(401, 403, 404, 413, 422),
    },
    summary="List a seller's balance transactions",
)
def list_balance_transactions(
    seller_id: SellerIdPath,
    principal: PrincipalDep,
    db: DatabaseDep,
    currency: CurrencyQuery = None,
    types: TypesQuery = None,
    effective_from: FromQuery = None,
    effective_before: ToQuery = None,
    limit: Annotated[int, Query(ge=1, le=service.page_size_max)] = 50,
    cursor: Annotated[
        str | None,
        Query(max_length=cursor_length_max, description="`next_cursor` of the previous page"),
    ] = None,
    output: Annotated[
        Literal["json", "csv"] | None,
        Query(alias="format", description="Default: csv if `Accept` prefers text/csv, else json"),
    ] = None,
    accept: Annotated[str | None, Header(max_length=accept_length_max)] = None,
) -> BalanceTransactionPage | Response:
    """Every movement on the seller's pending, available, dispute hold and reserve accounts:
    newest first (effective time, then posting order), each with the running balance of its
    account. Order movements carry the fee breakdown of each line. As CSV: everything the
    filters select, oldest first, streamed (`cursor` and `limit` do not apply)."""
    authorize_for_seller(principal, seller_id, Permission.BALANCES_READ)
    where = service.BalanceTransactionFilter(
        currency=currency,
        types=tuple(types or ()),
        effective_from=effective_from,
        effective_before=effective_before,
    )
    if output == "csv" or (output is None and prefers_csv(accept)):
        movements = service.export_balance_transactions(db, seller_id=seller_id, where=where)
        return StreamingResponse(
            csv_chunks(movements),
            media_type=f"{CSV_MEDIA_TYPE}; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{seller_id}-balance.csv"'},
        )
    page = service.balance_transactions(
        db, seller_id=seller_id, where=where, after=_decode_cursor(cursor), limit=limit
    )
    return BalanceTransactionPage(
        seller_id=seller_id,
        balance_transactions=[_movement_public(m) for m in page.lines],
        next_cursor=None if page.next_after is None else _encode_cursor(page.next_after),
    )


# --- CSV -----------------------------------------------------------------------------------


def prefers_csv(accept: str | None) -> bool:
    """Whether an `Accept` header asks for text/csv at least as much as for JSON (q values)."""
    weights: dict[str, float] = {}
    for part in (accept or "").lower().split(","):
        media_type, *parameters = (piece.strip() for piece in part.split(";"))
        weight = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[media_type] = max(weight, weights.get(media_type, 0.0))
    csv_weight = weights.get(CSV_MEDIA_TYPE, 0.0)
    json_weight = max(weights.get("application/json", 0.0), weights.get("*/*", 0.0))
    return csv_weight > 0 and csv_weight >= json_weight


def csv_chunks(movements: Iterator[service.BalanceTransaction]) -> Iterator[str]:
    """The CSV statement, a header row then one row per movement, in chunks of ~64 KB.

    Amounts are exact decimal strings in major units, with the currency and the minor units
    beside them. Text that a spreadsheet would run as a formula is prefixed with `'`.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for movement in movements:
        writer.writerow(_csv_row(movement))
        if buffer.tell() >= _CSV_FLUSH_BYTES:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _csv_row(movement: service.BalanceTransaction) -> list[str]:
    references = movement.references
    return [
        movement.id,
        movement.effective_at.isoformat(),
        movement.posted_at.isoformat(),
        movement.type,
        movement.category.value,
        movement.account.value,
        movement.amount.currency,
        _decimal(movement.amount),
        str(movement.amount.amount_minor),
        _decimal(movement.balance_after),
        str(movement.balance_after.amount_minor),
        *(spreadsheet_safe(references.get(name, "")) for name in _CSV_REFERENCES),
        spreadsheet_safe(movement.description),
        str(movement.transaction_id),
    ]


def _decimal(money: Money) -> str:
    return MoneyOut.of(money).amount


# --- cursors and answers -------------------------------------------------------------------


def _encode_cursor(position: JournalPosition) -> str:
    return encode_cursor(
        position.effective_at.isoformat(),
        position.posted_at.isoformat(),
        position.transaction_id.hex,
        str(position.leg),
    )


def _position(parts: list[str]) -> JournalPosition:
    effective, posted, transaction_hex, leg = parts
    position = JournalPosition(
        effective_at=datetime.fromisoformat(effective),
        posted_at=datetime.fromisoformat(posted),
        transaction_id=UUID(hex=transaction_hex),
        leg=int(leg),
    )
    if position.effective_at.tzinfo is None or position.posted_at.tzinfo is None:
        raise ValueError("a cursor's times carry their zone")
    return position


def _decode_cursor(cursor: str | None) -> JournalPosition | None:
    """The position a cursor continues after; `InvalidInput(invalid_cursor)` if not ours."""
    return decode_cursor(cursor, _position)


def _balance_public(balance: SellerBalance) -> SellerBalancePublic:
    return SellerBalancePublic(
        currency=balance.currency,
        exponent=balance.available.exponent,
        pending=MoneyOut.of(balance.pending),
        available=MoneyOut.of(balance.available),
        reserved=MoneyOut.of(balance.reserved),
        dispute_hold=MoneyOut.of(balance.dispute_hold),
        in_transit=MoneyOut.of(balance.in_transit),
        negative_to_recover=MoneyOut.of(balance.negative_to_recover),
        last_movement_at=balance.last_movement_at,
    )


def _movement_public(movement: service.BalanceTransaction) -> BalanceTransactionPublic:
    return BalanceTransactionPublic(
        id=movement.id,
        transaction_id=movement.transaction_id,
        type=movement.type,
        category=movement.category,
        account=movement.account,
        amount=MoneyOut.of(movement.amount),
        balance_after=MoneyOut.of(movement.balance_after),
        effective_at=movement.effective_at,
        posted_at=movement.posted_at,
        description=movement.description,
        references=dict(movement.references),
        fee_breakdown=(
            None
            if movement.fee_breakdown is None
            else [_line_fee_public(fee) for fee in movement.fee_breakdown]
        ),
    )


def _line_fee_public(fee: Mapping[str, Any]) -> LineFeePublic:
    currency = str(fee["currency"])

    def money(name: str) -> MoneyOut:
        return MoneyOut.of(Money(int(fee[name]), currency))

    return LineFeePublic(
        line_id=str(fee["line_id"]),
        category=str(fee["category"]),
        gross=money("gross_minor"),
        bps=int(fee["bps"]),
        commission=money("commission_minor"),
        fixed_fee=money("fixed_fee_minor"),
        fee=money("fee_minor"),
        net=money("net_minor"),
        refunded=money("refunded_minor"),
        fee_returned=money("fee_returned_minor"),
    )
