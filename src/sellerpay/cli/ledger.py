"""`sellerpay ledger …`: verify the journal, show an account's balance and history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from sellerpay.cli.runtime import console, exits_cleanly, open_database, progress_bar
from sellerpay.errors import InvalidInput
from sellerpay.ledger.service import (
    _VERIFY_CHECKS,
    account_balances,
    account_history,
    verify_ledger,
)

app = typer.Typer(help="The double-entry ledger.", no_args_is_help=True)


@app.command("verify")
@exits_cleanly
def verify() -> None:
    """Recompute every balance from its entries and check every transaction balances.

    Prints a report; exits 1 if any invariant is broken.
    """
    db = open_database()
    with progress_bar() as progress:
        task = progress.add_task("checking the ledger", total=len(_VERIFY_CHECKS))

        def on_check(rule: str) -> None:
            progress.update(task, advance=1, description=rule[:60])

        report = verify_ledger(db, on_check=on_check)
    summary = Table("currency", "debits (minor units)", "credits (minor units)", "balanced")
    for currency, (debits, credits) in report.trial_balance.items():
        summary.add_row(
            currency, f"{debits:,}", f"{credits:,}", "yes" if debits == credits else "NO"
        )
    console.print(summary)
    console.print(
        f"{report.transactions:,} transactions, {report.entries:,} entries, "
        f"{report.accounts:,} accounts checked"
    )
    if report.ok:
        console.print("[green]ledger verified: every invariant holds[/]")
        return
    breaches = Table("check", "subject", "detail", title="[red]breaches[/]")
    for breach in report.breaches:
        breaches.add_row(breach.check, breach.subject, breach.detail)
    console.print(breaches)
    console.print(f"[red]{len(report.breaches)} breach(es) found[/]")
    raise typer.Exit(1)


def _moment(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise InvalidInput(
            f"--as-of {text!r} is not an ISO 8601 time", code="invalid_time"
        ) from error
    if moment.tzinfo is None:
        raise InvalidInput(
            "--as-of needs a timezone, e.g. 2026-01-31T23:59:59+00:00", code="naive_datetime"
        )
    return moment


@app.command("balance")
@exits_cleanly
def balance(
    code: Annotated[str, typer.Argument(help="Account code, e.g. seller:sel_42:available")],
    currency: Annotated[str | None, typer.Option(help="Only this currency.")] = None,
    as_of: Annotated[str | None, typer.Option(help="Balance as of this ISO 8601 time.")] = None,
) -> None:
    """Show an account's balance in each of its currencies."""
    table = Table("account", "currency", "debits", "credits", "balance", "version")
    for b in account_balances(open_database(), code, currency=currency, as_of=_moment(as_of)):
        table.add_row(
            b.code,
            b.currency,
            b.debits_posted.format("en_US"),
            b.credits_posted.format("en_US"),
            b.balance.format("en_US"),
            str(b.version),
        )
    console.print(table)


@app.command("history")
@exits_cleanly
def history(
    code: Annotated[str, typer.Argument(help="Account code, e.g. seller:sel_42:available")],
    currency: Annotated[str | None, typer.Option(help="Needed if the account has several.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many entries.")] = 20,
) -> None:
    """Show an account's latest entries with the running balance after each."""
    page = account_history(open_database(), code, currency=currency, limit=limit)
    table = Table("v", "effective", "kind", "side", "amount", "balance after", "transaction")
    for line in page.lines:
        table.add_row(
            str(line.account_version),
            f"{line.effective_at:%Y-%m-%d %H:%M}",
            line.kind,
            line.side.value,
            line.amount.format("en_US"),
            line.balance_after.format("en_US"),
            str(line.transaction_id),
        )
    console.print(table)
