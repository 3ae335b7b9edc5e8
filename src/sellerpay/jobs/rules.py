"""Pure decisions of the job runner: who may take a lease and with which fencing token, when a
chunk's message counts as lost, and the histogram buckets of job and bank call durations.

No I/O and no clock: time is a parameter.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

DURATION_BOUNDS_S: Final[tuple[float, ...]] = (
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0,
)  # fmt: skip
"""Upper bounds of the duration histograms (seconds): a webhook pass to a payout run chunk."""

lease_ttl_s_min: Final = 1.0
lease_ttl_s_max: Final = 86_400.0


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    """A lease as stored: who holds it (None once released), its token and when it ends."""

    holder: str | None
    fencing_token: int
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class LeaseGrant:
    """The lease is taken: store these."""

    fencing_token: int
    expires_at: datetime


def grant_lease(current: LeaseRecord | None, *, now: datetime, ttl: timedelta) -> LeaseGrant | None:
    """Take the lease if nobody holds it now; `None` while another holder's lease runs.

    Every grant carries a token greater than any before it, even when the same worker takes
    the lease again: a holder is known by its token, never by its name, so one that outlived
    its lease cannot pass for the new holder.
    """
    seconds = ttl.total_seconds()
    if not lease_ttl_s_min <= seconds <= lease_ttl_s_max:
        raise ValueError(f"a lease lasts {lease_ttl_s_min} to {lease_ttl_s_max} s, not {seconds}")
    if current is None:
        return LeaseGrant(1, now + ttl)
    if current.holder is not None and current.expires_at > now:
        return None
    return LeaseGrant(current.fencing_token + 1, now + ttl)


def holds(current: LeaseRecord | None, *, fencing_token: int, now: datetime) -> bool:
    """True while the lease is still the one granted with `fencing_token` and has not ended."""
    return (
        current is not None
        and current.holder is not None
        and current.fencing_token == fencing_token
        and current.expires_at > now
    )


def dispatch_is_stale(
    dispatched_at: datetime | None, *, now: datetime, redispatch_after: timedelta
) -> bool:
    """A pending chunk is sent (again) when it never was, or its message has had
    `redispatch_after` to be processed: taken for lost (a chunk done twice changes nothing)."""
    return dispatched_at is None or now - dispatched_at >= redispatch_after


def bucket_index(seconds: float, bounds: Sequence[float] = DURATION_BOUNDS_S) -> int:
    """The bucket an observation falls in: the first bound it does not exceed, else +Inf."""
    if seconds < 0:
        raise ValueError(f"a duration is not negative: {seconds}")
    return bisect.bisect_left(bounds, seconds)


def observe(
    counts: Sequence[int], seconds: float, bounds: Sequence[float] = DURATION_BOUNDS_S
) -> list[int]:
    """`counts` (one per bound, then +Inf; shorter lists are padded) with one more observation."""
    updated = list(counts) + [0] * (len(bounds) + 1 - len(counts))
    updated[bucket_index(seconds, bounds)] += 1
    return updated


def cumulative(counts: Sequence[int]) -> list[int]:
    """Prometheus buckets count everything at or below their bound: running sums."""
    total, sums = 0, []
    for count in counts:
        total += count
        sums.append(total)
    return sums
