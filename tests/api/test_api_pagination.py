"""Cursors are opaque, round-trip exactly, and anything this API did not give is refused."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sellerpay.api.pagination import decode_cursor, encode_cursor, one_part
from sellerpay.errors import InvalidInput

# positions are ids and times read from the database: text without lone surrogates (which no
# UTF-8 store holds)
parts = st.lists(
    st.text(st.characters(blacklist_characters="|", blacklist_categories=("Cs",)), min_size=1),
    min_size=1,
)


@given(parts)
def test_a_cursor_gives_back_exactly_the_position_it_was_made_from(position: list[str]) -> None:
    assert decode_cursor(encode_cursor(*position), list) == position


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 at all!",
        base64.urlsafe_b64encode(b"v2:sel_1").decode(),  # another version
        base64.urlsafe_b64encode(b"sel_1").decode(),  # no version
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),  # not text
    ],
)
def test_a_cursor_this_api_did_not_give_is_invalid_cursor(cursor: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        decode_cursor(cursor, one_part)

    assert refused.value.code == "invalid_cursor"
    assert refused.value.context["field"] == "query.cursor"


def test_a_position_the_route_cannot_read_is_invalid_cursor_too() -> None:
    with pytest.raises(InvalidInput) as refused:
        decode_cursor(encode_cursor("a", "b"), one_part)  # one part expected, two given

    assert refused.value.code == "invalid_cursor"


def test_no_cursor_means_the_first_page() -> None:
    assert decode_cursor(None, one_part) is None
