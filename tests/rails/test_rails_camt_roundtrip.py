"""The simulated bank's camt writers: whatever statement they write, `parse_camt` reads back the
same statement (property), in .001.08 and .001.02; what camt cannot carry is refused."""

from __future__ import annotations

import string
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sellerpay.money import Money
from sellerpay.rails.camt import parse_camt, write_camt053, write_camt054
from sellerpay.rails.statements import Direction, Statement, StatementError, StatementLine

OWN_ACCOUNT = "FR7630006000011234567890189"
CURRENCIES = ("EUR", "JPY", "BHD", "USD")
identifiers = st.text(string.ascii_letters + string.digits + "-/.:", min_size=1, max_size=35)
optional_identifiers = st.one_of(st.just(""), identifiers)
free_text_characters = st.characters(
    categories=("L", "N", "P", "Zs"), exclude_characters="\u2028\u2029"
)


def free_texts(size_max: int) -> st.SearchStrategy[str]:
    """Text for people, as a parser gives it back: single spaces, trimmed."""
    return st.text(free_text_characters, max_size=size_max).map(lambda t: " ".join(t.split()))


domain_codes = st.sampled_from(["PMNT-RCDT-ESCT", "PMNT-ICDT-ESCT", "PMNT-ICDT-RRTN"])
codes = st.one_of(st.just(""), domain_codes, st.sampled_from(["N654", "Outgoing Wire"]))
reasons = st.sampled_from(["", "AC04", "MS03", "R02", "ACH Return 99"])
accounts = st.sampled_from(["", "DE89370400440532013000", "4356695007", "GB29NWBK60161331926819"])
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
moments = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2099, 1, 1),
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5, minutes=-30))]
    ),
)


def money(currency: str) -> st.SearchStrategy[Money]:
    return st.integers(0, 10**12).map(lambda minor: Money.of_minor(minor, currency))


@st.composite
def single_lines(draw: st.DrawFn, line_id: str, legacy: bool) -> StatementLine:
    del legacy
    currency = draw(st.sampled_from(CURRENCIES))
    return StatementLine(
        line_id=line_id,
        booked_on=draw(days),
        value_on=draw(st.one_of(st.none(), days)),
        amount=draw(money(currency)),
        direction=draw(st.sampled_from(["credit", "debit"])),
        reversal=draw(st.booleans()),
        status=draw(st.sampled_from(["booked", "pending", "info"])),
        bank_reference=draw(optional_identifiers),
        end_to_end_id=draw(optional_identifiers),
        message_id=draw(optional_identifiers),
        payment_information_id=draw(optional_identifiers),
        instruction_id=draw(optional_identifiers),
        trace_number=draw(optional_identifiers),
        counterparty_name=draw(free_texts(140)),
        counterparty_account=draw(accounts),
        remittance=draw(free_texts(140)),
        bank_transaction_code=draw(codes),
        return_reason_code=draw(reasons),
    )


@st.composite
def batch_lines(draw: st.DrawFn, line_id: str, legacy: bool) -> StatementLine:
    """A batch entry as the parser gives it: details inherit dates, status and reversal, and
    the batch's ids when they have none of their own."""
    parent = draw(single_lines(line_id, legacy))
    parent = replace(
        parent,
        end_to_end_id="",
        instruction_id="",
        trace_number="",
        counterparty_name="",
        counterparty_account="",
        return_reason_code="",
        remittance=draw(free_texts(500)),
    )
    details = []
    for number in range(1, draw(st.integers(2, 4)) + 1):
        detail = draw(single_lines(f"{line_id}/{number}", legacy))
        code = draw(st.one_of(st.just(parent.bank_transaction_code), domain_codes))
        direction: Direction = parent.direction if legacy else detail.direction
        details.append(
            replace(
                detail,
                booked_on=parent.booked_on,
                value_on=parent.value_on,
                status=parent.status,
                reversal=parent.reversal,
                direction=direction,
                bank_transaction_code=code,
                message_id=detail.message_id or parent.message_id,
                payment_information_id=(
                    detail.payment_information_id or parent.payment_information_id
                ),
            )
        )
    return replace(parent, details=tuple(details))


@st.composite
def statements(draw: st.DrawFn, *, notification: bool, legacy: bool) -> Statement:
    currency = draw(st.sampled_from(CURRENCIES))
    count = draw(st.integers(0, 5))
    use_positions = draw(st.booleans())
    ids = (
        [str(n) for n in range(1, count + 1)]
        if use_positions
        else draw(
            st.lists(
                identifiers.filter(lambda i: "/" not in i),
                min_size=count,
                max_size=count,
                unique=True,
            )
        )
    )
    lines = [
        draw(st.one_of(single_lines(line_id, legacy), batch_lines(line_id, legacy)))
        for line_id in ids
    ]
    opening_date, closing_date = sorted((draw(days), draw(days)))
    opening, closing = (
        (None, None)
        if notification
        else (
            Money.of_minor(draw(st.integers(-(10**12), 10**12)), currency),
            Money.of_minor(draw(st.integers(-(10**12), 10**12)), currency),
        )
    )
    dated = draw(st.booleans()) or not notification
    return Statement(
        statement_id=draw(identifiers),
        account=draw(st.sampled_from([OWN_ACCOUNT, "DD01100056869"])),
        currency=currency,
        lines=tuple(lines),
        format="camt.054" if notification else "camt.053",
        opening_balance=opening,
        closing_balance=closing,
        opening_date=opening_date if dated else None,
        closing_date=closing_date if dated else None,
        created_at=draw(moments),
        sequence=draw(st.one_of(st.just(""), st.integers(0, 10**9).map(str))),
    )


@settings(max_examples=150, deadline=None)
@given(statement=statements(notification=False, legacy=False))
def test_camt053_v08_written_then_read_is_the_same_statement(statement: Statement) -> None:
    document = write_camt053(statement)

    (read,) = parse_camt(document).statements

    assert read == replace(statement, version="camt.053.001.08")


@settings(max_examples=100, deadline=None)
@given(statement=statements(notification=False, legacy=True))
def test_camt053_v02_written_then_read_is_the_same_statement(statement: Statement) -> None:
    document = write_camt053(statement, version="camt.053.001.02")

    (read,) = parse_camt(document).statements

    assert read == replace(statement, version="camt.053.001.02")


@settings(max_examples=100, deadline=None)
@given(statement=statements(notification=True, legacy=False), legacy=st.booleans())
def test_camt054_written_then_read_is_the_same_notification(
    statement: Statement, legacy: bool
) -> None:
    version = "camt.054.001.02" if legacy else "camt.054.001.08"
    if legacy:
        statement = replace(
            statement,
            lines=tuple(
                replace(
                    line, details=tuple(replace(d, direction=line.direction) for d in line.details)
                )
                for line in statement.lines
            ),
        )

    (read,) = parse_camt(write_camt054(statement, version=version)).statements

    assert read == replace(statement, version=version)


def _statement(**changes: object) -> Statement:
    line = StatementLine(
        line_id="1",
        booked_on=date(2024, 3, 1),
        amount=Money.of_minor(1250, "EUR"),
        direction="debit",
        end_to_end_id="po_1",
    )
    base = Statement(
        statement_id="S1",
        account=OWN_ACCOUNT,
        currency="EUR",
        lines=(line,),
        format="camt.053",
        opening_balance=Money.of_minor(10000, "EUR"),
        closing_balance=Money.of_minor(8750, "EUR"),
        opening_date=date(2024, 3, 1),
        closing_date=date(2024, 3, 1),
        created_at=datetime(2024, 3, 2, 6, 0, tzinfo=UTC),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _line(**changes: object) -> StatementLine:
    return replace(_statement().lines[0], **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("statement", "where"),
    [
        (_statement(opening_balance=None), "statement.opening_balance"),
        (_statement(created_at=None), "statement.created_at"),
        (_statement(sequence="27/01"), "statement.sequence"),
        (_statement(lines=(_line(end_to_end_id="x" * 36),)), "statement.lines[0].end_to_end_id"),
        (_statement(lines=(_line(remittance="r" * 141),)), "statement.lines[0].remittance"),
        (_statement(lines=(_line(), _line())), "statement.lines"),
        (
            _statement(lines=(_line(counterparty_account=OWN_ACCOUNT),)),
            "statement.lines[0].counterparty_account",
        ),
        (
            _statement(lines=(_line(details=(_line(line_id="1/1"), _line(line_id="1/2"))),)),
            "statement.lines[0].end_to_end_id",
        ),
        (
            _statement(
                lines=(
                    _line(
                        end_to_end_id="",
                        details=(_line(line_id="1/1"), _line(line_id="9")),
                    ),
                )
            ),
            "statement.lines[0].details[1]",
        ),
    ],
    ids=[
        "no-balance",
        "no-time",
        "sequence",
        "long-id",
        "long-text",
        "same-ids",
        "own-account",
        "batch-refs",
        "detail-id",
    ],
)
def test_what_camt_cannot_carry_is_refused_naming_the_field(
    statement: Statement, where: str
) -> None:
    with pytest.raises(StatementError) as raised:
        write_camt053(statement)

    assert (raised.value.code, raised.value.where) == ("not_representable", where)


def test_legacy_details_must_share_their_entry_direction() -> None:
    parent = _line(
        end_to_end_id="",
        details=(_line(line_id="1/1"), _line(line_id="1/2", direction="credit")),
    )

    with pytest.raises(StatementError) as raised:
        write_camt053(_statement(lines=(parent,)), version="camt.053.001.02")

    assert raised.value.where == "statement.lines[0].details[1].direction"
    write_camt053(_statement(lines=(parent,)))  # .001.08 carries each detail's CdtDbtInd


def test_notifications_have_no_balances_and_unknown_versions_are_refused() -> None:
    with pytest.raises(StatementError):
        write_camt054(_statement())
    with pytest.raises(StatementError) as raised:
        write_camt053(_statement(), version="camt.053.001.04")

    assert raised.value.where == "version"
