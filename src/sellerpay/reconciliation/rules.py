"""Matching statement lines to expected movements: pure, linear and independent of order.

The matcher takes the lines of a statement (`LineToMatch`) and what we expect to see on it
(`ExpectedMovement`: payouts sent, their pain.001 batches, returns the bank announced, provider
settlements) and says which line explains which movement, by which rule, with the evidence.
Rules run in this order, each on what the ones before left:

1. `exact_reference`  a line's end-to-end id, rail reference or NACHA trace number names one
   payout (a return line names the payout that came back; a credit a provider settlement);
2. `batch_reference`  a batch booking's message id or payment information id (PmtInfId) names a
   batch whose payouts are all still open, and the amounts agree;
3. `amount_date_counterparty`  same direction, currency and amount, booked within the date
   window of the due date, and the counterparty agrees when both sides name one (when they
   cannot be compared, only a single candidate is taken: an ambiguous amount stays open);
4. `many_to_one`  a batch booking against the payouts of its batch still open (the sum must be
   equal), named by reference, or found by amount within the date window;
5. `one_to_many`  several lines quoting the same reference that together make one movement.

A reference match whose amount differs by at most the bank-fee tolerance is a match with a
`fee` (debits larger, credits smaller than expected: the bank kept a fee), which the caller
books on its own; beyond the tolerance it is a `Mismatch`, never a match.

Linear: every rule works on hash maps (reference → movement, (direction, currency, amount) →
movements); lines are sorted once by (booking date, key), candidates by key, so any
permutation of the lines or of the movements gives the same result. A line is matched at
most once and a movement at most once (`MatchResult` checks both).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final, Literal

from sellerpay.errors import InvariantViolation, invariant
from sellerpay.money import Money

Direction = Literal["credit", "debit"]
ExpectedKind = Literal["payout", "payout_batch", "provider_settlement"]
TargetKind = Literal["payout", "return", "settlement"]
MatchRule = Literal[
    "exact_reference",
    "batch_reference",
    "amount_date_counterparty",
    "many_to_one",
    "one_to_many",
    "manual",
]
MATCH_RULES: Final[tuple[MatchRule, ...]] = (
    "exact_reference",
    "batch_reference",
    "amount_date_counterparty",
    "many_to_one",
    "one_to_many",
    "manual",
)
RETURN_PREFIX: Final = "return:"
date_window_days_max: Final = 31
reference_length_min: Final = 4  # shorter "references" (a page number, "1") identify nothing
_NO_REFERENCE: Final = frozenset({"NONREF", "NOTPROVIDED", "NONE", "NOREF"})


@dataclass(frozen=True, slots=True)
class ExpectedMovement:
    """A movement we expect on our bank account.

    `key` is unique among all movements ("payout:po_…", "batch:<id>", "settlement:<id>").
    `references` are what a bank may quote for it (end-to-end id, its rail's shortened form,
    NACHA trace number; for a batch its PmtInfId and message id). A payout expects a debit on
    its execution date (`due_on`); once the bank said it came back (`returned_on`), a credit
    is expected too. A batch (`members`: payout keys) is booked as one debit, their sum.
    `counterparty_account` may be a visible tail only ("0189").
    """

    key: str
    kind: ExpectedKind
    direction: Direction
    amount: Money
    due_on: date
    references: tuple[str, ...] = ()
    counterparty_name: str = ""
    counterparty_account: str = ""
    payout_id: str = ""
    end_to_end_id: str = ""
    members: tuple[str, ...] = ()
    returned_on: date | None = None


@dataclass(frozen=True, slots=True)
class LineToMatch:
    """A booked statement line as the matcher sees it; `key` is unique among the lines.

    `references` name one movement (end-to-end id, instruction id, trace number);
    `batch_references` a batch (message id, PmtInfId). `returned`: a credit that brings a
    payout back (a return reason, a return transaction code, or a reversal).
    """

    key: str
    direction: Direction
    amount: Money
    booked_on: date
    references: tuple[str, ...] = ()
    batch_references: tuple[str, ...] = ()
    counterparty_name: str = ""
    counterparty_account: str = ""
    returned: bool = False
    return_reason_code: str = ""
    details: tuple[LineToMatch, ...] = ()


@dataclass(frozen=True, slots=True)
class MatchPolicy:
    """How loosely lines match: the date window and the bank-fee tolerance per currency."""

    date_window_days: int = 3
    fee_tolerance_minor: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        invariant(
            0 <= self.date_window_days <= date_window_days_max,
            f"date_window_days must be 0..{date_window_days_max}",
        )
        invariant(
            all(v >= 0 for v in self.fee_tolerance_minor.values()),
            "a fee tolerance is never negative",
        )

    def tolerance(self, currency: str) -> int:
        return self.fee_tolerance_minor.get(currency, 0)


@dataclass(frozen=True, slots=True)
class Match:
    """Lines explained by movements. `expected_keys` are what the match consumes: payout keys
    (a batch consumes its payouts), "return:<payout key>" for a return, settlement keys.
    `fee` is what the bank kept (to be booked as its own adjustment), None when amounts agree."""

    rule: MatchRule
    target: TargetKind
    line_keys: tuple[str, ...]
    expected_keys: tuple[str, ...]
    fee: Money | None
    evidence: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Mismatch:
    """A line whose reference names a movement, but whose amount differs beyond the tolerance
    (`difference` = line minus expected, signed as our balance moves)."""

    line_key: str
    expected_key: str
    difference: Money
    reference: str


@dataclass(frozen=True, slots=True)
class MatchResult:
    matches: tuple[Match, ...]
    mismatches: tuple[Mismatch, ...]
    unmatched: tuple[str, ...]  # line keys: a batch line whose details all stay open is one key
    notes: Mapping[str, str] = field(default_factory=dict)  # why an unmatched line stayed open

    def __post_init__(self) -> None:
        lines = [key for match in self.matches for key in match.line_keys]
        lines += [m.line_key for m in self.mismatches] + list(self.unmatched)
        invariant(len(lines) == len(set(lines)), "a line was matched twice")
        consumed = [key for match in self.matches for key in match.expected_keys]
        invariant(len(consumed) == len(set(consumed)), "a movement was matched twice")


# --- lines and their units ----------------------------------------------------------------------


def units_of(line: LineToMatch) -> tuple[LineToMatch, ...]:
    """The lines that carry money on their own: a batch's details when they add up to it (in
    its direction and currency), else the line itself (its details are information only)."""
    if not line.details:
        return (line,)
    same = all(
        d.direction == line.direction and d.amount.currency == line.amount.currency
        for d in line.details
    )
    total = sum(d.amount.amount_minor for d in line.details)
    return line.details if same and total == line.amount.amount_minor else (line,)


def clean_reference(text: str) -> str:
    """A reference as compared: trimmed, upper-cased; "" when it names nothing (NONREF…)."""
    if not text:
        return ""
    value = text.strip().upper()
    if len(value) < reference_length_min or value in _NO_REFERENCE:
        return ""
    return value


def references_of(values: Iterable[str]) -> tuple[str, ...]:
    """The usable references among `values`, cleaned, without repeats, in order."""
    found: list[str] = []
    for text in values:
        value = clean_reference(text)
        if value and value not in found:
            found.append(value)
    return tuple(found)


def _normal(text: str) -> str:
    return "".join(c for c in text.upper() if c.isalnum())


def counterparty_agrees(line: LineToMatch, expected: ExpectedMovement) -> bool | None:
    """True or False when the two name the same kind of thing (account or name); None when
    they cannot be compared (one of them names nobody)."""
    line_account, tail = _normal(line.counterparty_account), _normal(expected.counterparty_account)
    if line_account and len(tail) >= 2:
        return line_account.endswith(tail)
    line_name, name = _normal(line.counterparty_name), _normal(expected.counterparty_name)
    if line_name and name:
        return line_name == name
    return None


def fee_of(direction: Direction, line_minor: int, expected_minor: int) -> int:
    """What the bank kept: a debit larger than expected, or a credit smaller. Negative when the
    difference is in our favour (never a fee)."""
    return line_minor - expected_minor if direction == "debit" else expected_minor - line_minor


# --- the matcher --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Batch:
    movement: ExpectedMovement
    members: tuple[ExpectedMovement, ...]


class _Matcher:
    """One run of the rules over one set of lines and movements (see the module docstring)."""

    def __init__(
        self,
        lines: Sequence[LineToMatch],
        expected: Sequence[ExpectedMovement],
        consumed: frozenset[str],
        policy: MatchPolicy,
    ) -> None:
        self.policy = policy
        self.consumed: set[str] = set(consumed)
        self.matched_lines: set[str] = set()
        self.matches: list[Match] = []
        self.deferred: dict[str, list[tuple[LineToMatch, str]]] = defaultdict(list)
        self.blocked: set[str] = set()
        self.notes: dict[str, str] = {}
        self.lines = sorted(lines, key=lambda line: (line.booked_on, line.key))
        keys = [line.key for line in self.lines]
        if len(keys) != len(set(keys)):
            raise InvariantViolation("line keys must be unique")
        self._index(sorted(expected, key=lambda movement: movement.key))

    def _index(self, expected: list[ExpectedMovement]) -> None:
        self.by_key: dict[str, ExpectedMovement] = {}
        self.payout_refs: dict[str, str] = {}
        self.settlement_refs: dict[str, str] = {}
        self.batch_refs: dict[str, list[_Batch]] = defaultdict(list)
        batches: list[ExpectedMovement] = []
        for movement in expected:
            if movement.key in self.by_key:
                raise InvariantViolation(f"expected movement {movement.key} given twice")
            self.by_key[movement.key] = movement
            if movement.kind == "payout_batch":
                batches.append(movement)
                continue
            refs = self.payout_refs if movement.kind == "payout" else self.settlement_refs
            for reference in references_of(movement.references):
                refs.setdefault(reference, movement.key)
        self.batches: list[_Batch] = []
        for movement in batches:
            members = tuple(self.by_key[k] for k in movement.members if k in self.by_key)
            if len(members) != len(movement.members) or not members:
                continue  # a batch whose payouts are not all known cannot be checked
            batch = _Batch(movement, members)
            self.batches.append(batch)
            for reference in references_of(movement.references):
                self.batch_refs[reference].append(batch)

    # -- bookkeeping --

    def _open(self, key: str) -> bool:
        return key not in self.consumed

    def _take(
        self,
        rule: MatchRule,
        target: TargetKind,
        lines: Sequence[LineToMatch],
        consumed: Sequence[str],
        fee_minor: int,
        currency: str,
        evidence: dict[str, Any],
    ) -> None:
        self.consumed.update(consumed)
        self.matched_lines.update(line.key for line in lines)
        evidence = {"rule": rule, **evidence}
        if fee_minor:
            evidence["fee_minor"] = fee_minor
        self.matches.append(
            Match(
                rule=rule,
                target=target,
                line_keys=tuple(line.key for line in lines),
                expected_keys=tuple(consumed),
                fee=Money(fee_minor, currency) if fee_minor else None,
                evidence=evidence,
            )
        )

    def _fits(self, direction: Direction, line: Money, expected: Money) -> int | None:
        """The fee when `line` is `expected` within the tolerance, else None."""
        if line.currency != expected.currency:
            return None
        fee = fee_of(direction, line.amount_minor, expected.amount_minor)
        return fee if 0 <= fee <= self.policy.tolerance(line.currency) else None

    def _target_of(self, line: LineToMatch, reference: str) -> tuple[TargetKind, str] | None:
        """The movement a reference on `line` names, as (target, consumable key)."""
        if line.direction == "debit":
            key = self.payout_refs.get(reference)
            return None if key is None else ("payout", key)
        if line.returned:
            key = self.payout_refs.get(reference)
            return None if key is None else ("return", RETURN_PREFIX + key)
        key = self.settlement_refs.get(reference)
        return None if key is None else ("settlement", key)

    def _movement(self, consumable: str) -> ExpectedMovement:
        return self.by_key[consumable.removeprefix(RETURN_PREFIX)]

    # -- rule 1 --

    def exact_references(self, units: Sequence[LineToMatch]) -> None:
        for unit in units:
            for reference in references_of(unit.references):
                found = self._target_of(unit, reference)
                if found is None:
                    continue
                target, key = found
                movement = self._movement(key)
                if not self._open(key):  # a second booking of a matched movement: stays open
                    self.notes[unit.key] = f"{reference} names {key}, which is already matched"
                    self.blocked.add(unit.key)
                    break
                fee = self._fits(unit.direction, unit.amount, movement.amount)
                if fee is not None:
                    self._take(
                        "exact_reference", target, [unit], [key], fee, unit.amount.currency,
                        {"reference": reference, "expected": movement.key},
                    )  # fmt: skip
                else:
                    self.deferred[key].append((unit, reference))
                    self.blocked.add(unit.key)
                break

    # -- rule 2 and 4 (by reference) --

    def batch_references(self, lines: Sequence[LineToMatch], *, partial: bool) -> None:
        for line in lines:
            units = units_of(line)
            if line.direction != "debit" or any(self._taken(u) for u in units):
                continue
            for reference in references_of(line.batch_references):
                if self._try_batches(line, units, reference, partial=partial):
                    break

    def _taken(self, unit: LineToMatch) -> bool:
        """Matched, or kept out of the amount rules because its reference named a movement."""
        return unit.key in self.matched_lines or unit.key in self.blocked

    def _try_batches(
        self, line: LineToMatch, units: Sequence[LineToMatch], reference: str, *, partial: bool
    ) -> bool:
        for batch in self.batch_refs.get(reference, ()):
            members = [m for m in batch.members if self._open(m.key)]
            if not members or (not partial and len(members) != len(batch.members)):
                continue
            if partial and len(members) == len(batch.members):
                continue  # whole batches were tried by rule 2
            total = Money(sum(m.amount.amount_minor for m in members), line.amount.currency)
            if members[0].amount.currency != line.amount.currency:
                continue
            fee = self._fits("debit", line.amount, total)
            if fee is None:
                continue
            self._take(
                "many_to_one" if partial else "batch_reference",
                "payout",
                units,
                [m.key for m in members],
                fee,
                line.amount.currency,
                {"reference": reference, "expected": batch.movement.key, "payouts": len(members)},
            )
            return True
        return False

    # -- rule 3 --

    def amounts(self, units: Sequence[LineToMatch]) -> None:
        buckets: dict[tuple[str, str, int], list[tuple[str, ExpectedMovement, date]]] = defaultdict(
            list
        )
        wanted = {(u.direction, u.amount.currency, u.amount.amount_minor) for u in units}
        if not wanted:
            return
        for movement in self.by_key.values():
            bucket = (movement.direction, movement.amount.currency, movement.amount.amount_minor)
            returns = ("credit", bucket[1], bucket[2])
            if movement.kind == "payout_batch" or (bucket not in wanted and returns not in wanted):
                continue
            if self._open(movement.key):
                direction = movement.direction
                buckets[(direction, movement.amount.currency, movement.amount.amount_minor)].append(
                    (movement.key, movement, movement.due_on)
                )
            return_key = RETURN_PREFIX + movement.key
            if movement.returned_on is not None and self._open(return_key):
                bucket = ("credit", movement.amount.currency, movement.amount.amount_minor)
                buckets[bucket].append((return_key, movement, movement.returned_on))
        for unit in units:
            if self._taken(unit):
                continue
            bucket_key = (unit.direction, unit.amount.currency, unit.amount.amount_minor)
            chosen = self._choose(unit, buckets.get(bucket_key, ()))
            if chosen is None:
                continue
            key, movement, due_on, agreement = chosen
            target: TargetKind = (
                "return"
                if key.startswith(RETURN_PREFIX)
                else "payout"
                if movement.kind == "payout"
                else "settlement"
            )
            self._take(
                "amount_date_counterparty", target, [unit], [key], 0, unit.amount.currency,
                {"expected": movement.key, "date_difference_days": (unit.booked_on - due_on).days,
                 "counterparty": agreement},
            )  # fmt: skip

    def _choose(
        self, unit: LineToMatch, candidates: Iterable[tuple[str, ExpectedMovement, date]]
    ) -> tuple[str, ExpectedMovement, date, str] | None:
        window = self.policy.date_window_days
        agreed: list[tuple[int, str, ExpectedMovement, date]] = []
        unknown: list[tuple[int, str, ExpectedMovement, date]] = []
        for key, movement, due_on in candidates:
            distance = abs((unit.booked_on - due_on).days)
            if distance > window or not self._open(key):
                continue
            if key.startswith(RETURN_PREFIX) != unit.returned:
                continue
            agrees = counterparty_agrees(unit, movement)
            if agrees is True:
                agreed.append((distance, key, movement, due_on))
            elif agrees is None:
                unknown.append((distance, key, movement, due_on))
        if agreed:
            _, key, movement, due_on = min(agreed, key=lambda c: (c[0], c[1]))
            return key, movement, due_on, "agrees"
        if len(unknown) == 1:
            _, key, movement, due_on = unknown[0]
            return key, movement, due_on, "not_compared_single_candidate"
        return None

    # -- rule 4 (by amount) --

    def batch_amounts(self, lines: Sequence[LineToMatch]) -> None:
        by_amount: dict[tuple[str, int], list[_Batch]] = defaultdict(list)
        for batch in self.batches:
            members = [m for m in batch.members if self._open(m.key)]
            if members:
                total = sum(m.amount.amount_minor for m in members)
                by_amount[(members[0].amount.currency, total)].append(batch)
        window = self.policy.date_window_days
        for line in lines:
            units = units_of(line)
            if line.direction != "debit" or line.returned or any(self._taken(u) for u in units):
                continue
            found: dict[tuple[str, ...], _Batch] = {}
            for batch in by_amount.get((line.amount.currency, line.amount.amount_minor), ()):
                if abs((line.booked_on - batch.movement.due_on).days) > window:
                    continue
                keys = tuple(m.key for m in batch.members if self._open(m.key))
                total = sum(self.by_key[k].amount.amount_minor for k in keys)
                if keys and total == line.amount.amount_minor:
                    found.setdefault(keys, batch)
            if len(found) != 1:
                continue  # none, or ambiguous
            keys, batch = next(iter(found.items()))
            self._take(
                "many_to_one", "payout", units, list(keys), 0, line.amount.currency,
                {"expected": batch.movement.key, "payouts": len(keys), "by": "amount_date"},
            )  # fmt: skip

    # -- rule 5 --

    def split_bookings(self) -> list[Mismatch]:
        mismatches: list[Mismatch] = []
        for key in sorted(self.deferred):
            group = [(u, r) for u, r in self.deferred[key] if u.key not in self.matched_lines]
            if not group:
                continue
            movement = self._movement(key)
            units = [u for u, _ in group]
            direction = units[0].direction
            same = all(
                u.direction == direction and u.amount.currency == movement.amount.currency
                for u in units
            )
            total = Money(sum(u.amount.amount_minor for u in units), movement.amount.currency)
            fee = self._fits(direction, total, movement.amount) if same else None
            if len(units) > 1 and fee is not None and self._open(key):
                target: TargetKind = (
                    "return" if key.startswith(RETURN_PREFIX) else
                    "payout" if movement.kind == "payout" else "settlement"
                )  # fmt: skip
                self._take(
                    "one_to_many", target, units, [key], fee, total.currency,
                    {"reference": group[0][1], "expected": movement.key, "lines": len(units)},
                )  # fmt: skip
                continue
            for unit, reference in group:
                difference = unit.amount.amount_minor - movement.amount.amount_minor
                if unit.direction == "debit":
                    difference = -difference
                currency = unit.amount.currency
                mismatches.append(Mismatch(unit.key, key, Money(difference, currency), reference))
        return mismatches

    # -- the run --

    def _still_open(self, lines: Sequence[LineToMatch]) -> list[LineToMatch]:
        return [line for line in lines if not all(self._taken(u) for u in units_of(line))]

    def run(self) -> MatchResult:
        units = [unit for line in self.lines for unit in units_of(line)]
        self.exact_references(units)
        rest = self._still_open(self.lines)  # the later rules look at what is left only
        self.batch_references(rest, partial=False)
        rest = self._still_open(rest)
        self.amounts([unit for line in rest for unit in units_of(line)])
        rest = self._still_open(rest)
        self.batch_references(rest, partial=True)
        self.batch_amounts(self._still_open(rest))
        mismatches = self.split_bookings()
        taken = self.matched_lines | {m.line_key for m in mismatches}
        unmatched: list[str] = []
        for line in self.lines:
            line_units = units_of(line)
            open_units = [u.key for u in line_units if u.key not in taken]
            if len(line_units) > 1 and len(open_units) == len(line_units):
                unmatched.append(line.key)  # the whole batch line is one open item
            else:
                unmatched.extend(open_units)
        matches = sorted(self.matches, key=lambda m: m.line_keys)
        notes = {key: note for key, note in self.notes.items() if key in set(unmatched)}
        return MatchResult(tuple(matches), tuple(mismatches), tuple(unmatched), notes)


def match_lines(
    lines: Sequence[LineToMatch],
    expected: Sequence[ExpectedMovement],
    *,
    policy: MatchPolicy,
    consumed: Iterable[str] = (),
) -> MatchResult:
    """Match `lines` to `expected` by the rules of this module. `consumed` holds the keys that
    earlier statements already matched (payout keys, "return:<payout key>", settlement keys)."""
    return _Matcher(lines, expected, frozenset(consumed), policy).run()


# --- overdue ----------------------------------------------------------------------------------


def overdue(
    expected: Iterable[ExpectedMovement],
    *,
    consumed: Iterable[str],
    disputed: Iterable[str] = (),
    as_of: date,
    grace_days: int,
) -> list[tuple[str, ExpectedMovement, date]]:
    """Movements that should be on a statement by `as_of` and are not: payouts (not batches:
    their payouts are counted) due more than `grace_days` before, and announced returns.
    Returns (consumable key, movement, due date), by key. `disputed` keys (a line names them
    with another amount) are not overdue: their exception says more."""
    done = set(consumed) | set(disputed)
    found: list[tuple[str, ExpectedMovement, date]] = []
    for movement in expected:
        if movement.kind == "payout_batch":
            continue
        if movement.key not in done and (as_of - movement.due_on).days > grace_days:
            found.append((movement.key, movement, movement.due_on))
        return_key = RETURN_PREFIX + movement.key
        returned_on = movement.returned_on
        late = returned_on is not None and (as_of - returned_on).days > grace_days
        if returned_on is not None and late and return_key not in done:
            found.append((return_key, movement, returned_on))
    return sorted(found, key=lambda item: item[0])
