"""Pure rules of balances: signs on the seller's side, categories of kinds, what to recover."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sellerpay.balances.rules import (
    SellerAccount,
    SourceCategory,
    account_code,
    negative_to_recover,
    seller_account_codes,
    seller_account_of,
    seller_balance,
    signed_amount,
    source_category,
)
from sellerpay.errors import InvariantViolation
from sellerpay.ledger.rules import Side
from sellerpay.money import AMOUNT_MINOR_MAX, Money

amounts = st.integers(min_value=-AMOUNT_MINOR_MAX, max_value=AMOUNT_MINOR_MAX)
currencies = st.sampled_from(["EUR", "JPY", "USD", "BHD"])


@given(st.integers(min_value=1, max_value=AMOUNT_MINOR_MAX), currencies)
def test_a_credit_is_money_owed_to_the_seller_and_a_debit_money_taken(
    amount_minor: int, currency: str
) -> None:
    amount = Money(amount_minor, currency)

    assert signed_amount(Side.CREDIT, amount) == amount
    assert signed_amount(Side.DEBIT, amount) == -amount
    assert signed_amount(Side.CREDIT, amount) + signed_amount(Side.DEBIT, amount) == Money.zero(
        currency
    )


@given(amounts, currencies)
def test_what_is_left_to_recover_is_exactly_the_negative_part_of_available(
    available_minor: int, currency: str
) -> None:
    available = Money(available_minor, currency)

    recover = negative_to_recover(available)

    assert recover.currency == currency
    assert recover.amount_minor == max(0, -available_minor)
    assert (available + recover).amount_minor >= 0


@given(
    st.dictionaries(st.sampled_from(list(SellerAccount)), amounts, max_size=4),
    currencies,
)
def test_a_balance_shows_each_account_and_zero_for_accounts_never_used(
    minor: dict[SellerAccount, int], currency: str
) -> None:
    moved = datetime(2026, 1, 5, tzinfo=UTC)

    balance = seller_balance(
        currency, {a: Money(m, currency) for a, m in minor.items()}, last_movement_at=moved
    )

    assert balance.pending.amount_minor == minor.get(SellerAccount.PENDING, 0)
    assert balance.available.amount_minor == minor.get(SellerAccount.AVAILABLE, 0)
    assert balance.reserved.amount_minor == minor.get(SellerAccount.RESERVE, 0)
    assert balance.dispute_hold.amount_minor == minor.get(SellerAccount.DISPUTE_HOLD, 0)
    assert balance.in_transit == Money.zero(currency)
    assert balance.negative_to_recover == negative_to_recover(balance.available)
    assert balance.last_movement_at == moved


def test_a_balance_refuses_an_account_in_another_currency() -> None:
    with pytest.raises(InvariantViolation):
        seller_balance("EUR", {SellerAccount.PENDING: Money(1, "USD")}, last_movement_at=None)


@pytest.mark.parametrize(
    ("kind", "category"),
    [
        ("order.paid", SourceCategory.ORDER),
        ("order.refunded", SourceCategory.REFUND),
        ("refund.executed", SourceCategory.REFUND),
        ("release", SourceCategory.RELEASE),
        ("funds.released", SourceCategory.RELEASE),
        ("dispute.opened", SourceCategory.DISPUTE),
        ("dispute.won", SourceCategory.DISPUTE),
        ("dispute.lost", SourceCategory.DISPUTE),
        ("dispute.fee", SourceCategory.FEE),
        ("fee.payout", SourceCategory.FEE),
        ("payout.sent", SourceCategory.PAYOUT),
        ("payout.returned", SourceCategory.PAYOUT),
        ("adjustment", SourceCategory.ADJUSTMENT),
        ("reversal", SourceCategory.ADJUSTMENT),
        ("order_paid", SourceCategory.ADJUSTMENT),  # a manual posting, not settlement's kind
    ],
)
def test_each_kind_of_transaction_has_its_category(kind: str, category: SourceCategory) -> None:
    assert source_category(kind) is category


def test_the_fee_of_a_lost_dispute_is_a_fee_and_the_amount_given_back_a_dispute() -> None:
    assert source_category("dispute.lost", SellerAccount.AVAILABLE) is SourceCategory.FEE
    assert source_category("dispute.lost", SellerAccount.DISPUTE_HOLD) is SourceCategory.DISPUTE
    assert source_category("dispute.opened", SellerAccount.AVAILABLE) is SourceCategory.DISPUTE


@given(
    st.from_regex(r"[a-z][a-z0-9_.]{0,63}", fullmatch=True),
    st.sampled_from([None, *SellerAccount]),
)
def test_every_movement_has_a_category_and_only_a_lost_dispute_depends_on_the_account(
    kind: str, account: SellerAccount | None
) -> None:
    category = source_category(kind, account)

    assert category in SourceCategory
    if kind != "dispute.lost":
        assert category is source_category(kind)


@given(st.from_regex(r"sel_[0-9A-Za-z]{1,64}", fullmatch=True))
def test_the_seller_accounts_are_the_charts_and_are_recognised_back(seller_id: str) -> None:
    codes = seller_account_codes(seller_id)

    assert codes == tuple(f"seller:{seller_id}:{p}" for p in (
        "pending", "available", "dispute_hold", "reserve"))  # fmt: skip
    assert [seller_account_of(code) for code in codes] == list(SellerAccount)
    assert account_code(seller_id, SellerAccount.RESERVE) == codes[-1]


@pytest.mark.parametrize(
    "code",
    ["platform:psp_clearing", "seller:sel_1:advance_receivable", "seller:x:pending", "pending"],
)
def test_an_account_that_is_not_a_sellers_balance_is_a_bug(code: str) -> None:
    with pytest.raises(InvariantViolation):
        seller_account_of(code)
