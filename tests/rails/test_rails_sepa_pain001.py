"""pain.001 out: every field a bank reads, exact control sums, batches, and every refusal."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from rails_builders import (
    CREATED_AT,
    EXECUTION_DATE,
    ORIGINATOR_BIC,
    ORIGINATOR_IBAN,
    read_pain001,
    sepa_originator,
    sepa_transfer,
)

from sellerpay.money import Money
from sellerpay.rails import sepa
from sellerpay.rails.instructions import (
    BankFile,
    CreditTransfer,
    IbanAccount,
    RailError,
    UkAccount,
)
from sellerpay.rails.sepa import (
    PAIN001_VERSIONS,
    SEPA_AMOUNT_MINOR_MAX,
    Pain001Version,
    payment_information_id,
    validate_pain001,
    write_pain001,
)


def write(transfers: list[CreditTransfer], **options: Any) -> BankFile:
    """`write_pain001` from the usual originator, as run RUN-2026-01-05 unless overridden."""
    arguments: dict[str, Any] = {"message_id": "RUN-2026-01-05", "created_at": CREATED_AT}
    arguments.update(options)
    return write_pain001(transfers, sepa_originator(), **arguments)


@pytest.mark.parametrize("version", PAIN001_VERSIONS)
def test_every_field_of_a_payout_reads_back_from_the_file(version: Pain001Version) -> None:
    transfer = sepa_transfer(
        "PO-1",
        123456,
        creditor_name="Łódź Straße Café",
        creditor_account=IbanAccount("DE89370400440532013000", "COBADEFFXXX"),
        remittance="Payout po_1 for orders #1-#3",
    )

    bank_file = write([transfer], version=version)
    document = read_pain001(bank_file.content)

    assert document.namespace == f"urn:iso:std:iso:20022:tech:xsd:{version}"
    assert document.message_id == "RUN-2026-01-05"
    assert document.created_at == "2026-01-05T09:00:00+00:00"
    assert document.transaction_count == 1
    assert document.control_sum == Decimal("1234.56")
    assert document.initiating_party == "Sellerpay SAS"
    [batch] = document.batches
    assert batch.payment_information_id == "RUN-2026-01-05-1"
    assert batch.payment_method == "TRF"
    assert batch.batch_booking == "true"
    assert (batch.transaction_count, batch.control_sum) == (1, Decimal("1234.56"))
    assert (batch.service_level, batch.local_instrument) == ("SEPA", None)
    assert batch.execution_date == "2026-01-06"
    assert batch.debtor_name == "Sellerpay SAS"
    assert batch.debtor_iban == ORIGINATOR_IBAN
    assert batch.debtor_agent == ORIGINATOR_BIC
    assert batch.charge_bearer == "SLEV"
    [transaction] = batch.transactions
    assert transaction.end_to_end_id == "PO-1"
    assert (transaction.amount, transaction.currency) == (Decimal("1234.56"), "EUR")
    assert transaction.creditor_bic == "COBADEFFXXX"
    assert transaction.creditor_name == "Lodz Strasse Cafe"
    assert transaction.creditor_iban == "DE89370400440532013000"
    assert transaction.remittance == "Payout po-1 for orders 1- 3"


@pytest.mark.parametrize("version", PAIN001_VERSIONS)
def test_the_bank_file_describes_what_it_holds(version: Pain001Version) -> None:
    transfers = [sepa_transfer("PO-1", 1), sepa_transfer("PO-2", 99_999), sepa_transfer("PO-3", 5)]

    bank_file = write(transfers, version=version)

    assert bank_file.rail == "sepa"
    assert bank_file.filename == "RUN-2026-01-05.pain.001.xml"
    assert bank_file.message_id == "RUN-2026-01-05"
    assert bank_file.transfer_count == 3
    assert bank_file.control_sums == {"EUR": 100_005}
    assert bank_file.end_to_end_ids == ("PO-1", "PO-2", "PO-3")
    assert bank_file.batches == {"RUN-2026-01-05-1": ("PO-1", "PO-2", "PO-3")}
    assert bank_file.created_at == CREATED_AT
    assert bank_file.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Document')


def test_control_sums_are_the_exact_sums_of_the_instructed_amounts() -> None:
    amounts = [1, 10, 99, 100, 12_345_678_901, 3, SEPA_AMOUNT_MINOR_MAX]
    transfers = [sepa_transfer(f"PO-{n}", amount) for n, amount in enumerate(amounts)]

    document = read_pain001(write(transfers).content)

    [batch] = document.batches
    instructed = [transaction.amount for transaction in batch.transactions]
    assert instructed == [Money(amount, "EUR").to_decimal() for amount in amounts]
    assert batch.control_sum == sum(instructed) == document.control_sum
    assert document.control_sum == Decimal(sum(amounts)) / 100
    assert str(batch.transactions[0].amount) == "0.01"  # always the currency's two decimals


@pytest.mark.parametrize("version", PAIN001_VERSIONS)
def test_two_dates_and_instant_payouts_go_in_separate_batches(version: Pain001Version) -> None:
    later = EXECUTION_DATE + timedelta(days=1)
    transfers = [
        sepa_transfer("LATE-1", 300, execution_date=later),
        sepa_transfer("STD-1", 100),
        sepa_transfer("INST-1", 1000, instant=True),
        sepa_transfer("STD-2", 250),
        sepa_transfer("INST-2", 7, instant=True),
    ]

    bank_file = write(transfers, version=version)
    document = read_pain001(bank_file.content)

    summary = [
        (
            batch.payment_information_id,
            batch.execution_date,
            batch.local_instrument,
            batch.transaction_count,
            batch.control_sum,
            tuple(transaction.end_to_end_id for transaction in batch.transactions),
        )
        for batch in document.batches
    ]
    assert summary == [
        ("RUN-2026-01-05-1", "2026-01-06", None, 2, Decimal("3.50"), ("STD-1", "STD-2")),
        ("RUN-2026-01-05-2", "2026-01-06", "INST", 2, Decimal("10.07"), ("INST-1", "INST-2")),
        ("RUN-2026-01-05-3", "2026-01-07", None, 1, Decimal("3.00"), ("LATE-1",)),
    ]
    assert all(batch.service_level == "SEPA" for batch in document.batches)
    assert (document.transaction_count, document.control_sum) == (5, Decimal("16.57"))
    assert bank_file.batches == {row[0]: row[5] for row in summary}
    assert bank_file.end_to_end_ids == ("LATE-1", "STD-1", "INST-1", "STD-2", "INST-2")
    assert bank_file.control_sums == {"EUR": 1657}


def test_a_file_of_instant_payouts_only_is_on_the_instant_rail() -> None:
    bank_file = write([sepa_transfer("I-1", instant=True), sepa_transfer("I-2", instant=True)])

    assert bank_file.rail == "sepa_instant"
    [batch] = read_pain001(bank_file.content).batches
    assert batch.local_instrument == "INST"


def test_the_two_versions_differ_where_the_schemas_do() -> None:
    v09 = write([sepa_transfer()], version="pain.001.001.09").content
    v03 = write([sepa_transfer()], version="pain.001.001.03").content

    assert b"<ReqdExctnDt>\n" in v09 and b"<Dt>2026-01-06</Dt>" in v09
    assert b"<ReqdExctnDt>2026-01-06</ReqdExctnDt>" in v03
    assert b"<BICFI>COBADEFFXXX</BICFI>" in v09 and b"<BIC>" not in v09
    assert b"<BIC>COBADEFFXXX</BIC>" in v03 and b"<BICFI>" not in v03


def test_batch_booking_can_be_turned_off() -> None:
    [batch] = read_pain001(write([sepa_transfer()], batch_booking=False).content).batches

    assert batch.batch_booking == "false"


@pytest.mark.parametrize("version", PAIN001_VERSIONS)
def test_unknown_bics_are_left_out_or_marked_not_provided(version: Pain001Version) -> None:
    transfer = sepa_transfer(creditor_account=IbanAccount("NL91ABNA0417164300"))
    originator = sepa_originator(bic=None)

    content = write_pain001(
        [transfer], originator, message_id="M1", created_at=CREATED_AT, version=version
    ).content

    [batch] = read_pain001(content).batches
    assert batch.debtor_agent == "NOTPROVIDED"
    assert batch.transactions[0].creditor_bic is None
    assert b"CdtrAgt" not in content


def test_ibans_and_bics_are_written_in_electronic_form() -> None:
    transfer = sepa_transfer(
        creditor_account=IbanAccount("de89 3704 0044 0532 0130 00", "cobadeffxxx")
    )

    [batch] = read_pain001(write([transfer]).content).batches

    assert batch.transactions[0].creditor_iban == "DE89370400440532013000"
    assert batch.transactions[0].creditor_bic == "COBADEFFXXX"


def test_names_and_remittance_are_cut_to_their_field_lengths_after_transliteration() -> None:
    transfer = sepa_transfer(creditor_name="ß" * 50, remittance="Ø" * 139 + " " + "x" * 10)

    [batch] = read_pain001(write([transfer]).content).batches

    assert batch.transactions[0].creditor_name == "ss" * 35
    assert batch.transactions[0].remittance == "O" * 139  # the cut falls on a space: trimmed


def test_blank_remittance_is_left_out() -> None:
    [batch] = read_pain001(write([sepa_transfer(remittance="  \n ")]).content).batches

    assert batch.transactions[0].remittance is None


def test_the_same_payouts_always_give_the_same_bytes() -> None:
    transfers = [sepa_transfer("A", 1), sepa_transfer("B", 2, instant=True)]

    assert write(transfers).content == write(transfers).content


def test_payment_information_ids_stay_within_35_characters_and_apart() -> None:
    long_a = "A" * 30 + "-run-1"
    long_b = "A" * 30 + "-run-2"

    ids = [payment_information_id(message_id, 12) for message_id in (long_a, long_b)]

    assert all(len(value) == 35 for value in ids)
    assert ids[0] != ids[1]
    assert all(value.endswith("-12") for value in ids)
    assert payment_information_id("RUN-7", 3) == "RUN-7-3"


def test_a_message_id_with_a_slash_gives_a_plain_file_name() -> None:
    bank_file = write([sepa_transfer()], message_id="RUN/2026/01")

    assert bank_file.filename == "RUN_2026_01.pain.001.xml"
    assert read_pain001(bank_file.content).message_id == "RUN/2026/01"


# -- refusals ---------------------------------------------------------------------------------


def refusal(transfers: list[CreditTransfer], **options: Any) -> RailError:
    with pytest.raises(RailError) as caught:
        write(transfers, **options)
    return caught.value


def test_an_empty_list_is_refused() -> None:
    error = refusal([])

    assert (error.code, error.where) == ("transfers_empty", "transfers")


def test_more_transfers_than_the_limit_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sepa, "TRANSFERS_PER_FILE_MAX", 2)

    error = refusal([sepa_transfer("A"), sepa_transfer("B"), sepa_transfer("C")])

    assert error.code == "transfers_max"


def test_a_duplicate_end_to_end_id_is_refused_naming_both_places() -> None:
    error = refusal([sepa_transfer("PO-1"), sepa_transfer("PO-2"), sepa_transfer("PO-1")])

    assert error.code == "end_to_end_id_duplicate"
    assert error.where == "transfers[2].end_to_end_id"
    assert "'PO-1'" in error.message and "transfers[0]" in error.message


@pytest.mark.parametrize("currency", ["USD", "GBP", "CHF", "JPY"])
def test_a_non_euro_amount_is_refused_naming_the_end_to_end_id(currency: str) -> None:
    error = refusal([sepa_transfer("PO-9", amount=Money(1000, currency))])

    assert error.code == "currency_not_eur"
    assert error.where == "transfers[0] (PO-9).amount"
    assert "PO-9" in error.message and currency in error.message


@pytest.mark.parametrize("amount_minor", [0, -1, -10_000])
def test_a_non_positive_amount_is_refused(amount_minor: int) -> None:
    error = refusal([sepa_transfer("PO-1"), sepa_transfer("PO-2", amount_minor)])

    assert (error.code, error.where) == ("amount_not_positive", "transfers[1] (PO-2).amount")


def test_an_amount_above_the_sepa_maximum_is_refused() -> None:
    error = refusal([sepa_transfer("PO-1", SEPA_AMOUNT_MINOR_MAX + 1)])

    assert error.code == "amount_above_max"


def test_a_creditor_account_that_is_not_an_iban_is_refused_naming_the_end_to_end_id() -> None:
    error = refusal([sepa_transfer("PO-UK", creditor_account=UkAccount("200000", "55779911"))])

    assert error.code == "account_not_iban"
    assert error.where == "transfers[0] (PO-UK).creditor_account"
    assert "PO-UK" in error.message and "UkAccount" in error.message


@pytest.mark.parametrize(
    ("iban", "code"),
    [
        ("DE89370400440532013001", "iban_invalid"),  # checksum
        ("DE8937040044053201300", "iban_invalid"),  # length
        ("XX89370400440532013000", "iban_invalid"),  # country
        ("BR1800360305000010009795493C1", "iban_not_sepa"),  # valid, but Brazil
    ],
)
def test_an_invalid_or_non_sepa_iban_is_refused(iban: str, code: str) -> None:
    error = refusal([sepa_transfer("PO-1", creditor_account=IbanAccount(iban))])

    assert (error.code, error.where) == (code, "transfers[0] (PO-1).creditor_account.iban")


@pytest.mark.parametrize("bic", ["NOTABIC", "COBADEFFXX", "ZZZZZZZZ"])
def test_an_invalid_bic_is_refused(bic: str) -> None:
    error = refusal([sepa_transfer("PO-1", creditor_account=IbanAccount(ORIGINATOR_IBAN, bic))])

    assert (error.code, error.where) == ("bic_invalid", "transfers[0] (PO-1).creditor_account.bic")


def test_a_bic_the_older_version_cannot_carry_is_refused_before_the_schema_sees_it() -> None:
    transfer = sepa_transfer("PO-1", creditor_account=IbanAccount(ORIGINATOR_IBAN, "AAAADE0O"))

    assert read_pain001(write([transfer]).content).batches[0].transactions[0].creditor_bic
    error = refusal([transfer], version="pain.001.001.03")
    assert error.code == "bic_invalid" and "pain.001.001.03" in error.message


@pytest.mark.parametrize(
    "end_to_end_id",
    ["", "X" * 36, "PO-é", "PO_1", "/PO-1", "PO-1/", "PO//1", " PO-1", "PO-1 ", "PO\n1"],
)
def test_an_invalid_end_to_end_id_is_refused_not_rewritten(end_to_end_id: str) -> None:
    error = refusal([sepa_transfer(end_to_end_id)])

    assert error.code == "reference_invalid"
    assert error.where == "transfers[0].end_to_end_id"


def test_an_end_to_end_id_of_35_characters_is_accepted() -> None:
    end_to_end_id = "P" * 35

    assert write([sepa_transfer(end_to_end_id)]).end_to_end_ids == (end_to_end_id,)


@pytest.mark.parametrize("message_id", ["", "M" * 36, "RUN_1", "RUN//1"])
def test_an_invalid_message_id_is_refused(message_id: str) -> None:
    error = refusal([sepa_transfer()], message_id=message_id)

    assert (error.code, error.where) == ("reference_invalid", "message_id")


def test_a_naive_creation_time_is_refused() -> None:
    error = refusal([sepa_transfer()], created_at=datetime(2026, 1, 5, 9, 0))

    assert (error.code, error.where) == ("created_at_naive", "created_at")


def test_an_originator_without_an_iban_is_refused() -> None:
    originator = replace(sepa_originator(), account=UkAccount("200000", "55779911"))

    with pytest.raises(RailError) as caught:
        write_pain001([sepa_transfer()], originator, message_id="M1", created_at=CREATED_AT)

    assert (caught.value.code, caught.value.where) == ("account_not_iban", "originator.account")


def test_a_name_in_han_ideographs_is_refused_naming_the_transfer() -> None:
    error = refusal([sepa_transfer("PO-JP", creditor_name="株式会社セラー")])

    assert error.code == "text_untransliterable"
    assert error.where == "transfers[0] (PO-JP).creditor_name"


def test_a_name_with_nothing_writable_is_refused() -> None:
    error = refusal([sepa_transfer("PO-1", creditor_name="🙂 🙂")])

    assert (error.code, error.where) == ("text_empty", "transfers[0] (PO-1).creditor_name")


def test_an_unknown_version_is_refused() -> None:
    error = refusal([sepa_transfer()], version="pain.001.001.02")

    assert (error.code, error.where) == ("version_unknown", "version")


# -- the schema check is wired in -------------------------------------------------------------


def test_a_document_the_schema_refuses_raises_with_the_schema_message_and_line() -> None:
    content = write([sepa_transfer()]).content.replace(b"<NbOfTxs>1<", b"<NbOfTxs>one<", 1)
    line = content[: content.index(b"<NbOfTxs>one")].count(b"\n") + 1

    with pytest.raises(RailError) as caught:
        validate_pain001(content, "pain.001.001.09")

    assert caught.value.code == "pain001_schema_invalid"
    assert "NbOfTxs" in caught.value.message
    assert caught.value.where == f"line {line}"


def test_bytes_that_are_not_xml_are_refused_by_the_schema_check() -> None:
    with pytest.raises(RailError) as caught:
        validate_pain001(b"<Document><GrpHdr>", "pain.001.001.03")

    assert caught.value.code == "pain001_schema_invalid"
    assert caught.value.where == "line 1"


def test_write_refuses_to_return_a_file_the_schema_would_refuse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sepa, "_decimal", lambda amount_minor: f"{amount_minor}.1234567")

    error = refusal([sepa_transfer()])

    assert error.code == "pain001_schema_invalid"
    assert "InstdAmt" in error.message or "CtrlSum" in error.message
