"""The ledger's HTTP routes: post (one or a batch), read and reverse transactions; read accounts.

Each route parses, authorizes, calls `ledger.service` and shapes the answer; errors are raised
as `SellerpayError`s and become problem details in `sellerpay.api.problems`. A seller may read
only their own accounts: anything else answers 404 exactly like a missing account, so a
seller cannot learn which ids exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Final
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response

from sellerpay.access.rules import Permission, Principal, Role, can, may_read_account
from sellerpay.api.deps import (
    ClockDep,
    DatabaseDep,
    PrincipalDep,
    SettingsDep,
    permission_denied,
    require,
)
from sellerpay.api.pagination import decode_cursor, encode_cursor, one_part
from sellerpay.api.problems import error_problem, problem_responses
from sellerpay.clock import ensure_utc
from sellerpay.errors import InvalidInput, LimitExceeded, NotFound
from sellerpay.ledger import service
from sellerpay.ledger.rules import (
    AccountKind,
    EntryRequest,
    TransactionRequest,
    account_code_length_max,
    account_rule,
    idempotency_key_length_max,
)
from sellerpay.ledger.schemas import (
    AccountEntriesPage,
    AccountFlag,
    AccountPublic,
    BalancePublic,
    BatchResultPublic,
    EntryCreate,
    EntryPublic,
    HistoryLinePublic,
    MoneyOut,
    ReversalCreate,
    Rfc3339DateTime,
    TransactionBatchCreate,
    TransactionBatchPublic,
    TransactionCreate,
    TransactionPublic,
    cursor_length_max,
)
from sellerpay.money import Money, exponent

__all__ = ["router"]

router = APIRouter(tags=["ledger"])

REPLAYED_HEADER: Final = "Idempotent-Replayed"
_KEY_PATTERN: Final = r"^[\x20-\x7e]+$"

IdempotencyKeyHeader = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=idempotency_key_length_max,
        pattern=_KEY_PATTERN,
        description="Makes the post safe to retry: the same key and body replay the original.",
    ),
]
OptionalIdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=idempotency_key_length_max,
        pattern=_KEY_PATTERN,
        description="Default: `reversal:<transaction id>`, so a transaction is reversed once.",
    ),
]
AccountCodePath = Annotated[
    str, Path(min_length=1, max_length=account_code_length_max, examples=["seller:sel_42:pending"])
]
CurrencyQuery = Annotated[
    str | None, Query(min_length=3, max_length=3, description="ISO 4217 code, e.g. EUR")
]
_REPLAY_RESPONSE: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "description": f"An idempotent replay: the original result, with `{REPLAYED_HEADER}: true`",
        "model": TransactionPublic,
        "headers": {REPLAYED_HEADER: {"schema": {"type": "string", "enum": ["true"]}}},
    }
}


# --- routes --------------------------------------------------------------------------------


@router.post(
    "/transactions",
    status_code=201,
    response_model=TransactionPublic,
    response_description="Posted",
    dependencies=[Depends(require(Permission.LEDGER_POST))],
    responses={**_REPLAY_RESPONSE, **problem_responses(401, 403, 409, 413, 422)},
    summary="Post a transaction",
)
def post_transaction(
    body: TransactionCreate,
    idempotency_key: IdempotencyKeyHeader,
    db: DatabaseDep,
    clock: ClockDep,
    request: Request,
    response: Response,
) -> TransactionPublic:
    """Post a balanced transaction, once per `Idempotency-Key`.

    201 with `Location` when posted; 200 with `Idempotent-Replayed: true` and the original
    transaction when the key was posted before with the same body; 409 `idempotency_key_reused`
    with another body; 422 `debits_must_not_exceed_credits` when a flagged account would go
    below zero. No transaction is stored unless the answer is 201.
    """
    posting = _transaction_request(body, idempotency_key=idempotency_key, field="body")
    transaction, replayed = service.post_transaction(db, posting, clock=clock)
    _answer_write(request, response, transaction, replayed=replayed)
    return _transaction_public(transaction)


@router.post(
    "/transactions/batch",
    response_model=TransactionBatchPublic,
    response_description="The outcome of each transaction, in order",
    dependencies=[Depends(require(Permission.LEDGER_POST))],
    responses=problem_responses(401, 403, 413, 422),
    summary="Post a batch of transactions",
)
def post_transaction_batch(
    body: TransactionBatchCreate,
    db: DatabaseDep,
    clock: ClockDep,
    settings: SettingsDep,
    request: Request,
) -> TransactionBatchPublic:
    """Post up to `api_batch_size_max` transactions in one unit of work, each with its own key.

    An invalid item refuses the whole batch (422, naming the item's `index`) and stores
    nothing. Otherwise each item is `posted`, `replayed` or `rejected` (with its problem: a
    reused key, an account flag) against the balances left by the items before it.
    """
    size_max = settings.api_batch_size_max
    if len(body.transactions) > size_max:
        raise LimitExceeded(
            f"a batch holds at most {size_max} transactions, got {len(body.transactions)}",
            code="batch_size_max",
            limit=size_max,
            size=len(body.transactions),
        )
    postings = [
        _transaction_request(
            item,
            idempotency_key=item.idempotency_key,
            field=f"body.transactions.{index}",
            index=index,
        )
        for index, item in enumerate(body.transactions)
    ]
    results = service.post_many(db, postings, clock=clock)
    return TransactionBatchPublic(
        results=[_batch_result(result, instance=request.url.path) for result in results]
    )


@router.get(
    "/transactions/{transaction_id}",
    response_model=TransactionPublic,
    responses=problem_responses(401, 403, 404, 422),
    summary="Read a transaction",
)
def get_transaction(
    transaction_id: UUID, principal: PrincipalDep, db: DatabaseDep
) -> TransactionPublic:
    """The transaction with its entries and the balance each left on its account."""
    if not can(principal, Permission.LEDGER_READ):
        if principal.role is Role.SELLER:  # a seller cannot tell whether the id exists
            raise NotFound(f"no transaction {transaction_id}", code="transaction_not_found")
        raise permission_denied(principal, Permission.LEDGER_READ)
    return _transaction_public(service.get_transaction(db, transaction_id))


@router.post(
    "/transactions/{transaction_id}/reverse",
    status_code=201,
    response_model=TransactionPublic,
    response_description="The reversal, posted",
    dependencies=[Depends(require(Permission.LEDGER_REVERSE))],
    responses={**_REPLAY_RESPONSE, **problem_responses(401, 403, 404, 409, 422)},
    summary="Reverse a transaction",
)
def reverse_transaction(
    transaction_id: UUID,
    db: DatabaseDep,
    clock: ClockDep,
    request: Request,
    response: Response,
    idempotency_key: OptionalIdempotencyKeyHeader = None,
    body: ReversalCreate | None = None,
) -> TransactionPublic:
    """Post the mirror of a transaction, effective now; a transaction is reversed at most once.

    201 when posted, 200 with `Idempotent-Replayed: true` on a replay of the same key, 409
    `already_reversed` when it was reversed under another key.
    """
    reversal, replayed = service.reverse_transaction(
        db,
        transaction_id,
        clock=clock,
        idempotency_key=idempotency_key,
        description=body.description if body is not None else "",
    )
    _answer_write(request, response, reversal, replayed=replayed)
    return _transaction_public(reversal)


@router.get(
    "/accounts/{code}",
    response_model=AccountPublic,
    responses=problem_responses(401, 403, 404, 422),
    summary="Read an account's balances",
)
def get_account(
    code: AccountCodePath,
    principal: PrincipalDep,
    db: DatabaseDep,
    currency: CurrencyQuery = None,
    as_of: Annotated[
        Rfc3339DateTime | None,
        Query(description="RFC 3339 with an offset: the balance from entries effective by then"),
    ] = None,
) -> AccountPublic:
    """The account's balance in each currency (or one), now or as of a moment."""
    _authorize_account(principal, code, currency)
    _check_currency(currency)
    as_of = ensure_utc(as_of) if as_of is not None else None
    balances = service.account_balances(db, code, currency=currency, as_of=as_of)
    return AccountPublic(code=code, as_of=as_of, balances=[_balance_public(b) for b in balances])


@router.get(
    "/accounts/{code}/entries",
    response_model=AccountEntriesPage,
    responses=problem_responses(401, 403, 404, 422),
    summary="List an account's entries",
)
def list_account_entries(
    code: AccountCodePath,
    principal: PrincipalDep,
    db: DatabaseDep,
    currency: CurrencyQuery = None,
    limit: Annotated[int, Query(ge=1, le=service.page_size_max)] = 50,
    cursor: Annotated[
        str | None,
        Query(max_length=cursor_length_max, description="`next_cursor` of the previous page"),
    ] = None,
) -> AccountEntriesPage:
    """The account's entries, newest first, each with the balance right after it.

    `currency` is required when the account holds several currencies.
    """
    _authorize_account(principal, code, currency)
    _check_currency(currency)
    page = service.account_history(
        db, code, currency=currency, before_version=_decode_cursor(cursor), limit=limit
    )
    next_before = page.next_before_version
    return AccountEntriesPage(
        code=code,
        entries=[_history_line_public(line) for line in page.lines],
        next_cursor=None if next_before is None else _encode_cursor(next_before),
    )


# --- parsing -------------------------------------------------------------------------------


@contextmanager
def _at(field: str) -> Iterator[None]:
    """Name the request field an `InvalidInput` raised in the block is about."""
    try:
        yield
    except InvalidInput as error:
        error.context.setdefault("field", field)
        raise


def _transaction_request(
    body: TransactionCreate, *, idempotency_key: str, field: str, index: int | None = None
) -> TransactionRequest:
    try:
        entries = tuple(
            _entry_request(entry, field=f"{field}.entries.{leg}")
            for leg, entry in enumerate(body.entries)
        )
    except InvalidInput as error:
        if index is not None:
            error.context.setdefault("index", index)
        raise
    return TransactionRequest(
        idempotency_key=idempotency_key,
        kind=body.kind,
        entries=entries,
        effective_at=body.effective_at,
        references=body.references,
        metadata=body.metadata,
        description=body.description,
    )


def _entry_request(entry: EntryCreate, *, field: str) -> EntryRequest:
    """One leg, checked field by field so that an error names the field at fault."""
    with _at(f"{field}.currency"):
        exponent(entry.currency)
    if entry.amount is not None:
        with _at(f"{field}.amount"):
            amount = Money.parse(entry.amount, entry.currency)
            if not amount.is_positive():
                raise InvalidInput(
                    f"an entry's amount must be positive, got {amount}", code="amount_not_positive"
                )
    else:
        assert entry.amount_minor is not None  # the schema requires exactly one of the two
        with _at(f"{field}.amount_minor"):
            amount = Money(entry.amount_minor, entry.currency)
    with _at(f"{field}.account"):
        account_rule(entry.account, entry.currency)
    return EntryRequest(entry.account, entry.side, amount)


def _check_currency(currency: str | None) -> None:
    if currency is not None:
        with _at("query.currency"):
            exponent(currency)


def _encode_cursor(before_version: int) -> str:
    return encode_cursor(str(before_version))


def _before_version(parts: list[str]) -> int:
    digits = one_part(parts)
    if not digits.isdigit() or int(digits) < 1:
        raise ValueError(digits)
    return int(digits)


def _decode_cursor(cursor: str | None) -> int | None:
    """The `before_version` of a cursor; `InvalidInput(invalid_cursor)` if it is not ours."""
    return decode_cursor(cursor, _before_version)


# --- authorization -------------------------------------------------------------------------


def _authorize_account(principal: Principal, code: str, currency: str | None) -> None:
    """Sellers see their own accounts only, and learn nothing of others: 404 as if missing."""
    if may_read_account(principal, code):
        return
    if principal.role is Role.SELLER:
        raise NotFound(
            f"no account {code}" + (f" in {currency}" if currency else ""),
            code="account_not_found",
        )
    raise permission_denied(principal, Permission.LEDGER_READ)


# --- answers -------------------------------------------------------------------------------


def _answer_write(
    request: Request, response: Response, transaction: service.Transaction, *, replayed: bool
) -> None:
    response.headers["Location"] = request.app.url_path_for(
        "get_transaction", transaction_id=str(transaction.id)
    )
    if replayed:
        response.status_code = 200
        response.headers[REPLAYED_HEADER] = "true"


def _transaction_public(transaction: service.Transaction) -> TransactionPublic:
    return TransactionPublic(
        id=transaction.id,
        idempotency_key=transaction.idempotency_key,
        kind=transaction.kind,
        description=transaction.description,
        effective_at=transaction.effective_at,
        posted_at=transaction.posted_at,
        reverses_id=transaction.reverses_id,
        references=dict(transaction.references),
        metadata=dict(transaction.metadata),
        entries=[
            EntryPublic(
                leg=entry.leg,
                account=entry.account,
                side=entry.side,
                amount=MoneyOut.of(entry.amount),
                account_version=entry.account_version,
                balance_after=MoneyOut.of(entry.balance_after),
            )
            for entry in transaction.entries
        ],
    )


def _batch_result(result: service.PostResult, *, instance: str) -> BatchResultPublic:
    return BatchResultPublic(
        idempotency_key=result.idempotency_key,
        status=result.status.value,
        transaction_id=result.transaction_id,
        problem=None if result.error is None else error_problem(result.error, instance=instance),
    )


def _balance_public(balance: service.AccountBalance) -> BalancePublic:
    flags: list[AccountFlag] = []
    if balance.debits_must_not_exceed_credits:
        flags.append("debits_must_not_exceed_credits")
    if balance.credits_must_not_exceed_debits:
        flags.append("credits_must_not_exceed_debits")
    return BalancePublic(
        currency=balance.currency,
        exponent=balance.balance.exponent,
        kind=AccountKind(balance.kind),
        normal_side=balance.normal_side,
        flags=flags,
        debits_posted=MoneyOut.of(balance.debits_posted),
        credits_posted=MoneyOut.of(balance.credits_posted),
        balance=MoneyOut.of(balance.balance),
        version=balance.version,
    )


def _history_line_public(line: service.HistoryLine) -> HistoryLinePublic:
    return HistoryLinePublic(
        transaction_id=line.transaction_id,
        kind=line.kind,
        description=line.description,
        side=line.side,
        amount=MoneyOut.of(line.amount),
        balance_after=MoneyOut.of(line.balance_after),
        account_version=line.account_version,
        effective_at=line.effective_at,
        posted_at=line.posted_at,
        references=dict(line.references),
    )
