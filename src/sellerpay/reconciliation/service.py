"""Use cases of reconciliation: import a bank statement, match it to what payouts (and provider
settlements) expect, apply what the matches prove, check the bank balance day by day, and work
the exceptions queue.

`import_statement` is one unit of work for everything it stores (statements, lines, matches,
exceptions: all or nothing), then applies the matches' effects, each idempotent and recorded
as applied (a crash in between leaves them pending; the next import, even of the same file,
finishes them):

    payout matched (debit)      payouts.service.mark_paid: Dr payouts_in_transit Cr bank
    return matched (credit)     payouts.service.apply_returns: the money back to the seller
    settlement matched (credit) Dr platform:bank:<id>  Cr platform:psp_clearing
    bank fee kept on a match    Dr platform:losses     Cr platform:bank:<id>

Effects run on the bank's booking day (the end of it, never later than now), so the ledger's
bank account as of each day can be compared with the statement's balance of that day: the
statement balance must equal the ledger balance plus the lines still open (each of which has
its own exception); anything else is a `balance_difference` exception.

Errors: `InvalidInput` (a malformed file naming the line or element, `not_a_statement`,
`statement_account_mismatch`, `invalid_bank_account`, a resolution that does not fit),
`NotFound` (`exception_not_found`, `statement_not_found`), `Conflict` (`exception_resolved`,
`no_pending_write_off`, `already_matched`), `Forbidden` (`approver_is_requester`).
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, Literal

from sqlalchemy import Connection, Row, func, select, update
from sqlalchemy.exc import IntegrityError

from sellerpay.audit.service import record_audit
from sellerpay.clock import Clock
from sellerpay.db import Database
from sellerpay.errors import Conflict, Forbidden, InvalidInput, NotFound, invariant
from sellerpay.ids import prefixed_id
from sellerpay.ledger.rules import EntryRequest, Side, TransactionRequest
from sellerpay.ledger.service import PostStatus, account_balances, post_many_in
from sellerpay.money import Money
from sellerpay.payouts import expected as payouts_expected
from sellerpay.payouts import service as payouts
from sellerpay.rails.csv_statements import (
    CsvMapping,
    ProviderSettlement,
    parse_provider_settlement_csv,
)
from sellerpay.rails.detect import parse_statement_file
from sellerpay.rails.instructions import RailError, ReturnNotice
from sellerpay.rails.statements import Statement, StatementFile, StatementLine
from sellerpay.reconciliation import models
from sellerpay.reconciliation.rules import (
    RETURN_PREFIX,
    ExpectedMovement,
    LineToMatch,
    Match,
    MatchPolicy,
    MatchResult,
    match_lines,
    overdue,
    units_of,
)
from sellerpay.settings import Settings, get_settings

__all__ = [
    "ExceptionView",
    "ImportOutcome",
    "ReconciliationPolicy",
    "add_note",
    "apply_pending_effects",
    "approve_write_off",
    "assign_exception",
    "get_csv_mapping",
    "get_exception",
    "get_statement",
    "import_statement",
    "list_exceptions",
    "list_statements",
    "record_provider_settlement",
    "reject_write_off",
    "resolve_exception",
    "save_csv_mapping",
]

SYSTEM_ACTOR: Final = "system:reconciliation"
page_size_max: Final = 500
effects_chunk_size: Final = 500
days_checked_max: Final = 62  # a longer statement is checked on its closing day only
note_length_max: Final = 2_000
BANK_ACCOUNT_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9_\-]{0,63}")
_RETURN_CODE: Final = re.compile(r"^[A-Z]{4}-[A-Z]{4}-(RRTN|ARET)$")
_NOT_STATEMENTS: Final = {
    "camt.054": "a camt.054 notification is not a statement: its returns are read by "
    "`sellerpay payouts import-report`",
    "mt942": "an MT942 interim report is not a statement: import the day's MT940",
}

ExceptionKind = Literal[
    "unmatched_line",
    "amount_mismatch",
    "expected_past_due",
    "balance_difference",
    "opening_balance_gap",
]
ExceptionStatus = Literal["open", "investigating", "resolved"]
Resolution = Literal["manual_match", "write_off", "accepted"]
EXCEPTION_KINDS: Final[tuple[ExceptionKind, ...]] = (
    "unmatched_line",
    "amount_mismatch",
    "expected_past_due",
    "balance_difference",
    "opening_balance_gap",
)
EXCEPTION_STATUSES: Final[tuple[ExceptionStatus, ...]] = ("open", "investigating", "resolved")
_RESOLUTIONS_BY_KIND: Final[Mapping[str, frozenset[str]]] = {
    # money moved on the bank: the ledger must say so, by a match or a write-off
    "unmatched_line": frozenset({"manual_match", "write_off"}),
    "amount_mismatch": frozenset({"manual_match", "write_off"}),
    "expected_past_due": frozenset({"accepted"}),
    "balance_difference": frozenset({"write_off", "accepted"}),
    "opening_balance_gap": frozenset({"accepted"}),
}
_OPEN_STATES: Final = ("unmatched", "mismatch")  # lines the ledger does not reflect yet

Progress = Callable[[str, int, int], None]  # (stage, done, total)


# --- policy ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReconciliationPolicy:
    """The settings reconciliation reads, in one place (tests build their own)."""

    date_window_days: int
    fee_tolerance_minor: Mapping[str, int]
    overdue_days: int
    lookback_days: int
    payout_bank_account: str  # payouts leave from this bank account only

    @staticmethod
    def from_settings(settings: Settings | None = None) -> ReconciliationPolicy:
        s = settings or get_settings()
        return ReconciliationPolicy(
            date_window_days=s.reconciliation_date_window_days,
            fee_tolerance_minor=dict(s.reconciliation_fee_tolerance_minor),
            overdue_days=s.reconciliation_overdue_days,
            lookback_days=s.reconciliation_lookback_days,
            payout_bank_account=s.platform_bank_account,
        )

    def match_policy(self) -> MatchPolicy:
        return MatchPolicy(self.date_window_days, dict(self.fee_tolerance_minor))


def bank_account_code(bank_account: str) -> str:
    """Our bank account's ledger account: `platform:bank:<id>`."""
    return f"platform:bank:{bank_account}"


def _check_bank_account(bank_account: str) -> None:
    if not BANK_ACCOUNT_PATTERN.fullmatch(bank_account):
        raise InvalidInput(
            f"{bank_account[:80]!r} is not a bank account id: lower-case letters, digits, "
            "'_' and '-', at most 64 (it names platform:bank:<id> in the ledger)",
            code="invalid_bank_account",
            field="bank_account",
        )


def _end_of(day: date, clock: Clock) -> datetime:
    """The last moment of `day` (UTC), or now if that is earlier: when a booking took effect."""
    return min(datetime.combine(day, time.max, tzinfo=UTC), clock.now())


class _BookingClock:
    """The clock payouts are told when a statement proves what happened on a booking day."""

    def __init__(self, day: date, clock: Clock) -> None:
        self._moment = _end_of(day, clock)

    def now(self) -> datetime:
        return self._moment


# --- import ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    """What an import did. `duplicate`: the file (or every statement in it) was imported before,
    and nothing changed."""

    import_id: str | None
    duplicate: bool
    format: str
    statements: int
    statements_skipped: int
    lines: int
    matched_lines: int
    exceptions_opened: int
    effects_applied: int
    message: str
    statement_ids: tuple[str, ...] = ()
    rules: Mapping[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class _Row:
    """A statement line as stored, with the matcher's view of it."""

    values: dict[str, Any]
    line: StatementLine
    detail_ids: tuple[str, ...] = ()


@dataclass(slots=True)
class _NewStatement:
    statement: Statement
    row_id: str
    rows: list[_Row]
    lines: list[LineToMatch]  # booked top-level lines, for the matcher


def import_statement(
    db: Database,
    data: bytes,
    *,
    filename: str,
    bank_account: str,
    clock: Clock,
    csv_mapping: CsvMapping | None = None,
    actor: str = SYSTEM_ACTOR,
    source_ip: str | None = None,
    on_progress: Progress | None = None,
    policy: ReconciliationPolicy | None = None,
) -> ImportOutcome:
    """Import a statement file (camt.053, MT940, or CSV with the account's saved mapping or
    `csv_mapping`, which is then saved), match it, apply the effects, check the balances.

    The same file, or a file whose statements were all imported before (same account, statement
    id and sequence), changes nothing and says so. A malformed file is `InvalidInput` naming
    the line or element (its `where`), and nothing is stored.
    """
    _check_bank_account(bank_account)
    policy = policy or ReconciliationPolicy.from_settings()
    progress = on_progress or (lambda _stage, _done, _total: None)
    digest = hashlib.sha256(data).hexdigest()
    filename = filename.rsplit("/", 1)[-1][:200] or "statement"
    if _import_of(db, digest) is not None:
        return _duplicate(db, digest, clock=clock, policy=policy, format="", statements=0)
    mapping = csv_mapping or get_csv_mapping(db, bank_account)
    statement_file = _parse(data, filename, mapping)
    progress("read", statement_file.line_count, statement_file.line_count)
    new = [_prepare(statement, bank_account) for statement in statement_file.statements]
    expected = _expected_for(db, bank_account, new, policy, clock)
    progress("expected movements loaded", len(expected), len(expected))

    def work(conn: Connection) -> tuple[str | None, list[_NewStatement], dict[str, Any]]:
        if conn.execute(_import_id_query(digest)).first() is not None:
            return None, [], {}
        kept = [n for n in _distinct(new) if not _statement_known(conn, bank_account, n.statement)]
        if not kept:
            return None, [], {}
        import_id = prefixed_id("rimp")
        summary = _store(
            conn,
            import_id=import_id,
            kept=kept,
            statement_file=statement_file,
            filename=filename,
            digest=digest,
            bank_account=bank_account,
            expected=expected,
            policy=policy,
            actor=actor,
            now=clock.now(),
        )
        if csv_mapping is not None:
            _save_mapping_in(conn, bank_account, csv_mapping, actor, clock.now())
        record_audit(
            conn,
            actor=actor,
            action="reconciliation.statement_imported",
            subject_type="reconciliation_import",
            subject_id=import_id,
            before=None,
            after={"bank_account": bank_account, "filename": filename, "sha256": digest,
                   **{k: v for k, v in summary.items() if k != "rules"}},
            source_ip=source_ip,
            at=clock.now(),
        )  # fmt: skip
        return import_id, kept, summary

    import_id, kept, summary = db.run(work, retry_unique_violations=True)
    if import_id is None:
        return _duplicate(
            db,
            digest,
            clock=clock,
            policy=policy,
            format=statement_file.format,
            statements=len(new),
        )
    progress("matched", summary["matched_lines"], summary["lines"])
    applied = apply_pending_effects(db, clock=clock, policy=policy)
    progress("effects applied", applied, applied)
    checked = _check_after_import(db, bank_account, kept, expected, clock=clock, policy=policy)
    progress("balances checked", len(kept), len(kept))
    return ImportOutcome(
        import_id=import_id,
        duplicate=False,
        format=statement_file.format,
        statements=len(kept),
        statements_skipped=len(new) - len(kept),
        lines=summary["lines"],
        matched_lines=summary["matched_lines"],
        exceptions_opened=summary["exceptions_opened"] + checked,
        effects_applied=applied,
        message=f"imported {len(kept)} statement(s), {summary['lines']} line(s)",
        statement_ids=tuple(n.row_id for n in kept),
        rules=summary["rules"],
    )


def _distinct(new: Sequence[_NewStatement]) -> list[_NewStatement]:
    """The file's statements, each once (a file may repeat one)."""
    seen: dict[tuple[str, str, str], _NewStatement] = {}
    for n in new:
        key = (n.statement.account, n.statement.currency, statement_identity(n.statement))
        seen.setdefault(key, n)
    return list(seen.values())


def _import_id_query(digest: str) -> Any:
    return select(models.statement_imports.c.id).where(models.statement_imports.c.sha256 == digest)


def _import_of(db: Database, digest: str) -> str | None:
    with db.reading() as conn:
        found = conn.execute(_import_id_query(digest)).scalar()
    return None if found is None else str(found)


def _duplicate(
    db: Database,
    digest: str,
    *,
    clock: Clock,
    policy: ReconciliationPolicy,
    format: str,
    statements: int,
) -> ImportOutcome:
    """Nothing new: finish effects a crash may have left pending, and say it was seen."""
    applied = apply_pending_effects(db, clock=clock, policy=policy)
    known = _import_of(db, digest)
    message = (
        f"this file was imported before ({known}): nothing changed"
        if known
        else "every statement in this file was imported before: nothing changed"
    )
    return ImportOutcome(
        import_id=known,
        duplicate=True,
        format=format,
        statements=0,
        statements_skipped=statements,
        lines=0,
        matched_lines=0,
        exceptions_opened=0,
        effects_applied=applied,
        message=message,
    )


def _parse(data: bytes, filename: str, mapping: CsvMapping | None) -> StatementFile:
    try:
        statement_file = parse_statement_file(data, filename, mapping)
    except RailError as error:
        raise InvalidInput(
            f"{filename}: {error}", code=error.code, where=error.where, field="body"
        ) from error
    reason = _NOT_STATEMENTS.get(statement_file.format)
    if reason is not None:
        raise InvalidInput(reason, code="not_a_statement", field="body")
    if not statement_file.statements:
        raise InvalidInput(f"{filename} holds no statement", code="empty_statement", field="body")
    return statement_file


def statement_identity(statement: Statement) -> str:
    """What makes a statement the same statement: its id and sequence (banks reuse both, e.g.
    MT940 ":28C:0"), so also its dates and balances."""
    parts = (
        statement.statement_id,
        statement.sequence,
        statement.opening_date.isoformat() if statement.opening_date else "",
        statement.closing_date.isoformat() if statement.closing_date else "",
        str(_minor(statement.opening_balance)),
        str(_minor(statement.closing_balance)),
        str(len(statement.lines)),
    )
    return "|".join(parts)[:240]


def _statement_known(conn: Connection, bank_account: str, statement: Statement) -> bool:
    s = models.statements.c
    query = select(s.id).where(
        s.bank_account == bank_account,
        s.account == statement.account[:70],
        s.currency == statement.currency,
        s.identity == statement_identity(statement),
    )
    return conn.execute(query).first() is not None


# --- turning parsed lines into rows and matcher lines ---------------------------------------------


def _is_return(line: StatementLine) -> bool:
    if line.direction != "credit":
        return False
    return bool(
        line.return_reason_code or line.reversal or _RETURN_CODE.match(line.bank_transaction_code)
    )


def _references(line: StatementLine) -> dict[str, str]:
    names = (
        "bank_reference",
        "end_to_end_id",
        "message_id",
        "payment_information_id",
        "instruction_id",
        "trace_number",
        "return_reason_code",
        "bank_transaction_code",
    )
    return {name: getattr(line, name)[:140] for name in names if getattr(line, name)}


def _to_match(line: StatementLine, key: str, details: tuple[LineToMatch, ...] = ()) -> LineToMatch:
    return LineToMatch(
        key=key,
        direction=line.direction,
        amount=line.amount,
        booked_on=line.booked_on,
        references=(line.end_to_end_id, line.instruction_id, line.trace_number),
        batch_references=(line.payment_information_id, line.message_id),
        counterparty_name=line.counterparty_name,
        counterparty_account=line.counterparty_account,
        returned=_is_return(line),
        return_reason_code=line.return_reason_code,
        details=details,
    )


def _prepare(statement: Statement, bank_account: str) -> _NewStatement:
    """Rows for the statement's lines (a batch and its details), and the matcher's lines."""
    row_id = prefixed_id("rst")
    rows: list[_Row] = []
    lines: list[LineToMatch] = []
    for position, line in enumerate(statement.lines, start=1):
        line_key = prefixed_id("rln")
        detail_keys = [prefixed_id("rln") for _ in line.details]
        details = tuple(_to_match(d, k) for d, k in zip(line.details, detail_keys, strict=True))
        to_match = _to_match(line, line_key, details)
        units = {u.key for u in units_of(to_match)}
        booked = line.status == "booked"
        batch = bool(details) and line_key not in units
        parent_role = "batch" if batch else "line"
        parent_state = "container" if batch else "unmatched" if booked else "not_booked"
        rows.append(_row(statement, bank_account, row_id, position, line_key, None, parent_role,
                         parent_state, line))  # fmt: skip
        rows[-1].detail_ids = tuple(detail_keys)
        for number, (detail, key) in enumerate(zip(line.details, detail_keys, strict=True), 1):
            role = "detail" if batch else "info"
            state = ("unmatched" if booked else "not_booked") if batch else "not_booked"
            rows.append(_row(statement, bank_account, row_id, position * 10_000 + number, key,
                             line_key, role, state, detail))  # fmt: skip
        if booked:
            lines.append(to_match)
    return _NewStatement(statement, row_id, rows, lines)


def _row(
    statement: Statement,
    bank_account: str,
    statement_row_id: str,
    position: int,
    key: str,
    parent: str | None,
    role: str,
    state: str,
    line: StatementLine,
) -> _Row:
    return _Row(
        {
            "id": key,
            "statement_id": statement_row_id,
            "bank_account": bank_account,
            "currency": statement.currency,
            "position": position,
            "parent_id": parent,
            "role": role,
            "line_ref": line.line_id[:100],
            "booked_on": line.booked_on,
            "value_on": line.value_on,
            "amount_minor": line.amount.amount_minor,
            "amount_currency": line.amount.currency,
            "direction": line.direction,
            "reversal": line.reversal,
            "status": line.status,
            "returned": _is_return(line),
            "state": state,
            "match_id": None,
            "references": _references(line),
            "counterparty_name": line.counterparty_name[:140],
            "counterparty_account": line.counterparty_account[:70],
            "remittance": line.remittance[:500],
        },
        line,
    )


# --- expected movements ---------------------------------------------------------------------------


def _expected_for(
    db: Database,
    bank_account: str,
    new: Sequence[_NewStatement],
    policy: ReconciliationPolicy,
    clock: Clock,
) -> list[ExpectedMovement]:
    """Payouts (from the payouts context: only on the account payouts leave from) and
    provider settlements expected in the statements' currencies, due since the lookback."""
    days = [line.booked_on for n in new for line in n.statement.lines] or [clock.now().date()]
    since = min(days) - timedelta(days=policy.lookback_days)
    found: list[ExpectedMovement] = []
    for currency in sorted({n.statement.currency for n in new}):
        if bank_account == policy.payout_bank_account:
            found += payouts_expected.expected_payouts(db, currency=currency, since=since)
        found += _expected_settlements(db, bank_account, currency, since)
    return found


def _expected_settlements(
    db: Database, bank_account: str, currency: str, since: date
) -> list[ExpectedMovement]:
    e = models.expected_settlements.c
    query = select(models.expected_settlements).where(
        e.bank_account == bank_account, e.currency == currency, e.due_on >= since
    )
    with db.reading() as conn:
        rows = conn.execute(query).all()
    return [
        ExpectedMovement(
            key=row.key,
            kind="provider_settlement",
            direction="credit",
            amount=Money(row.amount_minor, row.currency),
            due_on=row.due_on,
            references=tuple(r for r in (row.reference, row.provider_id) if r),
        )
        for row in rows
    ]


def _consumed_in(
    conn: Connection, bank_account: str, currencies: Iterable[str], since: date
) -> set[str]:
    t = models.match_targets.c
    query = select(t.expected_key).where(
        t.bank_account == bank_account, t.currency.in_(sorted(set(currencies))), t.due_on >= since
    )
    return set(conn.execute(query).scalars())


# --- storing an import ----------------------------------------------------------------------------


def _store(
    conn: Connection,
    *,
    import_id: str,
    kept: list[_NewStatement],
    statement_file: StatementFile,
    filename: str,
    digest: str,
    bank_account: str,
    expected: Sequence[ExpectedMovement],
    policy: ReconciliationPolicy,
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    for n in kept:
        _check_series(conn, bank_account, n.statement)
    lines = [line for n in kept for line in n.lines]
    since = min((m.due_on for m in expected), default=now.date())
    consumed = _consumed_in(conn, bank_account, {n.statement.currency for n in kept}, since)
    result = match_lines(lines, expected, policy=policy.match_policy(), consumed=consumed)
    rows = {row.values["id"]: row for n in kept for row in n.rows}
    by_key = {m.key: m for m in expected}
    match_rows, target_rows = _match_rows(result, rows, by_key, bank_account, actor, now)
    exception_rows = _line_exceptions(result, rows, by_key, bank_account, now)
    exception_rows += _opening_exceptions(conn, kept, bank_account, now)
    conn.execute(
        models.statement_imports.insert().values(
            id=import_id,
            bank_account=bank_account,
            filename=filename,
            sha256=digest,
            format=statement_file.format,
            statement_count=len(kept),
            line_count=sum(len(n.statement.lines) for n in kept),
            imported_by=actor,
            imported_at=now,
            summary={"matched_lines": sum(len(m.line_keys) for m in result.matches)},
        )
    )
    conn.execute(models.statements.insert(), [_statement_values(n, import_id, bank_account, now)
                                              for n in kept])  # fmt: skip
    for start in range(0, len(rows), 5_000):
        chunk = list(rows.values())[start : start + 5_000]
        conn.execute(models.statement_lines.insert(), [row.values for row in chunk])
    if match_rows:
        conn.execute(models.matches.insert(), match_rows)
        conn.execute(models.match_targets.insert(), target_rows)
        _resolve_overdue_in(conn, [t["expected_key"] for t in target_rows], now)
    opened = _insert_exceptions(conn, exception_rows)
    rules: dict[str, int] = defaultdict(int)
    for match in result.matches:
        rules[match.rule] += len(match.line_keys)
    return {
        "statements": len(kept),
        "lines": sum(len(n.statement.lines) for n in kept),
        "matched_lines": sum(len(m.line_keys) for m in result.matches),
        "exceptions_opened": opened,
        "rules": dict(rules),
    }


def _statement_values(
    n: _NewStatement, import_id: str, bank_account: str, now: datetime
) -> dict[str, Any]:
    s = n.statement
    return {
        "id": n.row_id,
        "import_id": import_id,
        "bank_account": bank_account,
        "account": s.account[:70],
        "currency": s.currency,
        "statement_id": s.statement_id[:100],
        "sequence": s.sequence[:40],
        "identity": statement_identity(s),
        "format": s.format,
        "version": s.version[:40],
        "opening_minor": None if s.opening_balance is None else s.opening_balance.amount_minor,
        "closing_minor": None if s.closing_balance is None else s.closing_balance.amount_minor,
        "opening_date": s.opening_date,
        "closing_date": s.closing_date,
        "bank_created_at": s.created_at if s.created_at and s.created_at.tzinfo else None,
        "line_count": len(s.lines),
        "adds_up": s.balances_agree(),
        "imported_at": now,
    }


def _check_series(conn: Connection, bank_account: str, statement: Statement) -> None:
    """One bank account holds one account number per currency: a statement of another is a
    mistake of the operator (the wrong --account), refused before anything is stored."""
    s = models.statements.c
    other = conn.execute(
        select(s.account).where(
            s.bank_account == bank_account,
            s.currency == statement.currency,
            s.account != statement.account[:70],
        )
    ).scalar()
    if other is not None:
        raise InvalidInput(
            f"bank account {bank_account!r} holds {statement.currency} statements of account "
            f"{other}, not {statement.account}: is --account right?",
            code="statement_account_mismatch",
            field="bank_account",
        )


def _match_rows(
    result: MatchResult,
    rows: Mapping[str, _Row],
    by_key: Mapping[str, ExpectedMovement],
    bank_account: str,
    actor: str,
    now: datetime,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    match_rows: list[dict[str, Any]] = []
    target_rows: list[dict[str, Any]] = []
    for match in result.matches:
        match_id = prefixed_id("rmt")
        line_rows = [rows[key] for key in match.line_keys]
        for row in line_rows:
            _mark(rows, row, "matched", match_id)
        movements = [by_key[k.removeprefix(RETURN_PREFIX)] for k in match.expected_keys]
        match_rows.append(
            _match_values(match, match_id, line_rows, movements, bank_account, actor, now)
        )
        target_rows += [
            {
                "expected_key": key,
                "match_id": match_id,
                "bank_account": bank_account,
                "currency": movement.amount.currency,
                "due_on": movement.due_on,
            }
            for key, movement in zip(match.expected_keys, movements, strict=True)
        ]
    for mismatch in result.mismatches:
        _mark(rows, rows[mismatch.line_key], "mismatch", None)
    return match_rows, target_rows


def _mark(rows: Mapping[str, _Row], row: _Row, state: str, match_id: str | None) -> None:
    """Set a line's state, and its details' when it is a batch matched whole."""
    row.values["state"] = state
    row.values["match_id"] = match_id
    if row.values["role"] == "batch":
        for key in row.detail_ids:
            rows[key].values["state"], rows[key].values["match_id"] = state, match_id


def _match_values(
    match: Match,
    match_id: str,
    line_rows: Sequence[_Row],
    movements: Sequence[ExpectedMovement],
    bank_account: str,
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    first = line_rows[0].line
    return {
        "id": match_id,
        "bank_account": bank_account,
        "currency": first.amount.currency,
        "rule": match.rule,
        "target": match.target,
        "line_ids": list(match.line_keys),
        "expected_keys": list(match.expected_keys),
        "payout_ids": [m.payout_id for m in movements if m.payout_id],
        "end_to_end_ids": [m.end_to_end_id for m in movements if m.end_to_end_id],
        "amount_minor": sum(row.line.amount.amount_minor for row in line_rows),
        "fee_minor": None if match.fee is None else match.fee.amount_minor,
        "booked_on": max(row.line.booked_on for row in line_rows),
        "return_reason_code": first.return_reason_code[:35],
        "evidence": dict(match.evidence),
        "effect_state": "pending",
        "effect": None,
        "created_by": actor,
        "created_at": now,
        "applied_at": None,
    }


def _signed(row: _Row) -> int:
    minor = row.line.amount.amount_minor
    return minor if row.line.direction == "credit" else -minor


def _line_exceptions(
    result: MatchResult,
    rows: Mapping[str, _Row],
    by_key: Mapping[str, ExpectedMovement],
    bank_account: str,
    now: datetime,
) -> list[dict[str, Any]]:
    found = []
    for key in result.unmatched:
        row = rows[key]
        note = result.notes.get(key, "")
        found.append(
            _exception_values(
                kind="unmatched_line",
                dedupe_key=f"line:{key}",
                bank_account=bank_account,
                currency=row.values["currency"],
                line_id=key,
                statement_row_id=row.values["statement_id"],
                on_date=row.line.booked_on,
                amount_minor=_signed(row),
                detail=("no expected movement explains this line" + (f": {note}" if note else "")),
                evidence={"line_ref": row.line.line_id, "references": row.values["references"]},
                now=now,
            )
        )
    for mismatch in result.mismatches:
        row = rows[mismatch.line_key]
        movement = by_key[mismatch.expected_key.removeprefix(RETURN_PREFIX)]
        found.append(
            _exception_values(
                kind="amount_mismatch",
                dedupe_key=f"line:{mismatch.line_key}",
                bank_account=bank_account,
                currency=row.values["currency"],
                line_id=mismatch.line_key,
                statement_row_id=row.values["statement_id"],
                expected_key=mismatch.expected_key,
                on_date=row.line.booked_on,
                amount_minor=_signed(row),
                detail=f"{mismatch.reference} names {movement.key} of {movement.amount}, but "
                f"the line is {row.line.amount} (beyond the bank-fee tolerance)",
                evidence={"line_ref": row.line.line_id, "reference": mismatch.reference,
                          "expected_minor": movement.amount.amount_minor,
                          "difference_minor": mismatch.difference.amount_minor},
                now=now,
            )
        )  # fmt: skip
    return found


def _exception_values(
    *,
    kind: ExceptionKind,
    dedupe_key: str,
    bank_account: str,
    currency: str,
    detail: str,
    evidence: Mapping[str, Any],
    now: datetime,
    line_id: str | None = None,
    statement_row_id: str | None = None,
    expected_key: str | None = None,
    on_date: date | None = None,
    amount_minor: int | None = None,
) -> dict[str, Any]:
    return {
        "id": prefixed_id("rexc"),
        "dedupe_key": dedupe_key[:200],
        "kind": kind,
        "bank_account": bank_account,
        "currency": currency,
        "status": "open",
        "owner": None,
        "line_id": line_id,
        "statement_row_id": statement_row_id,
        "expected_key": expected_key,
        "on_date": on_date,
        "amount_minor": amount_minor,
        "detail": detail[:500],
        "evidence": dict(evidence),
        "resolution": None,
        "pending": None,
        "resolved_by": None,
        "approved_by": None,
        "resolved_at": None,
        "ledger_transaction_id": None,
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }


def _insert_exceptions(conn: Connection, values: Sequence[dict[str, Any]]) -> int:
    """Insert the exceptions not already there (by dedupe key); returns how many are new."""
    if not values:
        return 0
    x = models.exceptions.c
    known: set[str] = set()
    keys = [v["dedupe_key"] for v in values]
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        known |= set(conn.execute(select(x.dedupe_key).where(x.dedupe_key.in_(chunk))).scalars())
    fresh = list({v["dedupe_key"]: v for v in values if v["dedupe_key"] not in known}.values())
    for start in range(0, len(fresh), 5_000):
        conn.execute(models.exceptions.insert(), fresh[start : start + 5_000])
    return len(fresh)


# --- opening balances -----------------------------------------------------------------------------


def _sequence_number(sequence: str) -> int | None:
    head = sequence.split("/", 1)[0].strip()
    return int(head) if head.isdigit() and len(head) <= 18 else None


def _order_key(statement: Statement) -> tuple[date, int, str]:
    on = statement.closing_date or statement.opening_date or date.min
    return on, _sequence_number(statement.sequence) or 0, statement.sequence


def _opening_exceptions(
    conn: Connection, kept: Sequence[_NewStatement], bank_account: str, now: datetime
) -> list[dict[str, Any]]:
    """A statement's opening balance must be the previous statement's closing balance, and its
    number the next one: a gap or a difference is an exception (never a refusal)."""
    found: list[dict[str, Any]] = []
    earlier: dict[str, list[tuple[tuple[date, int, str], int | None, str, str]]] = defaultdict(list)
    for n in sorted(kept, key=lambda n: _order_key(n.statement)):
        s = n.statement
        key = _order_key(s)
        previous = _previous_in(conn, bank_account, s, key, earlier[s.currency])
        earlier[s.currency].append((key, _minor(s.closing_balance), s.sequence, s.statement_id))
        if previous is None:
            continue
        _, closing_minor, sequence, statement_id = previous
        opening = _minor(s.opening_balance)
        if opening is not None and closing_minor is not None and opening != closing_minor:
            found.append(
                _exception_values(
                    kind="opening_balance_gap", dedupe_key=f"opening:{n.row_id}",
                    bank_account=bank_account, currency=s.currency, statement_row_id=n.row_id,
                    on_date=s.opening_date, amount_minor=opening - closing_minor,
                    detail=f"statement {s.statement_id} opens at {opening} minor units, but "
                    f"{statement_id} closed at {closing_minor}",
                    evidence={"previous_statement": statement_id, "previous_closing_minor":
                              closing_minor, "opening_minor": opening}, now=now,
                )
            )  # fmt: skip
        number, before = _sequence_number(s.sequence), _sequence_number(sequence)
        if number is not None and before is not None and number > before + 1:
            found.append(
                _exception_values(
                    kind="opening_balance_gap", dedupe_key=f"sequence:{n.row_id}",
                    bank_account=bank_account, currency=s.currency, statement_row_id=n.row_id,
                    on_date=s.opening_date, amount_minor=None,
                    detail=f"statement numbers jump from {before} to {number}: "
                    f"{number - before - 1} statement(s) missing",
                    evidence={"previous_statement": statement_id, "previous_sequence": sequence,
                              "sequence": s.sequence}, now=now,
                )
            )  # fmt: skip
    return found


def _minor(money: Money | None) -> int | None:
    return None if money is None else money.amount_minor


def _previous_in(
    conn: Connection,
    bank_account: str,
    statement: Statement,
    key: tuple[date, int, str],
    earlier: Sequence[tuple[tuple[date, int, str], int | None, str, str]],
) -> tuple[tuple[date, int, str], int | None, str, str] | None:
    s = models.statements.c
    rows = conn.execute(
        select(s.closing_date, s.opening_date, s.sequence, s.closing_minor, s.statement_id)
        .where(
            s.bank_account == bank_account,
            s.currency == statement.currency,
            s.closing_date <= key[0],
        )
        .order_by(s.closing_date.desc())
        .limit(20)
    ).all()
    candidates = list(earlier) + [
        (
            (r.closing_date or r.opening_date or date.min, _sequence_number(r.sequence) or 0,
             r.sequence),
            r.closing_minor, r.sequence, r.statement_id,
        )
        for r in rows
    ]  # fmt: skip
    before = [c for c in candidates if c[0] < key]
    return max(before, key=lambda c: c[0]) if before else None


# --- effects --------------------------------------------------------------------------------------


def apply_pending_effects(
    db: Database, *, clock: Clock, policy: ReconciliationPolicy | None = None
) -> int:
    """Apply what pending matches prove (see the module docstring), oldest booking first, and
    record each as applied. Safe to run again at any point: every effect is idempotent."""
    policy = policy or ReconciliationPolicy.from_settings()
    m = models.matches.c
    applied = 0
    while True:
        with db.reading() as conn:
            rows = conn.execute(
                select(models.matches)
                .where(m.effect_state == "pending")
                .order_by(m.booked_on, m.id)
                .limit(effects_chunk_size)
            ).all()
        if not rows:
            return applied
        _apply(db, rows, clock=clock)
        applied += len(rows)


def _apply(db: Database, rows: Sequence[Row[Any]], *, clock: Clock) -> None:
    by_day: dict[date, list[Row[Any]]] = defaultdict(list)
    for row in rows:
        by_day[row.booked_on].append(row)
    for day, group in sorted(by_day.items()):
        booking = _BookingClock(day, clock)
        paid = [e2e for row in group if row.target == "payout" for e2e in row.end_to_end_ids]
        for start in range(0, len(paid), effects_chunk_size):
            payouts.mark_paid(db, paid[start : start + effects_chunk_size], clock=booking)
        notices = [_notice(row) for row in group if row.target == "return"]
        if notices:
            payouts.apply_returns(db, notices, clock=booking)
    db.run(lambda conn: _finish_in(conn, rows, clock), retry_unique_violations=True)


def _notice(row: Row[Any]) -> ReturnNotice:
    return ReturnNotice(
        end_to_end_id=row.end_to_end_ids[0],
        amount=Money(row.amount_minor, row.currency),
        reason_code=row.return_reason_code,
        booked_on=row.booked_on,
        bank_reference=row.id,
    )


def _finish_in(conn: Connection, rows: Sequence[Row[Any]], clock: Clock) -> None:
    """Post the settlement and fee transactions, and mark the matches applied."""
    requests = []
    for row in rows:
        bank = bank_account_code(row.bank_account)
        moment = _end_of(row.booked_on, clock)
        if row.target == "settlement":
            amount = Money(row.amount_minor + (row.fee_minor or 0), row.currency)
            requests.append(_transfer(f"reconciliation:{row.id}:settlement",
                                      "provider_settlement_received", bank, "platform:psp_clearing",
                                      amount, moment, row.id))  # fmt: skip
        if row.fee_minor:
            fee = Money(row.fee_minor, row.currency)
            requests.append(_transfer(f"reconciliation:{row.id}:bank_fee", "bank_fee",
                                      "platform:losses", bank, fee, moment, row.id))  # fmt: skip
    for start in range(0, len(requests), 1_000):
        for result in post_many_in(conn, requests[start : start + 1_000], now=clock.now()):
            if result.status is PostStatus.REJECTED:
                raise result.error or Conflict("the ledger refused", code="ledger_refused")
    ids = [row.id for row in rows]
    m = models.matches.c
    conn.execute(
        update(models.matches)
        .where(m.id.in_(ids), m.effect_state == "pending")
        .values(effect_state="applied", applied_at=clock.now())
    )


def _transfer(
    key: str,
    kind: str,
    debit: str,
    credit: str,
    amount: Money,
    effective_at: datetime,
    reference: str,
) -> TransactionRequest:
    return TransactionRequest(
        idempotency_key=key,
        kind=kind,
        entries=(
            EntryRequest(debit, Side.DEBIT, amount),
            EntryRequest(credit, Side.CREDIT, amount),
        ),
        effective_at=effective_at,
        references={"reconciliation": reference},
        description=kind.replace("_", " "),
    )


# --- the daily balance check and overdue movements ------------------------------------------------


def _check_after_import(
    db: Database,
    bank_account: str,
    kept: Sequence[_NewStatement],
    expected: Sequence[ExpectedMovement],
    *,
    clock: Clock,
    policy: ReconciliationPolicy,
) -> int:
    values: list[dict[str, Any]] = []
    now = clock.now()
    for n in kept:
        values += _balance_exceptions(db, bank_account, n, now)
    by_currency: dict[str, date] = {}
    for n in kept:
        days = [line.booked_on for line in n.statement.lines]
        last = n.statement.closing_date or max(days, default=None)
        if last is not None:
            currency = n.statement.currency
            by_currency[currency] = max(by_currency.get(currency, last), last)

    def work(conn: Connection) -> int:
        for currency, as_of in sorted(by_currency.items()):
            values.extend(_overdue_exceptions(conn, bank_account, currency, as_of, expected,
                                              policy, now))  # fmt: skip
        _settle_balance_exceptions(conn, values, now)
        return _insert_exceptions(conn, [v for v in values if v["kind"] != "_cleared"])

    return db.run(work, retry_unique_violations=True)


def _day_balances(statement: Statement) -> list[tuple[date, int]]:
    """The statement's balance at the end of each booking day (its closing balance on the
    closing day), when it has balances; at most `days_checked_max` days."""
    if statement.opening_balance is None or statement.closing_balance is None:
        return []
    currency = statement.currency
    moves: dict[date, int] = defaultdict(int)
    for line in statement.lines:
        if line.status == "booked" and line.amount.currency == currency:
            moves[line.booked_on] += line.signed_amount.amount_minor
    closing_day = statement.closing_date or max(moves, default=None)
    if closing_day is None:
        return []
    days = sorted(d for d in moves if d < closing_day)
    if len(days) >= days_checked_max:
        days = []
    running, found = statement.opening_balance.amount_minor, []
    for day in days:
        running += moves[day]
        found.append((day, running))
    return [*found, (closing_day, statement.closing_balance.amount_minor)]


def _ledger_balance(db: Database, bank_account: str, currency: str, as_of: datetime) -> int:
    try:
        (balance,) = account_balances(
            db, bank_account_code(bank_account), currency=currency, as_of=as_of
        )
    except NotFound:
        return 0
    return balance.balance.amount_minor


def _open_lines(db: Database, bank_account: str, currency: str, on: date) -> int:
    """The signed total of lines up to `on` that the ledger does not reflect yet."""
    line = models.statement_lines.c
    query = (
        select(line.direction, func.sum(line.amount_minor))
        .where(
            line.bank_account == bank_account,
            line.currency == currency,
            line.amount_currency == currency,
            line.state.in_(_OPEN_STATES),
            line.role.in_(("line", "detail")),
            line.booked_on <= on,
        )
        .group_by(line.direction)
    )
    with db.reading() as conn:
        totals = {row[0]: int(row[1] or 0) for row in conn.execute(query)}
    return totals.get("credit", 0) - totals.get("debit", 0)


def _balance_exceptions(
    db: Database, bank_account: str, n: _NewStatement, now: datetime
) -> list[dict[str, Any]]:
    found = []
    currency = n.statement.currency
    for day, statement_minor in _day_balances(n.statement):
        ledger = _ledger_balance(db, bank_account, currency, _end_of(day, _Fixed(now)))
        open_minor = _open_lines(db, bank_account, currency, day)
        difference = statement_minor - ledger - open_minor
        values = _exception_values(
            kind="balance_difference",
            dedupe_key=f"balance:{bank_account}:{currency}:{day.isoformat()}",
            bank_account=bank_account,
            currency=currency,
            statement_row_id=n.row_id,
            on_date=day,
            amount_minor=difference,
            detail=f"on {day} the bank says {statement_minor}, the ledger "
            f"{bank_account_code(bank_account)} {ledger} plus open lines {open_minor} minor "
            f"units: a difference of {difference}",
            evidence={"statement_minor": statement_minor, "ledger_minor": ledger,
                      "open_lines_minor": open_minor, "statement": n.statement.statement_id},
            now=now,
        )  # fmt: skip
        if difference == 0:
            values["kind"] = "_cleared"
        found.append(values)
    return found


class _Fixed:
    def __init__(self, moment: datetime) -> None:
        self._moment = moment

    def now(self) -> datetime:
        return self._moment


def _settle_balance_exceptions(
    conn: Connection, values: Sequence[dict[str, Any]], now: datetime
) -> None:
    """A day checked again: an open difference takes the new figures, or is resolved when
    the difference is gone (a later match or write-off explained it)."""
    x = models.exceptions.c
    for value in values:
        if not value["dedupe_key"].startswith("balance:"):
            continue
        row = conn.execute(
            select(x.id, x.status).where(x.dedupe_key == value["dedupe_key"])
        ).first()
        if row is None or row.status == "resolved":
            continue
        if value["kind"] == "_cleared":
            changes: dict[str, Any] = {"status": "resolved", "resolution": "accepted",
                                       "resolved_by": SYSTEM_ACTOR, "resolved_at": now,
                                       "amount_minor": 0}  # fmt: skip
        else:
            changes = {"amount_minor": value["amount_minor"], "detail": value["detail"],
                       "evidence": value["evidence"]}  # fmt: skip
        conn.execute(
            update(models.exceptions)
            .where(x.id == row.id)
            .values(**changes, updated_at=now, version=x.version + 1)
        )


def _overdue_exceptions(
    conn: Connection,
    bank_account: str,
    currency: str,
    as_of: date,
    expected: Sequence[ExpectedMovement],
    policy: ReconciliationPolicy,
    now: datetime,
) -> list[dict[str, Any]]:
    mine = [m for m in expected if m.amount.currency == currency]
    if not mine:
        return []
    since = min(m.due_on for m in mine)
    consumed = _consumed_in(conn, bank_account, [currency], since)
    x = models.exceptions.c
    disputed = set(
        conn.execute(
            select(x.expected_key).where(
                x.bank_account == bank_account,
                x.currency == currency,
                x.kind == "amount_mismatch",
                x.expected_key.is_not(None),
            )
        ).scalars()
    )
    found = []
    for key, movement, due_on in overdue(
        mine, consumed=consumed, disputed=disputed, as_of=as_of, grace_days=policy.overdue_days
    ):
        what = "the return of " if key.startswith(RETURN_PREFIX) else ""
        found.append(
            _exception_values(
                kind="expected_past_due", dedupe_key=f"overdue:{key}", bank_account=bank_account,
                currency=currency, expected_key=key, on_date=due_on,
                amount_minor=(movement.amount.amount_minor if key.startswith(RETURN_PREFIX)
                              else -movement.amount.amount_minor),
                detail=f"{what}{movement.key} ({movement.amount}, due {due_on}) is on no "
                f"statement up to {as_of}",
                evidence={"payout_id": movement.payout_id, "end_to_end_id":
                          movement.end_to_end_id, "as_of": as_of.isoformat()}, now=now,
            )
        )  # fmt: skip
    return found


def _resolve_overdue_in(conn: Connection, keys: Sequence[str], now: datetime) -> None:
    """Movements matched at last: their past-due exceptions are resolved by the match."""
    x = models.exceptions.c
    for start in range(0, len(keys), 500):
        chunk = [f"overdue:{key}" for key in keys[start : start + 500]]
        conn.execute(
            update(models.exceptions)
            .where(x.dedupe_key.in_(chunk), x.status != "resolved")
            .values(status="resolved", resolution="accepted", resolved_by=SYSTEM_ACTOR,
                    resolved_at=now, updated_at=now, version=x.version + 1)
        )  # fmt: skip


# --- CSV mappings and provider settlements --------------------------------------------------------


def get_csv_mapping(db: Database, bank_account: str) -> CsvMapping | None:
    """The CSV mapping saved for `bank_account`, if any."""
    c = models.csv_mappings.c
    with db.reading() as conn:
        data = conn.execute(select(c.mapping).where(c.bank_account == bank_account)).scalar()
    return None if data is None else CsvMapping.from_dict(data)


def save_csv_mapping(
    db: Database, bank_account: str, mapping: CsvMapping, *, actor: str, clock: Clock
) -> None:
    """Save (or replace) how `bank_account`'s CSV statements are read."""
    _check_bank_account(bank_account)
    db.run(lambda conn: _save_mapping_in(conn, bank_account, mapping, actor, clock.now()),
           retry_unique_violations=True)  # fmt: skip


def _save_mapping_in(
    conn: Connection, bank_account: str, mapping: CsvMapping, actor: str, now: datetime
) -> None:
    c = models.csv_mappings.c
    before = conn.execute(select(c.mapping).where(c.bank_account == bank_account)).scalar()
    document = mapping.to_dict()
    values: dict[str, Any] = {"mapping": document, "updated_by": actor, "updated_at": now}
    if before is None:
        conn.execute(models.csv_mappings.insert().values(bank_account=bank_account, **values))
    elif before != document:
        conn.execute(
            update(models.csv_mappings).where(c.bank_account == bank_account).values(**values)
        )
    if before != document:
        record_audit(conn, actor=actor, action="reconciliation.csv_mapping_saved",
                     subject_type="bank_account", subject_id=bank_account, before=before,
                     after=document, source_ip=None, at=now)  # fmt: skip


def record_provider_settlement(
    db: Database,
    data: bytes,
    *,
    bank_account: str,
    clock: Clock,
    actor: str = SYSTEM_ACTOR,
) -> int:
    """Expect the payouts of a provider's settlement report on `bank_account` (a credit per
    currency, on the report's date or today). Returns how many are new (a report seen
    before adds nothing)."""
    _check_bank_account(bank_account)
    try:
        report: ProviderSettlement = parse_provider_settlement_csv(data)
    except RailError as error:
        raise InvalidInput(str(error), code=error.code, where=error.where, field="body") from error
    digest = hashlib.sha256(data).hexdigest()
    now = clock.now()
    rows = []
    for payout in report.payouts:
        if not payout.amount.is_positive():
            raise InvalidInput(
                f"line {payout.line}: the provider pays us nothing ({payout.amount})",
                code="settlement_not_positive",
                field="body",
            )
        rows.append({
            "key": f"settlement:{digest[:16]}:{payout.line}",
            "bank_account": bank_account,
            "currency": payout.amount.currency,
            "amount_minor": payout.amount.amount_minor,
            "due_on": payout.occurred_on or now.date(),
            "reference": payout.reference[:140],
            "provider_id": payout.provider_id[:140],
            "report_sha256": digest,
            "created_at": now,
        })  # fmt: skip

    def work(conn: Connection) -> int:
        e = models.expected_settlements.c
        if conn.execute(select(e.key).where(e.report_sha256 == digest)).first() is not None:
            return 0
        conn.execute(models.expected_settlements.insert(), rows)
        record_audit(
            conn,
            actor=actor,
            action="reconciliation.settlement_expected",
            subject_type="bank_account",
            subject_id=bank_account,
            before=None,
            after={"sha256": digest, "payouts": len(rows)},
            source_ip=None,
            at=now,
        )
        return len(rows)

    return db.run(work, retry_unique_violations=True)


# --- statements -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatementView:
    """An imported statement, with how many of its lines are in each state."""

    id: str
    import_id: str
    bank_account: str
    account: str
    currency: str
    statement_id: str
    sequence: str
    format: str
    opening_balance: Money | None
    closing_balance: Money | None
    opening_date: date | None
    closing_date: date | None
    line_count: int
    adds_up: bool | None
    imported_at: datetime
    line_states: Mapping[str, int] = field(default_factory=dict)


def _statement_view(row: Row[Any], states: Mapping[str, int] | None = None) -> StatementView:
    def money(minor: int | None) -> Money | None:
        return None if minor is None else Money(minor, row.currency)

    return StatementView(
        id=row.id,
        import_id=row.import_id,
        bank_account=row.bank_account,
        account=row.account,
        currency=row.currency,
        statement_id=row.statement_id,
        sequence=row.sequence,
        format=row.format,
        opening_balance=money(row.opening_minor),
        closing_balance=money(row.closing_minor),
        opening_date=row.opening_date,
        closing_date=row.closing_date,
        line_count=row.line_count,
        adds_up=row.adds_up,
        imported_at=row.imported_at,
        line_states=dict(states or {}),
    )


def list_statements(
    db: Database, *, bank_account: str | None = None, after_id: str | None = None, limit: int = 50
) -> tuple[list[StatementView], str | None]:
    """Imported statements, oldest import first; returns a page and the id to continue after."""
    s = models.statements.c
    query = select(models.statements).order_by(s.id).limit(min(limit, page_size_max) + 1)
    if bank_account is not None:
        query = query.where(s.bank_account == bank_account)
    if after_id is not None:
        query = query.where(s.id > after_id)
    with db.reading() as conn:
        rows = conn.execute(query).all()
    page = rows[: min(limit, page_size_max)]
    more = len(rows) > len(page)
    return [_statement_view(r) for r in page], (page[-1].id if more and page else None)


def get_statement(db: Database, statement_id: str) -> StatementView:
    s, line = models.statements.c, models.statement_lines.c
    with db.reading() as conn:
        row = conn.execute(select(models.statements).where(s.id == statement_id)).first()
        if row is None:
            raise NotFound(f"no statement {statement_id}", code="statement_not_found")
        states = conn.execute(
            select(line.state, func.count())
            .where(line.statement_id == statement_id, line.role.in_(("line", "detail")))
            .group_by(line.state)
        ).all()
    return _statement_view(row, {state: int(count) for state, count in states})


# --- the exceptions queue -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Note:
    seq: int
    author: str
    text: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ExceptionView:
    """One item of the queue. `amount` is signed as our balance moves (a debit line is
    negative); `pending` is a write-off waiting for its second person."""

    id: str
    kind: ExceptionKind
    status: ExceptionStatus
    bank_account: str
    currency: str
    owner: str | None
    line_id: str | None
    statement_row_id: str | None
    expected_key: str | None
    on_date: date | None
    amount: Money | None
    detail: str
    evidence: Mapping[str, Any]
    resolution: Resolution | None
    pending: Mapping[str, Any] | None
    resolved_by: str | None
    approved_by: str | None
    resolved_at: datetime | None
    ledger_transaction_id: str | None
    created_at: datetime
    updated_at: datetime
    version: int
    notes: tuple[Note, ...] = ()
    line: Mapping[str, Any] | None = None


def _exception_view(
    row: Row[Any], notes: Sequence[Note] = (), line: Mapping[str, Any] | None = None
) -> ExceptionView:
    return ExceptionView(
        id=row.id,
        kind=row.kind,
        status=row.status,
        bank_account=row.bank_account,
        currency=row.currency,
        owner=row.owner,
        line_id=row.line_id,
        statement_row_id=row.statement_row_id,
        expected_key=row.expected_key,
        on_date=row.on_date,
        amount=None if row.amount_minor is None else Money(row.amount_minor, row.currency),
        detail=row.detail,
        evidence=dict(row.evidence),
        resolution=row.resolution,
        pending=None if row.pending is None else dict(row.pending),
        resolved_by=row.resolved_by,
        approved_by=row.approved_by,
        resolved_at=row.resolved_at,
        ledger_transaction_id=row.ledger_transaction_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
        notes=tuple(notes),
        line=line,
    )


@dataclass(frozen=True, slots=True)
class ExceptionFilter:
    status: ExceptionStatus | None = None
    kind: ExceptionKind | None = None
    bank_account: str | None = None
    owner: str | None = None


def list_exceptions(
    db: Database,
    where: ExceptionFilter = ExceptionFilter(),
    *,
    after_id: str | None = None,
    limit: int = 50,
) -> tuple[list[ExceptionView], str | None]:
    """The queue, oldest first (ids are time-ordered); returns a page and the id to continue
    after (None on the last page)."""
    x = models.exceptions.c
    size = max(1, min(limit, page_size_max))
    query = select(models.exceptions).order_by(x.id).limit(size + 1)
    for column, value in (
        (x.status, where.status),
        (x.kind, where.kind),
        (x.bank_account, where.bank_account),
        (x.owner, where.owner),
    ):
        if value is not None:
            query = query.where(column == value)
    if after_id is not None:
        query = query.where(x.id > after_id)
    with db.reading() as conn:
        rows = conn.execute(query).all()
    page = rows[:size]
    return [_exception_view(r) for r in page], (page[-1].id if len(rows) > size else None)


def get_exception(db: Database, exception_id: str) -> ExceptionView:
    with db.reading() as conn:
        return _view_in(conn, exception_id)


def _view_in(conn: Connection, exception_id: str) -> ExceptionView:
    row = _exception_row(conn, exception_id)
    n = models.exception_notes.c
    notes = [
        Note(r.seq, r.author, r.text, r.at)
        for r in conn.execute(
            select(models.exception_notes).where(n.exception_id == exception_id).order_by(n.seq)
        )
    ]
    line = None
    if row.line_id is not None:
        found = conn.execute(
            select(models.statement_lines).where(models.statement_lines.c.id == row.line_id)
        ).first()
        if found is not None:
            line = _line_summary(found)
    return _exception_view(row, notes, line)


def _line_summary(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "line_ref": row.line_ref,
        "booked_on": row.booked_on.isoformat(),
        "amount": Money(row.amount_minor, row.amount_currency),
        "direction": row.direction,
        "state": row.state,
        "references": dict(row.references),
        "counterparty_name": row.counterparty_name,
        "counterparty_account": row.counterparty_account,
        "remittance": row.remittance,
    }


def _exception_row(conn: Connection, exception_id: str, *, lock: bool = False) -> Row[Any]:
    query = select(models.exceptions).where(models.exceptions.c.id == exception_id)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"no exception {exception_id}", code="exception_not_found")
    return row


def _unresolved(row: Row[Any]) -> None:
    if row.status == "resolved":
        raise Conflict(
            f"exception {row.id} is resolved ({row.resolution})", code="exception_resolved"
        )


def _change(
    conn: Connection,
    row: Row[Any],
    changes: Mapping[str, Any],
    *,
    action: str,
    actor: str,
    source_ip: str | None,
    now: datetime,
) -> None:
    """Write a change of an exception and its audit record (the last write of the unit)."""
    x = models.exceptions.c
    conn.execute(
        update(models.exceptions)
        .where(x.id == row.id)
        .values(**changes, updated_at=now, version=row.version + 1)
    )
    watched = ("status", "owner", "resolution", "pending", "approved_by", "resolved_by")
    record_audit(
        conn,
        actor=actor,
        action=action,
        subject_type="reconciliation_exception",
        subject_id=row.id,
        before={k: getattr(row, k) for k in watched if k in changes},
        after={k: v for k, v in changes.items() if k in watched},
        source_ip=source_ip,
        at=now,
    )


def assign_exception(
    db: Database,
    exception_id: str,
    *,
    owner: str,
    actor: str,
    clock: Clock,
    source_ip: str | None = None,
) -> ExceptionView:
    """Give the exception an owner; an open one is now being investigated."""
    owner = " ".join(owner.split())[:200]
    if not owner:
        raise InvalidInput("an owner is needed", code="owner_required", field="owner")

    def work(conn: Connection) -> ExceptionView:
        row = _exception_row(conn, exception_id, lock=True)
        _unresolved(row)
        _change(conn, row, {"owner": owner, "status": "investigating"},
                action="reconciliation.exception_assigned", actor=actor, source_ip=source_ip,
                now=clock.now())  # fmt: skip
        return _view_in(conn, exception_id)

    return db.run(work)


def add_note(
    db: Database,
    exception_id: str,
    *,
    text: str,
    actor: str,
    clock: Clock,
    source_ip: str | None = None,
) -> ExceptionView:
    """Add a note (notes are kept on resolved exceptions too: they explain them)."""
    text = text.strip()
    if not text or len(text) > note_length_max:
        raise InvalidInput(
            f"a note is 1 to {note_length_max} characters", code="invalid_note", field="text"
        )

    def work(conn: Connection) -> ExceptionView:
        row = _exception_row(conn, exception_id, lock=True)
        now = clock.now()
        _add_note_in(conn, exception_id, actor, text, now)
        changes = {"status": "investigating"} if row.status == "open" else {}
        _change(conn, row, changes, action="reconciliation.exception_noted", actor=actor,
                source_ip=source_ip, now=now)  # fmt: skip
        return _view_in(conn, exception_id)

    return db.run(work)


def _identity(actor: str) -> str:
    """Who acted, without the name that may change: `key:<id>`, `cli:<user>@<host>`."""
    return actor.split(" (", 1)[0]


def resolve_exception(
    db: Database,
    exception_id: str,
    *,
    resolution: Resolution,
    note: str,
    actor: str,
    clock: Clock,
    payout_ids: Sequence[str] = (),
    source_ip: str | None = None,
    policy: ReconciliationPolicy | None = None,
) -> ExceptionView:
    """Resolve an exception, audited:

    - `manual_match`: link its line to `payout_ids` (a debit: payouts summing to the line,
      within the bank-fee tolerance; a credit: the one payout it returns), then apply the
      effects as an automatic match would;
    - `write_off`: ask for the amount to be written off (Dr platform:losses Cr bank, or the
      reverse for money in); a second person approves it (`approve_write_off`);
    - `accepted`: nothing to book (a timing difference, a known gap), said in the note.
    """
    policy = policy or ReconciliationPolicy.from_settings()
    note = note.strip()[:note_length_max]
    with db.reading() as conn:
        row = _exception_row(conn, exception_id)
    allowed = _RESOLUTIONS_BY_KIND[row.kind]
    if resolution not in allowed:
        raise InvalidInput(
            f"a {row.kind} is resolved by {' or '.join(sorted(allowed))}, not {resolution}",
            code="resolution_not_allowed",
            field="resolution",
        )
    if resolution != "manual_match" and not note:
        raise InvalidInput("say why in a note", code="note_required", field="note")
    if resolution == "manual_match":
        return _manual_match(db, row, payout_ids, note=note, actor=actor, clock=clock,
                             source_ip=source_ip, policy=policy)  # fmt: skip
    if resolution == "write_off":
        return _request_write_off(db, exception_id, note=note, actor=actor, clock=clock,
                                  source_ip=source_ip)  # fmt: skip

    def accept(conn: Connection) -> ExceptionView:
        locked = _exception_row(conn, exception_id, lock=True)
        _unresolved(locked)
        now = clock.now()
        _add_note_in(conn, exception_id, actor, note, now)
        _change(conn, locked, {"status": "resolved", "resolution": "accepted",
                               "resolved_by": actor, "resolved_at": now, "pending": None},
                action="reconciliation.exception_accepted", actor=actor, source_ip=source_ip,
                now=now)  # fmt: skip
        return _view_in(conn, exception_id)

    return db.run(accept)


def _add_note_in(
    conn: Connection, exception_id: str, author: str, text: str, now: datetime
) -> None:
    if not text:
        return
    n = models.exception_notes.c
    seq = conn.execute(
        select(func.coalesce(func.max(n.seq), 0)).where(n.exception_id == exception_id)
    ).scalar_one()
    conn.execute(models.exception_notes.insert().values(
        exception_id=exception_id, seq=int(seq) + 1, author=author, text=text, at=now))  # fmt: skip


def _units_in(conn: Connection, line_id: str) -> list[Row[Any]]:
    """The lines that carry the money of `line_id`: itself, or a batch's details."""
    line = models.statement_lines.c
    row = conn.execute(select(models.statement_lines).where(line.id == line_id)).first()
    invariant(row is not None, f"exception names line {line_id}, which is not stored")
    assert row is not None
    if row.role != "batch":
        return [row]
    return list(
        conn.execute(
            select(models.statement_lines)
            .where(line.parent_id == line_id, line.role == "detail")
            .order_by(line.position)
        )
    )


def _manual_match(
    db: Database,
    row: Row[Any],
    payout_ids: Sequence[str],
    *,
    note: str,
    actor: str,
    clock: Clock,
    source_ip: str | None,
    policy: ReconciliationPolicy,
) -> ExceptionView:
    ids = list(dict.fromkeys(payout_ids))
    if not ids:
        raise InvalidInput("name the payouts the line pays", code="payouts_required",
                           field="payout_ids")  # fmt: skip
    movements = {m.payout_id: m for m in payouts_expected.expected_for(db, ids)}
    missing = [payout_id for payout_id in ids if payout_id not in movements]
    if missing:
        raise InvalidInput(
            f"not payouts a bank was given: {', '.join(missing)}",
            code="payout_not_matchable",
            field="payout_ids",
        )

    def work(conn: Connection) -> ExceptionView:
        locked = _exception_row(conn, row.id, lock=True)
        _unresolved(locked)
        invariant(locked.line_id is not None, f"{row.kind} {row.id} without a line")
        units = _units_in(conn, locked.line_id)
        if any(u.state not in _OPEN_STATES for u in units):
            raise Conflict("the line is no longer open", code="already_matched")
        now = clock.now()
        match_values, targets = _manual_values(
            locked,
            units,
            [movements[i] for i in ids],
            policy=policy,
            actor=actor,
            note=note,
            now=now,
        )
        conn.execute(models.matches.insert().values(**match_values))
        try:
            with conn.begin_nested():
                conn.execute(models.match_targets.insert(), targets)
        except IntegrityError as error:
            raise Conflict(
                "a payout named is already matched to another line", code="already_matched"
            ) from error
        line = models.statement_lines.c
        conn.execute(update(models.statement_lines)
                     .where(line.id.in_([u.id for u in units]))
                     .values(state="matched", match_id=match_values["id"]))  # fmt: skip
        _resolve_overdue_in(conn, [t["expected_key"] for t in targets], now)
        _add_note_in(conn, row.id, actor, note, now)
        _change(conn, locked, {"status": "resolved", "resolution": "manual_match",
                               "resolved_by": actor, "resolved_at": now, "pending": None},
                action="reconciliation.exception_matched", actor=actor, source_ip=source_ip,
                now=now)  # fmt: skip
        return _view_in(conn, row.id)

    view = db.run(work)
    apply_pending_effects(db, clock=clock, policy=policy)
    return view


def _manual_values(
    row: Row[Any],
    units: Sequence[Row[Any]],
    movements: Sequence[ExpectedMovement],
    *,
    policy: ReconciliationPolicy,
    actor: str,
    note: str,
    now: datetime,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    direction = units[0].direction
    currency = units[0].amount_currency
    line_minor = sum(u.amount_minor for u in units)
    if any(m.amount.currency != currency for m in movements):
        raise InvalidInput("the payouts are in another currency than the line",
                           code="currency_mismatch", field="payout_ids")  # fmt: skip
    returned = direction == "credit"
    if returned and len(movements) != 1:
        raise InvalidInput("money in is the return of exactly one payout",
                           code="one_payout_returned", field="payout_ids")  # fmt: skip
    expected_minor = sum(m.amount.amount_minor for m in movements)
    fee = line_minor - expected_minor if direction == "debit" else expected_minor - line_minor
    if not 0 <= fee <= policy.fee_tolerance_minor.get(currency, 0):
        raise InvalidInput(
            f"the line is {line_minor} minor units, the payouts {expected_minor}: beyond the "
            "bank-fee tolerance (write the line off instead)",
            code="amounts_differ",
            field="payout_ids",
        )
    keys = [(RETURN_PREFIX if returned else "") + m.key for m in movements]
    match_id = prefixed_id("rmt")
    values = {
        "id": match_id, "bank_account": row.bank_account, "currency": currency, "rule": "manual",
        "target": "return" if returned else "payout", "line_ids": [u.id for u in units],
        "expected_keys": keys, "payout_ids": [m.payout_id for m in movements],
        "end_to_end_ids": [m.end_to_end_id for m in movements], "amount_minor": line_minor,
        "fee_minor": fee or None, "booked_on": max(u.booked_on for u in units),
        "return_reason_code": str(units[0].references.get("return_reason_code", ""))[:35],
        "evidence": {"rule": "manual", "by": actor, "note": note[:500], "exception": row.id},
        "effect_state": "pending", "effect": None, "created_by": actor, "created_at": now,
        "applied_at": None,
    }  # fmt: skip
    targets = [
        {"expected_key": key, "match_id": match_id, "bank_account": row.bank_account,
         "currency": currency, "due_on": m.due_on}
        for key, m in zip(keys, movements, strict=True)
    ]  # fmt: skip
    return values, targets


def _request_write_off(
    db: Database,
    exception_id: str,
    *,
    note: str,
    actor: str,
    clock: Clock,
    source_ip: str | None,
) -> ExceptionView:
    def work(conn: Connection) -> ExceptionView:
        row = _exception_row(conn, exception_id, lock=True)
        _unresolved(row)
        if row.amount_minor is None or row.amount_minor == 0:
            raise InvalidInput("nothing to write off", code="nothing_to_write_off")
        now = clock.now()
        pending = {
            "action": "write_off",
            "amount_minor": row.amount_minor,
            "requested_by": actor,
            "requested_at": now.isoformat(),
            "note": note[:500],
        }
        _add_note_in(conn, exception_id, actor, note, now)
        _change(conn, row, {"status": "investigating", "pending": pending},
                action="reconciliation.write_off_requested", actor=actor, source_ip=source_ip,
                now=now)  # fmt: skip
        return _view_in(conn, exception_id)

    return db.run(work)


def approve_write_off(
    db: Database,
    exception_id: str,
    *,
    actor: str,
    clock: Clock,
    source_ip: str | None = None,
) -> ExceptionView:
    """The second person approves a write-off: the ledger transaction is posted (money out:
    Dr platform:losses Cr platform:bank:<id>; money in: the reverse), on the line's booking
    day, and the exception is resolved. The requester cannot approve (`approver_is_requester`)."""

    def work(conn: Connection) -> ExceptionView:
        row = _exception_row(conn, exception_id, lock=True)
        _unresolved(row)
        pending = row.pending
        if not pending or pending.get("action") != "write_off":
            raise Conflict(f"exception {exception_id} has no write-off waiting for approval",
                           code="no_pending_write_off")  # fmt: skip
        if _identity(actor) == _identity(str(pending["requested_by"])):
            raise Forbidden(f"{actor} asked for this write-off and cannot approve it",
                            code="approver_is_requester")  # fmt: skip
        now = clock.now()
        transaction_id = _post_write_off(conn, row, int(pending["amount_minor"]), now)
        if row.line_id is not None:
            units = _units_in(conn, row.line_id)
            line = models.statement_lines.c
            conn.execute(update(models.statement_lines)
                         .where(line.id.in_([u.id for u in units]))
                         .values(state="written_off"))  # fmt: skip
        _change(conn, row, {"status": "resolved", "resolution": "write_off",
                            "resolved_by": pending["requested_by"], "approved_by": actor,
                            "resolved_at": now, "pending": None,
                            "ledger_transaction_id": transaction_id},
                action="reconciliation.write_off_approved", actor=actor, source_ip=source_ip,
                now=now)  # fmt: skip
        return _view_in(conn, exception_id)

    return db.run(work)


def _post_write_off(conn: Connection, row: Row[Any], amount_minor: int, now: datetime) -> str:
    amount = Money(abs(amount_minor), row.currency)
    bank = bank_account_code(row.bank_account)
    debit, credit = ("platform:losses", bank) if amount_minor < 0 else (bank, "platform:losses")
    day = row.on_date or now.date()
    request = _transfer(f"reconciliation:write_off:{row.id}", "reconciliation_write_off", debit,
                        credit, amount, _end_of(day, _Fixed(now)), row.id)  # fmt: skip
    (result,) = post_many_in(conn, [request], now=now)
    if result.status is PostStatus.REJECTED:
        raise result.error or Conflict("the ledger refused the write-off", code="ledger_refused")
    invariant(result.transaction_id is not None, "a posted write-off has a transaction id")
    return str(result.transaction_id)


def reject_write_off(
    db: Database,
    exception_id: str,
    *,
    note: str,
    actor: str,
    clock: Clock,
    source_ip: str | None = None,
) -> ExceptionView:
    """Turn a write-off request down (or withdraw it): the exception stays under investigation."""

    def work(conn: Connection) -> ExceptionView:
        row = _exception_row(conn, exception_id, lock=True)
        _unresolved(row)
        if not row.pending:
            raise Conflict(f"exception {exception_id} has no write-off waiting for approval",
                           code="no_pending_write_off")  # fmt: skip
        now = clock.now()
        _add_note_in(conn, exception_id, actor, note.strip()[:note_length_max], now)
        _change(conn, row, {"status": "investigating", "pending": None},
                action="reconciliation.write_off_rejected", actor=actor, source_ip=source_ip,
                now=now)  # fmt: skip
        return _view_in(conn, exception_id)

    return db.run(work)
