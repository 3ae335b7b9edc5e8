"""What a run saw: the journal of every step, the digest over it and the outbox events, the
outbox's subscriber that checks payouts against the state machine as they move, and breaches.

The digest is a SHA-256 over every journal entry, every outbox event and every bank file (by
its hash) in order (JSON with sorted keys): two runs of one seed give the same digest, event
for event.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sellerpay.events.service import Event
from sellerpay.payouts.rules import TRANSITIONS, PayoutStatus

__all__ = ["Breach", "Journal", "Subscriber"]


@dataclass(frozen=True, slots=True)
class Breach:
    """A broken invariant, and where to replay it: the seed, the day and the step."""

    check: str
    detail: str
    day: int | None = None
    step: str | None = None


@dataclass(slots=True)
class Journal:
    """Every step's outcome in order, and the run's digest over them and the outbox events."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    _hash: Any = field(default_factory=hashlib.sha256)

    def add(self, day: int, step: str, detail: Mapping[str, Any]) -> None:
        entry = {"day": day, "step": step, **detail}
        self.entries.append(entry)
        self.feed(entry)

    def feed(self, item: Any) -> None:
        self._hash.update(json.dumps(item, sort_keys=True, default=str).encode())
        self._hash.update(b"\n")

    def digest(self) -> str:
        return str(self._hash.hexdigest())


class Subscriber:
    """The outbox's reader (an `EventPublisher` for `relay_outbox`): every event goes into the
    digest, and every payout event is checked against the state machine as it arrives."""

    def __init__(self, journal: Journal, on_breach: Callable[[str, str], None]) -> None:
        self.journal = journal
        self.on_breach = on_breach
        self.counts: Counter[str] = Counter()
        self.payout_status: dict[str, PayoutStatus] = {}
        self.reached: Counter[str] = Counter()  # transitions seen, "from->to"

    def publish(self, events: Sequence[Event]) -> None:
        for event in events:
            self.counts[event.type] += 1
            self.journal.feed(
                [str(event.id), event.type, event.subject, event.data, event.created_at]
            )
            if event.type.startswith("payout.") and "payout_id" in event.data:
                self._check_payout(event)

    def _check_payout(self, event: Event) -> None:
        payout_id = str(event.data["payout_id"])
        status = PayoutStatus(event.data["status"])
        if event.type == "payout.created":
            if payout_id in self.payout_status:
                self.on_breach("payout_states", f"{payout_id} was created twice")
            self.payout_status[payout_id] = status
            self.reached[f"created->{status.value}"] += 1
            return
        previous = PayoutStatus(event.data["previous_status"])
        known = self.payout_status.get(payout_id)
        if known is not previous:
            self.on_breach(
                "payout_states",
                f"{payout_id} moved from {previous.value}, but its events left it "
                f"{known.value if known else 'unknown'}",
            )
        if status not in TRANSITIONS[previous]:
            self.on_breach("payout_states", f"{payout_id} moved {previous.value} -> {status.value}")
        self.payout_status[payout_id] = status
        self.reached[f"{previous.value}->{status.value}"] += 1
