"""Pure rules of sellers: the status machine, what each status allows, ids and countries."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sellerpay.errors import InvalidInput
from sellerpay.sellers.rules import (
    SellerStatus,
    capabilities,
    check_seller_id,
    check_status_change,
    country_currency,
)

statuses = st.sampled_from(list(SellerStatus))


def test_a_closed_seller_stays_closed() -> None:
    for status in (SellerStatus.ACTIVE, SellerStatus.RESTRICTED):
        with pytest.raises(InvalidInput) as refused:
            check_status_change(SellerStatus.CLOSED, status)
        assert refused.value.code == "status_transition"
        assert refused.value.context == {"current": "closed", "requested": status.value}


@given(statuses, statuses)
def test_a_status_change_is_allowed_exactly_when_the_machine_has_that_edge(
    current: SellerStatus, new: SellerStatus
) -> None:
    allowed = new == current or current is not SellerStatus.CLOSED
    try:
        check_status_change(current, new)
    except InvalidInput:
        assert not allowed
    else:
        assert allowed


@given(statuses)
def test_payouts_are_enabled_only_for_an_active_seller_and_a_reason_says_why_not(
    status: SellerStatus,
) -> None:
    allowed = capabilities(status)

    assert allowed.payouts_enabled is (status is SellerStatus.ACTIVE)
    assert allowed.sales_enabled is (status is not SellerStatus.CLOSED)
    assert (allowed.disabled_reason is None) is (allowed.payouts_enabled and allowed.sales_enabled)


def test_a_restricted_seller_still_sells_but_is_not_paid_out() -> None:
    allowed = capabilities(SellerStatus.RESTRICTED)

    assert (allowed.payouts_enabled, allowed.sales_enabled) == (False, True)
    assert allowed.disabled_reason == "seller_restricted"
    assert capabilities(SellerStatus.CLOSED).disabled_reason == "seller_closed"


@given(st.from_regex(r"sel_[0-9A-Za-z]{1,64}", fullmatch=True))
def test_every_id_of_the_documented_shape_is_a_seller_id(seller_id: str) -> None:
    check_seller_id(seller_id)


@pytest.mark.parametrize(
    "seller_id", ["sel_", "sel-42", "SEL_42", "sel_42!", "seller_42", "sel_" + "a" * 65, " sel_1"]
)
def test_anything_else_is_refused_as_a_seller_id(seller_id: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_seller_id(seller_id)
    assert refused.value.code == "invalid_seller_id"


@pytest.mark.parametrize(
    ("country", "currency"), [("FR", "EUR"), ("ES", "EUR"), ("US", "USD"), ("JP", "JPY")]
)
def test_a_country_gives_its_currency(country: str, currency: str) -> None:
    assert country_currency(country, on=date(2026, 1, 5)) == currency


@pytest.mark.parametrize("country", ["XX", "fr", "FRA", "", "ZZ"])
def test_an_unknown_country_is_refused(country: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        country_currency(country, on=date(2026, 1, 5))
    assert refused.value.code == "invalid_country"
