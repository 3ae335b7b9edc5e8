"""`GET /health`: is the API up and can it reach its database? For load balancers, no key needed."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from sellerpay.api.deps import DatabaseDep
from sellerpay.api.problems import problem_responses
from sellerpay.errors import Unavailable

router = APIRouter(tags=["health"])


class DatabaseHealth(BaseModel):
    reachable: bool
    dialect: Literal["sqlite", "postgresql"]


class Health(BaseModel):
    """The API answers and its database is reachable."""

    status: Literal["ok"]
    database: DatabaseHealth


@router.get("/health", response_model=Health, responses=problem_responses(503))
def health(db: DatabaseDep) -> Health:
    """Answer 200 when the database answers a trivial query, else 503 `database_unavailable`."""
    try:
        with db.reading() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        raise Unavailable("the database does not answer", code="database_unavailable") from error
    return Health(status="ok", database=DatabaseHealth(reachable=True, dialect=db.dialect))
