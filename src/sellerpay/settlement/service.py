"""Use cases of money in: take marketplace events in (one handler for every door), retry parked
events, replay one, release due funds, approve adjustments, manage fee plans, read orders.

Every event received is stored in `marketplace_events` with what became of it; nothing is
dropped. A batch is applied in one unit of work (each event against the state the ones before
it left, so events of one order apply in order); if any of its ledger transactions is refused
or anything unexpected fails, the batch is rolled back and each event is applied in its own
unit, so one bad event never costs the others. Errors a caller can get:

- `InvalidInput`/`LimitExceeded` for a call that is wrong as a whole (unknown source, a batch
  over `ingest_batch_size_max`); an individual bad event is never an error: it is stored as
  rejected and its `IngestResult` says why.
- `Unavailable` when the database is down (retry the whole batch: it is idempotent).
- `NotFound`, `Conflict`, `Forbidden(four_eyes)` from the use cases that name one thing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import partial
from typing import Any, Final

import structlog
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Connection, and_, func, or_, select

from sellerpay.clock import Clock, ensure_utc
from sellerpay.db import Database
from sellerpay.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    LimitExceeded,
    NotFound,
    SellerpayError,
    Unavailable,
)
from sellerpay.ids import prefixed_id, uuid7
from sellerpay.ledger.service import PostResult
from sellerpay.money import Money
from sellerpay.sellers.service import find_seller_in, find_sellers_in
from sellerpay.settings import Settings, get_settings
from sellerpay.settlement import handlers, models, schemas
from sellerpay.settlement.rules import (
    FeePlan,
    FeeRule,
    HoldingPeriods,
    RefundPolicy,
    validate_fee_plan,
)
from sellerpay.settlement.state import (
    PLATFORM_SCOPE,
    AdjustmentRecord,
    DisputeRecord,
    EventRecord,
    FeePlanRecord,
    LineRecord,
    OrderRecord,
    Policy,
    RefundRecord,
    Unit,
    Wanted,
    fee_plan_record,
    plan_in_force,
)

__all__ = [
    "IngestResult",
    "IngestStatus",
    "ReleaseReport",
    "approve_adjustment",
    "create_fee_plan",
    "fee_plan_for_in",
    "get_event",
    "get_fee_plan",
    "get_order",
    "ingest_events",
    "list_events",
    "list_fee_plans",
    "order_fee_breakdown",
    "reject_adjustment",
    "release_due_funds",
    "replay_event",
    "retry_parked",
    "retry_parked_for",
]

log = structlog.get_logger(__name__)

ingest_batch_size_max: Final = 10_000
event_body_bytes_max: Final = 64 * 1024
reason_length_max: Final = 2_000
retry_rounds_max: Final = 50  # parked events unlocking parked events, round after round
parked_page_size: Final = 500
page_size_max: Final = 500
release_batch_size: Final = 500
orders_per_read_max: Final = 10_000
SOURCES: Final = ("http", "amqp", "replay")
_EVENT: Final = TypeAdapter(schemas.MarketplaceEvent)


class IngestStatus(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"  # received before with the same body, or its effect already there
    PARKED = "parked"  # cannot be applied yet: waits for `waiting_for`, retried automatically
    REJECTED = "rejected"  # invalid, or refused by a rule; kept, and may be replayed
    AWAITING_APPROVAL = "awaiting_approval"  # a large adjustment waits for a second person


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What became of one event. `event_id` is None only when the event had no usable id (it
    could not be stored: a broker dead-letters it)."""

    event_id: str | None
    status: IngestStatus
    reason_code: str | None = None
    reason: str | None = None
    waiting_for: str | None = None
    field: str | None = None  # the field at fault, for a rejected event


@dataclass(slots=True)
class _Received:
    """An event as received: its body to store, and the parsed event or why it is invalid."""

    event_id: str | None
    body: dict[str, Any]
    body_hash: str
    type: str | None
    source: str
    event: Any = None  # one of schemas.EVENT_MODELS when valid
    error: tuple[str, str, str | None] | None = None  # (code, detail, field)
    retry: bool = False  # a stored event run again (a parked retry or a replay)
    replayed_by: str | None = None


@dataclass(slots=True)
class _Applied:
    results: list[IngestResult] = field(default_factory=list)  # one per event given
    others: list[IngestResult] = field(default_factory=list)  # parked events applied on the way
    unlocks: set[str] = field(default_factory=set)


class _Refused(Exception):
    """The ledger refused a transaction of the unit: roll it back, then go event by event."""

    def __init__(self, result: PostResult) -> None:
        super().__init__(str(result.error))
        self.result = result


def _refused(result: PostResult) -> None:
    raise _Refused(result)


def policy(settings: Settings | None = None) -> Policy:
    """The settings money in decides with."""
    settings = settings or get_settings()
    return Policy(
        holding=HoldingPeriods(
            days_by_tier={
                "low": settings.holding_days_low,
                "standard": settings.holding_days_standard,
                "high": settings.holding_days_high,
            },
            without_delivery_days=settings.release_without_delivery_days,
        ),
        dispute_fee_minor=dict(settings.dispute_fee_minor),
        adjustment_approval_threshold_minor=dict(settings.adjustment_approval_threshold_minor),
    )


# --- events in -----------------------------------------------------------------------------


def ingest_events(
    db: Database, events: Sequence[Mapping[str, Any]], *, source: str, clock: Clock
) -> list[IngestResult]:
    """Store and apply `events` in order; one result per event, in order, once committed.

    The one handler of every door (HTTP, RabbitMQ, replays). An event id seen before with the
    same body is a `duplicate` (no effect); with another body it is `rejected` with
    `event_id_reused` and the other body is kept. Parked events that this batch unlocked (a
    refund that came before its payment…) are applied before returning, and their results say so.
    """
    if source not in SOURCES:
        raise InvalidInput(f"source must be one of {', '.join(SOURCES)}", code="invalid_source")
    if len(events) > ingest_batch_size_max:
        raise LimitExceeded(
            f"a batch holds at most {ingest_batch_size_max} events, got {len(events)}",
            code="batch_size_max",
        )
    received = [_receive(raw, source) for raw in events]
    applied = _apply(db, received, now=clock.now())
    return _retry_unlocked(db, applied, clock=clock).results


def retry_parked_for(db: Database, waiting_for: str, *, clock: Clock) -> list[IngestResult]:
    """Apply the events parked waiting for `waiting_for` (e.g. `seller:sel_9` once the seller
    exists), and whatever they unlock in turn; returns what became of each."""
    applied = _retry_keys(db, {waiting_for}, now=clock.now())
    return _retry_unlocked(db, applied, clock=clock, every=True).results


def retry_parked(db: Database, *, clock: Clock) -> list[IngestResult]:
    """The job: retry every parked event whose dependency now exists (orders, disputes,
    sellers, fee plans), whatever the door it came through. Safe to run at any time."""
    results: list[IngestResult] = []
    after = ""
    while True:
        keys = _parked_keys(db, after=after)
        if not keys:
            return results
        after = keys[-1]
        ready = _satisfied(db, keys)
        if ready:
            retried = _retry_keys(db, ready, now=clock.now())
            results.extend(_retry_unlocked(db, retried, clock=clock, every=True).results)


def replay_event(db: Database, event_id: str, *, replayed_by: str, clock: Clock) -> IngestResult:
    """Run a parked or rejected event through the handler again (audited: who replayed it)."""
    with db.reading() as conn:
        row = conn.execute(
            select(models.marketplace_events).where(models.marketplace_events.c.id == event_id)
        ).first()
    if row is None:
        raise NotFound(f"no marketplace event {event_id}", code="event_not_found")
    if row.status not in (IngestStatus.PARKED, IngestStatus.REJECTED):
        raise Conflict(
            f"event {event_id} is {row.status}: only parked and rejected events are replayed",
            code="event_not_replayable",
            status=row.status,
        )
    item = _stored(row)
    item.replayed_by = replayed_by
    applied = _retry_unlocked(db, _apply(db, [item], now=clock.now()), clock=clock)
    return applied.results[0]


def _receive(raw: Any, source: str) -> _Received:
    """Check the envelope, fingerprint the body and parse it; never raises."""
    if not isinstance(raw, Mapping):
        return _unstorable(
            "invalid_envelope", f"an event is a JSON object, not {type(raw).__name__}"
        )
    event_id = raw.get("id")
    if not isinstance(event_id, str) or not 1 <= len(event_id) <= 100 or not event_id.isprintable():
        return _unstorable(
            "invalid_event_id", "an event needs an id: a string of 1 to 100 printable characters"
        )
    kind = raw.get("type")
    kind = kind if isinstance(kind, str) and len(kind) <= 64 and kind.isprintable() else None
    stand_in: dict[str, Any] = {"id": event_id, "type": kind}
    try:
        text = json.dumps(
            raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
        if "\\u0000" in text:
            raise ValueError("it holds a NUL character")
    except (TypeError, ValueError) as error:
        detail = f"the event is not storable JSON: {error}"[:reason_length_max]
        stand_in["unreadable"] = True
        return _Received(
            event_id, stand_in, _hash(repr(raw)), kind, source, None, ("invalid_json", detail, None)
        )
    size = len(text.encode())
    if size > event_body_bytes_max:
        detail = f"the event is {size} bytes of JSON, more than {event_body_bytes_max}"
        stand_in.update(truncated=True, size_bytes=size)
        return _Received(
            event_id, stand_in, _hash(text), kind, source, None, ("event_too_large", detail, None)
        )
    body = json.loads(text)  # a plain copy: nothing of the caller's objects is kept
    try:
        event = _EVENT.validate_python(body)
    except ValidationError as error:
        return _Received(event_id, body, _hash(text), kind, source, None, schema_rejection(error))
    return _Received(event_id, body, _hash(text), kind, source, event)


def _unstorable(code: str, detail: str) -> _Received:
    return _Received(None, {}, "", None, "http", None, (code, detail, "id"))


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _stored(row: Any) -> _Received:
    """A stored event, to run again."""
    item = _receive(row.body, row.source)
    if item.event_id != row.id:  # a stand-in body (too large, unreadable): keep its verdict
        item = _Received(
            row.id,
            row.body,
            row.body_hash,
            row.type,
            row.source,
            None,
            (row.reason_code or "invalid_event", row.reason or "", None),
        )
    item.body_hash = row.body_hash
    item.retry = True
    return item


def schema_rejection(error: ValidationError) -> tuple[str, str, str | None]:
    """The precise code, detail and field of an event that does not match its schema."""
    problems = error.errors(include_url=False)
    found = []
    for problem in problems:
        loc = [str(part) for part in problem["loc"]]
        if loc and loc[0] in schemas.EVENT_TYPES:
            loc = loc[1:]  # the union's tag is not a field of the event
        found.append((".".join(loc), problem))
    where, first = found[0]
    kind, last = first["type"], where.rsplit(".", 1)[-1]
    value = first.get("input")
    code = {
        "union_tag_invalid": "unknown_event_type",
        "exactly_one_amount": "exactly_one_amount",
        "refund_lines_or_amount": "refund_lines_or_amount",
        "extra_forbidden": "unknown_field",
    }.get(kind, "invalid_event")
    if last in ("amount_minor", "amount"):
        negative = kind == "greater_than" or (isinstance(value, str) and value.startswith("-"))
        code = "amount_not_positive" if negative else "invalid_amount"
    elif last == "currency" and kind == "string_pattern_mismatch":
        code = "unknown_currency"
    detail = "; ".join(f"{loc or 'event'}: {p['msg']}" for loc, p in found[:5])
    if len(found) > 5:
        detail += f"; and {len(found) - 5} more"
    return code, detail[:reason_length_max], where or None


def _apply(db: Database, items: Sequence[_Received], *, now: datetime) -> _Applied:
    """Apply `items` in one unit of work; if that fails, each in its own (see the module doc).

    A unit of one event on its own does not apply the parked events it unlocks (they are
    retried after commit, each in its own unit): a bug in one of them is never blamed on it.
    """
    if not items:
        return _Applied()
    rules = policy()
    try:
        return _run(db, items, now=now, rules=rules, unlocked_too=True)
    except Unavailable:
        raise
    except Exception as error:
        log.warning("settlement.batch_fallback", events=len(items), error=repr(error))
    applied = _Applied()
    for item in items:
        try:
            one = _run(db, [item], now=now, rules=rules, unlocked_too=False)
        except Unavailable:
            raise
        except Exception as error:
            one = _apply_alone(db, item, now=now, rules=rules, error=error)
        applied.results.extend(one.results)
        applied.others.extend(one.others)
        applied.unlocks |= one.unlocks
    return applied


def _run(
    db: Database, items: Sequence[_Received], *, now: datetime, rules: Policy, unlocked_too: bool
) -> _Applied:
    work = partial(_apply_in, items=items, now=now, rules=rules, unlocked_too=unlocked_too)
    return db.run(work, retry_unique_violations=True)


def _apply_alone(
    db: Database, item: _Received, *, now: datetime, rules: Policy, error: Exception
) -> _Applied:
    """An event whose own unit of work failed: store it as rejected, with why."""
    if isinstance(error, _Refused) and error.result.error is not None:
        code, detail = (
            error.result.error.code,
            f"the ledger refused it: {error.result.error.detail}",
        )
    else:
        error_id = uuid7().hex
        log.error(
            "settlement.event_failed", event_id=item.event_id, error_id=error_id, exc_info=error
        )
        code, detail = "internal_error", f"applying it failed unexpectedly (logged as {error_id})"
    failed = _Received(
        item.event_id,
        item.body,
        item.body_hash,
        item.type,
        item.source,
        None,
        (code, detail, None),
        retry=item.retry,
        replayed_by=item.replayed_by,
    )
    return _run(db, [failed], now=now, rules=rules, unlocked_too=False)


def _apply_in(
    conn: Connection,
    items: Sequence[_Received],
    *,
    now: datetime,
    rules: Policy,
    unlocked_too: bool = True,
) -> _Applied:
    """Apply `items` in order in one unit. An event parked waiting for something this unit
    then applies (a refund before its payment, in this batch or an earlier one) is applied
    right after it, before the events that came after: events apply in the order they came.
    `results` answer `items` one for one; events applied on the way are in `others`.
    Without `unlocked_too`, only parked events of `items` themselves are applied on the way."""
    unit = Unit(conn, now=now, policy=rules)
    waiting = _parked_unlockable(unit, items) if unlocked_too else {}
    stored = [item for group in waiting.values() for item, _ in group]
    unit.load(_wanted([*items, *stored]))
    applied = _Applied()
    for slot, item in enumerate(items):
        queue: list[tuple[_Received, int | None]] = [(item, slot)]
        while queue:
            current, position = queue.pop(0)
            result, unlocks = _process(unit, current)
            if position is None:
                applied.others.append(result)
            elif position == len(applied.results):
                applied.results.append(result)
            else:  # parked earlier in this unit, applied now: its answer is what became of it
                applied.results[position] = result
            if result.status is IngestStatus.PARKED and result.waiting_for is not None:
                waiting.setdefault(result.waiting_for, []).append((_again(current), position))
            for key in unlocks:
                queue.extend(waiting.pop(key, []))
                # and after commit, for the parked events another unit held meanwhile
                applied.unlocks.add(key)
    unit.flush(on_refused=_refused)
    return applied


def _again(item: _Received) -> _Received:
    """A parked event of this unit, to run again once what it waits for is there."""
    return _Received(
        item.event_id, item.body, item.body_hash, item.type, item.source, item.event, item.error,
        retry=True,
    )  # fmt: skip


def _parked_unlockable(
    unit: Unit, items: Sequence[_Received]
) -> dict[str, list[tuple[_Received, int | None]]]:
    """The stored parked events that `items` may unlock (events of orders paid or disputes
    opened here), locked, by what they wait for. Rows another unit holds are skipped, not
    waited for: the retry after commit picks them up if that unit leaves them parked."""
    keys = set()
    for item in items:
        if isinstance(item.event, schemas.OrderPaidEvent):
            keys.add(f"order:{item.event.data.order_id}")
        elif isinstance(item.event, schemas.DisputeOpenedEvent):
            keys.add(f"dispute:{item.event.data.dispute_id}")
    waiting: dict[str, list[tuple[_Received, int | None]]] = {}
    e = models.marketplace_events.c
    ordered = sorted(keys)
    for start in range(0, len(ordered), parked_page_size):
        query = (
            select(models.marketplace_events)
            .where(
                e.status == IngestStatus.PARKED.value,
                e.waiting_for.in_(ordered[start : start + parked_page_size]),
            )
            .order_by(e.arrival)
        )
        if unit.locking:
            query = query.with_for_update(skip_locked=True)
        for row in unit.conn.execute(query):
            unit.events.remember(row)
            waiting.setdefault(row.waiting_for, []).append((_stored(row), None))
    return waiting


def _wanted(items: Iterable[_Received]) -> Wanted:
    wanted = Wanted()
    for item in items:
        if item.event_id is not None:
            wanted.event_ids.add(item.event_id)
        data = getattr(item.event, "data", None)
        for name, keys in (
            ("order_id", wanted.order_ids),
            ("dispute_id", wanted.dispute_ids),
            ("seller_id", wanted.seller_ids),
            ("adjustment_id", wanted.adjustment_ids),
        ):
            value = getattr(data, name, None)
            if isinstance(value, str):
                keys.add(value)
    return wanted


def _process(unit: Unit, item: _Received) -> tuple[IngestResult, tuple[str, ...]]:
    """Decide one event against the unit, record its status; returns its result and unlocks."""
    if item.event_id is None:
        code, detail, where = item.error or ("invalid_event", "", None)
        return IngestResult(None, IngestStatus.REJECTED, code, detail, field=where), ()
    row = unit.events.get(item.event_id)
    if item.retry:
        allowed = (
            (IngestStatus.PARKED, IngestStatus.REJECTED)
            if item.replayed_by
            else (IngestStatus.PARKED,)
        )
        if row is None or row.status not in allowed:  # someone else got there first
            return _result_of(row, item.event_id), ()
    elif row is not None:
        return _received_again(unit, row, item), ()
    else:
        row = unit.events.add(_new_row(item, unit.now))
    previous = None if row.attempts == 0 else (row.status, row.waiting_for)
    row.attempts += 1
    result, unlocks = _decide(unit, item)
    _set_status(unit, row, result, previous)
    if item.replayed_by:
        unit.record(
            "marketplace_event.replayed",
            row.id,
            {
                "event_id": row.id,
                "type": row.type,
                "replayed_by": item.replayed_by,
                "status": result.status.value,
                "reason_code": result.reason_code,
            },
        )
    return result, unlocks


def _received_again(unit: Unit, row: EventRecord, item: _Received) -> IngestResult:
    if row.body_hash == item.body_hash:
        return IngestResult(
            row.id,
            IngestStatus.DUPLICATE,
            "already_received",
            f"event {row.id} was received before; it is {row.status}",
        )
    conflict = {"event_id": row.id, "body_hash": item.body_hash}
    if not any(
        c["event_id"] == row.id and c["body_hash"] == item.body_hash for c in unit.conflicts
    ):
        unit.conflicts.append(
            {
                **conflict,
                "id": uuid7(),
                "body": item.body,
                "source": item.source,
                "received_at": unit.now,
            }
        )
    return IngestResult(
        row.id,
        IngestStatus.REJECTED,
        "event_id_reused",
        f"event id {row.id} was received before with another body; this body is kept beside it "
        "and not applied",
        field="id",
    )


def _new_row(item: _Received, now: datetime) -> EventRecord:
    assert item.event_id is not None
    return EventRecord(
        id=item.event_id,
        type=item.type,
        occurred_at=getattr(item.event, "occurred_at", None),
        body=item.body,
        body_hash=item.body_hash,
        source=item.source,
        status=IngestStatus.PARKED.value,  # set by `_set_status` before anything is written
        reason_code=None,
        reason=None,
        waiting_for=None,
        received_at=now,
        arrival=uuid7().hex,  # time-ordered: parked events are retried in order of arrival
        updated_at=now,
        applied_at=None,
        attempts=0,
    )


def _decide(unit: Unit, item: _Received) -> tuple[IngestResult, tuple[str, ...]]:
    event_id = item.event_id
    if item.error is not None:
        code, detail, where = item.error
        return IngestResult(event_id, IngestStatus.REJECTED, code, detail, field=where), ()
    try:
        outcome = handlers.HANDLERS[item.event.type](unit, item.event, event_id=event_id)
    except handlers.Park as park:
        return IngestResult(
            event_id, IngestStatus.PARKED, park.code, park.detail, park.waiting_for
        ), ()
    except handlers.AlreadyApplied as done:
        return IngestResult(event_id, IngestStatus.DUPLICATE, done.code, done.detail), ()
    except SellerpayError as error:
        where = error.context.get("field")
        return IngestResult(
            event_id,
            IngestStatus.REJECTED,
            error.code,
            error.detail[:reason_length_max],
            field=where if isinstance(where, str) else None,
        ), ()
    if isinstance(outcome, handlers.AwaitingApproval):
        return IngestResult(
            event_id, IngestStatus.AWAITING_APPROVAL, "approval_required", outcome.note
        ), ()
    return IngestResult(
        event_id, IngestStatus.APPLIED, outcome.note_code, outcome.note
    ), outcome.unlocks


def _set_status(
    unit: Unit, row: EventRecord, result: IngestResult, previous: tuple[str, str | None] | None
) -> None:
    row.status = result.status.value
    row.reason_code = result.reason_code
    row.reason = result.reason
    row.waiting_for = result.waiting_for
    row.updated_at = unit.now
    if result.status is IngestStatus.APPLIED:
        row.applied_at = unit.now
    unit.events.touch(row)
    changed = previous != (row.status, row.waiting_for)
    if changed and result.status in (IngestStatus.PARKED, IngestStatus.REJECTED):
        unit.record(
            f"marketplace_event.{result.status.value}",
            row.id,
            {
                "event_id": row.id,
                "type": row.type,
                "reason_code": row.reason_code,
                "reason": row.reason,
                "waiting_for": row.waiting_for,
            },
        )


def _result_of(row: EventRecord | None, event_id: str) -> IngestResult:
    if row is None:
        return IngestResult(event_id, IngestStatus.REJECTED, "event_not_found", "no such event")
    return IngestResult(
        row.id, IngestStatus(row.status), row.reason_code, row.reason, row.waiting_for
    )


# --- parked events -------------------------------------------------------------------------


def _retry_unlocked(
    db: Database, applied: _Applied, *, clock: Clock, every: bool = False
) -> _Applied:
    """Retry the parked events that what was just applied unlocked, round after round. The
    results of events in `applied` are replaced by what became of them; the results of other
    events are added only when `every` (a batch answers one result per event it was given)."""
    index = {r.event_id: i for i, r in enumerate(applied.results) if r.event_id is not None}
    keys = set(applied.unlocks)
    for _ in range(retry_rounds_max):
        if not keys:
            break
        retried = _retry_keys(db, keys, now=clock.now())
        for result in retried.results:
            position = index.get(result.event_id or "")
            if position is not None:
                applied.results[position] = result
            elif every and result.event_id is not None:
                index[result.event_id] = len(applied.results)
                applied.results.append(result)
        keys = retried.unlocks
    return applied


def _retry_keys(db: Database, keys: set[str], *, now: datetime) -> _Applied:
    """Run the events parked waiting for any of `keys`, in order of arrival, a page at a time;
    `results` holds what became of each (and of the parked events they unlocked on the way)."""
    applied = _Applied()
    wanted = sorted(keys)
    e = models.marketplace_events.c
    for start in range(0, len(wanted), parked_page_size):
        chunk = wanted[start : start + parked_page_size]
        after = ""
        while True:
            query = (
                select(models.marketplace_events)
                .where(
                    e.status == IngestStatus.PARKED.value,
                    e.waiting_for.in_(chunk),
                    e.arrival > after,
                )
                .order_by(e.arrival)
                .limit(parked_page_size)
            )
            with db.reading() as conn:
                rows = conn.execute(query).all()
            if not rows:
                break
            one = _apply(db, [_stored(row) for row in rows], now=now)
            applied.results.extend([*one.results, *one.others])
            applied.unlocks |= one.unlocks
            after = rows[-1].arrival
    return applied


def _parked_keys(db: Database, *, after: str) -> list[str]:
    e = models.marketplace_events.c
    query = (
        select(e.waiting_for)
        .where(e.status == IngestStatus.PARKED.value, e.waiting_for > after)
        .group_by(e.waiting_for)
        .order_by(e.waiting_for)
        .limit(parked_page_size)
    )
    with db.reading() as conn:
        return [row[0] for row in conn.execute(query)]


def _satisfied(db: Database, keys: Sequence[str]) -> set[str]:
    """Which of the `kind:id` keys parked events wait for now exist."""
    by_kind: dict[str, list[str]] = {}
    for key in keys:
        kind, _, ident = key.partition(":")
        by_kind.setdefault(kind, []).append(ident)
    ready: set[str] = {f"fee_plan:{i}" for i in by_kind.get("fee_plan", [])}  # cheap to retry
    with db.reading() as conn:
        ready |= {f"seller:{i}" for i in find_sellers_in(conn, by_kind.get("seller", []))}
        for kind, table, column in (
            ("order", models.orders, models.orders.c.order_id),
            ("dispute", models.disputes, models.disputes.c.dispute_id),
        ):
            idents = by_kind.get(kind, [])
            if idents:
                found = conn.execute(select(column).select_from(table).where(column.in_(idents)))
                ready |= {f"{kind}:{row[0]}" for row in found}
    return ready


# --- reading events ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConflictingBody:
    body: Mapping[str, Any]
    body_hash: str
    source: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """A stored event and the other bodies received under its id."""

    record: EventRecord
    conflicts: tuple[ConflictingBody, ...]


def get_event(db: Database, event_id: str) -> StoredEvent:
    e, c = models.marketplace_events.c, models.marketplace_event_conflicts.c
    with db.reading() as conn:
        row = conn.execute(select(models.marketplace_events).where(e.id == event_id)).first()
        if row is None:
            raise NotFound(f"no marketplace event {event_id}", code="event_not_found")
        others = conn.execute(
            select(models.marketplace_event_conflicts)
            .where(c.event_id == event_id)
            .order_by(c.received_at, c.id)
            .limit(page_size_max)
        ).all()
    return StoredEvent(
        _event_record(row),
        tuple(ConflictingBody(o.body, o.body_hash, o.source, o.received_at) for o in others),
    )


def list_events(
    db: Database,
    *,
    status: IngestStatus | None = None,
    type: str | None = None,
    before: tuple[datetime, str] | None = None,
    limit: int = 50,
) -> tuple[list[EventRecord], tuple[datetime, str] | None]:
    """Events newest first, filtered; returns a page and where the next page starts."""
    if not 1 <= limit <= page_size_max:
        raise InvalidInput(f"limit must be between 1 and {page_size_max}", code="invalid_limit")
    e = models.marketplace_events.c
    query = select(models.marketplace_events).order_by(e.received_at.desc(), e.id.desc())
    if status is not None:
        query = query.where(e.status == status.value)
    if type is not None:
        query = query.where(e.type == type)
    if before is not None:
        moment, event_id = before
        query = query.where(
            or_(e.received_at < moment, and_(e.received_at == moment, e.id < event_id))
        )
    with db.reading() as conn:
        rows = conn.execute(query.limit(limit + 1)).all()
    records = [_event_record(row) for row in rows[:limit]]
    more = len(rows) > limit
    return records, ((records[-1].received_at, records[-1].id) if more else None)


def _event_record(row: Any) -> EventRecord:
    return EventRecord(**{name: row._mapping[name] for name in EventRecord.__dataclass_fields__})


# --- adjustments ---------------------------------------------------------------------------


def approve_adjustment(
    db: Database,
    adjustment_id: str,
    *,
    approver_id: str,
    approver_name: str,
    note: str | None = None,
    clock: Clock,
) -> AdjustmentRecord:
    """Apply an adjustment that waits for approval. The approver must not be the requester
    (`Forbidden(four_eyes)`); approving again as the same approver replays."""
    return _decide_adjustment(
        db,
        adjustment_id,
        approve=True,
        decided_by=(approver_id, approver_name),
        note=note,
        clock=clock,
    )


def reject_adjustment(
    db: Database,
    adjustment_id: str,
    *,
    approver_id: str,
    approver_name: str,
    note: str | None = None,
    clock: Clock,
) -> AdjustmentRecord:
    """Refuse an adjustment that waits for approval: nothing is posted, the event is rejected."""
    return _decide_adjustment(
        db,
        adjustment_id,
        approve=False,
        decided_by=(approver_id, approver_name),
        note=note,
        clock=clock,
    )


def _decide_adjustment(
    db: Database,
    adjustment_id: str,
    *,
    approve: bool,
    decided_by: tuple[str, str],
    note: str | None,
    clock: Clock,
) -> AdjustmentRecord:
    approver_id, approver_name = decided_by
    a = models.adjustments.c

    def work(conn: Connection) -> AdjustmentRecord:
        unit = Unit(conn, now=clock.now(), policy=policy())
        found = conn.execute(select(a.event_id).where(a.adjustment_id == adjustment_id)).first()
        if found is None:
            raise NotFound(f"no adjustment {adjustment_id}", code="adjustment_not_found")
        unit.load(Wanted(event_ids={found.event_id}, adjustment_ids={adjustment_id}))
        record, event = unit.adjustments.get(adjustment_id), unit.events.get(found.event_id)
        assert record is not None and event is not None
        if approve and record.requested_by in (approver_id, approver_name):
            raise Forbidden(
                f"{record.requested_by} asked for adjustment {adjustment_id}: "
                "someone else approves it",
                code="four_eyes",
            )
        wanted = "applied" if approve else "rejected"
        if record.status == wanted and record.decided_by == approver_name:
            return record  # the same decision again: a replay
        if record.status != "awaiting_approval":
            raise Conflict(
                f"adjustment {adjustment_id} is {record.status}",
                code="adjustment_not_awaiting_approval",
                status=record.status,
            )
        record.status, record.decided_by, record.decision_note, record.decided_at = (
            wanted,
            approver_name,
            note,
            unit.now,
        )
        unit.adjustments.touch(record)
        event.status, event.updated_at = wanted, unit.now
        if approve:
            event.applied_at, event.reason_code, event.reason = (
                unit.now,
                "approved",
                f"approved by {approver_name}",
            )
            handlers.post_adjustment(unit, record)
        else:
            event.reason_code, event.reason = (
                "adjustment_rejected",
                f"rejected by {approver_name}" + (f": {note}" if note else ""),
            )
            unit.record(
                "adjustment.rejected", record.seller_id, handlers.adjustment_summary(record)
            )
        unit.events.touch(event)
        unit.flush(on_refused=_refused_adjustment)
        return record

    return db.run(work)


def _refused_adjustment(result: PostResult) -> None:
    assert result.error is not None
    raise result.error


# --- fund release --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReleasedOrder:
    order_id: str
    seller_id: str
    amount: Money


@dataclass(frozen=True, slots=True)
class ReleaseReport:
    """What one run of the release job released, order by order."""

    released: tuple[ReleasedOrder, ...]

    def totals(self) -> dict[str, Money]:
        """Released per currency."""
        totals: dict[str, Money] = {}
        for order in self.released:
            totals[order.amount.currency] = (
                totals.get(order.amount.currency, Money.zero(order.amount.currency)) + order.amount
            )
        return totals


def due_order_count(db: Database, *, clock: Clock) -> int:
    """How many orders are due for release now (for a progress bar)."""
    o = models.orders.c
    with db.reading() as conn:
        query = select(func.count()).where(o.released_at.is_(None), o.release_due_at <= clock.now())
        return int(conn.execute(query).scalar_one())


def release_due_funds(
    db: Database,
    *,
    clock: Clock,
    limit: int = 100_000,
    on_progress: Callable[[int], None] | None = None,
) -> ReleaseReport:
    """Release the funds of every order due by now (at most `limit` orders): what the order
    still has pending moves to available, once (`release:<order_id>`). Safe to run twice at
    once: due orders are claimed with FOR UPDATE SKIP LOCKED (PostgreSQL) or under SQLite's
    write lock, and a released order is never due again."""
    if limit < 1:
        raise InvalidInput("limit must be positive", code="invalid_limit")
    now, rules = clock.now(), policy()
    released: list[ReleasedOrder] = []
    while len(released) < limit:
        size = min(release_batch_size, limit - len(released))
        chunk = db.run(partial(_release_chunk, now=now, size=size, rules=rules))
        released.extend(chunk)
        if on_progress is not None:
            on_progress(len(chunk))
        if len(chunk) < size:
            break
    return ReleaseReport(tuple(released))


def _release_chunk(
    conn: Connection, *, now: datetime, size: int, rules: Policy
) -> list[ReleasedOrder]:
    unit = Unit(conn, now=now, policy=rules)
    o = models.orders.c
    query = (
        select(models.orders)
        .where(o.released_at.is_(None), o.release_due_at <= now)
        .order_by(o.release_due_at, o.order_id)
        .limit(size)
    )
    if unit.locking:
        query = query.with_for_update(skip_locked=True)
    orders = [unit.orders.remember(row) for row in conn.execute(query)]
    released = [
        ReleasedOrder(
            order.order_id, order.seller_id, order.money(handlers.release_order(unit, order))
        )
        for order in orders
    ]
    unit.flush(on_refused=_refused_adjustment)
    return released


# --- fee plans -----------------------------------------------------------------------------


def create_fee_plan(
    db: Database,
    *,
    name: str,
    seller_id: str | None = None,
    effective_from: datetime,
    rules: Sequence[FeeRule],
    fixed_fee_per_order: Mapping[str, int] | None = None,
    refund_policy: RefundPolicy = RefundPolicy.PROPORTIONAL,
    created_by: str,
    clock: Clock,
) -> FeePlanRecord:
    """Store a new version of the platform's plan (no `seller_id`) or of a seller's own. It
    supersedes the previous versions from `effective_from`; they stay, as history. Orders
    parked for want of a plan are retried afterwards."""
    name = name.strip()
    if not 1 <= len(name) <= schemas.name_length_max:
        raise InvalidInput(
            f"a fee plan's name is 1 to {schemas.name_length_max} characters",
            code="invalid_name",
            field="body.name",
        )
    effective_from = ensure_utc(effective_from)
    plan_id = prefixed_id("fp")
    draft = FeePlan(plan_id, 0, tuple(rules), dict(fixed_fee_per_order or {}), refund_policy)
    validate_fee_plan(draft)
    scope = seller_id or PLATFORM_SCOPE
    f = models.fee_plans.c

    def work(conn: Connection) -> FeePlanRecord:
        if seller_id is not None and find_seller_in(conn, seller_id) is None:
            raise InvalidInput(
                f"no seller {seller_id}", code="unknown_seller", field="body.seller_id"
            )
        latest = conn.execute(select(func.max(f.version)).where(f.scope == scope)).scalar_one()
        now = clock.now()
        values = {
            "id": plan_id,
            "scope": scope,
            "seller_id": seller_id,
            "name": name,
            "version": (latest or 0) + 1,
            "effective_from": effective_from,
            "rules": [_rule_json(rule) for rule in draft.rules],
            "fixed_fee_per_order": dict(draft.fixed_fee_per_order),
            "refund_policy": refund_policy.value,
            "created_by": created_by[: schemas.name_length_max],
            "created_at": now,
        }
        conn.execute(models.fee_plans.insert().values(**values))
        record = fee_plan_record(_Row(values))
        unit = Unit(conn, now=now, policy=policy())
        unit.record("fee_plan.created", plan_id, fee_plan_summary(record))
        unit.flush(on_refused=_refused_adjustment)
        return record

    record = db.run(work, retry_unique_violations=True)
    _retry_after_fee_plan(db, seller_id, clock=clock)
    return record


class _Row:
    """Column values as attributes, to build a record from what was just inserted."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.__dict__.update(values)


def _rule_json(rule: FeeRule) -> dict[str, Any]:
    return {
        "category": rule.category,
        "market": rule.market,
        "bps": rule.bps,
        "min_minor": dict(rule.min_minor),
        "max_minor": dict(rule.max_minor),
    }


def fee_plan_summary(record: FeePlanRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "version": record.version,
        "seller_id": record.seller_id,
        "effective_from": record.effective_from.isoformat(),
        "refund_policy": record.refund_policy.value,
    }


def _retry_after_fee_plan(db: Database, seller_id: str | None, *, clock: Clock) -> None:
    """Orders parked without a plan may now have one. The plan exists whatever happens here:
    on failure the retry-parked job applies them later, so log, do not fail."""
    try:
        if seller_id is not None:
            retry_parked_for(db, f"fee_plan:{seller_id}", clock=clock)
            return
        after = "fee_plan:"
        while keys := [k for k in _parked_keys(db, after=after) if k.startswith("fee_plan:")]:
            after = keys[-1]
            _retry_unlocked(db, _retry_keys(db, set(keys), now=clock.now()), clock=clock)
    except Exception:
        log.exception("settlement.retry_after_fee_plan_failed", seller_id=seller_id)


def fee_plan_for_in(conn: Connection, seller_id: str, at: datetime) -> FeePlanRecord | None:
    """The seller's own plan in force at `at`, else the platform's default; None if neither."""
    f = models.fee_plans.c
    rows = conn.execute(
        select(models.fee_plans).where(
            f.scope.in_([seller_id, PLATFORM_SCOPE]), f.effective_from <= ensure_utc(at)
        )
    ).all()
    plans = [fee_plan_record(row) for row in rows]
    own = plan_in_force([p for p in plans if p.scope == seller_id], at=at)
    return own or plan_in_force([p for p in plans if p.scope == PLATFORM_SCOPE], at=at)


def get_fee_plan(db: Database, plan_id: str) -> FeePlanRecord:
    with db.reading() as conn:
        row = conn.execute(select(models.fee_plans).where(models.fee_plans.c.id == plan_id)).first()
    if row is None:
        raise NotFound(f"no fee plan {plan_id}", code="fee_plan_not_found")
    return fee_plan_record(row)


def list_fee_plans(
    db: Database,
    *,
    seller_id: str | None = None,
    platform: bool = False,
    after_id: str | None = None,
    limit: int = 50,
) -> tuple[list[FeePlanRecord], str | None]:
    """Fee plans oldest first (ids are time-ordered), of one seller, or the platform's only."""
    if not 1 <= limit <= page_size_max:
        raise InvalidInput(f"limit must be between 1 and {page_size_max}", code="invalid_limit")
    f = models.fee_plans.c
    query = select(models.fee_plans).order_by(f.id).limit(limit + 1)
    if seller_id is not None:
        query = query.where(f.scope == seller_id)
    if platform:
        query = query.where(f.scope == PLATFORM_SCOPE)
    if after_id is not None:
        query = query.where(f.id > after_id)
    with db.reading() as conn:
        rows = conn.execute(query).all()
    plans = [fee_plan_record(row) for row in rows[:limit]]
    return plans, (plans[-1].id if len(rows) > limit else None)


# --- reading orders ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderView:
    """An order with its lines, refunds and disputes."""

    order: OrderRecord
    lines: tuple[LineRecord, ...]
    refunds: tuple[RefundRecord, ...]
    disputes: tuple[DisputeRecord, ...]


def get_order(db: Database, order_id: str) -> OrderView:
    with db.reading() as conn:
        unit = Unit(conn, now=datetime.min, policy=policy())
        unit.orders.load(conn, [order_id], lock=False)
        order = unit.orders.get(order_id)
        if order is None:
            raise NotFound(f"no order {order_id}", code="order_not_found")
        refunds = unit.refunds.load_where(conn, models.refunds.c.order_id == order_id)
        disputes = unit.disputes.load_where(conn, models.disputes.c.order_id == order_id)
        lines = unit.lines.load_where(conn, models.order_lines.c.order_id == order_id)
    return OrderView(
        order,
        tuple(sorted(lines, key=lambda line: line.position)),
        tuple(sorted(refunds, key=lambda r: (r.created_at, r.refund_id))),
        tuple(sorted(disputes, key=lambda d: (d.opened_at, d.dispute_id))),
    )


def order_fee_breakdown(db: Database, order_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """The fee breakdown of each line of each order, in one read: `order_id` → lines, each
    `LineFee.as_dict()` plus `category`, `refunded_minor` and `fee_returned_minor`. Orders that
    do not exist are left out."""
    if len(order_ids) > orders_per_read_max:
        raise LimitExceeded(
            f"at most {orders_per_read_max} orders at once", code="orders_per_read_max"
        )
    wanted = sorted(set(order_ids))
    o, line_c = models.orders.c, models.order_lines.c
    breakdown: dict[str, list[dict[str, Any]]] = {}
    with db.reading() as conn:
        for start in range(0, len(wanted), parked_page_size):
            chunk = wanted[start : start + parked_page_size]
            currencies = dict(
                conn.execute(select(o.order_id, o.currency).where(o.order_id.in_(chunk))).all()
            )
            rows = conn.execute(
                select(models.order_lines)
                .where(line_c.order_id.in_(chunk))
                .order_by(line_c.order_id, line_c.position)
            )
            for row in rows:
                line = LineRecord(
                    **{name: row._mapping[name] for name in LineRecord.__dataclass_fields__}
                )
                breakdown.setdefault(line.order_id, []).append(
                    {
                        **line.fee(currencies[line.order_id]).as_dict(),
                        "category": line.category,
                        "refunded_minor": line.refunded_minor,
                        "fee_returned_minor": line.fee_returned_minor,
                    }
                )
    return breakdown
