"""One door to the rail writers: a rail name and credit transfers in, a bank file out.

The payout service groups payouts by rail and currency and calls `write_bank_file`; each rail
keeps its own signature (a NACHA file has an effective date, Bacs a processing day, a Zengin
file a transfer date), and this module is where they meet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sellerpay.rails import bacs, nacha, provider, sepa, zengin
from sellerpay.rails.instructions import BankFile, CreditTransfer, Originator, RailError


def write_bank_file(
    rail: str,
    transfers: Sequence[CreditTransfer],
    originators: Mapping[str, Originator],
    *,
    message_id: str,
    now: datetime,
) -> BankFile:
    """The file for `transfers` on `rail`, from our account configured for that rail."""
    originator = originators.get(rail) or originators.get(_family(rail))
    if originator is None:
        raise RailError(
            f"no originating account is configured for the {rail} rail",
            code="no_originator",
            where=rail,
        )
    execution = min(t.execution_date for t in transfers)
    if rail in ("sepa", "sepa_instant"):
        return sepa.write_pain001(transfers, originator, message_id=message_id, created_at=now)
    if rail == "ach":
        return nacha.write_nacha(
            transfers,
            originator,
            file_id_modifier=_modifier(message_id),
            created_at=now,
            effective_date=execution,
        )
    if rail == "zengin":
        return zengin.write_zengin(
            transfers, originator, transfer_date=execution, message_id=message_id, created_at=now
        )
    if rail in ("bacs", "fps"):
        return bacs.write_bacs_std18(
            transfers, originator, processing_date=execution, serial=message_id[-6:]
        )
    if rail == "provider":
        return provider.write_provider_batch(
            transfers, originator, message_id=message_id, created_at=now
        )
    raise RailError(f"unknown rail {rail!r}", code="unknown_rail", where=rail)


def _family(rail: str) -> str:
    return {"sepa_instant": "sepa", "fps": "bacs"}.get(rail, rail)


def _modifier(message_id: str) -> str:
    """NACHA's one-character file id modifier (A-Z, 0-9), derived from the message id."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return alphabet[sum(message_id.encode()) % len(alphabet)]
