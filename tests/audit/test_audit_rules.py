"""The audit trail's pure rules: drafts are validated and normalised, the hash covers every
field, any chain built by `seal` verifies, and any single change to it is found and named."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sellerpay.access.rules import Principal, Role
from sellerpay.audit.rules import (
    GENESIS_HASH,
    AuditDraft,
    AuditRecord,
    BreakKind,
    actor_length_max,
    actor_of,
    canonical_json,
    check_link,
    document_bytes_max,
    draft_record,
    first_break,
    seal,
    system_actor,
)
from sellerpay.errors import InvalidInput
from sellerpay.money import Money

T0 = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def draft(**overrides: Any) -> AuditDraft:
    fields: dict[str, Any] = {
        "actor": "system:payout-run",
        "action": "payout.created",
        "subject_type": "payout",
        "subject_id": "po_1",
        "before": None,
        "after": {"status": "pending"},
        "source_ip": None,
        "at": T0,
        "request_id": None,
    }
    fields.update(overrides)
    return draft_record(**fields)


def chain(drafts: list[AuditDraft]) -> list[AuditRecord]:
    records: list[AuditRecord] = []
    prev_hash = GENESIS_HASH
    for seq, each in enumerate(drafts, start=1):
        records.append(seal(each, seq=seq, record_id=f"aud_{seq}", prev_hash=prev_hash))
        prev_hash = records[-1].hash
    return records


def verify(records: list[AuditRecord], *, head: AuditRecord | None = None) -> Any:
    last = head or (records[-1] if records else None)
    return first_break(
        records,
        head_seq=last.seq if last else 0,
        head_hash=last.hash if last else GENESIS_HASH,
    )


# --- actors ---------------------------------------------------------------------------------


def test_an_api_key_acts_as_its_id_name_and_role() -> None:
    staff = Principal("3f9a1c2b4d5e6f70", "ops desk", Role.ADMIN)
    seller = Principal("0a1b2c3d4e5f6a7b", "shop", Role.SELLER, "sel_42")

    assert actor_of(staff) == "key:3f9a1c2b4d5e6f70 (ops desk, admin)"
    assert actor_of(seller) == "key:0a1b2c3d4e5f6a7b (shop, seller sel_42)"
    assert system_actor("payout-run") == "system:payout-run"


def test_a_long_key_name_is_cut_but_the_key_id_and_role_are_kept() -> None:
    actor = actor_of(Principal("3f9a1c2b4d5e6f70", "x" * 500, Role.FINANCE))

    assert len(actor) == actor_length_max
    assert actor.startswith("key:3f9a1c2b4d5e6f70 (xxx") and actor.endswith("…, finance)")
    draft(actor=actor)  # and the trail accepts it


# --- drafts ---------------------------------------------------------------------------------


class Status(StrEnum):
    PENDING = "pending"


def test_documents_are_normalised_to_the_json_the_database_gives_back() -> None:
    paris = timezone(timedelta(hours=1))
    made = draft(
        before={
            "amount": Money(1234, "EUR"),
            "status": Status.PENDING,
            "at": datetime(2026, 1, 5, 10, 0, tzinfo=paris),
            "on": date(2026, 1, 5),
            "id": uuid.UUID(int=1),
            "legs": ("a", 1, None, True),
        }
    )

    assert made.before == {
        "amount": {"amount_minor": 1234, "currency": "EUR"},
        "status": "pending",
        "at": "2026-01-05T09:00:00.000000+00:00",
        "on": "2026-01-05",
        "id": "00000000-0000-0000-0000-000000000001",
        "legs": ["a", 1, None, True],
    }
    assert type(made.before["status"]) is str  # not the enum: the hash sees plain JSON


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"fee": 0.1}, "after.fee"),
        ({"fee": Decimal("0.10")}, "after.fee"),
        ({"nested": {"at": datetime(2026, 1, 5)}}, "after.nested.at"),
        ({1: "int key"}, "after"),
        ({"lines": ["ok", {"bad": b"bytes"}]}, "after.lines[1].bad"),
        ({"tags": {"a", "b"}}, "after.tags"),
        ({"name": "nul\x00"}, "after.name"),
        ({"name": "\ud800"}, "after.name"),
    ],
)
def test_what_would_not_come_back_identical_is_refused_naming_the_field(
    document: dict[Any, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        draft(after=document)

    assert refused.value.code == "invalid_audit_document"
    assert refused.value.context["field"] == field


def test_a_document_larger_than_the_limit_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        draft(before={"blob": "x" * document_bytes_max})

    assert refused.value.code == "audit_document_too_large"
    assert refused.value.context["field"] == "before"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("actor", ""),
        ("actor", "x" * (actor_length_max + 1)),
        ("actor", "key:1\nforged line"),
        ("action", "Created"),
        ("action", "api_key"),  # no verb
        ("action", "api_key.created "),
        ("subject_type", "Api-Key"),
        ("subject_id", ""),
        ("source_ip", " 10.0.0.1"),
        ("request_id", "x" * 201),
    ],
)
def test_a_bad_field_is_refused_naming_it(field: str, value: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        draft(**{field: value})

    assert refused.value.code == "invalid_audit_field"
    assert refused.value.context["field"] == field


def test_a_time_without_a_zone_is_refused_and_other_zones_are_stored_in_utc() -> None:
    with pytest.raises(InvalidInput) as refused:
        draft(at=datetime(2026, 1, 5, 9, 0))
    assert refused.value.context["field"] == "at"

    tokyo = draft(at=datetime(2026, 1, 5, 18, 0, tzinfo=timezone(timedelta(hours=9))))
    assert tokyo.at == datetime(2026, 1, 5, 9, 0, tzinfo=UTC) and tokyo.at.tzinfo is UTC


# --- the hash -------------------------------------------------------------------------------


def test_the_hash_is_sha256_of_the_documented_canonical_encoding() -> None:
    sealed = seal(draft(after={"b": 1, "a": "é"}), seq=1, record_id="aud_1", prev_hash=GENESIS_HASH)
    encoding = (
        '{"action":"payout.created","actor":"system:payout-run","after":{"a":"é","b":1},'
        '"at":"2026-11-26T09:30:00.000000+00:00","before":null,"id":"aud_1",'
        f'"prev_hash":"{GENESIS_HASH}","request_id":null,"seq":1,"source_ip":null,'
        '"subject_id":"po_1","subject_type":"payout"}'
    )

    assert canonical_json(json.loads(encoding)) == encoding.encode()
    assert sealed.hash == hashlib.sha256(encoding.encode()).hexdigest()


# --- the chain ------------------------------------------------------------------------------

# JSON values that survive both databases: no floats, no NUL, no lone surrogates.
texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)
documents = st.none() | st.dictionaries(texts, json_values, max_size=5)
words = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
drafts = st.builds(
    draft_record,
    actor=st.sampled_from(["system:payout-run", "key:3f9a (ops, admin)", "cli:ana@host"]),
    action=st.builds(lambda a, b: f"{a}.{b}", words, words),
    subject_type=words,
    subject_id=st.from_regex(r"[a-z]{2,4}_[0-9a-f]{1,12}", fullmatch=True),
    before=documents,
    after=documents,
    source_ip=st.none() | st.sampled_from(["203.0.113.7", "2001:db8::1"]),
    at=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    request_id=st.none() | st.from_regex(r"req_[0-9a-f]{1,16}", fullmatch=True),
)


@given(st.lists(drafts, max_size=12))
def test_any_sequence_of_records_sealed_into_a_chain_verifies(items: list[AuditDraft]) -> None:
    records = chain(items)

    assert verify(records) is None
    assert [r.seq for r in records] == list(range(1, len(records) + 1))
    assert all(b.prev_hash == a.hash for a, b in pairwise(records))


CHANGES: dict[str, Any] = {
    "id": "aud_forged",
    "at": datetime(1999, 1, 1, tzinfo=UTC),
    "actor": "system:someone-else",
    "action": "payout.approved",
    "subject_type": "other",
    "subject_id": "po_forged",
    "source_ip": "198.51.100.1",
    "request_id": "req_forged",
    "before": {"forged": True},
    "after": {"forged": True},
    "hash": "f" * 64,
}


@given(st.lists(drafts, min_size=1, max_size=8), st.data())
def test_any_single_field_change_is_found_at_that_record(
    items: list[AuditDraft], data: st.DataObject
) -> None:
    records = chain(items)
    index = data.draw(st.integers(0, len(records) - 1), label="record")
    field = data.draw(st.sampled_from(sorted(CHANGES)), label="field")
    original = records[index]
    changed_to = CHANGES[field]
    if getattr(original, field) == changed_to:  # the "change" would change nothing
        changed_to = {"forged": "twice"} if isinstance(changed_to, dict) else None
    records[index] = dataclasses.replace(original, **{field: changed_to})

    broken = verify(records, head=records[-1] if index < len(records) - 1 else original)

    assert broken is not None
    assert broken.seq == original.seq
    assert broken.kind is BreakKind.MODIFIED_RECORD


def test_a_removed_record_is_a_gap_in_seq() -> None:
    records = chain([draft(subject_id=f"po_{n}") for n in range(5)])
    del records[2]

    broken = verify(records)

    assert broken is not None and broken.kind is BreakKind.MISSING_RECORD and broken.seq == 3
    assert broken.found == "seq 4"


def test_swapped_records_break_the_link_where_the_order_changes() -> None:
    records = chain([draft(subject_id=f"po_{n}") for n in range(5)])
    third, fourth = records[2], records[3]
    records[2] = dataclasses.replace(fourth, seq=3)
    records[3] = dataclasses.replace(third, seq=4)

    broken = verify(records)

    assert broken is not None and broken.kind is BreakKind.BROKEN_LINK and broken.seq == 3
    assert broken.expected == f"prev_hash {records[1].hash}"


def test_a_removed_last_record_is_found_by_the_head() -> None:
    records = chain([draft(subject_id=f"po_{n}") for n in range(3)])

    broken = verify(records[:-1], head=records[-1])

    assert broken is not None and broken.kind is BreakKind.HEAD_MISMATCH and broken.seq == 3


def test_a_record_with_a_wrong_seq_or_link_is_refused_before_its_hash_is_looked_at() -> None:
    first = seal(draft(), seq=1, record_id="aud_1", prev_hash=GENESIS_HASH)

    assert check_link(first, expected_seq=1, prev_hash=GENESIS_HASH) is None
    gap = check_link(first, expected_seq=2, prev_hash=first.hash)
    link = check_link(first, expected_seq=1, prev_hash="1" * 64)
    assert gap is not None and gap.kind is BreakKind.MISSING_RECORD
    assert link is not None and link.kind is BreakKind.BROKEN_LINK


def test_an_empty_chain_verifies_only_against_an_empty_head() -> None:
    assert first_break([], head_seq=0, head_hash=GENESIS_HASH) is None
    broken = first_break([], head_seq=1, head_hash="a" * 64)
    assert broken is not None and broken.kind is BreakKind.HEAD_MISMATCH
