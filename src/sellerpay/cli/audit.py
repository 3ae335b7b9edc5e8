"""`sellerpay audit …`: verify the hash chain of the audit trail, list its records.

Also `cli_actor()`: the actor that commands run as in the audit trail (`cli:<user>@<host>`).
"""

from __future__ import annotations

import getpass
import json
import socket
from typing import Annotated, Final

import typer
from rich.markup import escape

from sellerpay.audit.rules import actor_length_max
from sellerpay.audit.service import (
    VerifyResult,
    list_audit_records,
    page_size_max,
    verify_batch_size_default,
    verify_batch_size_max,
    verify_chain,
)
from sellerpay.cli.runtime import console, err_console, exits_cleanly, open_database, progress_bar
from sellerpay.errors import InvalidInput

app = typer.Typer(help="The audit trail: append-only, hash-chained.", no_args_is_help=True)
document_shown_length_max: Final = 120


def cli_actor() -> str:
    """Who runs this command, as the audit trail names them: `cli:<user>@<host>`."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name (a container with a bare uid)
        user = "unknown"
    return f"cli:{user}@{socket.gethostname()}"[:actor_length_max]


@app.command("verify")
@exits_cleanly
def verify(
    batch_size: Annotated[
        int,
        typer.Option(
            min=1, max=verify_batch_size_max, help="Records read per query (memory bound)."
        ),
    ] = verify_batch_size_default,
) -> None:
    """Recompute every record's hash and link, in seq order, and check the chain head.

    Exits 0 printing the count and the head (note the head hash somewhere else: a later verify
    that shows the same seq with another hash means the chain was rewritten). Exits 1 printing
    the first break: its seq, kind (missing_record, broken_link, modified_record,
    head_mismatch), and what was expected and found there.
    """
    db = open_database()
    with progress_bar() as progress:
        task = progress.add_task("checking the audit chain", total=None)

        def on_progress(checked: int, total: int) -> None:
            progress.update(task, completed=checked, total=total)

        result = verify_chain(db, batch_size=batch_size, on_progress=on_progress)
    _report(result)


def _report(result: VerifyResult) -> None:
    if result.first_break is None:
        console.print(
            f"[green]audit chain verified[/]: {result.records_checked:,} records, "
            f"head seq {result.head_seq} hash {result.head_hash}",
            highlight=False,
            soft_wrap=True,
        )
        return
    broken = result.first_break
    err_console.print(
        f"[red]audit chain broken at seq {broken.seq}[/]: {broken.kind.value}: "
        f"{escape(broken.detail)}",
        highlight=False,
        soft_wrap=True,
    )
    err_console.print(f"  expected {broken.expected}", highlight=False, soft_wrap=True)
    err_console.print(f"  found    {broken.found}", highlight=False, soft_wrap=True)
    err_console.print(f"  {result.records_checked:,} records before it verified", highlight=False)
    raise typer.Exit(1)


@app.command("list")
@exits_cleanly
def list_records(
    subject: Annotated[
        str | None, typer.Option(help="TYPE:ID, e.g. api_key:3f9a1c2b4d5e6f70.")
    ] = None,
    actor: Annotated[str | None, typer.Option(help="The exact actor text.")] = None,
    action: Annotated[str | None, typer.Option(help="e.g. api_key.revoked.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=page_size_max)] = 50,
) -> None:
    """The newest audit records, filtered by subject, actor and action, one per line:
    `#seq time actor action type:id [from ip]: what changed`."""
    subject_type, subject_id = _subject(subject)
    records, _ = list_audit_records(
        open_database(),
        subject_type=subject_type,
        subject_id=subject_id,
        actor=actor,
        action=action,
        limit=limit,
    )
    for record in records:  # one line per record, however long: scripts grep it
        source = f" from {record.source_ip}" if record.source_ip else ""
        console.print(
            f"#{record.seq} {record.at:%Y-%m-%d %H:%M:%S} UTC {record.actor} {record.action} "
            f"{record.subject_type}:{record.subject_id}{source}: "
            f"{_change(record.before, record.after)}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    console.print(f"{len(records)} record(s)", highlight=False)


def _subject(text: str | None) -> tuple[str | None, str | None]:
    if text is None:
        return None, None
    subject_type, sep, subject_id = text.partition(":")
    if not sep or not subject_type or not subject_id:
        raise InvalidInput(
            f"--subject {text!r} must be TYPE:ID, e.g. api_key:3f9a1c2b4d5e6f70",
            code="invalid_subject",
            field="--subject",
        )
    return subject_type, subject_id


def _change(before: object, after: object) -> str:
    """The fields that changed, shortly: `revoked_at: null → 2026-…`."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        shown = json.dumps(after if after is not None else before, ensure_ascii=False)
        label = "created" if before is None else "removed" if after is None else "set"
        return f"{label} {shown}"[:document_shown_length_max]
    changed = [
        f"{key}: {json.dumps(before.get(key))} → {json.dumps(after.get(key))}"
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    ]
    return ("; ".join(changed) or "no change")[:document_shown_length_max]
