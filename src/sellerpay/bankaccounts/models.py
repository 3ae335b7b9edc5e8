"""The table of sellers' bank accounts: account numbers encrypted, the rest in clear.

`number_ciphertext` holds the whole details document (IBAN, or account number with its bank
codes) encrypted with AES-256-GCM under `key_id`, bound to the row's id (`sellerpay.crypto`).
Only non-secret parts are in clear: the country, the format, the BIC, routing number, sort code
or bank and branch codes (`bank_identifier`), and the last characters (`last4`, at most 4 and
never more than half of the number).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from sellerpay.db import UtcDateTime, metadata

bank_accounts = Table(
    "bank_accounts",
    metadata,
    Column("id", String(40), primary_key=True),  # ba_<uuid7 hex>
    Column("seller_id", String(80), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("country", String(2), nullable=False),
    Column("format", String(8), nullable=False),
    Column("rail", String(16), nullable=False),
    Column("holder_name", String(140), nullable=False),  # Zengin: half-width katakana
    Column("bank_identifier", String(11)),  # BIC, routing number, sort code, bank-branch
    Column("account_type", String(16)),  # aba: checking/savings; zengin: ordinary/current
    Column("number_ciphertext", Text, nullable=False),  # v1:<key id>:<nonce>:<ciphertext>
    Column("last4", String(4), nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("is_default", Boolean, nullable=False),
    Column("verified", Boolean, nullable=False),
    Column("verification_note", String(500)),
    Column("cooldown_until", UtcDateTime, nullable=False),  # payouts to it are held until then
    Column("hold_released_by", String(200)),  # an approver ended the cool-down early
    Column("hold_released_at", UtcDateTime),
    Column("disabled_reason", String(64)),  # a return code (AC04, R02…) or removed_by_…
    Column("created_by", String(200), nullable=False),
    Column("last_changed_by", String(200), nullable=False),
    Column("idempotency_key", String(255)),  # of the creating request, per seller
    Column("request_hash", String(64), nullable=False),  # of its non-secret fields (replays)
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("version", BigInteger, nullable=False),
    UniqueConstraint("seller_id", "idempotency_key"),
    CheckConstraint("status IN ('active', 'disabled', 'replaced')", name="status"),
    CheckConstraint("format IN ('iban', 'aba', 'uk', 'zengin')", name="format"),
    CheckConstraint("NOT is_default OR status = 'active'", name="default_is_active"),
    CheckConstraint(
        "(hold_released_by IS NULL) = (hold_released_at IS NULL)", name="hold_release_complete"
    ),
    # At most one default active account per seller and currency: the one payouts go to.
    Index(
        "uq_bank_accounts_default",
        "seller_id",
        "currency",
        unique=True,
        postgresql_where="is_default AND status = 'active'",
        sqlite_where="is_default AND status = 'active'",
    ),
    Index("ix_bank_accounts_seller_id_id", "seller_id", "id"),
    Index("ix_bank_accounts_key_id", "key_id"),
)
