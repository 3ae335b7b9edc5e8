"""`sellerpay simbank`: bad settings stop it with one clear line before anything listens."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from sellerpay.cli.main import app


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--faults", "mayhem"], "unknown_fault_profile"),
        (["--fault", "reject_rate"], "is not NAME=VALUE"),
        (["--fault", "reject_rate=lots"], "is not a number"),
        (["--fault", "reject_rate=2"], "reject_rate must be a number from 0 to 1"),
        (["--fault", "rejection_rate=0.1"], "unknown fault setting"),
    ],
)
def test_a_bad_fault_setting_exits_2_with_one_line(arguments: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["simbank", "--port", "1", *arguments])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_the_command_documents_its_options() -> None:
    result = CliRunner().invoke(app, ["simbank", "--help"])
    assert result.exit_code == 0
    for option in ("--port", "--seed", "--faults", "--fault", "--start", "--realtime"):
        assert option in result.output
