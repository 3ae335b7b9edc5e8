"""Telling statement formats apart from their content, and reading any of them in one call."""

from __future__ import annotations

import io
import zipfile

import pytest
from statements_builders import bank_files_folder, camt_document, camt_entry, statement_files

from sellerpay.money import Money
from sellerpay.rails.csv_statements import CsvMapping
from sellerpay.rails.detect import detect_format, parse_statement_file
from sellerpay.rails.statements import StatementError

BANK_FILES = bank_files_folder()
MT940 = b":20:S1\n:25:DE89370400440532013000\n:28C:1\n:60F:C240301EUR0,\n:62F:C240301EUR0,\n"


@pytest.mark.parametrize(
    ("folder", "formats"),
    [("camt053", {"camt.053"}), ("camt054", {"camt.054"}), ("mt940", {"mt940", "mt942"})],
)
def test_every_real_statement_file_is_told_by_its_content_alone(
    folder: str, formats: set[str]
) -> None:
    for path in statement_files(folder):
        assert detect_format(path.read_bytes(), None) in formats, path.name
        assert detect_format(path.read_bytes(), "renamed.csv") in formats, path.name


@pytest.mark.parametrize("folder", ["pain002", "nacha"])
def test_bank_files_that_are_not_statements_are_named_as_such(folder: str) -> None:
    for path in sorted((BANK_FILES / folder).iterdir()):
        with pytest.raises(StatementError) as raised:
            detect_format(path.read_bytes(), path.name)
        assert raised.value.code == "unsupported_format", path.name


@pytest.mark.parametrize(
    ("data", "filename", "expected"),
    [
        (camt_document(camt_entry()), None, "camt.053"),
        (camt_document(camt_entry(), kind="camt.054"), None, "camt.054"),
        (b"\xef\xbb\xbf  \n" + camt_document(camt_entry()), None, "camt.053"),
        (MT940, None, "mt940"),
        (b"\x01\r\n" + MT940, None, "mt940"),
        (b":20:S1\n:25:X\n:28C:1\n:34F:EUR0,\n:13D:2403011015+0100\n", None, "mt942"),
        (b"{1:F01X}{2:O942X}{4:\n:20:S1\n:60F:C240301EUR0,\n-}", None, "mt942"),
        (b"date,amount\n2024-03-01,1.00\n", "export.CSV", "csv"),
    ],
)
def test_formats_by_their_marks(data: bytes, filename: str | None, expected: str) -> None:
    assert detect_format(data, filename) == expected


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_statement"),
        (b"  \n\n", "empty_statement"),
        (b"date,amount\n2024-03-01,1.00\n", "unknown_format"),
        (b"<html><body>Not found</body></html>", "unknown_format"),
        (b"<Document><BkToCstmrAcctRpt/></Document>", "unsupported_format"),
        (b"PK\x03\x04 not really a zip", "malformed_zip"),
    ],
)
def test_what_is_not_a_known_statement_is_refused(data: bytes, code: str) -> None:
    with pytest.raises(StatementError) as raised:
        detect_format(data, "statement.dat")

    assert raised.value.code == code


def test_a_zip_is_told_by_its_first_member() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("folder/", b"")
        archive.writestr("a.xml", camt_document(camt_entry(), kind="camt.054"))

    assert detect_format(buffer.getvalue(), "day.zip") == "camt.054"
    assert parse_statement_file(buffer.getvalue(), "day.zip").format == "camt.054"


def test_parse_statement_file_reads_each_format() -> None:
    mapping = CsvMapping(date_column="date", amount_column="amount", currency="EUR")
    csv = b"date,amount\n2024-03-01,-1.00\n"

    camt = parse_statement_file(camt_document(camt_entry()))
    mt940 = parse_statement_file(MT940, "day.sta", csv_mapping=mapping)  # mapping unused
    named_csv = parse_statement_file(csv, "export.csv", csv_mapping=mapping)
    unnamed_csv = parse_statement_file(csv, None, csv_mapping=mapping)

    assert (camt.format, mt940.format, named_csv.format) == ("camt.053", "mt940", "csv")
    assert unnamed_csv == named_csv
    assert named_csv.statements[0].lines[0].signed_amount == Money.of_minor(-100, "EUR")


def test_a_csv_without_mapping_is_refused_with_the_reason() -> None:
    with pytest.raises(StatementError) as raised:
        parse_statement_file(b"date,amount\n2024-03-01,1.00\n", "export.csv")

    assert raised.value.code == "csv_mapping_required"
