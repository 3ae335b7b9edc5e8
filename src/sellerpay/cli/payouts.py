"""`sellerpay payouts …`: run the schedule, submit to the bank at most once, settle unknown
outcomes, import bank reports and exchange rates, and look at payouts."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Final

import typer
from rich.table import Table

from sellerpay.bankaccounts.service import configured_keyring
from sellerpay.cli.runtime import console, exits_cleanly, open_database, progress_bar, system_clock
from sellerpay.errors import InvalidInput
from sellerpay.payouts import service
from sellerpay.payouts.rates import parse_ecb_rates
from sellerpay.payouts.reports import import_bank_report
from sellerpay.payouts.rules import PayoutStatus
from sellerpay.settings import get_settings

rows_shown_max: Final = 30

app = typer.Typer(help="Payouts: runs, bank submission, bank reports, rates.", no_args_is_help=True)
rates_app = typer.Typer(
    help="Exchange rates used by payouts in another currency.", no_args_is_help=True
)
app.add_typer(rates_app, name="rates")


@app.command("run")
@exits_cleanly
def run(
    on: Annotated[
        str | None, typer.Option("--date", help="Run the schedule of this day (default today)")
    ] = None,
    key: Annotated[
        str | None, typer.Option(help="Run key (default scheduled:<date>): a key runs once")
    ] = None,
) -> None:
    """Pay every due seller, or record why not (skip reasons). Safe to run again: a run that
    completed returns as it was, an interrupted one resumes where it stopped."""
    db, clock = open_database(), system_clock()
    run_on = date.fromisoformat(on) if on else clock.now().date()
    keyring = configured_keyring(db)
    policy = service.PayoutPolicy.from_settings()
    with progress_bar() as progress:
        task = progress.add_task("deciding payouts", total=None)
        report = service.run_payouts(
            db,
            run_on=run_on,
            clock=clock,
            keyring=keyring,
            policy=policy,
            run_key=key,
            on_chunk=lambda chunk: progress.update(task, advance=chunk.due),
        )
    table = Table("run", "day", "status", "payouts", "skipped", title="payout run")
    table.add_row(
        report.run_id,
        report.run_on.isoformat(),
        report.status,
        f"{report.payout_count:,}",
        f"{report.skip_count:,}",
    )
    console.print(table)
    if report.totals:
        totals = Table("currency", "paid (minor units)", title="amounts")
        for currency, minor in sorted(report.totals.items()):
            totals.add_row(currency, f"{minor:,}")
        console.print(totals)
    if report.skips_by_reason:
        skips = Table("skip reason", "sellers", title="not paid, and why")
        for reason, count in sorted(report.skips_by_reason.items()):
            skips.add_row(reason, f"{count:,}")
        console.print(skips)


def _bank(url: str | None):  # type: ignore[no-untyped-def]
    from sellerpay.simbank.client import HttpBank

    target = url or get_settings().bank_url
    if not target:
        raise InvalidInput(
            "no bank connection: pass --bank-url (e.g. a `sellerpay simbank` at "
            "http://127.0.0.1:8700) or set SELLERPAY_BANK_URL",
            code="no_bank_url",
        )
    return HttpBank(target)


@app.command("submit")
@exits_cleanly
def submit(
    bank_url: Annotated[
        str | None, typer.Option(help="The bank (default SELLERPAY_BANK_URL)")
    ] = None,
) -> None:
    """Write the bank files of approved payouts whose execution date has come, and send each
    once. A time-out leaves the file's outcome unknown: `payouts resolve` asks the bank."""
    db, clock = open_database(), system_clock()
    report = service.submit_due(
        db,
        bank=_bank(bank_url),
        clock=clock,
        keyring=configured_keyring(db),
        originators=service.originators(),
    )
    console.print(
        f"{report.files} file(s): {report.submitted} sent ({report.payouts_sent} payouts), "
        f"{report.unknown} with an unknown outcome, {report.refused} refused"
    )


@app.command("resolve")
@exits_cleanly
def resolve(
    bank_url: Annotated[
        str | None, typer.Option(help="The bank (default SELLERPAY_BANK_URL)")
    ] = None,
    stale_minutes: Annotated[int, typer.Option(min=0, help="'sending' older than this")] = 5,
) -> None:
    """Ask the bank about files whose outcome is unknown (time-out, crash while sending)."""
    db, clock = open_database(), system_clock()
    outcome = service.resolve_submissions(
        db, bank=_bank(bank_url), clock=clock, stale_after=timedelta(minutes=stale_minutes)
    )
    console.print(f"settled: {outcome.get('sent', 0)}, to send again: {outcome.get('resend', 0)}")


@app.command("import-report")
@exits_cleanly
def import_report(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Apply a bank report: pain.002 statuses, camt.054 or NACHA returns (once per file)."""
    db, clock = open_database(), system_clock()
    outcome = import_bank_report(db, path.name, path.read_bytes(), clock=clock)
    if outcome.duplicate:
        console.print(f"{path.name}: already imported ({outcome.report_id}): nothing changed")
        return
    console.print(
        f"{path.name}: {outcome.kind}, {outcome.applied} payout(s) updated, "
        f"{len(outcome.unmatched)} unmatched"
    )
    for reference in outcome.unmatched[:rows_shown_max]:
        console.print(f"  unmatched: {reference}")


@app.command("list")
@exits_cleanly
def list_(
    seller: Annotated[str | None, typer.Option(help="Only this seller's payouts")] = None,
    status: Annotated[PayoutStatus | None, typer.Option(help="Only payouts in this state")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = rows_shown_max,
) -> None:
    """The latest payouts (bank accounts masked)."""
    db = open_database()
    rows = service.list_payouts(
        db, service.PayoutFilter(seller_id=seller, status=status), after_id=None, limit=limit
    )
    table = Table("payout", "seller", "status", "amount", "rail", "bank account", "execution")
    for p in rows:
        table.add_row(
            p.id,
            p.seller_id,
            p.status.value,
            p.amount.format("en_US"),
            p.rail,
            p.bank_account_masked,
            p.execution_date.isoformat(),
        )
    console.print(table)


@app.command("show")
@exits_cleanly
def show(payout_id: str) -> None:
    """A payout and its composition: the balance transactions it pays."""
    db = open_database()
    payout, items = service.composition(db, payout_id)
    console.print(
        f"{payout.id}  {payout.status.value}  {payout.amount.format('en_US')} to "
        f"{payout.bank_account_masked} ({payout.rail}), end-to-end id {payout.end_to_end_id}"
    )
    if payout.fx_rate:
        console.print(f"converted from {payout.source.format('en_US')} at {payout.fx_rate}")
    table = Table("transaction", "kind", "amount", "partial", title="composition")
    for item in items:
        table.add_row(
            item.transaction_id,
            item.kind,
            item.amount.format("en_US"),
            "yes" if item.partial else "",
        )
    console.print(table)


@rates_app.command("import")
@exits_cleanly
def import_rates(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Import ECB euro reference rates (eurofxref-daily.xml or -hist.xml)."""
    db, clock = open_database(), system_clock()
    days = parse_ecb_rates(path.read_bytes())
    stored = sum(
        service.store_rates(db, d.rates, as_of=d.day, source="ecb", clock=clock) for d in days
    )
    console.print(f"{len(days)} day(s), {stored} new rate(s) stored")
