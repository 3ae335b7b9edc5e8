"""`sellerpay reconcile …`: bank statements in. `parse` reads a file and shows what it says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from sellerpay.cli.runtime import console, exits_cleanly
from sellerpay.errors import InvalidInput
from sellerpay.rails.csv_statements import CsvMapping
from sellerpay.rails.detect import parse_statement_file
from sellerpay.rails.instructions import RailError
from sellerpay.rails.statements import (
    STATEMENT_FILE_BYTES_MAX,
    Statement,
    StatementFile,
    StatementLine,
    statement_file_to_dict,
)

app = typer.Typer(
    help="Reconciliation: bank statements (camt.053/054, MT940/MT942, CSV) in.",
    no_args_is_help=True,
)

MAPPING_BYTES_MAX = 64 * 1024
REMITTANCE_SHOWN_MAX = 40


@app.callback()
def reconcile() -> None:
    """Reconciliation: bank statements (camt.053/054, MT940/MT942, CSV) in.

    The callback keeps `reconcile` a group of commands: a Typer app with a single command
    would collapse into it.
    """


@app.command("parse")
@exits_cleanly
def parse(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="The statement file (or a zip)."
        ),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (amounts in minor units) instead.")
    ] = False,
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping",
            exists=True,
            dir_okay=False,
            readable=True,
            help="A CSV column mapping (JSON), needed for CSV statements.",
        ),
    ] = None,
) -> None:
    """Read a bank statement file and show its format, statements and lines.

    Nothing is stored. A malformed file prints one line saying where it is wrong and exits 2.
    """
    statement_file = _read(file, mapping)
    if as_json:
        typer.echo(json.dumps(statement_file_to_dict(statement_file), indent=2, ensure_ascii=False))
        return
    _show(statement_file)


def _read(file: Path, mapping_file: Path | None) -> StatementFile:
    """The parsed file; a bank file's or mapping's fault becomes `InvalidInput` (exit 2)."""
    if file.stat().st_size > STATEMENT_FILE_BYTES_MAX:
        raise InvalidInput(
            f"{file} is larger than {STATEMENT_FILE_BYTES_MAX} bytes",
            code="statement_file_too_large",
        )
    try:
        csv_mapping = _mapping(mapping_file) if mapping_file is not None else None
        return parse_statement_file(file.read_bytes(), file.name, csv_mapping)
    except RailError as error:
        raise InvalidInput(f"{file.name}: {error}", code=error.code) from error


def _mapping(path: Path) -> CsvMapping:
    if path.stat().st_size > MAPPING_BYTES_MAX:
        raise InvalidInput(f"{path} is not a mapping: too large", code="invalid_mapping")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidInput(f"{path} is not JSON: {error}", code="invalid_mapping") from error
    try:
        return CsvMapping.from_dict(data)
    except RailError as error:
        raise InvalidInput(f"{path.name}: {error}", code=error.code) from error


def _show(statement_file: StatementFile) -> None:
    versions = sorted({s.version for s in statement_file.statements if s.version})
    console.print(
        f"[bold]{statement_file.format}[/]"
        + (f" ({', '.join(versions)})" if versions else "")
        + f": {len(statement_file.statements)} statement(s), "
        f"{statement_file.line_count} line(s)",
        highlight=False,
    )
    summary = Table("statement", "account", "currency", "opening", "closing", "lines")
    for statement in statement_file.statements:
        summary.add_row(
            escape(
                statement.statement_id + (f" #{statement.sequence}" if statement.sequence else "")
            ),
            escape(statement.account),
            statement.currency,
            _balance(statement, opening=True),
            _balance(statement, opening=False),
            str(len(statement.lines)),
        )
    console.print(summary)
    for statement in statement_file.statements:
        if statement.lines:
            console.print(_lines_table(statement))


def _balance(statement: Statement, *, opening: bool) -> str:
    balance = statement.opening_balance if opening else statement.closing_balance
    on = statement.opening_date if opening else statement.closing_date
    shown = "—" if balance is None else str(balance)
    return shown + (f" ({on})" if on else "")


def _lines_table(statement: Statement) -> Table:
    table = Table(title=escape(f"{statement.account} — {statement.statement_id}"))
    table.add_column("line", no_wrap=True)
    table.add_column("booked", no_wrap=True)
    table.add_column("amount", justify="right", no_wrap=True)
    for name in ("end-to-end id", "counterparty", "remittance"):
        table.add_column(name, overflow="fold")
    table.add_column("code", overflow="fold")
    table.add_column("return", no_wrap=True)
    for line in statement.lines:
        _add_line(table, line, indent="")
        for detail in line.details:
            _add_line(table, detail, indent="└ ")
    return table


def _add_line(table: Table, line: StatementLine, *, indent: str) -> None:
    """One row; a status other than booked and a reversal are marked after the line id."""
    remittance = line.remittance
    if len(remittance) > REMITTANCE_SHOWN_MAX:
        remittance = remittance[: REMITTANCE_SHOWN_MAX - 1] + "…"
    marks = ("" if line.status == "booked" else f" {line.status}") + (
        " reversal" if line.reversal else ""
    )
    counterparty = " ".join(
        part for part in (line.counterparty_name, line.counterparty_account) if part
    )
    table.add_row(
        escape(indent + line.line_id + marks),
        line.booked_on.isoformat(),
        ("+" if line.direction == "credit" else "") + str(line.signed_amount),
        escape(line.end_to_end_id),
        escape(counterparty),
        escape(remittance),
        escape(line.bank_transaction_code),
        escape(line.return_reason_code),
    )


# --- import, and the exceptions queue (reconciliation.service) ---------------------------------

EXCEPTIONS_SHOWN_MAX = 200


@app.command("import")
@exits_cleanly
def import_file(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="The statement file (or a zip)."
        ),
    ],
    account: Annotated[
        str,
        typer.Option(
            "--account", help="Our bank account id (its ledger account: platform / bank / id)."
        ),
    ],
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping",
            exists=True,
            dir_okay=False,
            readable=True,
            help="A CSV column mapping (JSON): saved for the account and reused next time.",
        ),
    ] = None,
) -> None:
    """Import a statement (camt.053, MT940, CSV): match it, apply what it proves, check the
    balances. The same file again changes nothing and says so. Exits 2 on a malformed file."""
    from sellerpay.cli.audit import cli_actor
    from sellerpay.cli.runtime import (
        open_database,
        progress_bar,
        require_current_schema,
        system_clock,
    )
    from sellerpay.reconciliation import service

    if file.stat().st_size > STATEMENT_FILE_BYTES_MAX:
        raise InvalidInput(f"{file} is larger than {STATEMENT_FILE_BYTES_MAX} bytes",
                           code="statement_file_too_large")  # fmt: skip
    db = open_database()
    require_current_schema(db)
    csv_mapping = _mapping(mapping) if mapping is not None else None
    with progress_bar() as progress:
        task = progress.add_task("reading", total=None)

        def advance(stage: str, done: int, total: int) -> None:
            progress.update(task, description=stage, completed=done, total=total or None)

        outcome = service.import_statement(
            db, file.read_bytes(), filename=file.name, bank_account=account,
            clock=system_clock(), csv_mapping=csv_mapping, actor=cli_actor(),
            on_progress=advance,
        )  # fmt: skip
    console.print(outcome.message, highlight=False)
    if outcome.duplicate:
        return
    table = Table("statements", "lines", "matched", "exceptions opened", "effects applied")
    table.add_row(str(outcome.statements), f"{outcome.lines:,}", f"{outcome.matched_lines:,}",
                  f"{outcome.exceptions_opened:,}", f"{outcome.effects_applied:,}")  # fmt: skip
    console.print(table)
    for rule, count in sorted(outcome.rules.items()):
        console.print(f"  {rule}: {count:,} line(s)", highlight=False)


@app.command("exceptions")
@exits_cleanly
def exceptions(
    status: Annotated[
        str | None, typer.Option(help="open, investigating or resolved (default: not resolved)")
    ] = None,
    kind: Annotated[str | None, typer.Option(help="unmatched_line, balance_difference…")] = None,
    account: Annotated[str | None, typer.Option("--account", help="Our bank account id.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead.")] = False,
) -> None:
    """The exceptions queue, oldest first (at most 200 shown; the API pages through all)."""
    from sellerpay.cli.runtime import open_database
    from sellerpay.reconciliation import service

    db = open_database()
    statuses = [status] if status else ["open", "investigating"]
    for value, allowed, name in (
        (kind, service.EXCEPTION_KINDS, "kind"),
        *((s, service.EXCEPTION_STATUSES, "status") for s in statuses),
    ):
        if value is not None and value not in allowed:
            raise InvalidInput(f"{name} is one of {', '.join(allowed)}", code=f"invalid_{name}")
    views: list[service.ExceptionView] = []
    for wanted in statuses:
        where = service.ExceptionFilter(status=wanted, kind=kind, bank_account=account)  # type: ignore[arg-type]
        page, _ = service.list_exceptions(db, where, limit=EXCEPTIONS_SHOWN_MAX)
        views += page
    views.sort(key=lambda v: v.id)
    if as_json:
        typer.echo(json.dumps([_exception_json(v) for v in views], indent=2, ensure_ascii=False))
        return
    table = Table("id", "kind", "status", "account", "day", "amount", "owner", "detail")
    for view in views[:EXCEPTIONS_SHOWN_MAX]:
        table.add_row(
            view.id, view.kind, view.status + (" (write-off asked)" if view.pending else ""),
            view.bank_account, view.on_date.isoformat() if view.on_date else "",
            "" if view.amount is None else str(view.amount), escape(view.owner or ""),
            escape(view.detail),
        )  # fmt: skip
    console.print(table)


def _exception_json(view: object) -> dict[str, object]:
    from dataclasses import asdict

    from sellerpay.money import Money

    def plain(value: object) -> object:
        if isinstance(value, Money):
            return {"amount_minor": value.amount_minor, "currency": value.currency}
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        isoformat = getattr(value, "isoformat", None)
        return isoformat() if callable(isoformat) else value

    data = {field: getattr(view, field) for field in getattr(view, "__slots__", ())}
    data["notes"] = [asdict(note) for note in data["notes"]]
    result = plain(data)
    assert isinstance(result, dict)
    return result


@app.command("resolve")
@exits_cleanly
def resolve(
    exception_id: Annotated[str, typer.Argument(help="The exception (rexc_…).")],
    match: Annotated[
        list[str] | None,
        typer.Option("--match", help="Link the line to this payout (repeat for a batch)."),
    ] = None,
    write_off: Annotated[
        bool, typer.Option("--write-off", help="Ask for a write-off (a second person approves).")
    ] = False,
    accept: Annotated[
        bool, typer.Option("--accept", help="Close it with nothing to book.")
    ] = False,
    note: Annotated[str, typer.Option("--note", help="Why (needed to write off or accept).")] = "",
) -> None:
    """Resolve an exception: --match PAYOUT_ID…, --write-off, or --accept (one of them)."""
    from sellerpay.cli.audit import cli_actor
    from sellerpay.cli.runtime import open_database, system_clock
    from sellerpay.reconciliation import service

    chosen = [name for name, on in (("manual_match", bool(match)), ("write_off", write_off),
                                    ("accepted", accept)) if on]  # fmt: skip
    if len(chosen) != 1:
        raise InvalidInput("give exactly one of --match, --write-off, --accept",
                           code="resolution_required")  # fmt: skip
    view = service.resolve_exception(
        open_database(), exception_id, resolution=chosen[0],  # type: ignore[arg-type]
        note=note, payout_ids=match or [], actor=cli_actor(), clock=system_clock(),
    )  # fmt: skip
    _say(view)


@app.command("approve")
@exits_cleanly
def approve(exception_id: Annotated[str, typer.Argument(help="The exception (rexc_…).")]) -> None:
    """Approve the write-off someone else asked for: it is booked in the ledger."""
    from sellerpay.cli.audit import cli_actor
    from sellerpay.cli.runtime import open_database, system_clock
    from sellerpay.reconciliation import service

    view = service.approve_write_off(
        open_database(), exception_id, actor=cli_actor(), clock=system_clock()
    )
    _say(view)


@app.command("note")
@exits_cleanly
def note_command(
    exception_id: Annotated[str, typer.Argument(help="The exception (rexc_…).")],
    text: Annotated[str, typer.Argument(help="The note.")],
    owner: Annotated[str | None, typer.Option("--owner", help="Also assign it to.")] = None,
) -> None:
    """Add a note to an exception (and give it an owner with --owner)."""
    from sellerpay.cli.audit import cli_actor
    from sellerpay.cli.runtime import open_database, system_clock
    from sellerpay.reconciliation import service

    db, actor, clock = open_database(), cli_actor(), system_clock()
    view = service.add_note(db, exception_id, text=text, actor=actor, clock=clock)
    if owner:
        view = service.assign_exception(db, exception_id, owner=owner, actor=actor, clock=clock)
    _say(view)


@app.command("expect-settlement")
@exits_cleanly
def expect_settlement(
    file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, readable=True, help="The provider's CSV."),
    ],
    account: Annotated[str, typer.Option("--account", help="The bank account it pays into.")],
) -> None:
    """Expect a payment provider's settlement payouts on a bank account (from its settlement
    report): a matching credit moves the money from the provider's clearing account to the
    bank account in the ledger."""
    from sellerpay.cli.audit import cli_actor
    from sellerpay.cli.runtime import open_database, system_clock
    from sellerpay.reconciliation import service

    count = service.record_provider_settlement(
        open_database(), file.read_bytes(), bank_account=account, clock=system_clock(),
        actor=cli_actor(),
    )  # fmt: skip
    console.print(f"{count} settlement payout(s) now expected on {account}", highlight=False)


def _say(view: object) -> None:
    from sellerpay.reconciliation.service import ExceptionView

    assert isinstance(view, ExceptionView)
    waiting = " (write-off waiting for approval)" if view.pending else ""
    console.print(
        f"{view.id} {view.kind}: {view.status}"
        + (f", {view.resolution}" if view.resolution else "")
        + waiting,
        highlight=False,
    )
