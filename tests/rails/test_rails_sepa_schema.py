"""Every pain.001 we write is valid against the official XSD, for any payouts, however named.

The schemas are loaded here straight from the sepaxml package, independently of the writer's
own check, so a bug in how the writer validates cannot hide a bug in what it writes.
"""

from __future__ import annotations

import importlib.resources
import unicodedata
from datetime import timedelta
from decimal import Decimal
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from rails_builders import (
    CREATED_AT,
    EXECUTION_DATE,
    SEPA_BICS,
    SEPA_IBANS,
    eur,
    read_pain001,
    sepa_originator,
    sepa_references,
    sepa_transfer,
)

from sellerpay.rails.charset import is_sepa_text
from sellerpay.rails.instructions import CreditTransfer, IbanAccount, RailError
from sellerpay.rails.sepa import (
    NAME_LENGTH_MAX,
    PAIN001_VERSIONS,
    REMITTANCE_LENGTH_MAX,
    SEPA_AMOUNT_MINOR_MAX,
    Pain001Version,
    write_pain001,
)


@cache
def official_schema(version: str) -> etree.XMLSchema:
    path = importlib.resources.files("sepaxml") / "schemas" / f"{version}.xsd"
    return etree.XMLSchema(etree.fromstring(path.read_bytes()))


def assert_schema_valid(content: bytes, version: str) -> None:
    schema = official_schema(version)
    document = etree.fromstring(content)
    assert schema.validate(document), schema.error_log


@pytest.mark.parametrize("version", PAIN001_VERSIONS)
def test_a_typical_payout_run_is_valid_against_the_official_schema(version: Pain001Version) -> None:
    transfers = [
        sepa_transfer("PO-1", 1250, creditor_name="Atelier Zoë & Fils"),
        sepa_transfer("PO-2", 99_999_99, creditor_account=IbanAccount("NL91ABNA0417164300")),
        sepa_transfer("PO-3", 1, instant=True, remittance=""),
        sepa_transfer("PO-4", 5000, execution_date=EXECUTION_DATE + timedelta(days=3)),
    ]

    bank_file = write_pain001(
        transfers, sepa_originator(), message_id="RUN-1", created_at=CREATED_AT, version=version
    )

    assert_schema_valid(bank_file.content, version)


@pytest.mark.parametrize("version", PAIN001_VERSIONS)
def test_an_originator_without_bic_still_gives_a_valid_file(version: Pain001Version) -> None:
    bank_file = write_pain001(
        [sepa_transfer(creditor_account=IbanAccount("BE68539007547034"))],
        sepa_originator(bic=None),
        message_id="RUN-2",
        created_at=CREATED_AT,
        version=version,
    )

    assert_schema_valid(bank_file.content, version)


def test_the_schemas_refuse_what_the_writer_must_never_produce() -> None:
    """The independent check is not vacuous: it refuses a file with a name over 140."""
    content = write_pain001(
        [sepa_transfer()], sepa_originator(), message_id="RUN-3", created_at=CREATED_AT
    ).content
    broken = content.replace(b"<Nm>Seller GmbH</Nm>", b"<Nm>" + b"x" * 141 + b"</Nm>")

    with pytest.raises(AssertionError):
        assert_schema_valid(broken, "pain.001.001.09")


# -- any payouts ------------------------------------------------------------------------------

_NOT_HAN = st.characters(codec="utf-8").filter(  # utf-8: no lone surrogates
    lambda character: "IDEOGRAPH" not in unicodedata.name(character, "")
)
nasty_names = st.builds(
    lambda before, letter, after: before + letter + after,
    st.text(_NOT_HAN, max_size=120),
    st.sampled_from("abcXYZ"),  # at least one letter, so the name is never empty
    st.text(_NOT_HAN, max_size=120),
)


@st.composite
def credit_transfers(draw: st.DrawFn) -> list[CreditTransfer]:
    count = draw(st.integers(min_value=1, max_value=12))
    ids = draw(st.lists(sepa_references(), min_size=count, max_size=count, unique=True))
    return [
        CreditTransfer(
            end_to_end_id=end_to_end_id,
            amount=eur(draw(st.integers(min_value=1, max_value=SEPA_AMOUNT_MINOR_MAX))),
            creditor_name=draw(nasty_names),
            creditor_account=IbanAccount(
                draw(st.sampled_from(SEPA_IBANS)), draw(st.none() | st.sampled_from(SEPA_BICS))
            ),
            execution_date=EXECUTION_DATE + timedelta(days=draw(st.integers(0, 3))),
            remittance=draw(st.just("") | nasty_names),
            instant=draw(st.booleans()),
        )
        for end_to_end_id in ids
    ]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    transfers=credit_transfers(),
    version=st.sampled_from(PAIN001_VERSIONS),
    message_id=sepa_references(),
    originator_name=nasty_names,
    batch_booking=st.booleans(),
)
def test_random_payouts_with_nasty_names_always_give_a_schema_valid_exact_file(
    transfers: list[CreditTransfer],
    version: Pain001Version,
    message_id: str,
    originator_name: str,
    batch_booking: bool,
) -> None:
    bank_file = write_pain001(
        transfers,
        sepa_originator(name=originator_name),
        message_id=message_id,
        created_at=CREATED_AT,
        version=version,
        batch_booking=batch_booking,
    )

    assert_schema_valid(bank_file.content, version)
    document = read_pain001(bank_file.content)
    written = [t for batch in document.batches for t in batch.transactions]
    by_id = {transfer.end_to_end_id: transfer for transfer in transfers}
    assert sorted(t.end_to_end_id for t in written) == sorted(by_id)
    for transaction in written:
        assert transaction.amount == by_id[transaction.end_to_end_id].amount.to_decimal()
        assert transaction.currency == "EUR"
        assert is_sepa_text(transaction.creditor_name)
        assert len(transaction.creditor_name) <= NAME_LENGTH_MAX
        assert transaction.remittance is None or (
            is_sepa_text(transaction.remittance)
            and len(transaction.remittance) <= REMITTANCE_LENGTH_MAX
        )
    total_minor = sum(transfer.amount.amount_minor for transfer in transfers)
    assert document.control_sum == Decimal(total_minor) / 100
    assert bank_file.control_sums == {"EUR": total_minor}
    for batch in document.batches:
        assert batch.control_sum == sum(t.amount for t in batch.transactions)
        assert batch.transaction_count == len(batch.transactions)
        originals = [by_id[t.end_to_end_id] for t in batch.transactions]
        assert {(o.execution_date.isoformat(), o.instant) for o in originals} == {
            (batch.execution_date, batch.local_instrument == "INST")
        }
    assert len(document.batches) == len({(t.execution_date, t.instant) for t in transfers})


@settings(max_examples=100, deadline=None)
@given(name=st.text(max_size=80), remittance=st.text(max_size=200))
def test_any_text_gives_a_valid_file_or_a_precise_refusal(name: str, remittance: str) -> None:
    transfer = sepa_transfer("PO-1", creditor_name=name, remittance=remittance)
    try:
        bank_file = write_pain001(
            [transfer], sepa_originator(), message_id="RUN-4", created_at=CREATED_AT
        )
    except RailError as error:
        assert error.code in {"text_untransliterable", "text_empty"}
        assert error.where in {
            "transfers[0] (PO-1).creditor_name",
            "transfers[0] (PO-1).remittance",
        }
        return
    assert_schema_valid(bank_file.content, "pain.001.001.09")
