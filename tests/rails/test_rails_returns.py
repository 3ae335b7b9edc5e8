"""Reason codes: what they mean and whether a return should stop payouts to the bank account."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sellerpay.rails.returns import REASON_CODES, describe_reason


@pytest.mark.parametrize(
    "code",
    [
        "AC01", "AC03", "AC04", "AC06", "BE01", "MD07", "RC01", "AG01",  # ISO 20022
        "R02", "R03", "R04", "R12", "R14", "R15", "R16", "R20", "R28",  # NACHA
    ],
)  # fmt: skip
def test_closed_invalid_wrong_accounts_and_deceased_holders_disable_the_bank_account(
    code: str,
) -> None:
    reason = describe_reason(code)
    assert reason.known
    assert reason.disables_bank_account


@pytest.mark.parametrize(
    "code",
    [
        "AM04", "AM05", "DUPL", "TM01", "AB05", "AB06", "FF01", "CUST", "FOCR", "MS02",
        "MS03", "NARR", "DU01", "AM09",  # ISO 20022
        "R01", "R09", "R17", "R24", "R26", "R68", "R71",  # NACHA
    ],
)  # fmt: skip
def test_funds_duplicates_timeouts_and_file_errors_leave_the_bank_account_usable(
    code: str,
) -> None:
    reason = describe_reason(code)
    assert reason.known
    assert not reason.disables_bank_account


def test_the_table_holds_the_common_iso_and_nacha_codes() -> None:
    iso = {"AC01", "AC04", "AC06", "AG01", "AM04", "AM05", "BE04", "MD07", "MS02", "MS03"}
    iso |= {"RC01", "RR01", "FF01", "DUPL", "TM01", "CUST", "FOCR"}
    nacha = {f"R{number:02d}" for number in range(1, 34)}
    assert iso <= {code for code, r in REASON_CODES.items() if r.family == "iso20022"}
    assert nacha <= {code for code, r in REASON_CODES.items() if r.family == "nacha"}
    assert all(reason.code == code and reason.description for code, reason in REASON_CODES.items())


def test_codes_are_read_whatever_their_case_and_surrounding_blanks() -> None:
    assert describe_reason(" ac04 ") == REASON_CODES["AC04"]
    assert describe_reason("r03") == REASON_CODES["R03"]


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("R01", "return"),
        ("R33", "return"),
        ("R61", "dishonored_return"),
        ("R70", "dishonored_return"),
        ("R71", "contested_dishonored_return"),
        ("R77", "contested_dishonored_return"),
        ("R84", "return"),
        ("AC04", None),
    ],
)
def test_nacha_codes_say_whether_they_return_dishonor_or_contest(
    code: str, kind: str | None
) -> None:
    assert describe_reason(code).nacha_kind == kind


@pytest.mark.parametrize("code", ["R97", "XX99", "", "Z", "NOT-A-CODE"])
def test_an_unknown_code_is_described_not_refused(code: str) -> None:
    reason = describe_reason(code)
    assert not reason.known
    assert reason.family == "unknown"
    assert not reason.disables_bank_account
    assert reason.code == code.strip().upper()
    assert reason.nacha_kind is None


@given(st.text(max_size=200))
def test_any_text_gets_a_description_of_bounded_length(code: str) -> None:
    reason = describe_reason(code)
    assert reason.known == (code.strip().upper() in REASON_CODES)
    assert len(reason.code) <= 35
