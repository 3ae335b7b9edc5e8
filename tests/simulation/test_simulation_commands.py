"""`sellerpay simulate` and `sellerpay demo --no-serve`, at small size: what they print, the
files they write, and the exit code of a breach."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from simulation_builders import BankThatPaysTwice
from typer.testing import CliRunner

from sellerpay.cli.main import app
from sellerpay.simulation import world

RUNNER = CliRunner()


def _text(output: str) -> str:
    """The output with its line wrapping undone (the console wraps at 80 columns in tests)."""
    return " ".join(output.split())


def test_simulate_prints_the_invariants_and_the_digest_and_keeps_the_files(
    tmp_path: Path,
) -> None:
    out = tmp_path / "run"
    result = RUNNER.invoke(
        app,
        ["simulate", "--sellers", "16", "--days", "12", "--seed", "3", "--orders", "1.5",
         "--out", str(out)],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "Invariants checked" in result.output
    assert "BREACH" not in result.output and "BROKEN" not in result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ok"] is True
    assert summary["digest"] in result.output
    assert any(path.suffix == ".xml" for path in (out / "sent").iterdir())
    assert any(path.name.endswith(".camt053.xml") for path in (out / "received").iterdir())


def test_simulate_twice_proves_the_run_is_the_same(tmp_path: Path) -> None:
    result = RUNNER.invoke(
        app, ["simulate", "--sellers", "8", "--days", "6", "--seed", "4", "--twice"]
    )

    assert result.exit_code == 0, result.output
    assert "the same run, event for event" in _text(result.output)


def test_a_breach_exits_1_and_says_how_to_replay_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(world, "SimulatedBank", BankThatPaysTwice)

    result = RUNNER.invoke(
        app,
        ["simulate", "--sellers", "16", "--days", "12", "--seed", "3", "--faults", "none",
         "--orders", "1.5"],
    )  # fmt: skip

    assert result.exit_code == 1, result.output
    text = _text(result.output)
    assert "breach bank_at_most_once on day" in text
    assert "step bank_midday" in text
    assert "replay: sellerpay simulate --sellers 16 --days 12 --seed 3 --faults none" in text


def test_simulate_refuses_an_unknown_fault_profile() -> None:
    result = RUNNER.invoke(app, ["simulate", "--faults", "mayhem"])

    assert result.exit_code == 2
    assert "mayhem" in result.output


def test_the_demo_without_serving_writes_the_bank_files_and_its_summary(tmp_path: Path) -> None:
    out = tmp_path / "demo-out"
    result = RUNNER.invoke(
        app,
        ["demo", "--no-serve", "--out", str(out), "--sellers", "24", "--days", "12",
         "--seed", "5", "--orders", "1.5"],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    for currency in ("EUR", "USD", "JPY"):
        assert set(summary["totals"][currency]) >= {
            "paid_in",
            "fees",
            "paid_out",
            "returned",
            "outstanding",
        }
        assert summary["totals"][currency]["paid_in"] > 0
    assert summary["payouts_by_state"]["paid"] > 0
    assert summary["invariants"] and all(check["ok"] for check in summary["invariants"])
    assert any("sanctions" in story for story in summary["stories"].values())
    sent = {path.name for path in (out / "sent").iterdir()}
    received = {path.name for path in (out / "received").iterdir()}
    assert {"sepa", "ach", "zengin"} <= set(summary["bank"]["files_by_rail"])
    assert any(name.endswith(".pain.001.xml") for name in sent)
    assert any(name.endswith(".ach") for name in sent), "NACHA"
    assert any(name.startswith("zengin-") for name in sent)
    assert any(name.endswith(".camt053.xml") for name in received)
    assert any(name.endswith(".mt940.sta") for name in received)
    assert any(name.endswith(".pain002.xml") for name in received)
    assert "Payouts blocked, and why" in result.output and "Paid out" in result.output
    assert (out / "journal.jsonl").read_text().count("\n") > 10 * 12
