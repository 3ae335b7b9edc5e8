"""pain.002 in and out: status codes, odd and broken files, the writer, and applying a report."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rails_builders import CREATED_AT, sepa_originator, sepa_references, sepa_transfer

from sellerpay.rails import pain002
from sellerpay.rails.instructions import (
    BankFile,
    BatchStatus,
    RailError,
    StatusReport,
    TransferState,
    TransferStatus,
)
from sellerpay.rails.pain002 import (
    STATUS_CODES,
    parse_pain002,
    status_of,
    statuses_for_file,
    write_pain002,
)
from sellerpay.rails.sepa import write_pain001

HEADER = "<GrpHdr><MsgId>STS-1</MsgId><CreDtTm>2026-01-06T08:00:00Z</CreDtTm></GrpHdr>"


def pain002_xml(
    group: str = "<OrgnlMsgId>RUN-1</OrgnlMsgId><GrpSts>ACCP</GrpSts>",
    blocks: str = "",
    *,
    header: str = HEADER,
    document: str = '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03">',
    closing: str = "</Document>",
) -> bytes:
    """A small pain.002, one element per line so line numbers in errors are predictable."""
    return "\n".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>',
            document,
            "<CstmrPmtStsRpt>",
            header,
            f"<OrgnlGrpInfAndSts>{group}</OrgnlGrpInfAndSts>",
            blocks,
            "</CstmrPmtStsRpt>",
            closing,
        ]
    ).encode()


def transaction(end_to_end_id: str, status: str | None, reason: str = "") -> str:
    status_element = f"<TxSts>{status}</TxSts>" if status else ""
    return (
        f"<TxInfAndSts><OrgnlEndToEndId>{end_to_end_id}</OrgnlEndToEndId>{status_element}"
        f"{reason}</TxInfAndSts>"
    )


def block(payment_information_id: str, status: str | None, *transactions: str) -> str:
    status_element = f"<PmtInfSts>{status}</PmtInfSts>" if status else ""
    return (
        f"<OrgnlPmtInfAndSts><OrgnlPmtInfId>{payment_information_id}</OrgnlPmtInfId>"
        f"{status_element}{''.join(transactions)}</OrgnlPmtInfAndSts>"
    )


def refusal(data: bytes) -> RailError:
    with pytest.raises(RailError) as caught:
        parse_pain002(data)
    return caught.value


# -- status codes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "state"),
    [
        ("ACCP", "accepted"),
        ("ACSP", "accepted"),
        ("ACTC", "accepted"),
        ("ACWC", "accepted"),
        ("ACSC", "settled"),
        ("ACCC", "settled"),
        ("RJCT", "rejected"),
        ("CANC", "rejected"),
        ("PDNG", "pending"),
        ("RCVD", "pending"),
        ("PART", None),
    ],
)
def test_group_status_codes_map_to_states(code: str, state: TransferState | None) -> None:
    report = parse_pain002(pain002_xml(f"<OrgnlMsgId>RUN-1</OrgnlMsgId><GrpSts>{code}</GrpSts>"))

    assert report.group_state == state


def test_every_iso_status_code_has_a_state_and_only_part_has_none() -> None:
    assert {code for code, state in STATUS_CODES.items() if state is None} == {"PART"}
    assert set(STATUS_CODES.values()) == {"accepted", "settled", "rejected", "pending", None}
    assert len(STATUS_CODES) == 18  # ISO's ExternalPaymentTransactionStatus1Code list


def test_a_partial_group_leaves_the_listed_transactions_to_decide() -> None:
    report = parse_pain002(
        pain002_xml(
            "<OrgnlMsgId>RUN-1</OrgnlMsgId><GrpSts>PART</GrpSts>",
            block("RUN-1-1", "PART", transaction("PO-1", "ACSC"), transaction("PO-2", "RJCT")),
        )
    )

    assert report.group_state is None
    assert report.batches == (BatchStatus("RUN-1-1", None),)
    assert [(t.end_to_end_id, t.state) for t in report.transfers] == [
        ("PO-1", "settled"),
        ("PO-2", "rejected"),
    ]


def test_a_transaction_without_status_takes_its_batch_then_its_group_status() -> None:
    report = parse_pain002(
        pain002_xml(
            "<OrgnlMsgId>RUN-1</OrgnlMsgId><GrpSts>ACTC</GrpSts>",
            block("B1", "RJCT", transaction("PO-1", None))
            + block("B2", None, transaction("PO-2", None))
            + block("B3", "PART", transaction("PO-3", None), transaction("PO-4", "PART")),
        )
    )

    assert [(t.end_to_end_id, t.state) for t in report.transfers] == [
        ("PO-1", "rejected"),
        ("PO-2", "accepted"),
        ("PO-3", "accepted"),
        ("PO-4", "accepted"),
    ]


def test_a_transaction_without_any_status_at_any_level_is_refused() -> None:
    error = refusal(
        pain002_xml("<OrgnlMsgId>RUN-1</OrgnlMsgId>", block("B1", None, transaction("PO-1", None)))
    )

    assert error.code == "pain002_missing_element"
    assert error.where is not None
    assert error.where.endswith("/OrgnlPmtInfAndSts/TxInfAndSts/TxSts (line 6)")
    assert "PO-1" in error.message


def test_reasons_take_the_first_code_or_proprietary_and_join_every_text() -> None:
    reasons = (
        "<StsRsnInf><AddtlInf>Account\n   closed</AddtlInf></StsRsnInf>"
        "<StsRsnInf><Rsn><Prtry>X99</Prtry></Rsn><AddtlInf>since 2025</AddtlInf></StsRsnInf>"
        "<StsRsnInf><Rsn><Cd>AC04</Cd></Rsn></StsRsnInf>"
    )
    report = parse_pain002(
        pain002_xml(blocks=block("B1", None, transaction("PO-1", "RJCT", reasons)))
    )

    assert report.transfers[0].reason_code == "X99"
    assert report.transfers[0].reason_text == "Account closed since 2025"


@pytest.mark.parametrize(
    "document",
    [
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10">',
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.14">',
        "<Document>",
        '<Document Xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03">',  # Cross River
    ],
)
def test_any_version_or_namespace_spelling_is_read_by_local_names(document: str) -> None:
    data = pain002_xml(blocks=block("B1", "ACCP", transaction("PO-1", "ACSC")), document=document)

    report = parse_pain002(data)

    assert report.original_message_id == "RUN-1"
    assert report.transfers == (TransferStatus("PO-1", "settled", None, None, "B1"),)


def test_prefixed_elements_are_read_by_local_names() -> None:
    data = (
        b'<p:Document xmlns:p="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03">'
        b"<p:CstmrPmtStsRpt><p:GrpHdr><p:MsgId>S</p:MsgId>"
        b"<p:CreDtTm>2026-01-06T08:00:00Z</p:CreDtTm></p:GrpHdr>"
        b"<p:OrgnlGrpInfAndSts><p:OrgnlMsgId>RUN-1</p:OrgnlMsgId><p:GrpSts>RJCT</p:GrpSts>"
        b"</p:OrgnlGrpInfAndSts></p:CstmrPmtStsRpt></p:Document>"
    )

    report = parse_pain002(data)

    assert (report.message_id, report.original_message_id, report.group_state) == (
        "S",
        "RUN-1",
        "rejected",
    )


# -- broken files -----------------------------------------------------------------------------


def test_truncated_xml_is_refused_with_the_line_it_broke_on() -> None:
    data = pain002_xml(blocks=block("B1", "ACCP", transaction("PO-1", "ACSC")))

    error = refusal(data[: data.index(b"<OrgnlPmtInfAndSts>") + 30])

    assert error.code == "pain002_malformed"
    assert error.where == "line 6"
    assert "not well-formed" in error.message


@pytest.mark.parametrize("data", [b"", b"   ", b"not xml at all", b"\xff\xfe<"])
def test_bytes_that_are_not_xml_are_refused(data: bytes) -> None:
    error = refusal(data)

    assert error.code == "pain002_malformed"
    assert error.where is not None and error.where.startswith("line ")


def test_a_document_of_another_kind_is_refused_at_its_root() -> None:
    error = refusal(b'<?xml version="1.0"?>\n<BkToCstmrStmt><Stmt/></BkToCstmrStmt>')

    assert (error.code, error.where) == ("pain002_wrong_root", "/BkToCstmrStmt (line 2)")


def test_a_pain001_is_not_a_status_report() -> None:
    content = write_pain001(
        [sepa_transfer()], sepa_originator(), message_id="RUN-1", created_at=CREATED_AT
    ).content

    error = refusal(content)

    assert error.code == "pain002_missing_element"
    assert error.where == "/Document/CstmrPmtStsRpt (line 2)"


def test_a_missing_original_message_id_is_refused_naming_the_element_and_line() -> None:
    error = refusal(pain002_xml("<GrpSts>ACCP</GrpSts>"))

    assert error.code == "pain002_missing_element"
    assert error.where == "/Document/CstmrPmtStsRpt/OrgnlGrpInfAndSts/OrgnlMsgId (line 5)"
    assert "OrgnlMsgId" in error.message


def test_a_group_rejection_may_lack_the_original_message_id() -> None:
    report = parse_pain002(pain002_xml("<GrpSts>RJCT</GrpSts>"))

    assert (report.original_message_id, report.group_state) == ("", "rejected")


@pytest.mark.parametrize(
    ("header", "where"),
    [
        ("<GrpHdr><CreDtTm>2026-01-06T08:00:00Z</CreDtTm></GrpHdr>", "GrpHdr/MsgId (line 4)"),
        ("<GrpHdr><MsgId> </MsgId><CreDtTm>2026-01-06</CreDtTm></GrpHdr>", "MsgId (line 4)"),
        ("<GrpHdr><MsgId>S</MsgId></GrpHdr>", "GrpHdr/CreDtTm (line 4)"),
        ("<Header/>", "CstmrPmtStsRpt/GrpHdr (line 3)"),
    ],
)
def test_a_missing_or_empty_header_element_is_refused(header: str, where: str) -> None:
    error = refusal(pain002_xml(header=header))

    assert error.code == "pain002_missing_element"
    assert error.where is not None and error.where.endswith(where)


def test_a_missing_group_information_is_refused() -> None:
    data = pain002_xml().replace(b"OrgnlGrpInfAndSts", b"OrgnlGrp")

    error = refusal(data)

    assert error.where == "/Document/CstmrPmtStsRpt/OrgnlGrpInfAndSts (line 3)"


def test_a_transaction_without_end_to_end_id_is_refused_rather_than_dropped() -> None:
    error = refusal(
        pain002_xml(blocks=block("B1", None, "<TxInfAndSts><TxSts>RJCT</TxSts></TxInfAndSts>"))
    )

    assert error.code == "pain002_missing_element"
    assert error.where is not None
    assert error.where.endswith("OrgnlPmtInfAndSts/TxInfAndSts/OrgnlEndToEndId (line 6)")


def test_a_block_without_payment_information_id_is_refused() -> None:
    error = refusal(
        pain002_xml(blocks="<OrgnlPmtInfAndSts><PmtInfSts>RJCT</PmtInfSts></OrgnlPmtInfAndSts>")
    )

    assert error.where is not None and error.where.endswith("/OrgnlPmtInfId (line 6)")


@pytest.mark.parametrize("code", ["rjct", "RJ", "REJECTED", "RJC1", "ZZZZ", " "])
def test_a_status_that_is_not_an_iso_code_is_refused_rather_than_guessed(code: str) -> None:
    error = refusal(pain002_xml(blocks=block("B1", None, transaction("PO-1", code))))

    assert error.code == "pain002_unknown_status"
    assert error.where is not None and error.where.endswith("/TxInfAndSts/TxSts (line 6)")


def test_an_unknown_group_status_is_refused_with_its_line() -> None:
    error = refusal(pain002_xml("<OrgnlMsgId>RUN-1</OrgnlMsgId><GrpSts>DONE</GrpSts>"))

    assert error.code == "pain002_unknown_status"
    assert error.where == "/Document/CstmrPmtStsRpt/OrgnlGrpInfAndSts/GrpSts (line 5)"


def test_a_creation_time_that_is_not_iso_is_refused() -> None:
    error = refusal(pain002_xml(header=HEADER.replace("2026-01-06T08:00:00Z", "06/01/2026")))

    assert error.code == "pain002_malformed"
    assert error.where == "/Document/CstmrPmtStsRpt/GrpHdr/CreDtTm (line 4)"


def test_an_oversized_file_is_refused_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pain002, "STATUS_REPORT_BYTES_MAX", 100)

    error = refusal(pain002_xml())

    assert error.code == "pain002_too_large"


def test_a_document_type_declaration_is_refused_so_entities_never_expand() -> None:
    body = pain002_xml("<OrgnlMsgId>&secret;</OrgnlMsgId><GrpSts>ACCP</GrpSts>")
    doctype = b'<!DOCTYPE Document [<!ENTITY secret SYSTEM "file:///etc/hostname">]>'
    data = body.replace(b"?>\n", b"?>\n" + doctype, 1)

    error = refusal(data)

    assert (error.code, error.where) == ("pain002_malformed", "line 1")
    assert "DOCTYPE" in error.message


# -- writing ----------------------------------------------------------------------------------


def sample_report() -> StatusReport:
    return StatusReport(
        message_id="BANK-STS-1",
        original_message_id="RUN-1",
        created_at=None,
        group_state="accepted",
        transfers=(
            TransferStatus("PO-1", "rejected", "AC04", "Account closed", "RUN-1-1"),
            TransferStatus("PO-2", "settled", None, None, "RUN-1-1"),
            TransferStatus("PO-3", "pending", "NARR", None, "RUN-1-2"),
        ),
        group_reason_code=None,
        group_reason_text="File accepted",
        batches=(BatchStatus("RUN-1-1", "accepted"), BatchStatus("RUN-1-2", None, "NARR", "x")),
    )


def test_a_written_report_reads_back_as_the_same_report() -> None:
    created_at = datetime(2026, 1, 6, 8, 30, tzinfo=timezone(timedelta(hours=1)))

    data = write_pain002(sample_report(), created_at=created_at)

    assert parse_pain002(data) == replace(sample_report(), created_at=created_at)


def test_the_writer_speaks_pain002_version_10_with_iso_codes() -> None:
    data = write_pain002(sample_report(), created_at=CREATED_AT)

    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:')
    assert b"urn:iso:std:iso:20022:tech:xsd:pain.002.001.10" in data
    assert b"<OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId>" in data
    assert data.count(b"<TxSts>") == 3
    assert b"<TxSts>RJCT</TxSts>" in data and b"<TxSts>PDNG</TxSts>" in data
    assert b"<TxSts>ACSC</TxSts>" in data
    assert b"<GrpSts>ACCP</GrpSts>" in data


def test_long_reason_texts_are_split_into_lines_of_105_and_joined_back() -> None:
    text = " ".join(f"word{n:03d}" for n in range(60)) + " " + "x" * 120  # 600 characters
    report = replace(
        sample_report(),
        transfers=(TransferStatus("PO-1", "rejected", "NARR", text, "B1"),),
        group_reason_text=None,
        batches=(BatchStatus("B1", None),),
    )

    data = write_pain002(report, created_at=CREATED_AT)

    lines = [line.split(b"</AddtlInf>")[0] for line in data.split(b"<AddtlInf>")[1:]]
    assert [len(line) for line in lines] == [103, 103, 103, 103, 63, 105, 15]
    parsed = parse_pain002(data).transfers[0].reason_text
    assert parsed == text.replace("x" * 120, "x" * 105 + " " + "x" * 15)  # a word over 105


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"message_id": "M" * 36}, "message_id"),
        ({"original_message_id": ""}, "original_message_id"),
        ({"group_state": "unknown"}, "group_state"),
        ({"group_reason_code": "TOOLONG"}, "group_reason"),
        (
            {"transfers": (TransferStatus("PO-1", "unknown", payment_information_id="B"),)},
            "transfer PO-1",
        ),
        (
            {"transfers": (TransferStatus("PO-1", "accepted"),)},
            "transfers[0].payment_information_id",
        ),
        ({"group_reason_text": "bell \x07"}, "AddtlInf"),
    ],
)
def test_what_pain002_cannot_carry_is_refused(change: dict[str, Any], where: str) -> None:
    with pytest.raises(RailError) as caught:
        write_pain002(replace(sample_report(), **change), created_at=CREATED_AT)

    assert (caught.value.code, caught.value.where) == ("pain002_unwritable", where)


def test_the_writer_refuses_a_naive_time() -> None:
    with pytest.raises(RailError) as caught:
        write_pain002(sample_report(), created_at=datetime(2026, 1, 6))

    assert caught.value.code == "created_at_naive"


WRITABLE_STATES: tuple[TransferState, ...] = ("accepted", "settled", "rejected", "pending")
states = st.sampled_from(WRITABLE_STATES)
maybe_states = st.one_of(st.none(), states)
reason_texts = st.none() | st.lists(
    st.text(st.characters(codec="ascii", categories=("L", "N", "P")), min_size=1, max_size=30),
    min_size=1,
    max_size=12,
).map(" ".join)
reason_codes = st.none() | st.sampled_from(["AC01", "AC04", "AM04", "MS02", "NARR", "DU01"])


@st.composite
def status_reports(draw: st.DrawFn) -> StatusReport:
    batch_ids = draw(st.lists(sepa_references(), min_size=0, max_size=4, unique=True))
    batches = tuple(
        BatchStatus(pmt, draw(maybe_states), draw(reason_codes), draw(reason_texts))
        for pmt in batch_ids
    )
    e2e_ids = draw(st.lists(sepa_references(), max_size=8, unique=True)) if batch_ids else []
    transfers = tuple(
        TransferStatus(
            e2e,
            draw(states),
            draw(reason_codes),
            draw(reason_texts),
            draw(st.sampled_from(batch_ids)),
        )
        for e2e in e2e_ids
    )
    # the parser lists transfers block by block
    ordered = tuple(t for pmt in batch_ids for t in transfers if t.payment_information_id == pmt)
    return StatusReport(
        message_id=draw(sepa_references()),
        original_message_id=draw(sepa_references()),
        created_at=None,
        group_state=draw(maybe_states),
        transfers=ordered,
        group_reason_code=draw(reason_codes),
        group_reason_text=draw(reason_texts),
        batches=batches,
    )


@settings(max_examples=200, deadline=None)
@given(report=status_reports(), minutes=st.integers(-720, 840))
def test_any_report_survives_a_write_and_read_round_trip(
    report: StatusReport, minutes: int
) -> None:
    created_at = datetime(2026, 1, 6, 8, 0, 0, 123000, tzinfo=timezone(timedelta(minutes=minutes)))

    parsed = parse_pain002(write_pain002(report, created_at=created_at))

    assert parsed == replace(report, created_at=created_at)


# -- applying a report to the file it answers -------------------------------------------------


def sepa_file() -> BankFile:
    transfers = [
        sepa_transfer("PO-1"),
        sepa_transfer("PO-2"),
        sepa_transfer("PO-3", instant=True),
        sepa_transfer("PO-4", instant=True),
    ]
    return write_pain001(transfers, sepa_originator(), message_id="RUN-1", created_at=CREATED_AT)


def test_a_listed_transfer_beats_its_batch_which_beats_the_group() -> None:
    bank_file = sepa_file()
    assert bank_file.batches == {"RUN-1-1": ("PO-1", "PO-2"), "RUN-1-2": ("PO-3", "PO-4")}
    answer = write_pain002(
        StatusReport(
            message_id="STS-9",
            original_message_id="RUN-1",
            created_at=None,
            group_state="accepted",
            transfers=(TransferStatus("PO-3", "accepted", None, None, "RUN-1-2"),),
            batches=(BatchStatus("RUN-1-2", "rejected", "AM04", "No funds for instant"),),
        ),
        created_at=CREATED_AT,
    )

    statuses = statuses_for_file(parse_pain002(answer), bank_file)

    assert statuses == {
        "PO-1": TransferStatus("PO-1", "accepted", None, None, "RUN-1-1"),
        "PO-2": TransferStatus("PO-2", "accepted", None, None, "RUN-1-1"),
        "PO-3": TransferStatus("PO-3", "accepted", None, None, "RUN-1-2"),
        "PO-4": TransferStatus("PO-4", "rejected", "AM04", "No funds for instant", "RUN-1-2"),
    }


def test_a_group_rejection_rejects_every_transfer_with_its_reason() -> None:
    report = parse_pain002(
        pain002_xml(
            "<OrgnlMsgId>RUN-1</OrgnlMsgId><GrpSts>RJCT</GrpSts>"
            "<StsRsnInf><Rsn><Cd>DU01</Cd></Rsn></StsRsnInf>"
        )
    )

    statuses = statuses_for_file(report, sepa_file())

    assert {(s.state, s.reason_code) for s in statuses.values()} == {("rejected", "DU01")}
    assert sorted(statuses) == ["PO-1", "PO-2", "PO-3", "PO-4"]


def test_transfers_a_report_says_nothing_about_are_left_out() -> None:
    report = parse_pain002(
        pain002_xml(
            "<OrgnlMsgId>RUN-1</OrgnlMsgId><GrpSts>PART</GrpSts>",
            block("RUN-1-1", None, transaction("PO-1", "RJCT")),
        )
    )

    statuses = statuses_for_file(report, sepa_file())

    assert {e2e: s.state for e2e, s in statuses.items()} == {"PO-1": "rejected"}


@pytest.mark.parametrize(
    ("group", "blocks", "code"),
    [
        ("<OrgnlMsgId>RUN-2</OrgnlMsgId>", "", "status_report_other_file"),
        ("<GrpSts>RJCT</GrpSts>", "", "status_report_other_file"),  # no OrgnlMsgId at all
        (
            "<OrgnlMsgId>RUN-1</OrgnlMsgId>",
            block("RUN-1-1", None, transaction("PO-99", "RJCT")),
            "status_report_unknown_transfer",
        ),
        (
            "<OrgnlMsgId>RUN-1</OrgnlMsgId>",
            block("RUN-1-1", None, transaction("PO-1", "RJCT"), transaction("PO-1", "ACSC")),
            "status_report_contradictory",
        ),
    ],
)
def test_a_report_that_does_not_fit_the_file_is_refused(group: str, blocks: str, code: str) -> None:
    report = parse_pain002(pain002_xml(group, blocks))

    with pytest.raises(RailError) as caught:
        statuses_for_file(report, sepa_file())

    assert caught.value.code == code


def test_utc_is_the_default_zone_for_times_without_offset() -> None:
    report = parse_pain002(pain002_xml(header=HEADER.replace("08:00:00Z", "08:00:00")))

    assert report.created_at == datetime(2026, 1, 6, 8, 0, tzinfo=UTC)


def test_status_of_one_transfer_needs_its_batch_to_see_a_batch_rejection() -> None:
    report = parse_pain002(
        pain002_xml("<OrgnlMsgId>RUN-1</OrgnlMsgId><GrpSts>ACTC</GrpSts>", block("B2", "RJCT"))
    )

    in_batch = status_of(report, "PO-7", payment_information_id="B2")
    batch_unknown = status_of(report, "PO-7")

    assert in_batch == TransferStatus("PO-7", "rejected", None, None, "B2")
    assert batch_unknown == TransferStatus("PO-7", "accepted", None, None, None)
    assert status_of(replace(report, group_state=None), "PO-7") is None
