"""Analytics export: ledger entries, payouts and outbox events to Parquet files, each with its
BigQuery table schema (JSON) beside it, incremental by time, each row exported exactly once.

Layout of an export folder:

    _export_state.json          the watermark (exported_until), an interval begun, the runs
    ledger_entries/ledger_entries_<start>_<end>.parquet
    ledger_entries/_ledger_entries_<start>_<end>.schema.json     its BigQuery schema, beside it
    payouts/payouts_<start>_<end>.parquet         + _payouts_<start>_<end>.schema.json
    events/events_<start>_<end>.parquet           + _events_<start>_<end>.schema.json

The schema files start with `_` so that readers of a whole folder (pyarrow, Spark, Hive-style
tools) skip them as they skip `_SUCCESS`; `*.parquet` picks the data alone.

Each run exports the interval [watermark, now - settle) of each table's time column (ledger
entries: their transaction's `posted_at`; payouts: `updated_at`, one row per version seen;
events: `created_at`), then moves the watermark to its end: intervals follow each other, so no
row is written twice and none is skipped. `settle` leaves time for units of work in flight to
commit (a row is stamped before its commit). The interval is written to the state file before
any Parquet file, so a run killed half-way is finished by the next one over exactly the same
interval, rewriting the same files.

Types, for `bq load` and DuckDB: amounts are INT64 minor units with a STRING ISO 4217
currency beside them (never floats), times TIMESTAMP (Parquet int64 microseconds, adjusted
to UTC), dates DATE, ids STRING, JSON documents STRING holding JSON.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.parquet as pq

from sellerpay.clock import Clock, ensure_utc
from sellerpay.db import Database
from sellerpay.errors import Conflict, InvalidInput
from sellerpay.events.export import ExportedEvent, events_created_between
from sellerpay.ledger.export import ExportedEntry, entries_posted_between
from sellerpay.payouts.export import payouts_changed_between
from sellerpay.payouts.service import Payout
from sellerpay.reporting.rules import export_interval

STATE_FILE: Final = "_export_state.json"
LOCK_FILE: Final = "_export.lock"
STATE_FORMAT: Final = 1
settle_default: Final = timedelta(minutes=5)
settle_max: Final = timedelta(days=1)
runs_kept_max: Final = 1_000
chunk_size_default: Final = 10_000
_TIMESTAMP: Final = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True, slots=True)
class ExportColumn:
    """One column, once: its Arrow (Parquet) type and its BigQuery type come from here."""

    name: str
    arrow: pa.DataType
    bigquery: str
    required: bool
    description: str


def _c(name: str, kind: str, description: str, *, required: bool = True) -> ExportColumn:
    arrow = {
        "STRING": pa.string(),
        "INT64": pa.int64(),
        "TIMESTAMP": _TIMESTAMP,
        "DATE": pa.date32(),
    }[kind]
    return ExportColumn(name, arrow, kind, required, description)


LEDGER_ENTRY_COLUMNS: Final = (
    _c("transaction_id", "STRING", "ledger transaction (UUIDv7)"),
    _c("leg", "INT64", "position of the entry in its transaction"),
    _c("account", "STRING", "account code, e.g. seller:sel_42:available"),
    _c("account_kind", "STRING", "asset, liability, revenue or expense"),
    _c("side", "STRING", "debit or credit"),
    _c("amount_minor", "INT64", "amount in minor units, always positive"),
    _c("signed_amount_minor", "INT64", "debit +, credit -: sums to 0 per transaction, currency"),
    _c("currency", "STRING", "ISO 4217 code"),
    _c("account_version", "INT64", "the account's version after this entry (1, 2, 3…)"),
    _c("balance_after_minor", "INT64", "the account's balance after it, on its normal side"),
    _c("effective_at", "TIMESTAMP", "when the movement counts (may precede posted_at)"),
    _c("posted_at", "TIMESTAMP", "when it was written: the export's time column"),
    _c("kind", "STRING", "transaction kind: order.paid, release, payout…"),
    _c("description", "STRING", "transaction description"),
    _c("reverses_id", "STRING", "the transaction this one reverses", required=False),
    _c("references", "STRING", "JSON object: order_id, payout…"),
    _c("metadata", "STRING", "JSON object"),
)
PAYOUT_COLUMNS: Final = (
    _c("payout_id", "STRING", "po_…"),
    _c("version", "INT64", "one row per version exported: the highest is the newest state"),
    _c("seller_id", "STRING", "sel_…"),
    _c("kind", "STRING", "scheduled, on_demand or manual"),
    _c("status", "STRING", "pending, approved, processing, submitted, paid, failed…"),
    _c("source_amount_minor", "INT64", "what left the seller's balance, minor units"),
    _c("source_currency", "STRING", "ISO 4217 code of the balance"),
    _c("amount_minor", "INT64", "what reaches the bank account, minor units"),
    _c("currency", "STRING", "ISO 4217 code of the bank account"),
    _c("fx_rate", "STRING", "mid rate, exact decimal text, when currencies differ", required=False),
    _c("fx_margin_minor", "INT64", "FX margin kept, minor units of currency", required=False),
    _c("rail", "STRING", "sepa, ach, zengin, bacs, provider…"),
    _c("end_to_end_id", "STRING", "reference carried through every bank message"),
    _c("run_id", "STRING", "the payout run that created it", required=False),
    _c("bank_account_id", "STRING", "the seller's bank account paid"),
    _c("execution_date", "DATE", "banking day of execution"),
    _c("status_reason_code", "STRING", "bank's reason (AC04, R02…)", required=False),
    _c("return_fee_minor", "INT64", "fee charged on a return, minor units", required=False),
    _c("created_at", "TIMESTAMP", "created"),
    _c("updated_at", "TIMESTAMP", "last change: the export's time column"),
    _c("submitted_at", "TIMESTAMP", "handed to the bank", required=False),
    _c("paid_at", "TIMESTAMP", "confirmed paid", required=False),
    _c("closed_at", "TIMESTAMP", "failed, returned or canceled", required=False),
)
EVENT_COLUMNS: Final = (
    _c("event_id", "STRING", "UUIDv7"),
    _c("type", "STRING", "payout.paid, seller.created…"),
    _c("subject", "STRING", "what it is about: sel_…, po_…, ord_…"),
    _c("data", "STRING", "JSON object: the event's data"),
    _c("created_at", "TIMESTAMP", "recorded: the export's time column"),
    _c("relayed_at", "TIMESTAMP", "handed to webhooks and the broker", required=False),
)


def arrow_schema(columns: Sequence[ExportColumn]) -> pa.Schema:
    return pa.schema([pa.field(c.name, c.arrow, nullable=not c.required) for c in columns])


def bigquery_schema(columns: Sequence[ExportColumn]) -> list[dict[str, str]]:
    """The table schema `bq mk --table` and `bq load` take (a JSON list of fields)."""
    return [
        {
            "name": c.name,
            "type": c.bigquery,
            "mode": "REQUIRED" if c.required else "NULLABLE",
            "description": c.description,
        }
        for c in columns
    ]


def schema_file_name(parquet_name: str) -> str:
    """The BigQuery schema beside a Parquet file: `x.parquet` → `_x.schema.json`."""
    return "_" + parquet_name.removesuffix(".parquet") + ".schema.json"


def _json(document: Mapping[str, Any]) -> str:
    return json.dumps(dict(document), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _entry_values(e: ExportedEntry) -> tuple[Any, ...]:
    signed = e.amount_minor if e.side == "debit" else -e.amount_minor
    return (
        str(e.transaction_id), e.leg, e.account, e.account_kind, e.side, e.amount_minor, signed,
        e.currency, e.account_version, e.balance_after_minor, e.effective_at, e.posted_at, e.kind,
        e.description, None if e.reverses_id is None else str(e.reverses_id),
        _json(e.references), _json(e.metadata),
    )  # fmt: skip


def _payout_values(p: Payout) -> tuple[Any, ...]:
    margin = None if p.fx_margin is None else p.fx_margin.amount_minor
    fee = None if p.return_fee is None else p.return_fee.amount_minor
    return (
        p.id, p.version, p.seller_id, p.kind, p.status.value, p.source.amount_minor,
        p.source.currency, p.amount.amount_minor, p.amount.currency, p.fx_rate, margin, p.rail,
        p.end_to_end_id, p.run_id, p.bank_account_id, p.execution_date, p.status_reason_code, fee,
        p.created_at, p.updated_at, p.submitted_at, p.paid_at, p.closed_at,
    )  # fmt: skip


def _event_values(e: ExportedEvent) -> tuple[Any, ...]:
    return (str(e.id), e.type, e.subject, _json(e.data), e.created_at, e.relayed_at)


ChunkReader = Callable[[Database, datetime, datetime, int], Iterator[Sequence[Any]]]


@dataclass(frozen=True, slots=True)
class ExportTable:
    """One exported table: its columns, how its rows are read by time, how a row is flattened."""

    name: str
    columns: tuple[ExportColumn, ...]
    read: ChunkReader
    values: Callable[[Any], tuple[Any, ...]]


TABLES: Final = (
    ExportTable(
        "ledger_entries",
        LEDGER_ENTRY_COLUMNS,
        lambda db, s, e, n: entries_posted_between(db, start=s, end=e, chunk_size=n),
        _entry_values,
    ),
    ExportTable(
        "payouts",
        PAYOUT_COLUMNS,
        lambda db, s, e, n: payouts_changed_between(db, start=s, end=e, chunk_size=n),
        _payout_values,
    ),
    ExportTable(
        "events",
        EVENT_COLUMNS,
        lambda db, s, e, n: events_created_between(db, start=s, end=e, chunk_size=n),
        _event_values,
    ),
)


@dataclass(frozen=True, slots=True)
class ExportedFile:
    table: str
    path: str | None  # relative to the export folder; None when the interval held no row
    rows: int


@dataclass(frozen=True, slots=True)
class ExportReport:
    """What a run did: the interval exported (None: nothing new yet), its files, whether it
    finished an interval a crashed run had begun, and the watermark now."""

    interval: tuple[datetime, datetime] | None
    files: tuple[ExportedFile, ...]
    resumed: bool
    exported_until: datetime | None


def export_analytics(
    db: Database,
    *,
    out: Path,
    clock: Clock,
    since: datetime | None = None,
    settle: timedelta = settle_default,
    chunk_size: int = chunk_size_default,
) -> ExportReport:
    """Export what was written since the last run (or since `since`, on the first run) up to
    `now - settle` into `out`; one run at a time per folder (`Conflict(export_running)`)."""
    if not timedelta(0) <= settle <= settle_max:
        raise InvalidInput(f"settle must be between 0 and {settle_max}", code="invalid_settle")
    out.mkdir(parents=True, exist_ok=True)
    with _locked(out):
        state = _read_state(out)
        exported_until = _moment(state.get("exported_until"))
        pending = _pending(state.get("pending"))
        interval = export_interval(
            exported_until=exported_until,
            pending=pending,
            since=ensure_utc(since) if since is not None else None,
            cutoff=clock.now() - settle,
        )
        if interval is None:
            return ExportReport(None, (), False, exported_until)
        start, end = interval
        state["pending"] = {"start": start.isoformat(), "end": end.isoformat()}
        _write_state(out, state)
        files = tuple(_export_table(db, out, table, start, end, chunk_size) for table in TABLES)
        runs = [*state.get("runs", []), _run_record(start, end, files, clock.now())]
        _write_state(
            out,
            {
                "format": STATE_FORMAT,
                "exported_until": end.isoformat(),
                "pending": None,
                "runs": runs[-runs_kept_max:],
            },
        )
        return ExportReport(interval, files, pending is not None, end)


def _pending(begun: Any) -> tuple[datetime, datetime] | None:
    """The interval a run began and did not finish, from the state file (None: none)."""
    if begun is None:
        return None
    start = _moment(begun.get("start")) if isinstance(begun, dict) else None
    end = _moment(begun.get("end")) if isinstance(begun, dict) else None
    if start is None or end is None:
        raise InvalidInput(
            "the export state's pending interval is incomplete", code="invalid_state"
        )
    return start, end


def _run_record(
    start: datetime, end: datetime, files: Sequence[ExportedFile], finished_at: datetime
) -> dict[str, Any]:
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "finished_at": finished_at.isoformat(),
        "files": {f.table: {"path": f.path, "rows": f.rows} for f in files},
    }


def _stamp(moment: datetime) -> str:
    """A time in a file name: sortable, no `:` (20260105T090000.000000Z)."""
    return ensure_utc(moment).strftime("%Y%m%dT%H%M%S.%fZ")


def _export_table(
    db: Database, out: Path, table: ExportTable, start: datetime, end: datetime, chunk_size: int
) -> ExportedFile:
    """Write the table's rows of [start, end) to one Parquet file, a row group per chunk, then
    its schema beside it; nothing is written for an interval with no row."""
    folder = out / table.name
    folder.mkdir(exist_ok=True)
    stem = f"{table.name}_{_stamp(start)}_{_stamp(end)}"
    schema = arrow_schema(table.columns)
    temporary = folder / f".{stem}.parquet.partial"
    rows = 0
    writer: pq.ParquetWriter | None = None
    try:
        for chunk in table.read(db, start, end, chunk_size):
            if not chunk:
                continue
            if writer is None:
                writer = pq.ParquetWriter(temporary, schema, compression="snappy")
            writer.write_table(_arrow_table(schema, table, chunk))
            rows += len(chunk)
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        return ExportedFile(table.name, None, 0)
    _publish(temporary, folder / f"{stem}.parquet")
    schema_text = json.dumps(bigquery_schema(table.columns), indent=2) + "\n"
    _write_text(folder / schema_file_name(f"{stem}.parquet"), schema_text)
    return ExportedFile(table.name, f"{table.name}/{stem}.parquet", rows)


def _arrow_table(schema: pa.Schema, table: ExportTable, chunk: Iterable[Any]) -> pa.Table:
    columns: list[list[Any]] = [[] for _ in table.columns]
    for row in chunk:
        for column, value in zip(columns, table.values(row), strict=True):
            column.append(value)
    return pa.Table.from_arrays(
        [pa.array(values, type=c.arrow) for values, c in zip(columns, table.columns, strict=True)],
        schema=schema,
    )


# --- files: written whole or not at all ------------------------------------------------------


@contextmanager
def _locked(out: Path) -> Iterator[None]:
    """An exclusive lock on the export folder for one run (`Conflict` if another holds it)."""
    with (out / LOCK_FILE).open("a") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Conflict(f"another export is running into {out}", code="export_running") from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _read_state(out: Path) -> dict[str, Any]:
    path = out / STATE_FILE
    if not path.exists():
        return {"format": STATE_FORMAT, "exported_until": None, "pending": None, "runs": []}
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InvalidInput(
            f"{path} is not an export state: {error}", code="invalid_state"
        ) from None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise InvalidInput(
            f"{path} is not an export state of format {STATE_FORMAT}", code="invalid_state"
        )
    return state


def _moment(text: Any) -> datetime | None:
    if text is None:
        return None
    try:
        return ensure_utc(datetime.fromisoformat(str(text)))
    except ValueError as error:
        raise InvalidInput(
            f"bad time {text!r} in the export state", code="invalid_state"
        ) from error


def _write_state(out: Path, state: Mapping[str, Any]) -> None:
    _write_text(out / STATE_FILE, json.dumps(state, indent=2, sort_keys=True) + "\n")


def _write_text(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.partial")
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    _publish(temporary, path)


def _publish(temporary: Path, path: Path) -> None:
    """Make a finished file visible under its name atomically, and durable (its folder too)."""
    with temporary.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
