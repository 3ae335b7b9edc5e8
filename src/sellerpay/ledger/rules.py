"""Pure rules of the ledger: the chart of accounts, what a valid transaction is, account flags.

No I/O and no clock here: the service gives these functions what they decide on.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

from sellerpay.errors import InvalidInput, LimitExceeded, Rejected
from sellerpay.money import Money

entries_per_transaction_max: Final = 64
idempotency_key_length_max: Final = 255
account_code_length_max: Final = 200
metadata_keys_max: Final = 50
metadata_value_length_max: Final = 500
description_length_max: Final = 500
_KIND = re.compile(r"[a-z][a-z0-9_.]{0,63}")
_META_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,63}")
JsonScalar = str | int | bool | None


class Side(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


class AccountKind(StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    REVENUE = "revenue"
    EXPENSE = "expense"


@dataclass(frozen=True, slots=True)
class AccountRule:
    """One line of the chart of accounts: which codes it covers and how such accounts behave."""

    pattern: re.Pattern[str]
    kind: AccountKind
    debits_must_not_exceed_credits: bool = False
    credits_must_not_exceed_debits: bool = False
    description: str = ""

    @property
    def normal_side(self) -> Side:
        return Side.DEBIT if self.kind in (AccountKind.ASSET, AccountKind.EXPENSE) else Side.CREDIT


_SELLER = r"seller:sel_[0-9A-Za-z]{1,64}"
_ID = r"[a-z0-9][a-z0-9_\-]{0,63}"

# The chart of ARCHITECTURE.md. Accounts matching a line are opened on first use.
CHART: Final[tuple[AccountRule, ...]] = (
    AccountRule(
        re.compile(r"platform:psp_clearing"),
        AccountKind.ASSET,
        description="money customers paid, held at the payment provider",
    ),
    AccountRule(
        re.compile(rf"platform:bank:{_ID}"), AccountKind.ASSET, description="our account at a bank"
    ),
    AccountRule(
        re.compile(r"platform:payouts_in_transit"),
        AccountKind.LIABILITY,
        debits_must_not_exceed_credits=True,
        description="paid out of seller balances, not yet confirmed by the bank",
    ),
    AccountRule(
        re.compile(r"platform:refunds_payable"),
        AccountKind.LIABILITY,
        debits_must_not_exceed_credits=True,
        description="refunds owed to customers",
    ),
    AccountRule(
        re.compile(r"platform:revenue:(commission|payout_fees|financing_fees|fx|dispute_fees)"),
        AccountKind.REVENUE,
        description="fees earned",
    ),
    AccountRule(
        re.compile(r"platform:fx:[A-Z]{3}"),
        AccountKind.ASSET,
        description="currency conversion position, one per currency",
    ),
    AccountRule(
        re.compile(r"platform:losses"),
        AccountKind.EXPENSE,
        description="write-offs and unrecoverable lost disputes",
    ),
    AccountRule(
        re.compile(r"platform:adjustments"),
        AccountKind.EXPENSE,
        description="manual credits to sellers (debits when a seller is charged by hand)",
    ),
    AccountRule(
        re.compile(rf"{_SELLER}:pending"),
        AccountKind.LIABILITY,
        debits_must_not_exceed_credits=True,
        description="seller funds from paid orders, not yet releasable",
    ),
    AccountRule(
        re.compile(rf"{_SELLER}:available"),
        AccountKind.LIABILITY,
        description="seller funds that may be paid out; negative after refunds",
    ),
    AccountRule(
        re.compile(rf"{_SELLER}:dispute_hold"),
        AccountKind.LIABILITY,
        debits_must_not_exceed_credits=True,
        description="seller funds blocked while a customer's dispute is open",
    ),
    AccountRule(
        re.compile(rf"{_SELLER}:reserve"),
        AccountKind.LIABILITY,
        debits_must_not_exceed_credits=True,
        description="seller funds withheld by a risk rule",
    ),
    AccountRule(
        re.compile(rf"{_SELLER}:advance_receivable"),
        AccountKind.ASSET,
        credits_must_not_exceed_debits=True,
        description="financing paid to the seller, repaid from sales",
    ),
)


def account_rule(code: str, currency: str) -> AccountRule:
    """The chart line for `code` in `currency`, or `InvalidInput(account_not_in_chart)`."""
    if len(code) > account_code_length_max:
        raise InvalidInput(
            f"account code longer than {account_code_length_max} characters",
            code="account_not_in_chart",
            account=code[:50],
        )
    for rule in CHART:
        if rule.pattern.fullmatch(code):
            if code.startswith("platform:fx:") and code[-3:] != currency:
                raise InvalidInput(
                    f"{code} holds {code[-3:]} only, not {currency}",
                    code="account_currency_mismatch",
                    account=code,
                )
            return rule
    raise InvalidInput(
        f"{code!r} is not an account of the chart of accounts",
        code="account_not_in_chart",
        account=code,
    )


@dataclass(frozen=True, slots=True)
class EntryRequest:
    """One leg to post: an account, a side and a positive amount."""

    account: str
    side: Side
    amount: Money


@dataclass(frozen=True, slots=True)
class TransactionRequest:
    """A transaction to post, with the idempotency key that makes posting it safe to repeat."""

    idempotency_key: str
    kind: str
    entries: tuple[EntryRequest, ...]
    effective_at: datetime | None = None
    references: Mapping[str, str] = field(default_factory=dict)
    metadata: Mapping[str, JsonScalar] = field(default_factory=dict)
    description: str = ""

    def fingerprint(self) -> str:
        """SHA-256 of the canonical input: same key and same fingerprint means the same request."""
        canonical = {
            "kind": self.kind,
            "entries": [
                [e.account, e.side.value, e.amount.amount_minor, e.amount.currency]
                for e in self.entries
            ],
            "effective_at": (
                None if self.effective_at is None else _canonical_time(self.effective_at)
            ),
            "references": dict(self.references),
            "metadata": dict(self.metadata),
            "description": self.description,
        }
        text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()


def _canonical_time(moment: datetime) -> str:
    """One spelling per instant: the same moment given in another zone is the same request."""
    return moment.astimezone(UTC).isoformat() if moment.tzinfo is not None else moment.isoformat()


def validate_transaction(request: TransactionRequest) -> None:
    """Raise `InvalidInput` unless `request` is a well-formed, balanced transaction."""
    key = request.idempotency_key
    if not key or len(key) > idempotency_key_length_max or not key.isprintable():
        raise InvalidInput(
            f"idempotency key must be 1 to {idempotency_key_length_max} printable characters",
            code="invalid_idempotency_key",
        )
    if not _KIND.fullmatch(request.kind):
        raise InvalidInput("kind must match [a-z][a-z0-9_.]{0,63}", code="invalid_kind")
    if len(request.entries) < 2:
        raise InvalidInput("a transaction needs at least two entries", code="too_few_entries")
    if len(request.entries) > entries_per_transaction_max:
        raise LimitExceeded(
            f"a transaction has at most {entries_per_transaction_max} entries",
            code="entries_per_transaction_max",
        )
    if request.effective_at is not None and request.effective_at.tzinfo is None:
        raise InvalidInput("effective_at needs a timezone", code="naive_datetime")
    _validate_entries(request.entries)
    _validate_labels(request)


def _validate_entries(entries: Sequence[EntryRequest]) -> None:
    net: dict[str, int] = {}
    for index, entry in enumerate(entries):
        if entry.amount.amount_minor <= 0:
            raise InvalidInput(
                f"entry {index}: amount must be positive, got {entry.amount.amount_minor}",
                code="amount_not_positive",
                entry=index,
            )
        account_rule(entry.account, entry.amount.currency)
        signed = (
            entry.amount.amount_minor if entry.side is Side.DEBIT else -entry.amount.amount_minor
        )
        net[entry.amount.currency] = net.get(entry.amount.currency, 0) + signed
    unbalanced = {currency: amount for currency, amount in net.items() if amount != 0}
    if unbalanced:
        detail = ", ".join(
            f"{c} debits exceed credits by {a}" if a > 0 else f"{c} credits exceed debits by {-a}"
            for c, a in sorted(unbalanced.items())
        )
        raise InvalidInput(
            f"transaction does not balance: {detail}",
            code="unbalanced",
            unbalanced_minor=unbalanced,
        )


def _validate_labels(request: TransactionRequest) -> None:
    if len(request.description) > description_length_max:
        raise LimitExceeded(
            f"description longer than {description_length_max} characters",
            code="description_length_max",
        )
    for name, mapping in (("references", request.references), ("metadata", request.metadata)):
        if len(mapping) > metadata_keys_max:
            raise LimitExceeded(
                f"{name} has more than {metadata_keys_max} keys", code="metadata_keys_max"
            )
        for key, value in mapping.items():
            if not _META_KEY.fullmatch(key):
                raise InvalidInput(
                    f"{name} key {key!r} must match {_META_KEY.pattern}",
                    code="invalid_metadata_key",
                )
            if isinstance(value, float) or (
                isinstance(value, str) and len(value) > metadata_value_length_max
            ):
                raise InvalidInput(
                    f"{name}[{key}] must be a string of at most {metadata_value_length_max} "
                    "characters, an integer, a boolean or null",
                    code="invalid_metadata_value",
                )


@dataclass(slots=True)
class BalanceState:
    """An account's running totals while a batch is computed (mutable on purpose, local only)."""

    debits_posted: int
    credits_posted: int
    version: int
    debits_must_not_exceed_credits: bool
    credits_must_not_exceed_debits: bool
    normal_side: Side

    @property
    def balance(self) -> int:
        """Balance on the normal side: what a seller is owed, what the bank holds."""
        if self.normal_side is Side.CREDIT:
            return self.credits_posted - self.debits_posted
        return self.debits_posted - self.credits_posted


def flag_breach(state: BalanceState, debits: int, credits: int) -> str | None:
    """The flag `state` would break after adding `debits` and `credits`, or None."""
    if state.debits_must_not_exceed_credits and (
        state.debits_posted + debits > state.credits_posted + credits
    ):
        return "debits_must_not_exceed_credits"
    if state.credits_must_not_exceed_debits and (
        state.credits_posted + credits > state.debits_posted + debits
    ):
        return "credits_must_not_exceed_debits"
    return None


class FlagViolation(Rejected):
    """Posting would break an account flag; the transaction was not posted."""

    default_code = "debits_must_not_exceed_credits"


def reversal_of(entries: Sequence[EntryRequest]) -> tuple[EntryRequest, ...]:
    """The mirror legs of `entries`: every debit becomes a credit of the same amount, and back."""
    return tuple(
        EntryRequest(e.account, Side.CREDIT if e.side is Side.DEBIT else Side.DEBIT, e.amount)
        for e in entries
    )
