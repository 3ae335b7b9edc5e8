"""Capabilities as the rest of Sellerpay reads them: `capabilities_of` for payout runs (many
sellers, a fixed number of queries per chunk), the sellers API, a sanctions block set by
screening, volume thresholds, deadlines passing, and the `onboarding_required` setting."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from onboarding_builders import audit_actions, event_types, events_of, new_seller, new_seller_id
from sqlalchemy import event

from http_support import Keys
from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.money import Money
from sellerpay.onboarding import service
from sellerpay.onboarding.demo import onboard_simulated_seller
from sellerpay.onboarding.rules import BASE_GRACE, THRESHOLD_GRACE, BusinessType, Capabilities
from sellerpay.onboarding.verification import SimulatedProvider
from sellerpay.sellers.rules import SellerStatus
from sellerpay.sellers.service import update_seller
from sellerpay.settings import get_settings

PAYABLE = Capabilities(payouts_enabled=True, sales_enabled=True, disabled_reason=None)
NO_FAILURES = SimulatedProvider(seed=1, failure_percent=0, delay=timedelta(0))


def verified_seller(db: Database, clock: FixedClock, **kwargs: Any) -> str:
    """A seller onboarded with the simulated data, documents approved and verified."""
    seller_id = new_seller(db, clock, country=kwargs.pop("country", "FR"))
    onboard_simulated_seller(db, seller_id, now=clock.now(), **kwargs)
    service.poll_verifications(db, clock.now(), provider=NO_FAILURES)
    return seller_id


def capabilities(db: Database, seller_id: str, clock: FixedClock) -> Capabilities:
    return service.seller_capabilities(db, [seller_id], now=clock.now())[seller_id]


@contextmanager
def counted_queries(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_capabilities_of_many_sellers_takes_two_queries_per_chunk(
    db: Database, clock: FixedClock
) -> None:
    count = 1_050
    ids = [
        new_seller(db, clock, seller_id=f"sel_many{i:04d}{new_seller_id()[4:14]}")
        for i in range(count)
    ]
    payable = verified_seller(db, clock)
    blocked = verified_seller(db, clock)
    with db.transaction() as conn:
        service.set_sanctions_block(
            conn,
            blocked,
            blocked=True,
            reason="SDN match 36",
            actor="system:screening",
            at=clock.now(),
        )
    wanted = [*ids, payable, blocked, "sel_doesnotexist"]

    with counted_queries(db) as statements, db.reading() as conn:
        found = service.capabilities_of(conn, wanted, clock.now())

    chunks = math.ceil((len(wanted)) / service.capabilities_chunk_size)
    assert len(statements) == 2 * chunks
    assert "sel_doesnotexist" not in found and len(found) == count + 2
    assert found[payable] == PAYABLE
    assert found[blocked] == Capabilities(False, False, "sanctions_match")
    assert {found[i] for i in ids} == {Capabilities(False, True, "requirements_currently_due")}


def test_sellers_without_onboarding_lose_sales_too_once_their_deadline_passes(
    db: Database, clock: FixedClock
) -> None:
    seller_id = new_seller(db, clock)

    before = capabilities(db, seller_id, clock)
    clock.advance(BASE_GRACE)
    after = capabilities(db, seller_id, clock)

    assert before == Capabilities(False, True, "requirements_currently_due")
    assert after == Capabilities(False, False, "requirements_past_due")


def test_with_onboarding_not_required_sellers_without_data_keep_their_status_capabilities(
    db: Database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "onboarding_required", False)
    fresh = new_seller(db, clock)
    restricted = new_seller(db, clock)
    update_seller(db, restricted, status=SellerStatus.RESTRICTED, clock=clock)
    blocked = new_seller(db, clock)
    with db.transaction() as conn:
        service.set_sanctions_block(
            conn, blocked, blocked=True, reason=None, actor="system:screening", at=clock.now()
        )

    found = service.seller_capabilities(db, [fresh, restricted, blocked], now=clock.now())
    view = service.get_onboarding(db, fresh, now=clock.now())

    assert found[fresh] == PAYABLE == view.requirements.capabilities
    assert found[restricted] == Capabilities(False, True, "seller_restricted")
    assert found[blocked].disabled_reason == "sanctions_match"  # data sent: still derived


def test_a_sanctions_block_stops_everything_at_once_and_clearing_it_restores_payouts(
    db: Database, clock: FixedClock
) -> None:
    seller_id = verified_seller(db, clock)
    assert capabilities(db, seller_id, clock) == PAYABLE

    with db.transaction() as conn:
        blocked = service.set_sanctions_block(
            conn,
            seller_id,
            blocked=True,
            reason="confirmed match: OFAC SDN 12345",
            actor="key:abc (Jo, compliance)",
            at=clock.now(),
            source_ip="192.0.2.1",
        )
    during = capabilities(db, seller_id, clock)
    with db.transaction() as conn:
        cleared = service.set_sanctions_block(
            conn,
            seller_id,
            blocked=False,
            reason=None,
            actor="key:abc (Jo, compliance)",
            at=clock.now(),
        )

    assert blocked == during == Capabilities(False, False, "sanctions_match")
    assert cleared == capabilities(db, seller_id, clock) == PAYABLE
    actions = [(a, ip) for a, _, ip in audit_actions(db, seller_id)]
    assert actions[-2:] == [
        ("onboarding.sanctions_blocked", "192.0.2.1"),
        ("onboarding.sanctions_cleared", None),
    ]
    changes = events_of(db, seller_id, "seller.capabilities_changed")
    assert [c["after"]["disabled_reason"] for c in changes[-2:]] == ["sanctions_match", None]


def test_a_sanctions_block_rolls_back_with_the_callers_unit_of_work(
    db: Database, clock: FixedClock
) -> None:
    seller_id = verified_seller(db, clock)

    with pytest.raises(RuntimeError), db.transaction() as conn:
        service.set_sanctions_block(
            conn, seller_id, blocked=True, reason=None, actor="system:screening", at=clock.now()
        )
        raise RuntimeError("screening failed after blocking")

    assert capabilities(db, seller_id, clock) == PAYABLE


def test_growing_volume_makes_proof_of_address_due_and_holds_payouts_until_sent(
    db: Database, clock: FixedClock
) -> None:
    seller_id = verified_seller(db, clock, business_type=BusinessType.INDIVIDUAL)
    assert capabilities(db, seller_id, clock) == PAYABLE

    below = service.record_volume(db, seller_id, lifetime=[Money(999_999, "EUR")], at=clock.now())
    assert below == {} and capabilities(db, seller_id, clock) == PAYABLE
    reached = service.record_volume(
        db, seller_id, lifetime=[Money(600_000, "EUR"), Money(500_000, "USD")], at=clock.now()
    )
    due_now = service.get_onboarding(db, seller_id, now=clock.now()).requirements
    clock.advance(THRESHOLD_GRACE)
    past = capabilities(db, seller_id, clock)

    assert reached == {1_000_000: clock.now() - THRESHOLD_GRACE}
    assert [r.value for r in due_now.currently_due] == ["documents.proof_of_address"]
    assert due_now.capabilities == Capabilities(False, True, "requirements_currently_due")
    assert past == Capabilities(False, False, "requirements_past_due")
    assert "seller.requirements_updated" in event_types(db, seller_id)


def test_a_passed_deadline_is_announced_once_to_the_marketplace(
    db: Database, clock: FixedClock
) -> None:
    seller_id = new_seller(db, clock)
    with db.transaction() as conn:  # starts its profile: deadlines are stored from here
        service.set_bank_account_holder(
            conn, seller_id, holder_name="Acme Refurb", actor="system:bank-accounts", at=clock.now()
        )
    clock.advance(BASE_GRACE)

    service.announce_past_due(db, now=clock.now())
    service.announce_past_due(db, now=clock.now())

    changes = events_of(db, seller_id, "seller.capabilities_changed")
    assert [c["after"]["disabled_reason"] for c in changes] == ["requirements_past_due"]


def test_the_sellers_api_shows_the_capabilities_onboarding_derives(
    client: TestClient, keys: Keys, db: Database, clock: FixedClock
) -> None:
    payable = verified_seller(db, clock)
    fresh = new_seller(db, clock)

    shown = {
        seller_id: client.get(f"/v1/sellers/{seller_id}", headers=keys.of("operator")).json()
        for seller_id in (payable, fresh)
    }

    assert shown[payable]["capabilities"] == {
        "payouts_enabled": True,
        "sales_enabled": True,
        "disabled_reason": None,
    }
    assert shown[fresh]["capabilities"] == {
        "payouts_enabled": False,
        "sales_enabled": True,
        "disabled_reason": "requirements_currently_due",
    }
