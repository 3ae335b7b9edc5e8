"""`Database`: one engine per process, units of work, and bounded retries of transient failures.

SQLite runs in WAL mode with `BEGIN IMMEDIATE` for writes, so two writers queue on the
database lock instead of failing half-way. PostgreSQL runs at READ COMMITTED; the services
lock the rows they change (`SELECT … FOR UPDATE`, in sorted order) and `run` retries
deadlocks, serialization failures and lost races on unique keys a bounded number of times.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal, TypeVar

import structlog
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from sellerpay.errors import Unavailable

T = TypeVar("T")
Dialect = Literal["sqlite", "postgresql"]
log = structlog.get_logger(__name__)

# PostgreSQL SQLSTATEs worth retrying: serialization_failure, deadlock_detected,
# lock_not_available; unique_violation is retried only when the caller says so.
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
_UNIQUE_VIOLATION = "23505"
attempts_max_default = 8


def _sqlstate(error: DBAPIError) -> str | None:
    return getattr(error.orig, "sqlstate", None)


def is_transient_error(error: BaseException, *, unique_violations: bool = False) -> bool:
    """True when running the same unit of work again may succeed."""
    if not isinstance(error, DBAPIError):
        return False
    state = _sqlstate(error)
    if state in _TRANSIENT_SQLSTATES:
        return True
    if unique_violations and (
        state == _UNIQUE_VIOLATION
        or (isinstance(error, IntegrityError) and "UNIQUE constraint failed" in str(error.orig))
    ):
        return True
    return isinstance(error, OperationalError) and "database is locked" in str(error.orig)


class Database:
    """The process's handle on the database: an engine and how to run units of work on it."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        parsed = make_url(url)
        backend = parsed.get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")
        self.url = url
        self.dialect: Dialect = "sqlite" if backend == "sqlite" else "postgresql"
        self.engine: Engine = (
            _sqlite_engine(url, echo)
            if self.dialect == "sqlite"
            else _pg_engine(url, pool_size, echo)
        )

    def __repr__(self) -> str:
        return f"Database({make_url(self.url).render_as_string(hide_password=True)!r})"

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A unit of work: commits when the block ends normally, rolls back on any error."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read-only connection (on SQLite it does not take the write lock)."""
        with self.engine.connect().execution_options(sqlite_begin="DEFERRED") as conn, conn.begin():
            yield conn

    def run(
        self,
        work: Callable[[Connection], T],
        *,
        attempts_max: int = attempts_max_default,
        retry_unique_violations: bool = False,
    ) -> T:
        """Run `work` in a unit of work, retrying transient failures with jittered backoff.

        `retry_unique_violations` is for work that re-reads what it depends on, so that a lost
        race on a unique key (two processes posting one idempotency key) resolves on retry.
        """
        for attempt in range(1, attempts_max + 1):
            try:
                with self.transaction() as conn:
                    return work(conn)
            except DBAPIError as error:
                if attempt == attempts_max or not is_transient_error(
                    error, unique_violations=retry_unique_violations
                ):
                    if isinstance(error, OperationalError) and not is_transient_error(error):
                        raise Unavailable(
                            f"database unavailable: {error.orig}", code="database_unavailable"
                        ) from error
                    raise
                log.info("db.retry", attempt=attempt, sqlstate=_sqlstate(error))
                time.sleep(min(0.2, 0.002 * 2**attempt) * random.random())
        raise AssertionError("unreachable")  # pragma: no cover

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_engine(url: str, echo: bool) -> Engine:
    engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # money: a commit is on disk when it returns
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _pg_engine(url: str, pool_size: int, echo: bool) -> Engine:
    return create_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )
