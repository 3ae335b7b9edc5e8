"""`GET /health` and `GET /ready`: for load balancers and Kubernetes probes, no key needed.

`/health` (liveness): the process answers and reaches its database with a trivial query.
`/ready` (readiness: send traffic here?): the database answers, its schema is at the newest
migration (an instance of a newer release waits for `sellerpay db upgrade`), and in distributed
mode the broker accepts a connection. A failing check answers 503 `not_ready` naming each check.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from sellerpay.api.deps import DatabaseDep, SettingsDep
from sellerpay.api.problems import problem_responses
from sellerpay.errors import Unavailable
from sellerpay.observability import CheckResult, readiness_checks

router = APIRouter(tags=["health"])


class DatabaseHealth(BaseModel):
    reachable: bool
    dialect: Literal["sqlite", "postgresql"]


class Health(BaseModel):
    """The API answers and its database is reachable."""

    status: Literal["ok"]
    database: DatabaseHealth


class Readiness(BaseModel):
    """Every check passed: `ok`, or `skipped` when it does not apply (the broker, embedded)."""

    status: Literal["ready"]
    checks: dict[str, CheckResult]
    schema_revision: str | None


@router.get("/health", response_model=Health, responses=problem_responses(503))
def health(db: DatabaseDep) -> Health:
    """Answer 200 when the database answers a trivial query, else 503 `database_unavailable`."""
    try:
        with db.reading() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        raise Unavailable("the database does not answer", code="database_unavailable") from error
    return Health(status="ok", database=DatabaseHealth(reachable=True, dialect=db.dialect))


@router.get("/ready", response_model=Readiness, responses=problem_responses(503))
def ready(db: DatabaseDep, settings: SettingsDep) -> Readiness:
    """Answer 200 when the database answers, the schema is at the newest migration and (in
    distributed mode) the broker accepts connections; else 503 `not_ready` with each check."""
    result = readiness_checks(db, settings)
    if not result.ready:
        raise Unavailable(
            f"not ready: {'; '.join(result.failures)}", code="not_ready", checks=result.checks
        )
    return Readiness(status="ready", checks=result.checks, schema_revision=result.schema_revision)
