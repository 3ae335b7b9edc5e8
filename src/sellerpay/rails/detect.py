"""Which format a statement file is in, from its content (the file name only breaks a tie),
and one entry point that reads any of them: `parse_statement_file`.

The rules, in order:

1. a zip archive (`PK\\x03\\x04`) holds camt documents: the format of its first member;
2. XML (after a byte-order mark and blanks, it starts with `<`): camt.053 when it holds a
   `BkToCstmrStmt`, camt.054 when a `BkToCstmrDbtCdtNtfctn`; any other XML is refused
   (a camt.052 account report is named as such);
3. SWIFT text (a line starting with a tag like `:20:` or `:61:`, or a `{1:` envelope): MT942
   when the envelope says 942, or when it has a `:13D:`/`:34F:` and no `:60F:`/`:60M:`;
   otherwise MT940;
4. otherwise CSV when the name ends in .csv or .txt, or when a CSV mapping is given;
5. anything else is refused (`unknown_format`).
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Final

from sellerpay.rails.camt import ZIP_READ_ERRORS, parse_camt
from sellerpay.rails.csv_statements import CsvMapping, parse_csv_statement
from sellerpay.rails.statements import (
    STATEMENT_FILE_BYTES_MAX,
    StatementError,
    StatementFile,
    StatementFormat,
)
from sellerpay.rails.swift_mt940 import parse_mt940

SNIFF_BYTES: Final = 64 * 1024
"""How much of a file is looked at to tell its format (camt's message element comes early)."""
CSV_SUFFIXES: Final = (".csv", ".txt", ".tsv")

_CAMT_MESSAGE = re.compile(
    rb"<(?:[\w.-]+:)?(BkToCstmrStmt|BkToCstmrDbtCdtNtfctn|BkToCstmrAcctRpt)\b"
)
_SWIFT_TAG = re.compile(rb"^[\x00-\x20]*(?::(?:\d{2}[A-Z]?|NS):|\{1:)", re.MULTILINE)
_SWIFT_942 = re.compile(rb"\{2:[IO]942")
_SWIFT_940 = re.compile(rb"\{2:[IO]940")
_INTERIM_TAG = re.compile(rb"^:(?:13D?|34F):", re.MULTILINE)
_OPENING_TAG = re.compile(rb"^:60[FM]?:", re.MULTILINE)
_ZIP = b"PK\x03\x04"


def detect_format(data: bytes, filename: str | None = None) -> StatementFormat:
    """The statement format of `data` by the rules above, or `StatementError`."""
    if not data.strip():
        raise StatementError("the file is empty", code="empty_statement")
    if data.startswith(_ZIP):
        return _xml_format(_first_member_head(data))
    head = data[:SNIFF_BYTES]
    text_start = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text_start.startswith(b"<"):
        return _xml_format(head)
    if _SWIFT_TAG.search(head):
        return _swift_format(data)
    if filename is not None and filename.lower().endswith(CSV_SUFFIXES):
        return "csv"
    if head.startswith(b"101") and b"094101" in head.split(b"\n", 1)[0]:  # NACHA file header
        raise StatementError(
            "a NACHA ACH file is not a statement (ACH returns are read by the ACH rail)",
            where=filename,
            code="unsupported_format",
        )
    raise StatementError(
        "unknown format: not camt XML (or a zip of it), not SWIFT MT940/MT942, and not named .csv",
        where=filename,
        code="unknown_format",
    )


def _first_member_head(data: bytes) -> bytes:
    """The start of the archive's first file (its size is checked when it is read in full)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [
            info
            for info in archive.infolist()
            if not info.is_dir() and not info.filename.startswith("__MACOSX/")
        ]
        if not members:
            raise StatementError("the zip archive holds no file", code="empty_zip")
        with archive.open(members[0]) as member:
            return member.read(SNIFF_BYTES)
    except ZIP_READ_ERRORS as error:
        raise StatementError(f"not a readable zip archive: {error}", code="malformed_zip") from None


def _xml_format(head: bytes) -> StatementFormat:
    match = _CAMT_MESSAGE.search(head)
    if match is None and b"CstmrPmtStsRpt" in head:
        raise StatementError(
            "a pain.002 payment status report is not a statement (it is read by the SEPA rail)",
            code="unsupported_format",
        )
    if match is None:
        raise StatementError(
            "XML, but not a camt.053 statement nor a camt.054 notification",
            code="unknown_format",
        )
    message = match.group(1)
    if message == b"BkToCstmrAcctRpt":
        raise StatementError(
            "a camt.052 intraday account report is not read; ask the bank for camt.053 "
            "statements or camt.054 notifications",
            code="unsupported_format",
        )
    return "camt.053" if message == b"BkToCstmrStmt" else "camt.054"


def _swift_format(data: bytes) -> StatementFormat:
    if _SWIFT_942.search(data):
        return "mt942"
    if _SWIFT_940.search(data):
        return "mt940"
    if _INTERIM_TAG.search(data) and not _OPENING_TAG.search(data):
        return "mt942"
    return "mt940"


def parse_statement_file(
    data: bytes, filename: str | None = None, csv_mapping: CsvMapping | None = None
) -> StatementFile:
    """Any statement file read into a `StatementFile`, or `StatementError` naming where it
    went wrong. A CSV needs its `csv_mapping`; a mapping given for another format is unused."""
    if len(data) > STATEMENT_FILE_BYTES_MAX:
        raise StatementError(
            f"the file is {len(data)} bytes, more than {STATEMENT_FILE_BYTES_MAX}",
            code="statement_file_too_large",
        )
    try:
        statement_format = detect_format(data, filename)
    except StatementError as error:
        if csv_mapping is None or error.code != "unknown_format":
            raise
        statement_format = "csv"
    if statement_format in ("camt.053", "camt.054"):
        return parse_camt(data)
    if statement_format in ("mt940", "mt942"):
        return parse_mt940(data)
    if csv_mapping is None:
        raise StatementError(
            "a CSV statement needs a column mapping (which column is the date, the amount…)",
            where=filename,
            code="csv_mapping_required",
        )
    return parse_csv_statement(data, csv_mapping)
