"""Pure rules of payouts: the state machine, who is paid how much, approvals, composition, FX.

No I/O. The service feeds these functions what it read and writes what they decide, so the
decisions are tested exhaustively (tests/payouts/test_payouts_rules*.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Final

from sellerpay.errors import Conflict, Forbidden, InvalidInput
from sellerpay.money import ExchangeRate, Money, RoundingMode
from sellerpay.money.rates import rate_as_fraction


class PayoutStatus(StrEnum):
    PENDING = "pending"  # created, waiting for approval (or for its bank account's cool-down)
    APPROVED = "approved"  # may be submitted on its execution date
    PROCESSING = "processing"  # claimed for a submission; "submitting" is written before sending
    SUBMITTED = "submitted"  # the bank accepted the instruction for processing
    PAID = "paid"  # the bank confirmed the money left (status report or statement)
    FAILED = "failed"  # rejected by the bank before execution: money back to available
    RETURNED = "returned"  # paid, then sent back by the seller's bank with a reason code
    CANCELED = "canceled"  # stopped before submission: money back to available


_P = PayoutStatus
TRANSITIONS: Final[Mapping[PayoutStatus, frozenset[PayoutStatus]]] = {
    _P.PENDING: frozenset({_P.APPROVED, _P.CANCELED}),
    _P.APPROVED: frozenset({_P.PROCESSING, _P.CANCELED}),
    # back to approved only when the bank said, when asked, that it never received it
    _P.PROCESSING: frozenset({_P.SUBMITTED, _P.FAILED, _P.PAID, _P.APPROVED}),
    _P.SUBMITTED: frozenset({_P.PAID, _P.FAILED}),
    _P.PAID: frozenset({_P.RETURNED}),
    _P.FAILED: frozenset(),
    _P.RETURNED: frozenset(),
    _P.CANCELED: frozenset(),
}
TERMINAL: Final = frozenset(s for s, nexts in TRANSITIONS.items() if not nexts)
MONEY_BACK: Final = frozenset({_P.FAILED, _P.CANCELED})  # creation is reversed


def check_transition(payout_id: str, current: PayoutStatus, new: PayoutStatus) -> None:
    """Raise `Conflict(invalid_transition)` unless the state machine allows `current -> new`."""
    if new not in TRANSITIONS[current]:
        raise Conflict(
            f"payout {payout_id} is {current.value}; it cannot become {new.value}",
            code="invalid_transition",
            payout_id=payout_id,
            current=current.value,
            requested=new.value,
        )


class SkipReason(StrEnum):
    """Why a due seller got no payout in a run (the seller sees it)."""

    BELOW_MINIMUM = "below_minimum"
    NOTHING_AVAILABLE = "nothing_available"
    NEGATIVE_BALANCE = "negative_balance"
    NO_BANK_ACCOUNT = "no_verified_bank_account"
    BANK_ACCOUNT_COOLDOWN = "bank_account_in_cooldown"
    BANK_ACCOUNT_DISABLED = "bank_account_disabled"
    PAYOUTS_DISABLED = "payouts_disabled"
    NO_EXCHANGE_RATE = "no_exchange_rate"
    PAYOUT_IN_FLIGHT = "payout_in_flight"  # an earlier payout of this balance is not settled


SKIP_DESCRIPTIONS: Final[Mapping[SkipReason, str]] = {
    SkipReason.BELOW_MINIMUM: "the payable amount is below the schedule's minimum",
    SkipReason.NOTHING_AVAILABLE: "no available funds",
    SkipReason.NEGATIVE_BALANCE: "the available balance is negative: it is recovered first",
    SkipReason.NO_BANK_ACCOUNT: "no verified bank account for this currency",
    SkipReason.BANK_ACCOUNT_COOLDOWN: "the bank account changed recently and is in cool-down",
    SkipReason.BANK_ACCOUNT_DISABLED: "the bank account was disabled after a bank return",
    SkipReason.PAYOUTS_DISABLED: "payouts are disabled for this seller",
    SkipReason.NO_EXCHANGE_RATE: "no exchange rate to the bank account's currency",
    SkipReason.PAYOUT_IN_FLIGHT: "an earlier payout is still being created",
}


@dataclass(frozen=True, slots=True)
class Destination:
    """What a run needs to know of the bank account it would pay."""

    bank_account_id: str
    currency: str
    rail: str
    verified: bool
    cooldown_until: datetime | None
    hold_released: bool
    disabled_reason: str | None


@dataclass(frozen=True, slots=True)
class Candidate:
    """A due seller and currency, with everything the decision reads."""

    seller_id: str
    available: Money
    minimum: Money
    payouts_enabled: bool
    payouts_disabled_reason: str | None
    destination: Destination | None


@dataclass(frozen=True, slots=True)
class Decision:
    """Pay `amount` to `destination`, or skip with `skip_reason`; `held` marks a payout that is
    created but waits (cool-down) instead of being skipped."""

    seller_id: str
    amount: Money | None
    skip_reason: SkipReason | None
    destination: Destination | None
    detail: str = ""


def decide(candidate: Candidate, *, now: datetime) -> Decision:
    """The payable amount of a due seller, or the first reason not to pay, in a fixed order:
    capability, balance, bank account, minimum. Payable is the whole available balance: what
    must stay (reserve, dispute holds) lives in its own accounts and negative balances are
    recovered before anything is paid."""
    c = candidate

    def skip(reason: SkipReason, detail: str = "") -> Decision:
        return Decision(
            c.seller_id, None, reason, c.destination, detail or SKIP_DESCRIPTIONS[reason]
        )

    if not c.payouts_enabled:
        return skip(SkipReason.PAYOUTS_DISABLED, c.payouts_disabled_reason or "")
    if c.available.amount_minor < 0:
        return skip(SkipReason.NEGATIVE_BALANCE)
    if c.available.amount_minor == 0:
        return skip(SkipReason.NOTHING_AVAILABLE)
    d = c.destination
    if d is None or not d.verified:
        return skip(SkipReason.NO_BANK_ACCOUNT)
    if d.disabled_reason is not None:
        return skip(SkipReason.BANK_ACCOUNT_DISABLED, d.disabled_reason)
    if d.cooldown_until is not None and now < d.cooldown_until and not d.hold_released:
        return skip(
            SkipReason.BANK_ACCOUNT_COOLDOWN,
            f"bank account in cool-down until {d.cooldown_until.isoformat()}",
        )
    if c.available.amount_minor < c.minimum.amount_minor:
        return skip(SkipReason.BELOW_MINIMUM)
    return Decision(c.seller_id, c.available, None, d)


# --- approvals -------------------------------------------------------------------------------


class ApprovalReason(StrEnum):
    ABOVE_THRESHOLD = "above_threshold"
    FIRST_PAYOUT_TO_ACCOUNT = "first_payout_to_bank_account"
    MANUAL = "manual_payout"


def approval_reasons(
    amount: Money,
    *,
    thresholds: Mapping[str, int],
    first_to_account: bool,
    manual: bool,
) -> tuple[ApprovalReason, ...]:
    """Why a second person must approve this payout (empty: approved automatically)."""
    reasons = []
    threshold = thresholds.get(amount.currency)
    if threshold is not None and amount.amount_minor > threshold:
        reasons.append(ApprovalReason.ABOVE_THRESHOLD)
    if first_to_account:
        reasons.append(ApprovalReason.FIRST_PAYOUT_TO_ACCOUNT)
    if manual:
        reasons.append(ApprovalReason.MANUAL)
    return tuple(reasons)


def check_approver(
    payout_id: str, approver: str, *, requested_by: str, bank_account_changed_by: str | None
) -> None:
    """Four eyes: the approver is neither the requester nor the last person to change the bank
    account the payout goes to."""
    if approver == requested_by:
        raise Forbidden(
            f"{approver} requested payout {payout_id} and cannot approve it",
            code="approver_is_requester",
        )
    if bank_account_changed_by is not None and approver == bank_account_changed_by:
        raise Forbidden(
            f"{approver} last changed the bank account of payout {payout_id} and cannot approve it",
            code="approver_changed_bank_account",
        )


# --- composition -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StreamItem:
    """A movement of a seller's available balance that a payout may pay: one ledger entry
    (signed: credits add, debits subtract) identified by the account version it produced."""

    account_version: int
    transaction_id: str
    kind: str
    amount: Money  # signed
    references: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class CompositionItem:
    """One line of a payout's composition: (part of) a balance transaction it pays."""

    account_version: int
    transaction_id: str
    kind: str
    amount: Money  # signed; the part of the movement this payout pays
    references: Mapping[str, str]
    partial: bool = False


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the next payout's composition starts: after `account_version`, plus `carried`
    left over of the movement at `account_version` (a partial payout split it)."""

    account_version: int
    carried: Money
    carried_transaction_id: str = ""
    carried_kind: str = ""


def compose(
    cursor: Cursor, stream: Sequence[StreamItem], amount: Money
) -> tuple[tuple[CompositionItem, ...], Cursor]:
    """Take movements first in, first out until they sum exactly to `amount`.

    `stream` holds the movements after `cursor.account_version`, in version order, payouts
    excluded. When `amount` is the whole unpaid balance everything is taken; when less, the
    movement that crosses `amount` (always a credit) is split and its rest carried forward.
    The items always sum to `amount` exactly (InvalidInput if the stream cannot cover it).
    """
    if amount.amount_minor <= 0:
        raise InvalidInput("a payout amount must be positive", code="invalid_amount")
    items: list[CompositionItem] = []
    total = 0
    if cursor.carried.amount_minor:
        items.append(
            CompositionItem(
                cursor.account_version,
                cursor.carried_transaction_id,
                cursor.carried_kind,
                cursor.carried,
                {},
                partial=True,
            )
        )
        total = cursor.carried.amount_minor
    pending: list[StreamItem] = list(stream)
    unpaid = total + sum(i.amount.amount_minor for i in pending)
    if unpaid < amount.amount_minor:
        raise InvalidInput(
            f"the movements not yet paid sum to {unpaid} minor units, less than the payout "
            f"of {amount.amount_minor}",
            code="composition_short",
        )
    last_version = cursor.account_version
    if unpaid == amount.amount_minor:  # the whole unpaid balance: every movement, whole
        for item in pending:
            items.append(_whole(item))
            last_version = item.account_version
        return tuple(items), Cursor(last_version, Money(0, amount.currency))
    if total > amount.amount_minor:  # the carried rest alone is more than this payout
        first = items[0]
        rest = total - amount.amount_minor
        items[0] = CompositionItem(
            first.account_version, first.transaction_id, first.kind, amount, {}, partial=True
        )
        return tuple(items), Cursor(
            cursor.account_version,
            Money(rest, amount.currency),
            cursor.carried_transaction_id,
            cursor.carried_kind,
        )
    if total == amount.amount_minor:  # the carried rest pays it exactly
        return tuple(items), Cursor(last_version, Money(0, amount.currency))
    for item in pending:
        after = total + item.amount.amount_minor
        if after >= amount.amount_minor and item.amount.amount_minor > 0:
            taken = amount.amount_minor - total
            items.append(
                CompositionItem(
                    item.account_version,
                    item.transaction_id,
                    item.kind,
                    Money(taken, amount.currency),
                    item.references,
                    partial=taken != item.amount.amount_minor,
                )
            )
            rest = item.amount.amount_minor - taken
            return tuple(items), Cursor(
                item.account_version, Money(rest, amount.currency), item.transaction_id, item.kind
            )
        items.append(_whole(item))
        total = after
    raise AssertionError("unreachable: unpaid >= amount")  # pragma: no cover


def _whole(item: StreamItem) -> CompositionItem:
    return CompositionItem(
        item.account_version, item.transaction_id, item.kind, item.amount, item.references
    )


# --- FX at payout ----------------------------------------------------------------------------

fx_rounding: Final = RoundingMode.DOWN  # the seller never receives a unit the rate did not give


@dataclass(frozen=True, slots=True)
class Conversion:
    """A balance in one currency paid in another: `source` leaves the balance, `paid` reaches
    the bank account, `margin` (in the paid currency) is our FX revenue, `rate` the mid rate."""

    source: Money
    mid: Money
    paid: Money
    margin: Money
    rate: Decimal
    margin_bps: int


def convert_for_payout(source: Money, rate: ExchangeRate, *, margin_bps: int) -> Conversion:
    """Convert at the mid rate, then keep `margin_bps` of the converted amount as FX revenue.

    Both roundings go down, so `paid + margin == mid` exactly and `paid` never exceeds what
    the rate gives."""
    if not 0 <= margin_bps <= 1_000:
        raise InvalidInput("the FX margin must be between 0 and 1000 bps", code="invalid_margin")
    rate_as_fraction(rate.rate, name="exchange rate")
    mid = rate.convert(source, rounding=fx_rounding)
    margin = mid.fee_bps(margin_bps, rounding=RoundingMode.DOWN)
    return Conversion(source, mid, mid - margin, margin, rate.rate, margin_bps)


# --- identifiers -----------------------------------------------------------------------------

END_TO_END_PREFIX: Final = "SP"


def end_to_end_id(payout_id: str) -> str:
    """A 35-character-safe end-to-end id for a payout, unique because the payout id is.

    Letters and digits only (every rail's character set), 20 characters: fits Zengin's
    customer code and NACHA's individual id (15 after the prefix is dropped, see the rail).
    """
    digest = hashlib.sha256(payout_id.encode()).hexdigest().upper()
    return f"{END_TO_END_PREFIX}{digest[:18]}"
