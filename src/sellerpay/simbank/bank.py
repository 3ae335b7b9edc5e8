"""`SimulatedBank`: a bank and a payout provider in one object, for the demo and the tests.

It implements `BankConnection` (send / inquire / collect) and the provider API
(`accept_provider_payout`, `provider_payout`). It is deterministic: outcomes come from seeded
dice keyed by what the bank sees (`outcomes`), and time only from the clock it is given and
the `now` passed to `advance`; it never reads the wall clock. One lock guards all state, so
the HTTP server's threads and the demo's workers may share it.

Time line of a file received at t (UTC; banking days are Monday to Friday):

    t                      read (`intake`) or refused whole (BankRefused); each transfer's fate
                           decided; accepted or rejected at once
    t (+ late hours)       pain.002 status report (every rail but ACH, which has none)
    execution day          transfers booked: max(t, 00:00 of the first banking day on or after
                           the requested date; SEPA Instant: that date, any day); camt.054
                           debit notification; "settled"
    + N banking days       returns booked at 00:00: camt.054 credit, or a NACHA return file
    00:00 after each day   camt.053 and MT940 of every account, for each banking day (and any
                           day with bookings)

`advance(now)` plays every due event up to `now`, in time order, into the outbox that
`collect` empties. A message id is executed once: the same file again is acknowledged and
counted in `BankStats.received`, never booked twice; another file under a used message id is
refused (DU01). A file with a new message id is executed, even if its end-to-end ids were
paid before, as a real bank would: `BankStats.executed_more_than_once` shows it.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sellerpay.clock import Clock, ensure_utc
from sellerpay.errors import Conflict, NotFound
from sellerpay.money import Money
from sellerpay.money.currencies import exponent
from sellerpay.payouts.banking import BankRefused, BankTimeout, InboundFile
from sellerpay.rails.instructions import RailName, TransferStatus
from sellerpay.rails.provider import ProviderPayoutRequest, ProviderPayoutStatus, ProviderState
from sellerpay.rails.returns import describe_reason
from sellerpay.rails.statements import StatementLine
from sellerpay.simbank import reports
from sellerpay.simbank.faults import FaultConfig
from sellerpay.simbank.intake import (
    ReceivedFile,
    ReceivedTransfer,
    check_message_id,
    provider_account,
    provider_transfer,
    read_bank_file,
    reference_for,
)
from sellerpay.simbank.outcomes import (
    Dice,
    Outcome,
    add_banking_days,
    banking_day_on_or_after,
    decide_outcome,
    is_banking_day,
    start_of,
)
from sellerpay.simbank.records import AccountKey, BankStats, BankTransfer, TransferRecord

FUNDING_MAJOR_UNITS = 10_000_000
"""Each of our accounts opens with ten million units of its currency, unless told otherwise."""
DUPLICATE_AFTER = timedelta(hours=1)
"""A duplicated report comes again this long after the first copy."""
INQUIRY_IDS_MAX = 100_000


class ProviderConflict(Conflict):
    """The provider saw this idempotency key with another body (HTTP 409)."""

    default_code = "idempotency_key_reused"


@dataclass(frozen=True, slots=True)
class Receipt:
    """The bank's acknowledgment of a file: `duplicate` when the message id was known."""

    message_id: str
    duplicate: bool
    transfer_count: int


@dataclass(slots=True)
class _File:
    received: ReceivedFile
    filename: str
    digest: str
    content: bytes
    received_at: datetime
    by_reference: dict[str, BankTransfer]


@dataclass(slots=True)
class _Account:
    key: AccountKey
    number: int
    opened_on: date
    balance: Money
    statements: int = 0
    lines: dict[date, list[StatementLine]] = field(default_factory=dict)


@dataclass(slots=True)
class _ProviderPayout:
    payout_id: str
    body_digest: str
    transfer: BankTransfer
    first_answer: ProviderPayoutStatus


@dataclass(frozen=True, slots=True)
class _StatusReportDue:
    message_id: str


@dataclass(frozen=True, slots=True)
class _BookingDue:
    transfers: tuple[BankTransfer, ...]


@dataclass(frozen=True, slots=True)
class _ReturnDue:
    transfers: tuple[BankTransfer, ...]


@dataclass(frozen=True, slots=True)
class _Redelivery:
    file: InboundFile


_Event = _StatusReportDue | _BookingDue | _ReturnDue | _Redelivery


class SimulatedBank:
    """A deterministic bank: same seed, same calls, same clock -> same outcomes, same bytes."""

    def __init__(
        self,
        *,
        clock: Clock,
        seed: int = 0,
        faults: FaultConfig | None = None,
        opening_balances: Mapping[str, Money] | None = None,
    ) -> None:
        self.seed = seed
        self.faults = faults or FaultConfig()
        self._clock = clock
        self._dice = Dice(seed)
        self._opening_balances = dict(opening_balances or {})
        self._lock = threading.RLock()
        self._advanced_to = ensure_utc(clock.now())
        self._files: dict[str, _File] = {}
        self._attempts: Counter[str] = Counter()
        self._transfers: list[BankTransfer] = []
        self._accounts: dict[AccountKey, _Account] = {}
        self._provider: dict[str, _ProviderPayout] = {}
        self._payout_keys: dict[str, str] = {}
        self._events: list[tuple[datetime, int, _Event]] = []
        self._sequence = itertools.count(1)
        self._references = (f"SB{number:012d}" for number in itertools.count(1))
        self._report_numbers = itertools.count(1)
        self._next_close: date | None = None
        self._outbox: list[InboundFile] = []
        self._counts: Counter[str] = Counter()
        self._received: Counter[str] = Counter()
        self._executed: Counter[str] = Counter()
        self._rejected: Counter[str] = Counter()
        self._returned: Counter[str] = Counter()

    # -- BankConnection -------------------------------------------------------------------------

    def send(self, rail: str, filename: str, content: bytes, message_id: str) -> None:
        """Hand over a file (see `receive`, which also says whether it was a duplicate)."""
        self.receive(rail, filename, content, message_id)

    def receive(self, rail: str, filename: str, content: bytes, message_id: str) -> Receipt:
        """Take a file; `BankRefused` if it is malformed or reuses a message id for other
        content, `BankTimeout` when a time-out fault strikes (before or after taking it)."""
        with self._lock:
            self._attempts[message_id] += 1
            attempt = self._attempts[message_id]
            if self._dice.happens(
                self.faults.timeout_before_accept_rate, "timeout-before", message_id, attempt
            ):
                self._counts["timeouts_before_accept"] += 1
                raise BankTimeout(f"no answer to {filename} (the bank did not get it)")
            receipt = self._take(rail, filename, content, message_id)
            if self._dice.happens(
                self.faults.timeout_after_accept_rate, "timeout-after", message_id, attempt
            ):
                self._counts["timeouts_after_accept"] += 1
                raise BankTimeout(f"no answer to {filename} (the bank has it)")
            return receipt

    def inquire(
        self, rail: str, message_id: str, end_to_end_ids: Sequence[str]
    ) -> Sequence[TransferStatus]:
        """Each transfer's state now: "unknown" when the bank never got it in that message."""
        if len(end_to_end_ids) > INQUIRY_IDS_MAX:
            raise BankRefused(f"an inquiry names at most {INQUIRY_IDS_MAX} transfers")
        with self._lock:
            self._counts["inquiries"] += 1
            now = self._now()
            file = self._files.get(message_id)
            answers = []
            for end_to_end_id in end_to_end_ids:
                transfer = None
                if file is not None:
                    reference = reference_for(file.received.rail, end_to_end_id)
                    transfer = file.by_reference.get(reference)
                answers.append(_status(end_to_end_id, transfer, now))
            return answers

    def collect(self) -> Sequence[InboundFile]:
        """The files produced since the last call, in the order the bank produced them."""
        with self._lock:
            files, self._outbox = self._outbox, []
            return files

    # -- time -----------------------------------------------------------------------------------

    def advance(self, now: datetime | None = None) -> int:
        """Play every event due up to `now` (default: the clock's time); returns how many
        files it added to the outbox. Time never goes back: an earlier `now` does nothing."""
        with self._lock:
            target = max(ensure_utc(now or self._clock.now()), self._advanced_to)
            before = len(self._outbox)
            while self._step(target):
                pass
            self._advanced_to = target
            return len(self._outbox) - before

    def _step(self, target: datetime) -> bool:
        """Play the earliest due thing (a day's close before an event at the same moment)."""
        close_at = start_of(self._next_close + timedelta(days=1)) if self._next_close else None
        event_due = self._events[0][0] if self._events else None
        closes_first = event_due is None or (close_at is not None and close_at <= event_due)
        if close_at is not None and close_at <= target and closes_first:
            self._close_day(close_at)
            return True
        if event_due is not None and event_due <= target:
            due, _, event = heapq.heappop(self._events)
            self._play(event, due)
            return True
        return False

    def _now(self) -> datetime:
        return max(ensure_utc(self._clock.now()), self._advanced_to)

    # -- provider API ---------------------------------------------------------------------------

    def accept_provider_payout(self, request: ProviderPayoutRequest) -> ProviderPayoutStatus:
        """POST /provider/payouts: pay once per idempotency key (see `receive_provider_payout`)."""
        return self.receive_provider_payout(request)[0]

    def receive_provider_payout(
        self, request: ProviderPayoutRequest
    ) -> tuple[ProviderPayoutStatus, bool]:
        """The provider's answer to `request` and whether it replays an earlier one. The same
        key with the same body gets the first answer again; with another body,
        `ProviderConflict`. Time-out faults strike as they do for files (keyed by the
        idempotency key and the attempt number)."""
        with self._lock:
            key = request.idempotency_key
            self._attempts[f"provider:{key}"] += 1
            attempt = self._attempts[f"provider:{key}"]
            if self._dice.happens(
                self.faults.timeout_before_accept_rate, "timeout-before", "provider", key, attempt
            ):
                self._counts["timeouts_before_accept"] += 1
                raise BankTimeout(f"no answer to payout {key} (the provider did not get it)")
            self._counts["provider_requests"] += 1
            replayed = key in self._provider
            payout = self._provider_payout_for(request, status_block=key)
            if self._dice.happens(
                self.faults.timeout_after_accept_rate, "timeout-after", "provider", key, attempt
            ):
                self._counts["timeouts_after_accept"] += 1
                raise BankTimeout(f"no answer to payout {key} (the provider has it)")
            return payout.first_answer, replayed

    def provider_payout(self, payout_id: str) -> ProviderPayoutStatus:
        """GET /provider/payouts/{id}: the payout's status now."""
        with self._lock:
            key = self._payout_keys.get(payout_id)
            if key is None:
                raise NotFound(f"no provider payout {payout_id!r}", code="provider_payout_unknown")
            payout = self._provider[key]
            return _provider_status(payout.payout_id, payout.transfer)

    def _provider_payout_for(
        self, request: ProviderPayoutRequest, *, status_block: str
    ) -> _ProviderPayout:
        key = request.idempotency_key
        digest = hashlib.sha256(request.to_json()).hexdigest()
        existing = self._provider.get(key)
        if existing is not None:
            if existing.body_digest != digest:
                self._counts["provider_conflicts"] += 1
                raise ProviderConflict(
                    f"idempotency key {key!r} was used for another payout body",
                    field="idempotency_key",
                )
            self._received[key] += 1
            return existing
        now = self._now()
        received = provider_transfer(request, status_block, received_on=now.date())
        account = (provider_account(request.amount.currency), request.amount.currency)
        transfer = self._new_transfer("provider", status_block, account, received, now)
        payout_id = "pp_" + hashlib.sha256(f"{self.seed}\x1f{key}".encode()).hexdigest()[:24]
        transfer.payout_id = payout_id
        payout = _ProviderPayout(payout_id, digest, transfer, _provider_status(payout_id, transfer))
        self._provider[key] = payout
        self._payout_keys[payout_id] = key
        self._schedule_bookings([transfer])
        return payout

    # -- statistics -----------------------------------------------------------------------------

    def stats(self) -> BankStats:
        with self._lock:
            return BankStats(
                files_received=self._counts["files_received"],
                files_duplicate=self._counts["files_duplicate"],
                files_refused=self._counts["files_refused"],
                timeouts_before_accept=self._counts["timeouts_before_accept"],
                timeouts_after_accept=self._counts["timeouts_after_accept"],
                inquiries=self._counts["inquiries"],
                reports_written=self._counts["reports_written"],
                reports_duplicated=self._counts["reports_duplicated"],
                provider_requests=self._counts["provider_requests"],
                provider_conflicts=self._counts["provider_conflicts"],
                received=dict(self._received),
                executed=dict(self._executed),
                rejected=dict(self._rejected),
                returned=dict(self._returned),
            )

    def transfers(self) -> tuple[TransferRecord, ...]:
        """Every transfer the bank took, in the order it took them."""
        with self._lock:
            return tuple(transfer.snapshot() for transfer in self._transfers)

    # -- receiving ------------------------------------------------------------------------------

    def _take(self, rail: str, filename: str, content: bytes, message_id: str) -> Receipt:
        check_message_id(message_id)
        digest = hashlib.sha256(content).hexdigest()
        known = self._files.get(message_id)
        if known is not None:
            return self._again(known, digest, message_id)
        now = self._now()
        try:
            received = read_bank_file(rail, content, message_id=message_id, received_at=now)
        except BankRefused:
            self._counts["files_refused"] += 1
            raise
        file = _File(received, filename, digest, content, now, {})
        if received.rail == "provider":
            self._take_provider_batch(file)
        else:
            created = [
                self._new_transfer(
                    received.rail, message_id, (received.account, t.amount.currency), t, now
                )
                for t in received.transfers
            ]
            file.by_reference = {t.reference: t for t in created}
            self._schedule_bookings(created)
        self._files[message_id] = file
        self._counts["files_received"] += 1
        if received.rail != "ach":  # ACH answers with returns only
            late = self._dice.happens(self.faults.late_report_rate, "late-report", message_id)
            delay = timedelta(hours=self.faults.late_report_hours if late else 0)
            self._schedule(now + delay, _StatusReportDue(message_id))
        return Receipt(message_id, duplicate=False, transfer_count=len(received.transfers))

    def _again(self, known: _File, digest: str, message_id: str) -> Receipt:
        if known.digest != digest:
            self._counts["files_refused"] += 1
            raise BankRefused(
                f"message id {message_id!r} was already used for another file",
                reason_code="DU01",
            )
        self._counts["files_duplicate"] += 1
        for reference in known.by_reference:
            self._received[reference] += 1
        return Receipt(message_id, duplicate=True, transfer_count=len(known.by_reference))

    def _take_provider_batch(self, file: _File) -> None:
        """Each request of a provider batch goes through the provider's idempotency: a key
        paid before is not paid again; a key reused with another body is rejected (AM05)."""
        message_id = file.received.message_id
        for request, received in zip(
            file.received.provider_requests, file.received.transfers, strict=True
        ):
            try:
                transfer = self._provider_payout_for(request, status_block=message_id).transfer
            except ProviderConflict:
                account = (provider_account(request.amount.currency), request.amount.currency)
                transfer = self._new_transfer(
                    "provider",
                    message_id,
                    account,
                    received,
                    file.received_at,
                    outcome=Outcome(reject_reason="AM05"),
                )
            file.by_reference[received.reference] = transfer

    def _new_transfer(
        self,
        rail: RailName,
        message_id: str,
        account: AccountKey,
        received: ReceivedTransfer,
        now: datetime,
        *,
        outcome: Outcome | None = None,
    ) -> BankTransfer:
        decided = outcome or decide_outcome(self._dice, self.faults, rail, received.reference)
        requested = max(received.requested_on, now.date())
        transfer = BankTransfer(
            rail=rail,
            message_id=message_id,
            account=account,
            received=received,
            received_at=now,
            executes_on=requested if received.instant else banking_day_on_or_after(requested),
            outcome=decided,
            state="rejected" if decided.reject_reason else "accepted",
        )
        self._transfers.append(transfer)
        self._received[transfer.reference] += 1
        if decided.reject_reason:
            self._rejected[transfer.reference] += 1
        self._open_account(account, now.date())
        return transfer

    def _open_account(self, key: AccountKey, on: date) -> None:
        if key in self._accounts:
            return
        currency = key[1]
        opening = self._opening_balances.get(currency) or Money(
            FUNDING_MAJOR_UNITS * 10 ** exponent(currency), currency
        )
        self._accounts[key] = _Account(key, len(self._accounts) + 1, on, opening)
        if self._next_close is None:
            self._next_close = on

    def _schedule_bookings(self, transfers: Sequence[BankTransfer]) -> None:
        by_moment: dict[datetime, list[BankTransfer]] = {}
        for transfer in transfers:
            if transfer.state == "accepted":
                moment = max(transfer.received_at, start_of(transfer.executes_on))
                by_moment.setdefault(moment, []).append(transfer)
        for moment, members in sorted(by_moment.items()):
            self._schedule(moment, _BookingDue(tuple(members)))

    def _schedule(self, due: datetime, event: _Event) -> None:
        heapq.heappush(self._events, (due, next(self._sequence), event))

    # -- events ---------------------------------------------------------------------------------

    def _play(self, event: _Event, due: datetime) -> None:
        if isinstance(event, _StatusReportDue):
            self._write_status_report(event.message_id, due)
        elif isinstance(event, _BookingDue):
            self._book(event.transfers, due)
        elif isinstance(event, _ReturnDue):
            self._return(event.transfers, due)
        else:
            self._outbox.append(event.file)

    def _emit(self, file: InboundFile, at: datetime) -> None:
        self._outbox.append(file)
        self._counts["reports_written"] += 1
        if self._dice.happens(self.faults.duplicate_report_rate, "duplicate", file.filename):
            self._counts["reports_duplicated"] += 1
            self._schedule(at + DUPLICATE_AFTER, _Redelivery(file))

    def _write_status_report(self, message_id: str, at: datetime) -> None:
        file = self._files[message_id]
        self._emit(
            reports.status_report(
                report_id=f"SBS{next(self._report_numbers):09d}",
                original_message_id=message_id,
                message_name=file.received.message_name,
                transfers=list(file.by_reference.values()),
                created_at=at,
            ),
            at,
        )

    def _book(self, transfers: Sequence[BankTransfer], at: datetime) -> None:
        day = at.date()
        for transfer in transfers:
            transfer.state = "settled"
            transfer.booked_on = day
            self._executed[transfer.reference] += 1
        for account, members in _by_account(transfers).items():
            lines = reports.debit_lines(members, day, self._references)
            self._accounts[account].lines.setdefault(day, []).extend(lines)
            self._emit(
                reports.notification(
                    notification_id=f"SBN{next(self._report_numbers):09d}",
                    account=account,
                    lines=lines,
                    at=at,
                ),
                at,
            )
        returning: dict[date, list[BankTransfer]] = {}
        for transfer in transfers:
            if transfer.outcome.return_reason:
                back_on = add_banking_days(day, max(transfer.outcome.return_delay_days, 1))
                returning.setdefault(back_on, []).append(transfer)
        for back_on, members in sorted(returning.items()):
            self._schedule(start_of(back_on), _ReturnDue(tuple(members)))

    def _return(self, transfers: Sequence[BankTransfer], at: datetime) -> None:
        day = at.date()
        for transfer in transfers:
            transfer.returned_on = day
            self._returned[transfer.reference] += 1
        for account, members in _by_account(transfers).items():
            lines = [reports.return_line(t, day, next(self._references)) for t in members]
            self._accounts[account].lines.setdefault(day, []).extend(lines)
            if members[0].rail == "ach":
                self._write_nacha_returns(members, at)
            else:
                notification_id = f"SBN{next(self._report_numbers):09d}"
                self._emit(
                    reports.notification(
                        notification_id=notification_id, account=account, lines=lines, at=at
                    ),
                    at,
                )

    def _write_nacha_returns(self, transfers: Sequence[BankTransfer], at: datetime) -> None:
        by_file: dict[str, list[BankTransfer]] = {}
        for transfer in transfers:
            by_file.setdefault(transfer.message_id, []).append(transfer)
        for message_id, members in by_file.items():
            number = next(self._report_numbers)
            self._emit(
                reports.nacha_return_file(
                    file_id=f"SBR{number:09d}",
                    number=number,
                    original=self._files[message_id].content,
                    transfers=members,
                    at=at,
                ),
                at,
            )

    def _close_day(self, at: datetime) -> None:
        """The statements of the day that ended at `at`, for every account open on it."""
        assert self._next_close is not None  # the caller checked
        day = self._next_close
        for account in sorted(self._accounts.values(), key=lambda a: a.number):
            lines = account.lines.pop(day, [])
            if account.opened_on > day or not (lines or is_banking_day(day)):
                continue
            account.statements += 1
            statement = reports.day_statement(
                statement_id=f"SB{day:%y%m%d}{account.number:02d}{account.key[1]}",
                account=account.key,
                opening=account.balance,
                lines=lines,
                day=day,
                sequence=account.statements,
                at=at,
            )
            assert statement.closing_balance is not None  # day_statement always sets it
            account.balance = statement.closing_balance
            for file in reports.statement_files(statement):
                self._emit(file, at)
        self._next_close = day + timedelta(days=1)


def _by_account(transfers: Sequence[BankTransfer]) -> dict[AccountKey, list[BankTransfer]]:
    groups: dict[AccountKey, list[BankTransfer]] = {}
    for transfer in transfers:
        groups.setdefault(transfer.account, []).append(transfer)
    return groups


def _status(end_to_end_id: str, transfer: BankTransfer | None, now: datetime) -> TransferStatus:
    if transfer is None:
        return TransferStatus(end_to_end_id, "unknown")
    pending_until = transfer.received_at + timedelta(hours=transfer.outcome.pending_hours)
    if transfer.outcome.pending_hours and now < pending_until:
        return TransferStatus(end_to_end_id, "pending")
    reason = transfer.outcome.reject_reason if transfer.state == "rejected" else None
    return TransferStatus(
        end_to_end_id,
        transfer.state,
        reason_code=reason,
        reason_text=describe_reason(reason).description if reason else None,
        payment_information_id=transfer.received.status_block,
    )


def _provider_status(payout_id: str, transfer: BankTransfer) -> ProviderPayoutStatus:
    status: ProviderState = "accepted"
    reason: str | None = None
    if transfer.state == "rejected":
        status, reason = "failed", transfer.outcome.reject_reason
    elif transfer.returned_on is not None:
        status, reason = "returned", transfer.outcome.return_reason
    elif transfer.state == "settled":
        status = "paid"
    return ProviderPayoutStatus(
        id=payout_id,
        idempotency_key=transfer.reference,
        status=status,
        amount=transfer.received.amount,
        reason_code=reason,
        reason_text=describe_reason(reason).description if reason else None,
        paid_on=transfer.booked_on,
        returned_on=transfer.returned_on,
    )
