"""`sellerpay`: the command line of Sellerpay. Every command documents itself in `--help`.

Errors print one clear line on standard error and exit non-zero: 2 for bad input or a refused
action, 1 when a check fails (e.g. `ledger verify` found a breach), 3 when a dependency is down.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from sellerpay.cli import apikey, bench, consume, db, demo, events, jobs, ledger, serve
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
app.add_typer(bench.app, name="bench")
app.add_typer(events.app, name="events")
app.add_typer(jobs.app, name="jobs")
app.command("consume")(consume.consume)
app.command("serve")(serve.serve)
app.command("demo")(demo.demo)


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
