"""The provider payout API rail (`rails/provider.py`): JSON bodies written, read, and refused
with the JSON path of the value at fault."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from simbank_builders import MONDAY, SEPA_ORIGINATOR, provider_file, sepa_payouts

from sellerpay.money import Money
from sellerpay.rails.instructions import (
    AbaAccount,
    BankAccountDetails,
    IbanAccount,
    RailError,
    UkAccount,
    ZenginAccount,
)
from sellerpay.rails.provider import (
    BATCH_FORMAT,
    ProviderErrorBody,
    ProviderPayoutRequest,
    ProviderPayoutStatus,
    parse_provider_batch,
    transfer_status,
    write_provider_batch,
)

ACCOUNTS: list[BankAccountDetails] = [
    IbanAccount("DE89370400440532013000", "COBADEFFXXX"),
    IbanAccount("NL91ABNA0417164300"),
    AbaAccount("011000015", "12-3456", "savings"),
    UkAccount("200000", "55779911"),
    ZenginAccount("0005", "123", "7654321", "current"),
]


def request_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "idempotency_key": "PO-1",
        "amount": {"amount_minor": 1234, "currency": "EUR"},
        "beneficiary": {
            "name": "Seller GmbH",
            "account": {"type": "iban", "iban": "DE89370400440532013000", "bic": "COBADEFFXXX"},
        },
        "reference": "Payout PO-1",
        "execution_date": "2026-01-06",
    }
    body.update(changes)
    return body


def refusal(data: bytes | str) -> RailError:
    with pytest.raises(RailError) as refused:
        ProviderPayoutRequest.from_json(data)
    return refused.value


@pytest.mark.parametrize("account", ACCOUNTS, ids=lambda a: type(a).__name__)
def test_a_request_reads_back_equal_for_every_kind_of_account(account: BankAccountDetails) -> None:
    request = ProviderPayoutRequest(
        idempotency_key="PO-1",
        amount=Money(1234, "EUR"),
        beneficiary_name="Seller",
        beneficiary_account=account,
        reference="Payout",
        execution_date=date(2026, 1, 6),
    )
    assert ProviderPayoutRequest.from_json(request.to_json()) == request


def test_amounts_are_integer_minor_units_with_their_currency() -> None:
    body = json.loads(ProviderPayoutRequest.from_json(json.dumps(request_body())).to_json())
    assert body["amount"] == {"amount_minor": 1234, "currency": "EUR"}


@pytest.mark.parametrize(
    ("amount", "where", "message"),
    [
        ({"amount_minor": 12.5, "currency": "EUR"}, "$.amount.amount_minor", "non-integer"),
        ({"amount_minor": 1e3, "currency": "EUR"}, "$.amount.amount_minor", "non-integer"),
        ({"amount_minor": True, "currency": "EUR"}, "$.amount.amount_minor", "boolean"),
        ({"amount_minor": "100", "currency": "EUR"}, "$.amount.amount_minor", "a string"),
        ({"amount_minor": 0, "currency": "EUR"}, "$.amount.amount_minor", "outside"),
        ({"amount_minor": -5, "currency": "EUR"}, "$.amount.amount_minor", "outside"),
        ({"amount_minor": 2**63, "currency": "EUR"}, "$.amount.amount_minor", "outside"),
        ({"amount_minor": 100, "currency": "XXY"}, "$.amount.currency", "XXY"),
        ({"amount_minor": 100}, "$.amount.currency", "missing"),
    ],
)
def test_a_bad_amount_is_refused_naming_its_field(
    amount: dict[str, Any], where: str, message: str
) -> None:
    error = refusal(json.dumps(request_body(amount=amount)))
    assert (error.code, error.where) == ("provider_malformed", where)
    assert message in error.message


@pytest.mark.parametrize(
    ("account", "where"),
    [
        ({"type": "iban", "iban": "DE89 3704 0044"}, "$.beneficiary.account.iban"),
        (
            {"type": "iban", "iban": "DE89370400440532013000", "bic": "X"},
            "$.beneficiary.account.bic",
        ),
        (
            {"type": "aba", "routing_number": "011000016", "account_number": "1"},
            "$.beneficiary.account.routing_number",
        ),
        (
            {
                "type": "aba",
                "routing_number": "011000015",
                "account_number": "1",
                "account_type": "loan",
            },
            "$.beneficiary.account.account_type",
        ),
        (
            {"type": "uk", "sort_code": "20000", "account_number": "55779911"},
            "$.beneficiary.account.sort_code",
        ),
        (
            {
                "type": "zengin",
                "bank_code": "0005",
                "branch_code": "12",
                "account_number": "7654321",
            },
            "$.beneficiary.account.branch_code",
        ),
        ({"type": "cheque"}, "$.beneficiary.account.type"),
        (
            {"type": "uk", "sort_code": "200000", "account_number": "55779911", "x": 1},
            "$.beneficiary.account.x",
        ),
    ],
)
def test_a_bad_account_is_refused_naming_its_field(account: dict[str, Any], where: str) -> None:
    body = request_body(beneficiary={"name": "Seller", "account": account})
    assert refusal(json.dumps(body)).where == where


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (request_body(idempotency_key=""), "$.idempotency_key"),
        (request_body(idempotency_key="K" * 36), "$.idempotency_key"),
        (request_body(idempotency_key=" PO-1"), "$.idempotency_key"),
        (request_body(idempotency_key="PO-é"), "$.idempotency_key"),
        (request_body(execution_date="06/01/2026"), "$.execution_date"),
        (request_body(reference="x" * 141), "$.reference"),
        (request_body(reference="line\nbreak"), "$.reference"),
        (request_body(colour="blue"), "$.colour"),
        ({k: v for k, v in request_body().items() if k != "beneficiary"}, "$.beneficiary"),
    ],
)
def test_a_bad_field_is_refused_naming_it(body: dict[str, Any], where: str) -> None:
    assert refusal(json.dumps(body)).where == where


def test_what_is_not_json_or_not_utf8_is_refused() -> None:
    assert refusal(b"{not json").code == "provider_malformed"
    assert "UTF-8" in refusal(b'{"idempotency_key": "\xff"}').message
    assert refusal(b"[1, 2]").where == "$"
    assert "non-integer" in refusal(json.dumps(request_body()).replace("1234", "NaN")).message


def test_a_status_reads_back_equal_and_maps_to_the_rail_contract() -> None:
    status = ProviderPayoutStatus(
        id="pp_1",
        idempotency_key="PO-1",
        status="returned",
        amount=Money(1234, "EUR"),
        reason_code="AC04",
        reason_text="Account closed",
        paid_on=date(2026, 1, 6),
        returned_on=date(2026, 1, 9),
    )
    assert ProviderPayoutStatus.from_json(status.to_json()) == status
    assert transfer_status(status).state == "settled"  # the return comes as its own notice
    failed = ProviderPayoutStatus("pp_2", "PO-2", "failed", Money(1, "EUR"), "AC01", "Invalid")
    assert (transfer_status(failed).state, transfer_status(failed).reason_code) == (
        "rejected",
        "AC01",
    )
    paid = ProviderPayoutStatus("pp_3", "PO-3", "paid", Money(1, "EUR"))
    assert transfer_status(paid).state == "settled"
    bad = json.loads(status.to_json())
    bad["status"] = "lost"
    with pytest.raises(RailError) as refused:
        ProviderPayoutStatus.from_json(json.dumps(bad))
    assert refused.value.where == "$.status"


def test_an_error_body_reads_back_equal() -> None:
    error = ProviderErrorBody("idempotency_key_reused", "used before", "idempotency_key")
    assert ProviderErrorBody.from_json(error.to_json()) == error


def test_a_batch_lists_every_payout_with_its_controls_and_reads_back() -> None:
    transfers = sepa_payouts(3)
    bank_file = provider_file(transfers)
    assert bank_file.rail == "provider"
    assert bank_file.end_to_end_ids == ("PO-S0", "PO-S1", "PO-S2")
    assert bank_file.control_sums == {"EUR": 1000 + 1001 + 1002}
    assert bank_file.filename == "MSG-PROVIDER-1.provider.json"
    batch = parse_provider_batch(bank_file.content)
    assert batch.message_id == "MSG-PROVIDER-1"
    assert batch.created_at == MONDAY
    assert [p.idempotency_key for p in batch.payouts] == ["PO-S0", "PO-S1", "PO-S2"]
    assert [p.amount for p in batch.payouts] == [t.amount for t in transfers]
    assert batch.payouts[0].beneficiary_account == transfers[0].creditor_account
    assert batch.payouts[0].execution_date == transfers[0].execution_date


def _batch_body(**changes: Any) -> bytes:
    body = json.loads(provider_file(sepa_payouts(2)).content)
    body.update(changes)
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("changes", "where", "code"),
    [
        ({"count": 3}, "$.count", "provider_control_mismatch"),
        ({"control_sums": {"EUR": 1}}, "$.control_sums", "provider_control_mismatch"),
        ({"format": "other"}, "$.format", "provider_malformed"),
        ({"created_at": "2026-01-05T09:00:00"}, "$.created_at", "provider_malformed"),
        ({"payouts": []}, "$.payouts", "provider_malformed"),
    ],
)
def test_a_batch_whose_controls_or_header_are_wrong_is_refused(
    changes: dict[str, Any], where: str, code: str
) -> None:
    with pytest.raises(RailError) as refused:
        parse_provider_batch(_batch_body(**changes))
    assert (refused.value.where, refused.value.code) == (where, code)


def test_a_batch_naming_one_key_twice_is_refused() -> None:
    body = json.loads(_batch_body())
    body["payouts"][1]["idempotency_key"] = body["payouts"][0]["idempotency_key"]
    with pytest.raises(RailError) as refused:
        parse_provider_batch(json.dumps(body).encode())
    assert (refused.value.code, refused.value.where) == ("provider_duplicate_key", "$.payouts[1]")


def test_a_bad_payout_in_a_batch_is_named_by_its_position() -> None:
    body = json.loads(_batch_body())
    body["payouts"][1]["amount"]["amount_minor"] = -1
    with pytest.raises(RailError) as refused:
        parse_provider_batch(json.dumps(body).encode())
    assert refused.value.where == "$.payouts[1].amount.amount_minor"


def test_writing_refuses_an_empty_batch_a_naive_time_and_a_repeated_end_to_end_id() -> None:
    with pytest.raises(RailError, match="1 to"):
        write_provider_batch([], SEPA_ORIGINATOR, message_id="M", created_at=MONDAY)
    with pytest.raises(RailError, match="naive"):
        write_provider_batch(
            sepa_payouts(1), SEPA_ORIGINATOR, message_id="M", created_at=datetime(2026, 1, 5)
        )
    twice = sepa_payouts(1) * 2
    with pytest.raises(RailError) as refused:
        write_provider_batch(twice, SEPA_ORIGINATOR, message_id="M", created_at=MONDAY)
    assert refused.value.code == "provider_duplicate_key"


def test_writing_names_the_transfer_the_api_cannot_carry() -> None:
    [transfer] = sepa_payouts(1)
    bad = replace(transfer, end_to_end_id="x" * 36)
    with pytest.raises(RailError) as refused:
        write_provider_batch([bad], SEPA_ORIGINATOR, message_id="M", created_at=MONDAY)
    assert refused.value.where == f"transfer {'x' * 36}: $.idempotency_key"


_KEYS = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=35
)


@settings(max_examples=100, deadline=None)
@given(
    key=_KEYS,
    amount_minor=st.integers(min_value=1, max_value=2**63 - 1),
    currency=st.sampled_from(["EUR", "USD", "JPY", "GBP", "BHD"]),
    name=st.text(
        alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=140
    ),
    account=st.sampled_from(ACCOUNTS),
    on=st.none() | st.dates(),
)
def test_any_valid_request_reads_back_equal(
    key: str,
    amount_minor: int,
    currency: str,
    name: str,
    account: BankAccountDetails,
    on: date | None,
) -> None:
    request = ProviderPayoutRequest(key, Money(amount_minor, currency), name, account, "", on)
    assert ProviderPayoutRequest.from_json(request.to_json()) == request


def test_the_batch_format_is_versioned() -> None:
    body = json.loads(provider_file(sepa_payouts(1)).content)
    assert body["format"] == BATCH_FORMAT
    assert datetime.fromisoformat(body["created_at"]).tzinfo is not None
    assert MONDAY.tzinfo is UTC
