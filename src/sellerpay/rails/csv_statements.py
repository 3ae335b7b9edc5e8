"""CSV in: bank statements exported as CSV (read through a `CsvMapping` saved per bank account),
and a payment provider's settlement report (fixed columns, checked to add up).

Banks' CSV exports have no standard: the mapping names the columns, the date format, how
amounts are written (one signed column, or debit and credit columns; decimal and thousands
separators), the delimiter, the encoding and the rows to skip before the header. Every cell is
read exactly (Decimal from text, never float) and an error names its line and column.
"""

from __future__ import annotations

import codecs
import csv
import functools
import hashlib
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal

from sellerpay.money import InvalidAmount, Money, TooManyDecimals, UnknownCurrency
from sellerpay.rails.statements import (
    STATEMENT_FILE_BYTES_MAX,
    Direction,
    Statement,
    StatementError,
    StatementFile,
    StatementLine,
)

CSV_ROWS_MAX: Final = 1_000_000
CSV_FIELD_CHARACTERS_MAX: Final = 100_000
HEADER_ROWS_SKIPPED_MAX: Final = 100
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True, slots=True)
class CsvMapping:
    """How to read one bank's CSV export: saved per bank account, as a dict (`to_dict`).

    Columns are named by their header text (case and surrounding spaces ignored), or by their
    1-based position ("3") when `has_header` is false. Amounts come from `amount_column`
    (signed: negative is a debit) or from `debit_column` and `credit_column` (either may be
    written with or without a minus sign); a row with both non-zero is refused. The currency
    comes from `currency_column`, else the fixed `currency`.
    """

    date_column: str
    date_format: str = "%Y-%m-%d"
    amount_column: str | None = None
    debit_column: str | None = None
    credit_column: str | None = None
    currency_column: str | None = None
    currency: str | None = None
    decimal_separator: str = "."
    thousands_separator: str = ""
    delimiter: str = ","
    encoding: str = "utf-8"
    skip_rows: int = 0
    has_header: bool = True
    value_date_column: str | None = None
    reference_column: str | None = None
    end_to_end_id_column: str | None = None
    remittance_column: str | None = None
    counterparty_name_column: str | None = None
    counterparty_account_column: str | None = None
    account: str = ""

    def __post_init__(self) -> None:
        separate = self.debit_column is not None or self.credit_column is not None
        if (self.amount_column is None) == (not separate):
            raise StatementError(
                "name either amount_column (signed) or debit_column and credit_column",
                where="mapping.amount_column",
                code="invalid_mapping",
            )
        if separate and (self.debit_column is None or self.credit_column is None):
            raise StatementError(
                "debit_column and credit_column go together",
                where="mapping.debit_column"
                if self.debit_column is None
                else "mapping.credit_column",
                code="invalid_mapping",
            )
        if (self.currency_column is None) == (self.currency is None):
            raise StatementError(
                "name either currency_column or a fixed currency",
                where="mapping.currency",
                code="invalid_mapping",
            )
        if self.currency is not None:
            _currency(self.currency, "mapping.currency")
        self._check_text_settings()

    def _check_text_settings(self) -> None:
        if len(self.delimiter) != 1 or self.delimiter in '\r\n"':
            raise StatementError(
                f"delimiter {self.delimiter!r} must be one character, not a quote or newline",
                where="mapping.delimiter",
                code="invalid_mapping",
            )
        if self.decimal_separator not in (".", ","):
            raise StatementError(
                "decimal_separator is '.' or ','",
                where="mapping.decimal_separator",
                code="invalid_mapping",
            )
        if self.thousands_separator not in ("", ".", ",", " ", "'", "\u00a0", "\u202f"):
            raise StatementError(
                f"thousands_separator {self.thousands_separator!r} is not a known one",
                where="mapping.thousands_separator",
                code="invalid_mapping",
            )
        if self.thousands_separator == self.decimal_separator:
            raise StatementError(
                "the thousands and decimal separators must differ",
                where="mapping.thousands_separator",
                code="invalid_mapping",
            )
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise StatementError(
                f"encoding {self.encoding!r} is unknown",
                where="mapping.encoding",
                code="invalid_mapping",
            ) from None
        if not 0 <= self.skip_rows <= HEADER_ROWS_SKIPPED_MAX:
            raise StatementError(
                f"skip_rows is 0 to {HEADER_ROWS_SKIPPED_MAX}",
                where="mapping.skip_rows",
                code="invalid_mapping",
            )
        if "%" not in self.date_format:
            raise StatementError(
                f"date_format {self.date_format!r} has no strftime directive (e.g. %d.%m.%Y)",
                where="mapping.date_format",
                code="invalid_mapping",
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data, read back by `from_dict`."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CsvMapping:
        """A mapping from saved data; an unknown key or a value of the wrong type is an error
        naming it (a typo in a saved mapping must not be silently ignored)."""
        if not isinstance(data, Mapping):
            raise StatementError("a CSV mapping is a JSON object", code="invalid_mapping")
        known = {item.name: item for item in fields(cls)}
        for key in data:
            if key not in known:
                raise StatementError(
                    f"unknown key {key!r}; known: {', '.join(sorted(known))}",
                    where=f"mapping.{key}",
                    code="invalid_mapping",
                )
        if "date_column" not in data:
            raise StatementError(
                "date_column is required", where="mapping.date_column", code="invalid_mapping"
            )
        for key, value in data.items():
            _check_type(key, value)
        return cls(**data)


_INT_KEYS: Final = frozenset({"skip_rows"})
_BOOL_KEYS: Final = frozenset({"has_header"})
_REQUIRED_TEXT_KEYS: Final = frozenset(
    {"date_column", "date_format", "decimal_separator", "thousands_separator", "delimiter"}
    | {"encoding", "account"}
)


def _check_type(key: str, value: object) -> None:
    if key in _INT_KEYS:
        ok = type(value) is int
        expected = "an integer"
    elif key in _BOOL_KEYS:
        ok = isinstance(value, bool)
        expected = "true or false"
    elif key in _REQUIRED_TEXT_KEYS:
        ok = isinstance(value, str)
        expected = "a string"
    else:
        ok = value is None or isinstance(value, str)
        expected = "a string or null"
    if not ok:
        raise StatementError(
            f"{key} must be {expected}, not {value!r}",
            where=f"mapping.{key}",
            code="invalid_mapping",
        )


# -- bank statement CSV -------------------------------------------------------------------------


def parse_csv_statement(data: bytes, mapping: CsvMapping) -> StatementFile:
    """The rows of a bank's CSV export as statement lines, one statement per currency.

    CSV has no balances: they are `None`. `statement_id` is derived from the file's content
    (the same file always gets the same id); `line_id` is the row's line number in the file.
    """
    header_line, header, body = _table(data, mapping)
    columns = _Columns(header, mapping)
    lines: dict[str, list[StatementLine]] = {}
    for line_number, row in body:
        if not any(cell.strip() for cell in row):
            continue
        line = _statement_line(row, line_number, columns, mapping)
        lines.setdefault(line.amount.currency, []).append(line)
    if not lines:
        raise StatementError(
            "the CSV has no row after its header",
            where=f"line {header_line}",
            code="empty_statement",
        )
    digest = hashlib.sha256(data).hexdigest()[:20]
    statements = tuple(
        Statement(
            statement_id=digest if len(lines) == 1 else f"{digest}-{currency}",
            account=mapping.account,
            currency=currency,
            lines=tuple(found),
            format="csv",
            opening_date=min(line.booked_on for line in found),
            closing_date=max(line.booked_on for line in found),
        )
        for currency, found in lines.items()
    )
    return StatementFile(format="csv", statements=statements)


Row = tuple[int, list[str]]


def _table(data: bytes, mapping: CsvMapping) -> tuple[int, list[str], list[Row]]:
    """(line of the header, column names, data rows) after the skipped rows; without a header
    the columns are named "1", "2", … and every row is data."""
    body = list(_rows(data, mapping))[mapping.skip_rows :]
    while body and not any(cell.strip() for cell in body[0][1]):
        body.pop(0)
    if not body:
        raise StatementError("the CSV has no row", where="line 1", code="empty_statement")
    if not mapping.has_header:
        width = max(len(row) for _, row in body)
        return body[0][0], [str(position) for position in range(1, width + 1)], body
    header_line, header = body[0]
    return header_line, [cell.strip().lower() for cell in header], body[1:]


def _rows(data: bytes, mapping: CsvMapping) -> Iterator[tuple[int, list[str]]]:
    """(line number of the row's first line, cells), csv quoting understood."""
    text = _decode(data, mapping.encoding)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=mapping.delimiter, strict=True)
    previous_end = 0
    try:
        for count, row in enumerate(reader, start=1):
            if count > CSV_ROWS_MAX:
                raise StatementError(
                    f"more than {CSV_ROWS_MAX} rows",
                    where=f"line {reader.line_num}",
                    code="rows_max",
                )
            if any(len(cell) > CSV_FIELD_CHARACTERS_MAX for cell in row):
                raise StatementError(
                    f"a cell longer than {CSV_FIELD_CHARACTERS_MAX} characters",
                    where=f"line {reader.line_num}",
                    code="cell_too_long",
                )
            yield previous_end + 1, row
            previous_end = reader.line_num
    except csv.Error as error:
        raise StatementError(
            f"not readable as CSV: {error}", where=f"line {reader.line_num}", code="malformed_csv"
        ) from None


def _decode(data: bytes, encoding: str) -> str:
    if len(data) > STATEMENT_FILE_BYTES_MAX:
        raise StatementError(
            f"the file is {len(data)} bytes, more than {STATEMENT_FILE_BYTES_MAX}",
            code="statement_file_too_large",
        )
    if encoding.replace("-", "").replace("_", "").lower() in ("utf8", "utf8sig"):
        data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise StatementError(
            f"not valid {encoding}: byte {data[error.start]:#04x}",
            where=f"line {line}",
            code="invalid_encoding",
        ) from None


class _Columns:
    """Where each mapped column is in a row (its index), found once from the header."""

    def __init__(self, header: Sequence[str], mapping: CsvMapping) -> None:
        self.header = list(header)
        self.date = self.index(mapping.date_column, "date_column")
        self.amount = self.optional(mapping.amount_column, "amount_column")
        self.debit = self.optional(mapping.debit_column, "debit_column")
        self.credit = self.optional(mapping.credit_column, "credit_column")
        self.currency = self.optional(mapping.currency_column, "currency_column")
        self.value_date = self.optional(mapping.value_date_column, "value_date_column")
        self.reference = self.optional(mapping.reference_column, "reference_column")
        self.end_to_end_id = self.optional(mapping.end_to_end_id_column, "end_to_end_id_column")
        self.remittance = self.optional(mapping.remittance_column, "remittance_column")
        self.counterparty_name = self.optional(
            mapping.counterparty_name_column, "counterparty_name_column"
        )
        self.counterparty_account = self.optional(
            mapping.counterparty_account_column, "counterparty_account_column"
        )

    def index(self, name: str, key: str) -> int:
        wanted = name.strip().lower()
        if wanted not in self.header:
            raise StatementError(
                f"column {name!r} ({key}) is not in the header: {', '.join(self.header)}",
                where=f"mapping.{key}",
                code="missing_column",
            )
        return self.header.index(wanted)

    def optional(self, name: str | None, key: str) -> int | None:
        return None if name is None else self.index(name, key)


def _cell(row: Sequence[str], index: int | None) -> str:
    if index is None or index >= len(row):
        return ""
    return row[index].strip()


def _statement_line(
    row: list[str], line_number: int, columns: _Columns, mapping: CsvMapping
) -> StatementLine:
    where = f"line {line_number}"
    currency = mapping.currency or _currency(_cell(row, columns.currency), f"{where}, currency")
    amount, direction = _row_amount(row, columns, mapping, currency, where)
    value_text = _cell(row, columns.value_date)
    return StatementLine(
        line_id=str(line_number),
        booked_on=_date(_cell(row, columns.date), mapping.date_format, f"{where}, date"),
        value_on=_date(value_text, mapping.date_format, f"{where}, value date")
        if value_text
        else None,
        amount=amount,
        direction=direction,
        bank_reference=_cell(row, columns.reference),
        end_to_end_id=_cell(row, columns.end_to_end_id),
        remittance=" ".join(_cell(row, columns.remittance).split()),
        counterparty_name=" ".join(_cell(row, columns.counterparty_name).split()),
        counterparty_account=_cell(row, columns.counterparty_account).replace(" ", ""),
    )


def _row_amount(
    row: list[str], columns: _Columns, mapping: CsvMapping, currency: str, where: str
) -> tuple[Money, Direction]:
    if columns.amount is not None:
        signed = _amount(_cell(row, columns.amount), mapping, currency, f"{where}, amount")
        return abs(signed), "debit" if signed.is_negative() else "credit"
    debit_text, credit_text = _cell(row, columns.debit), _cell(row, columns.credit)
    debit = _amount(debit_text, mapping, currency, f"{where}, debit") if debit_text else None
    credit = _amount(credit_text, mapping, currency, f"{where}, credit") if credit_text else None
    if debit is not None and credit is not None and not debit.is_zero() and not credit.is_zero():
        raise StatementError(
            "both a debit and a credit on one row", where=where, code="ambiguous_amount"
        )
    if debit is not None and not debit.is_zero():
        return abs(debit), "debit"
    if credit is not None:
        return abs(credit), "credit"
    if debit is not None:
        return abs(debit), "debit"
    raise StatementError("neither a debit nor a credit", where=where, code="missing_amount")


def _amount(text: str, mapping: CsvMapping, currency: str, where: str) -> Money:
    """ "-1.234,56" with "," decimals and "." thousands is -1234.56, exactly; "1,2,3" is refused."""
    cleaned = text
    negative = cleaned.startswith("(") and cleaned.endswith(")")  # accountants' negatives
    if negative:
        cleaned = cleaned[1:-1]
    if cleaned.endswith("-"):  # "12,50-": trailing minus of some German exports
        cleaned, negative = "-" + cleaned[:-1], False
    if mapping.thousands_separator:
        cleaned = _without_grouping(cleaned, mapping, where)
    if mapping.decimal_separator == ",":
        cleaned = cleaned.replace(",", ".")
    if not _PLAIN_NUMBER.match(cleaned):
        raise StatementError(
            f"amount {text!r} is not a number written with {mapping.decimal_separator!r} decimals",
            where=where,
            code="invalid_amount",
        )
    try:
        value = Decimal(cleaned)
        money = Money.from_decimal(-value if negative else value, currency)
    except TooManyDecimals:
        raise StatementError(
            f"{text} has more decimals than {currency} has", where=where, code="too_many_decimals"
        ) from None
    except (InvalidAmount, InvalidOperation):
        raise StatementError(
            f"amount {text!r} is out of range", where=where, code="invalid_amount"
        ) from None
    return money


def _without_grouping(text: str, mapping: CsvMapping, where: str) -> str:
    """Drop thousands separators, checking they group by three (so "1.23" in a ","-decimal file
    is an error, not 123)."""
    separator = mapping.thousands_separator
    if separator not in text:
        return text
    whole = text.split(mapping.decimal_separator)[0].lstrip("+-")
    groups = whole.split(separator)
    if not (1 <= len(groups[0]) <= 3 and all(len(group) == 3 for group in groups[1:])):
        raise StatementError(
            f"amount {text!r}: {separator!r} does not group thousands",
            where=where,
            code="invalid_amount",
        )
    return text.replace(separator, "")


def _date(text: str, date_format: str, where: str) -> date:
    """The date in `text`; statements repeat a few dates, so each is parsed once."""
    try:
        return _parsed_date(text, date_format)
    except ValueError:
        raise StatementError(
            f"{text!r} is not a date in the format {date_format}", where=where, code="invalid_date"
        ) from None


@functools.lru_cache(maxsize=4096)
def _parsed_date(text: str, date_format: str) -> date:
    return datetime.strptime(text, date_format).date()


def _currency(code: str, where: str) -> str:
    if not _CURRENCY.match(code):
        raise StatementError(
            f"{code!r} is not a currency code", where=where, code="unknown_currency"
        )
    try:
        Money.zero(code)
    except UnknownCurrency:
        raise StatementError(
            f"{code!r} is not an ISO 4217 currency with a minor unit",
            where=where,
            code="unknown_currency",
        ) from None
    return code


# -- provider settlement report -----------------------------------------------------------------

SettlementKind = Literal["charge", "refund", "fee", "dispute", "payout"]
SETTLEMENT_KINDS: Final[tuple[SettlementKind, ...]] = (
    "charge",
    "refund",
    "fee",
    "dispute",
    "payout",
)
SETTLEMENT_COLUMNS_REQUIRED: Final = ("type", "currency", "amount")
SETTLEMENT_COLUMNS_OPTIONAL: Final = ("id", "date", "reference", "description")
_SETTLEMENT_FORMAT: Final = CsvMapping(date_column="date", amount_column="amount", currency="EUR")
"""How the report's text is read (UTF-8, ",", "." decimals); its currency is per row."""


@dataclass(frozen=True, slots=True)
class SettlementRow:
    """One row of a provider's settlement report; `amount` as written (positive, except that a
    payout may be negative when the provider debits us)."""

    line: int
    kind: SettlementKind
    amount: Money
    provider_id: str = ""
    occurred_on: date | None = None
    reference: str = ""
    description: str = ""


@dataclass(frozen=True, slots=True)
class ProviderSettlement:
    """A settlement report that adds up: per currency, charges - refunds - fees - disputes is
    the payout. `payouts` holds the one payout per currency, in order of appearance."""

    rows: tuple[SettlementRow, ...]
    payouts: tuple[SettlementRow, ...]

    def total(self, kind: SettlementKind, currency: str) -> Money:
        """The sum of the rows of one kind in one currency (zero when there is none)."""
        total = Money.zero(currency)
        for row in self.rows:
            if row.kind == kind and row.amount.currency == currency:
                total = total + row.amount
        return total


def parse_provider_settlement_csv(data: bytes) -> ProviderSettlement:
    """A payment provider's settlement report, checked to add up.

    Expected: UTF-8, comma-delimited, a header row with `type`, `currency`, `amount` and
    optionally `id`, `date` (YYYY-MM-DD), `reference`, `description` (any order, any case; other
    columns ignored). `type` is charge, refund, fee, dispute or payout; `amount` is a decimal
    with "." ("12.34"), positive for charges, refunds, fees and disputes (the type gives the
    sign), and may be negative only for a payout. Exactly one payout row per currency, equal to
    charges - refunds - fees - disputes, else `StatementError` code `settlement_mismatch`.
    """
    header_line, names, body = _table(data, _SETTLEMENT_FORMAT)
    for required in SETTLEMENT_COLUMNS_REQUIRED:
        if required not in names:
            raise StatementError(
                f"the settlement report has no {required!r} column "
                f"(needed: {', '.join(SETTLEMENT_COLUMNS_REQUIRED)})",
                where=f"line {header_line}",
                code="missing_column",
            )
    index: dict[str, int] = {
        name: names.index(name)
        for name in (*SETTLEMENT_COLUMNS_REQUIRED, *SETTLEMENT_COLUMNS_OPTIONAL)
        if name in names
    }
    parsed = [
        _settlement_row(row, line, index) for line, row in body if any(cell.strip() for cell in row)
    ]
    payouts = _check_settlement(parsed)
    return ProviderSettlement(rows=tuple(parsed), payouts=payouts)


def _settlement_row(row: list[str], line: int, index: dict[str, int]) -> SettlementRow:
    where = f"line {line}"
    kind_text = _cell(row, index["type"]).lower()
    if kind_text not in SETTLEMENT_KINDS:
        raise StatementError(
            f"type {kind_text!r} is not one of {', '.join(SETTLEMENT_KINDS)}",
            where=f"{where}, type",
            code="invalid_settlement_type",
        )
    kind: SettlementKind = kind_text
    currency = _currency(_cell(row, index["currency"]), f"{where}, currency")
    amount_text = _cell(row, index["amount"])
    amount = _amount(amount_text, _SETTLEMENT_FORMAT, currency, f"{where}, amount")
    if amount.is_negative() and kind != "payout":
        raise StatementError(
            f"a {kind} amount is written positive (the type gives the sign), not {amount_text}",
            where=f"{where}, amount",
            code="negative_amount",
        )
    date_text = _cell(row, index.get("date"))
    return SettlementRow(
        line=line,
        kind=kind,
        amount=amount,
        provider_id=_cell(row, index.get("id")),
        occurred_on=_date(date_text, "%Y-%m-%d", f"{where}, date") if date_text else None,
        reference=_cell(row, index.get("reference")),
        description=" ".join(_cell(row, index.get("description")).split()),
    )


def _check_settlement(rows: list[SettlementRow]) -> tuple[SettlementRow, ...]:
    if not rows:
        raise StatementError("the settlement report has no row", code="empty_statement")
    currencies = list(dict.fromkeys(row.amount.currency for row in rows))
    payouts: list[SettlementRow] = []
    for currency in currencies:
        found = [row for row in rows if row.kind == "payout" and row.amount.currency == currency]
        if len(found) != 1:
            raise StatementError(
                f"{len(found)} payout rows in {currency}: a settlement has one per currency",
                where=f"line {found[1].line}" if len(found) > 1 else None,
                code="settlement_mismatch",
            )
        expected = Money.zero(currency)
        for row in rows:
            if row.amount.currency != currency or row.kind == "payout":
                continue
            expected = expected + row.amount if row.kind == "charge" else expected - row.amount
        if found[0].amount != expected:
            raise StatementError(
                f"the {currency} payout is {found[0].amount} but charges - refunds - fees - "
                f"disputes is {expected} (a difference of {found[0].amount - expected})",
                where=f"line {found[0].line}",
                code="settlement_mismatch",
            )
        payouts.append(found[0])
    return tuple(payouts)
