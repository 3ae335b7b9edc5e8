"""Use cases of sellers: create (idempotently), read, update, list. Each change records an event.

Errors: `InvalidInput` (bad id, country, currency, name, status transition), `Conflict`
(`seller_exists`: the id is taken by a seller created with other details; `version_mismatch`),
`NotFound` (`seller_not_found`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, Row, select

from sellerpay.clock import Clock
from sellerpay.db import Database
from sellerpay.errors import Conflict, InvalidInput, NotFound
from sellerpay.events.service import record_event
from sellerpay.ids import prefixed_id
from sellerpay.money import currency as iso_currency
from sellerpay.sellers import models
from sellerpay.sellers.rules import (
    RiskTier,
    SellerStatus,
    check_seller_id,
    check_status_change,
    country_currency,
    legal_name_length_max,
)

page_size_max: Final = 500


@dataclass(frozen=True, slots=True)
class Seller:
    id: str
    legal_name: str
    country: str
    default_currency: str
    risk_tier: RiskTier
    status: SellerStatus
    metadata: Mapping[str, Any]
    version: int
    created_at: datetime
    updated_at: datetime

    def public(self) -> dict[str, Any]:
        """The seller as events and the API show it."""
        return {
            "id": self.id,
            "legal_name": self.legal_name,
            "country": self.country,
            "default_currency": self.default_currency,
            "risk_tier": self.risk_tier.value,
            "status": self.status.value,
            "metadata": dict(self.metadata),
            "version": self.version,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def _seller(row: Row[Any]) -> Seller:
    return Seller(
        id=row.id,
        legal_name=row.legal_name,
        country=row.country,
        default_currency=row.default_currency,
        risk_tier=RiskTier(row.risk_tier),
        status=SellerStatus(row.status),
        metadata=row.metadata,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _clean_name(legal_name: str) -> str:
    name = " ".join(legal_name.split())
    if not 1 <= len(name) <= legal_name_length_max:
        raise InvalidInput(
            f"legal name must be 1 to {legal_name_length_max} characters", code="invalid_name"
        )
    return name


def create_seller(
    db: Database,
    *,
    seller_id: str | None = None,
    legal_name: str,
    country: str,
    default_currency: str | None = None,
    risk_tier: RiskTier = RiskTier.STANDARD,
    metadata: Mapping[str, Any] | None = None,
    clock: Clock,
) -> tuple[Seller, bool]:
    """Create a seller; returns it and whether it was created now (False: a replay).

    The marketplace may choose the id (`sel_…`), so events can name a seller before it exists
    here; creating the same id again with the same details is a replay, with others a conflict.
    """
    now = clock.now()
    seller_id = seller_id or prefixed_id("sel")
    check_seller_id(seller_id)
    name = _clean_name(legal_name)
    currency = default_currency or country_currency(country, on=now.date())
    if default_currency is not None:
        country_currency(country, on=now.date())  # the country must exist all the same
        iso_currency(currency)
    details = {
        "legal_name": name,
        "country": country,
        "default_currency": currency,
        "risk_tier": risk_tier.value,
        "metadata": dict(metadata or {}),
    }
    request_hash = hashlib.sha256(json.dumps(details, sort_keys=True).encode()).hexdigest()
    s = models.sellers.c

    def work(conn: Connection) -> tuple[Seller, bool]:
        existing = conn.execute(select(models.sellers).where(s.id == seller_id)).first()
        if existing is not None:
            if existing.request_hash != request_hash:
                raise Conflict(
                    f"seller {seller_id} exists with other details",
                    code="seller_exists",
                    seller_id=seller_id,
                )
            return _seller(existing), False
        conn.execute(
            models.sellers.insert().values(
                id=seller_id,
                status=SellerStatus.ACTIVE.value,
                request_hash=request_hash,
                version=1,
                created_at=now,
                updated_at=now,
                **details,
            )
        )
        seller = get_seller_in(conn, seller_id)
        record_event(conn, type="seller.created", subject=seller_id, data=seller.public(), now=now)
        return seller, True

    return db.run(work, retry_unique_violations=True)


def get_seller_in(conn: Connection, seller_id: str) -> Seller:
    """The seller, read inside the caller's unit of work; `NotFound` if there is none."""
    row = conn.execute(select(models.sellers).where(models.sellers.c.id == seller_id)).first()
    if row is None:
        raise NotFound(f"no seller {seller_id}", code="seller_not_found", seller_id=seller_id)
    return _seller(row)


def find_seller_in(conn: Connection, seller_id: str) -> Seller | None:
    row = conn.execute(select(models.sellers).where(models.sellers.c.id == seller_id)).first()
    return None if row is None else _seller(row)


def get_seller(db: Database, seller_id: str) -> Seller:
    with db.reading() as conn:
        return get_seller_in(conn, seller_id)


def update_seller(
    db: Database,
    seller_id: str,
    *,
    legal_name: str | None = None,
    risk_tier: RiskTier | None = None,
    status: SellerStatus | None = None,
    metadata: Mapping[str, Any] | None = None,
    expected_version: int | None = None,
    clock: Clock,
) -> Seller:
    """Change a seller's details; records `seller.updated` with what changed (before, after)."""
    now = clock.now()
    changes: dict[str, Any] = {}
    if legal_name is not None:
        changes["legal_name"] = _clean_name(legal_name)
    if risk_tier is not None:
        changes["risk_tier"] = risk_tier.value
    if status is not None:
        changes["status"] = status.value
    if metadata is not None:
        changes["metadata"] = dict(metadata)

    def work(conn: Connection) -> Seller:
        s = models.sellers.c
        row = conn.execute(
            select(models.sellers).where(s.id == seller_id).with_for_update()
        ).first()
        if row is None:
            raise NotFound(f"no seller {seller_id}", code="seller_not_found", seller_id=seller_id)
        if expected_version is not None and row.version != expected_version:
            raise Conflict(
                f"seller {seller_id} is at version {row.version}, not {expected_version}",
                code="version_mismatch",
                version=row.version,
            )
        if status is not None:
            check_status_change(SellerStatus(row.status), status)
        changed = {k: v for k, v in changes.items() if getattr(row, k) != v}
        if not changed:
            return _seller(row)
        conn.execute(
            models.sellers.update()
            .where(s.id == seller_id)
            .values(version=row.version + 1, updated_at=now, **changed)
        )
        seller = get_seller_in(conn, seller_id)
        record_event(
            conn,
            type="seller.updated",
            subject=seller_id,
            now=now,
            data={
                "seller": seller.public(),
                "changed": {k: {"before": getattr(row, k), "after": v} for k, v in changed.items()},
            },
        )
        return seller

    return db.run(work)


def list_sellers(
    db: Database,
    *,
    country: str | None = None,
    status: SellerStatus | None = None,
    risk_tier: RiskTier | None = None,
    after_id: str | None = None,
    limit: int = 50,
) -> tuple[list[Seller], str | None]:
    """Sellers by id, filtered; returns a page and the id to continue after (None at the end)."""
    if not 1 <= limit <= page_size_max:
        raise InvalidInput(f"limit must be between 1 and {page_size_max}", code="invalid_limit")
    s = models.sellers.c
    query = select(models.sellers).order_by(s.id).limit(limit + 1)
    if country is not None:
        query = query.where(s.country == country)
    if status is not None:
        query = query.where(s.status == status.value)
    if risk_tier is not None:
        query = query.where(s.risk_tier == risk_tier.value)
    if after_id is not None:
        query = query.where(s.id > after_id)
    with db.reading() as conn:
        rows = conn.execute(query).all()
    sellers = [_seller(r) for r in rows[:limit]]
    return sellers, (sellers[-1].id if len(rows) > limit else None)


def find_sellers_in(conn: Connection, seller_ids: Sequence[str]) -> dict[str, Seller]:
    """The sellers among `seller_ids` that exist, by id, read in bulk in the caller's unit of
    work (money in looks up every seller of a batch of events at once)."""
    found: dict[str, Seller] = {}
    wanted = sorted(set(seller_ids))
    s = models.sellers.c
    for start in range(0, len(wanted), page_size_max):
        chunk = wanted[start : start + page_size_max]
        for row in conn.execute(select(models.sellers).where(s.id.in_(chunk))):
            found[row.id] = _seller(row)
    return found
