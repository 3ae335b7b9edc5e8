"""MT940 statements out, for the simulated bank: a `Statement` as SWIFT MT940 text.

The rails read MT940 (`rails.swift_mt940.parse_mt940`) but write none, and only the simulated
bank needs to: this writer lives with it. The dialect is the Dutch structured one that the
parser reads field by field, so the end-to-end id survives the round trip:

    :20:SB260105EUR           statement id (16x)
    :25:FR1420041010050500013M02606
    :28C:1/1                  statement number / page
    :60F:C260105EUR1000000,00 opening balance: mark, date, currency, amount (comma decimals)
    :61:2601050105D10,00NTRFPO-1//SB0000000001
    :86:/EREF/PO-1/NAME/SELLER GMBH/IBAN/DE89370400440532013000/REMI/USTD//PAYOUT PO-1/
    :62F:C260105EUR999990,00  closing balance
    -

`:61:` carries the customer reference (the end-to-end id, or the message id of a batch entry,
when it fits 16 characters; else NONREF) and the bank reference; `:86:` carries /EREF/ (the
end-to-end id), /PREF/ (the batch's payment information or message id), /NAME/, /IBAN/ (the
counterparty's account), /REMI/ and /RTRN/ (a return's reason code), wrapped at 65 characters
over at most 6 lines. Text is cut to SWIFT's character set (X): accents are transliterated,
anything else becomes a space, and "/" inside a value becomes a space so that it cannot open a
field. Batch details are not written: MT940 has one line per booking.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import date
from typing import Final

from unidecode import unidecode

from sellerpay.money import Money
from sellerpay.rails.statements import Statement, StatementError, StatementLine

LINE_LENGTH: Final = 65
DETAIL_LINES_MAX: Final = 6
STATEMENT_ID_LENGTH_MAX: Final = 16
REFERENCE_LENGTH_MAX: Final = 16
ACCOUNT_LENGTH_MAX: Final = 35
NO_REFERENCE: Final = "NONREF"
SWIFT_CHARACTERS: Final = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-?().,'+ "
)
"""SWIFT's X character set without ":" (which could start a tag at the beginning of a line)."""


def write_mt940(statements: Sequence[Statement]) -> bytes:
    """One MT940 file holding `statements`, each closed by "-", lines ended by CRLF.

    Raises `StatementError` (code `not_representable`) for what MT940 cannot carry: a missing
    balance or balance date, an id over 16 or an account over 35 characters, a line in another
    currency than its statement.
    """
    if not statements:
        raise StatementError("an MT940 file holds at least one statement", code="not_representable")
    lines: list[str] = []
    for index, statement in enumerate(statements):
        lines.extend(_statement(statement, f"statements[{index}]"))
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def _statement(statement: Statement, where: str) -> list[str]:
    opening, closing = statement.opening_balance, statement.closing_balance
    if opening is None or closing is None:
        raise _refuse("MT940 states an opening and a closing balance", f"{where}.opening_balance")
    if statement.opening_date is None or statement.closing_date is None:
        raise _refuse("MT940 balances carry their dates", f"{where}.opening_date")
    statement_id = _swift(statement.statement_id)
    if not 1 <= len(statement_id) <= STATEMENT_ID_LENGTH_MAX:
        raise _refuse(
            f"statement id {statement_id!r} is not 1 to 16 characters", f"{where}.statement_id"
        )
    if not 1 <= len(statement.account) <= ACCOUNT_LENGTH_MAX:
        raise _refuse(
            f"account {statement.account!r} is not 1 to 35 characters", f"{where}.account"
        )
    lines = [
        f":20:{statement_id}",
        f":25:{_swift(statement.account)}",
        f":28C:{_swift(statement.sequence) or '1'}/1",
        f":60F:{_balance(opening, statement.opening_date)}",
    ]
    for number, line in enumerate(statement.lines):
        if line.amount.currency != statement.currency:
            raise _refuse(
                f"line in {line.amount.currency} on a {statement.currency} statement",
                f"{where}.lines[{number}].amount",
            )
        lines.extend(_line(line))
    lines += [f":62F:{_balance(closing, statement.closing_date)}", "-"]
    return lines


def _line(line: StatementLine) -> list[str]:
    mark = ("R" if line.reversal else "") + ("C" if line.direction == "credit" else "D")
    value_on = line.value_on or line.booked_on
    kind = "NRTI" if line.return_reason_code else "NTRF"
    bank_reference = _swift(line.bank_reference or line.line_id)[:REFERENCE_LENGTH_MAX]
    statement_line = (
        f":61:{value_on:%y%m%d}{line.booked_on:%m%d}{mark}{_amount(line.amount)}{kind}"
        f"{_customer_reference(line)}//{bank_reference}"
    )
    return [statement_line, *_details(line)]


def _customer_reference(line: StatementLine) -> str:
    for candidate in (line.end_to_end_id, line.message_id):
        text = _swift(candidate).replace("/", "")
        if text and text == candidate and len(text) <= REFERENCE_LENGTH_MAX:
            return text
    return NO_REFERENCE


def _details(line: StatementLine) -> list[str]:
    """The :86: lines: /KEY/value/ fields, wrapped at 65 characters, at most 6 lines."""
    fields = [
        ("EREF", line.end_to_end_id),
        ("PREF", line.payment_information_id or (line.message_id if line.details else "")),
        ("NAME", line.counterparty_name),
        ("IBAN", line.counterparty_account),
        ("REMI", line.remittance),
        ("RTRN", line.return_reason_code),
    ]
    kept = [(key, _value(text)) for key, text in fields if _value(text)]
    if not kept:
        return []
    text = _joined(kept)
    room = LINE_LENGTH * DETAIL_LINES_MAX
    if len(text) > room:  # the remittance gives way; references are short by rule
        remittance = dict(kept).get("REMI", "")
        cut = max(len(remittance) - (len(text) - room), 0)
        kept = [(k, v[:cut].rstrip() if k == "REMI" else v) for k, v in kept]
        text = _joined([(k, v) for k, v in kept if v])[:room]
    chunks = [text[start : start + LINE_LENGTH] for start in range(0, len(text), LINE_LENGTH)]
    return [f":86:{chunks[0]}", *chunks[1:]]


def _joined(fields: list[tuple[str, str]]) -> str:
    parts = [
        f"/{key}/USTD//{value}" if key == "REMI" else f"/{key}/{value}" for key, value in fields
    ]
    return "".join(parts) + "/"


def _value(text: str) -> str:
    return " ".join(_swift(text).replace("/", " ").split())


def _swift(text: str) -> str:
    ascii_text = unidecode(unicodedata.normalize("NFC", text))
    return "".join(char if char in SWIFT_CHARACTERS else " " for char in ascii_text).strip()


def _amount(money: Money) -> str:
    """Unsigned, comma decimals, the currency's digits: 10,00 (EUR), 1000, (JPY)."""
    whole, fraction = divmod(abs(money.amount_minor), 10**money.exponent)
    return f"{whole}," + (f"{fraction:0{money.exponent}d}" if money.exponent else "")


def _balance(money: Money, on: date) -> str:
    mark = "D" if money.is_negative() else "C"
    return f"{mark}{on:%y%m%d}{money.currency}{_amount(money)}"


def _refuse(message: str, where: str) -> StatementError:
    return StatementError(message, where=where, code="not_representable")
