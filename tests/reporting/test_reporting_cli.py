"""`sellerpay reports …`: what each command writes, and its exit codes."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from reporting_builders import new_seller, paid_out_seller
from sqlalchemy import text
from typer.testing import CliRunner

from sellerpay.cli.reports import app
from sellerpay.clock import FixedClock
from sellerpay.db import Database


def run(*args: str) -> tuple[int, str, str]:
    """`sellerpay reports ARGS` (the sub-app itself: `cli/main.py` only mounts it)."""
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_statement_writes_a_pdf_and_a_csv(
    cli_db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    book = new_seller(cli_db, clock, country="ES")
    book.order_paid(8_800, fee=1_200)
    book.refund(800)
    out = tmp_path / "statement.pdf"

    code, _, err = run(
        "statement", "--seller", book.seller_id, "--from", "2026-01-01", "--to", "2026-01-31",
        "--format", "pdf", "--out", str(out),
    )  # fmt: skip
    csv_code, csv_out, csv_err = run("statement", "--seller", book.seller_id, "--format", "csv")

    assert code == 0, err
    assert f"statement of {book.seller_id} (EUR, 2 lines) written to" in err
    pdf = out.read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert csv_code == 0, csv_err
    rows = list(csv.DictReader(io.StringIO(csv_out)))
    assert [r["row_type"] for r in rows] == ["opening", "movement", "movement", "closing"]
    assert rows[-1]["balance_minor"] == str(8_800 - 800)


def test_statement_of_an_unknown_seller_exits_2_with_the_reason(cli_db: Database) -> None:
    code, _, err = run("statement", "--seller", "sel_nobody", "--format", "csv")

    assert code == 2
    assert "[seller_not_found]" in err


def test_a_pdf_needs_a_file(cli_db: Database, clock: FixedClock) -> None:
    book = new_seller(cli_db, clock)

    code, _, err = run("statement", "--seller", book.seller_id)

    assert code == 2 and "[out_required]" in err


def test_composition_prints_the_lines_a_payout_paid(cli_db: Database, clock: FixedClock) -> None:
    _, payout_id = paid_out_seller(cli_db, clock)

    code, out, err = run("composition", "--payout", payout_id)

    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert sum(int(r["amount_minor"]) for r in rows) == 8_500
    assert len(rows) == 3


def test_finance_reports_print_their_tables(cli_db: Database, clock: FixedClock) -> None:
    book = new_seller(cli_db, clock)
    book.order_paid(8_800, fee=1_200)

    liabilities = run("liabilities")
    revenue = run("revenue", "--from", "2026-01-01", "--to", "2026-01-31")
    cash = run("cash-position", "--from", "2026-01-01", "--to", "2026-01-02")
    balance = run("trial-balance")

    assert liabilities[0] == 0 and "€88.00" in liabilities[1]
    assert revenue[0] == 0 and "commission" in revenue[1] and "€12.00" in revenue[1]
    assert cash[0] == 0
    assert balance[0] == 0 and "balanced: debits equal credits in every currency" in balance[1]


def test_trial_balance_exits_1_when_the_ledger_does_not_balance(
    cli_db: Database, clock: FixedClock
) -> None:
    new_seller(cli_db, clock).order_paid(1_000)
    with cli_db.transaction() as conn:
        conn.execute(
            text(
                "UPDATE ledger_accounts SET credits_posted = credits_posted + 7"
                " WHERE code = 'platform:psp_clearing'"
            )
        )

    code, _, err = run("trial-balance")

    assert code == 1
    assert "trial balance broken" in err and "EUR" in err


def test_export_runs_again_and_again_exporting_each_row_once(
    cli_db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    new_seller(cli_db, clock).order_paid(1_000, fee=100)

    first = run("export", "--out", str(tmp_path), "--settle-seconds", "0")
    second = run("export", "--out", str(tmp_path), "--settle-seconds", "0")
    moved = run("export", "--out", str(tmp_path), "--since", "2020-01-01")

    assert first[0] == 0, first[2]
    assert "ledger_entries" in first[1] and "events" in first[1]
    assert second[0] == 0 and ("up to date" in second[1] or "(no rows)" in second[1])
    assert moved[0] == 2 and "[since_conflicts_with_watermark]" in moved[2]
    assert len(list((tmp_path / "ledger_entries").glob("*.parquet"))) == 1
