"""The ledger's pure rules: the chart of accounts, what a valid transaction is, fingerprints,
account flags and reversals. No database here."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from random import Random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ledger_builders import credit, debit

from sellerpay.errors import InvalidInput, LimitExceeded, Rejected
from sellerpay.ledger.rules import (
    CHART,
    AccountKind,
    BalanceState,
    EntryRequest,
    FlagViolation,
    Side,
    TransactionRequest,
    account_code_length_max,
    account_rule,
    description_length_max,
    entries_per_transaction_max,
    flag_breach,
    idempotency_key_length_max,
    metadata_keys_max,
    metadata_value_length_max,
    reversal_of,
    validate_transaction,
)
from sellerpay.money import Money

SELLER = "seller:sel_42abc"
NOON = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def paid(**changes: object) -> TransactionRequest:
    """An order paid with commission, a valid three-leg transaction to vary field by field."""
    request = TransactionRequest(
        idempotency_key="order:ord_1:paid",
        kind="order.paid",
        entries=(
            debit("platform:psp_clearing", 10_000),
            credit(f"{SELLER}:pending", 8_800),
            credit("platform:revenue:commission", 1_200),
        ),
        effective_at=NOON,
        references={"order": "ord_1"},
        metadata={"channel": "web", "items": 3, "gift": False, "note": None},
        description="order ord_1 paid",
    )
    return replace(request, **changes)  # type: ignore[arg-type]


def rejected_code(request: TransactionRequest) -> str:
    with pytest.raises(InvalidInput) as caught:
        validate_transaction(request)
    return caught.value.code


# --- chart of accounts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "kind", "normal_side", "debits_capped", "credits_capped"),
    [
        ("platform:psp_clearing", AccountKind.ASSET, Side.DEBIT, False, False),
        ("platform:bank:bnp-main_01", AccountKind.ASSET, Side.DEBIT, False, False),
        ("platform:payouts_in_transit", AccountKind.LIABILITY, Side.CREDIT, True, False),
        ("platform:refunds_payable", AccountKind.LIABILITY, Side.CREDIT, True, False),
        ("platform:revenue:commission", AccountKind.REVENUE, Side.CREDIT, False, False),
        ("platform:revenue:payout_fees", AccountKind.REVENUE, Side.CREDIT, False, False),
        ("platform:revenue:financing_fees", AccountKind.REVENUE, Side.CREDIT, False, False),
        ("platform:revenue:fx", AccountKind.REVENUE, Side.CREDIT, False, False),
        ("platform:fx:EUR", AccountKind.ASSET, Side.DEBIT, False, False),
        ("platform:losses", AccountKind.EXPENSE, Side.DEBIT, False, False),
        (f"{SELLER}:pending", AccountKind.LIABILITY, Side.CREDIT, True, False),
        (f"{SELLER}:available", AccountKind.LIABILITY, Side.CREDIT, False, False),
        (f"{SELLER}:reserve", AccountKind.LIABILITY, Side.CREDIT, True, False),
        (f"{SELLER}:advance_receivable", AccountKind.ASSET, Side.DEBIT, False, True),
    ],
)
def test_chart_opens_each_account_of_the_architecture_with_its_kind_side_and_flags(
    code: str, kind: AccountKind, normal_side: Side, debits_capped: bool, credits_capped: bool
) -> None:
    rule = account_rule(code, "EUR")
    assert rule.kind is kind
    assert rule.normal_side is normal_side
    assert rule.debits_must_not_exceed_credits is debits_capped
    assert rule.credits_must_not_exceed_debits is credits_capped


def test_seller_available_has_no_flag_because_refunds_may_take_it_negative() -> None:
    rule = account_rule(f"{SELLER}:available", "EUR")
    assert not rule.debits_must_not_exceed_credits
    assert not rule.credits_must_not_exceed_debits


def test_no_chart_line_carries_both_flags_which_would_freeze_the_account() -> None:
    for rule in CHART:
        assert not (rule.debits_must_not_exceed_credits and rule.credits_must_not_exceed_debits)


@pytest.mark.parametrize(
    "code",
    [
        "",
        "platform:psp_clearing:extra",
        "PLATFORM:psp_clearing",
        "platform:revenue:tips",
        "platform:revenue",
        "platform:bank:",
        "platform:bank:BNP",
        "platform:bank:-leading-dash",
        "platform:fx:eur",
        "platform:fx:EURO",
        "seller:42:available",
        "seller:sel_:available",
        "seller:sel_a b:pending",
        "seller:sel_42abc:wallet",
        "seller:sel_42abc",
        f"seller:sel_{'a' * 65}:available",
        " platform:losses",
        "platform:losses\n",
    ],
)
def test_account_codes_outside_the_chart_are_refused(code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        account_rule(code, "EUR")
    assert caught.value.code == "account_not_in_chart"


def test_longest_seller_id_the_chart_allows_still_opens() -> None:
    account_rule(f"seller:sel_{'a' * 64}:available", "EUR")


def test_too_long_account_code_is_refused_before_any_pattern_and_not_echoed_in_full() -> None:
    code = "platform:bank:" + "a" * (account_code_length_max + 1)
    with pytest.raises(InvalidInput) as caught:
        account_rule(code, "EUR")
    assert caught.value.code == "account_not_in_chart"
    assert len(caught.value.context["account"]) <= 50


def test_fx_position_account_holds_only_its_own_currency() -> None:
    assert account_rule("platform:fx:JPY", "JPY").kind is AccountKind.ASSET
    with pytest.raises(InvalidInput) as caught:
        account_rule("platform:fx:USD", "EUR")
    assert caught.value.code == "account_currency_mismatch"


def test_entry_on_fx_account_in_another_currency_makes_the_transaction_invalid() -> None:
    request = paid(
        entries=(debit("platform:fx:USD", 500, "EUR"), credit("platform:revenue:fx", 500, "EUR"))
    )
    assert rejected_code(request) == "account_currency_mismatch"


# --- validate_transaction ---------------------------------------------------------------------


def test_order_paid_with_commission_is_a_valid_transaction() -> None:
    validate_transaction(paid())


def test_conversion_balanced_in_each_currency_through_fx_accounts_is_valid() -> None:
    validate_transaction(
        paid(
            entries=(
                debit(f"{SELLER}:available", 10_000, "EUR"),
                credit("platform:fx:EUR", 10_000, "EUR"),
                debit("platform:fx:JPY", 16_000, "JPY"),
                credit("platform:bank:mizuho", 16_000, "JPY"),
            )
        )
    )


def test_one_currency_unbalanced_among_balanced_others_is_refused_naming_only_that_one() -> None:
    request = paid(
        entries=(
            debit("platform:psp_clearing", 10_000, "EUR"),
            credit(f"{SELLER}:pending", 10_000, "EUR"),
            debit("platform:psp_clearing", 1_500, "JPY"),
            credit(f"{SELLER}:pending", 1_499, "JPY"),
        )
    )
    with pytest.raises(InvalidInput) as caught:
        validate_transaction(request)
    assert caught.value.code == "unbalanced"
    assert caught.value.context["unbalanced_minor"] == {"JPY": 1}


def test_equal_amounts_in_two_currencies_do_not_balance_each_other() -> None:
    request = paid(
        entries=(
            debit("platform:psp_clearing", 100, "EUR"),
            credit(f"{SELLER}:pending", 100, "JPY"),
        )
    )
    with pytest.raises(InvalidInput) as caught:
        validate_transaction(request)
    assert caught.value.code == "unbalanced"
    assert caught.value.context["unbalanced_minor"] == {"EUR": 100, "JPY": -100}


@pytest.mark.parametrize("count", [0, 1])
def test_transaction_needs_at_least_two_entries(count: int) -> None:
    request = paid(entries=(debit("platform:psp_clearing", 100),)[:count])
    assert rejected_code(request) == "too_few_entries"


@pytest.mark.parametrize("amount_minor", [0, -100])
def test_entry_amounts_must_be_positive_and_the_error_names_the_entry(amount_minor: int) -> None:
    request = paid(
        entries=(
            debit("platform:psp_clearing", 100),
            credit(f"{SELLER}:pending", 100),
            EntryRequest("platform:revenue:commission", Side.CREDIT, Money(amount_minor, "EUR")),
        )
    )
    with pytest.raises(InvalidInput) as caught:
        validate_transaction(request)
    assert caught.value.code == "amount_not_positive"
    assert caught.value.context["entry"] == 2


def many_legs(count: int) -> tuple[EntryRequest, ...]:
    """`count` legs (even): pairs of 1 cent from the provider to a seller's pending."""
    pair = (debit("platform:psp_clearing", 1), credit(f"{SELLER}:pending", 1))
    return pair * (count // 2)


def test_sixty_four_entries_are_allowed() -> None:
    validate_transaction(paid(entries=many_legs(entries_per_transaction_max)))


def test_more_than_sixty_four_entries_exceed_the_named_limit() -> None:
    with pytest.raises(LimitExceeded) as caught:
        validate_transaction(paid(entries=many_legs(entries_per_transaction_max + 2)))
    assert caught.value.code == "entries_per_transaction_max"
    assert caught.value.status == 413


@pytest.mark.parametrize(
    "kind", ["", "Order.paid", "1order", "order paid", "order-paid", "ordér", "a" * 65]
)
def test_malformed_transaction_kinds_are_refused(kind: str) -> None:
    assert rejected_code(paid(kind=kind)) == "invalid_kind"


@pytest.mark.parametrize("kind", ["a", "order.paid", "payout.fee_2", "a" * 64])
def test_well_formed_transaction_kinds_are_accepted(kind: str) -> None:
    validate_transaction(paid(kind=kind))


@pytest.mark.parametrize(
    "key", ["", "k" * (idempotency_key_length_max + 1), "order:1\n", "tab\there", "nul\x00"]
)
def test_empty_overlong_or_unprintable_idempotency_keys_are_refused(key: str) -> None:
    assert rejected_code(paid(idempotency_key=key)) == "invalid_idempotency_key"


def test_idempotency_key_of_the_longest_allowed_length_is_accepted() -> None:
    validate_transaction(paid(idempotency_key="k" * idempotency_key_length_max))


def test_effective_time_without_a_timezone_is_refused() -> None:
    assert rejected_code(paid(effective_at=datetime(2026, 1, 5, 12, 0))) == "naive_datetime"


@pytest.mark.parametrize("field_name", ["references", "metadata"])
def test_more_than_fifty_reference_or_metadata_keys_exceed_the_named_limit(
    field_name: str,
) -> None:
    labels = {f"k{i}": "v" for i in range(metadata_keys_max + 1)}
    with pytest.raises(LimitExceeded) as caught:
        validate_transaction(paid(**{field_name: labels}))
    assert caught.value.code == "metadata_keys_max"
    validate_transaction(paid(**{field_name: dict(list(labels.items())[:metadata_keys_max])}))


@pytest.mark.parametrize("label", ["", "1st", "has space", "ümlaut", "k" * 65, "semi;colon"])
def test_malformed_metadata_and_reference_keys_are_refused(label: str) -> None:
    assert rejected_code(paid(metadata={label: "v"})) == "invalid_metadata_key"
    assert rejected_code(paid(references={label: "v"})) == "invalid_metadata_key"


@pytest.mark.parametrize("value", [1.5, 0.0, float("nan"), "x" * (metadata_value_length_max + 1)])
def test_float_or_overlong_metadata_values_are_refused(value: object) -> None:
    assert rejected_code(paid(metadata={"amount": value})) == "invalid_metadata_value"


def test_metadata_values_may_be_strings_up_to_the_limit_integers_booleans_or_null() -> None:
    validate_transaction(
        paid(metadata={"s": "x" * metadata_value_length_max, "i": -7, "b": True, "n": None})
    )


def test_description_longer_than_the_limit_is_refused() -> None:
    with pytest.raises(LimitExceeded) as caught:
        validate_transaction(paid(description="d" * (description_length_max + 1)))
    assert caught.value.code == "description_length_max"
    validate_transaction(paid(description="d" * description_length_max))


# --- fingerprints -----------------------------------------------------------------------------


def test_fingerprint_of_the_same_request_built_twice_is_the_same() -> None:
    assert paid().fingerprint() == paid().fingerprint()
    assert re.fullmatch(r"[0-9a-f]{64}", paid().fingerprint())


def test_fingerprint_ignores_the_order_labels_were_given_in() -> None:
    reordered = paid(
        metadata={"note": None, "gift": False, "items": 3, "channel": "web"},
        references={"order": "ord_1"},
    )
    assert reordered.fingerprint() == paid().fingerprint()


def test_fingerprint_is_pinned_so_stored_hashes_keep_matching_after_upgrades() -> None:
    """Changing the canonical form would turn every retry of an old request into a conflict."""
    canonical = (
        '{"description":"order ord_1 paid","effective_at":"2026-01-05T12:00:00+00:00",'
        '"entries":[["platform:psp_clearing","debit",10000,"EUR"],'
        '["seller:sel_42abc:pending","credit",8800,"EUR"],'
        '["platform:revenue:commission","credit",1200,"EUR"]],"kind":"order.paid",'
        '"metadata":{"channel":"web","gift":false,"items":3,"note":null},'
        '"references":{"order":"ord_1"}}'
    )
    assert paid().fingerprint() == hashlib.sha256(canonical.encode()).hexdigest()
    assert paid().fingerprint() == (
        "136d5e4aa10ad01238d2dc17a8a10fcc756d67927426b4593081e576f8fdf9f3"
    )


def test_fingerprint_is_of_the_body_so_the_same_body_under_another_key_hashes_the_same() -> None:
    assert paid(idempotency_key="other").fingerprint() == paid().fingerprint()


def test_same_effective_moment_written_in_another_timezone_has_the_same_fingerprint() -> None:
    paris = timezone(timedelta(hours=1))
    assert NOON.astimezone(paris) == NOON
    assert paid(effective_at=NOON.astimezone(paris)).fingerprint() == paid().fingerprint()


@pytest.mark.parametrize(
    "changes",
    [
        {"kind": "order.captured"},
        {"effective_at": None},
        {"effective_at": NOON + timedelta(microseconds=1)},
        {"references": {"order": "ord_2"}},
        {"references": {}},
        {"metadata": {"channel": "app", "items": 3, "gift": False, "note": None}},
        {"metadata": {"channel": "web", "items": 3, "gift": 0, "note": None}},
        {"metadata": {"channel": "web", "items": 3, "gift": False}},
        {"description": "order ord_1 paid again"},
        {"entries": (debit("platform:psp_clearing", 10_000), credit(f"{SELLER}:pending", 10_000))},
        {
            "entries": (
                debit("platform:psp_clearing", 10_001),
                credit(f"{SELLER}:pending", 8_801),
                credit("platform:revenue:commission", 1_200),
            )
        },
        {
            "entries": (
                debit("platform:psp_clearing", 10_000),
                credit("seller:sel_43abc:pending", 8_800),
                credit("platform:revenue:commission", 1_200),
            )
        },
        {
            "entries": (
                debit("platform:psp_clearing", 10_000, "JPY"),
                credit(f"{SELLER}:pending", 8_800, "JPY"),
                credit("platform:revenue:commission", 1_200, "JPY"),
            )
        },
        {
            "entries": (
                credit(f"{SELLER}:pending", 8_800),
                debit("platform:psp_clearing", 10_000),
                credit("platform:revenue:commission", 1_200),
            )
        },
        {
            "entries": (
                credit("platform:psp_clearing", 10_000),
                debit(f"{SELLER}:pending", 8_800),
                debit("platform:revenue:commission", 1_200),
            )
        },
    ],
    ids=lambda changes: next(iter(changes)),
)
def test_any_change_of_the_body_changes_the_fingerprint(changes: dict[str, object]) -> None:
    assert paid(**changes).fingerprint() != paid().fingerprint()


# --- account flags ----------------------------------------------------------------------------


def state(debits: int, credits: int, *, debits_capped: bool, credits_capped: bool) -> BalanceState:
    return BalanceState(debits, credits, 3, debits_capped, credits_capped, Side.CREDIT)


@pytest.mark.parametrize(
    ("debits", "credits", "breach"),
    [
        (0, 0, None),
        (100, 0, None),  # debit up to the balance of 100
        (101, 0, "debits_must_not_exceed_credits"),
        (150, 50, None),  # the credit of the same transaction counts
        (151, 50, "debits_must_not_exceed_credits"),
        (0, 10_000, None),
    ],
)
def test_pending_account_may_be_debited_down_to_zero_and_not_below(
    debits: int, credits: int, breach: str | None
) -> None:
    pending = state(400, 500, debits_capped=True, credits_capped=False)
    assert flag_breach(pending, debits, credits) == breach


@pytest.mark.parametrize(
    ("debits", "credits", "breach"),
    [(0, 200, None), (0, 201, "credits_must_not_exceed_debits"), (5, 205, None)],
)
def test_advance_receivable_may_be_repaid_up_to_what_was_advanced(
    debits: int, credits: int, breach: str | None
) -> None:
    receivable = state(300, 100, debits_capped=False, credits_capped=True)
    assert flag_breach(receivable, debits, credits) == breach


def test_unflagged_account_may_go_any_way() -> None:
    available = state(0, 0, debits_capped=False, credits_capped=False)
    assert flag_breach(available, 10**12, 0) is None
    assert flag_breach(available, 0, 10**12) is None


def test_flag_violation_is_a_business_rejection_named_for_the_flag() -> None:
    error = FlagViolation("would overdraw")
    assert isinstance(error, Rejected)
    assert error.code == "debits_must_not_exceed_credits"
    assert error.status == 422


def test_balance_is_read_on_the_normal_side_of_the_account() -> None:
    assert BalanceState(30, 100, 2, False, False, Side.CREDIT).balance == 70
    assert BalanceState(30, 100, 2, False, False, Side.DEBIT).balance == -70


# --- reversals --------------------------------------------------------------------------------


def test_reversal_swaps_every_side_and_keeps_accounts_amounts_and_order() -> None:
    original = paid().entries
    mirrored = reversal_of(original)
    assert [(e.account, e.amount) for e in mirrored] == [(e.account, e.amount) for e in original]
    assert [e.side for e in mirrored] == [Side.CREDIT, Side.DEBIT, Side.DEBIT]


# --- properties -------------------------------------------------------------------------------

UNFLAGGED_ACCOUNTS = (
    "platform:psp_clearing",
    "platform:bank:main",
    "platform:losses",
    "platform:revenue:commission",
    f"{SELLER}:available",
)
CURRENCIES = ("EUR", "JPY", "BHD")

legs = st.lists(
    st.builds(
        EntryRequest,
        st.sampled_from(UNFLAGGED_ACCOUNTS),
        st.sampled_from(Side),
        st.builds(Money, st.integers(1, 10**12), st.sampled_from(CURRENCIES)),
    ),
    min_size=1,
    max_size=40,
)


def balanced(entries: list[EntryRequest]) -> tuple[EntryRequest, ...]:
    """`entries` plus one closing leg per currency that does not balance yet."""
    net: dict[str, int] = {}
    for entry in entries:
        sign = 1 if entry.side is Side.DEBIT else -1
        net[entry.amount.currency] = (
            net.get(entry.amount.currency, 0) + sign * entry.amount.amount_minor
        )
    closing = [
        EntryRequest(
            "platform:psp_clearing",
            Side.CREDIT if amount > 0 else Side.DEBIT,
            Money(abs(amount), currency),
        )
        for currency, amount in sorted(net.items())
        if amount != 0
    ]
    return (*entries, *closing)


@given(legs, st.randoms(use_true_random=False))
def test_any_positive_legs_balanced_by_construction_validate_in_any_order(
    entries: list[EntryRequest], random: Random
) -> None:
    closed = list(balanced(entries))
    assert len(closed) >= 2  # a positive leg always needs a counter-leg
    random.shuffle(closed)
    validate_transaction(paid(entries=tuple(closed)))


@given(legs, st.data())
def test_removing_any_leg_of_a_balanced_transaction_unbalances_its_currency(
    entries: list[EntryRequest], data: st.DataObject
) -> None:
    closed = balanced(entries)
    index = data.draw(st.integers(0, len(closed) - 1))
    removed = closed[index]
    rest = closed[:index] + closed[index + 1 :]
    with pytest.raises(InvalidInput) as caught:
        validate_transaction(paid(entries=rest))
    if len(rest) < 2:
        assert caught.value.code == "too_few_entries"
        return
    assert caught.value.code == "unbalanced"
    sign = 1 if removed.side is Side.DEBIT else -1
    assert caught.value.context["unbalanced_minor"] == {
        removed.amount.currency: -sign * removed.amount.amount_minor
    }


@given(legs, st.data(), st.integers(1, 10**6))
def test_changing_one_amount_of_a_balanced_transaction_unbalances_it(
    entries: list[EntryRequest], data: st.DataObject, extra_minor: int
) -> None:
    closed = list(balanced(entries))
    index = data.draw(st.integers(0, len(closed) - 1))
    leg = closed[index]
    closed[index] = replace(
        leg, amount=Money(leg.amount.amount_minor + extra_minor, leg.amount.currency)
    )
    assert rejected_code(paid(entries=tuple(closed))) == "unbalanced"


@given(legs)
def test_a_transaction_and_its_reversal_together_net_every_account_to_zero(
    entries: list[EntryRequest],
) -> None:
    closed = balanced(entries)
    mirrored = reversal_of(closed)
    validate_transaction(paid(entries=mirrored))
    assert reversal_of(mirrored) == closed
    net: dict[tuple[str, str], int] = {}
    for entry in (*closed, *mirrored):
        sign = 1 if entry.side is Side.DEBIT else -1
        account = (entry.account, entry.amount.currency)
        net[account] = net.get(account, 0) + sign * entry.amount.amount_minor
    assert set(net.values()) == {0}


@given(
    key=st.text(max_size=300),
    kind=st.text(max_size=80),
    description=st.text(max_size=600),
    metadata=st.dictionaries(
        st.text(max_size=70),
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=600),
        max_size=60,
    ),
)
def test_any_junk_in_the_labels_is_either_accepted_or_refused_as_invalid_input(
    key: str, kind: str, description: str, metadata: dict[str, object]
) -> None:
    request = paid(idempotency_key=key, kind=kind, description=description, metadata=metadata)
    try:
        validate_transaction(request)
    except InvalidInput:
        return
    assert len(request.fingerprint()) == 64


@given(
    st.builds(Money, st.integers(1, 10**15), st.sampled_from(CURRENCIES)),
    st.datetimes(timezones=st.timezones()) | st.none(),
)
def test_fingerprint_is_a_pure_function_of_the_body(amount: Money, moment: datetime | None) -> None:
    def build() -> TransactionRequest:
        return paid(
            entries=(
                EntryRequest("platform:psp_clearing", Side.DEBIT, amount),
                EntryRequest(f"{SELLER}:pending", Side.CREDIT, amount),
            ),
            effective_at=moment,
        )

    assert build().fingerprint() == build().fingerprint()
