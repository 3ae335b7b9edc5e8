"""Opaque cursors, one way for every list route: `encode_cursor` the position of the last item
given, and `decode_cursor` it back with a parser that refuses anything this API did not give."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Final, TypeVar

from sellerpay.errors import InvalidInput

T = TypeVar("T")
_PREFIX: Final = "v1:"
_SEPARATOR: Final = "|"


def encode_cursor(*parts: str) -> str:
    """URL-safe base64 of `v1:` and the parts joined by `|` (parts never contain `|`)."""
    if any(_SEPARATOR in part for part in parts):
        raise ValueError(f"a cursor part may not contain {_SEPARATOR!r}")
    text = _PREFIX + _SEPARATOR.join(parts)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, parse: Callable[[list[str]], T]) -> T | None:
    """The position in `cursor` (None for none), read by `parse` from the parts; a cursor that is
    not ours, or that `parse` refuses with ValueError, is `InvalidInput(invalid_cursor)`."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
        if not text.startswith(_PREFIX):
            raise ValueError("not one of our cursors")
        return parse(text.removeprefix(_PREFIX).split(_SEPARATOR))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput(
            "this cursor was not given by this API: pass next_cursor unchanged",
            code="invalid_cursor",
            field="query.cursor",
        ) from None


def one_part(parts: list[str]) -> str:
    """The parser of cursors that hold a single non-empty text (an id)."""
    if len(parts) != 1 or not parts[0]:
        raise ValueError("expected one part")
    return parts[0]
