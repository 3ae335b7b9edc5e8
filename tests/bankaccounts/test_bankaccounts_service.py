"""Bank account use cases on SQLite and PostgreSQL: added encrypted and held for a cool-down,
one default per currency, released early only by a second person, disabled after a return;
each change with its event and audit record in the same transaction; payouts read many
sellers' destinations in one query."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from bankaccounts_builders import (
    ABA_ACCOUNT,
    DE_IBAN,
    ES_IBAN,
    FR_IBAN,
    KEYRING,
    UK_ACCOUNT,
    ZENGIN_ACCOUNT,
    aba,
    add,
    database_text,
    events_about,
    iban,
    make_seller,
    new_seller_id,
    setting,
    uk,
    zengin,
)
from sqlalchemy import event, select
from structlog.testing import capture_logs

from sellerpay.audit.service import list_audit_records
from sellerpay.bankaccounts import models, service
from sellerpay.bankaccounts.rules import BankAccountStatus, InvalidBankAccount
from sellerpay.clock import FixedClock
from sellerpay.crypto import EncryptionKeyMissing, KeyRing
from sellerpay.db import Database
from sellerpay.errors import Conflict, Forbidden, InvalidInput, NotFound, Rejected
from sellerpay.rails.instructions import AbaAccount, IbanAccount, ZenginAccount
from sellerpay.sellers.rules import SellerStatus
from sellerpay.sellers.service import update_seller

APPROVER = "key:approver1 (Alice, approver)"


def audit_actions(db: Database, bank_account_id: str) -> list[str]:
    records, _ = list_audit_records(db, subject_type="bank_account", subject_id=bank_account_id)
    return [record.action for record in reversed(records)]


def stored_row(db: Database, bank_account_id: str) -> Any:
    b = models.bank_accounts.c
    with db.reading() as conn:
        return conn.execute(select(models.bank_accounts).where(b.id == bank_account_id)).one()


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The SQL statements run on `db` inside the block."""
    seen: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)


# --- add -----------------------------------------------------------------------------------


def test_an_added_account_is_stored_encrypted_masked_and_held_for_72_hours(
    db: Database, clock: FixedClock, seller: str
) -> None:
    account = add(db, clock, seller, iban(f"{FR_IBAN[:4]} {FR_IBAN[4:]}", "agrifrpp"))

    assert account.id.startswith("ba_")
    assert (account.seller_id, account.currency, account.country) == (seller, "EUR", "FR")
    assert (account.format.value, account.rail, account.bank_identifier) == (
        "iban",
        "sepa",
        "AGRIFRPP",
    )
    assert account.masked == "•••• 0189"
    assert account.status is BankAccountStatus.ACTIVE and account.is_default
    assert account.cooldown_until == clock.now() + timedelta(hours=72)
    assert account.on_hold(clock.now()) and not account.on_hold(account.cooldown_until)
    assert not account.verified and account.version == 1
    row = stored_row(db, account.id)
    assert row.number_ciphertext.startswith("v1:test1:") and row.key_id == "test1"
    assert FR_IBAN not in row.number_ciphertext
    assert FR_IBAN not in repr(account)


def test_adding_an_account_records_its_event_and_audit_record_masked(
    db: Database, clock: FixedClock, seller: str
) -> None:
    account = add(db, clock, seller, uk(), holder_name="Refurb Ltd", actor="key:k1 (s, seller)")

    [(kind, data)] = events_about(db, seller)
    assert kind == "bank_account.added"
    assert data["bank_account"]["id"] == account.id
    assert data["bank_account"]["masked"] == "•••• 6837"
    assert data["replaced_bank_account_id"] is None
    records, _ = list_audit_records(db, subject_type="bank_account", subject_id=account.id)
    [record] = records
    assert (record.action, record.actor, record.before) == (
        "bank_account.added",
        "key:k1 (s, seller)",
        None,
    )
    assert record.after is not None and record.after["masked"] == "•••• 6837"
    assert UK_ACCOUNT not in str(data) and UK_ACCOUNT not in str(record.after)


def test_an_account_whose_audit_record_cannot_be_written_is_not_stored_at_all(
    db: Database, clock: FixedClock, seller: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        add(db, clock, seller, actor="key:k1\n(forged line)")  # the audit trail refuses it

    assert caught.value.code == "invalid_audit_field"
    accounts, _ = service.list_bank_accounts(db, seller)
    assert accounts == [] and events_about(db, seller) == []


@pytest.mark.parametrize(
    ("details", "currency", "field"),
    [
        (IbanAccount("FR7630006000011234567890188"), "EUR", "iban"),
        (IbanAccount(FR_IBAN, "BNPAFRPP"), "EUR", "bic"),
        (IbanAccount(FR_IBAN), "USD", "currency"),
        (AbaAccount("021000022", ABA_ACCOUNT), "USD", "routing_number"),
    ],
)
def test_invalid_details_are_refused_and_nothing_is_stored(
    db: Database,
    clock: FixedClock,
    seller: str,
    details: IbanAccount | AbaAccount,
    currency: str,
    field: str,
) -> None:
    with pytest.raises(InvalidBankAccount) as caught:
        add(db, clock, seller, details, currency=currency)

    assert caught.value.field == field
    assert service.list_bank_accounts(db, seller)[0] == []
    assert events_about(db, seller) == []


def test_a_zengin_holder_name_is_stored_in_half_width_katakana(
    db: Database, clock: FixedClock, seller: str
) -> None:
    account = add(db, clock, seller, zengin(), holder_name="やまだ たろう")

    assert account.holder_name == "ﾔﾏﾀﾞ ﾀﾛｳ"
    assert (account.rail, account.currency, account.bank_identifier) == (
        "zengin",
        "JPY",
        "0001-123",
    )
    assert account.masked == "•••• 645"


def test_an_unknown_seller_gets_no_account_and_a_closed_one_is_refused(
    db: Database, clock: FixedClock, seller: str
) -> None:
    with pytest.raises(NotFound) as missing:
        add(db, clock, new_seller_id())
    update_seller(db, seller, status=SellerStatus.CLOSED, clock=clock)
    with pytest.raises(Rejected) as closed:
        add(db, clock, seller)

    assert missing.value.code == "seller_not_found"
    assert closed.value.code == "seller_closed"


# --- idempotency ---------------------------------------------------------------------------


def test_the_same_idempotency_key_and_request_replay_the_first_account(
    db: Database, clock: FixedClock, seller: str
) -> None:
    first, created = service.add_bank_account(
        db,
        seller_id=seller,
        details=iban(),
        holder_name="Acme Refurb SAS",
        currency="EUR",
        actor="key:a (x, seller)",
        idempotency_key="add-1",
        now=clock.now(),
        keyring=KEYRING,
    )
    again, created_again = service.add_bank_account(
        db,
        seller_id=seller,
        details=iban(f"{FR_IBAN[:4]} {FR_IBAN[4:]}".lower(), "AGRIFRPP"),  # the same account
        holder_name="Acme  Refurb SAS",
        currency="EUR",
        actor="key:a (x, seller)",
        idempotency_key="add-1",
        now=clock.now() + timedelta(minutes=1),
        keyring=KEYRING,
    )

    assert (created, created_again) == (True, False)
    assert again == first
    assert [kind for kind, _ in events_about(db, seller)] == ["bank_account.added"]
    assert audit_actions(db, first.id) == ["bank_account.added"]


@pytest.mark.parametrize(
    "change",
    [
        {"details": IbanAccount(ES_IBAN)},
        {"holder_name": "Other Holder"},
        {"make_default": True},
    ],
)
def test_the_same_idempotency_key_with_another_request_is_a_conflict(
    db: Database, clock: FixedClock, seller: str, change: dict[str, Any]
) -> None:
    add(db, clock, seller, iban(), idempotency_key="add-1")

    with pytest.raises(Conflict) as caught:
        add(db, clock, seller, **{"details": iban(), "idempotency_key": "add-1", **change})

    assert caught.value.code == "idempotency_key_reused"
    assert len(service.list_bank_accounts(db, seller)[0]) == 1


def test_an_idempotency_key_is_the_sellers_own(
    db: Database, clock: FixedClock, seller: str, other_seller: str
) -> None:
    mine = add(db, clock, seller, idempotency_key="add-1")
    theirs = add(db, clock, other_seller, idempotency_key="add-1")

    assert mine.id != theirs.id and theirs.seller_id == other_seller


# --- defaults ------------------------------------------------------------------------------


def test_the_first_account_of_a_currency_is_its_default_and_later_ones_are_not(
    db: Database, clock: FixedClock, seller: str
) -> None:
    euro = add(db, clock, seller, iban())
    dollar = add(db, clock, seller, aba())
    spare = add(db, clock, seller, iban(ES_IBAN, None))

    assert euro.is_default and dollar.is_default and not spare.is_default
    assert spare.status is BankAccountStatus.ACTIVE


def test_an_account_added_as_default_replaces_the_previous_default(
    db: Database, clock: FixedClock, seller: str
) -> None:
    old = add(db, clock, seller, iban())

    new = add(db, clock, seller, iban(DE_IBAN, None), make_default=True)

    replaced = service.get_bank_account(db, old.id)
    assert new.is_default
    assert (replaced.status, replaced.is_default) == (BankAccountStatus.REPLACED, False)
    assert replaced.version == 2
    kinds = events_about(db, seller)
    assert kinds[-1][0] == "bank_account.added"
    assert kinds[-1][1]["replaced_bank_account_id"] == old.id
    assert audit_actions(db, old.id) == ["bank_account.added", "bank_account.replaced"]
    with pytest.raises(Rejected) as caught:
        service.set_default(db, old.id, actor="key:a (x, seller)", now=clock.now())
    assert caught.value.code == "bank_account_not_active"


def test_setting_the_default_moves_it_and_leaves_the_previous_one_active(
    db: Database, clock: FixedClock, seller: str
) -> None:
    first = add(db, clock, seller, iban())
    second = add(db, clock, seller, iban(ES_IBAN, None))

    made = service.set_default(db, second.id, actor="key:b (y, seller)", now=clock.now())
    again = service.set_default(db, second.id, actor="key:b (y, seller)", now=clock.now())

    previous = service.get_bank_account(db, first.id)
    assert made.is_default and made.last_changed_by == "key:b (y, seller)"
    assert (previous.is_default, previous.status) == (False, BankAccountStatus.ACTIVE)
    assert again == made  # a no-op
    changes = [data for kind, data in events_about(db, seller) if kind.endswith("default_changed")]
    assert [c["previous_default_id"] for c in changes] == [first.id]
    assert audit_actions(db, second.id)[-1] == "bank_account.default_set"
    assert audit_actions(db, first.id)[-1] == "bank_account.default_unset"
    with db.reading() as conn:
        [destination] = service.payout_destinations(conn, [seller], keyring=KEYRING)[seller]
    assert destination.bank_account_id == second.id


# --- disable -------------------------------------------------------------------------------


def test_a_disabled_default_leaves_its_currency_without_a_destination(
    db: Database, clock: FixedClock, seller: str
) -> None:
    account = add(db, clock, seller, iban())
    spare = add(db, clock, seller, iban(ES_IBAN, None))

    with db.transaction() as conn:
        disabled = service.disable_bank_account(
            conn, account.id, reason_code="AC04", actor="system:bank-return", now=clock.now()
        )
    with db.transaction() as conn:
        again = service.disable_bank_account(
            conn, account.id, reason_code="R02", actor="system:bank-return", now=clock.now()
        )

    assert (disabled.status, disabled.is_default, disabled.disabled_reason) == (
        BankAccountStatus.DISABLED,
        False,
        "AC04",
    )
    assert again == disabled  # the first reason stays; nothing new recorded
    assert not service.get_bank_account(db, spare.id).is_default  # not promoted by itself
    with db.reading() as conn:
        assert service.payout_destinations(conn, [seller], keyring=KEYRING) == {seller: []}
    disabled_events = [d for k, d in events_about(db, seller) if k == "bank_account.disabled"]
    assert disabled_events == [
        {"bank_account": disabled.public(), "reason_code": "AC04", "was_default": True}
    ]
    assert audit_actions(db, account.id) == ["bank_account.added", "bank_account.disabled"]


def test_a_reason_code_that_is_not_a_code_is_refused(
    db: Database, clock: FixedClock, seller: str
) -> None:
    account = add(db, clock, seller)

    with pytest.raises(InvalidInput) as caught, db.transaction() as conn:
        service.disable_bank_account(
            conn, account.id, reason_code="closed; drop table", actor="x", now=clock.now()
        )
    assert caught.value.code == "invalid_reason_code"


# --- the cool-down hold --------------------------------------------------------------------


def test_whoever_added_an_account_cannot_release_its_hold(
    db: Database, clock: FixedClock, seller: str
) -> None:
    account = add(db, clock, seller, actor=APPROVER)

    with pytest.raises(Forbidden) as caught:
        service.release_cooldown(db, account.id, approver=APPROVER, now=clock.now())

    assert caught.value.code == "four_eyes"
    assert service.get_bank_account(db, account.id).on_hold(clock.now())


def test_whoever_last_changed_an_account_cannot_release_its_hold(
    db: Database, clock: FixedClock, seller: str
) -> None:
    add(db, clock, seller)
    account = add(db, clock, seller, iban(ES_IBAN, None))
    service.set_default(db, account.id, actor=APPROVER, now=clock.now())

    with pytest.raises(Forbidden):
        service.release_cooldown(db, account.id, approver=APPROVER, now=clock.now())


def test_a_second_person_releases_the_hold_and_payouts_may_go_now(
    db: Database, clock: FixedClock, seller: str
) -> None:
    account = add(db, clock, seller)
    later = clock.now() + timedelta(hours=1)

    released = service.release_cooldown(db, account.id, approver=APPROVER, now=later)
    again = service.release_cooldown(db, account.id, approver=APPROVER, now=later)

    assert not released.on_hold(later)
    assert (released.hold_released_by, released.hold_released_at) == (APPROVER, later)
    assert released.last_changed_by == account.last_changed_by  # an approval, not a change
    assert again == released
    assert [k for k, _ in events_about(db, seller)][-1] == "bank_account.hold_released"
    assert audit_actions(db, account.id) == ["bank_account.added", "bank_account.hold_released"]
    with db.reading() as conn:
        [destination] = service.payout_destinations(conn, [seller], keyring=KEYRING)[seller]
    assert destination.hold_released and not destination.on_hold(later)


def test_there_is_no_hold_to_release_once_the_cool_down_is_over(
    db: Database, clock: FixedClock, seller: str
) -> None:
    account = add(db, clock, seller)

    with pytest.raises(Conflict) as caught:
        service.release_cooldown(
            db, account.id, approver=APPROVER, now=account.cooldown_until + timedelta(seconds=1)
        )
    assert caught.value.code == "no_hold_to_release"


def test_a_cool_down_of_zero_hours_holds_nothing(
    db: Database, clock: FixedClock, seller: str
) -> None:
    account = add(db, clock, seller, cooldown_hours=0)

    assert not account.on_hold(clock.now())


# --- verification --------------------------------------------------------------------------


def test_an_account_is_verified_once_with_a_note(
    db: Database, clock: FixedClock, seller: str
) -> None:
    account = add(db, clock, seller)

    with db.transaction() as conn:
        verified = service.record_verification(
            conn, account.id, note="first payout paid", actor="system:payouts", now=clock.now()
        )
    with db.transaction() as conn:
        again = service.record_verification(
            conn, account.id, note="second payout paid", actor="system:payouts", now=clock.now()
        )

    assert (verified.verified, verified.verification_note) == (True, "first payout paid")
    assert again == verified
    assert [k for k, _ in events_about(db, seller)].count("bank_account.verified") == 1


# --- reads ---------------------------------------------------------------------------------


def test_a_sellers_accounts_are_listed_a_page_at_a_time_and_by_status(
    db: Database, clock: FixedClock, seller: str
) -> None:
    made = [add(db, clock, seller, iban(value, None)) for value in (FR_IBAN, ES_IBAN, DE_IBAN)]
    with db.transaction() as conn:
        service.disable_bank_account(conn, made[1].id, reason_code="x", actor="a", now=clock.now())

    first, after = service.list_bank_accounts(db, seller, limit=2)
    rest, end = service.list_bank_accounts(db, seller, limit=2, after_id=after)
    active, _ = service.list_bank_accounts(db, seller, status=BankAccountStatus.ACTIVE)

    assert [a.id for a in first + rest] == [a.id for a in made] and end is None
    assert [a.id for a in active] == [made[0].id, made[2].id]
    with pytest.raises(NotFound):
        service.list_bank_accounts(db, new_seller_id())
    with pytest.raises(InvalidInput):
        service.list_bank_accounts(db, seller, limit=service.page_size_max + 1)


def test_payouts_read_every_sellers_defaults_decrypted_in_one_query(
    db: Database, clock: FixedClock
) -> None:
    both, none, gone = (make_seller(db, clock) for _ in range(3))
    euro = add(db, clock, both, iban())
    dollar = add(db, clock, both, aba())
    add(db, clock, both, iban(ES_IBAN, None))  # a spare: not a destination
    closed = add(db, clock, gone, zengin())
    with db.transaction() as conn:
        service.disable_bank_account(
            conn, closed.id, reason_code="AC04", actor="a", now=clock.now()
        )

    with statements(db) as seen, db.reading() as conn:
        found = service.payout_destinations(conn, [both, none, gone, both], keyring=KEYRING)

    assert len([s for s in seen if "bank_accounts" in s]) == 1
    assert set(found) == {both, none, gone}
    assert found[none] == [] and found[gone] == []
    eur, usd = found[both]
    assert (eur.bank_account_id, eur.currency, eur.rail) == (euro.id, "EUR", "sepa")
    assert eur.details == IbanAccount(FR_IBAN, "AGRIFRPP")
    assert (usd.bank_account_id, usd.rail) == (dollar.id, "ach")
    assert usd.details == AbaAccount("021000021", ABA_ACCOUNT, "checking")
    assert (eur.masked, eur.holder_name, eur.verified) == ("•••• 0189", "Acme Refurb SAS", False)
    assert eur.on_hold(clock.now()) and not eur.hold_released
    assert FR_IBAN not in repr(eur) and "•••• 0189" in repr(eur)


def test_payouts_read_destinations_a_chunk_of_sellers_per_query(
    db: Database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    sellers = [make_seller(db, clock) for _ in range(5)]
    for seller_id in sellers:
        add(db, clock, seller_id)
    monkeypatch.setattr(service, "destinations_chunk_size_max", 2)

    with statements(db) as seen, db.reading() as conn:
        found = service.payout_destinations(conn, sellers, keyring=KEYRING)

    assert len([s for s in seen if "bank_accounts" in s]) == 3
    assert all(len(found[s]) == 1 for s in sellers)


def test_payouts_read_accounts_by_id_whatever_their_status_and_who_changed_them(
    db: Database, clock: FixedClock, seller: str
) -> None:
    account = add(db, clock, seller, zengin(), holder_name="ﾔﾏﾀﾞ", actor="key:s (s, seller)")
    with db.transaction() as conn:
        service.disable_bank_account(
            conn, account.id, reason_code="AC04", actor="a", now=clock.now()
        )

    with db.reading() as conn:
        found = service.destinations_by_id(conn, [account.id, "ba_missing"], keyring=KEYRING)
        changed_by = service.last_changed_by(conn, account.id)

    assert list(found) == [account.id]
    assert found[account.id].details == ZenginAccount("0001", "123", ZENGIN_ACCOUNT, "ordinary")
    assert found[account.id].disabled_reason == "AC04"
    assert changed_by == "a"


# --- data at rest --------------------------------------------------------------------------


def test_no_account_number_appears_in_clear_anywhere_in_the_database(
    fresh_db: Database, clock: FixedClock
) -> None:
    seller = make_seller(fresh_db, clock)
    added = [
        add(fresh_db, clock, seller, iban(FR_IBAN, "AGRIFRPP")),
        add(fresh_db, clock, seller, iban(DE_IBAN, None), make_default=True),  # replaces
        add(fresh_db, clock, seller, iban(ES_IBAN, None)),
        add(fresh_db, clock, seller, aba()),
        add(fresh_db, clock, seller, uk()),
        add(fresh_db, clock, seller, zengin(), holder_name="ヤマダ タロウ"),
    ]
    service.set_default(fresh_db, added[2].id, actor="key:x (x, seller)", now=clock.now())
    service.release_cooldown(fresh_db, added[3].id, approver=APPROVER, now=clock.now())
    service.remove_bank_account(fresh_db, added[4].id, actor="key:x (x, seller)", now=clock.now())

    everything = database_text(fresh_db)

    assert "v1:test1:" in everything and "0189" in everything  # the scan sees our rows
    secrets = [FR_IBAN, DE_IBAN, ES_IBAN, ABA_ACCOUNT, UK_ACCOUNT, ZENGIN_ACCOUNT]
    secrets += ["0532013000", "12345678901", FR_IBAN[4:], DE_IBAN[4:]]  # their BBAN parts
    assert [s for s in secrets if s in everything] == []


# --- keys ----------------------------------------------------------------------------------


def test_rotation_re_encrypts_every_account_in_batches_and_then_has_nothing_to_do(
    fresh_db: Database, clock: FixedClock
) -> None:
    old = KeyRing.from_setting(setting("k1"))
    seller = make_seller(fresh_db, clock)
    made = [add(fresh_db, clock, seller, aba(f"10000{n}"), keyring=old) for n in range(5)]
    before = {a.id: stored_row(fresh_db, a.id).number_ciphertext for a in made}
    new = KeyRing.from_setting(setting("k2", "k1"))
    batches: list[int] = []

    assert service.count_to_reencrypt(fresh_db, new) == 5
    done = service.reencrypt_all(fresh_db, new, batch_size=2, on_batch=batches.append)

    assert (done, batches) == (5, [2, 2, 1])
    assert service.count_to_reencrypt(fresh_db, new) == 0
    assert service.reencrypt_all(fresh_db, new) == 0  # idempotent
    for account in made:
        row = stored_row(fresh_db, account.id)
        assert row.key_id == "k2" and row.number_ciphertext.startswith("v1:k2:")
        assert row.number_ciphertext != before[account.id]
        assert row.version == 1  # not a change of the account
    only_new = KeyRing.from_setting(setting("k2"))
    with fresh_db.reading() as conn:
        [destination] = service.payout_destinations(conn, [seller], keyring=only_new)[seller]
    assert destination.details == aba("100000")


def test_rotation_without_the_old_key_stops_with_a_clear_error(
    fresh_db: Database, clock: FixedClock
) -> None:
    seller = make_seller(fresh_db, clock)
    add(fresh_db, clock, seller, keyring=KeyRing.from_setting(setting("k1")))

    with pytest.raises(EncryptionKeyMissing, match="'k1'"):
        service.reencrypt_all(fresh_db, KeyRing.from_setting(setting("k2")))


# --- concurrency ---------------------------------------------------------------------------


def test_accounts_added_as_default_at_once_leave_exactly_one_default(
    db: Database, clock: FixedClock, seller: str
) -> None:
    ibans = [FR_IBAN, ES_IBAN, DE_IBAN, "FR1420041010050500013M02606"]

    with ThreadPoolExecutor(max_workers=4) as pool:
        made = list(
            pool.map(
                lambda value: add(db, clock, seller, iban(value, None), make_default=True), ibans
            )
        )

    accounts, _ = service.list_bank_accounts(db, seller)
    assert len(made) == len(accounts) == 4
    statuses = sorted(a.status.value for a in accounts)
    assert statuses == ["active", "replaced", "replaced", "replaced"]
    assert [a.is_default for a in accounts if a.status is BankAccountStatus.ACTIVE] == [True]


def test_the_same_add_sent_four_times_at_once_stores_one_account(
    db: Database, clock: FixedClock, seller: str
) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        made = list(pool.map(lambda _: add(db, clock, seller, idempotency_key="once"), range(4)))

    assert len({account.id for account in made}) == 1
    assert len(service.list_bank_accounts(db, seller)[0]) == 1
    assert [kind for kind, _ in events_about(db, seller)] == ["bank_account.added"]


def test_reading_a_number_without_its_key_fails_loudly_and_logs_which_key_is_missing(
    db: Database, clock: FixedClock, seller: str
) -> None:
    account = add(db, clock, seller, uk())
    stranger = KeyRing.from_setting(setting("other"))

    with capture_logs() as logs, pytest.raises(EncryptionKeyMissing), db.reading() as conn:
        service.payout_destinations(conn, [seller], keyring=stranger)

    [entry] = [e for e in logs if e["event"] == "bank_accounts.decryption_failed"]
    assert (entry["log_level"], entry["bank_account_id"], entry["key_id"]) == (
        "error",
        account.id,
        "test1",
    )
    assert UK_ACCOUNT not in str(logs)
