"""The reporting routes: a seller's statement (JSON, CSV, PDF), a payout's composition as CSV,
and the finance reports.

Statements are seller-scoped: a seller's key reads its own (another seller's id answers 404 as
if missing); staff need `balances:read`. A payout's composition: its seller, or `payouts:read`.
Finance reports need `reports:read` (finance and admin).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from typing import Annotated, Final, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import StreamingResponse
from starlette.responses import Response

from sellerpay.access.rules import Permission, Principal, Role, can
from sellerpay.api.deps import ClockDep, DatabaseDep, PrincipalDep, permission_denied, require
from sellerpay.api.problems import problem_responses
from sellerpay.balances.api import CSV_MEDIA_TYPE
from sellerpay.balances.rules import SellerAccount
from sellerpay.db import Database
from sellerpay.errors import NotFound
from sellerpay.ledger.schemas import MoneyOut, Rfc3339DateTime
from sellerpay.money import Money
from sellerpay.payouts import service as payouts
from sellerpay.reporting import finance, service
from sellerpay.reporting.csv_files import (
    composition_csv,
    statement_csv,
    trial_balance_accounts_csv,
    trial_balance_csv,
)
from sellerpay.reporting.pdf import statement_pdf
from sellerpay.reporting.rules import SellerStatement, StatementLine
from sellerpay.reporting.schemas import (
    CashDayPublic,
    CashPositionPublic,
    CurrencyTotalsPublic,
    LiabilitiesPublic,
    RevenueLinePublic,
    RevenuePublic,
    SellerAccountsPublic,
    SellerLiabilitiesPublic,
    SellerStatementPublic,
    StatementLinePublic,
    TrialBalanceLinePublic,
    TrialBalancePublic,
)
from sellerpay.sellers.api import SellerIdPath, authorize_for_seller

__all__ = ["router", "statement_public"]

router = APIRouter(tags=["reporting"])

PDF_MEDIA_TYPE: Final = "application/pdf"
payout_id_length_max: Final = 40

ReportsReader = Annotated[Principal, Depends(require(Permission.REPORTS_READ))]
CurrencyQuery = Annotated[
    str | None,
    Query(min_length=3, max_length=3, description="ISO 4217 code; default: the seller's"),
]
FromQuery = Annotated[
    Rfc3339DateTime | None,
    Query(alias="from", description="Effective at or after (RFC 3339); default: the beginning"),
]
ToQuery = Annotated[
    Rfc3339DateTime | None,
    Query(alias="to", description="Effective before (RFC 3339, exclusive); default: now"),
]
BeforeQuery = Annotated[
    Rfc3339DateTime | None,
    Query(description="Balances from the entries effective before this moment; default: now"),
]


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


def _csv(chunks: Iterator[str], name: str) -> StreamingResponse:
    return StreamingResponse(
        chunks, media_type=f"{CSV_MEDIA_TYPE}; charset=utf-8", headers=_attachment(name)
    )


# --- seller statements ---------------------------------------------------------------------


@router.get(
    "/sellers/{seller_id}/statements",
    response_model=SellerStatementPublic,
    responses={
        200: {
            "description": "The statement as JSON, or with `format=csv` / `format=pdf` as a file",
            "content": {
                CSV_MEDIA_TYPE: {"schema": {"type": "string"}},
                PDF_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
            },
        },
        **problem_responses(401, 403, 404, 413, 422, 503),
    },
    summary="A seller's statement for a period",
)
def get_statement(
    seller_id: SellerIdPath,
    principal: PrincipalDep,
    db: DatabaseDep,
    clock: ClockDep,
    currency: CurrencyQuery = None,
    start: FromQuery = None,
    end: ToQuery = None,
    output: Annotated[
        Literal["json", "csv", "pdf"], Query(alias="format", description="json, csv or pdf")
    ] = "json",
    language: Annotated[
        str | None,
        Query(max_length=8, description="en, fr, es or ja; default: the seller's language"),
    ] = None,
) -> SellerStatementPublic | Response:
    """Opening balance, every movement with its references, closing balance — per account
    (pending, available, reserve, disputes) and in total, checked to add up. The PDF is in the
    seller's language (its `metadata.language`, else its country's), money and dates written
    as that locale writes them."""
    authorize_for_seller(principal, seller_id, Permission.BALANCES_READ)
    statement = service.seller_statement(
        db,
        seller_id=seller_id,
        clock=clock,
        currency=currency,
        start=start,
        end=end,
        language=language,
    )
    name = f"{seller_id}-{statement.currency}-statement"
    if output == "csv":
        return _csv(statement_csv(statement), f"{name}.csv")
    if output == "pdf":
        return Response(
            statement_pdf(statement), media_type=PDF_MEDIA_TYPE, headers=_attachment(f"{name}.pdf")
        )
    return statement_public(statement)


def statement_public(statement: SellerStatement) -> SellerStatementPublic:
    return SellerStatementPublic(
        seller_id=statement.seller_id,
        legal_name=statement.legal_name,
        currency=statement.currency,
        language=statement.language,
        locale=statement.locale,
        period_start=statement.period_start,
        period_end=statement.period_end,
        generated_at=statement.generated_at,
        opening=_accounts_public(statement.opening, statement.opening_balance),
        closing=_accounts_public(statement.closing, statement.closing_balance),
        lines=[_line_public(line) for line in statement.lines],
    )


def _accounts_public(balances: Mapping[SellerAccount, Money], total: Money) -> SellerAccountsPublic:
    zero = Money.zero(total.currency)
    return SellerAccountsPublic(
        pending=MoneyOut.of(balances.get(SellerAccount.PENDING, zero)),
        available=MoneyOut.of(balances.get(SellerAccount.AVAILABLE, zero)),
        reserved=MoneyOut.of(balances.get(SellerAccount.RESERVE, zero)),
        dispute_hold=MoneyOut.of(balances.get(SellerAccount.DISPUTE_HOLD, zero)),
        total=MoneyOut.of(total),
    )


def _line_public(line: StatementLine) -> StatementLinePublic:
    def change(account: SellerAccount) -> MoneyOut | None:
        moved = line.changes.get(account)
        return None if moved is None else MoneyOut.of(moved)

    return StatementLinePublic(
        transaction_id=line.transaction_id,
        effective_at=line.effective_at,
        posted_at=line.posted_at,
        type=line.kind,
        category=line.category,
        description=line.description,
        references=dict(line.references),
        pending=change(SellerAccount.PENDING),
        available=change(SellerAccount.AVAILABLE),
        reserved=change(SellerAccount.RESERVE),
        dispute_hold=change(SellerAccount.DISPUTE_HOLD),
        gross=None if line.gross is None else MoneyOut.of(line.gross),
        fee=None if line.fee is None else MoneyOut.of(line.fee),
        amount=MoneyOut.of(line.amount),
        balance_after=MoneyOut.of(line.balance_after),
    )


# --- payout composition --------------------------------------------------------------------


@router.get(
    "/payouts/{payout_id}/composition.csv",
    responses={
        200: {
            "description": "One row per balance transaction the payout paid; `amount_minor` "
            "sums exactly to the payout's source amount",
            "content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}},
        },
        **problem_responses(401, 403, 404, 422),
    },
    response_class=Response,
    summary="A payout's composition as CSV",
)
def get_composition_csv(
    payout_id: Annotated[str, Path(min_length=1, max_length=payout_id_length_max)],
    principal: PrincipalDep,
    db: DatabaseDep,
) -> Response:
    """Every order, refund, fee and adjustment the payout paid, oldest first (a movement split
    between two payouts shows `partial` true in both)."""
    _authorize_payout(db, principal, payout_id)
    report = service.payout_composition(db, payout_id=payout_id)
    return _csv(composition_csv(report), f"{payout_id}-composition.csv")


def _authorize_payout(db: Database, principal: Principal, payout_id: str) -> None:
    """Its seller may read it (another seller gets 404, as if missing); staff need
    `payouts:read` (403)."""
    payout = payouts.get_payout(db, payout_id)
    if principal.role is Role.SELLER:
        if principal.seller_id != payout.seller_id:
            raise NotFound(f"no payout {payout_id}", code="payout_not_found", payout_id=payout_id)
    elif not can(principal, Permission.PAYOUTS_READ):
        raise permission_denied(principal, Permission.PAYOUTS_READ)


# --- finance reports -----------------------------------------------------------------------


@router.get(
    "/reports/cash-position",
    response_model=CashPositionPublic,
    responses=problem_responses(401, 403, 422),
    summary="Daily cash position per bank account and currency",
)
def get_cash_position(
    _: ReportsReader,
    db: DatabaseDep,
    start: Annotated[date, Query(alias="from", description="First day (UTC)")],
    end: Annotated[date, Query(alias="to", description="Last day (UTC), inclusive")],
) -> CashPositionPublic:
    """Each `platform:bank:*` account at the end of every UTC day: opening, money in, money
    out, closing (at most 366 days)."""
    report = finance.cash_position(db, start=start, end=end)
    return CashPositionPublic(
        start=report.start,
        end=report.end,
        days=[
            CashDayPublic(
                day=d.day,
                account=d.account,
                currency=d.currency,
                opening=MoneyOut.of(d.opening),
                money_in=MoneyOut.of(d.money_in),
                money_out=MoneyOut.of(d.money_out),
                closing=MoneyOut.of(d.closing),
            )
            for d in report.days
        ],
    )


@router.get(
    "/reports/seller-liabilities",
    response_model=SellerLiabilitiesPublic,
    responses=problem_responses(401, 403, 422),
    summary="What the platform owes sellers, per currency",
)
def get_seller_liabilities(
    _: ReportsReader, db: DatabaseDep, before: BeforeQuery = None
) -> SellerLiabilitiesPublic:
    """Pending, available (net, with the negative part to recover), reserved, disputed and in
    transit, per currency."""
    report = finance.seller_liabilities(db, before=before)
    return SellerLiabilitiesPublic(
        before=report.before,
        currencies=[
            LiabilitiesPublic(
                currency=line.currency,
                pending=MoneyOut.of(line.pending),
                available=MoneyOut.of(line.available),
                negative_to_recover=MoneyOut.of(line.negative_to_recover),
                sellers_negative=line.sellers_negative,
                reserved=MoneyOut.of(line.reserved),
                dispute_hold=MoneyOut.of(line.dispute_hold),
                in_transit=MoneyOut.of(line.in_transit),
                total=MoneyOut.of(line.total),
            )
            for line in report.currencies
        ],
    )


@router.get(
    "/reports/revenue",
    response_model=RevenuePublic,
    responses=problem_responses(401, 403, 422),
    summary="Revenue by kind over a period",
)
def get_revenue(
    _: ReportsReader,
    db: DatabaseDep,
    start: Annotated[Rfc3339DateTime, Query(alias="from", description="Effective at or after")],
    end: Annotated[Rfc3339DateTime, Query(alias="to", description="Effective before")],
) -> RevenuePublic:
    """What each `platform:revenue:*` account earned in [from, to), per currency."""
    report = finance.revenue_by_kind(db, start=start, end=end)
    return RevenuePublic(
        start=report.start,
        end=report.end,
        lines=[
            RevenueLinePublic(
                account=line.account,
                kind=line.kind,
                currency=line.currency,
                credits=MoneyOut.of(line.credits),
                debits=MoneyOut.of(line.debits),
                earned=MoneyOut.of(line.earned),
            )
            for line in report.lines
        ],
        totals=[MoneyOut.of(total) for total in report.totals.values()],
    )


@router.get(
    "/reports/trial-balance",
    response_model=TrialBalancePublic,
    responses={
        200: {
            "description": "By line of the chart (JSON or CSV); with `by=account`, every "
            "account, streamed as CSV",
            "content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}},
        },
        **problem_responses(401, 403, 422),
    },
    summary="Trial balance of the whole ledger",
)
def get_trial_balance(
    _: ReportsReader,
    db: DatabaseDep,
    before: BeforeQuery = None,
    output: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
    by: Annotated[
        Literal["line", "account"],
        Query(description="`line` of the chart (`seller:*:available`), or every `account` (CSV)"),
    ] = "line",
) -> TrialBalancePublic | Response:
    """Every account's debit and credit totals; all debits equal all credits in each currency
    (checked: the totals show it)."""
    if by == "account":
        rows = finance.trial_balance_by_account(db, before=before)
        return _csv(trial_balance_accounts_csv(rows), "trial-balance-accounts.csv")
    report = finance.trial_balance(db, before=before)
    if output == "csv":
        return _csv(trial_balance_csv(report), "trial-balance.csv")
    return TrialBalancePublic(
        before=report.before,
        lines=[
            TrialBalanceLinePublic(
                line=line.line,
                currency=line.currency,
                kind=line.kind,
                accounts=line.accounts,
                debits=MoneyOut.of(line.debits),
                credits=MoneyOut.of(line.credits),
                balance=MoneyOut.of(line.balance),
            )
            for line in report.lines
        ],
        totals=[
            CurrencyTotalsPublic(
                currency=total.currency,
                debits=MoneyOut.of(total.debits),
                credits=MoneyOut.of(total.credits),
                difference=MoneyOut.of(total.difference),
            )
            for total in report.totals
        ],
        balanced=all(total.difference.amount_minor == 0 for total in report.totals),
    )
