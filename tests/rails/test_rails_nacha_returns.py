"""The simulated bank returns entries of a file we sent; we read the returns back to payouts."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rails_builders import (
    ACH_CREATED_AT,
    EXECUTION_DATE,
    ach_originator,
    ach_transfer,
    payout_ids,
    usd,
)

from sellerpay.rails.instructions import AbaAccount, BankFile, RailError
from sellerpay.rails.nacha import (
    EntryReturn,
    individual_id_for,
    parse_nacha,
    returns_from_nacha,
    write_nacha,
    write_nacha_returns,
)

RETURNED_AT = datetime(2026, 1, 8, 7, 0)
RETURN_DATE = date(2026, 1, 8)


def sent(count: int = 3) -> BankFile:
    transfers = [
        ach_transfer(
            e2e,
            1_000 + index,
            creditor_account=AbaAccount(
                ("231380104", "031300012")[index % 2],
                f"ACCT-{index}",
                ("checking", "savings")[index % 2],
            ),
        )
        for index, e2e in enumerate(payout_ids(count))
    ]
    return write_nacha(
        transfers,
        ach_originator(),
        file_id_modifier="A",
        created_at=ACH_CREATED_AT,
        effective_date=EXECUTION_DATE,
    )


def returned(bank_file: BankFile, returns: list[EntryReturn]) -> bytes:
    return write_nacha_returns(
        bank_file.content,
        returns,
        file_id_modifier="R",
        created_at=RETURNED_AT,
        effective_date=RETURN_DATE,
    )


def test_a_returned_entry_comes_back_as_a_notice_with_the_full_end_to_end_id() -> None:
    bank_file = sent()
    trace, (e2e,) = next(iter(bank_file.batches.items()))

    content = returned(bank_file, [EntryReturn(trace, "R03", addenda_information="No account")])
    (notice,) = returns_from_nacha(content, trace_map=bank_file.batches)

    assert notice.end_to_end_id == e2e
    assert notice.original_trace == trace
    assert notice.amount == usd(1_000)
    assert notice.reason_code == "R03"
    assert notice.booked_on == RETURN_DATE
    assert notice.reason_text == "R03 No Account/Unable to Locate: NO ACCOUNT"


def test_without_the_trace_map_the_notice_carries_the_shortened_id() -> None:
    bank_file = sent()
    trace, (e2e,) = next(iter(bank_file.batches.items()))

    (notice,) = returns_from_nacha(returned(bank_file, [EntryReturn(trace, "R02")]))

    assert notice.end_to_end_id == individual_id_for(e2e)


def test_the_return_file_is_a_valid_nacha_file_addressed_back_to_the_originator() -> None:
    bank_file = sent(2)
    traces = list(bank_file.batches)
    content = returned(
        bank_file,
        [
            EntryReturn(traces[0], "R15", date_of_death=date(2025, 12, 24)),
            EntryReturn(traces[1], "R04"),
        ],
    )

    nacha = parse_nacha(content)  # strict: every count, hash and total agrees
    lines = content.decode().split("\n")[:-1]
    assert {len(line) for line in lines} == {94}
    assert len(lines) % 10 == 0
    assert nacha.header.immediate_destination == "1234567890"
    assert nacha.header.immediate_origin == "121042882"
    first, second = nacha.entries
    assert (first.transaction_code, second.transaction_code) == ("21", "31")  # 22 and 32 returned
    assert first.routing_number == "121042882"  # to the original ODFI
    assert first.dfi_account_number == "ACCT-0"
    (addenda,) = first.return_addenda
    assert addenda.date_of_death == date(2025, 12, 24)
    assert addenda.original_rdfi == "23138010"
    assert addenda.trace_number == first.trace_number
    assert first.trace_number.startswith("23138010")  # the returning bank's routing
    assert [b.header.odfi_identification for b in nacha.batches] == ["23138010", "03130001"]
    assert nacha.control.total_credit == usd(1_000 + 1_001)


@pytest.mark.parametrize(
    ("returns", "code"),
    [
        ([EntryReturn("999999990000001", "R03")], "nacha_unknown_trace"),
        (
            [EntryReturn("121042880000001", "R03"), EntryReturn("121042880000001", "R02")],
            "nacha_duplicate_return",
        ),
        ([EntryReturn("121042880000001", "03")], "nacha_reason"),
        ([], "nacha_empty"),
    ],
)
def test_the_simulated_bank_refuses_returns_it_cannot_make(
    returns: list[EntryReturn], code: str
) -> None:
    with pytest.raises(RailError) as raised:
        returned(sent(), returns)
    assert raised.value.code == code


@settings(max_examples=40, deadline=None)
@given(
    st.integers(min_value=1, max_value=12).flatmap(
        lambda count: st.tuples(
            st.just(count),
            st.lists(st.integers(0, count - 1), min_size=1, max_size=count, unique=True),
            st.lists(
                st.sampled_from(["R01", "R02", "R03", "R04", "R16", "R20", "R23"]),
                min_size=count,
                max_size=count,
            ),
        )
    )
)
def test_any_subset_of_entries_returned_maps_back_to_its_payouts(
    case: tuple[int, list[int], list[str]],
) -> None:
    count, chosen, codes = case
    bank_file = sent(count)
    traces = list(bank_file.batches)
    returns = [EntryReturn(traces[i], codes[i]) for i in chosen]

    notices = returns_from_nacha(returned(bank_file, returns), trace_map=bank_file.batches)

    got = sorted((n.end_to_end_id, n.reason_code, n.amount.amount_minor) for n in notices)
    amounts = {
        e.trace_number: e.amount.amount_minor for e in parse_nacha(bank_file.content).entries
    }
    want = sorted((bank_file.batches[traces[i]][0], codes[i], amounts[traces[i]]) for i in chosen)
    assert got == want
