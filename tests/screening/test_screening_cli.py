"""`sellerpay screening load|rescreen|check|evaluate` on SQLite and PostgreSQL: what each prints,
and exit codes (2 for a malformed file, naming the line; 1 for a name that matches)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from screening_builders import DATA, add_person, new_seller, ofac_xml
from typer.testing import CliRunner

from sellerpay.cli.screening import app
from sellerpay.clock import SystemClock
from sellerpay.db import Database
from sellerpay.screening import service
from sellerpay.settings import get_settings


@pytest.fixture
def runner(fresh_db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("SELLERPAY_DATABASE_URL", fresh_db.url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_evaluate_prints_precision_and_recall_at_the_threshold(runner: CliRunner) -> None:
    result = runner.invoke(app, ["evaluate", "--data", str(DATA), "--show-wrong"])

    assert result.exit_code == 0, result.output
    assert (
        "labelled_pairs.csv: 208 pairs at threshold 82: precision 0.953, recall 0.981"
        in result.output
    )
    assert "labelled_pairs_holdout.csv: 64 pairs at threshold 82" in result.output
    assert "Vladimir Putilin" in result.output  # a pair it gets wrong, shown


def test_evaluate_without_its_data_says_where_to_run_it(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["evaluate", "--data", str(tmp_path)])

    assert result.exit_code == 2
    assert "[evaluation_data_missing]" in result.output


def test_load_then_check_then_rescreen(
    runner: CliRunner, fresh_db: Database, tmp_path: Path
) -> None:
    clock = SystemClock()
    seller = new_seller(fresh_db, clock)
    add_person(fresh_db, clock, seller, "Nicolas", "Maduro", born=date(1962, 11, 23))
    files = [str(DATA / "ofac" / name) for name in ("sdn.csv", "add.csv", "alt.csv")]

    loaded = runner.invoke(app, ["load", *files, "--list", "ofac-sdn"])
    again = runner.invoke(app, ["load", str(DATA / "ofac" / "sdn.xml"), "--list", "ofac-sdn"])
    hit = runner.invoke(app, ["check", "Nicolas Maduro", "--born", "1962-11-23"])
    clean = runner.invoke(app, ["check", "Acme Refurb", "--type", "entity"])
    rescreened = runner.invoke(app, ["rescreen", "--full"])

    assert loaded.exit_code == 0, loaded.output
    assert "13 entries, 13 added, 0 changed, 0 removed" in loaded.output
    assert "matches opened 1" in loaded.output
    assert again.exit_code == 0 and "nothing loaded" in again.output
    assert hit.exit_code == 1 and "MADURO MOROS, Nicolas" in hit.output
    assert clean.exit_code == 0 and "no match" in clean.output
    assert rescreened.exit_code == 0, rescreened.output
    assert "matches opened 0" in rescreened.output
    assert [m.entry.entry_id for m in service.list_matches(fresh_db)[0]] == ["22790"]


def test_a_malformed_file_exits_2_naming_the_line_and_loads_nothing(
    runner: CliRunner, fresh_db: Database, tmp_path: Path
) -> None:
    broken = tmp_path / "sdn.xml"
    broken.write_bytes(ofac_xml().replace(b"<sdnType>Vessel</sdnType>", b"<sdnType>Boat</sdnType>"))

    result = runner.invoke(app, ["load", str(broken), "--list", "ofac-sdn"])

    assert result.exit_code == 2
    assert "[list_format] sdn.xml line" in result.output
    assert "unknown sdnType 'Boat'" in result.output
    assert service.list_versions(fresh_db) == []
