"""A whole marketplace run through the real code, day by day, on a clock the run controls.

Each simulated day is a fixed sequence of named steps at fixed times (UTC), as the embedded
scheduler would run them:

    00:30 bank_morning  the bank's night: statements (camt.053, MT940), settlements, returns;
                        collected, then imported (reports to payouts, statements to
                        reconciliation, which marks payouts paid)
    01:00 sellers       day 0: every seller created, onboarded, given a verified bank account
                        and its schedule; later: the late sellers
    01:30 events        the marketplace's events of the day (duplicated, late, reordered)
    01:45 parked        parked events retried
    02:00 release       due funds released (pending -> available)
    02:15 compliance    verifications polled; sanctions list loaded and screened; matches and
                        failed verifications decided by a compliance officer
    02:30 rates         the day's exchange rates (ECB-like, EUR based)
    02:45 account_changes  a seller changes its bank account just before a payout is due
    03:00 payout_run    the day's payout run, in chunks
    03:15 approvals     an approver approves the payouts waiting for a second person
    03:30 submit        approved payouts claimed into bank files, sent to the bank
    03:45 resolve       files whose outcome is unknown settled by asking the bank; resent
    04:30 bank_midday   status reports (pain.002) collected and imported

After the last day, drain days run the bank's steps only (no sales, no payout runs) until no
payout is in flight, so the end state can be compared with the bank's own books.

A worker may die between two steps of a job (`faults.Restarts`): the job is run again from its
start, a minute later. Every step's outcome goes into the journal; with the outbox events (read
as a subscriber would, through `events.service.relay_outbox`), the payouts and the bank's files
it makes the run's digest: the same seed gives the same digest, event for event.
"""

from __future__ import annotations

import hashlib
import random
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import structlog

from sellerpay.bankaccounts import service as bank_accounts
from sellerpay.clock import FixedClock
from sellerpay.crypto import KeyRing, derive_key
from sellerpay.db import Database
from sellerpay.events.service import relay_outbox
from sellerpay.ledger.service import balances_of
from sellerpay.money import Money
from sellerpay.onboarding import service as onboarding
from sellerpay.onboarding.demo import onboard_simulated_seller
from sellerpay.onboarding.documents import DocumentStore
from sellerpay.onboarding.rules import VerificationStatus
from sellerpay.onboarding.verification import SimulatedProvider
from sellerpay.payouts import service as payouts
from sellerpay.payouts.rules import PayoutStatus
from sellerpay.screening import service as screening
from sellerpay.screening.rules import SanctionsList
from sellerpay.sellers.service import create_seller
from sellerpay.settlement.service import ingest_events, release_due_funds, retry_parked
from sellerpay.simbank import SimulatedBank
from sellerpay.simulation.bankside import BankLine, Inbox
from sellerpay.simulation.determinism import seeded_ids
from sellerpay.simulation.faults import (
    Restarts,
    SimulationFaults,
    WorkerCrash,
    restarts_per_job_max,
    simulation_faults,
)
from sellerpay.simulation.journal import Breach, Journal, Subscriber
from sellerpay.simulation.marketplace import LATE_SELLER_DAYS, Marketplace
from sellerpay.simulation.population import (
    Kyc,
    SimSeller,
    draw_population,
    new_bank_account,
)

__all__ = [
    "DAY_STEPS",
    "SIMULATION_START",
    "SimulationConfig",
    "World",
]

log = structlog.get_logger(__name__)

SIMULATION_START: Final = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
DAY_STEPS: Final[tuple[tuple[str, time], ...]] = (
    ("bank_morning", time(0, 30)),
    ("sellers", time(1, 0)),
    ("events", time(1, 30)),
    ("parked", time(1, 45)),
    ("release", time(2, 0)),
    ("compliance", time(2, 15)),
    ("rates", time(2, 30)),
    ("account_changes", time(2, 45)),
    ("payout_run", time(3, 0)),
    ("approvals", time(3, 15)),
    ("submit", time(3, 30)),
    ("resolve", time(3, 45)),
    ("bank_midday", time(4, 30)),
)
DRAIN_STEPS: Final = frozenset(
    {"bank_morning", "parked", "release", "compliance", "approvals", "submit", "resolve",
     "bank_midday"}
)  # fmt: skip
BANK_ACCOUNT: Final = "main"  # our bank account at the simulated bank: platform:bank:main
APPROVER: Final = "user:approver.alice"
COMPLIANCE_OFFICER: Final = "user:compliance.chen"
SELLER_PORTAL: Final = "marketplace:seller-portal"
ingest_batch_size: Final = 500
approvals_page_size: Final = 500
verification_review_days: Final = 2  # compliance decides a failed verification this late
stale_sending: Final = timedelta(minutes=10)
DATA: Final = Path(__file__).with_name("data")
PAYABLE_MINOR: Final = {"EUR": 100, "USD": 100, "JPY": 1_000}  # the schedules' minimum
OPENING_RATES: Final = {
    "USD": Decimal("1.0850"),
    "GBP": Decimal("0.8600"),
    "JPY": Decimal("162.50"),
}


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """What to simulate. `orders_per_seller_day` is the mean number of orders a seller gets a
    day; `payout_chunk_size` the sellers per chunk of a payout run (a worker may die between
    two chunks)."""

    sellers: int
    days: int
    seed: int
    faults: str = "default"
    orders_per_seller_day: float = 0.6
    drain_days_max: int = 10
    payout_chunk_size: int = 250
    start: datetime = SIMULATION_START


class World:
    """The marketplace, the platform and the bank, run together step by step."""

    def __init__(
        self,
        db: Database,
        config: SimulationConfig,
        *,
        keyring: KeyRing | None = None,
        out: Path | None = None,
        bank_class: type[SimulatedBank] | None = None,
        on_step: Callable[[int, str], None] | None = None,
        on_seller: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.config = config
        self.faults: SimulationFaults = simulation_faults(config.faults)
        self.random = random.Random(config.seed)
        self.clock = FixedClock(config.start)
        self.keyring = keyring or simulation_keyring(config.seed)
        self.out = out
        self.on_step = on_step
        self.on_seller = on_seller
        self.journal = Journal()
        self.breaches: list[Breach] = []
        self.position: tuple[int, str] = (0, "start")
        self.restarts = Restarts(self.random, self.faults.restart_rate)
        self.bank = _open_bank(bank_class or SimulatedBank, self.clock, self.random, self.faults)
        self.line = BankLine(self.bank, restarts=self.restarts, out=out)
        self.inbox = Inbox(self.db, bank_account=BANK_ACCOUNT, restarts=self.restarts, out=out)
        self.subscriber = Subscriber(self.journal, self._breach)
        self.sellers: list[SimSeller] = draw_population(
            self.random, config.sellers, days=config.days
        )
        self.market = Marketplace(
            self.sellers,
            rng=self.random,
            faults=self.faults.marketplace,
            run_id=str(config.seed),
            orders_per_seller_day=config.orders_per_seller_day,
        )
        self.provider = SimulatedProvider(
            seed=self.random.randrange(2**31), failure_percent=4, delay=timedelta(minutes=30)
        )
        self.policy = replace(
            payouts.PayoutPolicy.from_settings(),
            platform_bank=BANK_ACCOUNT,
            chunk_size=config.payout_chunk_size,
        )
        self.originators = payouts.originators()
        self.documents, self._scratch = _document_store(out)
        self.day = 0
        # the list's new version is published once every seller has joined (screening all
        # subjects reads every seller's onboarding: once a run, not every day)
        self.screening_day = min(LATE_SELLER_DAYS, config.days - 1)
        self.enrolled: set[str] = set()
        self.verification_reviews: dict[str, int] = {}  # seller -> day it went to review
        self.changed_accounts: dict[str, str] = {}  # seller -> the new bank account id
        self.changed_on: dict[str, int] = {}  # seller -> the day it changed its account
        self.run_reports: list[payouts.RunReport] = []
        self.matches: Counter[str] = Counter()  # confirmed / cleared
        self.released: Counter[str] = Counter()
        self._arrivals: dict[int, list[dict[str, Any]]] = {}
        self._recorded_batches: set[tuple[int, int]] = set()
        self._rate_walk = dict(OPENING_RATES)
        self._files_fed = (0, 0)  # bank files (sent, received) already in the digest

    # --- the run ---------------------------------------------------------------------------

    def run(self) -> None:
        """Every day, then the drain days; afterwards `invariants.check_world` judges it.

        A step that fails (a service raising where a correct system never does) ends the run
        with a `step_failed` breach naming the day and the step, and the error."""
        try:
            with seeded_ids(self.clock, self.config.seed):
                self.market.open(self.db, self.clock)
                self._run_days()
                self.restarts.disarm()
                self._relay()
        except Exception as error:  # any error is a finding: reported with where it happened
            log.error("simulation.step_failed", day=self.day, step=self.position[1],
                      error=repr(error))  # fmt: skip
            self._breach("step_failed", f"{type(error).__name__}: {error}"[:1_000])
        finally:
            if self._scratch is not None:
                self._scratch.cleanup()

    def _run_days(self) -> None:
        for day in range(self.config.days):
            self._run_day(day, drain=False)
        for extra in range(self.config.drain_days_max):
            if self._quiet():
                return
            self._run_day(self.config.days + extra, drain=True)

    def _run_day(self, day: int, *, drain: bool) -> None:
        self.day = day
        base = self.config.start + timedelta(days=day)
        for name, at in DAY_STEPS:
            if drain and name not in DRAIN_STEPS:
                continue
            moment = datetime.combine(base.date(), at, tzinfo=UTC)
            self.clock.set(max(moment, self.clock.now()))
            self._step(name, getattr(self, f"_step_{name}"))

    def _step(self, name: str, work: Callable[[], Mapping[str, Any]]) -> None:
        self.position = (self.day, name)
        for attempt in range(1, restarts_per_job_max + 2):
            if attempt > restarts_per_job_max:
                self.restarts.disarm()
            try:
                detail = work()
                break
            except WorkerCrash as crash:
                self.journal.add(self.day, name, {"restarted": crash.where, "attempt": attempt})
                self.clock.advance(timedelta(minutes=1))  # the supervisor restarts it
            finally:
                self.restarts.arm()
        self.journal.add(self.day, name, dict(detail))
        self._feed_files()
        self._relay()
        self._watch_bank()
        if self.on_step is not None:
            self.on_step(self.day, name)

    def _feed_files(self) -> None:
        """Every bank file sent and received goes into the digest, by its SHA-256."""
        sent, received = self.line.sent, self.inbox.outcome.files
        for file in sent[self._files_fed[0] :]:
            self.journal.feed(["sent", file.rail, file.filename, file.message_id, file.sha256])
        for filename, digest in received[self._files_fed[1] :]:
            self.journal.feed(["received", filename, digest])
        self._files_fed = (len(sent), len(received))

    def _breach(self, check: str, detail: str) -> None:
        self.breaches.append(Breach(check, detail, *self.position))

    def _relay(self) -> None:
        while relay_outbox(self.db, clock=self.clock, batch_size=1_000, publisher=self.subscriber):
            pass

    def _watch_bank(self) -> None:
        """Invariant 5 as it happens: no end-to-end id executed twice by the bank."""
        twice = self.bank.stats().executed_more_than_once()
        known = {b.detail for b in self.breaches if b.check == "bank_at_most_once"}
        for reference in twice:
            detail = f"the bank executed {reference} more than once"
            if detail not in known:
                self._breach("bank_at_most_once", detail)

    def _quiet(self) -> bool:
        """Nothing in flight: no payout between approved and paid, no file waiting."""
        in_flight = (PayoutStatus.APPROVED, PayoutStatus.PROCESSING, PayoutStatus.SUBMITTED)
        for status in in_flight:
            if payouts.list_payouts(
                self.db, payouts.PayoutFilter(status=status), after_id=None, limit=1
            ):
                return False
        return not self.inbox.waiting

    # --- steps -----------------------------------------------------------------------------

    def _step_bank_morning(self) -> Mapping[str, Any]:
        return self._bank_round()

    def _step_bank_midday(self) -> Mapping[str, Any]:
        return self._bank_round()

    def _bank_round(self) -> dict[str, Any]:
        produced = self.bank.advance(self.clock.now())
        collected = self.inbox.collect(self.line)
        self.inbox.import_waiting(self.clock)
        return {"files_produced": produced, "files_collected": collected}

    def _step_sellers(self) -> Mapping[str, Any]:
        joining = [
            s
            for s in self.sellers
            if s.id not in self.enrolled
            and (self.day >= LATE_SELLER_DAYS or s.id not in self.market.late)
        ]
        for seller in joining:
            self._enrol(seller)
        return {"enrolled": len(joining)}

    def _enrol(self, seller: SimSeller) -> None:
        """Create the seller, onboard it, give it its verified bank account and schedule."""
        now = self.clock.now()
        create_seller(
            self.db,
            seller_id=seller.id,
            legal_name=seller.legal_name,
            country=seller.country,
            risk_tier=seller.risk_tier,
            clock=self.clock,
        )
        onboard_simulated_seller(
            self.db,
            seller.id,
            now=now,
            business_type=seller.business_type,
            approve_documents=seller.kyc is Kyc.VERIFIED,
            store=self.documents,
        )
        account, _ = bank_accounts.add_bank_account(
            self.db,
            seller_id=seller.id,
            details=seller.account,
            holder_name=seller.holder_name,
            currency=seller.account_currency,
            make_default=True,
            actor=SELLER_PORTAL,
            idempotency_key="simulation:first-account",
            now=now - timedelta(days=4),  # added before the run: past its cool-down
            keyring=self.keyring,
        )
        if not account.verified:  # the holder's name did not match: micro-deposits prove it
            self._verify(account.id)
        if seller.schedule is not None:
            payouts.set_schedule(
                self.db,
                seller_id=seller.id,
                currency=seller.currency,
                schedule=seller.schedule,
                actor=SELLER_PORTAL,
                clock=self.clock,
            )
        self.enrolled.add(seller.id)
        if self.on_seller is not None:
            self.on_seller()

    def _step_account_changes(self) -> Mapping[str, Any]:
        changed = [s for s in self.sellers if self._changes_account_now(s)]
        for seller in changed:
            self._change_bank_account(seller)
        return {"changed_bank_accounts": [s.id for s in changed]}

    def _changes_account_now(self, seller: SimSeller) -> bool:
        """The seller's story day has come and today's run would pay it (available funds)."""
        if seller.changes_account_on is None or seller.id in self.changed_accounts:
            return False
        if self.day < seller.changes_account_on:
            return False
        key = (f"seller:{seller.id}:available", seller.currency)
        return balances_of(self.db, [key])[key].amount_minor >= PAYABLE_MINOR[seller.currency]

    def _change_bank_account(self, seller: SimSeller) -> None:
        """The seller's login adds a new default account: payouts to it wait out the cool-down
        (RELIABILITY.md: a changed bank account holds payouts), then need an approver."""
        details = new_bank_account(self.random, seller)
        account, _ = bank_accounts.add_bank_account(
            self.db,
            seller_id=seller.id,
            details=details,
            holder_name=seller.holder_name,
            currency=seller.account_currency,
            make_default=True,
            actor=f"seller:{seller.id}",
            idempotency_key="simulation:changed-account",
            now=self.clock.now(),
            keyring=self.keyring,
        )
        if not account.verified:
            self._verify(account.id)
        self.changed_accounts[seller.id] = account.id
        self.changed_on[seller.id] = self.day

    def _verify(self, bank_account_id: str) -> None:
        with self.db.transaction() as conn:
            bank_accounts.record_verification(
                conn, bank_account_id, note="micro-deposits confirmed",
                actor="system:simulation", now=self.clock.now(),
            )  # fmt: skip

    def _step_events(self) -> Mapping[str, Any]:
        arriving = self._arrivals.get(self.day)
        if arriving is None:
            arriving = self.market.events_of(self.day, self.clock.now())
            self._arrivals = {self.day: arriving}
        statuses: Counter[str] = Counter()
        for number, start in enumerate(range(0, len(arriving), ingest_batch_size)):
            batch = arriving[start : start + ingest_batch_size]
            results = ingest_events(self.db, batch, source="http", clock=self.clock)
            if (self.day, number) not in self._recorded_batches:
                self._recorded_batches.add((self.day, number))
                self.market.record(results)
                statuses.update(r.status.value for r in results)
            self.restarts.point("events: the answer to a batch was lost (it is sent again)")
        return {"arrived": len(arriving), **statuses}

    def _step_parked(self) -> Mapping[str, Any]:
        results = retry_parked(self.db, clock=self.clock)
        self.market.record(results, retried=True)
        self.restarts.point("parked: after retrying")
        return {"retried": len(results)}

    def _step_release(self) -> Mapping[str, Any]:
        report = release_due_funds(self.db, clock=self.clock)
        for currency, amount in report.totals().items():
            self.released[currency] += amount.amount_minor
        self.restarts.point("release: after releasing")
        return {"released_orders": len(report.released)}

    def _step_compliance(self) -> Mapping[str, Any]:
        detail: dict[str, Any] = {}
        if self.day == self.screening_day:
            loaded = screening.load_list(
                self.db,
                SanctionsList.OFAC_SDN,
                sanctions_list_files(),
                actor="system:simulation-lists",
                clock=self.clock,
            )
            detail["list_entries"] = loaded.version.entry_count
        detail.update(self._poll_verifications())
        detail.update(self._decide_matches())
        detail["verifications_decided"] = self._decide_reviews()
        return detail

    def _poll_verifications(self) -> dict[str, int]:
        totals: Counter[str] = Counter()
        while True:
            polled = onboarding.poll_verifications(
                self.db, self.clock.now(), provider=self.provider, limit=1_000
            )
            totals.update(
                submitted=polled.submitted,
                verified=polled.verified,
                sent_to_review=polled.sent_to_review,
            )
            if polled.submitted + polled.verified + polled.sent_to_review < 1_000:
                return dict(totals)

    def _decide_matches(self) -> dict[str, int]:
        """The compliance officer works the screening queue: the seller the run put on the
        list is confirmed (payouts and sales stop at once), every other hit cleared."""
        sanctioned = {s.id for s in self.sellers if s.sanctioned}
        decided: Counter[str] = Counter()
        while True:
            page, _ = screening.list_matches(self.db, status=screening.MatchStatus.OPEN, limit=200)
            if not page:
                return {f"matches_{k}": v for k, v in decided.items()}
            for match in page:
                confirm = match.seller_id in sanctioned
                screening.decide_match(
                    self.db,
                    match.id,
                    decision=screening.Decision.CONFIRM if confirm else screening.Decision.CLEAR,
                    note="same company as the listed entity"
                    if confirm
                    else "another party: name only, nothing else in common",
                    actor=COMPLIANCE_OFFICER,
                    clock=self.clock,
                )
                outcome = "confirmed" if confirm else "cleared"
                decided[outcome] += 1
                self.matches[outcome] += 1

    def _decide_reviews(self) -> int:
        """Verifications the provider could not make go to review; the officer approves them
        `verification_review_days` later (sellers whose documents wait are left waiting)."""
        after: str | None = None
        decided = 0
        while True:
            items, after = onboarding.compliance_queue(
                self.db, now=self.clock.now(), after_seller_id=after, limit=200
            )
            for item in items:
                if item.verification_status is not VerificationStatus.REVIEW:
                    continue
                since = self.verification_reviews.setdefault(item.seller_id, self.day)
                if self.day - since >= verification_review_days:
                    onboarding.decide(
                        self.db,
                        item.seller_id,
                        scope=onboarding.DecisionScope.VERIFICATION,
                        approve=True,
                        note="identity and registry checked by hand",
                        idempotency_key="simulation:verification-review",
                        actor=COMPLIANCE_OFFICER,
                        now=self.clock.now(),
                    )
                    decided += 1
            if after is None:
                return decided

    def _step_rates(self) -> Mapping[str, Any]:
        """ECB-like reference rates of the day (EUR based), a seeded random walk."""
        for currency, rate in list(self._rate_walk.items()):
            step = Decimal(self.random.randint(-30, 30)) / Decimal(10_000)
            self._rate_walk[currency] = (rate * (1 + step)).quantize(rate)
        stored = payouts.store_rates(
            self.db,
            [("EUR", c, r) for c, r in sorted(self._rate_walk.items())],
            as_of=self.clock.now().date(),
            source="simulation",
            clock=self.clock,
        )
        return {"rates": stored, **{c: str(r) for c, r in sorted(self._rate_walk.items())}}

    def _step_payout_run(self) -> Mapping[str, Any]:
        report = payouts.run_payouts(
            self.db,
            run_on=self.clock.now().date(),
            clock=self.clock,
            keyring=self.keyring,
            policy=self.policy,
            on_chunk=lambda _chunk: self.restarts.point("payout run: between two chunks"),
        )
        self.run_reports.append(report)
        return {
            "payouts": report.payout_count,
            "skips": dict(sorted(report.skips_by_reason.items())),
            "totals": dict(sorted(report.totals.items())),
        }

    def _step_approvals(self) -> Mapping[str, Any]:
        approved = 0
        while True:
            page = payouts.list_payouts(
                self.db,
                payouts.PayoutFilter(status=PayoutStatus.PENDING),
                after_id=None,
                limit=approvals_page_size,
            )
            for payout in sorted(page, key=lambda p: p.id):
                payouts.approve_payout(
                    self.db,
                    payout.id,
                    approver=APPROVER,
                    clock=self.clock,
                    keyring=self.keyring,
                    note="first payout to this bank account: holder checked",
                )
                approved += 1
                self.restarts.point("approvals: between two approvals")
            if len(page) < approvals_page_size:
                return {"approved": approved}

    def _step_submit(self) -> Mapping[str, Any]:
        report = payouts.submit_due(
            self.db,
            bank=self.line,
            clock=self.clock,
            keyring=self.keyring,
            originators=self.originators,
        )
        return {
            "files": report.files,
            "submitted": report.submitted,
            "unknown": report.unknown,
            "refused": report.refused,
            "payouts_sent": report.payouts_sent,
        }

    def _step_resolve(self) -> Mapping[str, Any]:
        outcome = payouts.resolve_submissions(
            self.db, bank=self.line, clock=self.clock, stale_after=stale_sending
        )
        resent = payouts.submit_due(
            self.db,
            bank=self.line,
            clock=self.clock,
            keyring=self.keyring,
            originators=self.originators,
        )
        return {**dict(sorted(outcome.items())), "resent_files": resent.submitted}

    # --- reading the end state ---------------------------------------------------------------

    def all_payouts(self) -> Iterator[payouts.Payout]:
        after: str | None = None
        while True:
            page = payouts.list_payouts(self.db, payouts.PayoutFilter(), after_id=after, limit=500)
            yield from page
            if len(page) < 500:
                return
            after = page[-1].id


def _open_bank(
    bank_class: type[SimulatedBank], clock: FixedClock, rng: random.Random, faults: SimulationFaults
) -> SimulatedBank:
    """The bank of the run, its accounts opening at zero as our ledger's bank account does."""
    return bank_class(
        clock=clock,
        seed=rng.randrange(2**31),
        faults=faults.bank,
        opening_balances={c: Money(0, c) for c in ("EUR", "USD", "JPY", "GBP")},
    )


def _document_store(
    out: Path | None,
) -> tuple[DocumentStore, tempfile.TemporaryDirectory[str] | None]:
    """Where onboarding documents go: `out/documents`, or a folder of the run's own (every
    simulated proof is the same small PDF, stored once by its hash)."""
    if out is not None:
        return DocumentStore(out / "documents"), None
    scratch = tempfile.TemporaryDirectory(prefix="sellerpay-sim-")
    return DocumentStore(Path(scratch.name) / "documents"), scratch


def simulation_keyring(seed: int) -> KeyRing:
    """The key ring of a simulated run: derived from its seed, never a real key."""
    secret = hashlib.sha256(f"sellerpay-simulation:{seed}".encode()).digest()
    return KeyRing(
        current_key_id="sim", keys={"sim": derive_key(secret, purpose="simulation bank accounts")}
    )


def sanctions_list_files() -> dict[str, bytes]:
    """The simulation's sanctions list: a few real OFAC SDN entries in OFAC's CSV format."""
    folder = DATA / "ofac"
    return {name: (folder / name).read_bytes() for name in ("sdn.csv", "add.csv", "alt.csv")}
