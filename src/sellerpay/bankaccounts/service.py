"""Use cases of sellers' bank accounts: add one (validated, encrypted, held for a cool-down),
make one the default, release a hold early (a second person), disable one, read them masked;
for payouts, the decrypted default accounts of many sellers in one query; key rotation.

Every change writes its event (outbox) and its audit record in the same database transaction
as the change; both carry the account masked (`•••• 4321`), never its number. Numbers are
decrypted only for `payout_destinations`, which the payouts context calls to write bank files.

Errors: `InvalidBankAccount` (an `InvalidInput` naming the field), `InvalidInput`
(`invalid_idempotency_key`, `invalid_reason_code`, `invalid_limit`), `NotFound`
(`seller_not_found`, `bank_account_not_found`), `Rejected` (`seller_closed`,
`bank_account_not_active`), `Conflict` (`idempotency_key_reused`, `no_hold_to_release`),
`Forbidden` (`four_eyes`: the approver last changed the account), `EncryptionError` (keys).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import stat
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, Final

import structlog
from sqlalchemy import Connection, Row, func, select, update
from sqlalchemy.engine import make_url

from sellerpay.audit.service import record_audit
from sellerpay.bankaccounts import models
from sellerpay.bankaccounts.rules import (
    BankAccountFormat,
    BankAccountStatus,
    account_identifier,
    bank_identifier,
    clean_holder_name,
    country_of,
    details_document,
    details_from_document,
    format_of,
    masked,
    rail_for,
    validate_details,
    visible_tail,
)
from sellerpay.crypto import (
    EncryptionError,
    EncryptionKeyMissing,
    KeyRing,
    KeyRingInvalid,
    derive_key,
)
from sellerpay.db import Database
from sellerpay.errors import Conflict, Forbidden, InvalidInput, NotFound, Rejected, invariant
from sellerpay.events.service import record_event
from sellerpay.ids import prefixed_id
from sellerpay.onboarding import service as onboarding_service
from sellerpay.onboarding.rules import holder_name_matches
from sellerpay.rails.instructions import BankAccountDetails, RailName
from sellerpay.sellers.rules import SellerStatus
from sellerpay.sellers.service import find_seller_in
from sellerpay.settings import Settings, get_settings

__all__ = [
    "BankAccount",
    "PayoutDestination",
    "add_bank_account",
    "configured_keyring",
    "count_to_reencrypt",
    "destinations_by_id",
    "disable_bank_account",
    "get_bank_account",
    "get_bank_account_in",
    "last_changed_by",
    "list_bank_accounts",
    "payout_destinations",
    "record_verification",
    "reencrypt_all",
    "release_cooldown",
    "remove_bank_account",
    "set_default",
]

log = structlog.get_logger(__name__)

page_size_max: Final = 100
destinations_chunk_size_max: Final = 1_000  # sellers per query (bound parameters stay few)
reencrypt_batch_size_max: Final = 5_000
idempotency_key_length_max: Final = 255
verification_note_length_max: Final = 500
cooldown_hours_max: Final = 720  # as the setting's bound
DEV_KEY_FILE: Final = ".sellerpay-dev-key"
DEV_KEY_ID: Final = "dev"
_DEV_KEY_PURPOSE: Final = "sellerpay bank account numbers v1"
_REASON_CODE: Final = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_SUBJECT: Final = "bank_account"
_b = models.bank_accounts.c


# --- what callers get ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BankAccount:
    """A bank account as everyone but a bank file sees it: masked, never its number."""

    id: str
    seller_id: str
    currency: str
    country: str
    format: BankAccountFormat
    rail: RailName
    holder_name: str
    bank_identifier: str | None
    account_type: str | None
    last4: str
    status: BankAccountStatus
    is_default: bool
    verified: bool
    verification_note: str | None
    cooldown_until: datetime
    hold_released_by: str | None
    hold_released_at: datetime | None
    disabled_reason: str | None
    created_by: str
    last_changed_by: str
    created_at: datetime
    updated_at: datetime
    version: int

    @property
    def masked(self) -> str:
        return masked(self.last4)

    @property
    def hold_released(self) -> bool:
        return self.hold_released_at is not None

    def on_hold(self, now: datetime) -> bool:
        """Whether payouts to it wait: the cool-down runs and no approver released it."""
        return not self.hold_released and now < self.cooldown_until

    def public(self) -> dict[str, Any]:
        """The account as events and audit records carry it (masked)."""
        return {
            "id": self.id,
            "seller_id": self.seller_id,
            "currency": self.currency,
            "country": self.country,
            "format": self.format.value,
            "rail": self.rail,
            "holder_name": self.holder_name,
            "bank_identifier": self.bank_identifier,
            "account_type": self.account_type,
            "masked": self.masked,
            "status": self.status.value,
            "is_default": self.is_default,
            "verified": self.verified,
            "cooldown_until": self.cooldown_until.isoformat(),
            "hold_released": self.hold_released,
            "disabled_reason": self.disabled_reason,
            "version": self.version,
        }


@dataclass(frozen=True, slots=True)
class PayoutDestination:
    """Where a seller's payouts in one currency go: the default active account, decrypted.

    `details` holds the account number in clear, for the bank file only: it is left out of
    `repr`, so a logged or printed destination shows `masked` instead.
    """

    bank_account_id: str
    seller_id: str
    currency: str
    country: str
    rail: RailName
    holder_name: str
    details: BankAccountDetails = field(repr=False)
    masked: str
    verified: bool
    cooldown_until: datetime
    hold_released: bool
    last_changed_by: str
    disabled_reason: str | None

    def on_hold(self, now: datetime) -> bool:
        """Whether a payout to it must wait (the account's cool-down, not released early)."""
        return not self.hold_released and now < self.cooldown_until


def _bank_account(row: Row[Any]) -> BankAccount:
    return BankAccount(
        id=row.id,
        seller_id=row.seller_id,
        currency=row.currency,
        country=row.country,
        format=BankAccountFormat(row.format),
        rail=row.rail,
        holder_name=row.holder_name,
        bank_identifier=row.bank_identifier,
        account_type=row.account_type,
        last4=row.last4,
        status=BankAccountStatus(row.status),
        is_default=bool(row.is_default),
        verified=bool(row.verified),
        verification_note=row.verification_note,
        cooldown_until=row.cooldown_until,
        hold_released_by=row.hold_released_by,
        hold_released_at=row.hold_released_at,
        disabled_reason=row.disabled_reason,
        created_by=row.created_by,
        last_changed_by=row.last_changed_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )


def _associated_data(bank_account_id: str) -> bytes:
    """What binds a ciphertext to its row: copied into another row, it no longer decrypts."""
    return f"bank_account:{bank_account_id}".encode()


def _plaintext(details: BankAccountDetails) -> bytes:
    return json.dumps(details_document(details), sort_keys=True, separators=(",", ":")).encode()


def _decrypt(row: Row[Any], keyring: KeyRing) -> BankAccountDetails:
    """The account's details in clear. A failure is logged (ids and codes only: the API maps it
    to a bare 500, and an operator must learn which key is missing)."""
    try:
        plaintext = keyring.decrypt(row.number_ciphertext, associated_data=_associated_data(row.id))
    except EncryptionError as error:
        log.error(
            "bank_accounts.decryption_failed",
            bank_account_id=row.id,
            key_id=row.key_id,
            code=error.code,
            ring=repr(keyring),
        )
        raise
    return details_from_document(json.loads(plaintext))


# --- add -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _NewAccount:
    """A checked request to add an account: everything but the row id and the ciphertext."""

    seller_id: str
    details: BankAccountDetails
    holder_name: str
    currency: str
    rail: RailName
    make_default: bool
    request_hash: str


def add_bank_account(
    db: Database,
    *,
    seller_id: str,
    details: BankAccountDetails,
    holder_name: str,
    currency: str,
    make_default: bool = False,
    actor: str,
    source_ip: str | None = None,
    idempotency_key: str | None = None,
    now: datetime,
    keyring: KeyRing,
    cooldown_hours: int | None = None,
) -> tuple[BankAccount, bool]:
    """Add a bank account to a seller; returns it and whether it was added now (False: a
    replay of the same `idempotency_key` with the same request).

    The account is held for a cool-down (`cooldown_hours`, default the setting
    `bank_account_cooldown_hours`): payouts to it wait until then unless an approver releases
    the hold. It becomes the default for its currency when `make_default` or when the seller
    has no default in that currency; an earlier default it takes the place of becomes
    `replaced`. Records `bank_account.added` and an audit record.
    """
    new = _checked_request(seller_id, details, holder_name, currency, make_default)
    _check_idempotency_key(idempotency_key)
    hours = get_settings().bank_account_cooldown_hours if cooldown_hours is None else cooldown_hours
    if not 0 <= hours <= cooldown_hours_max:
        raise InvalidInput(
            f"a cool-down is 0 to {cooldown_hours_max} hours", code="invalid_cooldown_hours"
        )

    def work(conn: Connection) -> tuple[BankAccount, bool]:
        if idempotency_key is not None:
            existing = conn.execute(
                select(models.bank_accounts).where(
                    _b.seller_id == seller_id, _b.idempotency_key == idempotency_key
                )
            ).first()
            if existing is not None:
                return _replayed(existing, new, keyring), False
        _check_seller(conn, seller_id)
        return _insert(conn, new, idempotency_key, hours, actor, source_ip, now, keyring), True

    return db.run(work, retry_unique_violations=True)


def _checked_request(
    seller_id: str,
    details: BankAccountDetails,
    holder_name: str,
    currency: str,
    make_default: bool,
) -> _NewAccount:
    checked = validate_details(details)
    name = clean_holder_name(holder_name, account_format=format_of(checked))
    rail = rail_for(checked, currency)
    # The non-secret part of the request: a replay must match it, and the details, which are
    # compared decrypted (a plain hash of an account number could be brute-forced).
    request = {
        "seller_id": seller_id,
        "format": format_of(checked).value,
        "holder_name": name,
        "currency": currency,
        "make_default": make_default,
    }
    request_hash = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
    return _NewAccount(seller_id, checked, name, currency, rail, make_default, request_hash)


def _check_idempotency_key(key: str | None) -> None:
    if key is not None and not (1 <= len(key) <= idempotency_key_length_max and key.isprintable()):
        raise InvalidInput(
            f"an idempotency key is 1 to {idempotency_key_length_max} printable characters",
            code="invalid_idempotency_key",
            field="idempotency_key",
        )


def _replayed(row: Row[Any], new: _NewAccount, keyring: KeyRing) -> BankAccount:
    if row.request_hash != new.request_hash or _decrypt(row, keyring) != new.details:
        raise Conflict(
            "this idempotency key was used to add another bank account",
            code="idempotency_key_reused",
            bank_account_id=row.id,
        )
    return _bank_account(row)


def _check_seller(conn: Connection, seller_id: str) -> None:
    seller = find_seller_in(conn, seller_id)
    if seller is None:
        raise NotFound(f"no seller {seller_id}", code="seller_not_found", seller_id=seller_id)
    if seller.status is SellerStatus.CLOSED:
        raise Rejected(
            f"seller {seller_id} is closed: it takes no new bank account",
            code="seller_closed",
            seller_id=seller_id,
        )


def check_ownership(
    db: Database, bank_account_id: str, *, actor: str, now: datetime
) -> BankAccount:
    """Compare the holder name with the seller's legal name (onboarding's rule): a match
    verifies the account at once; a mismatch leaves it unverified (no payouts to it) and is a
    requirement error that compliance reviews. The API runs it after every add."""
    return db.run(
        lambda conn: _check_ownership(
            conn, get_bank_account_in(conn, bank_account_id), actor=actor, now=now
        )
    )


def verify_by_hand(
    db: Database, bank_account_id: str, *, note: str, actor: str, now: datetime
) -> BankAccount:
    """Compliance verifies an account whose holder name did not match (audited)."""
    return db.run(
        lambda conn: record_verification(
            conn, bank_account_id, note=f"by hand: {note}", actor=actor, now=now
        )
    )


def _check_ownership(
    conn: Connection, account: BankAccount, *, actor: str, now: datetime
) -> BankAccount:
    seller = find_seller_in(conn, account.seller_id)
    if seller is None or account.verified:
        return account
    if get_settings().onboarding_required or onboarding_service.onboarding_started(
        conn, account.seller_id
    ):  # tell onboarding (without starting it for a seller it does not require)
        onboarding_service.set_bank_account_holder(
            conn, account.seller_id, holder_name=account.holder_name, actor=actor, at=now
        )
    score, matches = holder_name_matches(account.holder_name, seller.legal_name)
    if not matches:
        return account
    return record_verification(
        conn,
        account.id,
        note=f"holder name matches the seller's legal name (score {score})",
        actor="system:ownership-check",
        now=now,
    )


def _insert(
    conn: Connection,
    new: _NewAccount,
    idempotency_key: str | None,
    cooldown_hours: int,
    actor: str,
    source_ip: str | None,
    now: datetime,
    keyring: KeyRing,
) -> BankAccount:
    account_id = prefixed_id("ba")
    current = _current_default(conn, new.seller_id, new.currency)
    replaced = None
    if new.make_default and current is not None:
        replaced = _change(
            conn,
            current,
            actor=actor,
            now=now,
            status=BankAccountStatus.REPLACED.value,
            is_default=False,
        )
    conn.execute(
        models.bank_accounts.insert().values(
            id=account_id,
            number_ciphertext=keyring.encrypt(
                _plaintext(new.details), associated_data=_associated_data(account_id)
            ),
            key_id=keyring.current_key_id,
            is_default=new.make_default or current is None,
            cooldown_until=now + timedelta(hours=cooldown_hours),
            created_by=actor,
            last_changed_by=actor,
            idempotency_key=idempotency_key,
            created_at=now,
            updated_at=now,
            **_new_row(new),
        )
    )
    account = get_bank_account_in(conn, account_id)
    record_event(
        conn,
        type="bank_account.added",
        subject=new.seller_id,
        data={
            "bank_account": account.public(),
            "replaced_bank_account_id": None if replaced is None else replaced.id,
        },
        now=now,
    )
    if current is not None and replaced is not None:
        _audit(conn, "bank_account.replaced", current, replaced, actor, source_ip, now)
    _audit(conn, "bank_account.added", None, account, actor, source_ip, now)
    return account


def _new_row(new: _NewAccount) -> dict[str, Any]:
    """The columns of a new account that follow from its checked request alone."""
    return {
        "seller_id": new.seller_id,
        "currency": new.currency,
        "country": country_of(new.details),
        "format": format_of(new.details).value,
        "rail": new.rail,
        "holder_name": new.holder_name,
        "bank_identifier": bank_identifier(new.details),
        "account_type": getattr(new.details, "account_type", None),
        "last4": visible_tail(account_identifier(new.details)),
        "status": BankAccountStatus.ACTIVE.value,
        "verified": False,
        "verification_note": None,
        "hold_released_by": None,
        "hold_released_at": None,
        "disabled_reason": None,
        "request_hash": new.request_hash,
        "version": 1,
    }


def _current_default(conn: Connection, seller_id: str, currency: str) -> BankAccount | None:
    """The seller's default account in `currency`, after locking all its accounts in that
    currency in id order (one lock order for every change of a default: no deadlock)."""
    rows = conn.execute(
        select(models.bank_accounts)
        .where(_b.seller_id == seller_id, _b.currency == currency)
        .order_by(_b.id)
        .with_for_update()
    ).all()
    defaults = [_bank_account(row) for row in rows if row.is_default]
    return defaults[0] if defaults else None


def _change(
    conn: Connection, account: BankAccount, *, actor: str | None, now: datetime, **values: Any
) -> BankAccount:
    """Write `values` on a locked account, bump its version, and read it back."""
    if actor is not None:
        values["last_changed_by"] = actor
    result = conn.execute(
        update(models.bank_accounts)
        .where(_b.id == account.id, _b.version == account.version)
        .values(version=account.version + 1, updated_at=now, **values)
    )
    invariant(result.rowcount == 1, f"bank account {account.id} changed under its row lock")
    return get_bank_account_in(conn, account.id)


def _audit(
    conn: Connection,
    action: str,
    before: BankAccount | None,
    after: BankAccount,
    actor: str,
    source_ip: str | None,
    now: datetime,
) -> None:
    """The audit record of a change: the account before and after, masked."""
    record_audit(
        conn,
        actor=actor,
        action=action,
        subject_type=_SUBJECT,
        subject_id=after.id,
        before=None if before is None else before.public(),
        after=after.public(),
        source_ip=source_ip,
        at=now,
    )


def _locked(conn: Connection, bank_account_id: str) -> BankAccount:
    row = conn.execute(
        select(models.bank_accounts).where(_b.id == bank_account_id).with_for_update()
    ).first()
    if row is None:
        raise _not_found(bank_account_id)
    return _bank_account(row)


def _not_found(bank_account_id: str) -> NotFound:
    shown = bank_account_id[:40]
    return NotFound(
        f"no bank account {shown}", code="bank_account_not_found", bank_account_id=shown
    )


def _check_active(account: BankAccount) -> None:
    if account.status is not BankAccountStatus.ACTIVE:
        raise Rejected(
            f"bank account {account.id} is {account.status.value}",
            code="bank_account_not_active",
            status=account.status.value,
        )


# --- default, hold, disable, verification --------------------------------------------------


def set_default(
    db: Database,
    bank_account_id: str,
    *,
    actor: str,
    source_ip: str | None = None,
    now: datetime,
) -> BankAccount:
    """Make an active account its seller's default for its currency; the previous default
    stays active. Its cool-down is unchanged: payouts wait for it if it still runs. Setting
    the default again is a no-op. Records `bank_account.default_changed`."""

    def work(conn: Connection) -> BankAccount:
        target = _locked(conn, bank_account_id)
        _check_active(target)
        if target.is_default:
            return target
        previous = _current_default(conn, target.seller_id, target.currency)
        if previous is not None:
            unset = _change(conn, previous, actor=actor, now=now, is_default=False)
            _audit(conn, "bank_account.default_unset", previous, unset, actor, source_ip, now)
        account = _change(conn, target, actor=actor, now=now, is_default=True)
        record_event(
            conn,
            type="bank_account.default_changed",
            subject=account.seller_id,
            data={
                "bank_account": account.public(),
                "previous_default_id": None if previous is None else previous.id,
            },
            now=now,
        )
        _audit(conn, "bank_account.default_set", target, account, actor, source_ip, now)
        return account

    return db.run(work, retry_unique_violations=True)


def release_cooldown(
    db: Database,
    bank_account_id: str,
    *,
    approver: str,
    source_ip: str | None = None,
    now: datetime,
) -> BankAccount:
    """End an account's cool-down early, so payouts to it go now. The approver must be someone
    other than who added it and who last changed it (`Forbidden(four_eyes)`); releasing again
    is a replay. Records `bank_account.hold_released`."""

    def work(conn: Connection) -> BankAccount:
        account = _locked(conn, bank_account_id)
        if approver in (account.created_by, account.last_changed_by):
            raise Forbidden(
                f"{approver} added or last changed bank account {account.id}: someone else "
                "releases its hold",
                code="four_eyes",
            )
        if account.hold_released:
            return account
        _check_active(account)
        if account.cooldown_until <= now:
            raise Conflict(
                f"the cool-down of bank account {account.id} ended at "
                f"{account.cooldown_until.isoformat()}: there is no hold to release",
                code="no_hold_to_release",
                cooldown_until=account.cooldown_until,
            )
        released = _change(
            conn, account, actor=None, now=now, hold_released_by=approver, hold_released_at=now
        )
        record_event(
            conn,
            type="bank_account.hold_released",
            subject=released.seller_id,
            data={"bank_account": released.public()},
            now=now,
        )
        _audit(conn, "bank_account.hold_released", account, released, approver, source_ip, now)
        return released

    return db.run(work)


def disable_bank_account(
    conn: Connection,
    bank_account_id: str,
    *,
    reason_code: str,
    actor: str,
    now: datetime,
    source_ip: str | None = None,
) -> BankAccount:
    """Disable an account in the caller's unit of work: payouts never go to it again (it stops
    being the default; no other account becomes the default by itself).

    Payouts call it when a return means the account is closed or wrong (`reason_code` is the
    bank's: AC04, R02…); the API when a seller or staff removes it. Disabling again keeps the
    first reason and records nothing. Records `bank_account.disabled`.
    """
    if _REASON_CODE.fullmatch(reason_code) is None:
        raise InvalidInput(
            "a reason code is 1 to 64 letters, digits, '_', '.' or '-'",
            code="invalid_reason_code",
            field="reason_code",
        )
    account = _locked(conn, bank_account_id)
    if account.status is BankAccountStatus.DISABLED:
        return account
    disabled = _change(
        conn,
        account,
        actor=actor,
        now=now,
        status=BankAccountStatus.DISABLED.value,
        is_default=False,
        disabled_reason=reason_code,
    )
    record_event(
        conn,
        type="bank_account.disabled",
        subject=disabled.seller_id,
        data={
            "bank_account": disabled.public(),
            "reason_code": reason_code,
            "was_default": account.is_default,
        },
        now=now,
    )
    _audit(conn, "bank_account.disabled", account, disabled, actor, source_ip, now)
    return disabled


def remove_bank_account(
    db: Database,
    bank_account_id: str,
    *,
    reason_code: str = "removed",
    actor: str,
    source_ip: str | None = None,
    now: datetime,
) -> BankAccount:
    """`disable_bank_account` in a unit of work of its own (the API's DELETE)."""
    return db.run(
        lambda conn: disable_bank_account(
            conn,
            bank_account_id,
            reason_code=reason_code,
            actor=actor,
            now=now,
            source_ip=source_ip,
        )
    )


def record_verification(
    conn: Connection,
    bank_account_id: str,
    *,
    note: str,
    actor: str,
    now: datetime,
) -> BankAccount:
    """Mark an account verified (e.g. a first payout to it was paid, or a micro-deposit was
    confirmed), with a note saying how. Again is a no-op. Records `bank_account.verified`."""
    text = " ".join(note.split())
    if not 1 <= len(text) <= verification_note_length_max:
        raise InvalidInput(
            f"the verification note is 1 to {verification_note_length_max} characters",
            code="invalid_verification_note",
            field="note",
        )
    account = _locked(conn, bank_account_id)
    if account.verified:
        return account
    verified = _change(conn, account, actor=None, now=now, verified=True, verification_note=text)
    record_event(
        conn,
        type="bank_account.verified",
        subject=verified.seller_id,
        data={"bank_account": verified.public(), "note": text},
        now=now,
    )
    _audit(conn, "bank_account.verified", account, verified, actor, None, now)
    return verified


# --- reads ---------------------------------------------------------------------------------


def get_bank_account_in(conn: Connection, bank_account_id: str) -> BankAccount:
    """The account (masked) in the caller's unit of work; `NotFound` if there is none."""
    row = conn.execute(select(models.bank_accounts).where(_b.id == bank_account_id)).first()
    if row is None:
        raise _not_found(bank_account_id)
    return _bank_account(row)


def get_bank_account(db: Database, bank_account_id: str) -> BankAccount:
    with db.reading() as conn:
        return get_bank_account_in(conn, bank_account_id)


def list_bank_accounts(
    db: Database,
    seller_id: str,
    *,
    status: BankAccountStatus | None = None,
    after_id: str | None = None,
    limit: int = 50,
) -> tuple[list[BankAccount], str | None]:
    """A seller's accounts (masked) oldest first; returns a page and the id to continue after
    (None at the end). `NotFound(seller_not_found)` if there is no such seller."""
    if not 1 <= limit <= page_size_max:
        raise InvalidInput(
            f"limit must be between 1 and {page_size_max}", code="invalid_limit", field="limit"
        )
    query = (
        select(models.bank_accounts)
        .where(_b.seller_id == seller_id)
        .order_by(_b.id)
        .limit(limit + 1)
    )
    if status is not None:
        query = query.where(_b.status == status.value)
    if after_id is not None:
        query = query.where(_b.id > after_id)
    with db.reading() as conn:
        if find_seller_in(conn, seller_id) is None:
            raise NotFound(f"no seller {seller_id}", code="seller_not_found", seller_id=seller_id)
        rows = conn.execute(query).all()
    accounts = [_bank_account(row) for row in rows[:limit]]
    return accounts, (accounts[-1].id if len(rows) > limit else None)


def payout_destinations(
    conn: Connection, seller_ids: Collection[str], *, keyring: KeyRing
) -> dict[str, list[PayoutDestination]]:
    """Each seller's default active accounts, decrypted, one per currency; every seller asked
    for is a key (an empty list: no account to pay). One query per `destinations_chunk_size_max`
    sellers, so a payout run reads a chunk of sellers' destinations at once."""
    wanted = sorted(set(seller_ids))
    found: dict[str, list[PayoutDestination]] = {seller_id: [] for seller_id in wanted}
    for start in range(0, len(wanted), destinations_chunk_size_max):
        chunk = wanted[start : start + destinations_chunk_size_max]
        rows = conn.execute(
            select(models.bank_accounts)
            .where(
                _b.seller_id.in_(chunk),
                _b.is_default.is_(True),
                _b.status == BankAccountStatus.ACTIVE.value,
            )
            .order_by(_b.seller_id, _b.currency)
        ).all()
        for row in rows:
            found[row.seller_id].append(_destination(row, keyring))
    return found


def destinations_by_id(
    conn: Connection, bank_account_ids: Collection[str], *, keyring: KeyRing
) -> dict[str, PayoutDestination]:
    """The named accounts decrypted, whatever their status (a payout created earlier is
    written to a bank file for the account it was created for; `disabled_reason` says if that
    account was disabled since). Ids that name no account are left out."""
    wanted = sorted(set(bank_account_ids))
    found: dict[str, PayoutDestination] = {}
    for start in range(0, len(wanted), destinations_chunk_size_max):
        chunk = wanted[start : start + destinations_chunk_size_max]
        for row in conn.execute(select(models.bank_accounts).where(_b.id.in_(chunk))):
            found[row.id] = _destination(row, keyring)
    return found


def last_changed_by(conn: Connection, bank_account_id: str) -> str:
    """Who last changed the account (added it, made it the default, disabled it): a payout to
    it needs an approver other than them. `NotFound` if there is no such account."""
    return get_bank_account_in(conn, bank_account_id).last_changed_by


def _destination(row: Row[Any], keyring: KeyRing) -> PayoutDestination:
    return PayoutDestination(
        bank_account_id=row.id,
        seller_id=row.seller_id,
        currency=row.currency,
        country=row.country,
        rail=row.rail,
        holder_name=row.holder_name,
        details=_decrypt(row, keyring),
        masked=masked(row.last4),
        verified=bool(row.verified),
        cooldown_until=row.cooldown_until,
        hold_released=row.hold_released_at is not None,
        last_changed_by=row.last_changed_by,
        disabled_reason=row.disabled_reason,
    )


# --- keys: rotation and configuration ------------------------------------------------------


def count_to_reencrypt(db: Database, keyring: KeyRing) -> int:
    """How many accounts are not under the ring's current key."""
    with db.reading() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(models.bank_accounts)
                .where(_b.key_id != keyring.current_key_id)
            ).scalar_one()
        )


def reencrypt_all(
    db: Database,
    keyring: KeyRing,
    *,
    batch_size: int = 500,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Re-encrypt every account not under the current key, `batch_size` per unit of work;
    returns how many. Idempotent and safe to stop: rows already under the current key are
    skipped, so a second run does nothing and an interrupted run resumes. `on_batch` hears how
    many each batch re-encrypted (a progress bar)."""
    if not 1 <= batch_size <= reencrypt_batch_size_max:
        raise InvalidInput(
            f"batch_size must be between 1 and {reencrypt_batch_size_max}",
            code="invalid_batch_size",
            field="batch_size",
        )
    total = 0
    after_id = ""
    while True:
        done, after_id = db.run(
            partial(_reencrypt_batch, keyring=keyring, after_id=after_id, size=batch_size)
        )
        total += done
        if on_batch is not None and done:
            on_batch(done)
        if not after_id:
            log.info("bank_accounts.reencrypted", count=total, key_id=keyring.current_key_id)
            return total


def _reencrypt_batch(
    conn: Connection, *, keyring: KeyRing, after_id: str, size: int
) -> tuple[int, str]:
    """Re-encrypt the next `size` rows after `after_id` not under the current key; returns how
    many and the last id (empty when there is nothing left)."""
    rows = conn.execute(
        select(_b.id, _b.number_ciphertext, _b.key_id)
        .where(_b.key_id != keyring.current_key_id, _b.id > after_id)
        .order_by(_b.id)
        .limit(size)
        .with_for_update()
    ).all()
    for row in rows:
        aad = _associated_data(row.id)
        plaintext = keyring.decrypt(row.number_ciphertext, associated_data=aad)
        conn.execute(
            update(models.bank_accounts)
            .where(_b.id == row.id, _b.key_id == row.key_id)
            .values(
                number_ciphertext=keyring.encrypt(plaintext, associated_data=aad),
                key_id=keyring.current_key_id,
            )
        )
    return len(rows), (rows[-1].id if len(rows) == size else "")


def configured_keyring(db: Database, settings: Settings | None = None) -> KeyRing:
    """The key ring of `SELLERPAY_ENCRYPTION_KEYS`; unset on SQLite, the development key.

    The development key is derived from `.sellerpay-dev-key` next to the SQLite file, created
    on first use (mode 0600), with a warning that production must set the keys. When keys are
    set and that file exists, its key joins the ring as a retired key, so the accounts written
    under it stay readable until `sellerpay bank-accounts reencrypt` has moved them.
    With PostgreSQL the keys must be set: `EncryptionKeyMissing` otherwise.
    """
    settings = settings or get_settings()
    configured = settings.encryption_keys.get_secret_value().strip()
    key_file = _dev_key_path(db)
    if configured:
        ring = KeyRing.from_setting(configured)
        if key_file is not None and key_file.exists() and DEV_KEY_ID not in ring.keys:
            ring = ring.with_key(DEV_KEY_ID, _dev_key(str(key_file)))
        return ring
    if key_file is None:
        log.error("bank_accounts.encryption_keys_required", database=repr(db))
        raise EncryptionKeyMissing(
            "SELLERPAY_ENCRYPTION_KEYS is not set: it is required with PostgreSQL "
            "(docs/bank-accounts.md says how to make keys)",
            code="encryption_keys_required",
        )
    key = _dev_key(str(key_file))
    _warn_development_key(str(key_file))
    return KeyRing(current_key_id=DEV_KEY_ID, keys={DEV_KEY_ID: key})


@lru_cache(maxsize=16)
def _warn_development_key(path: str) -> None:
    """Once per process and key file: requests ask for the key ring each time."""
    log.warning(
        "bank_accounts.development_key",
        key_file=path,
        advice="set SELLERPAY_ENCRYPTION_KEYS in production",
    )


def _dev_key_path(db: Database) -> Path | None:
    """`.sellerpay-dev-key` next to the SQLite database file; None for other databases."""
    if db.dialect != "sqlite":
        return None
    database = make_url(db.url).database
    if not database or database == ":memory:":
        return Path.cwd() / DEV_KEY_FILE
    return Path(database).resolve().parent / DEV_KEY_FILE


@lru_cache(maxsize=16)
def _dev_key(path: str) -> bytes:
    """The development key of a key file, creating the file (0600) if it does not exist yet.

    The file is written whole under a temporary name and linked into place, so two processes
    starting at once agree on one secret (the second link fails and reads the first's).
    """
    key_file = Path(path)
    if not key_file.exists():
        temporary = key_file.with_name(f"{key_file.name}.{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="ascii") as handle:
                handle.write(base64.b64encode(os.urandom(32)).decode("ascii") + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.link(temporary, key_file)
            log.warning("bank_accounts.development_key_created", key_file=path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink(missing_ok=True)
    if stat.S_IMODE(key_file.stat().st_mode) & 0o077:
        log.warning("bank_accounts.development_key_readable_by_others", key_file=path)
    try:
        secret = base64.b64decode(key_file.read_text(encoding="ascii").strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyRingInvalid(
            f"{path} is not a development key file (base64 of 32 random bytes): restore it or, "
            "if no account was ever stored under it, delete it to make a new one",
            code="invalid_development_key",
        ) from None
    return derive_key(secret, purpose=_DEV_KEY_PURPOSE)
