"""Pure rules of reporting: languages, categories, statement lines and their check, the trial
balance and composition checks, export intervals — exhaustively, with hypothesis."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sellerpay.balances.rules import SellerAccount
from sellerpay.errors import InvalidInput, InvariantViolation
from sellerpay.money import Money
from sellerpay.reporting.labels import STATEMENT_LABELS
from sellerpay.reporting.rules import (
    EXPORT_EPOCH,
    LANGUAGES,
    StatementCategory,
    StatementMovement,
    chart_line,
    check_composition,
    check_statement,
    check_trial_balance,
    export_interval,
    statement_category,
    statement_language,
    statement_lines,
    statement_locale,
    total_of,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
KINDS = (
    "order.paid", "release", "order.refunded", "dispute.opened", "dispute.lost", "reserve.held",
    "payout", "payout_failed", "payout_returned", "payout_return_fee", "adjustment", "reversal",
)  # fmt: skip


def test_a_sellers_language_comes_from_its_country_unless_it_chose_one() -> None:
    assert statement_language("FR") == "fr"
    assert statement_language("BE") == "fr"
    assert statement_language("ES") == "es"
    assert statement_language("JP") == "ja"
    assert statement_language("DE") == "en"
    assert statement_language("JP", "en") == "en"
    with pytest.raises(InvalidInput) as unsupported:
        statement_language("FR", "de")
    assert unsupported.value.code == "unsupported_language"


def test_the_locale_is_the_language_as_written_in_the_sellers_country() -> None:
    assert statement_locale("fr", "BE") == "fr_BE"
    assert statement_locale("en", "GB") == "en_GB"
    assert statement_locale("ja", "JP") == "ja_JP"
    assert statement_locale("ja", "FR") == "ja_JP"  # CLDR has no ja_FR: the language's home
    assert statement_locale("es", "zz") == "es_ES"


def test_every_language_has_every_word_of_the_statement() -> None:
    assert tuple(STATEMENT_LABELS) == LANGUAGES
    english = set(STATEMENT_LABELS["en"])
    for language, words in STATEMENT_LABELS.items():
        assert set(words) == english, language
    assert {f"category.{c.value}" for c in StatementCategory} <= english


@pytest.mark.parametrize(
    ("kind", "account", "category"),
    [
        ("order.paid", SellerAccount.PENDING, StatementCategory.ORDER),
        ("release", SellerAccount.AVAILABLE, StatementCategory.RELEASE),
        ("order.refunded", SellerAccount.AVAILABLE, StatementCategory.REFUND),
        ("dispute.lost", SellerAccount.DISPUTE_HOLD, StatementCategory.DISPUTE),
        ("dispute.lost", SellerAccount.AVAILABLE, StatementCategory.FEE),
        ("payout", SellerAccount.AVAILABLE, StatementCategory.PAYOUT),
        ("payout_canceled", SellerAccount.AVAILABLE, StatementCategory.PAYOUT),
        ("payout_returned", SellerAccount.AVAILABLE, StatementCategory.RETURN),
        ("payout_return_fee", SellerAccount.AVAILABLE, StatementCategory.FEE),
        ("reserve.held", SellerAccount.RESERVE, StatementCategory.RESERVE),
        ("adjustment", SellerAccount.AVAILABLE, StatementCategory.ADJUSTMENT),
        ("something.manual", SellerAccount.AVAILABLE, StatementCategory.ADJUSTMENT),
    ],
)
def test_each_movement_shows_under_the_category_a_seller_expects(
    kind: str, account: SellerAccount, category: StatementCategory
) -> None:
    assert statement_category(kind, account) is category


def _movement(
    transaction: uuid.UUID, kind: str, account: SellerAccount, minor: int, at: datetime
) -> StatementMovement:
    return StatementMovement(transaction, at, at, kind, kind, {}, account, Money(minor, "EUR"))


def test_one_transaction_on_two_accounts_is_one_line_that_nets_their_changes() -> None:
    release = uuid.uuid4()
    lost = uuid.uuid4()
    movements = [
        _movement(release, "release", SellerAccount.PENDING, -8_800, T0),
        _movement(release, "release", SellerAccount.AVAILABLE, 8_800, T0),
        _movement(lost, "dispute.lost", SellerAccount.DISPUTE_HOLD, -1_000, T0),
        _movement(lost, "dispute.lost", SellerAccount.AVAILABLE, -1_500, T0),
    ]
    opening = {
        SellerAccount.PENDING: Money(8_800, "EUR"),
        SellerAccount.DISPUTE_HOLD: Money(1_000, "EUR"),
    }

    lines = statement_lines("EUR", opening, movements)

    assert [(line.category, line.amount.amount_minor) for line in lines] == [
        (StatementCategory.RELEASE, 0),
        (StatementCategory.DISPUTE, -1_000),
        (StatementCategory.FEE, -1_500),
    ]
    assert lines[0].changes == {
        SellerAccount.PENDING: Money(-8_800, "EUR"),
        SellerAccount.AVAILABLE: Money(8_800, "EUR"),
    }
    assert [line.balance_after.amount_minor for line in lines] == [9_800, 8_800, 7_300]


movements_strategy = st.lists(
    st.tuples(
        st.sampled_from(KINDS),
        st.lists(
            st.tuples(st.sampled_from(list(SellerAccount)), st.integers(-(10**9), 10**9)),
            min_size=1,
            max_size=3,
        ),
    ),
    max_size=40,
)
openings = st.dictionaries(st.sampled_from(list(SellerAccount)), st.integers(-(10**9), 10**9))


def _build(
    transactions: list[tuple[str, list[tuple[SellerAccount, int]]]],
) -> list[StatementMovement]:
    movements = []
    for index, (kind, legs) in enumerate(transactions):
        transaction = uuid.uuid4()
        at = T0 + timedelta(minutes=index)
        movements.extend(
            _movement(transaction, kind, account, minor, at) for account, minor in legs
        )
    return movements


@settings(max_examples=300)
@given(movements_strategy, openings)
def test_opening_plus_movements_is_closing_for_any_list_of_movements(
    transactions: list[tuple[str, list[tuple[SellerAccount, int]]]],
    opening_minor: dict[SellerAccount, int],
) -> None:
    movements = _build(transactions)
    opening = {account: Money(minor, "EUR") for account, minor in opening_minor.items()}
    closing = dict(opening)
    for m in movements:
        closing[m.account] = closing.get(m.account, Money(0, "EUR")) + m.amount

    lines = statement_lines("EUR", opening, movements)

    check_statement("EUR", opening, lines, closing)  # raises if it does not add up
    expected_total = total_of(opening, "EUR") + sum((m.amount for m in movements), Money(0, "EUR"))
    assert (lines[-1].balance_after if lines else total_of(opening, "EUR")) == expected_total
    assert sum(len(line.changes) for line in lines) <= len(movements)
    assert len({(line.transaction_id, line.category) for line in lines}) == len(lines)


@settings(max_examples=200)
@given(
    movements_strategy.filter(bool),
    st.sampled_from(list(SellerAccount)),
    st.integers(-1_000, 1_000).filter(bool),
)
def test_a_closing_balance_off_by_any_amount_on_any_account_is_caught(
    transactions: list[tuple[str, list[tuple[SellerAccount, int]]]],
    account: SellerAccount,
    off_minor: int,
) -> None:
    movements = _build(transactions)
    closing: dict[SellerAccount, Money] = {}
    for m in movements:
        closing[m.account] = closing.get(m.account, Money(0, "EUR")) + m.amount
    closing[account] = closing.get(account, Money(0, "EUR")) + Money(off_minor, "EUR")
    lines = statement_lines("EUR", {}, movements)

    with pytest.raises(InvariantViolation, match=account.value):
        check_statement("EUR", {}, lines, closing)


def test_a_movement_in_another_currency_is_refused() -> None:
    movement = StatementMovement(
        uuid.uuid4(), T0, T0, "order.paid", "", {}, SellerAccount.PENDING, Money(100, "USD")
    )
    with pytest.raises(InvalidInput) as mismatch:
        statement_lines("EUR", {}, [movement])
    assert mismatch.value.code == "currency_mismatch"


@given(st.lists(st.integers(-(10**6), 10**6), max_size=20), st.integers(-5, 5))
def test_a_composition_must_sum_exactly_to_its_payout(items: list[int], off: int) -> None:
    amounts = [Money(minor, "EUR") for minor in items]
    total = Money(sum(items) + off, "EUR")
    if off:
        with pytest.raises(InvariantViolation):
            check_composition("po_1", total, amounts)
    else:
        check_composition("po_1", total, amounts)


def test_the_trial_balance_check_names_the_currency_that_does_not_balance() -> None:
    check_trial_balance({"EUR": (Money(500, "EUR"), Money(500, "EUR"))})
    with pytest.raises(InvariantViolation, match="JPY"):
        check_trial_balance(
            {"EUR": (Money(5, "EUR"), Money(5, "EUR")), "JPY": (Money(7, "JPY"), Money(6, "JPY"))}
        )


def test_seller_accounts_fold_into_one_line_of_the_chart() -> None:
    assert chart_line("seller:sel_abc42:available") == "seller:*:available"
    assert chart_line("seller:sel_abc42:dispute_hold") == "seller:*:dispute_hold"
    assert chart_line("platform:bank:main") == "platform:bank:main"
    assert chart_line("platform:revenue:commission") == "platform:revenue:commission"


moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)


@given(st.lists(moments, min_size=1, max_size=12), st.none() | moments)
def test_export_intervals_follow_each_other_with_no_gap_and_no_overlap(
    cutoffs: list[datetime], since: datetime | None
) -> None:
    watermark: datetime | None = None
    intervals = []
    for cutoff in cutoffs:
        interval = export_interval(
            exported_until=watermark, pending=None, since=since if watermark is None else None,
            cutoff=cutoff,
        )  # fmt: skip
        if interval is None:
            continue
        start, end = interval
        assert start < end == cutoff
        intervals.append(interval)
        watermark = end
    for (_, end), (start, _) in pairwise(intervals):
        assert end == start  # touching: nothing between, nothing twice
    if intervals:
        assert intervals[0][0] == (since or EXPORT_EPOCH)


def test_an_interval_begun_by_a_crashed_run_is_done_again_exactly() -> None:
    begun = (T0, T0 + timedelta(hours=1))
    later = T0 + timedelta(days=3)
    assert export_interval(exported_until=T0, pending=begun, since=None, cutoff=later) == begun


def test_since_cannot_move_an_existing_watermark() -> None:
    with pytest.raises(InvalidInput) as moved:
        export_interval(
            exported_until=T0, pending=None, since=T0 - timedelta(days=1), cutoff=T0 + timedelta(1)
        )
    assert moved.value.code == "since_conflicts_with_watermark"
    same = export_interval(exported_until=T0, pending=None, since=T0, cutoff=T0 + timedelta(1))
    assert same == (T0, T0 + timedelta(1))
