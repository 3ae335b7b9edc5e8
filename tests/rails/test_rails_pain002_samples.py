"""Real pain.002 files from banks' public samples: each parses, with the statuses it holds.

The files are read where they live (/work/shared/testdata/bank-files/pain002, see its README
for sources and licences); several are odd on purpose: Cross River declares its namespace as
`Xmlns=` (so it has none), Goldman Sachs pads ids with spaces and omits GrpSts, the OCA file
answers a direct-debit file and has comments everywhere.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from rails_builders import bank_file, bank_files

from sellerpay.rails.instructions import BatchStatus, StatusReport, TransferStatus
from sellerpay.rails.pain002 import parse_pain002


def parse(name: str) -> StatusReport:
    return parse_pain002(bank_file("pain002", name).read_bytes())


def test_every_sample_parses_into_a_report_with_an_id_and_a_time() -> None:
    paths = bank_files("pain002")

    assert len(paths) == 11
    for path in paths:
        report = parse_pain002(path.read_bytes())
        assert report.message_id, path.name
        assert report.created_at is not None and report.created_at.tzinfo is not None, path.name


def test_nordea_group_reject_rejects_the_whole_file_as_a_duplicate() -> None:
    report = parse("iso20022js_nordea_pain_002_v3_group_reject.xml")

    assert report == StatusReport(
        message_id="XML990920150810101909283",
        original_message_id="MSGID-PS-TEST-0708-01",
        created_at=datetime(2015, 8, 10, 10, 19, 9, tzinfo=UTC),
        group_state="rejected",
        transfers=(),
        group_reason_code="DU01",
        group_reason_text="ISO Duplicate Message ID",
        batches=(),
    )


def test_nordea_payment_reject_rejects_one_batch_without_listing_its_transfers() -> None:
    report = parse("iso20022js_nordea_pain_002_v3_payment_reject.xml")

    assert report.original_message_id == "MSGID-COM-SCE25-1707-01"
    assert report.group_state is None
    assert report.transfers == ()
    assert report.batches == (
        BatchStatus(
            payment_information_id="PMTINFID-COM-SCE25-1707-01",
            state="rejected",
            reason_code="NARR",
            reason_text="CAP Invalid code or combinations in CategoryPurpose or ServiceLevel",
        ),
    )


def test_nordea_transaction_reject_rejects_two_transfers_with_free_text_reasons() -> None:
    report = parse("iso20022js_nordea_pain_002_v3_txn_reject.xml")

    reason = "CAP Invalid code or combinations in CategoryPurpose or ServiceLevel"
    batch = "PMTINFID-950-TEST2-2807-01"
    assert report.original_message_id == "MSGID-950-TEST2-2807-01"
    assert report.created_at == datetime(2015, 7, 28, 10, 40, 14, tzinfo=UTC)
    assert report.batches == (BatchStatus(batch, "rejected"),)
    assert report.transfers == (
        TransferStatus("ENDTOENDID-950-TEST2-2807-02", "rejected", "NARR", reason, batch),
        TransferStatus("ENDTOENDID-950-TEST2-2807-01", "rejected", "NARR", reason, batch),
    )


def test_goldman_sachs_accepted_transaction_without_a_group_status() -> None:
    report = parse("iso20022js_goldman_sachs_pain_002_v3_accepted.xml")

    assert (report.message_id, report.original_message_id) == ("1036XXX", "10280093XXXX")
    assert report.group_state is None
    assert report.batches == (BatchStatus("3B-CCY", None),)
    assert report.transfers == (
        TransferStatus("GSDGFKfLURaHb", "accepted", "NARR", None, "3B-CCY"),
    )


def test_goldman_sachs_group_acceptance_keeps_both_additional_texts() -> None:
    report = parse("iso20022js_goldman_sachs_pain_002_v3_group_accepted.xml")

    assert report.original_message_id == "CLIENT NAME_2023-09-06:04"
    assert report.created_at == datetime(2023, 9, 6, 12, 50, 56, 162000, tzinfo=UTC)
    assert report.group_state == "accepted"  # ACTC
    assert report.group_reason_code is None
    assert report.group_reason_text == (
        "File accepted post technical and profile validations Original File Name: 26951.json"
    )
    assert (report.transfers, report.batches) == ((), ())


def test_goldman_sachs_payment_acceptance_trims_the_padded_ids() -> None:
    report = parse("iso20022js_goldman_sachs_pain_002_v3_payment_accepted.xml")

    assert report.original_message_id == "XXX001_20220315_B_DZSOXXXX"
    assert report.group_state is None
    assert report.batches == (
        BatchStatus(
            "xxx001220315B000XXXX",
            "accepted",
            "NARR",
            "Accepted post profile and tech validations",
        ),
    )
    assert report.transfers == ()


def test_cross_river_credit_accepted_despite_the_missing_namespace() -> None:
    report = parse("iso20022js_cross_river_pain_002_credit_accepted.xml")

    assert (report.message_id, report.original_message_id) == ("abcdefg0000000", "AMBCD10000000")
    assert report.created_at == datetime(2020, 9, 15, 15, 58, 4, 637000, tzinfo=UTC)
    assert report.group_state == "accepted"  # ACTC
    assert report.batches == (BatchStatus("ABCD10000000", "accepted"),)  # ACTC
    assert report.transfers == (
        TransferStatus("0000000000000108", "accepted", None, None, "ABCD10000000"),  # ACSP
    )


def test_cross_river_debit_accepted_lists_three_transfers_in_settlement() -> None:
    report = parse("iso20022js_cross_river_pain_002_debit_accepted.xml")

    assert report.original_message_id == "DD1"
    assert report.group_state == "accepted"
    assert [(t.end_to_end_id, t.state) for t in report.transfers] == [
        ("DD1-1", "accepted"),
        ("DD1-2", "accepted"),
        ("DD1-3", "accepted"),
    ]
    assert {t.payment_information_id for t in report.transfers} == {"DD1-1"}


def test_cross_river_transaction_rejected_inside_an_accepted_group() -> None:
    report = parse("iso20022js_cross_river_pain_002_transaction_rejected.xml")

    assert report.original_message_id == "missing2"
    assert report.group_state == "accepted"  # ACTC: the file was readable
    assert report.batches == (BatchStatus("missing2", "rejected"),)
    assert report.transfers == (
        TransferStatus(
            "sanity-10-1-12-1-21",
            "rejected",
            "NARR",
            "Instruction ID example01234567 already exist",
            "missing2",
        ),
        TransferStatus(
            "example01234567",
            "rejected",
            "NARR",
            "Instruction ID example01234567 already exist",
            "missing2",
        ),
        TransferStatus(
            "example012345678",
            "rejected",
            "NARR",
            "Instruction ID example012345678 already exist",
            "missing2",
        ),
    )


def test_cross_river_batch_rejected_without_an_original_message_id() -> None:
    report = parse("iso20022js_cross_river_pain_002_batch_rejected.xml")

    assert report.message_id == "abcdefg012345689"
    assert report.original_message_id == ""  # the bank could not read ours
    assert report.group_state == "rejected"
    assert report.group_reason_code == "NARR"
    assert report.group_reason_text is not None
    assert report.group_reason_text.startswith("Error parsing file examplefile.xml: The 'MsgId'")
    assert (report.transfers, report.batches) == ((), ())


def test_oca_unpaid_report_rejects_four_transfers_with_their_reason_codes() -> None:
    report = parse("oca_test-sepa-pain-unpaid.xml")

    assert (report.message_id, report.original_message_id) == (
        "MSGID99345678912",
        "MSGID12345678912",
    )
    assert report.created_at == datetime(2016, 10, 8, 20, 49, tzinfo=UTC)
    assert report.group_state is None
    assert report.batches == (BatchStatus("PMTINFID1", None), BatchStatus("PMTINFID2", None))
    assert report.transfers == (
        TransferStatus("E2EID1", "rejected", "AC01", "ACC NUMBER INVALID", "PMTINFID1"),
        TransferStatus("E2EID2", "rejected", "MS02", None, "PMTINFID1"),
        TransferStatus("E2EID3", "rejected", "MD06", None, "PMTINFID2"),
        TransferStatus("E2EID4", "rejected", "AM04", None, "PMTINFID2"),
    )


@pytest.mark.parametrize(
    ("name", "local"),
    [
        ("iso20022js_nordea_pain_002_v3_group_reject.xml", datetime(2015, 8, 10, 10, 19, 9)),
        ("oca_test-sepa-pain-unpaid.xml", datetime(2016, 10, 8, 20, 49)),
    ],
)
def test_a_time_without_offset_is_read_in_the_banks_zone(name: str, local: datetime) -> None:
    helsinki_summer = timezone(timedelta(hours=3))

    report = parse_pain002(bank_file("pain002", name).read_bytes(), bank_timezone=helsinki_summer)

    assert report.created_at == local.replace(tzinfo=helsinki_summer)


def test_a_time_with_an_offset_ignores_the_banks_zone() -> None:
    data = bank_file("pain002", "iso20022js_nordea_pain_002_v3_txn_reject.xml").read_bytes()

    report = parse_pain002(data, bank_timezone=timezone(timedelta(hours=3)))

    assert report.created_at == datetime(2015, 7, 28, 10, 40, 14, tzinfo=UTC)
