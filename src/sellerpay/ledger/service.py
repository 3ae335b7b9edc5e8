"""Use cases of the ledger: post transactions (one or a batch), reverse one, read balances and
history, and verify the whole journal.

Posting is one code path for one transaction or ten thousand (`post_many`): the accounts of the
batch are opened if the chart allows, locked once in id order (so concurrent batches never
deadlock), the idempotency keys looked up, every transaction checked against the running
balances in memory, then the transactions and entries written in bulk (`COPY` on PostgreSQL)
and each account's balance updated once. Errors a caller can get:

- `InvalidInput` (and `LimitExceeded`): a malformed request; nothing is stored.
- per transaction in `PostResult.error`: `Conflict(idempotency_key_reused)` when a key was used
  with another body, `FlagViolation` when an account flag would break.
- `NotFound`, `Conflict(already_reversed)` from `reverse_transaction`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any, Final
from uuid import UUID

from psycopg import RawCursor
from psycopg.rows import namedtuple_row
from sqlalchemy import Connection, and_, bindparam, func, literal, select, text, tuple_, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from sellerpay.clock import Clock, ensure_utc
from sellerpay.db import Database
from sellerpay.errors import (
    Conflict,
    InvalidInput,
    LimitExceeded,
    NotFound,
    Rejected,
    SellerpayError,
    invariant,
)
from sellerpay.ids import uuid7
from sellerpay.ledger import models
from sellerpay.ledger.rules import (
    BalanceState,
    EntryRequest,
    FlagViolation,
    JsonScalar,
    Side,
    TransactionRequest,
    account_rule,
    flag_breach,
    reversal_of,
    validate_transaction,
)
from sellerpay.money import AMOUNT_MINOR_MAX, Money

batch_size_max: Final = 10_000
page_size_max: Final = 500
_lookup_chunk_size: Final = 400  # (code, currency) pairs per lookup on SQLite's bind limit
# PostgreSQL, up to this many transactions: plain statements on the driver's cursor and one
# statement for all the writes (COPY costs two round trips per table; SQLAlchemy's work per
# statement costs more than the database's at this size). Above it, arrays and COPY win.
_small_batch_max: Final = 8  # measured: ahead up to 8, even at 16, behind at 32
_small_lookup_max: Final = 64  # accounts looked up with plain parameters, not arrays

AccountKey = tuple[str, str]  # (code, currency)


class PostStatus(StrEnum):
    POSTED = "posted"
    REPLAYED = "replayed"  # the key was posted before with the same body: the original stands
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class PostResult:
    """What happened to one transaction of a batch."""

    status: PostStatus
    idempotency_key: str
    transaction_id: UUID | None
    error: SellerpayError | None = None


@dataclass(frozen=True, slots=True)
class PostedEntry:
    leg: int
    account: str
    side: Side
    amount: Money
    account_version: int
    balance_after: Money


@dataclass(frozen=True, slots=True)
class Transaction:
    """A posted transaction, as stored."""

    id: UUID
    idempotency_key: str
    kind: str
    description: str
    effective_at: datetime
    posted_at: datetime
    reverses_id: UUID | None
    references: Mapping[str, str]
    metadata: Mapping[str, JsonScalar]
    entries: tuple[PostedEntry, ...]


@dataclass(frozen=True, slots=True)
class AccountBalance:
    """One account (a code in one currency) and its balance, now or as of a moment."""

    code: str
    currency: str
    kind: str
    normal_side: Side
    debits_must_not_exceed_credits: bool
    credits_must_not_exceed_debits: bool
    debits_posted: Money
    credits_posted: Money
    balance: Money
    version: int
    as_of: datetime | None


@dataclass(frozen=True, slots=True)
class HistoryLine:
    """One entry of an account's history, with the account's balance right after it."""

    transaction_id: UUID
    kind: str
    description: str
    effective_at: datetime
    posted_at: datetime
    side: Side
    amount: Money
    balance_after: Money
    account_version: int
    references: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class HistoryPage:
    lines: tuple[HistoryLine, ...]
    next_before_version: int | None  # pass back to read older lines; None when there are none


@dataclass(slots=True)
class _Prepared:
    request: TransactionRequest
    fingerprint: str
    reverses_id: UUID | None = None


@dataclass(slots=True)
class _LockedAccount:
    id: int
    state: BalanceState
    original_version: int


@dataclass(slots=True)
class _Rows:
    transactions: list[tuple[Any, ...]] = field(default_factory=list)
    entries: list[tuple[Any, ...]] = field(default_factory=list)


_TXN_COLUMNS: Final = (
    "id",
    "idempotency_key",
    "request_hash",
    "kind",
    "description",
    "effective_at",
    "posted_at",
    "reverses_id",
    "references",
    "metadata",
)
_ENTRY_COLUMNS: Final = (
    "transaction_id",
    "leg",
    "account_id",
    "side",
    "amount_minor",
    "currency",
    "account_version",
    "balance_after",
    "effective_at",
)
# Column types for binary COPY, in the order of _TXN_COLUMNS and _ENTRY_COLUMNS (binary rows
# cost PostgreSQL less to read than text; psycopg dumps the JSON columns with `json.dumps`).
_TXN_COPY_TYPES: Final = (
    "uuid", "varchar", "varchar", "varchar", "varchar", "timestamptz", "timestamptz", "uuid",
    "jsonb", "jsonb",
)  # fmt: skip
_ENTRY_COPY_TYPES: Final = (
    "uuid", "int4", "int8", "varchar", "int8", "varchar", "int8", "int8", "timestamptz",
)  # fmt: skip


# --- posting -------------------------------------------------------------------------------


def prepare(requests: Sequence[TransactionRequest]) -> list[_Prepared]:
    """Validate a batch (all or nothing) and fingerprint each request."""
    if len(requests) > batch_size_max:
        raise LimitExceeded(
            f"a batch holds at most {batch_size_max} transactions, got {len(requests)}",
            code="batch_size_max",
        )
    prepared = []
    for index, request in enumerate(requests):
        try:
            validate_transaction(request)
        except InvalidInput as error:
            error.context.setdefault("index", index)
            raise
        prepared.append(_Prepared(request, request.fingerprint()))
    return prepared


def post_many(
    db: Database, requests: Sequence[TransactionRequest], *, clock: Clock
) -> list[PostResult]:
    """Post a batch in one unit of work; one result per request, in order.

    A rejected transaction (reused key, account flag) does not stop the others: each is
    decided against the balances left by those before it, as if posted one by one.
    """
    prepared = prepare(requests)
    if not prepared:
        return []
    return db.run(
        lambda conn: _post_prepared(conn, prepared, now=clock.now(), dialect=db.dialect),
        retry_unique_violations=True,
    )


def post_many_in(
    conn: Connection, requests: Sequence[TransactionRequest], *, now: datetime
) -> list[PostResult]:
    """`post_many` inside a caller's unit of work (the caller retries transient failures)."""
    dialect = "postgresql" if conn.dialect.name == "postgresql" else "sqlite"
    return _post_prepared(conn, prepare(requests), now=now, dialect=dialect)


def post_transaction(
    db: Database, request: TransactionRequest, *, clock: Clock
) -> tuple[Transaction, bool]:
    """Post one transaction; returns it and whether it was a replay of an earlier post.

    Raises the transaction's error (`Conflict`, `FlagViolation`) when it was rejected.
    """
    (result,) = post_many(db, [request], clock=clock)
    return _result_transaction(db, result), result.status is PostStatus.REPLAYED


def reverse_transaction(
    db: Database,
    transaction_id: UUID,
    *,
    clock: Clock,
    idempotency_key: str | None = None,
    description: str = "",
) -> tuple[Transaction, bool]:
    """Post the mirror of a transaction, once; returns the reversal and whether it was a replay.

    The reversal is effective when posted (a correction happens now; the original keeps its
    date). Reversing again with the same key replays; with another key it is a conflict.
    """
    key = idempotency_key or f"reversal:{transaction_id}"

    def work(conn: Connection) -> PostResult:
        if db.dialect == "postgresql":
            # Reversers of one transaction queue on its row, so a loser sees the winner's
            # reversal below (already_reversed) instead of racing it to `reverses_id`.
            t = models.transactions.c
            conn.execute(select(t.id).where(t.id == transaction_id).with_for_update(key_share=True))
        original = _load_transaction(conn, transaction_id)
        already = conn.execute(
            select(models.transactions.c.id, models.transactions.c.idempotency_key).where(
                models.transactions.c.reverses_id == transaction_id
            )
        ).first()
        if already is not None and already.idempotency_key != key:
            raise Conflict(
                f"transaction {transaction_id} was already reversed by {already.id}",
                code="already_reversed",
                reversal_id=str(already.id),
            )
        request = TransactionRequest(
            idempotency_key=key,
            kind="reversal",
            entries=reversal_of(
                [EntryRequest(e.account, e.side, e.amount) for e in original.entries]
            ),
            references={"reverses": str(transaction_id)},
            description=description or f"reversal of {original.kind} {transaction_id}",
        )
        validate_transaction(request)
        prepared = _Prepared(request, request.fingerprint(), reverses_id=transaction_id)
        (result,) = _post_prepared(conn, [prepared], now=clock.now(), dialect=db.dialect)
        return result

    result = db.run(work, retry_unique_violations=True)
    return _result_transaction(db, result), result.status is PostStatus.REPLAYED


def _result_transaction(db: Database, result: PostResult) -> Transaction:
    if result.error is not None:
        raise result.error
    invariant(result.transaction_id is not None, "a posted result carries its transaction id")
    assert result.transaction_id is not None  # for the type checker
    return get_transaction(db, result.transaction_id)


def _post_prepared(
    conn: Connection, prepared: Sequence[_Prepared], *, now: datetime, dialect: str
) -> list[PostResult]:
    now = ensure_utc(now)
    keys = sorted({(e.account, e.amount.currency) for p in prepared for e in p.request.entries})
    locked, opened = _lock_accounts(conn, keys, now=now, dialect=dialect)
    existing = _existing_keys(conn, [p.request.idempotency_key for p in prepared], dialect)
    rows = _Rows()
    results = [_decide(p, locked, existing, rows, now) for p in prepared]
    if opened:
        _close_unused(conn, locked, opened)
    if rows.transactions:
        changed = [a for a in locked.values() if a.state.version != a.original_version]
        if dialect == "postgresql" and len(rows.transactions) <= _small_batch_max:
            _write_small_batch(conn, rows, changed, now=now)
        else:
            _insert_rows(conn, rows, dialect)
            _update_balances(conn, changed, now=now, dialect=dialect)
    return results


def _decide(
    p: _Prepared,
    locked: dict[AccountKey, _LockedAccount],
    existing: dict[str, tuple[UUID, str]],
    rows: _Rows,
    now: datetime,
) -> PostResult:
    """Decide one transaction against the running balances; on success, append its rows."""
    request = p.request
    key = request.idempotency_key
    if key in existing:
        original_id, original_hash = existing[key]
        if original_hash == p.fingerprint:
            return PostResult(PostStatus.REPLAYED, key, original_id)
        error = Conflict(
            f"idempotency key {key!r} was used for another request",
            code="idempotency_key_reused",
            transaction_id=str(original_id),
        )
        return PostResult(PostStatus.REJECTED, key, None, error)
    totals: dict[AccountKey, list[int]] = {}
    for entry in request.entries:
        debit_credit = totals.setdefault((entry.account, entry.amount.currency), [0, 0])
        debit_credit[0 if entry.side is Side.DEBIT else 1] += entry.amount.amount_minor
    for account_key, (debits, credits) in totals.items():
        state = locked[account_key].state
        if max(state.debits_posted + debits, state.credits_posted + credits) > AMOUNT_MINOR_MAX:
            overflow = Rejected(
                f"{account_key[0]} ({account_key[1]}) totals would exceed {AMOUNT_MINOR_MAX} "
                "minor units",
                code="account_totals_max",
                account=account_key[0],
                currency=account_key[1],
            )
            return PostResult(PostStatus.REJECTED, key, None, overflow)
        breach = flag_breach(state, debits, credits)
        if breach is not None:
            violation = FlagViolation(
                f"{account_key[0]} ({account_key[1]}) would break {breach}",
                code=breach,
                account=account_key[0],
                currency=account_key[1],
            )
            return PostResult(PostStatus.REJECTED, key, None, violation)
    transaction_id = uuid7()
    effective_at = ensure_utc(request.effective_at) if request.effective_at else now
    existing[key] = (transaction_id, p.fingerprint)  # a repeat later in this batch replays
    rows.transactions.append(
        (
            transaction_id,
            key,
            p.fingerprint,
            request.kind,
            request.description,
            effective_at,
            now,
            p.reverses_id,
            dict(request.references),
            dict(request.metadata),
        )
    )
    for leg, entry in enumerate(request.entries):
        account = locked[(entry.account, entry.amount.currency)]
        state = account.state
        amount = entry.amount.amount_minor
        if entry.side is Side.DEBIT:
            state.debits_posted += amount
        else:
            state.credits_posted += amount
        state.version += 1
        rows.entries.append(
            (
                transaction_id,
                leg,
                account.id,
                entry.side.value,
                amount,
                entry.amount.currency,
                state.version,
                state.balance,
                effective_at,
            )
        )
    return PostResult(PostStatus.POSTED, key, transaction_id)


def _lock_accounts(
    conn: Connection, keys: Sequence[AccountKey], *, now: datetime, dialect: str
) -> tuple[dict[AccountKey, _LockedAccount], list[AccountKey]]:
    """Open missing accounts (where the chart allows), then lock all of them in id order.

    Returns the locked accounts and the keys that had to be opened for this batch.
    """
    found = _select_accounts(conn, keys, dialect, lock=True)
    missing = [k for k in keys if k not in found]
    if missing:
        _open_accounts(conn, missing, now=now, dialect=dialect)
        found.update(_select_accounts(conn, missing, dialect, lock=True))
    invariant(len(found) == len(keys), "every account of a batch is opened and locked")
    return found, missing


def _close_unused(
    conn: Connection, locked: dict[AccountKey, _LockedAccount], opened: Sequence[AccountKey]
) -> None:
    """Remove the accounts this batch opened but no posted transaction used: a refused
    transaction leaves nothing behind, not even an empty account."""
    unused = [locked[k].id for k in opened if locked[k].state.version == 0]
    if unused:
        a = models.accounts.c
        conn.execute(models.accounts.delete().where(a.id.in_(unused), a.version == 0))


def _select_accounts(
    conn: Connection, keys: Sequence[AccountKey], dialect: str, *, lock: bool
) -> dict[AccountKey, _LockedAccount]:
    a = models.accounts.c
    columns = (
        a.id,
        a.code,
        a.currency,
        a.debits_posted,
        a.credits_posted,
        a.version,
        a.debits_must_not_exceed_credits,
        a.credits_must_not_exceed_debits,
        a.normal_side,
    )
    result: dict[AccountKey, _LockedAccount] = {}
    chunks: list[Iterable[Any]]  # rows with the columns' names as attributes
    if dialect == "postgresql":  # on the driver's cursor: rows are cheaper to read there
        small = len(keys) <= _small_lookup_max
        statement = _accounts_statement(
            ", ".join(c.name for c in columns), len(keys) if small else 0, lock=lock
        )
        params: list[Any] = (
            [part for key in keys for part in key]
            if small
            else [[k[0] for k in keys], [k[1] for k in keys]]
        )
        chunks = [_driver_execute(conn, statement, params, prepare=None if small else False)[0]]
    else:  # SQLite: the writer already holds the database lock (BEGIN IMMEDIATE)
        chunks = [
            conn.execute(
                select(*columns).where(
                    tuple_(a.code, a.currency).in_(keys[i : i + _lookup_chunk_size])
                )
            )
            for i in range(0, len(keys), _lookup_chunk_size)
        ]
    for chunk in chunks:
        for row in chunk:
            invariant(row.debits_posted >= 0 and row.credits_posted >= 0, "totals never negative")
            state = BalanceState(
                row.debits_posted,
                row.credits_posted,
                row.version,
                row.debits_must_not_exceed_credits,
                row.credits_must_not_exceed_debits,
                Side(row.normal_side),
            )
            result[(row.code, row.currency)] = _LockedAccount(row.id, state, row.version)
    return result


def _open_accounts(
    conn: Connection, keys: Sequence[AccountKey], *, now: datetime, dialect: str
) -> None:
    rows: list[dict[str, Any]] = []
    for code, currency in keys:
        rule = account_rule(code, currency)
        rows.append(
            {
                "code": code,
                "currency": currency,
                "kind": rule.kind.value,
                "normal_side": rule.normal_side.value,
                "debits_must_not_exceed_credits": rule.debits_must_not_exceed_credits,
                "credits_must_not_exceed_debits": rule.credits_must_not_exceed_debits,
                "debits_posted": 0,
                "credits_posted": 0,
                "version": 0,
                "metadata": {},
                "created_at": now,
                "updated_at": now,
            }
        )
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(models.accounts).on_conflict_do_nothing(index_elements=["code", "currency"])
    conn.execute(statement, rows)


def _existing_keys(
    conn: Connection, keys: Sequence[str], dialect: str
) -> dict[str, tuple[UUID, str]]:
    t = models.transactions.c
    columns = (t.idempotency_key, t.id, t.request_hash)
    if dialect == "postgresql":
        rows, _ = (
            _driver_execute(conn, _ONE_KEY_STATEMENT, keys)
            if len(keys) == 1
            else _driver_execute(conn, _KEYS_STATEMENT, [list(keys)], prepare=False)
        )
        return {row.idempotency_key: (row.id, row.request_hash) for row in rows}
    result: dict[str, tuple[UUID, str]] = {}
    for i in range(0, len(keys), _lookup_chunk_size):
        chunk = keys[i : i + _lookup_chunk_size]
        for row in conn.execute(select(*columns).where(t.idempotency_key.in_(chunk))):
            result[row.idempotency_key] = (row.id, row.request_hash)
    return result


def _insert_rows(conn: Connection, rows: _Rows, dialect: str) -> None:
    if dialect == "postgresql":
        driver = conn.connection.driver_connection
        assert driver is not None
        driver_error = conn.dialect.loaded_dbapi.Error
        try:
            with driver.cursor() as cursor:
                columns = ", ".join(f'"{c}"' for c in _TXN_COLUMNS)
                with cursor.copy(
                    f"COPY ledger_transactions ({columns}) FROM STDIN (FORMAT BINARY)"
                ) as copy:
                    copy.set_types(_TXN_COPY_TYPES)
                    for t in rows.transactions:
                        copy.write_row(t)
                columns = ", ".join(_ENTRY_COLUMNS)
                with cursor.copy(
                    f"COPY ledger_entries ({columns}) FROM STDIN (FORMAT BINARY)"
                ) as copy:
                    copy.set_types(_ENTRY_COPY_TYPES)
                    for e in rows.entries:
                        copy.write_row(e)
        except driver_error as error:
            # COPY goes around SQLAlchemy, which would have wrapped the driver's error: wrap it
            # here, so `Database.run` retries a lost race on a unique key like any other.
            raise DBAPIError.instance("COPY", None, error, driver_error) from error
        return
    conn.execute(
        models.transactions.insert(),
        [dict(zip(_TXN_COLUMNS, t, strict=True)) for t in rows.transactions],
    )
    conn.execute(
        models.entries.insert(), [dict(zip(_ENTRY_COLUMNS, e, strict=True)) for e in rows.entries]
    )


def _driver_execute(
    conn: Connection,
    statement: str,
    params: Sequence[Any],
    *,
    fetch: bool = True,
    prepare: bool | None = None,
) -> tuple[list[Any], int]:
    """Run `statement` ($1… placeholders, sent as they are) on the driver's connection.

    Returns its rows (named tuples, if `fetch`) and row count. Errors are wrapped as SQLAlchemy
    wraps them, so `Database.run` retries the transient ones. `prepare=False` plans it anew
    each time: a lookup by an array of unknown length must not keep a generic plan chosen
    while the table was small (a sequential scan, then paid on every batch as the table grows).
    """
    driver = conn.connection.driver_connection
    assert driver is not None
    driver_error = conn.dialect.loaded_dbapi.Error
    try:
        with RawCursor(driver, row_factory=namedtuple_row) as cursor:
            cursor.execute(statement, params, prepare=prepare)
            return (cursor.fetchall() if fetch else []), cursor.rowcount
    except driver_error as error:
        raise DBAPIError.instance(statement, None, error, driver_error) from error


def _numbered(template: str, rows: int, first: int) -> str:
    """`rows` copies of `template`, comma-separated, its `?`s numbered $first, $first + 1, …"""
    parts = template.split("?")
    width = len(parts) - 1
    return ", ".join(
        parts[0] + "".join(f"${first + row * width + i}{parts[i + 1]}" for i in range(width))
        for row in range(rows)
    )


@lru_cache(maxsize=256)
def _accounts_statement(columns: str, pairs: int, *, lock: bool) -> str:
    """Accounts by (code, currency): `pairs` pairs of parameters, or two arrays when 0."""
    wanted = (
        _numbered("(?, ?)", pairs, 1) if pairs else "SELECT * FROM unnest($1::text[], $2::text[])"
    )
    return (
        f"SELECT {columns} FROM ledger_accounts WHERE (code, currency) IN ({wanted})"
        f" ORDER BY id{' FOR UPDATE' if lock else ''}"
    )


_ONE_KEY_STATEMENT: Final = (
    "SELECT idempotency_key, id, request_hash FROM ledger_transactions WHERE idempotency_key = $1"
)
# One probe of the unique index per key (LIMIT 1 keeps the planner from making it a join):
# `= ANY(array)` or `IN (…)` of many keys is planned as a sequential scan while the table is
# young and unanalyzed, a cost that then grows with every batch posted.
_KEYS_STATEMENT: Final = (
    "SELECT t.idempotency_key, t.id, t.request_hash FROM unnest($1::text[]) AS k(key)"
    " CROSS JOIN LATERAL (SELECT idempotency_key, id, request_hash FROM ledger_transactions"
    " WHERE idempotency_key = k.key LIMIT 1) AS t"
)


@lru_cache(maxsize=256)
def _small_batch_statement(transactions: int, entries: int, accounts: int) -> str:
    """Insert the transactions and entries and update the balances, in one statement."""
    entries_first = 1 + transactions * len(_TXN_COLUMNS)
    now_number = entries_first + entries * len(_ENTRY_COLUMNS)
    transaction_columns = ", ".join(f'"{c}"' for c in _TXN_COLUMNS)
    return (
        f"WITH t AS (INSERT INTO ledger_transactions ({transaction_columns}) VALUES "
        + _numbered("(?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?::jsonb)", transactions, 1)
        + f"), e AS (INSERT INTO ledger_entries ({', '.join(_ENTRY_COLUMNS)}) VALUES "
        + _numbered("(" + ", ".join(["?"] * len(_ENTRY_COLUMNS)) + ")", entries, entries_first)
        + ") UPDATE ledger_accounts AS a SET debits_posted = v.d, credits_posted = v.c,"
        f" version = v.ver, updated_at = ${now_number} FROM (VALUES "
        + _numbered(
            "(?::bigint, ?::bigint, ?::bigint, ?::bigint, ?::bigint)", accounts, now_number + 1
        )
        + ") AS v(id, d, c, ver, old) WHERE a.id = v.id AND a.version = v.old"
    )


def _write_small_batch(
    conn: Connection, rows: _Rows, changed: Sequence[_LockedAccount], *, now: datetime
) -> None:
    """PostgreSQL, a few transactions: the rows of `_insert_rows` and the netted updates of
    `_update_balances` in one statement, one round trip (the same rows, checks and guard)."""
    params: list[Any] = []
    for t in rows.transactions:
        params.extend((*t[:8], json.dumps(t[8]), json.dumps(t[9])))
    for e in rows.entries:
        params.extend(e)
    params.append(now)
    for a in changed:
        state = a.state
        params.extend(
            (a.id, state.debits_posted, state.credits_posted, state.version, a.original_version)
        )
    statement = _small_batch_statement(len(rows.transactions), len(rows.entries), len(changed))
    _, updated = _driver_execute(conn, statement, params, fetch=False)
    invariant(updated == len(changed), f"updated {updated} balances of {len(changed)} locked")


def _update_balances(
    conn: Connection, changed: Sequence[_LockedAccount], *, now: datetime, dialect: str
) -> None:
    """One netted update per account; the `version` guard proves nobody wrote behind our lock."""
    if dialect == "postgresql":
        result = conn.execute(
            text(
                "UPDATE ledger_accounts AS a SET debits_posted = v.d, credits_posted = v.c,"
                " version = v.ver, updated_at = :now"
                " FROM unnest(CAST(:ids AS bigint[]), CAST(:d AS bigint[]), CAST(:c AS bigint[]),"
                " CAST(:ver AS bigint[]), CAST(:old AS bigint[])) AS v(id, d, c, ver, old)"
                " WHERE a.id = v.id AND a.version = v.old"
            ),
            {
                "now": now,
                "ids": [a.id for a in changed],
                "d": [a.state.debits_posted for a in changed],
                "c": [a.state.credits_posted for a in changed],
                "ver": [a.state.version for a in changed],
                "old": [a.original_version for a in changed],
            },
        )
        updated = result.rowcount
    else:
        c = models.accounts.c
        statement = (
            models.accounts.update()
            .where(and_(c.id == bindparam("b_id"), c.version == bindparam("b_old")))
            .values(
                debits_posted=bindparam("b_d"),
                credits_posted=bindparam("b_c"),
                version=bindparam("b_ver"),
                updated_at=now,
            )
        )
        params = [
            {
                "b_id": a.id,
                "b_old": a.original_version,
                "b_d": a.state.debits_posted,
                "b_c": a.state.credits_posted,
                "b_ver": a.state.version,
            }
            for a in changed
        ]
        updated = conn.execute(statement, params).rowcount
    invariant(updated == len(changed), f"updated {updated} balances of {len(changed)} locked")


# --- reading -------------------------------------------------------------------------------


def get_transaction(db: Database, transaction_id: UUID) -> Transaction:
    """The transaction with its entries; `NotFound` if there is none."""
    with db.reading() as conn:
        return _load_transaction(conn, transaction_id)


def _load_transaction(conn: Connection, transaction_id: UUID) -> Transaction:
    t, e, a = models.transactions.c, models.entries.c, models.accounts.c
    head = conn.execute(select(models.transactions).where(t.id == transaction_id)).first()
    if head is None:
        raise NotFound(f"no transaction {transaction_id}", code="transaction_not_found")
    legs = conn.execute(
        select(
            e.leg, a.code, e.side, e.amount_minor, e.currency, e.account_version, e.balance_after
        )
        .join(models.accounts, a.id == e.account_id)
        .where(e.transaction_id == transaction_id)
        .order_by(e.leg)
    ).all()
    entries = tuple(
        PostedEntry(
            leg=row.leg,
            account=row.code,
            side=Side(row.side),
            amount=Money(row.amount_minor, row.currency),
            account_version=row.account_version,
            balance_after=Money(row.balance_after, row.currency),
        )
        for row in legs
    )
    net: dict[str, int] = {}
    for entry in entries:
        sign = 1 if entry.side is Side.DEBIT else -1
        net[entry.amount.currency] = (
            net.get(entry.amount.currency, 0) + sign * entry.amount.amount_minor
        )
    invariant(len(entries) >= 2 and not any(net.values()), f"transaction {transaction_id} balances")
    return Transaction(
        id=head.id,
        idempotency_key=head.idempotency_key,
        kind=head.kind,
        description=head.description,
        effective_at=head.effective_at,
        posted_at=head.posted_at,
        reverses_id=head.reverses_id,
        references=head.references,
        metadata=head.metadata,
        entries=entries,
    )


def account_balances(
    db: Database, code: str, *, currency: str | None = None, as_of: datetime | None = None
) -> list[AccountBalance]:
    """The balances of the account `code`, one per currency (or only `currency`).

    `as_of` gives the balance from the entries effective at or before that moment, including
    entries posted later with an earlier effective time (a backdated correction counts).
    """
    a = models.accounts.c
    query = select(models.accounts).where(a.code == code).order_by(a.currency)
    if currency is not None:
        query = query.where(a.currency == currency)
    with db.reading() as conn:
        rows = conn.execute(query).all()
        if not rows:
            raise NotFound(
                f"no account {code}" + (f" in {currency}" if currency else ""),
                code="account_not_found",
            )
        totals = _totals_as_of(conn, [r.id for r in rows], ensure_utc(as_of)) if as_of else {}
    balances = []
    for row in rows:
        debits, credits, version = (
            totals.get(row.id, (0, 0, 0))
            if as_of
            else (row.debits_posted, row.credits_posted, row.version)
        )
        state = BalanceState(
            debits,
            credits,
            version,
            row.debits_must_not_exceed_credits,
            row.credits_must_not_exceed_debits,
            Side(row.normal_side),
        )
        balances.append(
            AccountBalance(
                code=row.code,
                currency=row.currency,
                kind=row.kind,
                normal_side=state.normal_side,
                debits_must_not_exceed_credits=row.debits_must_not_exceed_credits,
                credits_must_not_exceed_debits=row.credits_must_not_exceed_debits,
                debits_posted=Money(debits, row.currency),
                credits_posted=Money(credits, row.currency),
                balance=Money(state.balance, row.currency),
                version=version,
                as_of=as_of,
            )
        )
    return balances


def _totals_as_of(
    conn: Connection, account_ids: Sequence[int], as_of: datetime
) -> dict[int, tuple[int, int, int]]:
    e = models.entries.c
    debit = func.sum(func.coalesce(e.amount_minor, 0)).filter(e.side == Side.DEBIT.value)
    credit = func.sum(func.coalesce(e.amount_minor, 0)).filter(e.side == Side.CREDIT.value)
    query = (
        select(e.account_id, debit, credit, func.count())
        .where(e.account_id.in_(account_ids), e.effective_at <= as_of)
        .group_by(e.account_id)
    )
    # SUM of a BIGINT is NUMERIC on PostgreSQL (a Decimal): Money takes ints only
    rows = conn.execute(query)
    return {row[0]: (int(row[1] or 0), int(row[2] or 0), int(row[3])) for row in rows}


def account_history(
    db: Database,
    code: str,
    *,
    currency: str | None = None,
    before_version: int | None = None,
    limit: int = 50,
) -> HistoryPage:
    """The account's entries, newest first, each with the running balance after it."""
    if not 1 <= limit <= page_size_max:
        raise InvalidInput(f"limit must be between 1 and {page_size_max}", code="invalid_limit")
    a, e, t = models.accounts.c, models.entries.c, models.transactions.c
    with db.reading() as conn:
        accounts = conn.execute(select(a.id, a.currency).where(a.code == code)).all()
        if currency is not None:
            accounts = [row for row in accounts if row.currency == currency]
        if not accounts:
            raise NotFound(
                f"no account {code}" + (f" in {currency}" if currency else ""),
                code="account_not_found",
            )
        if len(accounts) > 1:
            raise InvalidInput(
                f"{code} holds {', '.join(r.currency for r in accounts)}: say which currency",
                code="currency_required",
            )
        account_id, account_currency = accounts[0]
        query = (
            select(
                e.account_version,
                e.side,
                e.amount_minor,
                e.balance_after,
                e.effective_at,
                t.id,
                t.kind,
                t.description,
                t.posted_at,
                t.references,
            )
            .join(models.transactions, t.id == e.transaction_id)
            .where(e.account_id == account_id)
            .order_by(e.account_version.desc())
            .limit(limit + 1)
        )
        if before_version is not None:
            query = query.where(e.account_version < before_version)
        rows = conn.execute(query).all()
    lines = tuple(
        HistoryLine(
            transaction_id=row.id,
            kind=row.kind,
            description=row.description,
            effective_at=row.effective_at,
            posted_at=row.posted_at,
            side=Side(row.side),
            amount=Money(row.amount_minor, account_currency),
            balance_after=Money(row.balance_after, account_currency),
            account_version=row.account_version,
            references=row.references,
        )
        for row in rows[:limit]
    )
    more = len(rows) > limit
    return HistoryPage(lines, lines[-1].account_version if more and lines else None)


# --- verification --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Breach:
    """One broken ledger invariant found by `verify_ledger`."""

    check: str
    subject: str
    detail: str


@dataclass(frozen=True, slots=True)
class VerifyReport:
    transactions: int
    entries: int
    accounts: int
    trial_balance: Mapping[str, tuple[int, int]]  # currency -> (debits, credits)
    breaches: tuple[Breach, ...]

    @property
    def ok(self) -> bool:
        return not self.breaches


_VERIFY_CHECKS: Final[tuple[tuple[str, str, str], ...]] = (
    (
        "transaction_balances",
        "a transaction's debits equal its credits in each currency",
        "SELECT transaction_id, currency,"
        " SUM(CASE side WHEN 'debit' THEN amount_minor ELSE -amount_minor END)"
        " FROM ledger_entries GROUP BY transaction_id, currency"
        " HAVING SUM(CASE side WHEN 'debit' THEN amount_minor ELSE -amount_minor END) <> 0",
    ),
    (
        "transaction_has_entries",
        "a transaction has at least two entries",
        "SELECT t.id, COUNT(e.leg), 0 FROM ledger_transactions t"
        " LEFT JOIN ledger_entries e ON e.transaction_id = t.id GROUP BY t.id"
        " HAVING COUNT(e.leg) < 2",
    ),
    (
        "entry_currency",
        "an entry is in its account's currency",
        "SELECT e.transaction_id, e.leg, e.currency FROM ledger_entries e"
        " JOIN ledger_accounts a ON a.id = e.account_id WHERE a.currency <> e.currency",
    ),
    (
        "balance_equals_entries",
        "an account's stored totals and version equal the sum and count of its entries",
        "SELECT a.code || ' ' || a.currency, 'stored', a.debits_posted || '/' || a.credits_posted"
        " || ' v' || a.version || ' vs entries ' || COALESCE(s.d, 0) || '/' || COALESCE(s.c, 0)"
        " || ' n' || COALESCE(s.n, 0) || ' max v' || COALESCE(s.v, 0)"
        " FROM ledger_accounts a LEFT JOIN ("
        "  SELECT account_id,"
        "   SUM(CASE side WHEN 'debit' THEN amount_minor ELSE 0 END) AS d,"
        "   SUM(CASE side WHEN 'credit' THEN amount_minor ELSE 0 END) AS c,"
        "   COUNT(*) AS n, MAX(account_version) AS v"
        "  FROM ledger_entries GROUP BY account_id) s ON s.account_id = a.id"
        " WHERE a.debits_posted <> COALESCE(s.d, 0) OR a.credits_posted <> COALESCE(s.c, 0)"
        "  OR a.version <> COALESCE(s.n, 0) OR a.version <> COALESCE(s.v, 0)",
    ),
    (
        "account_flags",
        "flagged accounts never went beyond their limit",
        "SELECT code || ' ' || currency, debits_posted, credits_posted FROM ledger_accounts"
        " WHERE (debits_must_not_exceed_credits AND debits_posted > credits_posted)"
        "  OR (credits_must_not_exceed_debits AND credits_posted > debits_posted)",
    ),
    (
        "running_balance",
        "each entry's balance_after is the account's balance after it",
        "SELECT transaction_id, leg, balance_after || ' vs ' || running FROM ("
        " SELECT e.transaction_id, e.leg, e.balance_after,"
        "  SUM(CASE WHEN e.side = a.normal_side THEN e.amount_minor ELSE -e.amount_minor END)"
        "   OVER (PARTITION BY e.account_id ORDER BY e.account_version) AS running"
        " FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id) r"
        " WHERE balance_after <> running",
    ),
)
breaches_listed_max: Final = 100


def verify_ledger(db: Database, *, on_check: Callable[[str], None] | None = None) -> VerifyReport:
    """Recompute every balance from the entries and check every transaction balances."""
    breaches: list[Breach] = []
    with db.reading() as conn:
        for name, rule, sql in _VERIFY_CHECKS:
            if on_check is not None:
                on_check(rule)
            for row in conn.execute(text(sql + f" LIMIT {breaches_listed_max}")):
                breaches.append(Breach(name, f"{row[0]} {row[1]}", f"{rule}: {row[2]}"))
        counts = conn.execute(
            text(
                "SELECT (SELECT COUNT(*) FROM ledger_transactions),"
                " (SELECT COUNT(*) FROM ledger_entries), (SELECT COUNT(*) FROM ledger_accounts)"
            )
        ).one()
        trial = {
            row[0]: (int(row[1] or 0), int(row[2] or 0))
            for row in conn.execute(
                text(
                    "SELECT currency, SUM(CASE side WHEN 'debit' THEN amount_minor ELSE 0 END),"
                    " SUM(CASE side WHEN 'credit' THEN amount_minor ELSE 0 END)"
                    " FROM ledger_entries GROUP BY currency ORDER BY currency"
                )
            )
        }
    for currency, (debits, credits) in trial.items():
        if debits != credits:
            breaches.append(
                Breach("trial_balance", currency, f"debits {debits} != credits {credits}")
            )
    return VerifyReport(counts[0], counts[1], counts[2], trial, tuple(breaches))


def balances_of(db: Database, keys: Sequence[AccountKey]) -> dict[AccountKey, Money]:
    """The current balance of many (code, currency) accounts in one read; zero if never used."""
    a = models.accounts.c
    found: dict[AccountKey, Money] = {k: Money(0, k[1]) for k in keys}
    with db.reading() as conn:
        for i in range(0, len(keys), _lookup_chunk_size):
            chunk = keys[i : i + _lookup_chunk_size]
            query = select(a.code, a.currency, a.debits_posted, a.credits_posted, a.normal_side)
            for row in conn.execute(query.where(tuple_(a.code, a.currency).in_(chunk))):
                net = row.credits_posted - row.debits_posted
                balance = net if row.normal_side == Side.CREDIT.value else -net
                found[(row.code, row.currency)] = Money(balance, row.currency)
    return found


# --- reading several accounts at once (a seller's balances and balance transactions) ---------

accounts_per_read_max: Final = 64


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """An account's balance now, and the latest effective time of its entries."""

    code: str
    currency: str
    balance: Money
    version: int
    last_entry_at: datetime | None


@dataclass(frozen=True, slots=True)
class JournalPosition:
    """Where an entry sits in the merged order: effective time, then posting order."""

    effective_at: datetime
    posted_at: datetime
    transaction_id: UUID  # UUIDv7: in creation order, which breaks ties of posted_at
    leg: int


@dataclass(frozen=True, slots=True)
class JournalFilter:
    """Which entries of which accounts: every currency unless `currency`, every kind unless
    `kinds`, effective in [`effective_from`, `effective_before`) when given."""

    codes: tuple[str, ...]
    currency: str | None = None
    kinds: tuple[str, ...] = ()
    effective_from: datetime | None = None
    effective_before: datetime | None = None


@dataclass(frozen=True, slots=True)
class JournalLine:
    """One entry of one of several accounts, with its transaction's labels and the running
    balance of its account right after it (in posting order, as `HistoryLine`)."""

    position: JournalPosition
    account: str
    kind: str
    description: str
    side: Side
    amount: Money
    balance_after: Money
    account_version: int
    references: Mapping[str, str]


def _check_codes(codes: Sequence[str]) -> None:
    if len(codes) > accounts_per_read_max:
        raise LimitExceeded(
            f"at most {accounts_per_read_max} accounts are read at once, got {len(codes)}",
            code="accounts_per_read_max",
        )


def account_snapshots(db: Database, codes: Sequence[str]) -> list[AccountSnapshot]:
    """Every currency of the accounts `codes`, in one query; accounts never opened are absent.

    The latest effective time reads each account's entries (no index on `effective_at` yet).
    """
    _check_codes(codes)
    a, e = models.accounts.c, models.entries.c
    latest = select(func.max(e.effective_at)).where(e.account_id == a.id).scalar_subquery()
    query = (
        select(a.code, a.currency, a.debits_posted, a.credits_posted, a.normal_side, a.version)
        .add_columns(latest.label("last_entry_at"))
        .where(a.code.in_(codes))
        .order_by(a.currency, a.code)
    )
    with db.reading() as conn:
        rows = conn.execute(query).all()
    snapshots = []
    for row in rows:
        net = row.credits_posted - row.debits_posted
        balance = net if row.normal_side == Side.CREDIT.value else -net
        snapshots.append(
            AccountSnapshot(
                row.code, row.currency, Money(balance, row.currency), row.version, row.last_entry_at
            )
        )
    return snapshots


def _journal_query(where: JournalFilter, *columns: Any) -> Any:
    e, a, t = models.entries.c, models.accounts.c, models.transactions.c
    query = (
        select(*columns)
        .select_from(
            models.entries.join(models.accounts, a.id == e.account_id).join(
                models.transactions, t.id == e.transaction_id
            )
        )
        .where(a.code.in_(where.codes))
    )
    if where.currency is not None:
        query = query.where(a.currency == where.currency)
    if where.kinds:
        query = query.where(t.kind.in_(where.kinds))
    if where.effective_from is not None:
        query = query.where(e.effective_at >= ensure_utc(where.effective_from))
    if where.effective_before is not None:
        query = query.where(e.effective_at < ensure_utc(where.effective_before))
    return query


def entries_of_accounts(
    db: Database,
    where: JournalFilter,
    *,
    after: JournalPosition | None = None,
    newest_first: bool = True,
    limit: int = 50,
) -> list[JournalLine]:
    """The entries of several accounts merged in one order — effective time, then posting order
    (posted_at, transaction id, leg) — newest or oldest first, starting after `after`."""
    if not 1 <= limit <= page_size_max:
        raise InvalidInput(f"limit must be between 1 and {page_size_max}", code="invalid_limit")
    _check_codes(where.codes)
    if not where.codes:
        return []
    e, a, t = models.entries.c, models.accounts.c, models.transactions.c
    order = (e.effective_at, t.posted_at, e.transaction_id, e.leg)
    query = _journal_query(
        where, *order, a.code, a.currency, t.kind, t.description, t.references
    ).add_columns(e.side, e.amount_minor, e.balance_after, e.account_version)
    if after is not None:
        values = (after.effective_at, after.posted_at, after.transaction_id, after.leg)
        bound = tuple_(*(literal(v, c.type) for v, c in zip(values, order, strict=True)))
        query = query.where(tuple_(*order) < bound if newest_first else tuple_(*order) > bound)
    query = query.order_by(*(c.desc() if newest_first else c.asc() for c in order)).limit(limit)
    with db.reading() as conn:
        rows = conn.execute(query).all()
    return [
        JournalLine(
            position=JournalPosition(row.effective_at, row.posted_at, row.transaction_id, row.leg),
            account=row.code,
            kind=row.kind,
            description=row.description,
            side=Side(row.side),
            amount=Money(row.amount_minor, row.currency),
            balance_after=Money(row.balance_after, row.currency),
            account_version=row.account_version,
            references=row.references,
        )
        for row in rows
    ]


def count_entries_of_accounts(db: Database, where: JournalFilter, *, up_to: int) -> int:
    """How many entries `where` selects, counting no further than `up_to` (a bounded read)."""
    _check_codes(where.codes)
    if not where.codes:
        return 0
    selected = _journal_query(where, models.entries.c.leg).limit(up_to).subquery()
    with db.reading() as conn:
        return int(conn.execute(select(func.count()).select_from(selected)).scalar_one())


# --- for payout runs: seller balances in bulk, and the movements since a version -------------


@dataclass(frozen=True, slots=True)
class AccountState:
    """An account's balance (on its normal side) and version, as read or locked."""

    code: str
    currency: str
    balance: Money
    version: int


def _state(row: Any) -> AccountState:
    net = row.credits_posted - row.debits_posted
    balance = net if row.normal_side == Side.CREDIT.value else -net
    return AccountState(row.code, row.currency, Money(balance, row.currency), row.version)


def nonzero_accounts_in(
    conn: Connection, *, prefix: str, suffix: str, after: AccountKey | None, limit: int
) -> list[AccountState]:
    """Accounts whose code starts with `prefix` and ends with `suffix` and whose balance is not
    zero, in (code, currency) order after `after`: how a payout run walks every seller's
    available balance in chunks, on the (code, currency) index."""
    a = models.accounts.c
    query = (
        select(a.code, a.currency, a.debits_posted, a.credits_posted, a.normal_side, a.version)
        .where(a.code.startswith(prefix, autoescape=True))
        .where(a.code.endswith(suffix, autoescape=True))
        .where(a.debits_posted != a.credits_posted)
        .order_by(a.code, a.currency)
        .limit(limit)
    )
    if after is not None:
        query = query.where(
            tuple_(a.code, a.currency) > tuple_(literal(after[0]), literal(after[1]))
        )
    return [_state(row) for row in conn.execute(query)]


def lock_account_states_in(
    conn: Connection, keys: Sequence[AccountKey]
) -> dict[AccountKey, AccountState]:
    """Lock existing accounts (id order, so concurrent lockers never deadlock) and read them.

    A payout reads a balance and debits it in one unit of work: holding the lock means no
    refund slips in between. Accounts never opened are absent from the result.
    """
    dialect = "postgresql" if conn.dialect.name == "postgresql" else "sqlite"
    found: dict[AccountKey, AccountState] = {}
    for start in range(0, len(keys), _lookup_chunk_size):
        chunk = keys[start : start + _lookup_chunk_size]
        for key, locked in _select_accounts(conn, chunk, dialect, lock=True).items():
            s = locked.state
            found[key] = AccountState(key[0], key[1], Money(s.balance, key[1]), s.version)
    return found


@dataclass(frozen=True, slots=True)
class VersionedEntry:
    """One entry of an account with the version it produced (the account's own order)."""

    code: str
    currency: str
    account_version: int
    transaction_id: UUID
    kind: str
    side: Side
    amount: Money
    references: Mapping[str, str]


def entries_after_versions_in(
    conn: Connection, after: Mapping[AccountKey, int]
) -> dict[AccountKey, list[VersionedEntry]]:
    """For each account, its entries with a version above the given one, in version order.

    Each account is one range read of the (account_id, account_version) index, so the cost is
    the number of new entries, never the length of an account's history.
    """
    dialect = "postgresql" if conn.dialect.name == "postgresql" else "sqlite"
    e, t = models.entries.c, models.transactions.c
    found: dict[AccountKey, list[VersionedEntry]] = {key: [] for key in after}
    keys = list(after)
    step = 200  # branches per UNION ALL: two binds each, far below SQLite's bind limit
    for start in range(0, len(keys), step):
        chunk = keys[start : start + step]
        ids = {k: acc.id for k, acc in _select_accounts(conn, chunk, dialect, lock=False).items()}
        branches = [
            select(
                literal(index).label("key_index"),
                e.account_version,
                e.transaction_id,
                e.side,
                e.amount_minor,
            ).where(e.account_id == ids[key], e.account_version > after[key])
            for index, key in enumerate(chunk)
            if key in ids
        ]
        if not branches:
            continue
        moves = union_all(*branches).subquery()
        query = (
            select(moves, t.kind, t.references)
            .join(models.transactions, t.id == moves.c.transaction_id)
            .order_by(moves.c.key_index, moves.c.account_version)
        )
        for row in conn.execute(query):
            code, currency = chunk[row.key_index]
            found[(code, currency)].append(
                VersionedEntry(
                    code,
                    currency,
                    row.account_version,
                    row.transaction_id,
                    row.kind,
                    Side(row.side),
                    Money(row.amount_minor, currency),
                    row.references,
                )
            )
    return found
