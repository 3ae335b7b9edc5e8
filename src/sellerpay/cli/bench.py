"""`sellerpay bench`: the benchmarks of BENCHMARKS.md, each against a reference measured in the
same run; a table on standard output, then one JSON object as the last line.

Progress bars go to standard error, so `sellerpay bench ledger | tail -n 1` is the JSON.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import psycopg
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.engine import make_url

if TYPE_CHECKING:  # imported when a benchmark runs: `sellerpay --help` needs none of it
    from benchmarks import ledger as bench_ledger

app = typer.Typer(
    help="Benchmarks: each creates and drops its own database and checks the ledger at its end.",
    no_args_is_help=True,
)
console = Console()
table_width_min = 132
err_console = Console(stderr=True)


@app.callback()
def bench() -> None:
    """Benchmarks (see BENCHMARKS.md; results are kept in docs/benchmarks.md)."""


@contextmanager
def _progress() -> Iterator[Callable[[str, int], Callable[[int], None]]]:
    """A `start_task(description, total) -> advance` backed by a Rich progress bar on stderr."""
    columns = (
        TextColumn("{task.description:<40}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=False) as progress:

        def start_task(description: str, total: int) -> Callable[[int], None]:
            task = progress.add_task(description, total=total)
            return lambda n: progress.advance(task, n)

        yield start_task


@app.command("ledger")
def ledger(
    quick: Annotated[
        bool, typer.Option("--quick", help="Small sizes: finishes in well under a minute.")
    ] = False,
    transfers: Annotated[
        int | None,
        typer.Option(
            "--transfers",
            min=1,
            help="Transfers for the COPY, batched, hot and concurrent sections "
            "(default 20,000 quick, 200,000 full; concurrent 40,000 quick).",
        ),
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", min=1, help="Transfers per batch (default 1,000).")
    ] = None,
    single: Annotated[
        int | None,
        typer.Option(
            "--single", min=1, help="Single-posted transfers (default 2,000 quick, 10,000 full)."
        ),
    ] = None,
    writers: Annotated[
        int | None,
        typer.Option(
            "--writers", min=1, help="Concurrent writer processes (default 4 quick, 8 full)."
        ),
    ] = None,
    postgres_url: Annotated[
        str,
        typer.Option(
            "--postgres-url",
            envvar="SELLERPAY_BENCH_POSTGRES_URL",
            show_envvar=True,
            help="Admin URL of a PostgreSQL server: the benchmark creates its own "
            "database there and drops it at the end.",
        ),
    ] = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
) -> None:
    """Post transfers through the ledger against a raw COPY of the same rows.

    (a) COPY into bare tables, the reference; (a2) the same into the ledger
    tables; (b) batched post_many; (c0) a bare INSERT + COMMIT each;
    (c) one posting transaction each; (d) (b) with one hot account in all;
    then writer processes, uniform and hot; then (b) and (c) on SQLite.
    Every ledger is verified after its section: exit 1 if one is wrong,
    3 if PostgreSQL is unreachable. The last line is one JSON object.
    """
    from benchmarks import ledger as bench_ledger

    try:
        config = bench_ledger.LedgerBenchConfig.of_size(
            quick=quick, transfers=transfers, batch_size=batch_size, single_transfers=single,
            writers=writers, admin_url=postgres_url,
        )  # fmt: skip
    except ValueError as error:
        err_console.print(f"[red]error[/] \\[invalid_input] {error}", highlight=False)
        raise typer.Exit(2) from error
    _describe(config)
    result = _run_checked(
        "ledger",
        lambda start_task: bench_ledger.run(config, start_task=start_task),
        bench_ledger.LedgerBenchFailed,
        postgres_url,
    )
    if not console.is_terminal:
        console.width = max(console.width, table_width_min)  # a file or pipe: do not wrap
    console.print(_table(result))
    sys.stdout.write(json.dumps(result.summary()) + "\n")  # the last line: one JSON object
    sys.stdout.flush()


R = TypeVar("R", bound=Any)


def _run_checked(
    name: str,
    run: Callable[[Callable[[str, int], Callable[[int], None]]], R],
    failure: type[Exception],
    postgres_url: str,
) -> R:
    """Run a benchmark with progress bars; a failed correctness check exits 1 with a JSON
    line, an unreachable PostgreSQL exits 3; what was verified is printed."""
    try:
        with _progress() as start_task:
            result = run(start_task)
    except failure as error:
        err_console.print(f"[bold red]{name.upper()} BENCHMARK FAILED[/] {error}", highlight=False)
        sys.stdout.write(json.dumps({"bench": name, "ok": False, "error": str(error)}) + "\n")
        raise typer.Exit(1) from error
    except psycopg.OperationalError as error:
        err_console.print(
            f"[red]error[/] \\[database_unavailable] PostgreSQL at {_shown(postgres_url)}: {error}",
            highlight=False,
        )
        raise typer.Exit(3) from error
    for line in result.verified:
        err_console.print(f"[green]verified[/] {line}", highlight=False)
    return result


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _describe(config: bench_ledger.LedgerBenchConfig) -> None:
    err_console.print(
        f"ledger benchmark ({config.size}) on {_shown(config.admin_url)}: "
        f"{config.transfers:,} transfers in batches of {config.batch_size:,}, "
        f"{config.single_transfers:,} single, {config.concurrent_transfers:,} by "
        f"{config.writers} writers; SQLite {config.sqlite_transfers:,} batched, "
        f"{config.sqlite_single_transfers:,} single",
        highlight=False,
    )


def _table(result: bench_ledger.LedgerBenchResult) -> Table:
    table = Table(title=f"ledger benchmark ({result.config.size})")
    for name in (
        "section",
        "size",
        "seconds",
        "transfers/s",
        "reference/s",
        "ratio",
        "target",
        "backend",
    ):
        table.add_column(name, justify="left" if name in ("section", "backend", "target")
                         else "right")  # fmt: skip
    for row in result.rows():
        table.add_row(
            row.label,
            f"{row.transfers:,}",
            f"{row.seconds:.3f}",
            f"{row.per_s:,.0f}",
            "" if row.reference_per_s is None else f"{row.reference_per_s:,.0f}",
            "" if row.ratio is None else f"{row.ratio:.3f}",
            row.target,
            row.backend,
        )
    return table


@app.command("ingest")
def ingest(
    quick: Annotated[
        bool, typer.Option("--quick", help="Small sizes: finishes in well under a minute.")
    ] = False,
    events: Annotated[
        int | None,
        typer.Option("--events", min=1, help="Events per door (default 2,000 quick, 20,000 full)."),
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", min=1, help="Events per batch (default 500).")
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", min=1, help="HTTP clients at once (default 3).")
    ] = None,
    postgres_url: Annotated[
        str,
        typer.Option(
            "--postgres-url",
            envvar="SELLERPAY_BENCH_POSTGRES_URL",
            show_envvar=True,
            help="Admin URL of a PostgreSQL server: the benchmark creates its own "
            "database there and drops it at the end.",
        ),
    ] = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    amqp_url: Annotated[
        str,
        typer.Option(
            "--amqp-url",
            envvar="SELLERPAY_BENCH_AMQP_URL",
            show_envvar=True,
            help="RabbitMQ: the benchmark declares exchanges and queues of its own there and "
            "deletes them at the end.",
        ),
    ] = "amqp://guest:guest@127.0.0.1:5672/%2F",
) -> None:
    """Marketplace events through the HTTP door and through RabbitMQ, against the ledger.

    Sections: (a) the ledger's batched posting of the transactions the events become (the
    reference), (b) the handler in-process, (c) the HTTP door (uvicorn in a subprocess,
    concurrent clients), (d) the RabbitMQ door (`sellerpay consume` in a subprocess). Each
    door must apply every event exactly once and give the reference's balances; exits 1 if not.
    """
    from benchmarks import ingest as bench_ingest

    try:
        config = bench_ingest.IngestBenchConfig.of_size(
            quick=quick, events=events, batch_size=batch_size, concurrency=concurrency,
            admin_url=postgres_url, amqp_url=amqp_url,
        )  # fmt: skip
    except ValueError as error:
        err_console.print(f"[red]error[/] [invalid_input] {error}", highlight=False)
        raise typer.Exit(2) from error
    err_console.print(bench_ingest.describe(config), highlight=False)
    try:
        with _progress() as start_task:
            result = bench_ingest.run(config, start_task=start_task)
    except bench_ingest.IngestBenchFailed as error:
        err_console.print(f"[bold red]INGEST BENCHMARK FAILED[/] {error}", highlight=False)
        sys.stdout.write(json.dumps({"bench": "ingest", "ok": False, "error": str(error)}) + "\n")
        raise typer.Exit(1) from error
    for line in result.verified:
        err_console.print(f"[green]verified[/] {line}", highlight=False)
    if not console.is_terminal:
        console.width = max(console.width, table_width_min)
    console.print(result.table())
    sys.stdout.write(json.dumps(result.summary()) + "\n")  # the last line: one JSON object
    sys.stdout.flush()


@app.command("reconcile")
def reconcile(
    quick: Annotated[
        bool, typer.Option("--quick", help="Small sizes: finishes in well under a minute.")
    ] = False,
    lines: Annotated[
        int | None,
        typer.Option(
            "--lines", min=100, help="Lines matched (default 100,000 quick, 1,000,000 full)."
        ),
    ] = None,
    import_lines: Annotated[
        int | None,
        typer.Option(
            "--import-lines",
            min=100,
            help="Lines of the imported statement (default 20,000 quick, 100,000 full).",
        ),
    ] = None,
    postgres_url: Annotated[
        str,
        typer.Option(
            "--postgres-url",
            envvar="SELLERPAY_BENCH_POSTGRES_URL",
            show_envvar=True,
            help="Admin URL of a PostgreSQL server: the benchmark creates its own "
            "database there and drops it at the end.",
        ),
    ] = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
) -> None:
    """Match N statement lines to N expected payouts (and N/10: linear scaling), then import
    camt.053 statements of M and M/10 lines on PostgreSQL and SQLite. Exits 1 if a section
    misses what it was designed to find, 3 if PostgreSQL is unreachable."""
    from benchmarks import reconcile as bench_reconcile

    try:
        config = bench_reconcile.ReconcileBenchConfig.of_size(
            quick=quick, lines=lines, import_lines=import_lines, admin_url=postgres_url
        )
    except ValueError as error:
        err_console.print(f"[red]error[/] \\[invalid_input] {error}", highlight=False)
        raise typer.Exit(2) from error
    err_console.print(bench_reconcile.describe(config), highlight=False)
    result = _run_checked(
        "reconcile",
        lambda start_task: bench_reconcile.run(config, start_task=start_task),
        bench_reconcile.ReconcileBenchFailed,
        postgres_url,
    )
    if not console.is_terminal:
        console.width = max(console.width, table_width_min)
    table = Table(title=f"reconcile benchmark ({config.size})")
    for name in ("section", "lines", "seconds", "lines/s", "t(N)/t(N/10)", "target", "backend"):
        table.add_column(name, justify="left" if name in ("section", "target", "backend")
                         else "right")  # fmt: skip
    for row in result.rows:
        section = row.label.rsplit(" ", 1)[0]
        big = row.label.endswith(" N")
        table.add_row(
            row.label,
            f"{row.lines:,}",
            f"{row.seconds:.3f}",
            f"{row.per_s:,.0f}",
            f"{result.scaling(section):.2f}" if big else "",
            ">= 100,000 lines/s; <= 11" if big and section == "(a) matching" else "",
            row.backend,
        )
    console.print(table)
    sys.stdout.write(json.dumps(result.summary()) + "\n")  # the last line: one JSON object
    sys.stdout.flush()


@app.command("payout-run")
def payout_run(
    quick: Annotated[
        bool, typer.Option("--quick", help="Small sizes: finishes in about a minute.")
    ] = False,
    sellers: Annotated[
        int | None,
        typer.Option("--sellers", min=100, help="Sellers N (default 5,000 quick, 1,000,000 full)."),
    ] = None,
    backend: Annotated[
        str, typer.Option("--backend", help="postgresql (default) or sqlite (a temporary file).")
    ] = "postgresql",
    chunk_size: Annotated[
        int | None, typer.Option("--chunk-size", min=1, help="Sellers per run chunk (1,000).")
    ] = None,
    approvers: Annotated[
        int | None,
        typer.Option("--approvers", min=1, help="Approving threads (4; 1 on SQLite)."),
    ] = None,
    profile: Annotated[
        Path | None,
        typer.Option(
            "--profile",
            help="Profile the run and the claims at N with cProfile and write the top costs "
            "to this file (the timings then include the profiler's overhead).",
        ),
    ] = None,
    postgres_url: Annotated[
        str,
        typer.Option(
            "--postgres-url",
            envvar="SELLERPAY_BENCH_POSTGRES_URL",
            show_envvar=True,
            help="Admin URL of a PostgreSQL server: the benchmark creates its own "
            "database there and drops it at the end.",
        ),
    ] = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
) -> None:
    """N sellers with available balances -> payouts -> approvals -> bank files (pain.001,
    NACHA, Zengin) -> an in-memory bank, and the same at N/10 (scaling); reference: a raw COPY
    of N payout rows. Exits 1 if a seller is not paid exactly once or the ledger is wrong,
    3 if PostgreSQL is unreachable."""
    from benchmarks import payout_run as bench_payout_run

    try:
        config = bench_payout_run.PayoutRunBenchConfig.of_size(
            quick=quick, sellers=sellers, backend=backend, admin_url=postgres_url,
            chunk_size=chunk_size, approvers=approvers, profile_path=profile,
        )  # fmt: skip
    except ValueError as error:
        err_console.print(f"[red]error[/] \\[invalid_input] {error}", highlight=False)
        raise typer.Exit(2) from error
    err_console.print(bench_payout_run.describe(config), highlight=False)
    result = _run_checked(
        "payout-run",
        lambda start_task: bench_payout_run.run(config, start_task=start_task),
        bench_payout_run.PayoutRunBenchFailed,
        postgres_url,
    )
    if result.profile:
        err_console.print(result.profile, highlight=False, markup=False)
    if not console.is_terminal:
        console.width = max(console.width, table_width_min)
    title = f"payout-run benchmark ({config.size}{', profiled' if profile else ''})"
    table = Table(title=title)
    for name in ("section", "sellers", "seconds", "sellers/s", "reference/s", "ratio",
                 "t(N)/t(N/10)", "target", "backend"):  # fmt: skip
        table.add_column(name, justify="left" if name in ("section", "target", "backend")
                         else "right")  # fmt: skip
    for row in result.table_rows():
        table.add_row(*row)
    console.print(table)
    sys.stdout.write(json.dumps(result.summary()) + "\n")  # the last line: one JSON object
    sys.stdout.flush()
