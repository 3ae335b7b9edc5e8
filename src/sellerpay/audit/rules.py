"""The audit trail's pure rules: what an audit record may hold, its canonical encoding and hash,
how a principal is named as an actor, and how one link of the chain is checked.

Every record carries `prev_hash`, the hash of the record before it (64 zeros for the first), and
`hash`, the SHA-256 of the canonical encoding of all its fields and `prev_hash`. Changing,
removing or reordering any record therefore breaks the chain at that record: `check_link` says
where and how. The documents `before` and `after` are normalised to plain JSON when recorded
(datetimes as ISO UTC text, `Money` as minor units and currency), so the hash is computed over
exactly what the database stores and gives back, on SQLite as on PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from enum import Enum, StrEnum
from typing import Any, Final

from sellerpay.access.rules import Principal, Role
from sellerpay.errors import InvalidInput
from sellerpay.money import Money

GENESIS_HASH: Final = "0" * 64
"""The `prev_hash` of the first record of the chain."""

actor_length_max: Final = 200
action_length_max: Final = 100
subject_type_length_max: Final = 64
subject_id_length_max: Final = 200
source_ip_length_max: Final = 64
request_id_length_max: Final = 200
document_bytes_max: Final = 64 * 1024  # one `before` or `after`, canonically encoded
document_depth_max: Final = 32

ACTION: Final = re.compile(r"[a-z][a-z0-9_\-]*(\.[a-z][a-z0-9_\-]*)+")
"""`<subject>.<what happened>`, lower case and dotted: `api_key.created`, `payout.approved`."""
SUBJECT_TYPE: Final = re.compile(r"[a-z][a-z0-9_]*")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")


class BreakKind(StrEnum):
    """How the chain is broken at a record, as `audit verify` reports it."""

    MISSING_RECORD = "missing_record"  # a gap in seq: a record was removed
    BROKEN_LINK = "broken_link"  # prev_hash is not the previous record's hash: reordered
    MODIFIED_RECORD = "modified_record"  # the fields no longer give the stored hash
    HEAD_MISMATCH = "head_mismatch"  # the chain head disagrees with the last record


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first place the chain is broken: at which seq, how, and what was expected there."""

    seq: int
    kind: BreakKind
    detail: str
    expected: str
    found: str


@dataclass(frozen=True, slots=True)
class AuditDraft:
    """A validated, normalised audit record before it takes its place in the chain."""

    at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    source_ip: str | None
    request_id: str | None
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One record of the audit trail, in its place in the chain (`seq`, `prev_hash`, `hash`)."""

    seq: int
    id: str
    at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    source_ip: str | None
    request_id: str | None
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    prev_hash: str
    hash: str

    def public(self) -> dict[str, Any]:
        """The record as the API and the command line show it."""
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        shown["at"] = self.at.isoformat()
        return shown


# --- actors ---------------------------------------------------------------------------------


def actor_of(principal: Principal) -> str:
    """The actor an API key acts as: `key:<id> (<name>, <role>)`, and the seller for sellers.

    The name and role are copied in: the record must still say who acted after the key is
    revoked or renamed.
    """
    name = " ".join(principal.name.split())
    role = principal.role.value
    if principal.role is Role.SELLER and principal.seller_id is not None:
        role = f"{role} {principal.seller_id}"
    actor = f"key:{principal.key_id} ({name}, {role})"
    if len(actor) > actor_length_max:  # a long key name is cut, the id and role are kept
        keep = actor_length_max - len(f"key:{principal.key_id} (…, {role})")
        actor = f"key:{principal.key_id} ({name[:keep]}…, {role})"
    return actor


def system_actor(process: str) -> str:
    """The actor of work nobody asked for in person: `system:payout-run`."""
    return f"system:{process}"


# --- drafts: validation and normalisation ---------------------------------------------------


def draft_record(
    *,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    source_ip: str | None,
    at: datetime,
    request_id: str | None,
) -> AuditDraft:
    """Check every field and normalise the documents; `InvalidInput` naming the field if bad."""
    if at.tzinfo is None:
        raise InvalidInput("at must carry a timezone", code="naive_datetime", field="at")
    _check_text("actor", actor, actor_length_max)
    _check_text("action", action, action_length_max, pattern=ACTION)
    _check_text("subject_type", subject_type, subject_type_length_max, pattern=SUBJECT_TYPE)
    _check_text("subject_id", subject_id, subject_id_length_max)
    if source_ip is not None:
        _check_text("source_ip", source_ip, source_ip_length_max)
    if request_id is not None:
        _check_text("request_id", request_id, request_id_length_max)
    return AuditDraft(
        at=at.astimezone(UTC),
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        source_ip=source_ip,
        request_id=request_id,
        before=normalise_document(before, "before"),
        after=normalise_document(after, "after"),
    )


def _check_text(
    field: str,
    value: str,
    length_max: int,
    *,
    pattern: re.Pattern[str] | None = None,
) -> None:
    if not isinstance(value, str) or not 1 <= len(value) <= length_max:
        raise InvalidInput(
            f"{field} must be text of 1 to {length_max} characters",
            code="invalid_audit_field",
            field=field,
        )
    if _CONTROL.search(value) or value != value.strip():
        raise InvalidInput(
            f"{field} may not hold control characters nor leading or trailing spaces",
            code="invalid_audit_field",
            field=field,
        )
    if pattern is not None and not pattern.fullmatch(value):
        raise InvalidInput(
            f"{field} {value!r} must match {pattern.pattern}",
            code="invalid_audit_field",
            field=field,
        )


def normalise_document(document: Mapping[str, Any] | None, field: str) -> dict[str, Any] | None:
    """`document` as plain JSON values that survive a round trip through either database.

    Datetimes become ISO UTC text, dates ISO text, `Money` `{amount_minor, currency}`, enums
    their value, UUIDs text, tuples lists. Floats, decimals and other types are refused (money
    is never a float, and a float may not come back bit for bit), as are non-text keys (JSON
    would turn them into text and the hash would change) and NUL (PostgreSQL refuses it).
    """
    if document is None:
        return None
    if not isinstance(document, Mapping):
        raise InvalidInput(
            f"{field} must be a mapping or null", code="invalid_audit_document", field=field
        )
    normalised = _normalise(document, field, 0)
    size = len(canonical_json(normalised))
    if size > document_bytes_max:
        raise InvalidInput(
            f"{field} is {size} bytes encoded, more than {document_bytes_max}",
            code="audit_document_too_large",
            field=field,
        )
    return dict(normalised)


def _normalise(value: Any, path: str, depth: int) -> Any:
    if depth > document_depth_max:
        raise _bad_document(path, f"nested deeper than {document_depth_max} levels")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, Enum):
        return _normalise(value.value, path, depth)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return _text(value, path)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise _bad_document(path, "a datetime without a timezone")
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Money):
        return {"amount_minor": value.amount_minor, "currency": value.currency}
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {_key(k, path): _normalise(v, f"{path}.{k}", depth + 1) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return [_normalise(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
    raise _bad_document(path, f"a {type(value).__name__} (use int minor units, text or Money)")


def _key(key: Any, path: str) -> str:
    if not isinstance(key, str):
        raise _bad_document(path, f"a key that is not text: {key!r}")
    return _text(key, path)


def _text(value: str, path: str) -> str:
    if "\x00" in value:
        raise _bad_document(path, "a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _bad_document(path, "text that is not valid Unicode (a lone surrogate)") from None
    return str(value)


def _bad_document(path: str, what: str) -> InvalidInput:
    return InvalidInput(f"{path} holds {what}", code="invalid_audit_document", field=path)


# --- the chain ------------------------------------------------------------------------------


def iso_utc(moment: datetime) -> str:
    """The one text form of a time in the chain: ISO 8601, UTC, always with microseconds."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: the same bytes for the same value on every machine."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_hash(
    draft: AuditDraft | AuditRecord, *, seq: int, record_id: str, prev_hash: str
) -> str:
    """SHA-256 (hex) of the canonical encoding of every field of the record and `prev_hash`."""
    encoded = {
        "seq": seq,
        "id": record_id,
        "at": iso_utc(draft.at),
        "actor": draft.actor,
        "action": draft.action,
        "subject_type": draft.subject_type,
        "subject_id": draft.subject_id,
        "source_ip": draft.source_ip,
        "request_id": draft.request_id,
        "before": draft.before,
        "after": draft.after,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(encoded)).hexdigest()


def seal(draft: AuditDraft, *, seq: int, record_id: str, prev_hash: str) -> AuditRecord:
    """The draft in its place in the chain: after the record whose hash is `prev_hash`."""
    return AuditRecord(
        seq=seq,
        id=record_id,
        at=draft.at,
        actor=draft.actor,
        action=draft.action,
        subject_type=draft.subject_type,
        subject_id=draft.subject_id,
        source_ip=draft.source_ip,
        request_id=draft.request_id,
        before=draft.before,
        after=draft.after,
        prev_hash=prev_hash,
        hash=record_hash(draft, seq=seq, record_id=record_id, prev_hash=prev_hash),
    )


def check_link(record: AuditRecord, *, expected_seq: int, prev_hash: str) -> ChainBreak | None:
    """Whether `record` rightly follows the record with hash `prev_hash` at `expected_seq`.

    Checked in this order, so the report names the cause rather than a consequence: a gap in
    seq (a record removed), then the link (records reordered, or one removed and the rest
    renumbered), then the record's own hash (a field changed, or the hash itself).
    """
    if record.seq != expected_seq:
        return ChainBreak(
            seq=expected_seq,
            kind=BreakKind.MISSING_RECORD,
            detail=f"record {expected_seq} is missing: the next record is {record.seq}",
            expected=f"seq {expected_seq}",
            found=f"seq {record.seq}",
        )
    if record.prev_hash != prev_hash:
        return ChainBreak(
            seq=record.seq,
            kind=BreakKind.BROKEN_LINK,
            detail=f"record {record.seq} ({record.id}) does not follow record {record.seq - 1}:"
            " records were reordered, or removed and renumbered",
            expected=f"prev_hash {prev_hash}",
            found=f"prev_hash {record.prev_hash}",
        )
    recomputed = record_hash(record, seq=record.seq, record_id=record.id, prev_hash=prev_hash)
    if recomputed != record.hash:
        return ChainBreak(
            seq=record.seq,
            kind=BreakKind.MODIFIED_RECORD,
            detail=f"record {record.seq} ({record.id}) was modified: its fields do not give"
            " its stored hash",
            expected=f"hash {recomputed}",
            found=f"hash {record.hash}",
        )
    return None


def check_head(
    *, last_seq: int, last_hash: str, head_seq: int, head_hash: str
) -> ChainBreak | None:
    """Whether the chain head (last seq and hash, kept apart) agrees with the last record."""
    if last_seq != head_seq or last_hash != head_hash:
        return ChainBreak(
            seq=max(last_seq, head_seq),
            kind=BreakKind.HEAD_MISMATCH,
            detail=f"the chain head says the last record is {head_seq}, the records end at"
            f" {last_seq}: records were removed from or added past the end",
            expected=f"seq {head_seq} hash {head_hash}",
            found=f"seq {last_seq} hash {last_hash}",
        )
    return None


def first_break(
    records: Iterable[AuditRecord], *, head_seq: int, head_hash: str
) -> ChainBreak | None:
    """The first break of a whole chain given in seq order, or None if it is intact."""
    seq, prev_hash = 0, GENESIS_HASH
    for record in records:
        broken = check_link(record, expected_seq=seq + 1, prev_hash=prev_hash)
        if broken is not None:
            return broken
        seq, prev_hash = record.seq, record.hash
    return check_head(last_seq=seq, last_hash=prev_hash, head_seq=head_seq, head_hash=head_hash)
