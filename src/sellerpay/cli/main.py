"""`sellerpay`: the command line of Sellerpay. Every command documents itself in `--help`.

Errors print one clear line on standard error and exit non-zero: 2 for bad input or a refused
action, 1 when a check fails (e.g. `ledger verify` found a breach), 3 when a dependency is down.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from sellerpay.cli import (
    apikey,
    audit,
    bankaccounts,
    beat,
    bench,
    consume,
    db,
    demo,
    events,
    jobs,
    ledger,
    onboarding,
    payouts,
    reconcile,
    reports,
    screening,
    serve,
    simbank,
    simulate,
    worker,
)
from sellerpay.observability import configure_logging
from sellerpay.settings import get_settings

app = typer.Typer(
    name="sellerpay",
    help="Sellerpay: a payout engine for marketplaces. Exact money, a double-entry ledger, "
    "payouts over real bank rails.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
app.add_typer(db.app, name="db")
app.add_typer(ledger.app, name="ledger")
app.add_typer(apikey.app, name="apikey")
app.add_typer(audit.app, name="audit")
app.add_typer(bankaccounts.app, name="bank-accounts")
app.add_typer(bench.app, name="bench")
app.add_typer(events.app, name="events")
app.add_typer(jobs.app, name="jobs")
app.add_typer(onboarding.app, name="onboarding")
app.add_typer(payouts.app, name="payouts")
app.add_typer(reconcile.app, name="reconcile")
app.add_typer(reports.app, name="reports")
app.add_typer(screening.app, name="screening")
app.command("consume")(consume.consume)
app.command("serve")(serve.serve)
app.command("demo")(demo.demo)
app.command("simbank")(simbank.simbank)
app.command("simulate")(simulate.simulate)
app.command("worker")(worker.worker)
app.command("beat")(beat.beat)


@app.callback()
def main(
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            envvar="SELLERPAY_DATABASE_URL",
            help="SQLAlchemy URL (default: a SQLite file sellerpay.db in this folder).",
            show_envvar=True,
        ),
    ] = None,
) -> None:
    """Global options."""
    if database_url:
        os.environ["SELLERPAY_DATABASE_URL"] = database_url
        get_settings.cache_clear()
    if get_settings().log_json:  # production: every process logs JSON lines (observability)
        configure_logging()
