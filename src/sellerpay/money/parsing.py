"""Reading an amount written by a person, a spreadsheet or `format`, exactly, into minor units.

The grammar (`parse_minor_units` documents it in full) accepts what CLDR locales print and what
people type, but refuses rather than guesses: a text that could mean two amounts is an error.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Final

from babel import Locale

from sellerpay.money.currencies import exponent, is_iso4217_code
from sellerpay.money.errors import CurrencyMismatch, InvalidAmount, TooManyDecimals

PARSE_TEXT_LENGTH_MAX: Final = 64
"""Longer texts are refused before any work: no real amount needs more."""

SYMBOL_LOCALES: Final = (
    "root", "en_US", "en_GB", "en_CA", "en_AU", "en_IN", "fr_FR", "fr_CA", "fr_CH", "de_DE",
    "de_AT", "de_CH", "es_ES", "es_MX", "it_IT", "nl_NL", "pt_BR", "pt_PT", "ja_JP", "zh_CN",
    "ko_KR", "pl_PL", "sv_SE", "da_DK", "nb_NO",
)  # fmt: skip
"""Locales whose CLDR currency symbols `parse` recognises ("€", "US$", "$US", "￥", "kr"…).

A fixed list rather than all ~1,000 CLDR locales: loading them all costs ~200 MB and a second.
The ISO code itself ("EUR") is always recognised, whatever the locale.
"""

_SIGNS: Final = {"-": -1, "+": 1, "\u2212": -1}  # U+2212 MINUS SIGN is printed by some locales
_BIDI_MARKS: Final = str.maketrans("", "", "\u200e\u200f\u061c")  # invisible, printed by he/ar
_SPACES: Final = " \u00a0\u202f\u2009"  # space, no-break space, narrow no-break, thin space
_GROUP_ONLY: Final = frozenset(_SPACES + "'\u2019")  # never a decimal separator
_NUMBER: Final = re.compile(r"[0-9]+(?:[.,'\u2019" + _SPACES + r"][0-9]+)*")
_DIGIT_RUN: Final = re.compile(r"[0-9]+")


def parse_minor_units(text: str, currency: str) -> int:
    """The amount `text` denotes in `currency`, in minor units, or an error; never rounded.

    Grammar, after dropping invisible bidi marks (U+200E, U+200F, U+061C):

        text    = space* [prefix] number [space* marker] space*
        prefix  = sign space* [marker space*] | marker space* [sign space*]
        sign    = "-" | "+" | U+2212 minus sign
        marker  = `currency`'s ISO code ("EUR") or one of its CLDR symbols in `SYMBOL_LOCALES`
        number  = digits (separator digits)*      digits are ASCII 0-9 only
        separator = "." | "," | "'" | U+2019 apostrophe | space | no-break space (U+00A0,
                    U+202F) | thin space (U+2009)

    At most one sign and one marker. Which separator is the decimal one:

    1. Only "." or "," can be a decimal separator, only the last separator can be it, and then
       it occurs exactly once in the number. Spaces and apostrophes always group digits.
    2. If the last "." or "," occurs more than once ("1,234,567"), it groups digits.
    3. If another separator comes before it ("1,234.56", "1.234,56", "1 234,56"), it is the
       decimal separator.
    4. A lone "." or "," (the only separator) is the decimal separator ("12.5", "12,34",
       "1.234" BHD = 1.234 BHD), except in a currency without minor unit (JPY) when it is
       followed by exactly 3 digits and preceded by at most 3: then it groups thousands
       ("¥1,000" = 1000 JPY, while "12.5" JPY is too many decimals).
    5. Group separators are all the same (any mix of spaces counts as one) and make groups of
       three after 1-3 digits ("1,234,567") or Indian groups: 1-2 digits, pairs, then a last
       group of three ("12,34,567"); anything else is invalid ("12 34", "1,23,4").
    6. The fraction has 1 to `exponent` digits and is padded ("12.3" EUR = 1230). More digits
       raise `TooManyDecimals` even if they are zeros: "12.345" EUR and "12.340" EUR are
       refused, and so is the ambiguous "1,234" EUR (1234 in English, 1.234 in French), never
       read either way. Write "1234", "1,234.00" or "1.234,00".

    Errors: `UnknownCurrency` for `currency`; `CurrencyMismatch` when the marker is another
    currency's code or symbol ("$12" for EUR); `TooManyDecimals`; `InvalidAmount` for anything
    else (not a string, too long, no digits, "1e3", "NaN", ".5", "12 34", unknown marker).
    """
    places = exponent(currency)
    if not isinstance(text, str):
        raise InvalidAmount(
            f"an amount to parse must be text, not {type(text).__name__} "
            "(floats are never accepted: they are not exact)",
            currency=currency,
        )
    if len(text) > PARSE_TEXT_LENGTH_MAX:
        raise InvalidAmount(
            f"the amount text is longer than {PARSE_TEXT_LENGTH_MAX} characters",
            currency=currency,
        )
    cleaned = text.translate(_BIDI_MARKS)
    digit_positions = [i for i, char in enumerate(cleaned) if "0" <= char <= "9"]
    if not digit_positions:
        raise _not_an_amount(text, currency, "it has no digits")
    first, last = digit_positions[0], digit_positions[-1]
    number = cleaned[first : last + 1]
    if not _NUMBER.fullmatch(number):
        raise _not_an_amount(text, currency, "its digits are not a number")
    sign, marker = _read_sign_and_marker(cleaned[:first], cleaned[last + 1 :], text, currency)
    if marker:
        _check_marker(marker, text, currency)
    whole, fraction = _split_number(number, places, text, currency)
    if len(fraction) > places:
        raise _too_many_decimals(text, currency, places, number)
    units_per_major: int = 10**places
    return sign * (int(whole) * units_per_major + int(fraction.ljust(places, "0") or "0"))


def _squash(text: str) -> str:
    """Strip and collapse every run of whitespace (including no-break spaces) to one space."""
    return " ".join(text.split())


def _read_sign_and_marker(before: str, after: str, text: str, currency: str) -> tuple[int, str]:
    """Split the texts around the number into a sign (+1/-1) and at most one currency marker."""
    head, tail = _squash(before), _squash(after)
    sign = 1
    if head[:1] in _SIGNS:
        sign, head = _SIGNS[head[0]], head[1:].strip()
    elif head[-1:] in _SIGNS:
        sign, head = _SIGNS[head[-1]], head[:-1].strip()
    if head and tail:
        raise _not_an_amount(text, currency, "it has text both before and after the number")
    return sign, head or tail


def _check_marker(marker: str, text: str, currency: str) -> None:
    """Accept `currency`'s code or symbol; another currency's is a mismatch, anything else junk."""
    if marker == currency:
        return
    symbols = _symbol_table()
    if currency in symbols.get(marker, ()):
        return
    if is_iso4217_code(marker) or marker in symbols:
        raise CurrencyMismatch(
            f"the text {text!r} is marked {marker!r}, which is not {currency}",
            expected=currency,
            found=marker,
        )
    reason = f"{marker!r} is not a currency code or symbol"
    if marker[:1] in ".," or marker[-1:] in ".,":
        reason += "; a number starts and ends with a digit ('0.50', not '.50' or '50.')"
    raise _not_an_amount(text, currency, reason)


@functools.cache
def _symbol_table() -> Mapping[str, frozenset[str]]:
    """Each CLDR symbol in `SYMBOL_LOCALES` -> the codes it may stand for ("¥": CNY, JPY)."""
    table: dict[str, set[str]] = {}
    for locale_id in SYMBOL_LOCALES:
        for code, symbol in Locale.parse(locale_id).currency_symbols.items():
            table.setdefault(_squash(symbol.translate(_BIDI_MARKS)), set()).add(code)
    return {symbol: frozenset(codes) for symbol, codes in table.items()}


def _split_number(number: str, places: int, text: str, currency: str) -> tuple[str, str]:
    """The whole and fraction digits of a matched number, by rules 1-5 of `parse_minor_units`."""
    runs = _DIGIT_RUN.findall(number)
    marks = _DIGIT_RUN.sub("", number)  # one separator between each pair of runs
    if not marks:
        return number, ""
    if _last_mark_is_decimal(marks, runs, places):
        group_marks, whole_runs, fraction = marks[:-1], runs[:-1], runs[-1]
    else:
        group_marks, whole_runs, fraction = marks, runs, ""
    if group_marks:
        _check_grouping(group_marks, whole_runs, text, currency)
    return "".join(whole_runs), fraction


def _last_mark_is_decimal(marks: str, runs: list[str], places: int) -> bool:
    last = marks[-1]
    if last in _GROUP_ONLY or marks.count(last) > 1:
        return False
    if len(marks) > 1:
        return True
    reads_as_thousands = len(runs[0]) <= 3 and len(runs[1]) == 3
    return not (places == 0 and reads_as_thousands)


def _check_grouping(group_marks: str, whole_runs: list[str], text: str, currency: str) -> None:
    kinds = {" " if mark in _SPACES else mark for mark in group_marks}
    sizes = [len(run) for run in whole_runs]
    thousands = 1 <= sizes[0] <= 3 and all(size == 3 for size in sizes[1:])
    lakhs = 1 <= sizes[0] <= 2 and all(size == 2 for size in sizes[1:-1]) and sizes[-1] == 3
    if len(kinds) != 1:
        raise _not_an_amount(text, currency, "it mixes different digit-group separators")
    if not (thousands or lakhs):
        raise _not_an_amount(text, currency, "its digit groups are not groups of thousands")


def _not_an_amount(text: str, currency: str, reason: str) -> InvalidAmount:
    return InvalidAmount(
        f"{text!r} is not an amount in {currency}: {reason}", currency=currency, text=text
    )


def _too_many_decimals(text: str, currency: str, places: int, number: str) -> TooManyDecimals:
    hint = ""
    if places > 0 and len(_DIGIT_RUN.sub("", number)) == 1:
        hint = (
            "; if the separator groups thousands, write the amount without it or with "
            f"{places} decimals (e.g. '1234' or '1,234.{'0' * places}')"
        )
    return TooManyDecimals(
        f"{text!r} has more than {places} decimals, the most {currency} has; "
        f"amounts are never rounded{hint}",
        currency=currency,
        text=text,
        decimals_max=places,
    )
