"""Creating and revoking an API key is audited with the key's state before and after, in the
same transaction as the change, and never with its secret."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from sellerpay.access.rules import Role
from sellerpay.access.service import create_api_key, list_api_keys, revoke_api_key
from sellerpay.audit.service import list_audit_records, verify_chain
from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.errors import InvalidInput


def test_creating_a_key_records_who_created_it_and_what_it_is(
    db: Database, clock: FixedClock
) -> None:
    key, plaintext = create_api_key(
        db,
        name="payouts desk",
        role=Role.FINANCE,
        clock=clock,
        actor="cli:ana@ops-1",
        source_ip="192.0.2.10",
    )

    (audited,), _ = list_audit_records(db, subject_type="api_key", subject_id=key.id)

    assert audited.action == "api_key.created"
    assert audited.actor == "cli:ana@ops-1"
    assert audited.source_ip == "192.0.2.10"
    assert audited.at == clock.now()
    assert audited.before is None
    assert audited.after == {
        "id": key.id,
        "name": "payouts desk",
        "role": "finance",
        "seller_id": None,
        "created_at": "2026-01-05T09:00:00.000000+00:00",
        "revoked_at": None,
    }
    secret = plaintext.rsplit("_", 1)[1]
    assert secret not in str(audited.public())
    assert verify_chain(db).ok


def test_revoking_a_key_records_the_change_once(db: Database, clock: FixedClock) -> None:
    key, _ = create_api_key(db, name="leaving", role=Role.OPERATOR, clock=clock)

    revoke_api_key(db, key.id, clock=clock, actor="key:0a1b (security, admin)")
    revoke_api_key(db, key.id, clock=clock, actor="key:0a1b (security, admin)")  # no change

    records, _ = list_audit_records(db, subject_type="api_key", subject_id=key.id)
    assert [r.action for r in records] == ["api_key.revoked", "api_key.created"]
    revoked = records[0]
    assert revoked.actor == "key:0a1b (security, admin)"
    assert revoked.before is not None and revoked.before["revoked_at"] is None
    assert revoked.after is not None
    assert revoked.after["revoked_at"] == "2026-01-05T09:00:00.000000+00:00"
    assert records[1].actor == "system:access"  # a caller that did not say who acts


def test_a_key_whose_audit_record_is_refused_is_not_created(
    db: Database, clock: FixedClock
) -> None:
    keys_before = len(list_api_keys(db))

    with pytest.raises(InvalidInput) as refused:
        create_api_key(db, name="ghost", role=Role.RISK, clock=clock, actor="no\nnewlines")

    assert refused.value.context["field"] == "actor"
    assert len(list_api_keys(db)) == keys_before


def test_the_apikey_commands_audit_as_the_person_at_the_terminal(
    cli_db: Database,
) -> None:
    from sellerpay.cli.main import app

    created = CliRunner().invoke(app, ["apikey", "create", "--name", "ci", "--role", "operator"])
    assert created.exit_code == 0, created.output
    (key,) = list_api_keys(cli_db)
    revoked = CliRunner().invoke(app, ["apikey", "revoke", key.id])
    assert revoked.exit_code == 0, revoked.output

    records, _ = list_audit_records(cli_db, subject_type="api_key", subject_id=key.id)

    assert [r.action for r in records] == ["api_key.revoked", "api_key.created"]
    assert all(r.actor.startswith("cli:") and "@" in r.actor for r in records)
