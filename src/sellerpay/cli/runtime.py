"""What every command needs: consoles, clean errors, the database, the clock, a progress bar."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.exc import SQLAlchemyError

from sellerpay.clock import SystemClock
from sellerpay.db import Database
from sellerpay.db.migrate import current_revision, head_revision
from sellerpay.errors import SellerpayError, Unavailable
from sellerpay.settings import get_settings

P = ParamSpec("P")
R = TypeVar("R")
console = Console(emoji=False)
err_console = Console(stderr=True, emoji=False)


def exits_cleanly(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a `SellerpayError` into one red line and an exit code, never a traceback.

    Exit codes: 2 bad input or refused action, 3 a dependency is unavailable; commands exit 1
    themselves when a check they ran failed.
    """

    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except Unavailable as error:
            err_console.print(
                f"[red]error[/] {escape(f'[{error.code}] {error.detail}')}",
                highlight=False,
                soft_wrap=True,  # one line, however long: scripts grep it
            )
            raise typer.Exit(3) from error
        except SellerpayError as error:
            err_console.print(
                f"[red]error[/] {escape(f'[{error.code}] {error.detail}')}",
                highlight=False,
                soft_wrap=True,  # one line, however long: scripts grep it
            )
            raise typer.Exit(2) from error

    return wrapper


def require_current_schema(db: Database) -> None:
    """Exit 2 with a clear line unless the schema is at the newest migration; 3 if unreadable."""
    try:
        revision = current_revision(db)
    except SQLAlchemyError as error:
        raise Unavailable(
            f"cannot read the database: {error}", code="database_unavailable"
        ) from error
    if revision != head_revision():
        err_console.print(
            f"[red]error[/] the database schema is at {revision or 'nothing'}, not "
            f"{head_revision()}: run `sellerpay db upgrade` first",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(2)


def open_database() -> Database:
    """The database named by SELLERPAY_DATABASE_URL (or --database-url)."""
    settings = get_settings()
    return Database(settings.database_url, pool_size=settings.database_pool_size)


def system_clock() -> SystemClock:
    return SystemClock()


def progress_bar() -> Progress:
    """The one progress bar style of the command line, for long work."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=False,
    )
