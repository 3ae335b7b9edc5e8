"""Real statement files cut short, with bytes flipped, dropped or inserted: the parsers answer
with a `StatementError` (a `RailError`) or a statement file, never with any other exception."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from statements_builders import statement_files

from sellerpay.rails.detect import parse_statement_file
from sellerpay.rails.instructions import RailError
from sellerpay.rails.statements import StatementFile

REAL_FILES = [
    (path.name, path.read_bytes()) for path in statement_files("camt053", "camt054", "mt940")
]
SWIFT_AND_XML_BYTES = st.sampled_from(
    [b":", b"\n", b"\r", b"<", b">", b"/", b"?", b",", b"-", b"}", b"{", b"\x00", b"\xff", b"&"]
)


@st.composite
def damaged(draw: st.DrawFn, data: bytes) -> bytes:
    """`data` with one to four cuts, flipped bytes, dropped runs or inserted syntax bytes."""
    damaged = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        if not damaged:
            break
        position = draw(st.integers(0, len(damaged) - 1))
        action = draw(st.sampled_from(["cut", "flip", "drop", "insert"]))
        if action == "cut":
            del damaged[position:]
        elif action == "flip":
            damaged[position] ^= draw(st.integers(1, 255))
        elif action == "drop":
            del damaged[position : position + draw(st.integers(1, 64))]
        else:
            damaged[position:position] = draw(SWIFT_AND_XML_BYTES)
    return bytes(damaged)


def _parse_or_refuse(name: str, data: bytes) -> StatementFile | RailError:
    try:
        return parse_statement_file(data, name)
    except RailError as error:  # StatementError is a RailError
        assert error.code and error.message
        return error


@pytest.mark.parametrize(("name", "data"), REAL_FILES, ids=[name for name, _ in REAL_FILES])
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(draw=st.data())
def test_damaged_real_files_are_refused_with_a_typed_error_or_parsed(
    name: str, data: bytes, draw: st.DataObject
) -> None:
    damaged_data = draw.draw(damaged(data))

    outcome = _parse_or_refuse(name, damaged_data)

    if isinstance(outcome, StatementFile):  # what is accepted is still a valid statement file
        for statement in outcome.statements:
            for line in statement.lines:
                assert line.amount.amount_minor >= 0


def test_every_prefix_of_a_small_real_file_is_refused_or_parsed() -> None:
    for name, data in REAL_FILES:
        if len(data) > 4000:
            continue
        for end in range(len(data)):
            _parse_or_refuse(name, data[:end])
