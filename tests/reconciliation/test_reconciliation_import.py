"""Importing statements (SQLite and PostgreSQL): idempotent, checked against the previous
statement, refused whole when malformed, CSV mappings saved and reused, real bank files."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from reconciliation_builders import (
    ACCOUNT_IBAN,
    POLICY,
    bank_account_id,
    camt053,
    count,
    credit,
    debit,
    statement,
)

from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.errors import InvalidInput
from sellerpay.rails.camt import write_camt054
from sellerpay.rails.csv_statements import CsvMapping
from sellerpay.reconciliation import service

DAY = date(2026, 1, 5)
BANK_FILES = Path(__file__).resolve().parents[2] / ".." / "shared" / "testdata" / "bank-files"


def import_(db: Database, clock: FixedClock, data: bytes, account: str, name: str = "s.xml"):  # type: ignore[no-untyped-def]
    return service.import_statement(
        db, data, filename=name, bank_account=account, clock=clock, policy=POLICY
    )


def exceptions_of(
    db: Database, account: str, kind: str | None = None
) -> list[service.ExceptionView]:
    views, _ = service.list_exceptions(
        db,
        service.ExceptionFilter(bank_account=account, kind=kind),
        limit=500,  # type: ignore[arg-type]
    )
    return views


def test_the_same_file_twice_changes_nothing_and_says_so(db: Database, clock: FixedClock) -> None:
    account = bank_account_id()
    data = camt053([debit("L1", 1234, DAY, end_to_end_id="SPUNKNOWN1")], on=DAY,
                   opening_minor=10_000)  # fmt: skip

    first = import_(db, clock, data, account)
    before = (count(db, "statement_lines", bank_account=account),
              count(db, "exceptions", bank_account=account))  # fmt: skip
    again = import_(db, clock, data, account)

    assert not first.duplicate and first.lines == 1 and first.statements == 1
    assert again.duplicate and "nothing changed" in again.message
    assert again.import_id == first.import_id
    assert (count(db, "statement_lines", bank_account=account),
            count(db, "exceptions", bank_account=account)) == before  # fmt: skip


def test_the_same_statement_in_another_file_is_recognised(db: Database, clock: FixedClock) -> None:
    account = bank_account_id()
    lines = [debit("L1", 100, DAY)]
    import_(db, clock, camt053(lines, on=DAY, opening_minor=500), account)

    again = import_(db, clock, camt053(lines, on=DAY, opening_minor=500) + b"\n", account)

    assert again.duplicate and again.statements_skipped == 1
    assert count(db, "statements", bank_account=account) == 1


def test_an_unmatched_line_is_an_exception_with_its_amount(db: Database, clock: FixedClock) -> None:
    account = bank_account_id()

    outcome = import_(db, clock, camt053([debit("L1", 1234, DAY)], on=DAY), account)

    (line,) = exceptions_of(db, account, "unmatched_line")
    assert line.amount is not None and line.amount.amount_minor == -1234
    assert line.status == "open" and line.line_id is not None
    assert outcome.exceptions_opened >= 1


def test_an_opening_balance_that_is_not_the_last_closing_is_an_exception(
    db: Database, clock: FixedClock
) -> None:
    account = bank_account_id()
    import_(db, clock, camt053([credit("L1", 500, DAY)], on=DAY, opening_minor=1000), account)

    gap = import_(db, clock, camt053([], on=date(2026, 1, 6), opening_minor=1400, sequence=2),
                  account)  # fmt: skip

    assert not gap.duplicate and gap.statements == 1  # imported: a gap is not a refusal
    (exception,) = exceptions_of(db, account, "opening_balance_gap")
    assert exception.amount is not None and exception.amount.amount_minor == 1400 - 1500
    assert exception.evidence["previous_closing_minor"] == 1500


def test_a_missing_statement_number_is_an_exception(db: Database, clock: FixedClock) -> None:
    account = bank_account_id()
    import_(db, clock, camt053([], on=DAY, opening_minor=1000, sequence=7), account)

    import_(db, clock, camt053([], on=date(2026, 1, 7), opening_minor=1000, sequence=9), account)

    (exception,) = exceptions_of(db, account, "opening_balance_gap")
    assert "from 7 to 9" in exception.detail


def test_a_continuous_series_has_no_opening_exception(db: Database, clock: FixedClock) -> None:
    account = bank_account_id()
    import_(db, clock, camt053([credit("L1", 500, DAY)], on=DAY, opening_minor=1000), account)

    import_(db, clock, camt053([], on=date(2026, 1, 6), opening_minor=1500, sequence=2), account)

    assert exceptions_of(db, account, "opening_balance_gap") == []


@pytest.mark.parametrize(
    ("data", "code", "where"),
    [
        (b"<Document><BkToCstmrStmt><GrpHdr>", "malformed_xml", None),
        (
            b":20:X\n:25:NL20INGB0001234567\n:28C:1\n:60F:C260105EUR1,00\n:61:26010X\n-",
            None,
            "line",
        ),
        (b"hello", "unknown_format", None),
    ],
)
def test_a_malformed_file_is_refused_naming_where_and_nothing_is_stored(
    db: Database, clock: FixedClock, data: bytes, code: str | None, where: str | None
) -> None:
    account = bank_account_id()

    with pytest.raises(InvalidInput) as refused:
        import_(db, clock, data, account, name="bad.sta")

    if code is not None:
        assert refused.value.code == code
    if where is not None:
        assert where in str(refused.value.context.get("where"))
    assert count(db, "statements", bank_account=account) == 0
    assert count(db, "statement_imports", bank_account=account) == 0


def test_a_camt054_notification_is_not_a_statement(db: Database, clock: FixedClock) -> None:
    notice = replace(statement([credit("R1", 100, DAY)], on=DAY), format="camt.054",
                     opening_balance=None, closing_balance=None)  # fmt: skip
    account = bank_account_id()

    with pytest.raises(InvalidInput) as refused:
        import_(db, clock, write_camt054(notice), account, name="notice.xml")

    assert refused.value.code == "not_a_statement"
    assert count(db, "statements", bank_account=account) == 0


def test_another_account_number_under_the_same_bank_account_is_refused(
    db: Database, clock: FixedClock
) -> None:
    account = bank_account_id()
    import_(db, clock, camt053([], on=DAY, opening_minor=0), account)

    with pytest.raises(InvalidInput) as refused:
        import_(db, clock, camt053([], on=date(2026, 1, 6), account="DE89370400440532013000",
                                   sequence=2), account)  # fmt: skip

    assert refused.value.code == "statement_account_mismatch"
    assert count(db, "statements", bank_account=account) == 1


def test_a_bank_account_id_outside_the_chart_is_refused(db: Database, clock: FixedClock) -> None:
    with pytest.raises(InvalidInput) as refused:
        import_(db, clock, camt053([], on=DAY), "Main Account")

    assert refused.value.code == "invalid_bank_account"


def test_a_csv_mapping_given_once_is_saved_and_reused(db: Database, clock: FixedClock) -> None:
    account = bank_account_id()
    mapping = CsvMapping(date_column="Date", amount_column="Amount", currency="EUR",
                         reference_column="Ref", account=ACCOUNT_IBAN)  # fmt: skip
    first = b"Date,Amount,Ref\n2026-01-05,-12.34,SPX1\n"
    second = b"Date,Amount,Ref\n2026-01-06,5.00,SPX2\n"

    service.import_statement(db, first, filename="a.csv", bank_account=account, clock=clock,
                             csv_mapping=mapping, policy=POLICY)  # fmt: skip
    reused = import_(db, clock, second, account, name="b.csv")

    assert service.get_csv_mapping(db, account) == mapping
    assert reused.lines == 1 and not reused.duplicate


def test_without_a_mapping_a_csv_is_refused(db: Database, clock: FixedClock) -> None:
    with pytest.raises(InvalidInput) as refused:
        import_(db, clock, b"Date,Amount\n2026-01-05,1.00\n", bank_account_id(), name="x.csv")

    assert refused.value.code == "csv_mapping_required"


def _real_files() -> list[Path]:
    if not BANK_FILES.is_dir():
        return []
    return sorted(
        p for folder in ("camt053", "mt940") for p in (BANK_FILES / folder).iterdir()
        if p.is_file() and p.suffix in (".xml", ".sta", ".txt", ".zip", "")
        and not p.name.endswith((".yml", ".json", ".pydata"))
    )  # fmt: skip


@pytest.mark.skipif(not BANK_FILES.is_dir(), reason=f"SKIPPED: NO BANK FILES AT {BANK_FILES}")
def test_real_bank_files_import_or_are_refused_with_a_typed_error(
    db: Database, clock: FixedClock
) -> None:
    imported = 0
    for path in _real_files():
        account = bank_account_id()
        try:
            outcome = service.import_statement(
                db,
                path.read_bytes(),
                filename=path.name,
                bank_account=account,
                clock=clock,
                policy=POLICY,
            )
        except InvalidInput as error:  # a file malformed upstream: typed, nothing stored
            assert error.code, path
            assert count(db, "statements", bank_account=account) == 0, path
            continue
        imported += 1
        assert outcome.statements >= 1, path
        lines = count(db, "statement_lines", bank_account=account)
        assert lines >= outcome.lines, path
    assert imported >= 5


def test_a_summary_line_can_be_read_as_json_by_scripts(db: Database, clock: FixedClock) -> None:
    account = bank_account_id()
    outcome = import_(db, clock, camt053([debit("L1", 1, DAY)], on=DAY), account)

    assert json.loads(json.dumps(dict(outcome.rules))) == {}
    assert outcome.statement_ids and outcome.statement_ids[0].startswith("rst_")
    assert datetime.now(UTC) > clock.now()
