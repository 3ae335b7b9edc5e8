"""Leases with fencing tokens: a scheduled job runs on one worker at a time across processes
and machines, on SQLite and PostgreSQL alike.

A lease is one row of `job_leases`. Taking it is one unit of work: read the row under a row
lock (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's write transaction holds the whole database),
then write the new holder with the next fencing token. A lease that ended (its holder died, or
ran past its time) is taken over with a greater token. The holder's own writes go through
`fenced_run`, which re-reads the token in the same unit of work and refuses the write with
`LeaseLost` once someone else holds the lease: a paused or slow worker that wakes up after its
lease was taken over can no longer act on it.

The money itself does not depend on leases (every job is idempotent, and the services lock what
they change); leases keep two workers from doing the same work at once, and fencing keeps a
stale one from overwriting the scheduling state of the new one.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, TypeVar

from sqlalchemy import Connection, Row, select, update

from sellerpay.clock import Clock
from sellerpay.db import Database
from sellerpay.errors import Conflict
from sellerpay.jobs import models
from sellerpay.jobs.rules import LeaseRecord, grant_lease, holds

T = TypeVar("T")
lease_name_length_max: Final = 200
_l = models.job_leases.c


class LeaseLost(Conflict):
    """The lease was taken over (it ended, and another holder took it): the write is refused."""

    default_code = "lease_lost"


@dataclass(frozen=True, slots=True)
class Lease:
    """A lease held: its name, who holds it, the fencing token of this grant, when it ends."""

    name: str
    holder: str
    fencing_token: int
    expires_at: datetime


def this_worker() -> str:
    """Who holds a lease: host, process, thread, and a random suffix unique to this call."""
    return (
        f"{socket.gethostname()[:60]}:{os.getpid()}:{threading.get_ident() % 100_000}:"
        f"{uuid.uuid4().hex[:8]}"
    )


def _record(row: Row[Any] | None) -> LeaseRecord | None:
    if row is None:
        return None
    return LeaseRecord(row.holder, row.fencing_token, row.expires_at)


def _locked_row(conn: Connection, name: str) -> Row[Any] | None:
    return conn.execute(select(models.job_leases).where(_l.name == name).with_for_update()).first()


def acquire_lease(
    db: Database, name: str, *, ttl: timedelta, clock: Clock, holder: str | None = None
) -> Lease | None:
    """Take the lease `name` for `ttl`, or `None` while someone else holds it.

    Two callers racing for a free lease: one wins, the other gets `None` (a lost race on the
    first insert is retried once the winner committed, and then finds the lease held).
    """
    if not 1 <= len(name) <= lease_name_length_max:
        raise ValueError(f"a lease name has 1 to {lease_name_length_max} characters")
    who = holder or this_worker()

    def work(conn: Connection) -> Lease | None:
        now = clock.now()
        row = _locked_row(conn, name)
        grant = grant_lease(_record(row), now=now, ttl=ttl)
        if grant is None:
            return None
        values = {
            "holder": who,
            "fencing_token": grant.fencing_token,
            "acquired_at": now,
            "expires_at": grant.expires_at,
        }
        if row is None:
            conn.execute(models.job_leases.insert().values(name=name, **values))
        else:
            conn.execute(update(models.job_leases).where(_l.name == name).values(**values))
        return Lease(name, who, grant.fencing_token, grant.expires_at)

    return db.run(work, retry_unique_violations=True)


def renew_lease(db: Database, lease: Lease, *, ttl: timedelta, clock: Clock) -> Lease:
    """Extend a lease still held (same token); `LeaseLost` if it ended or was taken over."""

    def work(conn: Connection) -> Lease:
        now = clock.now()
        _check_fence(conn, lease, now)
        expires_at = now + ttl
        conn.execute(
            update(models.job_leases).where(_l.name == lease.name).values(expires_at=expires_at)
        )
        return Lease(lease.name, lease.holder, lease.fencing_token, expires_at)

    return db.run(work)


def release_lease(db: Database, lease: Lease, *, clock: Clock) -> bool:
    """Give the lease up so the next run need not wait for it to end; the token stays, so the
    next grant's is greater. Returns False (and changes nothing) if it was taken over."""

    def work(conn: Connection) -> bool:
        result = conn.execute(
            update(models.job_leases)
            .where(_l.name == lease.name, _l.fencing_token == lease.fencing_token)
            .values(holder=None, expires_at=clock.now())
        )
        return result.rowcount == 1

    return db.run(work)


def fenced_run(db: Database, lease: Lease, work: Callable[[Connection], T], *, clock: Clock) -> T:
    """Run `work` in one unit of work only if `lease` is still held with its token.

    The token is checked under the lease row's lock in the same transaction as the write, so a
    takeover either happens before (and the write is refused with `LeaseLost`) or waits until
    this write committed.
    """

    def fenced(conn: Connection) -> T:
        _check_fence(conn, lease, clock.now())
        return work(conn)

    return db.run(fenced)


def _check_fence(conn: Connection, lease: Lease, now: datetime) -> None:
    current = _record(_locked_row(conn, lease.name))
    if not holds(current, fencing_token=lease.fencing_token, now=now):
        raise LeaseLost(
            f"the lease {lease.name} with fencing token {lease.fencing_token} is no longer held",
            code="lease_lost",
            lease=lease.name,
            fencing_token=lease.fencing_token,
            current_token=None if current is None else current.fencing_token,
        )


def read_lease(db: Database, name: str) -> LeaseRecord | None:
    """The lease as stored (for operators and tests)."""
    with db.reading() as conn:
        return _record(conn.execute(select(models.job_leases).where(_l.name == name)).first())
