"""SWIFT MT940 statements and MT942 interim reports in: bytes to `StatementFile`, exactly.

The `mt940` library reads the tags (its field patterns, the entry-date year rule, the structured
`:86:` of German banks with `?20`-`?34` and `EREF+`/`SVWZ+`). Around it we do what it does not,
each in one named step below:

- decode the bytes by a documented rule (`decode_statement_text`), not by its cp852 fallback;
- clean the text: CR LF and lone CR, SWIFT control characters (SOH, ETX), the SWIFT envelope
  (`{1:…}{2:O940…}{4:` … `-}{5:…}`), bank preambles before the first `:20:`;
- repair a tag broken across a line (`:` then `86:` on the next line);
- split statements ourselves, so each keeps its own balances and line numbers, and refuse a
  fragment (`:61:` before any `:20:`) and a statement without a closing balance (a cut file);
- check every tag against the library's own pattern first, so an error names its line;
- drop what the library would misfile: an `:86:` that follows no `:61:` (statement-level
  information, which it glues to the last line) and tags it does not know (whose text it glues
  to the previous tag);
- read `:61:` with a 34-character reference when the 16-character pattern fails (ASN Bank);
- read Triodos-style `>20` sub-fields as `?20`, and Dutch `/EREF/…/NAME/…/REMI/` details;
- turn every amount into `Money` from its text (Decimal, never float), refusing more decimals
  than the currency has; `RC`/`RD` marks are reversals (the library leaves `RC` positive);
- require the decimal comma in balances (SWIFT does; it catches most files cut inside their
  last line), while a `:61:` amount may lack it (Knab writes `C500`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import mt940

from sellerpay.money import InvalidAmount, Money, TooManyDecimals, UnknownCurrency
from sellerpay.rails.statements import (
    STATEMENT_FILE_BYTES_MAX,
    Direction,
    Statement,
    StatementError,
    StatementFile,
    StatementFormat,
    StatementLine,
)

OPTIONS: Final = mt940.Options.all()
"""Every fix of the library on: RC signed, :13D: offsets in hours, ?31 as the IBAN, :86: not cut
after 9 lines, values of :61: kept when a later :86: has none."""
CENTRAL_EUROPEAN_CURRENCIES: Final = frozenset(
    {"PLN", "CZK", "HUF", "RON", "HRK", "BGN", "RSD", "BAM", "MKD", "ALL"}
)
CENTRAL_EUROPEAN_COUNTRIES: Final = frozenset(
    {"PL", "CZ", "SK", "HU", "SI", "HR", "RO", "BG", "RS", "BA", "MK", "AL"}
)
NO_REFERENCE: Final = frozenset({"NONREF", "NOTPROVIDED", "NONE"})
OWNER_REFERENCE_MARKERS: Final = frozenset({"EREF", "MARF", "PREF", "KREF", "KREF+", "EREF+"})
"""What some banks write in the :61: owner's reference to say "see the :86:" (Rabobank EREF)."""
KNOWN_TAGS: Final = frozenset(
    {"13", "13D", "20", "21", "25", "25P", "28", "28C", "34F", "60", "60F", "60M", "61", "62"}
    | {"62F", "62M", "64", "65", "86", "90C", "90D", "NS"}
)
BALANCE_TAG_NUMBERS: Final = frozenset({"60", "62", "64", "65"})
OPENING_TAGS: Final = ("60F", "60M", "60")
CLOSING_TAGS: Final = ("62F", "62M", "62")

_TAG_LINE = re.compile(r"^:(?P<tag>\d{2}[A-Z]?|NS):(?P<value>.*)$")
_BROKEN_TAG = re.compile(r"^(\d{2}[A-Z]?|NS):")
_ENVELOPE = re.compile(
    r"^\{1:[^}]*\}(?:\{2:[IO](?P<type>\d{3})[^}]*\})?(?:\{3:(?:\{[^{}]*\})*\})?\{4:(?P<rest>.*)$"
)
_ENVELOPE_END = re.compile(r"^-?\}(?:\{5:.*)?$|^-\}.*$|^\{5:.*$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_AMOUNT = re.compile(r"^(\d+,?\d*|,\d+)$")
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$")
_CURRENCY_IN_BALANCE = re.compile(rb"^:(?:60[FM]?|62[FM]?|64|65):[CD]\d{6}([A-Z]{3})", re.M)
_CURRENCY_IN_FLOOR = re.compile(rb"^:34F:([A-Z]{3})", re.M)
_ACCOUNT_COUNTRY = re.compile(rb"^:25:(?:[A-Z0-9]{4,11}/)?([A-Z]{2})\d{2}", re.M)
_GREATER_THAN_SUBFIELDS = re.compile(r"^\d{3}>\d{2}")
_SLASH_KEYS = (
    "TRTP|IBAN|BIC|NAME|REMI|EREF|MARF|CSID|PREF|KREF|RTRN|ORDP|BENM|ISDT|CNTP|SWOC|OCMT|ADDR"
    "|PURP|ULTC|ULTD|ULTB|EXCH|CHGS|ID|RETURNREASON"
)
_SLASH_FIELD = re.compile(rf"/({_SLASH_KEYS})/")


# -- decoding -------------------------------------------------------------------------------------


def decode_statement_text(data: bytes) -> tuple[str, str]:
    """The text of a statement file and the encoding it was read in.

    The rule: a UTF-8 byte-order mark is dropped; valid UTF-8 is UTF-8. Otherwise the file is
    in a single-byte code page, chosen from its ASCII parts: if an account (:25:) is a Central
    European IBAN or a balance is in a Central European currency (PLN, CZK, HUF…), cp1250 or
    cp852 (the DOS code page of older Hungarian and Polish exports); else cp1252 or latin-1.
    Between the two candidates, the one whose non-ASCII characters are most often letters
    wins, the first on a tie. Tags, amounts and dates are ASCII, so only text can be misread.
    """
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    candidates = ("cp1250", "cp852") if _central_european(data) else ("cp1252", "latin-1")
    best: tuple[int, str, str] | None = None
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        oddities = sum(
            1 for char in text if ord(char) > 127 and not unicodedata.category(char).startswith("L")
        )
        if best is None or oddities < best[0]:
            best = (oddities, text, encoding)
    assert best is not None  # cp852 and latin-1 map every byte
    return best[1], best[2]


def _central_european(data: bytes) -> bool:
    currencies = {
        match.decode("ascii")
        for pattern in (_CURRENCY_IN_BALANCE, _CURRENCY_IN_FLOOR)
        for match in pattern.findall(data)
    }
    countries = {match.decode("ascii") for match in _ACCOUNT_COUNTRY.findall(data)}
    return bool(currencies & CENTRAL_EUROPEAN_CURRENCIES or countries & CENTRAL_EUROPEAN_COUNTRIES)


# -- cleaning and splitting ---------------------------------------------------------------------


@dataclass(slots=True)
class _Tag:
    """One tag: its id (`61`, `60F`), the line it starts on, and its lines as written."""

    tag: str
    line: int
    lines: list[str]

    @property
    def value(self) -> str:
        """The value as the library sees it: lines right-trimmed, blank lines dropped."""
        kept = [line.rstrip() for line in self.lines if line.strip()]
        return "\n".join(kept).strip()


@dataclass(slots=True)
class _Block:
    """One statement: from its `:20:` to the next `:20:` or its `-` terminator."""

    line: int
    message_type: str
    tags: list[_Tag] = field(default_factory=list)

    def first(self, *names: str) -> _Tag | None:
        return next((tag for name in names for tag in self.tags if tag.tag == name), None)

    @property
    def last_line(self) -> int:
        return self.tags[-1].line if self.tags else self.line


def _clean_lines(text: str) -> Iterator[tuple[int, str, str]]:
    """(line number, line, SWIFT message type) with CR, control characters and the SWIFT
    envelope removed; line numbers are the file's."""
    message_type = ""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    pending: tuple[int, str] | None = None
    for number, raw in enumerate(lines, start=1):
        line = _CONTROL.sub("", raw).rstrip()
        envelope = _ENVELOPE.match(line)
        if envelope:
            message_type = envelope.group("type") or message_type
            line = envelope.group("rest")
        elif _ENVELOPE_END.match(line):
            line = "-"
        if pending is not None:
            if _BROKEN_TAG.match(line):  # ":" at the end of one line, "86:…" on the next
                yield pending[0], ":" + line, message_type
                pending = None
                continue
            yield pending[0], pending[1], message_type
            pending = None
        if line == ":":
            pending = (number, line)
            continue
        yield number, line, message_type
    if pending is not None:
        yield pending[0], pending[1], message_type


def _blocks(text: str) -> list[_Block]:
    blocks: list[_Block] = []
    current: _Block | None = None
    for number, line, message_type in _clean_lines(text):
        if not line.strip():
            continue
        match = _TAG_LINE.match(line)
        if match:
            tag = match.group("tag")
            if tag == "20":
                current = _Block(number, message_type)
                blocks.append(current)
            elif current is None:
                raise StatementError(
                    f":{tag}: comes before any :20: — this is a fragment of a statement "
                    "(no reference, account or balances), not a statement",
                    where=f"line {number}",
                    code="mt940_fragment",
                )
            current.tags.append(_Tag(tag, number, [match.group("value")]))
        elif line.strip() == "-":
            current = None  # end of message; text until the next :20: is a bank's header
        elif current is not None and current.tags:
            current.tags[-1].lines.append(line)
    if not blocks:
        raise StatementError("no :20: statement found: not an MT940/MT942 file", code="not_mt940")
    return blocks


def _kept_tags(block: _Block) -> list[_Tag]:
    """The tags handed to the library: unknown tags and an :86: that follows no :61: dropped."""
    kept: list[_Tag] = []
    previous = ""
    for tag in block.tags:
        if tag.tag not in KNOWN_TAGS:
            continue
        if tag.tag == "86":
            if previous != "61":
                continue
            if _GREATER_THAN_SUBFIELDS.match(tag.value):
                tag = _Tag(tag.tag, tag.line, [tag.value.replace(">", "?")])
        if tag.tag not in ("86", "NS"):
            previous = tag.tag
        kept.append(tag)
    return kept


# -- checking each tag with the library's patterns ----------------------------------------------

_LIBRARY_TAGS: Final = mt940.tags.TAG_BY_ID
_ASN_STATEMENT: Final = mt940.tags.StatementASNB()


def _library_tag(tag: str) -> mt940.tags.Tag | None:
    found: mt940.tags.Tag | None = _LIBRARY_TAGS.get(tag)
    if found is None and tag[:2].isdigit():
        found = _LIBRARY_TAGS.get(int(tag[:2]))
    return found


def _check_tag(tag: _Tag) -> tuple[dict[str, Any], bool]:
    """The tag's fields by the library's own pattern, dates and amounts checked, or an error
    naming the line; and whether a :61: needs the 34-character reference pattern (ASN Bank).

    The pattern is matched here rather than through the library's `Tag.parse`, which logs
    every mismatch at ERROR level: a refused file is our error to report, not a log line.
    """
    library_tag = _library_tag(tag.tag)
    if library_tag is None or tag.tag in ("86", "NS"):
        return {}, False
    where = f"line {tag.line}"
    wide_reference = False
    match = library_tag.re.match(tag.value)
    if match is None and tag.tag == "61":
        match = _ASN_STATEMENT.re.match(tag.value)
        wide_reference = True
    if match is None:
        raise StatementError(
            f":{tag.tag}: {tag.value!r} does not match the field's format",
            where=where,
            code="malformed_tag",
        )
    fields = match.groupdict()
    if tag.tag == "20" and not (fields.get("transaction_reference") or "").strip():
        raise StatementError(":20: is empty", where=where, code="malformed_tag")
    if tag.tag == "25" and not (fields.get("account_identification") or "").strip():
        raise StatementError(":25: has no account", where=where, code="malformed_tag")
    if "amount" in fields and not _AMOUNT.match(fields.get("amount") or ""):
        raise StatementError(
            f"amount {fields.get('amount')!r} is not digits with one decimal comma",
            where=where,
            code="invalid_amount",
        )
    if tag.tag[:2] in BALANCE_TAG_NUMBERS and "," not in (fields.get("amount") or ""):
        raise StatementError(
            f"balance {tag.value!r} has no decimal comma (SWIFT requires one): the line is "
            "malformed or the file was cut inside it",
            where=where,
            code="invalid_amount",
        )
    if "year" in fields:
        _check_date(fields, where, lenient_february=tag.tag == "61")
    if tag.tag == "61" and not (fields.get("id") or "").strip():
        raise StatementError(
            ":61: has no transaction type code (e.g. NTRF, NMSC)", where=where, code="malformed_tag"
        )
    return fields, wide_reference


def _check_date(fields: dict[str, Any], where: str, *, lenient_february: bool) -> None:
    """YYMMDD must be a real date; for :61: the library turns 30 February into the 28th/29th
    (German banks book interest on 30.02), so up to the 31st passes there."""
    try:
        year, month, day = 2000 + int(fields["year"]), int(fields["month"]), int(fields["day"])
        if lenient_february and month == 2:
            day = min(day, 28) if 1 <= day <= 31 else day
        date(year, month, day)
        if fields.get("hour") is not None and not (
            0 <= int(fields["hour"]) < 24 and 0 <= int(fields["minute"]) < 60
        ):
            raise ValueError("time")
        entry_month, entry_day = fields.get("entry_month"), fields.get("entry_day")
        if entry_month and entry_month.strip() and entry_day and entry_day.strip():
            date(2000, int(entry_month), int(entry_day))  # 2000 is a leap year: 29.02 passes
    except (TypeError, ValueError):
        raise StatementError(
            "the date is not a real date (YYMMDD)", where=where, code="invalid_date"
        ) from None


# -- the library's reading, mapped to ours ------------------------------------------------------


def parse_mt940(data: bytes) -> StatementFile:
    """Every statement of an MT940 (or MT942) file, or `StatementError` naming the line."""
    if len(data) > STATEMENT_FILE_BYTES_MAX:
        raise StatementError(
            f"the file is {len(data)} bytes, more than {STATEMENT_FILE_BYTES_MAX}",
            code="statement_file_too_large",
        )
    text, _ = decode_statement_text(data)
    statements = [_statement(block) for block in _blocks(text)]
    formats = {statement.format for statement in statements}
    if len(formats) != 1:
        raise StatementError(
            "the file mixes MT940 statements and MT942 reports", code="mixed_formats"
        )
    return StatementFile(format=formats.pop(), statements=tuple(statements))


def _statement(block: _Block) -> Statement:
    tags = _kept_tags(block)
    statement_lines = [tag for tag in tags if tag.tag == "61"]
    checked = [_check_tag(tag) for tag in tags]
    wide_references = [wide for _, wide in checked]
    owner_references = [
        fields.get("customer_reference")
        for (fields, _), tag in zip(checked, tags, strict=True)
        if tag.tag == "61"
    ]
    statement_format = _format(block)
    account = block.first("25")
    if account is None:
        raise StatementError(
            "the statement has no :25: account", where=f"line {block.line}", code="missing_tag"
        )
    library = _library_read(block, tags, wide_reference=any(wide_references))
    opening = _balance(
        library.data,
        ("final_opening_balance", "intermediate_opening_balance", "opening_balance"),
        block.first(*OPENING_TAGS),
    )
    closing = _balance(
        library.data,
        ("final_closing_balance", "intermediate_closing_balance", "closing_balance"),
        block.first(*CLOSING_TAGS),
    )
    if statement_format == "mt940":
        _require_balances(block, opening, closing)
    currency = _currency(block, library, opening, closing)
    lines = tuple(
        _line(str(position), transaction.data, currency, tag.line, owner or "")
        for position, (transaction, tag, owner) in enumerate(
            zip(library.transactions, statement_lines, owner_references, strict=True), start=1
        )
    )
    sequence = block.first("28C", "28")
    return Statement(
        statement_id=(library.data.get("transaction_reference") or "").strip(),
        account=account.value.replace(" ", ""),
        currency=currency,
        lines=lines,
        format=statement_format,
        opening_balance=opening[0] if opening else None,
        closing_balance=closing[0] if closing else None,
        opening_date=opening[1] if opening else None,
        closing_date=closing[1] if closing else None,
        created_at=_created_at(library.data.get("date")),
        sequence=sequence.value if sequence else "",
    )


def _library_read(
    block: _Block, tags: list[_Tag], *, wide_reference: bool
) -> mt940.models.Transactions:
    """The library's reading of the checked tags; it should not fail, but if it does the
    statement is refused, never half read."""
    overrides: dict[int | str, mt940.tags.Tag] | None = (
        {61: _ASN_STATEMENT} if wide_reference else None
    )
    library = mt940.models.Transactions(tags=overrides, options=OPTIONS)
    try:
        library.parse("\n".join(f":{tag.tag}:{tag.value}" for tag in tags))
    except (RuntimeError, ValueError, ArithmeticError, KeyError, IndexError, TypeError) as error:
        raise StatementError(
            f"the statement cannot be read: {error}",
            where=f"line {block.line}",
            code="malformed_statement",
        ) from None
    expected = sum(tag.tag == "61" for tag in tags)
    if len(library.transactions) != expected:
        raise StatementError(
            f"{expected} :61: lines but {len(library.transactions)} read",
            where=f"line {block.line}",
            code="malformed_statement",
        )
    return library


def _format(block: _Block) -> StatementFormat:
    if block.message_type == "942":
        return "mt942"
    if block.message_type == "940":
        return "mt940"
    interim = block.first("13D", "13", "34F", "90D", "90C") is not None
    return "mt942" if interim and block.first(*OPENING_TAGS) is None else "mt940"


def _require_balances(
    block: _Block, opening: tuple[Money, date] | None, closing: tuple[Money, date] | None
) -> None:
    if opening is None:
        raise StatementError(
            "the statement has no opening balance (:60F: or :60M:)",
            where=f"line {block.line}",
            code="missing_opening_balance",
        )
    if closing is None:
        raise StatementError(
            "the statement has no closing balance (:62F: or :62M:): the file is cut short "
            "or the statement incomplete",
            where=f"line {block.last_line}",
            code="missing_closing_balance",
        )


def _balance(
    data: dict[str, Any], keys: tuple[str, ...], tag: _Tag | None
) -> tuple[Money, date] | None:
    balance = next((data[key] for key in keys if data.get(key) is not None), None)
    if balance is None or tag is None:
        return None
    amount = balance.amount
    money = _money(amount.amount, amount.currency or "", f"line {tag.line}")
    on = balance.date
    return money, date(on.year, on.month, on.day)


def _currency(
    block: _Block,
    library: mt940.models.Transactions,
    opening: tuple[Money, date] | None,
    closing: tuple[Money, date] | None,
) -> str:
    if opening:
        return opening[0].currency
    if closing:
        return closing[0].currency
    currency = library.currency or ""
    if not currency:
        raise StatementError(
            "no currency: no balance and no :34F: floor limit",
            where=f"line {block.line}",
            code="no_currency",
        )
    _money(Decimal(0), currency, f"line {(block.first('34F') or block.tags[0]).line}")
    return currency


def _created_at(moment: object) -> datetime | None:
    if not isinstance(moment, datetime):
        return None
    offset = moment.utcoffset()
    zone = timezone(offset) if offset is not None else None
    return datetime(moment.year, moment.month, moment.day, moment.hour, moment.minute, tzinfo=zone)


def _money(amount: object, currency: str, where: str) -> Money:
    """A library Decimal as Money; the library built it from the text, so it is exact."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise StatementError(
            f"amount {amount!r} is not a number", where=where, code="invalid_amount"
        )
    try:
        return Money.from_decimal(amount, currency)
    except UnknownCurrency:
        raise StatementError(
            f"{currency!r} is not an ISO 4217 currency in use (withdrawn currencies such as DEM "
            "cannot be held as Money)",
            where=where,
            code="unknown_currency",
        ) from None
    except TooManyDecimals:
        raise StatementError(
            f"{amount} has more decimals than {currency} has",
            where=where,
            code="too_many_decimals",
        ) from None
    except (InvalidAmount, InvalidOperation):
        raise StatementError(
            f"amount {amount} is out of range", where=where, code="invalid_amount"
        ) from None


# -- one :61: with its :86: --------------------------------------------------------------------


def _line(
    line_id: str, data: dict[str, Any], currency: str, line_number: int, owner_reference: str
) -> StatementLine:
    where = f"line {line_number}"
    mark = str(data.get("status") or "").upper()
    directions: dict[str, tuple[Direction, bool]] = {
        "C": ("credit", False),
        "D": ("debit", False),
        "RC": ("debit", True),  # reversal of a credit: money leaves
        "RD": ("credit", True),  # reversal of a debit: money comes back
    }
    if mark not in directions:
        raise StatementError(
            f"debit/credit mark {mark!r} is not C, D, RC or RD", where=where, code="invalid_mark"
        )
    direction, reversal = directions[mark]
    amount = abs(_money(data["amount"].amount, currency, where))
    value_on = _plain_date(data["date"])
    entry = data.get("entry_date")
    details = _details(data, owner_reference)
    return StatementLine(
        line_id=line_id,
        booked_on=_plain_date(entry) if entry is not None else value_on,
        value_on=value_on,
        amount=amount,
        direction=direction,
        reversal=reversal,
        status="booked",
        bank_reference=_reference(data.get("bank_reference")),
        end_to_end_id=details.end_to_end_id,
        payment_information_id=details.payment_information_id,
        instruction_id=details.owner_reference,
        counterparty_name=details.counterparty_name,
        counterparty_account=details.counterparty_account,
        remittance=details.remittance,
        bank_transaction_code="/".join(
            part for part in (str(data.get("id") or "").strip(), details.code) if part
        ),
        return_reason_code=details.return_reason,
    )


@dataclass(frozen=True, slots=True)
class _Details:
    end_to_end_id: str = ""
    payment_information_id: str = ""  # /PREF/: the batch a batch booking books
    owner_reference: str = ""
    counterparty_name: str = ""
    counterparty_account: str = ""
    remittance: str = ""
    code: str = ""
    return_reason: str = ""


def _details(data: dict[str, Any], owner_reference: str) -> _Details:
    """What the :86: says, structured German `?xx`, Dutch `/KEY/` or free text, with the
    :61: reference for the account owner (taken from the :61: itself: the library lets a later
    `KREF+` of the :86: overwrite it)."""
    raw = str(data.get("transaction_details") or "")
    slash = _slash_fields(raw) if raw.lstrip().startswith("/") else {}
    owner = _reference(owner_reference)
    if owner.upper() in OWNER_REFERENCE_MARKERS:
        owner = ""
    extra = _collapse(data.get("extra_details"))
    counterparty = _cntp(slash.get("CNTP", ""))
    account = (
        _clean_account(data.get("applicant_iban"))
        or slash.get("IBAN", "")
        or counterparty[0]
        or next((text for text in (owner, extra) if _IBAN.match(text)), "")
    )
    remittance = (
        _collapse(data.get("purpose"))
        or _remi(slash.get("REMI", ""))
        or (_collapse(raw) if not slash else "")
        or _collapse(data.get("non_swift_text"))
    )
    return _Details(
        end_to_end_id=_reference(data.get("end_to_end_reference")) or _reference(slash.get("EREF")),
        payment_information_id=_reference(slash.get("PREF")),
        owner_reference="" if owner == account or _IBAN.match(owner) else owner,
        counterparty_name=_collapse(data.get("applicant_name"))
        or slash.get("NAME", "")
        or counterparty[1],
        counterparty_account=account,
        remittance=remittance,
        code=str(data.get("transaction_code") or "").strip(),
        return_reason=_reference(data.get("return_debit_notes")) or slash.get("RTRN", ""),
    )


def _slash_fields(text: str) -> dict[str, str]:
    """Dutch structured details, "/EREF/x/NAME/y/REMI/z": lines are wrapped at 65 characters
    mid-word, so they are joined without a space."""
    joined = "".join(line.strip("\r") for line in text.split("\n"))
    matches = list(_SLASH_FIELD.finditer(joined))
    fields: dict[str, str] = {}
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(joined)
        value = joined[match.end() : end].strip().strip("/").strip()
        fields.setdefault(match.group(1), value)
    return fields


def _cntp(value: str) -> tuple[str, str]:
    """Rabobank's /CNTP/account/BIC/name/city/ as (account, name)."""
    parts = value.split("/")
    account = parts[0].replace(" ", "") if parts else ""
    name = parts[2].strip() if len(parts) > 2 else ""
    return account, name


def _remi(value: str) -> str:
    for prefix in ("USTD//", "USTD/", "STRD/CUR/", "STRD//"):
        if value.startswith(prefix):
            return _collapse(value[len(prefix) :].strip("/"))
    return _collapse(value)


def _reference(value: object) -> str:
    text = str(value or "").strip()
    return "" if text.upper() in NO_REFERENCE else text


def _clean_account(value: object) -> str:
    return str(value or "").replace(" ", "").strip()


def _collapse(value: object) -> str:
    return " ".join(str(value or "").split())


def _plain_date(value: date) -> date:
    """The library's `Date` subclass as a plain `date` (equality, JSON, pickling)."""
    return date(value.year, value.month, value.day)
