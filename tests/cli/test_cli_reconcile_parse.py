"""`sellerpay reconcile parse FILE`: what a statement file says, as a table or JSON; a malformed
file is one precise line on standard error and exit code 2. No database involved."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sellerpay.cli import main
from sellerpay.cli.reconcile import app
from sellerpay.rails.detect import parse_statement_file
from sellerpay.rails.statements import statement_file_to_dict

BANK_FILES = Path(__file__).resolve().parents[2] / ".." / "shared" / "testdata" / "bank-files"
MT940 = (
    ":20:STMT-1\n:25:DE89370400440532013000\n:28C:12/1\n:60F:C240301EUR1000,00\n"
    ":61:2403010301D250,00NTRFNONREF//BANK-1\n"
    ":86:166?00GUTSCHRIFT?20EREF+po_1?21SVWZ+Payout March?32Atelier Durand\n"
    ":62F:C240301EUR750,00\n"
)


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("COLUMNS", "200")  # wide enough that the tables do not cut cells
    return CliRunner()


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def test_a_statement_is_shown_as_tables(runner: CliRunner, tmp_path: Path) -> None:
    path = _write(tmp_path, "day.sta", MT940)

    result = runner.invoke(app, ["parse", str(path)])

    assert result.exit_code == 0, result.output
    assert "mt940: 1 statement(s), 1 line(s)" in result.stdout
    assert "DE89370400440532013000" in result.stdout
    assert "1000.00 EUR (2024-03-01)" in result.stdout and "750.00 EUR" in result.stdout
    assert "-250.00 EUR" in result.stdout
    assert "po_1" in result.stdout and "Atelier Durand" in result.stdout


def test_json_output_is_the_parsed_file_with_amounts_in_minor_units(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = _write(tmp_path, "day.sta", MT940)

    result = runner.invoke(app, ["parse", str(path), "--json"])

    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed == statement_file_to_dict(parse_statement_file(MT940.encode(), "day.sta"))
    (statement,) = printed["statements"]
    assert statement["opening_balance"]["amount_minor"] == 100000
    assert statement["lines"][0]["amount"] == {
        "amount_minor": 25000,
        "currency": "EUR",
        "exponent": 2,
        "amount": "250.00",
    }
    assert statement["lines"][0]["direction"] == "debit"


def test_a_csv_statement_is_read_with_its_mapping(runner: CliRunner, tmp_path: Path) -> None:
    csv = _write(tmp_path, "export.csv", "Datum;Betrag\n01.03.2024;-1.234,56\n")
    mapping = _write(
        tmp_path,
        "mapping.json",
        json.dumps(
            {
                "date_column": "Datum",
                "date_format": "%d.%m.%Y",
                "amount_column": "Betrag",
                "currency": "EUR",
                "delimiter": ";",
                "decimal_separator": ",",
                "thousands_separator": ".",
            }
        ),
    )

    result = runner.invoke(app, ["parse", str(csv), "--mapping", str(mapping), "--json"])

    assert result.exit_code == 0, result.output
    (line,) = json.loads(result.stdout)["statements"][0]["lines"]
    assert (line["amount"]["amount_minor"], line["direction"]) == (123456, "debit")


@pytest.mark.parametrize(
    ("name", "content", "mapping", "message"),
    [
        ("export.csv", "date,amount\n2024-03-01,1.00\n", None, "[csv_mapping_required]"),
        ("day.sta", MT940.replace("250,00", "2,5,0"), None, "[invalid_amount]"),
        ("day.sta", MT940.replace("250,00", "2,5,0"), None, "(at line 5)"),
        ("day.xml", "<Document><BkToCstmrStmt><Stmt></BkToCstmrStmt>", None, "[malformed_xml]"),
        ("export.csv", "date,amount\n2024-03-01,1.00\n", "{not json", "[invalid_mapping]"),
        ("export.csv", "date,amount\n2024-03-01,1.00\n", '{"date_colum": "d"}', "date_colum"),
    ],
)
def test_a_malformed_file_or_mapping_is_one_line_on_stderr_and_exit_2(
    runner: CliRunner,
    tmp_path: Path,
    name: str,
    content: str,
    mapping: str | None,
    message: str,
) -> None:
    arguments = ["parse", str(_write(tmp_path, name, content))]
    if mapping is not None:
        arguments += ["--mapping", str(_write(tmp_path, "mapping.json", mapping))]

    result = runner.invoke(app, arguments)

    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert result.stderr.startswith("error ") and result.stderr.count("\n") == 1


def test_a_missing_file_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["parse", str(tmp_path / "nothing.sta")])

    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_the_command_is_registered_in_the_sellerpay_command_line(runner: CliRunner) -> None:
    result = runner.invoke(main.app, ["reconcile", "parse", "--help"])

    assert result.exit_code == 0
    assert "--mapping" in result.stdout


def test_a_real_camt_file_with_a_batch_and_a_withdrawn_currency_mt940(
    runner: CliRunner,
) -> None:
    if not BANK_FILES.is_dir():
        pytest.skip(f"REAL BANK FILES ABSENT: {BANK_FILES.resolve()} is missing")

    camt = runner.invoke(app, ["parse", str(BANK_FILES / "camt053/oca_test-camt053")])
    dem = runner.invoke(app, ["parse", str(BANK_FILES / "mt940/cmxl_mt940.sta")])

    assert camt.exit_code == 0, camt.output
    assert "camt.053 (camt.053.001.02): 1 statement(s), 3 line(s)" in camt.stdout
    assert "└ 2/1 reversal" in camt.stdout and "AC06" in camt.stdout
    assert dem.exit_code == 2
    assert "[unknown_currency] cmxl_mt940.sta: 'DEM'" in dem.stderr
    assert "(at line 4)" in dem.stderr
