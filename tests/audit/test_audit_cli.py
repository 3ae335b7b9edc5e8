"""`sellerpay audit verify` and `audit list`: exit codes and what they print."""

from __future__ import annotations

from audit_builders import record_many, set_document
from typer.testing import CliRunner

from sellerpay.db import Database


def run(*args: str) -> tuple[int, str, str]:
    from sellerpay.cli.main import app

    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_verify_exits_0_with_the_count_and_the_head_of_an_intact_chain(cli_db: Database) -> None:
    records = record_many(cli_db, 12)

    code, out, err = run("audit", "verify", "--batch-size", "5")

    assert code == 0, out + err
    assert "audit chain verified" in out and "12 records" in out
    assert f"head seq 12 hash {records[-1].hash}" in out


def test_verify_exits_1_naming_the_first_break_precisely(cli_db: Database) -> None:
    records = record_many(cli_db, 6)
    set_document(cli_db, 4, "after", {"status": "closed"})

    code, out, err = run("audit", "verify")

    assert code == 1, out + err
    assert "audit chain broken at seq 4: modified_record" in err
    assert records[3].id in err
    assert f"found    hash {records[3].hash}" in err
    assert "3 records before it verified" in err


def test_list_filters_by_subject_and_actor_newest_first(cli_db: Database) -> None:
    record_many(cli_db, 3)
    record_many(cli_db, 2, actor="system:release", subject_id="sel_other")

    code, out, err = run("audit", "list", "--subject", "seller:sel_other", "--limit", "1")
    by_actor = run("audit", "list", "--actor", "system:release")

    assert code == 0, out + err
    assert out.splitlines() == [
        "#5 2026-11-26 09:30:01 UTC system:release seller.status_changed seller:sel_other"
        ' from 203.0.113.7: status: "active" → "restricted"; version: 1 → 2',
        "1 record(s)",
    ]
    assert by_actor[0] == 0
    assert [line.split()[0] for line in by_actor[1].splitlines()] == ["#5", "#4", "2"]


def test_list_refuses_a_subject_without_its_type(cli_db: Database) -> None:
    code, _, err = run("audit", "list", "--subject", "sel_other")

    assert code == 2
    assert "[invalid_subject]" in err and "TYPE:ID" in err
