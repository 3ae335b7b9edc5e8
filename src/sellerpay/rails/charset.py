"""Text for bank files: any Unicode in, the rail's character set out, or a `RailError` saying why.

SEPA files may only carry the EPC's basic Latin set (a-z A-Z 0-9 / - ? : ( ) . , ' + space),
and banks reject a whole file for one stray "é". Every rail that writes free text (names,
remittance) goes through two steps, so each rule lives in one place:

    transliterate_to_latin   Unicode -> ASCII with unidecode ("Łódź" -> "Lodz", "ß" -> "ss"),
                             whitespace made plain, control characters removed; Han ideographs
                             refused (see below)
    restrict_to_charset      ASCII -> a rail's set, through a small replacement table
                             ("&" -> "+"), anything else becoming a space

`to_sepa_text` chains both for SEPA and cuts to the field's length; other rails (ACH, Bacs)
call the two steps with their own set. Identifiers (end-to-end ids, message ids) are never
rewritten: `check_sepa_reference` accepts or refuses them as they are, because a changed id
would no longer match the payout it names.

Why Han ideographs are refused rather than transliterated: unidecode reads them in Mandarin,
so "株式会社" (a Japanese "company") would become "Zhu Shi Hui She", a name no bank holds. A
creditor name the payee's bank cannot recognise fails the name check (Verification of Payee),
so the caller must supply a Latin-script name for the bank account instead. Kana, Hangul,
Greek and Cyrillic have standard romanisations and are transliterated.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from unidecode import unidecode

from sellerpay.rails.instructions import RailError

SEPA_CHARACTERS: Final = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-?:().,'+ "
)
"""The EPC basic Latin character set every SEPA bank must accept (EPC217-08)."""

SEPA_REPLACEMENTS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "&": "+",
        '"': "'",
        "`": "'",
        "_": "-",
        "[": "(",
        "{": "(",
        "<": "(",
        "]": ")",
        "}": ")",
        ">": ")",
        ";": ",",
        "!": ".",
    }
)
"""ASCII characters outside the SEPA set with a close look-alike inside it.

Everything else outside the set (`* # % @ $ = | \\ ~ ^`) becomes a space: no look-alike keeps
its meaning, and a space never merges two words into one.
"""

SEPA_REFERENCE_LENGTH_MAX: Final = 35
"""ISO 20022 Max35Text: end-to-end ids, message ids, payment information ids."""

_HAN_NAME_PREFIXES: Final = ("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH")
# control (NUL, BEL…) and format characters (zero-width space, joiners, soft hyphen, BOM)
_INVISIBLE_CATEGORIES: Final = frozenset({"Cc", "Cf"})


def transliterate_to_latin(text: str, *, where: str) -> str:
    """`text` in printable ASCII: transliterated, whitespace as single spaces, trimmed.

    Characters unidecode has no reading for (emoji, private use) are dropped, as are control
    and format characters (zero-width space, soft hyphen); any Unicode whitespace (tab,
    newline, no-break space) becomes a space.
    Raises `RailError` (code `text_untransliterable`) on a Han ideograph, naming `where`.
    """
    plain: list[str] = []
    for position, character in enumerate(text):
        if character.isspace():
            plain.append(" ")
        elif _is_han(character):
            raise RailError(
                f"character {character!r} at position {position} is a Han ideograph with no "
                "agreed Latin spelling; give this name in Latin script",
                where=where,
                code="text_untransliterable",
            )
        elif unicodedata.category(character) not in _INVISIBLE_CATEGORIES:
            plain.append(character)
    ascii_text = unidecode("".join(plain), errors="ignore")
    printable = "".join(c if c.isprintable() else " " for c in ascii_text)
    return " ".join(printable.split())


def restrict_to_charset(
    text: str, allowed: frozenset[str], replacements: Mapping[str, str] | None = None
) -> str:
    """`text` with every character outside `allowed` replaced (by `replacements`, else a space).

    Runs of spaces are collapsed and the ends trimmed, so the result never starts or ends
    with a space even when the replaced characters were there.
    """
    table = replacements or {}
    kept = "".join(
        character if character in allowed else table.get(character, " ") for character in text
    )
    return " ".join(kept.split())


def to_sepa_text(text: str, *, length_max: int, where: str) -> str:
    """`text` as a SEPA bank file field: Latin set only, at most `length_max` characters.

    Truncation happens after transliteration ("ß" -> "ss" makes text longer) and never leaves
    a trailing space. Raises `RailError` when nothing printable is left (code `text_empty`),
    since ISO 20022 text fields have a minimum length of one, or on a Han ideograph.
    """
    latin = transliterate_to_latin(text, where=where)
    sepa = restrict_to_charset(latin, SEPA_CHARACTERS, SEPA_REPLACEMENTS)
    cut = sepa[:length_max].rstrip()
    if not cut:
        raise RailError(
            f"{text!r} has no character that can be written in the SEPA character set",
            where=where,
            code="text_empty",
        )
    return cut


def is_sepa_text(text: str) -> bool:
    """Whether every character of `text` is in the SEPA basic Latin set."""
    return all(character in SEPA_CHARACTERS for character in text)


def check_sepa_reference(
    value: str, *, where: str, length_max: int = SEPA_REFERENCE_LENGTH_MAX
) -> str:
    """`value` unchanged if it is a valid SEPA reference, else `RailError` saying which rule broke.

    The EPC rules for identifiers: 1 to `length_max` characters of the basic Latin set, not
    starting or ending with "/" or a space, and no "//" anywhere (banks use "//" as a field
    separator when they forward the reference).
    """
    problem = _reference_problem(value, length_max)
    if problem is not None:
        raise RailError(
            f"{value!r} is not a valid SEPA reference: {problem}",
            where=where,
            code="reference_invalid",
        )
    return value


def _reference_problem(value: str, length_max: int) -> str | None:
    if not value:
        return "it is empty"
    if len(value) > length_max:
        return f"it has {len(value)} characters, at most {length_max} are allowed"
    outside = sorted({character for character in value if character not in SEPA_CHARACTERS})
    if outside:
        return f"{''.join(outside)!r} are outside the SEPA character set"
    if value[0] in "/ " or value[-1] in "/ ":
        return "it starts or ends with '/' or a space"
    if "//" in value:
        return "it contains '//'"
    return None


def _is_han(character: str) -> bool:
    return unicodedata.name(character, "").startswith(_HAN_NAME_PREFIXES)
