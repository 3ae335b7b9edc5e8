"""`sellerpay apikey …`: create, list and revoke API keys (the key is printed once)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from sellerpay.access.rules import Role
from sellerpay.access.service import create_api_key, list_api_keys, revoke_api_key
from sellerpay.cli.audit import cli_actor
from sellerpay.cli.runtime import console, exits_cleanly, open_database, system_clock

app = typer.Typer(help="API keys for services and people.", no_args_is_help=True)


@app.command("create")
@exits_cleanly
def create(
    name: Annotated[str, typer.Option(help="Who or what uses the key, e.g. 'orders-service'.")],
    role: Annotated[Role, typer.Option(help="The role the key acts with.")],
    seller: Annotated[
        str | None, typer.Option(help="For role seller: the seller id (sel_…) it is bound to.")
    ] = None,
) -> None:
    """Create an API key and print it once: it is stored hashed and cannot be shown again.

    Audited as `api_key.created` by `cli:<user>@<host>`.
    """
    key, plaintext = create_api_key(
        open_database(),
        name=name,
        role=role,
        seller_id=seller,
        clock=system_clock(),
        actor=cli_actor(),
    )
    console.print(f"created key [bold]{key.id}[/] ({key.role.value}) for {key.name}")
    console.print("store it now, it will not be shown again:")
    print(plaintext)


@app.command("list")
@exits_cleanly
def list_keys() -> None:
    """List API keys (never their secrets)."""
    table = Table("id", "name", "role", "seller", "created", "revoked")
    for key in list_api_keys(open_database()):
        table.add_row(
            key.id,
            key.name,
            key.role.value,
            key.seller_id or "",
            f"{key.created_at:%Y-%m-%d %H:%M}",
            f"{key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "",
        )
    console.print(table)


@app.command("revoke")
@exits_cleanly
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key id shown by `apikey list`.")],
) -> None:
    """Revoke a key at once; requests carrying it get 401 from then on.

    Audited as `api_key.revoked` by `cli:<user>@<host>`.
    """
    key = revoke_api_key(open_database(), key_id, clock=system_clock(), actor=cli_actor())
    console.print(f"revoked key {key.id} ({key.name})")
