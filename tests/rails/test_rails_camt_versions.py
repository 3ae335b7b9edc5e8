"""camt across versions .001.02 to .001.13 (what moved between them), the typed errors with the
element path, and returned payouts picked out of a camt.054."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest
from statements_builders import CLOSING, OPENING, camt_document, camt_entry

from sellerpay.money import Money
from sellerpay.rails.camt import parse_camt, returns_from_camt054
from sellerpay.rails.statements import StatementError

PARTY_V2 = "<RltdPties><Cdtr><Nm>Atelier Durand</Nm></Cdtr><CdtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></CdtrAcct></RltdPties>"  # noqa: E501
PARTY_V8 = "<RltdPties><Cdtr><Pty><Nm>Atelier Durand</Nm></Pty></Cdtr><CdtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></CdtrAcct></RltdPties>"  # noqa: E501


@pytest.mark.parametrize("number", [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13])
def test_every_version_from_02_to_13_is_read(number: int) -> None:
    new_style = number >= 6
    entry = camt_entry(
        status="<Sts><Cd>BOOK</Cd></Sts>" if new_style else "<Sts>BOOK</Sts>",
        details=(
            "<TxDtls><Refs><EndToEndId>po_1</EndToEndId></Refs>"
            + (PARTY_V8 if number >= 8 else PARTY_V2)
            + "</TxDtls>"
        ),
    )

    parsed = parse_camt(camt_document(entry, version=f"001.{number:02d}"))

    (statement,) = parsed.statements
    (line,) = statement.lines
    assert statement.version == f"camt.053.001.{number:02d}"
    assert (line.end_to_end_id, line.status) == ("po_1", "booked")
    assert (line.counterparty_name, line.counterparty_account) == (
        "Atelier Durand",
        "DE89370400440532013000",
    )


@pytest.mark.parametrize("number", ["01", "14", "99"])
def test_versions_outside_02_to_13_are_refused(number: str) -> None:
    with pytest.raises(StatementError) as raised:
        parse_camt(camt_document(camt_entry(), version=f"001.{number}"))

    assert raised.value.code == "unsupported_version"
    assert raised.value.where == "Document"


def test_a_document_without_namespace_is_read_by_local_names() -> None:
    parsed = parse_camt(camt_document(camt_entry(), namespace=""))

    assert parsed.statements[0].version == ""
    assert parsed.statements[0].lines[0].amount == Money.of_minor(1000, "EUR")


def test_a_prefixed_namespace_is_read_too() -> None:
    document = camt_document(camt_entry()).replace(b"<", b"<c:").replace(b"<c:/", b"</c:")
    document = document.replace(b"<c:?xml", b"<?xml").replace(b' xmlns="', b' xmlns:c="')

    parsed = parse_camt(document)

    assert parsed.statements[0].version == "camt.053.001.08"
    assert parsed.statements[0].lines[0].direction == "debit"


def test_batch_detail_amounts_are_read_from_amt_or_from_amount_details() -> None:
    details = (
        "<Btch><PmtInfId>PAYRUN-7</PmtInfId><NbOfTxs>2</NbOfTxs></Btch>"
        '<TxDtls><Refs><EndToEndId>po_1</EndToEndId></Refs><Amt Ccy="EUR">7.50</Amt>'
        "<CdtDbtInd>DBIT</CdtDbtInd></TxDtls>"
        "<TxDtls><Refs><EndToEndId>po_2</EndToEndId></Refs>"
        '<AmtDtls><TxAmt><Amt Ccy="EUR">2.50</Amt></TxAmt></AmtDtls></TxDtls>'
    )

    (line,) = parse_camt(camt_document(camt_entry(details=details))).statements[0].lines

    assert line.payment_information_id == "PAYRUN-7"
    assert [(d.line_id, d.end_to_end_id, d.amount.amount_minor) for d in line.details] == [
        ("1/1", "po_1", 750),
        ("1/2", "po_2", 250),
    ]
    assert all(d.payment_information_id == "PAYRUN-7" for d in line.details)


def test_dates_as_date_times_pending_status_and_missing_booking_date() -> None:
    pending = camt_entry(
        status="<Sts><Cd>PDNG</Cd></Sts>", booking="", reference="<NtryRef>A</NtryRef>"
    )
    timed = camt_entry(
        booking="<BookgDt><DtTm>2024-03-01T23:30:00.123456789+01:00</DtTm></BookgDt>",
        reference="<NtryRef>B</NtryRef>",
    )

    lines = parse_camt(camt_document(pending + timed)).statements[0].lines

    assert [(line.line_id, line.status, line.booked_on) for line in lines] == [
        ("A", "pending", date(2024, 3, 2)),  # no BookgDt yet: the value date
        ("B", "booked", date(2024, 3, 1)),
    ]


def test_line_ids_are_positions_when_entry_references_repeat() -> None:
    same = camt_entry(reference="<NtryRef>X</NtryRef>")

    lines = parse_camt(camt_document(same + same)).statements[0].lines

    assert [line.line_id for line in lines] == ["1", "2"]


def test_interim_balances_open_and_close_a_page() -> None:
    interim = OPENING.replace("OPBD", "ITBD") + CLOSING.replace("CLBD", "ITBD")

    (statement,) = parse_camt(camt_document(camt_entry(), balances=interim)).statements

    assert statement.opening_balance == Money.of_minor(10000, "EUR")
    assert statement.closing_balance == Money.of_minor(9000, "EUR")
    assert statement.balances_agree() is True


def test_a_debit_balance_is_negative() -> None:
    overdrawn = OPENING.replace("CRDT", "DBIT")

    (statement,) = parse_camt(camt_document("", balances=overdrawn + CLOSING)).statements

    assert statement.opening_balance == Money.of_minor(-10000, "EUR")


@pytest.mark.parametrize(
    ("document", "code", "where"),
    [
        (
            camt_document(camt_entry(amount="12,50")),
            "invalid_amount",
            "Document/BkToCstmrStmt/Stmt/Ntry/Amt",
        ),
        (
            camt_document(camt_entry(amount="12.505")),
            "too_many_decimals",
            "Document/BkToCstmrStmt/Stmt/Ntry/Amt",
        ),
        (
            camt_document(camt_entry(currency="XYZ")),
            "unknown_currency",
            "Document/BkToCstmrStmt/Stmt/Ntry/Amt",
        ),
        (
            camt_document(camt_entry(indicator="CRED")),
            "invalid_direction",
            "Document/BkToCstmrStmt/Stmt/Ntry/CdtDbtInd",
        ),
        (
            camt_document(camt_entry(status="<Sts>DONE</Sts>")),
            "invalid_status",
            "Document/BkToCstmrStmt/Stmt/Ntry/Sts",
        ),
        (
            camt_document(
                camt_entry() + camt_entry(booking="<BookgDt><Dt>2024-02-30</Dt></BookgDt>")
            ),
            "invalid_date",
            "Document/BkToCstmrStmt/Stmt/Ntry[2]/BookgDt/Dt",
        ),
        (
            camt_document(camt_entry(), account="<Nm>no id</Nm>"),
            "no_account",
            "Document/BkToCstmrStmt/Stmt/Acct",
        ),
        (
            camt_document(camt_entry(details="<TxDtls><Refs/></TxDtls><TxDtls><Refs/></TxDtls>")),
            "missing_element",
            "Document/BkToCstmrStmt/Stmt/Ntry/NtryDtls/TxDtls[1]",
        ),
        (
            camt_document(camt_entry(), balances=OPENING + CLOSING.replace('"EUR"', '"USD"')),
            "balance_currency_mismatch",
            "Document/BkToCstmrStmt/Stmt/Bal[2]",
        ),
    ],
    ids=[
        "comma",
        "decimals",
        "currency",
        "indicator",
        "status",
        "date",
        "account",
        "batch-amount",
        "balance-currency",
    ],
)
def test_bad_values_are_refused_naming_their_element(
    document: bytes, code: str, where: str
) -> None:
    with pytest.raises(StatementError) as raised:
        parse_camt(document)

    assert (raised.value.code, raised.value.where) == (code, where)


def test_malformed_xml_names_its_line() -> None:
    document = camt_document(camt_entry()).replace(b"</Ntry>", b"</Entry>")

    with pytest.raises(StatementError) as raised:
        parse_camt(document)

    assert raised.value.code == "malformed_xml"
    assert raised.value.where == "line 1"


def test_a_doctype_is_refused_before_any_entity_is_expanded() -> None:
    document = camt_document(camt_entry()).replace(
        b"<Document", b'<!DOCTYPE Document [<!ENTITY x "10.00">]><Document', 1
    )

    with pytest.raises(StatementError) as raised:
        parse_camt(document)

    assert raised.value.code == "doctype_refused"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.052.001.08">'
            b"<BkToCstmrAcctRpt/></Document>",
            "not_camt",
        ),
        (b"<Document><BkToCstmrStmt><GrpHdr/></BkToCstmrStmt></Document>", "missing_element"),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">'
            b"<BkToCstmrStmt/></Document>",
            "namespace_mismatch",
        ),
    ],
)
def test_documents_that_are_not_statements_are_refused(body: bytes, code: str) -> None:
    with pytest.raises(StatementError) as raised:
        parse_camt(body)

    assert raised.value.code == code


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_a_bad_member_of_a_zip_is_named() -> None:
    good = camt_document(camt_entry())
    bad = camt_document(camt_entry(amount="ten"))

    with pytest.raises(StatementError) as raised:
        parse_camt(_zip({"day1.xml": good, "day2.xml": bad}))

    assert raised.value.where == "day2.xml: Document/BkToCstmrStmt/Stmt/Ntry/Amt"


def test_zip_refusals_mixed_kinds_nested_and_bombs() -> None:
    statement = camt_document(camt_entry())
    notification = camt_document(camt_entry(), kind="camt.054")
    cases = {
        "mixed_formats": _zip({"a.xml": statement, "b.xml": notification}),
        "nested_zip": _zip({"inner.zip": _zip({"a.xml": statement})}),
        "zip_too_large": _zip({"zeros.xml": b"\0" * 5_000_000}),
    }

    for code, archive in cases.items():
        with pytest.raises(StatementError) as raised:
            parse_camt(archive)
        assert raised.value.code == code


def test_returned_payouts_come_with_reason_end_to_end_id_and_text() -> None:
    returned = camt_entry(
        indicator="CRDT",
        reference="<NtryRef>R1</NtryRef>",
        extra="<RvslInd>false</RvslInd>",
        code="<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>RRTN</SubFmlyCd></Fmly>"
        "</Domn></BkTxCd>",
        details="<TxDtls><Refs><AcctSvcrRef>BANK-9</AcctSvcrRef><EndToEndId>po_42</EndToEndId>"
        "</Refs><RtrInf><Rsn><Cd>AC04</Cd></Rsn><AddtlInf>Account closed</AddtlInf></RtrInf>"
        "</TxDtls>",
    )
    direct_debit_returned = camt_entry(
        reference="<NtryRef>R2</NtryRef>",
        details="<TxDtls><Refs><EndToEndId>dd_1</EndToEndId></Refs>"
        "<RtrInf><Rsn><Cd>MD06</Cd></Rsn></RtrInf></TxDtls>",
    )
    document = camt_document(returned + direct_debit_returned, kind="camt.054")

    (notice,) = returns_from_camt054(document)

    assert notice.end_to_end_id == "po_42"
    assert notice.amount == Money.of_minor(1000, "EUR")
    assert (notice.reason_code, notice.reason_text) == ("AC04", "Account closed")
    assert notice.booked_on == date(2024, 3, 1)
    assert notice.bank_reference == "BANK-9"  # no entry-level AcctSvcrRef: the detail's


def test_a_return_without_reason_code_is_still_a_return_by_its_bank_code() -> None:
    returned = camt_entry(
        indicator="CRDT",
        code="<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>ARET</SubFmlyCd></Fmly>"
        "</Domn></BkTxCd>",
        details="<TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs></TxDtls>",
    )

    (notice,) = returns_from_camt054(camt_document(returned, kind="camt.054"))

    assert (notice.end_to_end_id, notice.reason_code) == ("", "")
