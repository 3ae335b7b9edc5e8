"""A payment provider's settlement report: read exactly, and refused unless each currency's
payout is its charges minus refunds, fees and disputes."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sellerpay.money import Money
from sellerpay.rails.csv_statements import parse_provider_settlement_csv
from sellerpay.rails.statements import StatementError

REPORT = b"""Type,ID,Currency,Amount,Date,Reference,Description
charge,ch_1,EUR,100.00,2024-03-01,ord_1,Order 1
charge,ch_2,EUR,50.00,2024-03-01,ord_2,Order 2
refund,re_1,EUR,20.00,2024-03-02,ord_1,Partial   refund
fee,fee_1,EUR,3.90,2024-03-03,,Processing fees
dispute,dp_1,EUR,10.00,2024-03-03,ord_2,Chargeback
charge,ch_3,JPY,5000,2024-03-01,ord_3,
payout,po_1,EUR,116.10,2024-03-04,st_2024_03,Settlement
payout,po_2,JPY,5000,2024-03-04,st_2024_03,
"""


def test_a_report_that_adds_up_is_read_with_its_totals() -> None:
    settlement = parse_provider_settlement_csv(REPORT)

    assert len(settlement.rows) == 8
    assert [(p.amount, p.reference, p.line) for p in settlement.payouts] == [
        (Money.of_minor(11610, "EUR"), "st_2024_03", 8),
        (Money.of_minor(5000, "JPY"), "st_2024_03", 9),
    ]
    assert settlement.total("charge", "EUR") == Money.of_minor(15000, "EUR")
    assert settlement.total("refund", "JPY") == Money.zero("JPY")
    refund = settlement.rows[2]
    assert (refund.kind, refund.provider_id, refund.occurred_on, refund.description) == (
        "refund",
        "re_1",
        date(2024, 3, 2),
        "Partial refund",
    )


def test_columns_may_come_in_any_order_and_only_three_are_needed() -> None:
    report = b"AMOUNT,currency,TYPE\n10.00,EUR,charge\n10.00,EUR,payout\n"

    settlement = parse_provider_settlement_csv(report)

    assert settlement.payouts[0].amount == Money.of_minor(1000, "EUR")
    assert settlement.payouts[0].occurred_on is None


def test_a_negative_payout_when_refunds_exceed_charges() -> None:
    report = b"type,currency,amount\ncharge,EUR,5.00\nrefund,EUR,8.00\npayout,EUR,-3.00\n"

    assert parse_provider_settlement_csv(report).payouts[0].amount == Money.of_minor(-300, "EUR")


@given(
    charges=st.lists(st.integers(0, 10**9), max_size=6),
    deductions=st.lists(
        st.tuples(st.sampled_from(["refund", "fee", "dispute"]), st.integers(0, 10**9)),
        max_size=6,
    ),
    off_by=st.integers(-2, 2),
)
def test_only_the_exact_net_is_accepted_as_the_payout(
    charges: list[int], deductions: list[tuple[str, int]], off_by: int
) -> None:
    net = sum(charges) - sum(amount for _, amount in deductions)
    rows = [f"charge,EUR,{Money.of_minor(c, 'EUR').to_decimal()}" for c in charges]
    rows += [f"{kind},EUR,{Money.of_minor(a, 'EUR').to_decimal()}" for kind, a in deductions]
    rows.append(f"payout,EUR,{Money.of_minor(net + off_by, 'EUR').to_decimal()}")
    report = ("type,currency,amount\n" + "\n".join(rows) + "\n").encode()

    if off_by == 0:
        assert parse_provider_settlement_csv(report).payouts[0].amount.amount_minor == net
        return
    with pytest.raises(StatementError) as raised:
        parse_provider_settlement_csv(report)
    assert raised.value.code == "settlement_mismatch"
    assert raised.value.where == f"line {len(rows) + 1}"


def test_a_mismatch_says_by_how_much() -> None:
    report = REPORT.replace(b"116.10", b"116.11")

    with pytest.raises(StatementError) as raised:
        parse_provider_settlement_csv(report)

    assert raised.value.code == "settlement_mismatch"
    assert "0.01 EUR" in raised.value.message
    assert raised.value.where == "line 8"


@pytest.mark.parametrize(
    ("report", "code", "where"),
    [
        (b"type,currency\ncharge,EUR\n", "missing_column", "line 1"),
        (b"type,currency,amount\nbonus,EUR,1.00\n", "invalid_settlement_type", "line 2, type"),
        (b"type,currency,amount\ncharge,EUR,-1.00\n", "negative_amount", "line 2, amount"),
        (b"type,currency,amount\ncharge,EUR,1.001\n", "too_many_decimals", "line 2, amount"),
        (b"type,currency,amount\ncharge,EURO,1.00\n", "unknown_currency", "line 2, currency"),
        (b"type,currency,amount\ncharge,EUR,1.00\n", "settlement_mismatch", None),
        (
            b"type,currency,amount\npayout,EUR,0\npayout,EUR,0\n",
            "settlement_mismatch",
            "line 3",
        ),
        (b"type,currency,amount\n", "empty_statement", None),
        (
            b"type,currency,amount,date\ncharge,EUR,1.00,01/03/2024\n",
            "invalid_date",
            "line 2, date",
        ),
    ],
    ids=[
        "no-amount-column",
        "unknown-type",
        "negative",
        "decimals",
        "currency",
        "no-payout",
        "two-payouts",
        "no-rows",
        "date",
    ],
)
def test_reports_that_cannot_be_trusted_are_refused(
    report: bytes, code: str, where: str | None
) -> None:
    with pytest.raises(StatementError) as raised:
        parse_provider_settlement_csv(report)

    assert (raised.value.code, raised.value.where) == (code, where)
