"""Pure rules of reporting: a statement's language and locale, what category a movement shows
under, how ledger entries become statement lines, and the checks every report must pass
(opening + movements = closing; a composition sums to its payout; a trial balance sums to zero;
export intervals follow each other with no gap and no overlap).

No I/O and no clock: the service reads, these functions decide and check.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Final
from uuid import UUID

from babel import localedata

from sellerpay.balances.rules import SellerAccount, source_category
from sellerpay.errors import InvalidInput, invariant
from sellerpay.money import Money

LANGUAGES: Final = ("en", "fr", "es", "ja")
_LANGUAGE_OF_COUNTRY: Final[Mapping[str, str]] = {
    **dict.fromkeys(("FR", "BE", "LU", "MC"), "fr"),
    **dict.fromkeys(("ES", "MX", "AR", "CO", "CL", "PE", "UY"), "es"),
    "JP": "ja",
}
_DEFAULT_LOCALE: Final[Mapping[str, str]] = {
    "en": "en_US",
    "fr": "fr_FR",
    "es": "es_ES",
    "ja": "ja_JP",
}
EXPORT_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
"""Where the first analytics export starts when neither a watermark nor `since` says."""
cash_position_days_max: Final = 366


def statement_language(country: str, preferred: str | None = None) -> str:
    """The language of a seller's statements: `preferred` when given (one of `LANGUAGES`,
    else `InvalidInput(unsupported_language)`), else the country's (FR → fr, JP → ja…), else en.
    """
    if preferred is not None:
        if preferred not in LANGUAGES:
            raise InvalidInput(
                f"statements are written in {', '.join(LANGUAGES)}, not {preferred[:20]!r}",
                code="unsupported_language",
                field="language",
            )
        return preferred
    return _LANGUAGE_OF_COUNTRY.get(country, "en")


def statement_locale(language: str, country: str) -> str:
    """The CLDR locale for money and dates: the language as written in the seller's country
    (`fr_BE`, `en_GB`) when CLDR knows it, else the language's home locale (`fr_FR`)."""
    candidate = f"{language}_{country}"
    if re.fullmatch(r"[A-Z]{2}", country) and localedata.exists(candidate):
        return candidate
    return _DEFAULT_LOCALE[language]


class StatementCategory(StrEnum):
    """What a statement line is, for a seller (one word per family of movements)."""

    ORDER = "order"
    FEE = "fee"
    REFUND = "refund"
    DISPUTE = "dispute"
    PAYOUT = "payout"
    RETURN = "return"  # a payout the seller's bank sent back
    ADJUSTMENT = "adjustment"
    RELEASE = "release"  # pending → available: the seller's total does not move
    RESERVE = "reserve"  # available ↔ reserve: the total does not move either


# Payouts' transaction kinds (payouts/service.py): a failed or canceled payout gives the money
# back, still under "payout"; a bank return and its fee are shown as such.
_CATEGORY_OF_KIND: Final[Mapping[str, StatementCategory]] = {
    "payout": StatementCategory.PAYOUT,
    "payout_canceled": StatementCategory.PAYOUT,
    "payout_failed": StatementCategory.PAYOUT,
    "payout_returned": StatementCategory.RETURN,
    "payout_return_fee": StatementCategory.FEE,
}


def statement_category(kind: str, account: SellerAccount) -> StatementCategory:
    """The category of a movement of a ledger transaction `kind` on `account`: the payouts'
    kinds and `reserve.*` first, then the balances' own rule (`order.paid` → order, the fee of
    a lost dispute → fee, an unknown kind → adjustment)."""
    known = _CATEGORY_OF_KIND.get(kind)
    if known is not None:
        return known
    if kind.startswith("reserve."):
        return StatementCategory.RESERVE
    return StatementCategory(source_category(kind, account).value)


# --- statements ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatementMovement:
    """One entry on one of the seller's accounts, signed on the seller's side (+ owed to the
    seller), in statement order (effective time, then posting order)."""

    transaction_id: UUID
    effective_at: datetime
    posted_at: datetime
    kind: str
    description: str
    references: Mapping[str, str]
    account: SellerAccount
    amount: Money
    gross: Money | None = None  # an order's gross and fee, when its breakdown is known
    fee: Money | None = None


@dataclass(frozen=True, slots=True)
class StatementLine:
    """What one transaction did to the seller's money under one category: the change of each
    of the seller's accounts it touched, their sum (`amount`) and the seller's total after it.

    Moves between the seller's own accounts (a release, a dispute hold) have amount 0 and show
    in `changes` where the money went."""

    transaction_id: UUID
    effective_at: datetime
    posted_at: datetime
    kind: str
    category: StatementCategory
    description: str
    references: Mapping[str, str]
    changes: Mapping[SellerAccount, Money]
    amount: Money
    balance_after: Money
    gross: Money | None = None
    fee: Money | None = None


@dataclass(frozen=True, slots=True)
class SellerStatement:
    """A seller's statement for one currency and the period [period_start, period_end); a
    statement asked "until now" holds every entry posted, and its end is when it was made."""

    seller_id: str
    legal_name: str
    country: str
    currency: str
    language: str
    locale: str
    period_start: datetime | None  # None: since the seller's first movement
    period_end: datetime
    generated_at: datetime
    opening: Mapping[SellerAccount, Money]
    closing: Mapping[SellerAccount, Money]
    lines: tuple[StatementLine, ...] = field(default=())

    @property
    def opening_balance(self) -> Money:
        return total_of(self.opening, self.currency)

    @property
    def closing_balance(self) -> Money:
        return total_of(self.closing, self.currency)


def total_of(balances: Mapping[SellerAccount, Money], currency: str) -> Money:
    """The seller's total in `currency`: the sum of its accounts' balances (missing = 0)."""
    total = Money.zero(currency)
    for account in SellerAccount:
        total += balances.get(account, Money.zero(currency))
    return total


def statement_lines(
    currency: str,
    opening: Mapping[SellerAccount, Money],
    movements: Sequence[StatementMovement],
) -> tuple[StatementLine, ...]:
    """Group `movements` into lines — one per transaction and category, in the order they come —
    with the seller's running total after each line, starting from `opening`."""
    lines: list[StatementLine] = []
    balance = total_of(opening, currency)
    group: dict[StatementCategory, list[StatementMovement]] = {}
    for index, movement in enumerate(movements):
        if movement.amount.currency != currency:
            raise InvalidInput(
                f"movement {index} is in {movement.amount.currency}, not {currency}",
                code="currency_mismatch",
            )
        if group and next(iter(group.values()))[0].transaction_id != movement.transaction_id:
            balance = _flush(group, balance, lines)
        category = statement_category(movement.kind, movement.account)
        group.setdefault(category, []).append(movement)
    _flush(group, balance, lines)
    return tuple(lines)


def _flush(
    group: dict[StatementCategory, list[StatementMovement]],
    balance: Money,
    lines: list[StatementLine],
) -> Money:
    """Turn one transaction's movements into its lines; return the running total after them."""
    for category, movements in group.items():
        changes: dict[SellerAccount, Money] = {}
        for movement in movements:
            previous = changes.get(movement.account, Money.zero(movement.amount.currency))
            changes[movement.account] = previous + movement.amount
        amount = sum((m.amount for m in movements[1:]), movements[0].amount)
        balance += amount
        first = movements[0]
        lines.append(
            StatementLine(
                transaction_id=first.transaction_id,
                effective_at=first.effective_at,
                posted_at=first.posted_at,
                kind=first.kind,
                category=category,
                description=first.description,
                references=first.references,
                changes=changes,
                amount=amount,
                balance_after=balance,
                gross=next((m.gross for m in movements if m.gross is not None), None),
                fee=next((m.fee for m in movements if m.fee is not None), None),
            )
        )
    group.clear()
    return balance


def check_statement(
    currency: str,
    opening: Mapping[SellerAccount, Money],
    lines: Sequence[StatementLine],
    closing: Mapping[SellerAccount, Money],
) -> None:
    """Opening + movements = closing, for each of the seller's accounts and for the total;
    `InvariantViolation` naming the account otherwise (the reads disagree: a bug, never input)."""
    zero = Money.zero(currency)
    for account in SellerAccount:
        moved = zero
        for line in lines:
            moved += line.changes.get(account, zero)
        start, end = opening.get(account, zero), closing.get(account, zero)
        invariant(
            start + moved == end,
            f"statement {account.value}: opening {start} + movements {moved} != closing {end}",
        )
    running = total_of(opening, currency)
    for line in lines:
        running += line.amount
        invariant(line.balance_after == running, f"running balance of {line.transaction_id}")
    invariant(
        running == total_of(closing, currency),
        f"statement total: {running} after the movements != closing {total_of(closing, currency)}",
    )


def check_period(start: datetime | None, end: datetime) -> None:
    """A period [start, end) must not be empty or reversed."""
    if start is not None and start >= end:
        raise InvalidInput("`from` must be before `to`", code="invalid_date_range", field="from")


def check_days(start: date, end: date) -> None:
    """A report by day covers start..end inclusive, at most `cash_position_days_max` days."""
    if start > end:
        raise InvalidInput("`from` must not be after `to`", code="invalid_date_range", field="from")
    if (end - start).days + 1 > cash_position_days_max:
        raise InvalidInput(
            f"at most {cash_position_days_max} days at once",
            code="days_max",
            field="to",
        )


# --- payout composition and trial balance ---------------------------------------------------


def check_composition(payout_id: str, total: Money, amounts: Sequence[Money]) -> None:
    """The lines of a payout's composition sum exactly to the amount it took from the balance."""
    paid = sum(amounts, Money.zero(total.currency))
    invariant(paid == total, f"composition of {payout_id} sums to {paid}, not {total}")


_SELLER_CODE: Final = re.compile(r"seller:sel_[0-9A-Za-z]{1,64}:(?P<purpose>[a-z_]+)")


def chart_line(code: str) -> str:
    """The line of the chart an account belongs to: a seller's id becomes `*`
    (`seller:*:available`); platform accounts are their own line."""
    match = _SELLER_CODE.fullmatch(code)
    return f"seller:*:{match['purpose']}" if match else code


def check_trial_balance(totals: Mapping[str, tuple[Money, Money]]) -> None:
    """Every currency's debits equal its credits (the ledger sums to zero)."""
    for currency, (debits, credits) in totals.items():
        invariant(
            debits == credits,
            f"trial balance in {currency}: debits {debits} != credits {credits}",
        )


# --- analytics export intervals -------------------------------------------------------------


def export_interval(
    *,
    exported_until: datetime | None,
    pending: tuple[datetime, datetime] | None,
    since: datetime | None,
    cutoff: datetime,
) -> tuple[datetime, datetime] | None:
    """The next interval [start, end) to export, or None when there is nothing new yet.

    An interval begun and not finished (`pending`: a crash) is done again exactly, so its
    files are rewritten identically; otherwise the next starts where the last ended (the
    watermark), so intervals neither overlap nor leave a gap. `since` only says where the very
    first export starts: against an existing watermark it would duplicate or skip rows.
    """
    if pending is not None:
        return pending
    if exported_until is not None and since is not None and since != exported_until:
        raise InvalidInput(
            f"this folder was exported up to {exported_until.isoformat()}: --since "
            f"{since.isoformat()} would export rows twice or leave a gap (use a new folder)",
            code="since_conflicts_with_watermark",
            field="since",
        )
    start = exported_until or since or EXPORT_EPOCH
    return (start, cutoff) if cutoff > start else None
