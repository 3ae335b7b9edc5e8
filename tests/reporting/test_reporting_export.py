"""The analytics export: Parquet files with their BigQuery schema, incremental by time — every
row exactly once across runs, even when a run is killed half-way — and types a warehouse reads
as money and time (INT64 minor units + currency, TIMESTAMP UTC)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from reporting_builders import new_seller, paid_out_seller
from sqlalchemy import text

from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.errors import Conflict, InvalidInput
from sellerpay.payouts.service import cancel_payout
from sellerpay.reporting import export
from sellerpay.reporting.export import (
    EVENT_COLUMNS,
    LEDGER_ENTRY_COLUMNS,
    PAYOUT_COLUMNS,
    STATE_FILE,
    bigquery_schema,
    export_analytics,
    schema_file_name,
)

SETTLE = timedelta(minutes=5)


def _column(name: str) -> export.ExportColumn:
    return next(c for c in LEDGER_ENTRY_COLUMNS if c.name == name)


def read(out: Path, table: str) -> pa.Table:
    files = sorted((out / table).glob("*.parquet"))
    if not files:
        return pa.table({})
    return pa.concat_tables([pq.read_table(f) for f in files])


def db_count(db: Database, sql: str) -> int:
    with db.reading() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def run(db: Database, out: Path, clock: FixedClock, **kw: Any) -> export.ExportReport:
    return export_analytics(db, out=out, clock=clock, settle=SETTLE, chunk_size=7, **kw)


def test_two_runs_export_every_row_once_with_no_gap(
    fresh_db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    book, payout_id = paid_out_seller(fresh_db, clock)
    book.order_paid(1_000, fee=100)
    clock.advance(SETTLE + timedelta(seconds=1))
    first = run(fresh_db, tmp_path, clock)

    cancel_payout(fresh_db, payout_id, actor="key:k_op (operator)", clock=clock)  # version 2
    book.order_paid(2_000, fee=200, at=datetime(2025, 1, 1, tzinfo=UTC))  # backdated a year
    new_seller(fresh_db, clock).order_paid(3_000)
    clock.advance(SETTLE + timedelta(seconds=1))
    second = run(fresh_db, tmp_path, clock)

    assert first.interval is not None and second.interval is not None
    assert first.interval[1] == second.interval[0]  # touching: no gap, no overlap
    entries = read(tmp_path, "ledger_entries")
    keys = list(zip(entries["transaction_id"].to_pylist(), entries["leg"].to_pylist(), strict=True))
    assert len(keys) == len(set(keys)) == db_count(fresh_db, "SELECT COUNT(*) FROM ledger_entries")
    payouts = read(tmp_path, "payouts")
    versions = list(
        zip(payouts["payout_id"].to_pylist(), payouts["version"].to_pylist(), strict=True)
    )
    assert versions == [(payout_id, 1), (payout_id, 2)]
    assert payouts["status"].to_pylist()[-1] == "canceled"
    assert payouts["status"].to_pylist()[0] in ("pending", "approved")
    events = read(tmp_path, "events")
    ids = events["event_id"].to_pylist()
    assert len(ids) == len(set(ids)) == db_count(fresh_db, "SELECT COUNT(*) FROM outbox_events")
    by_run = {f.table: f.rows for f in second.files}
    assert by_run["ledger_entries"] == 2 + 3 + 2  # money back, a sale with a fee, one without
    backdated = entries.filter(pa.compute.equal(entries["amount_minor"], 2_000))
    assert backdated["effective_at"][0].as_py() == datetime(2025, 1, 1, tzinfo=UTC)


def test_a_run_with_nothing_new_changes_nothing(
    fresh_db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    new_seller(fresh_db, clock).order_paid(1_000)
    clock.advance(SETTLE + timedelta(seconds=1))
    run(fresh_db, tmp_path, clock)
    files = sorted(p.name for p in tmp_path.rglob("*"))

    again = run(fresh_db, tmp_path, clock)

    assert again.interval is None and again.files == ()
    assert sorted(p.name for p in tmp_path.rglob("*")) == files


def test_rows_younger_than_the_settle_time_wait_for_the_next_run(
    fresh_db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    book = new_seller(fresh_db, clock)
    book.order_paid(1_000)  # posted at the clock's time
    clock.advance(SETTLE - timedelta(seconds=1))

    early = run(fresh_db, tmp_path, clock)
    clock.advance(timedelta(seconds=2))
    late = run(fresh_db, tmp_path, clock)

    assert {f.table: f.rows for f in early.files}["ledger_entries"] == 0
    assert {f.table: f.rows for f in late.files}["ledger_entries"] == 2


def test_a_run_killed_half_way_is_finished_over_the_same_interval(
    fresh_db: Database, clock: FixedClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paid_out_seller(fresh_db, clock)
    clock.advance(SETTLE + timedelta(seconds=1))
    real = export._export_table

    def dies_on_payouts(*args: Any) -> export.ExportedFile:
        if args[2].name == "payouts":
            raise KeyboardInterrupt("killed")
        return real(*args)

    monkeypatch.setattr(export, "_export_table", dies_on_payouts)
    with pytest.raises(KeyboardInterrupt):
        run(fresh_db, tmp_path, clock)
    begun = json.loads((tmp_path / STATE_FILE).read_text())
    assert begun["pending"] is not None and begun["exported_until"] is None
    monkeypatch.setattr(export, "_export_table", real)
    new_seller(fresh_db, clock).order_paid(5_000)  # arrives meanwhile: for the next interval
    clock.advance(timedelta(hours=1))

    resumed = run(fresh_db, tmp_path, clock)
    following = run(fresh_db, tmp_path, clock)

    assert resumed.resumed and resumed.interval is not None
    assert resumed.interval[1].isoformat() == begun["pending"]["end"]
    entries = read(tmp_path, "ledger_entries")
    keys = Counter(
        zip(entries["transaction_id"].to_pylist(), entries["leg"].to_pylist(), strict=True)
    )
    assert max(keys.values()) == 1
    assert sum(keys.values()) == db_count(fresh_db, "SELECT COUNT(*) FROM ledger_entries")
    assert {f.table: f.rows for f in following.files}["ledger_entries"] == 2
    assert len(list((tmp_path / "ledger_entries").glob("*.parquet"))) == 2
    assert not list(tmp_path.rglob("*.partial"))


def test_the_files_carry_money_and_time_types_a_warehouse_reads(
    fresh_db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    paid_out_seller(fresh_db, clock)
    clock.advance(SETTLE + timedelta(seconds=1))
    report = run(fresh_db, tmp_path, clock)

    for table, columns in (
        ("ledger_entries", LEDGER_ENTRY_COLUMNS),
        ("payouts", PAYOUT_COLUMNS),
        ("events", EVENT_COLUMNS),
    ):
        (file,) = [f for f in report.files if f.table == table]
        assert file.path is not None and file.rows > 0
        parquet = tmp_path / file.path
        schema = pq.read_schema(parquet)
        beside = json.loads(parquet.with_name(schema_file_name(parquet.name)).read_text())
        assert beside == bigquery_schema(columns)
        assert [field["name"] for field in beside] == schema.names
        for field in beside:
            arrow = schema.field(field["name"])
            assert arrow.nullable is (field["mode"] == "NULLABLE")
            expected = {
                "INT64": pa.int64(),
                "STRING": pa.string(),
                "TIMESTAMP": pa.timestamp("us", tz="UTC"),
                "DATE": pa.date32(),
            }[field["type"]]
            assert arrow.type == expected, field
    entries = pq.read_table(tmp_path / "ledger_entries")
    assert entries.schema.field("amount_minor").type == pa.int64()
    assert entries.schema.field("currency").type == pa.string()
    assert entries.schema.field("posted_at").type == pa.timestamp("us", tz="UTC")
    signed = entries["signed_amount_minor"].to_pylist()
    assert sum(signed) == 0  # every transaction balances, so does the file
    parquet_schema = pq.ParquetFile(next((tmp_path / "ledger_entries").glob("*.parquet"))).schema
    posted = parquet_schema.column(LEDGER_ENTRY_COLUMNS.index(_column("posted_at")))
    assert posted.physical_type == "INT64"  # what BigQuery and DuckDB read as TIMESTAMP
    assert json.loads(posted.logical_type.to_json())["isAdjustedToUTC"] is True
    assert json.loads(posted.logical_type.to_json())["timeUnit"] == "microseconds"
    payouts = pq.read_table(tmp_path / "payouts")
    assert payouts["source_amount_minor"].to_pylist() == [8_500]
    assert payouts["source_currency"].to_pylist() == ["EUR"]
    assert payouts.schema.field("execution_date").type == pa.date32()


def test_since_starts_the_first_export_and_cannot_move_the_watermark(
    fresh_db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    book = new_seller(fresh_db, clock)
    book.order_paid(1_000)
    clock.advance(timedelta(hours=2))
    book.order_paid(2_000, at=clock.now())
    since = clock.now() - timedelta(minutes=1)  # after the first sale was posted
    clock.advance(SETTLE + timedelta(seconds=1))

    first = run(fresh_db, tmp_path, clock, since=since)

    assert first.interval is not None and first.interval[0] == since
    assert read(tmp_path, "ledger_entries")["amount_minor"].to_pylist() == [2_000, 2_000]
    with pytest.raises(InvalidInput) as moved:
        run(fresh_db, tmp_path, clock, since=since - timedelta(days=1))
    assert moved.value.code == "since_conflicts_with_watermark"


def test_one_export_at_a_time_per_folder(
    fresh_db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    with export._locked(tmp_path), pytest.raises(Conflict) as running:
        run(fresh_db, tmp_path, clock)
    assert running.value.code == "export_running"
