"""The audit trail on SQLite and PostgreSQL: records chain in the caller's transaction, the chain
verifies, the database refuses changes, and tampering behind its back is found and named."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import pytest
from audit_builders import T0, head, record, record_many, set_column, set_document, tampering
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from sellerpay.audit.rules import GENESIS_HASH, BreakKind, check_link, record_hash
from sellerpay.audit.service import list_audit_records, record_audit, verify_chain
from sellerpay.db import Database
from sellerpay.errors import InvalidInput


def test_records_chain_from_the_genesis_hash_and_a_long_chain_verifies_in_batches(
    fresh_db: Database,
) -> None:
    records = record_many(fresh_db, 120)
    seen: list[tuple[int, int]] = []

    result = verify_chain(fresh_db, batch_size=7, on_progress=lambda c, t: seen.append((c, t)))

    assert records[0].seq == 1 and records[0].prev_hash == GENESIS_HASH
    assert [r.seq for r in records] == list(range(1, 121))
    assert all(b.prev_hash == a.hash for a, b in pairwise(records))
    assert result.ok and result.first_break is None
    assert result.records_checked == 120
    assert (result.head_seq, result.head_hash) == (120, records[-1].hash) == head(fresh_db)
    assert seen[0] == (7, 120) and seen[-1] == (120, 120) and len(seen) == 18


def test_an_empty_trail_verifies(fresh_db: Database) -> None:
    result = verify_chain(fresh_db)

    assert result.ok and result.records_checked == 0
    assert (result.head_seq, result.head_hash) == (0, GENESIS_HASH)


def test_the_record_read_back_is_the_record_written(db: Database) -> None:
    written = db.run(lambda conn: record(conn, 1, at=datetime(2026, 1, 5, 9, 0, 0, 1, tzinfo=UTC)))

    (read,), _ = list_audit_records(db, subject_type="seller", subject_id="sel_audit1", limit=1)

    assert read == written
    assert read.at == datetime(2026, 1, 5, 9, 0, 0, 1, tzinfo=UTC)


def test_a_rolled_back_action_leaves_no_audit_record_and_the_head_unmoved(db: Database) -> None:
    before = head(db)

    with pytest.raises(RuntimeError, match="the action failed"), db.transaction() as conn:
        record(conn, 1, subject_id="sel_rolled_back")
        raise RuntimeError("the action failed after auditing it")

    assert head(db) == before
    assert list_audit_records(db, subject_type="seller", subject_id="sel_rolled_back") == ([], None)
    assert verify_chain(db).ok


def test_bad_input_is_refused_before_anything_is_written(db: Database) -> None:
    before = head(db)

    with pytest.raises(InvalidInput) as refused, db.transaction() as conn:
        record(conn, 1, after={"fee": 0.1})

    assert refused.value.context["field"] == "after.fee"
    assert head(db) == before


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_records SET actor = 'system:someone-else'",
        "DELETE FROM audit_records",
    ],
)
def test_the_database_refuses_to_change_or_remove_audit_records(
    db: Database, statement: str
) -> None:
    db.run(lambda conn: record(conn, 1))
    count_before = verify_chain(db).records_checked

    with pytest.raises(DBAPIError, match="append-only"), db.transaction() as conn:
        conn.execute(text(statement))

    assert verify_chain(db).records_checked == count_before


# --- tampering behind the database's back -------------------------------------------------


@pytest.mark.parametrize("column", ["before", "after"])
def test_a_modified_document_is_found_at_its_record(fresh_db: Database, column: str) -> None:
    record_many(fresh_db, 6)
    set_document(fresh_db, 4, column, {"status": "active", "version": 999})

    result = verify_chain(fresh_db, batch_size=2)

    assert not result.ok and result.first_break is not None
    assert result.first_break.kind is BreakKind.MODIFIED_RECORD
    assert result.first_break.seq == 4
    assert result.records_checked == 3


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actor", "system:someone-else"),
        ("source_ip", None),
        ("at", datetime(2026, 11, 26, 9, 30, 1, tzinfo=UTC)),
        ("hash", "e" * 64),
    ],
)
def test_a_modified_field_or_hash_is_found_at_its_record(
    fresh_db: Database, column: str, value: Any
) -> None:
    record_many(fresh_db, 5)
    if column == "at" and fresh_db.dialect == "sqlite":
        value = "2026-11-26 09:30:01.000000"  # how SQLite stores it
    set_column(fresh_db, 2, column, value)

    result = verify_chain(fresh_db)

    assert result.first_break is not None
    assert (result.first_break.kind, result.first_break.seq) == (BreakKind.MODIFIED_RECORD, 2)


def test_a_deleted_record_is_a_missing_record(fresh_db: Database) -> None:
    record_many(fresh_db, 5)
    with tampering(fresh_db) as conn:
        conn.execute(text("DELETE FROM audit_records WHERE seq = 3"))

    result = verify_chain(fresh_db)

    assert result.first_break is not None
    assert (result.first_break.kind, result.first_break.seq) == (BreakKind.MISSING_RECORD, 3)
    assert result.first_break.found == "seq 4"


def test_a_deleted_last_record_is_a_head_mismatch(fresh_db: Database) -> None:
    record_many(fresh_db, 5)
    with tampering(fresh_db) as conn:
        conn.execute(text("DELETE FROM audit_records WHERE seq = 5"))

    result = verify_chain(fresh_db)

    assert result.first_break is not None
    assert (result.first_break.kind, result.first_break.seq) == (BreakKind.HEAD_MISMATCH, 5)


def test_swapped_records_are_a_broken_link(fresh_db: Database) -> None:
    record_many(fresh_db, 5)
    with tampering(fresh_db) as conn:
        conn.execute(text("UPDATE audit_records SET seq = 1000 WHERE seq = 3"))
        conn.execute(text("UPDATE audit_records SET seq = 3 WHERE seq = 4"))
        conn.execute(text("UPDATE audit_records SET seq = 4 WHERE seq = 1000"))

    result = verify_chain(fresh_db)

    assert result.first_break is not None
    assert (result.first_break.kind, result.first_break.seq) == (BreakKind.BROKEN_LINK, 3)


def test_a_rewound_head_is_a_head_mismatch(fresh_db: Database) -> None:
    records = record_many(fresh_db, 4)
    with fresh_db.transaction() as conn:
        conn.execute(
            text("UPDATE audit_chain_head SET last_seq = 2, last_hash = :h"), {"h": records[1].hash}
        )

    result = verify_chain(fresh_db)

    assert result.first_break is not None
    assert (result.first_break.kind, result.first_break.seq) == (BreakKind.HEAD_MISMATCH, 3)
    assert result.records_checked == 2


def test_a_chain_rewritten_after_a_change_but_not_its_head_is_a_head_mismatch(
    fresh_db: Database,
) -> None:
    """A tamperer who recomputes every later hash still cannot hide from the head."""
    record_many(fresh_db, 4)
    records, _ = list_audit_records(fresh_db, limit=10)
    forged_hash = "0" * 64
    with tampering(fresh_db) as conn:
        prev_hash = records[-2].hash  # keep records 1 and 2, rewrite 3 and 4
        for original in reversed(records[:2]):
            forged = dataclasses.replace(original, actor="x:y")
            forged_hash = record_hash(
                forged, seq=forged.seq, record_id=forged.id, prev_hash=prev_hash
            )
            conn.execute(
                text(
                    "UPDATE audit_records SET actor = 'x:y', prev_hash = :p, hash = :h"
                    " WHERE seq = :s"
                ),
                {"p": prev_hash, "h": forged_hash, "s": forged.seq},
            )
            prev_hash = forged_hash

    result = verify_chain(fresh_db)

    assert result.first_break is not None
    assert result.first_break.kind is BreakKind.HEAD_MISMATCH
    assert result.records_checked == 4
    assert forged_hash in result.first_break.found


# --- concurrency ----------------------------------------------------------------------------


def test_concurrent_writers_still_make_one_contiguous_valid_chain(fresh_db: Database) -> None:
    writers, each = 4, 25
    errors: list[BaseException] = []
    start = threading.Barrier(writers)

    def write(writer: int) -> None:
        try:
            start.wait()
            for n in range(each):
                fresh_db.run(lambda conn, n=n: record(conn, writer * 100 + n))
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    result = verify_chain(fresh_db, batch_size=10)
    assert result.ok, result.first_break
    assert result.records_checked == result.head_seq == writers * each
    records, _ = list_audit_records(fresh_db, limit=500)
    assert sorted(r.seq for r in records) == list(range(1, writers * each + 1))
    assert len({r.request_id for r in records}) == writers * each


# --- what goes in comes back, on both databases ---------------------------------------------

texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    before=st.none() | st.dictionaries(texts, json_values, max_size=4),
    after=st.none() | st.dictionaries(texts, json_values, max_size=4),
    subject_id=texts.filter(lambda t: 0 < len(t) <= 200 and t == t.strip() and t.isprintable()),
    microsecond=st.integers(0, 999_999),
)
def test_any_record_read_back_from_the_database_still_hashes_to_its_stored_hash(
    db: Database, before: Any, after: Any, subject_id: str, microsecond: int
) -> None:
    written = db.run(
        lambda conn: record_audit(
            conn,
            actor="system:property-test",
            action="thing.changed",
            subject_type="thing",
            subject_id=subject_id,
            before=before,
            after=after,
            source_ip=None,
            at=T0.replace(microsecond=microsecond),
        )
    )
    records, _ = list_audit_records(db, subject_type="thing", subject_id=subject_id, limit=1)

    assert records[0] == written
    assert check_link(records[0], expected_seq=written.seq, prev_hash=written.prev_hash) is None
