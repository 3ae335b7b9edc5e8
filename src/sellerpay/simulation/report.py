"""What a run did, in numbers: the summary the commands print and `summary.json` holds.

Everything here is read after the run through the services (payouts, skips, events,
reconciliation exceptions, the ledger's balances) or from what the world counted on the way;
amounts are minor units with their currency (JSON: integers, never floats).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sellerpay.onboarding.service import seller_capabilities
from sellerpay.payouts.rules import PayoutStatus
from sellerpay.payouts.service import Payout, list_skips
from sellerpay.reconciliation.service import ExceptionFilter, list_exceptions
from sellerpay.settlement.service import IngestStatus, list_events
from sellerpay.simulation.invariants import Check, CurrencyEquation
from sellerpay.simulation.journal import Breach
from sellerpay.simulation.population import Kyc
from sellerpay.simulation.world import World

__all__ = ["Blocked", "RunSummary", "summarize"]

skips_per_run_max: Final = 1_000_000
page_size: Final = 500


@dataclass(frozen=True, slots=True)
class Blocked:
    """Sellers a payout run skipped for one reason (and detail), and how many runs did."""

    reason: str
    detail: str
    sellers: tuple[str, ...]
    runs: int


@dataclass(slots=True)
class RunSummary:
    """The run's outcome: totals per currency, payouts by state, what was blocked and why,
    what the marketplace's events became, what the bank did, and every invariant checked."""

    seed: int
    sellers: int
    days: int
    faults: str
    digest: str
    checks: list[Check]
    breaches: list[Breach]
    equations: list[CurrencyEquation]
    totals: dict[str, dict[str, int]] = field(default_factory=dict)
    payouts_by_state: dict[str, int] = field(default_factory=dict)
    paid_by_country: list[dict[str, Any]] = field(default_factory=list)
    returns: dict[str, int] = field(default_factory=dict)  # reason code -> payouts
    failures: dict[str, int] = field(default_factory=dict)
    blocked: list[Blocked] = field(default_factory=list)
    stories: dict[str, str] = field(default_factory=dict)
    events: dict[str, Any] = field(default_factory=dict)
    bank: dict[str, Any] = field(default_factory=dict)
    reconciliation: dict[str, Any] = field(default_factory=dict)
    restarts: dict[str, int] = field(default_factory=dict)
    screening: dict[str, int] = field(default_factory=dict)
    outbox: dict[str, int] = field(default_factory=dict)  # events out by type

    @property
    def ok(self) -> bool:
        return not self.breaches and all(check.ok for check in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "sellers": self.sellers,
            "days": self.days,
            "faults": self.faults,
            "digest": self.digest,
            "ok": self.ok,
            "totals": self.totals,
            "payouts_by_state": self.payouts_by_state,
            "paid_by_country": self.paid_by_country,
            "returns_by_reason": self.returns,
            "failures_by_reason": self.failures,
            "blocked": [
                {"reason": b.reason, "detail": b.detail, "sellers": list(b.sellers), "runs": b.runs}
                for b in self.blocked
            ],
            "stories": self.stories,
            "events": self.events,
            "bank": self.bank,
            "reconciliation": self.reconciliation,
            "screening": self.screening,
            "restarts": self.restarts,
            "outbox": self.outbox,
            "money_equation": [_equation_json(e) for e in self.equations],
            "invariants": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
            "breaches": [
                {"check": b.check, "detail": b.detail, "day": b.day, "step": b.step}
                for b in self.breaches
            ],
        }


def summarize(world: World, checks: list[Check], equations: list[CurrencyEquation]) -> RunSummary:
    payouts = list(world.all_payouts())
    summary = RunSummary(
        seed=world.config.seed,
        sellers=world.config.sellers,
        days=world.config.days,
        faults=world.config.faults,
        digest=world.journal.digest(),
        checks=checks,
        breaches=list(world.breaches),
        equations=equations,
    )
    summary.totals = _totals(world, payouts, equations)
    summary.payouts_by_state = dict(sorted(Counter(p.status.value for p in payouts).items()))
    summary.paid_by_country = _paid_by_country(world, payouts)
    summary.returns = _reasons(payouts, PayoutStatus.RETURNED)
    summary.failures = _reasons(payouts, PayoutStatus.FAILED)
    summary.blocked = _blocked(world)
    summary.stories = _stories(world, summary.blocked, payouts)
    summary.events = _events(world)
    summary.bank = _bank(world)
    summary.reconciliation = _reconciliation(world)
    summary.restarts = dict(sorted(world.restarts.killed.items()))
    summary.screening = dict(sorted(world.matches.items()))
    summary.outbox = dict(sorted(world.subscriber.counts.items()))
    return summary


def _totals(
    world: World, payouts: Sequence[Payout], equations: Sequence[CurrencyEquation]
) -> dict[str, dict[str, int]]:
    paid_out: Counter[str] = Counter()
    returned: Counter[str] = Counter()
    for payout in payouts:
        if payout.status is PayoutStatus.PAID:
            paid_out[payout.amount.currency] += payout.amount.amount_minor
        elif payout.status is PayoutStatus.RETURNED:
            returned[payout.amount.currency] += payout.amount.amount_minor
    by_currency = {e.currency: e for e in equations}
    currencies = sorted(set(by_currency) | set(world.market.money_in.paid_by_customers))
    totals = {}
    for currency in currencies:
        equation = by_currency.get(currency)
        fees = 0 if equation is None else equation.revenue
        totals[currency] = {
            "paid_in": world.market.money_in.paid_by_customers[currency],
            "fees": fees,
            "paid_out": paid_out[currency],
            "returned": returned[currency],
            "in_transit": 0 if equation is None else equation.in_transit,
            "outstanding": 0 if equation is None else equation.owed_to_sellers,
        }
    return totals


def _paid_by_country(world: World, payouts: Sequence[Payout]) -> list[dict[str, Any]]:
    country = {s.id: s.country for s in world.sellers}
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    sellers: dict[tuple[str, str], set[str]] = defaultdict(set)
    for payout in payouts:
        if payout.status is not PayoutStatus.PAID:
            continue
        key = (country.get(payout.seller_id, "?"), payout.amount.currency)
        row = rows.setdefault(
            key, {"country": key[0], "currency": key[1], "payouts": 0, "amount_minor": 0}
        )
        row["payouts"] += 1
        row["amount_minor"] += payout.amount.amount_minor
        sellers[key].add(payout.seller_id)
    for key, row in rows.items():
        row["sellers"] = len(sellers[key])
    return [rows[k] for k in sorted(rows)]


def _reasons(payouts: Sequence[Payout], status: PayoutStatus) -> dict[str, int]:
    found = Counter(p.status_reason_code or "?" for p in payouts if p.status is status)
    return dict(sorted(found.items()))


def _blocked(world: World) -> list[Blocked]:
    """Skips that stop money, by reason and detail (not "nothing available" and the like)."""
    stopping = {
        "payouts_disabled",
        "bank_account_in_cooldown",
        "bank_account_disabled",
        "no_verified_bank_account",
        "no_exchange_rate",
    }
    sellers: dict[tuple[str, str], set[str]] = defaultdict(set)
    runs: Counter[tuple[str, str]] = Counter()
    for report in world.run_reports:
        for skip in list_skips(world.db, run_id=report.run_id, limit=skips_per_run_max):
            if skip.reason in stopping:
                key = (skip.reason, skip.detail)
                sellers[key].add(skip.seller_id)
                runs[key] += 1
    return [
        Blocked(reason, detail, tuple(sorted(sellers[(reason, detail)])), runs[(reason, detail)])
        for reason, detail in sorted(sellers)
    ]


def _stories(world: World, blocked: Sequence[Blocked], payouts: Sequence[Payout]) -> dict[str, str]:
    """The sellers the run gave a story, and what became of them."""
    stories: dict[str, str] = {}
    skipped: dict[str, list[str]] = defaultdict(list)
    for b in blocked:
        for seller_id in b.sellers:
            skipped[seller_id].append(f"skipped by {b.runs} run(s): {b.reason} ({b.detail})")
    now = world.clock.now()
    capabilities = seller_capabilities(world.db, [s.id for s in world.sellers], now=now)
    for seller in world.sellers:
        if seller.sanctioned:
            reason = capabilities[seller.id].disabled_reason
            stories[seller.id] = "; ".join(
                [f"sanctions hit ({seller.legal_name}): payouts disabled ({reason})"]
                + skipped[seller.id]
            )
        elif seller.changes_account_on is not None:
            new_account = world.changed_accounts.get(seller.id)
            if new_account is None:
                stories[seller.id] = "was to change its bank account: it never had funds to pay"
                continue
            to_new = sorted(
                (p for p in payouts if p.bank_account_id == new_account), key=lambda p: p.id
            )
            first = (
                f"first payout to the new account: {to_new[0].id} {to_new[0].status.value} "
                f"({to_new[0].amount}), approved by {to_new[0].approved_by}"
                if to_new
                else "no payout to the new account yet"
            )
            stories[seller.id] = "; ".join(
                [f"changed its bank account on day {world.changed_on[seller.id]}"]
                + skipped[seller.id]
                + [first]
            )
    unverified = [s.id for s in world.sellers if s.kyc is Kyc.UNVERIFIED]
    if unverified:
        reasons = Counter(str(capabilities[s].disabled_reason) for s in unverified)
        stories["not yet verified"] = (
            f"{len(unverified)} sellers whose documents wait for review, payouts disabled "
            f"({_counts(reasons)}): {', '.join(unverified[:5])}"
            + ("…" if len(unverified) > 5 else "")
        )
    disabled = Counter(
        str(c.disabled_reason) for c in capabilities.values() if not c.payouts_enabled
    )
    if disabled:
        stories["payouts disabled at the end"] = _counts(disabled)
    return stories


def _counts(counts: Counter[str]) -> str:
    return ", ".join(f"{n} {what}" for what, n in sorted(counts.items()))


def _events(world: World) -> dict[str, Any]:
    money_in = world.market.money_in
    still: Counter[str] = Counter()
    before = None
    while True:
        page, before = list_events(
            world.db, status=IngestStatus.PARKED, before=before, limit=page_size
        )
        still.update(record.reason_code or "?" for record in page)
        if before is None:
            break
    return {
        "orders": money_in.orders,
        "refunds": money_in.refunds,
        "disputes": money_in.disputes,
        "sent": money_in.events_sent,
        "first_answers": dict(sorted(money_in.statuses.items())),
        "parked_then_applied": money_in.parked_then_applied,
        "still_parked": dict(sorted(still.items())),
        "rejected": dict(sorted(money_in.rejected_reasons.items())),
        "released": dict(sorted(world.released.items())),
    }


def _bank(world: World) -> dict[str, Any]:
    stats = world.bank.stats()
    return {
        "files_sent": len(world.line.sent),
        "files_by_rail": dict(sorted(Counter(f.rail for f in world.line.sent).items())),
        "files_received": dict(sorted(world.inbox.outcome.received.items())),
        "duplicate_files": dict(sorted(world.inbox.outcome.duplicates.items())),
        "timeouts": stats.timeouts_before_accept + stats.timeouts_after_accept,
        "inquiries": stats.inquiries,
        "transfers_executed": len(stats.executed),
        "transfers_rejected": len(stats.rejected),
        "transfers_returned": len(stats.returned),
        "executed_more_than_once": stats.executed_more_than_once(),
    }


def _reconciliation(world: World) -> dict[str, Any]:
    outcome = world.inbox.outcome
    open_by_kind: Counter[str] = Counter()
    after = None
    while True:
        page, after = list_exceptions(
            world.db, ExceptionFilter(status="open"), after_id=after, limit=page_size
        )
        open_by_kind.update(x.kind for x in page)
        if after is None:
            break
    return {
        "statements": outcome.statements_imported,
        "lines": outcome.statement_lines,
        "matched_lines": outcome.statement_matched_lines,
        "exceptions_opened": outcome.exceptions_opened,
        "open_exceptions": dict(sorted(open_by_kind.items())),
    }


def _equation_json(e: CurrencyEquation) -> dict[str, Any]:
    return {
        "currency": e.currency,
        "cash_at_bank": e.cash_at_bank,
        "receivables": e.receivables,
        "fx_position": e.fx_position,
        "expenses": e.expenses,
        "owed_to_sellers": e.owed_to_sellers,
        "owed_to_customers": e.owed_to_customers,
        "in_transit": e.in_transit,
        "revenue": e.revenue,
        "holds": e.holds,
        "accounts": dict(sorted(e.accounts.items())),
    }
