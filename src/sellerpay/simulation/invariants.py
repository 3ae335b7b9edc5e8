"""The end-of-run judgement: every invariant of RELIABILITY.md, checked against the world's
end state, each from a source the code under test does not control where one exists (the
simulated bank's own books, the outbox as a subscriber reads it, the events the marketplace
remembers sending).

    ledger_verified        1, 2, 3  every transaction balances, every balance equals its
                                    entries, no flagged account went beyond its limit
    money_equation         6        per currency: cash at bank + receivables (+ FX position,
                                    + expenses) = owed to sellers and customers + in transit
                                    + revenue, from the ledger's balances by account kind
    bank_at_most_once      5        the bank executed no end-to-end id twice, and no payout
                                    reached it in two different files
    payout_states          7        every payout event follows the state machine, in order, and
                                    every payout's status is the one its last event announced
    in_transit_matches     6, 7     the ledger's money in transit is exactly the open payouts
    bank_agrees            5, 6     our bank account in the ledger equals the bank's own
                                    balance, and every payout's state agrees with the bank's
    events_not_lost        4, 8     every event sent is stored: applied, a duplicate, parked
                                    with its reason, or rejected with its reason
    nothing_in_flight               after the drain days, no payout is still on its way

A failed check is a `Breach`, reported with the seed and the step where it was first seen.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from sellerpay.db import Database
from sellerpay.ledger.rules import AccountKind, account_rule
from sellerpay.ledger.service import nonzero_accounts_in, verify_ledger
from sellerpay.payouts.rules import PayoutStatus
from sellerpay.payouts.service import Payout
from sellerpay.settlement.service import IngestStatus, list_events
from sellerpay.simbank import TransferRecord, reference_for
from sellerpay.simulation.journal import Breach
from sellerpay.simulation.world import BANK_ACCOUNT, World

__all__ = ["Check", "CurrencyEquation", "check_world", "money_equation"]

OPEN: Final = frozenset(
    {PayoutStatus.PENDING, PayoutStatus.APPROVED, PayoutStatus.PROCESSING, PayoutStatus.SUBMITTED}
)
IN_FLIGHT: Final = frozenset(
    {PayoutStatus.APPROVED, PayoutStatus.PROCESSING, PayoutStatus.SUBMITTED}
)
accounts_page_size: Final = 1_000
events_page_size: Final = 500
listed_max: Final = 5  # examples named in a breach's detail


@dataclass(frozen=True, slots=True)
class Check:
    """One invariant checked at the end: its name, whether it holds, and what was seen."""

    name: str
    ok: bool
    detail: str


@dataclass(slots=True)
class CurrencyEquation:
    """RELIABILITY.md invariant 6 for one currency, in minor units, each side by account kind.

    Left (assets and expenses): cash at our bank, receivables (card money at the payment
    provider, advances to sellers), the FX conversion position, expenses (losses,
    adjustments). Right (liabilities and revenue): owed to sellers (pending, available,
    dispute holds, reserves), owed to customers (refunds), paid out but not yet confirmed by
    the bank (in transit), revenue (commissions, fees, FX margin).
    """

    currency: str
    cash_at_bank: int = 0
    receivables: int = 0
    fx_position: int = 0
    expenses: int = 0
    owed_to_sellers: int = 0
    owed_to_customers: int = 0
    in_transit: int = 0
    revenue: int = 0
    accounts: Counter[str] = field(default_factory=Counter)  # account code -> balance

    @property
    def left(self) -> int:
        return self.cash_at_bank + self.receivables + self.fx_position + self.expenses

    @property
    def right(self) -> int:
        return self.owed_to_sellers + self.owed_to_customers + self.in_transit + self.revenue

    @property
    def holds(self) -> bool:
        return self.left == self.right


def money_equation(db: Database) -> list[CurrencyEquation]:
    """The equation per currency, from the balance of every account that is not zero."""
    by_currency: dict[str, CurrencyEquation] = {}
    after: tuple[str, str] | None = None
    while True:
        with db.reading() as conn:
            states = nonzero_accounts_in(
                conn, prefix="", suffix="", after=after, limit=accounts_page_size
            )
        for state in states:
            currency = state.currency
            equation = by_currency.setdefault(currency, CurrencyEquation(currency))
            _add(equation, state.code, state.balance.amount_minor)
        if len(states) < accounts_page_size:
            return [by_currency[c] for c in sorted(by_currency)]
        after = (states[-1].code, states[-1].currency)


def _add(equation: CurrencyEquation, code: str, balance: int) -> None:
    kind = account_rule(code, equation.currency).kind
    if code.startswith("seller:"):
        equation.accounts["seller:*:" + code.rsplit(":", 1)[1]] += balance
    else:
        equation.accounts[code] += balance
    if kind is AccountKind.ASSET:
        if code.startswith("platform:bank:"):
            equation.cash_at_bank += balance
        elif code.startswith("platform:fx:"):
            equation.fx_position += balance
        else:
            equation.receivables += balance
    elif kind is AccountKind.EXPENSE:
        equation.expenses += balance
    elif kind is AccountKind.REVENUE:
        equation.revenue += balance
    elif code == "platform:payouts_in_transit":
        equation.in_transit += balance
    elif code.startswith("seller:"):
        equation.owed_to_sellers += balance
    else:
        equation.owed_to_customers += balance


def check_world(world: World) -> tuple[list[Check], list[CurrencyEquation]]:
    """Every check of the module docstring, and the money equation per currency; each
    failure is also added to `world.breaches` (at the end of the run)."""
    payouts = list(world.all_payouts())
    equations = money_equation(world.db)
    transfers = world.bank.transfers()
    checks = [
        _ledger(world.db),
        _equation(equations),
        _at_most_once(world, transfers),
        _payout_states(world, payouts),
        _in_transit(equations, payouts),
        _bank_agrees(equations, payouts, transfers),
        _events_not_lost(world),
        _nothing_in_flight(payouts),
    ]
    already = {b.check for b in world.breaches}
    for check in checks:
        if not check.ok and check.name not in already:
            world.breaches.append(Breach(check.name, check.detail, world.day, "end of run"))
    return checks, equations


def _ledger(db: Database) -> Check:
    report = verify_ledger(db)
    if report.ok:
        return Check(
            "ledger_verified",
            True,
            f"{report.transactions:,} transactions and {report.entries:,} entries balance; "
            f"every one of {report.accounts:,} balances equals its entries",
        )
    first = "; ".join(f"{b.check} {b.subject}: {b.detail}" for b in report.breaches[:listed_max])
    return Check("ledger_verified", False, f"{len(report.breaches)} breaches: {first}")


def _equation(equations: Sequence[CurrencyEquation]) -> Check:
    broken = [e for e in equations if not e.holds]
    detail = ", ".join(
        f"{e.currency} {e.left} {'=' if e.holds else '!='} {e.right}" for e in equations
    )
    return Check("money_equation", not broken, detail or "no money moved")


def _at_most_once(world: World, transfers: Sequence[TransferRecord]) -> Check:
    executed_twice = world.bank.stats().executed_more_than_once()
    files: dict[str, set[str]] = defaultdict(set)
    for transfer in transfers:
        files[transfer.reference].add(transfer.message_id)
    in_two_files = sorted(reference for reference, ids in files.items() if len(ids) > 1)
    resent = sum(1 for count in world.line.attempts.values() if count > 1)
    if not executed_twice and not in_two_files:
        return Check(
            "bank_at_most_once",
            True,
            f"{len(files):,} transfers in {len(world.line.sent):,} files, each executed at "
            f"most once; {resent} file(s) sent again after an unknown outcome, same message id",
        )
    return Check(
        "bank_at_most_once",
        False,
        f"executed twice: {_some(executed_twice)}; in two files: {_some(in_two_files)}",
    )


def _payout_states(world: World, payouts: Sequence[Payout]) -> Check:
    seen = world.subscriber.payout_status
    silent = [p.id for p in payouts if seen.get(p.id) is not p.status]
    broken = [b for b in world.breaches if b.check == "payout_states"]
    if not silent and not broken:
        reached = Counter(p.status.value for p in payouts)
        return Check(
            "payout_states",
            True,
            f"{sum(world.subscriber.reached.values()):,} transitions, all along the state "
            f"machine, each with its event; end states {dict(sorted(reached.items()))}",
        )
    return Check(
        "payout_states",
        False,
        f"{len(broken)} transitions off the state machine; {len(silent)} payouts whose status "
        f"no event announced: {_some(silent)}",
    )


def _in_transit(equations: Sequence[CurrencyEquation], payouts: Sequence[Payout]) -> Check:
    open_by_currency: Counter[str] = Counter()
    for payout in payouts:
        if payout.status in OPEN:
            open_by_currency[payout.amount.currency] += payout.amount.amount_minor
    ledger = {e.currency: e.in_transit for e in equations}
    currencies = sorted(set(ledger) | set(open_by_currency))
    wrong = [c for c in currencies if ledger.get(c, 0) != open_by_currency[c]]
    detail = ", ".join(f"{c} {ledger.get(c, 0)} vs {open_by_currency[c]}" for c in currencies)
    return Check("in_transit_matches", not wrong, detail or "nothing in transit")


def _bank_agrees(
    equations: Sequence[CurrencyEquation],
    payouts: Sequence[Payout],
    transfers: Sequence[TransferRecord],
) -> Check:
    """The ledger's cash at bank equals the bank's own balance (it opened at zero), and each
    payout's state is what the bank did with it."""
    bank: Counter[str] = Counter()
    by_reference: dict[str, TransferRecord] = {}
    for transfer in transfers:
        by_reference[transfer.reference] = transfer
        if transfer.booked_on is not None:
            bank[transfer.amount.currency] -= transfer.amount.amount_minor
        if transfer.returned_on is not None:
            bank[transfer.amount.currency] += transfer.amount.amount_minor
    ours = {e.currency: e.accounts.get(f"platform:bank:{BANK_ACCOUNT}", 0) for e in equations}
    currencies = sorted(set(ours) | set(bank))
    wrong_cash = [c for c in currencies if ours.get(c, 0) != bank[c]]
    disagree = [p.id for p in payouts if not _agrees(p, by_reference)]
    detail = ", ".join(f"{c} ledger {ours.get(c, 0)} / bank {bank[c]}" for c in currencies)
    if disagree:
        detail += f"; {len(disagree)} payouts disagree with the bank: {_some(disagree)}"
    return Check("bank_agrees", not wrong_cash and not disagree, detail or "no money moved")


def _agrees(payout: Payout, by_reference: Mapping[str, TransferRecord]) -> bool:
    transfer = by_reference.get(reference_for(payout.rail, payout.end_to_end_id))
    executed = transfer is not None and transfer.booked_on is not None
    returned = transfer is not None and transfer.returned_on is not None
    if payout.status is PayoutStatus.PAID:
        return executed and not returned
    if payout.status is PayoutStatus.RETURNED:
        return returned
    if payout.status in (PayoutStatus.FAILED, PayoutStatus.CANCELED):
        return not executed
    return not returned  # still open: the bank may have it, but cannot have sent it back


def _events_not_lost(world: World) -> Check:
    stored: dict[str, tuple[str, str | None]] = {}
    before = None
    while True:
        page, before = list_events(world.db, before=before, limit=events_page_size)
        for record in page:
            stored[record.id] = (record.status, record.reason_code)
        if before is None:
            break
    missing = sorted(world.market.sent_ids - set(stored))
    silent = sorted(
        event_id
        for event_id, (status, reason) in stored.items()
        if status in (IngestStatus.PARKED, IngestStatus.REJECTED) and not reason
    )
    statuses = Counter(status for event_id, (status, _) in stored.items()
                       if event_id in world.market.sent_ids)  # fmt: skip
    if not missing and not silent:
        return Check(
            "events_not_lost",
            True,
            f"{len(world.market.sent_ids):,} events sent, every one stored: "
            f"{dict(sorted(statuses.items()))}",
        )
    return Check(
        "events_not_lost",
        False,
        f"{len(missing)} events never stored ({_some(missing)}); {len(silent)} parked or "
        f"rejected without a reason ({_some(silent)})",
    )


def _nothing_in_flight(payouts: Iterable[Payout]) -> Check:
    flying = [p.id for p in payouts if p.status in IN_FLIGHT]
    if not flying:
        return Check("nothing_in_flight", True, "every payout reached an end state or waits")
    return Check(
        "nothing_in_flight",
        False,
        f"{len(flying)} payouts still on their way after the drain days: {_some(flying)}",
    )


def _some(items: Sequence[str]) -> str:
    shown = ", ".join(items[:listed_max])
    return shown + (f" and {len(items) - listed_max} more" if len(items) > listed_max else "")
