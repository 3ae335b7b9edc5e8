"""The matcher's rules, one by one, and its invariants under any order of lines and movements:
the same matches, no line matched twice, no payout matched twice."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sellerpay.errors import InvariantViolation
from sellerpay.money import Money
from sellerpay.reconciliation.rules import (
    ExpectedMovement,
    LineToMatch,
    MatchPolicy,
    MatchResult,
    match_lines,
    overdue,
    units_of,
)

DAY = date(2026, 1, 5)
POLICY = MatchPolicy(date_window_days=3, fee_tolerance_minor={"EUR": 100})


def payout(key: str, minor: int, *refs: str, due: date = DAY, **more: object) -> ExpectedMovement:
    return ExpectedMovement(
        key=f"payout:{key}", kind="payout", direction="debit", amount=Money(minor, "EUR"),
        due_on=due, references=refs, payout_id=key, end_to_end_id=refs[0] if refs else "",
        **more,  # type: ignore[arg-type]
    )  # fmt: skip


def batch(key: str, members: list[ExpectedMovement], *refs: str) -> ExpectedMovement:
    return ExpectedMovement(
        key=f"batch:{key}", kind="payout_batch", direction="debit",
        amount=Money(sum(m.amount.amount_minor for m in members), "EUR"),
        due_on=min(m.due_on for m in members), references=refs,
        members=tuple(m.key for m in members),
    )  # fmt: skip


def line(key: str, minor: int, *refs: str, on: date = DAY, **more: object) -> LineToMatch:
    return LineToMatch(
        key=key, direction=more.pop("direction", "debit"),  # type: ignore[arg-type]
        amount=Money(minor, "EUR"), booked_on=on, references=refs,
        **more,  # type: ignore[arg-type]
    )  # fmt: skip


def run(lines: list[LineToMatch], expected: list[ExpectedMovement], **kw: object) -> MatchResult:
    return match_lines(lines, expected, policy=POLICY, **kw)  # type: ignore[arg-type]


def test_an_end_to_end_id_matches_its_payout_whatever_the_amounts_of_others() -> None:
    result = run([line("l1", 1000, "SPAAAA")], [payout("a", 1000, "SPAAAA"), payout("b", 1000)])

    (match,) = result.matches
    assert (match.rule, match.line_keys, match.expected_keys) == (
        "exact_reference",
        ("l1",),
        ("payout:a",),
    )
    assert match.fee is None and match.evidence["reference"] == "SPAAAA"


def test_references_are_compared_trimmed_and_upper_cased_and_nonref_names_nothing() -> None:
    result = run(
        [line("l1", 1000, " spaaaa "), line("l2", 2000, "NONREF")],
        [payout("a", 1000, "SPAAAA"), payout("b", 2000, "NONREF")],
    )

    assert [m.rule for m in result.matches] == ["exact_reference", "amount_date_counterparty"]


def test_a_nacha_trace_number_matches_like_an_end_to_end_id() -> None:
    result = run([line("l1", 500, "", "", "091000010000001")],
                 [payout("a", 500, "SPAAAA", "091000010000001")])  # fmt: skip

    assert result.matches[0].expected_keys == ("payout:a",)


def test_a_bank_fee_within_the_tolerance_is_a_match_with_its_fee() -> None:
    result = run([line("l1", 1080, "SPAAAA")], [payout("a", 1000, "SPAAAA")])

    (match,) = result.matches
    assert match.fee == Money(80, "EUR")
    assert match.evidence["fee_minor"] == 80


def test_beyond_the_tolerance_or_in_our_favour_a_reference_is_a_mismatch_not_a_match() -> None:
    result = run(
        [line("l1", 1101, "SPAAAA"), line("l2", 990, "SPBBBB")],
        [payout("a", 1000, "SPAAAA"), payout("b", 1000, "SPBBBB")],
    )

    assert result.matches == ()
    assert {(m.line_key, m.expected_key, m.difference.amount_minor) for m in result.mismatches} == {
        ("l1", "payout:a", -101),
        ("l2", "payout:b", 10),
    }


def test_a_batch_booking_matches_its_pmtinf_batch_when_the_sum_is_equal() -> None:
    members = [payout("a", 1000, "SPAAAA"), payout("b", 2000, "SPBBBB")]
    expected = [*members, batch("x", members, "PMTINF1")]

    result = run([line("l1", 3000, batch_references=("PMTINF1",))], expected)

    (match,) = result.matches
    assert match.rule == "batch_reference"
    assert set(match.expected_keys) == {"payout:a", "payout:b"}


def test_batch_details_with_their_own_references_match_one_by_one() -> None:
    members = [payout("a", 1000, "SPAAAA"), payout("b", 2000, "SPBBBB")]
    details = (line("l1/1", 1000, "SPAAAA"), line("l1/2", 2000, "SPBBBB"))
    parent = line("l1", 3000, batch_references=("PMTINF1",), details=details)

    result = run([parent], [*members, batch("x", members, "PMTINF1")])

    assert sorted(m.line_keys for m in result.matches) == [("l1/1",), ("l1/2",)]
    assert units_of(parent) == details


def test_many_to_one_takes_the_batch_payouts_still_open_when_the_sum_is_equal() -> None:
    members = [payout("a", 1000, "SPAAAA"), payout("b", 2000, "SPBBBB"), payout("c", 500)]
    expected = [*members, batch("x", members, "PMTINF1")]

    result = run([line("l1", 2500, batch_references=("PMTINF1",))], expected,
                 consumed=["payout:a"])  # fmt: skip

    (match,) = result.matches
    assert match.rule == "many_to_one"
    assert set(match.expected_keys) == {"payout:b", "payout:c"}


def test_a_batch_booking_without_references_matches_by_its_sum_within_the_window() -> None:
    members = [payout("a", 1000), payout("b", 2345)]
    result = run([line("l1", 3345, on=DAY + timedelta(days=2))],
                 [*members, batch("x", members, "PMT")])  # fmt: skip

    assert result.matches[0].rule == "many_to_one"
    assert set(result.matches[0].expected_keys) == {"payout:a", "payout:b"}


def test_one_to_many_two_lines_quoting_one_reference_make_the_payout() -> None:
    result = run([line("l1", 600, "SPAAAA"), line("l2", 400, "SPAAAA")],
                 [payout("a", 1000, "SPAAAA")])  # fmt: skip

    (match,) = result.matches
    assert (match.rule, match.line_keys) == ("one_to_many", ("l1", "l2"))


def test_amount_and_date_need_the_window_and_an_agreeing_counterparty() -> None:
    expected = [
        payout("near", 1000, counterparty_account="0189", due=DAY),
        payout("far", 2000, due=DAY - timedelta(days=10)),
        payout("other", 3000, counterparty_account="9999"),
    ]
    lines = [
        line("l1", 1000, counterparty_account="FR7630006000011234567890189"),
        line("l2", 2000),
        line("l3", 3000, counterparty_account="FR7630006000011234567890189"),
    ]

    result = run(lines, expected)

    assert [(m.line_keys, m.rule) for m in result.matches] == [
        (("l1",), "amount_date_counterparty")
    ]
    assert set(result.unmatched) == {"l2", "l3"}


def test_an_ambiguous_amount_without_a_counterparty_stays_open() -> None:
    result = run([line("l1", 1000)], [payout("a", 1000), payout("b", 1000)])

    assert result.matches == () and result.unmatched == ("l1",)


def test_a_return_credit_names_the_payout_that_came_back() -> None:
    returned = line("r1", 1000, "SPAAAA", direction="credit", returned=True,
                    return_reason_code="AC04")  # fmt: skip

    result = run([returned], [payout("a", 1000, "SPAAAA")], consumed=["payout:a"])

    (match,) = result.matches
    assert (match.target, match.expected_keys) == ("return", ("return:payout:a",))


def test_a_second_booking_of_a_matched_payout_stays_open_and_says_why() -> None:
    result = run([line("l1", 1000, "SPAAAA")], [payout("a", 1000, "SPAAAA")],
                 consumed=["payout:a"])  # fmt: skip

    assert result.unmatched == ("l1",)
    assert "already matched" in result.notes["l1"]


def test_a_provider_settlement_credit_matches_its_reference() -> None:
    settlement = ExpectedMovement(key="settlement:s1", kind="provider_settlement",
                                  direction="credit", amount=Money(9000, "EUR"), due_on=DAY,
                                  references=("PO_ABC123",))  # fmt: skip

    result = run([line("c1", 8950, "po_abc123", direction="credit")], [settlement])

    (match,) = result.matches
    assert (match.target, match.fee) == ("settlement", Money(50, "EUR"))


def test_duplicate_line_keys_are_a_bug() -> None:
    with pytest.raises(InvariantViolation):
        run([line("l1", 1), line("l1", 2)], [])


def test_overdue_lists_payouts_past_the_grace_and_announced_returns() -> None:
    expected = [
        payout("old", 1000, due=DAY - timedelta(days=10)),
        payout("new", 1000, due=DAY - timedelta(days=2)),
        payout("matched", 1000, due=DAY - timedelta(days=10)),
        payout("back", 1000, due=DAY - timedelta(days=20), returned_on=DAY - timedelta(days=9)),
    ]

    late = overdue(expected, consumed=["payout:matched", "payout:back"], as_of=DAY, grace_days=5)

    assert [key for key, _, _ in late] == ["payout:old", "return:payout:back"]


# --- properties -------------------------------------------------------------------------------


@st.composite
def scenario(draw: st.DrawFn) -> tuple[list[LineToMatch], list[ExpectedMovement]]:
    """Payouts with references, lines that quote some of them (some twice, some with fees or
    wrong amounts, some without a reference), a batch, and lines nobody expects."""
    count = draw(st.integers(min_value=0, max_value=25))
    amounts = draw(st.lists(st.integers(1, 50), min_size=count, max_size=count))
    movements = [
        payout(f"p{i}", amount * 100, f"SPREF{i:04d}", due=DAY + timedelta(days=i % 4))
        for i, amount in enumerate(amounts)
    ]
    if len(movements) >= 2:
        movements.append(batch("b", movements[:2], "PMTINF"))
    lines: list[LineToMatch] = []
    for i, movement in enumerate(m for m in movements if m.kind == "payout"):
        how = draw(st.sampled_from(["ref", "ref_fee", "amount", "twice", "wrong", "none"]))
        minor, on = movement.amount.amount_minor, movement.due_on
        if how in ("ref", "twice"):
            lines.append(line(f"l{i}a", minor, f"SPREF{i:04d}", on=on))
        if how == "twice":
            lines.append(line(f"l{i}b", minor, f"SPREF{i:04d}", on=on))
        if how == "ref_fee":
            lines.append(line(f"l{i}a", minor + 50, f"SPREF{i:04d}", on=on))
        if how == "amount":
            lines.append(line(f"l{i}a", minor, on=on))
        if how == "wrong":
            lines.append(line(f"l{i}a", minor + 7_777, f"SPREF{i:04d}", on=on))
    if draw(st.booleans()) and len(amounts) >= 2:
        lines.append(line("batch", (amounts[0] + amounts[1]) * 100, batch_references=("PMTINF",)))
    for j in range(draw(st.integers(0, 5))):
        lines.append(line(f"x{j}", draw(st.integers(1, 5_000)) * 100))
    return lines, movements


def _signature(result: MatchResult) -> set[tuple[object, ...]]:
    return {(m.rule, m.line_keys, tuple(sorted(m.expected_keys)), m.fee) for m in result.matches}


@settings(max_examples=150, deadline=None)
@given(scenario(), st.randoms(use_true_random=False))
def test_any_permutation_of_lines_and_movements_gives_the_same_matches(
    case: tuple[list[LineToMatch], list[ExpectedMovement]], rnd: random.Random
) -> None:
    lines, expected = case
    first = run(lines, expected)
    shuffled_lines, shuffled_expected = list(lines), list(expected)
    rnd.shuffle(shuffled_lines)
    rnd.shuffle(shuffled_expected)

    again = run(shuffled_lines, shuffled_expected)

    assert _signature(again) == _signature(first)
    assert set(again.unmatched) == set(first.unmatched)
    assert set(again.mismatches) == set(first.mismatches)


@settings(max_examples=150, deadline=None)
@given(scenario())
def test_no_line_is_matched_twice_and_no_payout_is_matched_twice(
    case: tuple[list[LineToMatch], list[ExpectedMovement]],
) -> None:
    lines, expected = case

    result = run(lines, expected)

    matched_lines = [key for m in result.matches for key in m.line_keys]
    payouts = [key for m in result.matches for key in m.expected_keys]
    assert len(matched_lines) == len(set(matched_lines))
    assert len(payouts) == len(set(payouts))
    units = {u.key for ln in lines for u in units_of(ln)} | {ln.key for ln in lines}
    accounted = set(matched_lines) | {m.line_key for m in result.mismatches} | set(result.unmatched)
    assert accounted <= units
    for match in result.matches:  # every match adds up: lines = movements + fee
        total = sum(Money(0, "EUR").amount_minor + _line(lines, k).amount.amount_minor
                    for k in match.line_keys)  # fmt: skip
        wanted = sum(_movement(expected, k).amount.amount_minor for k in match.expected_keys)
        fee = match.fee.amount_minor if match.fee else 0
        assert total == wanted + fee


def _line(lines: list[LineToMatch], key: str) -> LineToMatch:
    return next(u for ln in lines for u in (ln, *ln.details) if u.key == key)


def _movement(expected: list[ExpectedMovement], key: str) -> ExpectedMovement:
    return next(m for m in expected if m.key == key.removeprefix("return:"))
