"""`sellerpay bank-accounts …`: re-encrypt account numbers under the current key, list a
seller's accounts (masked).

    sellerpay bank-accounts reencrypt [--batch-size N]   after adding a new current key
    sellerpay bank-accounts list --seller sel_…          the seller's accounts, masked

The key ring comes from SELLERPAY_ENCRYPTION_KEYS (the first key is current); with SQLite and
no keys set, from the development key file next to the database (docs/bank-accounts.md).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from sellerpay.bankaccounts.rules import BankAccountStatus
from sellerpay.bankaccounts.service import (
    configured_keyring,
    count_to_reencrypt,
    list_bank_accounts,
    page_size_max,
    reencrypt_all,
    reencrypt_batch_size_max,
)
from sellerpay.cli.runtime import console, exits_cleanly, open_database, progress_bar, system_clock

app = typer.Typer(
    help="Sellers' bank accounts: key rotation, masked listings.", no_args_is_help=True
)


@app.command("reencrypt")
@exits_cleanly
def reencrypt(
    batch_size: Annotated[
        int,
        typer.Option(min=1, max=reencrypt_batch_size_max, help="Accounts per unit of work."),
    ] = 500,
) -> None:
    """Re-encrypt every account number not under the current key (key rotation).

    Safe to run again or to interrupt: accounts already under the current key are skipped.
    Remove an old key from SELLERPAY_ENCRYPTION_KEYS only after this reports nothing left.
    """
    db = open_database()
    keyring = configured_keyring(db)
    total = count_to_reencrypt(db, keyring)
    with progress_bar() as progress:
        task = progress.add_task(f"re-encrypting under key {keyring.current_key_id}", total=total)
        done = reencrypt_all(
            db,
            keyring,
            batch_size=batch_size,
            on_batch=lambda count: progress.update(task, advance=count),
        )
    left = count_to_reencrypt(db, keyring)
    console.print(
        f"re-encrypted {done} bank account(s) under key {keyring.current_key_id}; "
        f"{left} left under other keys"
    )
    if left:
        raise typer.Exit(1)


@app.command("list")
@exits_cleanly
def list_accounts(
    seller: Annotated[str, typer.Option("--seller", help="The seller's id (sel_…).")],
    status: Annotated[
        BankAccountStatus | None, typer.Option(help="Only accounts in this status.")
    ] = None,
) -> None:
    """A seller's bank accounts, masked, oldest first."""
    db = open_database()
    now = system_clock().now()
    table = Table("currency", "rail", "holder")
    table.add_column("account", no_wrap=True)  # the mask on one line: •••• 0189
    for column in ("bank", "status", "default", "hold"):
        table.add_column(column)
    table.add_column("id", overflow="fold")  # folded, never cut: ids are copied from here
    after_id: str | None = None
    while True:
        accounts, after_id = list_bank_accounts(
            db, seller, status=status, after_id=after_id, limit=page_size_max
        )
        for account in accounts:
            table.add_row(
                account.currency,
                account.rail,
                account.holder_name,
                account.masked,
                account.bank_identifier or "",
                account.status.value,
                "yes" if account.is_default else "",
                f"until {account.cooldown_until:%Y-%m-%d %H:%M}" if account.on_hold(now) else "",
                account.id,
            )
        if after_id is None:
            break
    console.print(table)
