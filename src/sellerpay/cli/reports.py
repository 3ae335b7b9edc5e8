"""`sellerpay reports …`: seller statements (PDF, CSV, JSON), payout compositions, the finance
reports (cash position, seller liabilities, revenue, trial balance) and the analytics export."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.markup import escape
from rich.table import Table

from sellerpay.cli.runtime import console, err_console, exits_cleanly, open_database, system_clock
from sellerpay.errors import InvalidInput, InvariantViolation
from sellerpay.reporting import finance, service
from sellerpay.reporting.api import statement_public
from sellerpay.reporting.csv_files import (
    composition_csv,
    statement_csv,
    trial_balance_accounts_csv,
    trial_balance_csv,
)
from sellerpay.reporting.export import export_analytics, settle_default
from sellerpay.reporting.pdf import statement_pdf

app = typer.Typer(
    help="Reports: seller statements, payout compositions, finance reports, analytics export.",
    no_args_is_help=True,
)


def _moment(text: str | None, option: str, *, end_of_day: bool = False) -> datetime | None:
    return None if text is None else _at(text, option, end_of_day=end_of_day)


def _at(text: str, option: str, *, end_of_day: bool = False) -> datetime:
    """An ISO 8601 time with an offset, or a day (its 00:00 UTC; with `end_of_day`, the next
    day's 00:00 UTC, so `--to 2026-01-31` includes the 31st)."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day + timedelta(days=int(end_of_day)), time.min, tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise InvalidInput(
            f"{option} {text!r} is neither a day (2026-01-31) nor an ISO 8601 time",
            code="invalid_time",
        ) from error
    if moment.tzinfo is None:
        raise InvalidInput(
            f"{option} needs a timezone, e.g. 2026-01-31T00:00:00+00:00", code="naive_datetime"
        )
    return moment


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise InvalidInput(
            f"{option} {text!r} is not a day (2026-01-31)", code="invalid_date"
        ) from error


def _write(chunks: Iterable[str] | bytes, out: Path | None) -> None:
    """To `out` (bytes as they are, text as UTF-8), or to standard output."""
    if isinstance(chunks, bytes):
        if out is None:
            raise InvalidInput("a PDF needs --out FILE", code="out_required")
        out.write_bytes(chunks)
        return
    if out is None:
        for chunk in chunks:
            sys.stdout.write(chunk)
        sys.stdout.flush()
        return
    with out.open("w", encoding="utf-8", newline="") as handle:
        handle.writelines(chunks)


def _written(out: Path | None, what: str) -> None:
    if out is not None:
        err_console.print(f"{what} written to {escape(str(out))}", highlight=False)


@app.command("statement")
@exits_cleanly
def statement(
    seller: Annotated[str, typer.Option("--seller", help="Seller id (sel_…)")],
    currency: Annotated[str | None, typer.Option(help="Default: the seller's currency")] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="Day or ISO time; default: the beginning")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Day (included) or ISO time (excluded); default: now")
    ] = None,
    output: Annotated[
        Literal["pdf", "csv", "json"], typer.Option("--format", help="pdf, csv or json")
    ] = "pdf",
    language: Annotated[
        str | None, typer.Option(help="en, fr, es or ja; default: the seller's")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="File to write (default: standard output)")
    ] = None,
) -> None:
    """A seller's statement: opening balance, every movement, closing balance (checked)."""
    report = service.seller_statement(
        open_database(),
        seller_id=seller,
        clock=system_clock(),
        currency=currency,
        start=_moment(start, "--from"),
        end=_moment(end, "--to", end_of_day=True),
        language=language,
    )
    if output == "pdf":
        _write(statement_pdf(report), out)
    elif output == "csv":
        _write(statement_csv(report), out)
    else:
        _write([statement_public(report).model_dump_json(indent=2) + "\n"], out)
    _written(out, f"statement of {seller} ({report.currency}, {len(report.lines)} lines)")


@app.command("composition")
@exits_cleanly
def composition(
    payout: Annotated[str, typer.Option("--payout", help="Payout id (po_…)")],
    out: Annotated[Path | None, typer.Option(help="CSV file (default: standard output)")] = None,
) -> None:
    """Every balance transaction a payout paid, as CSV; the amounts sum to the payout."""
    report = service.payout_composition(open_database(), payout_id=payout)
    _write(composition_csv(report), out)
    _written(out, f"composition of {payout} ({len(report.lines)} lines, {report.payout.source})")


@app.command("cash-position")
@exits_cleanly
def cash_position(
    start: Annotated[str, typer.Option("--from", help="First day (UTC)")],
    end: Annotated[str, typer.Option("--to", help="Last day (UTC), included")],
) -> None:
    """Each bank account's position at the end of every UTC day."""
    report = finance.cash_position(
        open_database(), start=_day(start, "--from"), end=_day(end, "--to")
    )
    table = Table("day", "account", "currency", "in", "out", "closing", title="cash position")
    for d in report.days:
        table.add_row(
            d.day.isoformat(),
            d.account,
            d.currency,
            d.money_in.format("en_US"),
            d.money_out.format("en_US"),
            d.closing.format("en_US"),
        )
    console.print(table)


@app.command("liabilities")
@exits_cleanly
def liabilities(
    before: Annotated[str | None, typer.Option(help="Day or ISO time; default: now")] = None,
) -> None:
    """What the platform owes sellers, per currency."""
    report = finance.seller_liabilities(open_database(), before=_moment(before, "--before"))
    table = Table(
        "currency", "pending", "available", "negative (to recover)", "sellers < 0", "reserved",
        "disputes", "in transit", "total", title="seller liabilities",
    )  # fmt: skip
    for line in report.currencies:
        table.add_row(
            line.currency,
            line.pending.format("en_US"),
            line.available.format("en_US"),
            line.negative_to_recover.format("en_US"),
            f"{line.sellers_negative:,}",
            line.reserved.format("en_US"),
            line.dispute_hold.format("en_US"),
            line.in_transit.format("en_US"),
            line.total.format("en_US"),
        )
    console.print(table)


@app.command("revenue")
@exits_cleanly
def revenue(
    start: Annotated[str, typer.Option("--from", help="Day or ISO time")],
    end: Annotated[str, typer.Option("--to", help="Day (included) or ISO time (excluded)")],
) -> None:
    """Revenue by kind (commission, payout fees, FX…) over a period."""
    report = finance.revenue_by_kind(
        open_database(), start=_at(start, "--from"), end=_at(end, "--to", end_of_day=True)
    )
    table = Table("kind", "currency", "credits", "debits", "earned", title="revenue")
    for line in report.lines:
        table.add_row(
            line.kind,
            line.currency,
            line.credits.format("en_US"),
            line.debits.format("en_US"),
            line.earned.format("en_US"),
        )
    for total in report.totals.values():
        table.add_row("[bold]total[/]", total.currency, "", "", total.format("en_US"))
    console.print(table)


@app.command("trial-balance")
@exits_cleanly
def trial_balance(
    before: Annotated[str | None, typer.Option(help="Day or ISO time; default: now")] = None,
    by_account: Annotated[
        bool, typer.Option("--by-account", help="Every account, as CSV (to --out)")
    ] = False,
    csv_output: Annotated[bool, typer.Option("--csv", help="By line of the chart, as CSV")] = False,
    out: Annotated[Path | None, typer.Option(help="CSV file (default: standard output)")] = None,
) -> None:
    """Every account's debit and credit totals; they sum to zero per currency, or this exits 1."""
    db, moment = open_database(), _moment(before, "--before")
    try:
        if by_account:
            _write(
                trial_balance_accounts_csv(finance.trial_balance_by_account(db, before=moment)), out
            )
            _written(out, "trial balance by account")
            return
        report = finance.trial_balance(db, before=moment)
    except InvariantViolation as error:
        err_console.print(f"[red]trial balance broken[/] {escape(str(error))}", highlight=False)
        raise typer.Exit(1) from error
    if csv_output:
        _write(trial_balance_csv(report), out)
        _written(out, "trial balance")
        return
    table = Table("line", "currency", "accounts", "debits", "credits", "balance")
    for line in report.lines:
        table.add_row(
            line.line,
            line.currency,
            f"{line.accounts:,}",
            line.debits.format("en_US"),
            line.credits.format("en_US"),
            line.balance.format("en_US"),
        )
    for total in report.totals:
        table.add_row(
            "[bold]total[/]",
            total.currency,
            "",
            total.debits.format("en_US"),
            total.credits.format("en_US"),
            total.difference.format("en_US"),
        )
    console.print(table)
    console.print("[green]balanced: debits equal credits in every currency[/]")


@app.command("export")
@exits_cleanly
def export(
    out: Annotated[Path, typer.Option(help="Export folder (created if missing)")],
    since: Annotated[
        str | None, typer.Option(help="Where the FIRST export starts (day or ISO time)")
    ] = None,
    settle_seconds: Annotated[
        int,
        typer.Option(min=0, max=86_400, help="Leave this much recent time to the next run"),
    ] = int(settle_default.total_seconds()),
) -> None:
    """Ledger entries, payouts and events written since the last run, to Parquet with a
    BigQuery schema beside each file. Run it again and again: each row is exported once."""
    report = export_analytics(
        open_database(),
        out=out,
        clock=system_clock(),
        since=_moment(since, "--since"),
        settle=timedelta(seconds=settle_seconds),
    )
    if report.interval is None:
        until = report.exported_until.isoformat() if report.exported_until else "nothing yet"
        console.print(f"up to date (exported until {until})")
        return
    start, end = report.interval
    table = Table(
        "table", "rows", "file", title=f"exported {start.isoformat()} → {end.isoformat()}"
    )
    for file in report.files:
        table.add_row(file.table, f"{file.rows:,}", file.path or "(no rows)")
    console.print(table)
    if report.resumed:
        console.print("finished the interval an interrupted export had begun")
