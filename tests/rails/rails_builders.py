"""Builders shared by the rail tests: payouts as rails see them, real bank files, parse-backs.

Imported by the test modules of this folder (pytest puts the folder on `sys.path`). Other rail
helpers add their own builders here; keep each rail's section together.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st
from lxml import etree

from sellerpay.money import Money
from sellerpay.rails.charset import SEPA_CHARACTERS
from sellerpay.rails.instructions import (
    AbaAccount,
    CreditTransfer,
    IbanAccount,
    Originator,
    UkAccount,
    ZenginAccount,
)

# -- real bank files --------------------------------------------------------------------------

BANK_FILES = Path(__file__).resolve().parents[2] / ".." / "shared" / "testdata" / "bank-files"


def bank_file(*parts: str) -> Path:
    """A file of the shared third-party bank samples; skips loudly when they are not there."""
    if not BANK_FILES.is_dir():
        pytest.skip(f"REAL BANK FILES MISSING: {BANK_FILES} is absent, so this test cannot run")
    return BANK_FILES.joinpath(*parts)


def bank_files(folder: str) -> list[Path]:
    """Every file of one folder of the samples (e.g. "pain002"), sorted; skips when absent."""
    return sorted(path for path in bank_file(folder).iterdir() if path.is_file())


# -- time and money ---------------------------------------------------------------------------

CREATED_AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
EXECUTION_DATE = date(2026, 1, 6)


def eur(amount_minor: int) -> Money:
    return Money.of_minor(amount_minor, "EUR")


# -- SEPA -------------------------------------------------------------------------------------

# Valid IBANs (checksums and national rules pass schwifty), all in the SEPA zone.
SEPA_IBANS = (
    "DE89370400440532013000",
    "FR1420041010050500013M02606",
    "NL91ABNA0417164300",
    "BE68539007547034",
    "ES9121000418450200051332",
    "IT60X0542811101000000123456",
    "AT611904300234573201",
    "FI2112345600000785",
    "IE29AIBK93115212345678",
    "PT50000201231234567890154",
    "LU280019400644750000",
    "CH9300762011623852957",
    "GB33BUKB20201555555555",
)
# BICs of the form both pain.001 versions accept.
SEPA_BICS = ("COBADEFFXXX", "BNPAFRPP", "INGBNL2A", "DEUTDEFF500", "AIBKIE2D", "GIBAATWW")
ORIGINATOR_IBAN = "FR1420041010050500013M02606"
ORIGINATOR_BIC = "BNPAFRPP"


def sepa_originator(*, name: str = "Sellerpay SAS", bic: str | None = ORIGINATOR_BIC) -> Originator:
    return Originator(name=name, account=IbanAccount(ORIGINATOR_IBAN, bic), country="FR")


def sepa_transfer(
    end_to_end_id: str = "PO-1",
    amount_minor: int = 1000,
    **overrides: Any,
) -> CreditTransfer:
    """A payout of `amount_minor` EUR cents to a German IBAN tomorrow; override any field."""
    transfer = CreditTransfer(
        end_to_end_id=end_to_end_id,
        amount=eur(amount_minor),
        creditor_name="Seller GmbH",
        creditor_account=IbanAccount("DE89370400440532013000", "COBADEFFXXX"),
        execution_date=EXECUTION_DATE,
        remittance=f"Sellerpay payout {end_to_end_id}",
    )
    return replace(transfer, **overrides)


_REFERENCE_CHARACTERS = "".join(sorted(SEPA_CHARACTERS - {" ", "/"}))


def sepa_references(length_max: int = 35) -> st.SearchStrategy[str]:
    """Valid SEPA references: Latin set, inner single "/" and spaces allowed, no "//"."""
    edge = st.sampled_from(_REFERENCE_CHARACTERS)
    inner = st.text(alphabet=sorted(SEPA_CHARACTERS), max_size=length_max - 2).filter(
        lambda text: "//" not in text
    )
    return st.builds(lambda first, middle, last: first + middle + last, edge, inner, edge)


# -- reading a pain.001 back ------------------------------------------------------------------


@dataclass(frozen=True)
class Pain001Transaction:
    end_to_end_id: str
    amount: Decimal
    currency: str
    creditor_bic: str | None
    creditor_name: str
    creditor_iban: str
    remittance: str | None


@dataclass(frozen=True)
class Pain001Batch:
    payment_information_id: str
    payment_method: str
    batch_booking: str
    transaction_count: int
    control_sum: Decimal
    service_level: str
    local_instrument: str | None
    execution_date: str
    debtor_name: str
    debtor_iban: str
    debtor_agent: str  # the BIC, or "NOTPROVIDED"
    charge_bearer: str
    transactions: tuple[Pain001Transaction, ...]


@dataclass(frozen=True)
class Pain001Document:
    namespace: str
    message_id: str
    created_at: str
    transaction_count: int
    control_sum: Decimal
    initiating_party: str
    batches: tuple[Pain001Batch, ...]


class _Reader:
    """XPath over one namespace; every lookup must find exactly what the test expects."""

    def __init__(self, namespace: str) -> None:
        self.namespaces = {"p": namespace}

    def all(self, element: etree._Element, path: str) -> list[etree._Element]:
        expression = "/".join(f"p:{step}" for step in path.split("/"))
        found = element.xpath(expression, namespaces=self.namespaces)
        assert isinstance(found, list)
        return [node for node in found if isinstance(node, etree._Element)]

    def one(self, element: etree._Element, path: str) -> etree._Element:
        found = self.all(element, path)
        assert len(found) == 1, f"expected one {path}, found {len(found)}"
        return found[0]

    def text(self, element: etree._Element, path: str) -> str:
        return self.one(element, path).text or ""

    def optional(self, element: etree._Element, path: str) -> str | None:
        found = self.all(element, path)
        assert len(found) <= 1, f"expected at most one {path}"
        return (found[0].text or "") if found else None


def read_pain001(content: bytes) -> Pain001Document:
    """Parse a pain.001 (.09 or .03) back into plain values, for field-by-field assertions."""
    root = etree.fromstring(content)
    namespace = etree.QName(root).namespace or ""
    reader = _Reader(namespace)
    initiation = reader.one(root, "CstmrCdtTrfInitn")
    header = reader.one(initiation, "GrpHdr")
    return Pain001Document(
        namespace=namespace,
        message_id=reader.text(header, "MsgId"),
        created_at=reader.text(header, "CreDtTm"),
        transaction_count=int(reader.text(header, "NbOfTxs")),
        control_sum=Decimal(reader.text(header, "CtrlSum")),
        initiating_party=reader.text(header, "InitgPty/Nm"),
        batches=tuple(_batch(reader, block) for block in reader.all(initiation, "PmtInf")),
    )


def _batch(reader: _Reader, block: etree._Element) -> Pain001Batch:
    is_v03 = reader.namespaces["p"].endswith(".03")
    return Pain001Batch(
        payment_information_id=reader.text(block, "PmtInfId"),
        payment_method=reader.text(block, "PmtMtd"),
        batch_booking=reader.text(block, "BtchBookg"),
        transaction_count=int(reader.text(block, "NbOfTxs")),
        control_sum=Decimal(reader.text(block, "CtrlSum")),
        service_level=reader.text(block, "PmtTpInf/SvcLvl/Cd"),
        local_instrument=reader.optional(block, "PmtTpInf/LclInstrm/Cd"),
        execution_date=reader.text(block, "ReqdExctnDt" if is_v03 else "ReqdExctnDt/Dt"),
        debtor_name=reader.text(block, "Dbtr/Nm"),
        debtor_iban=reader.text(block, "DbtrAcct/Id/IBAN"),
        debtor_agent=(
            reader.optional(block, f"DbtrAgt/FinInstnId/{'BIC' if is_v03 else 'BICFI'}")
            or reader.text(block, "DbtrAgt/FinInstnId/Othr/Id")
        ),
        charge_bearer=reader.text(block, "ChrgBr"),
        transactions=tuple(
            _transaction(reader, element, is_v03) for element in reader.all(block, "CdtTrfTxInf")
        ),
    )


def _transaction(reader: _Reader, element: etree._Element, is_v03: bool) -> Pain001Transaction:
    amount = reader.one(element, "Amt/InstdAmt")
    return Pain001Transaction(
        end_to_end_id=reader.text(element, "PmtId/EndToEndId"),
        amount=Decimal(amount.text or ""),
        currency=amount.get("Ccy") or "",
        creditor_bic=reader.optional(element, f"CdtrAgt/FinInstnId/{'BIC' if is_v03 else 'BICFI'}"),
        creditor_name=reader.text(element, "Cdtr/Nm"),
        creditor_iban=reader.text(element, "CdtrAcct/Id/IBAN"),
        remittance=reader.optional(element, "RmtInf/Ustrd"),
    )


# -- ACH (NACHA), Zengin, Bacs ----------------------------------------------------------------
# Builders for test_rails_nacha*, test_rails_zengin*, test_rails_bacs*. Each transfer builder
# makes a valid payout for its rail; override any field to make it wrong on purpose.

ACH_CREATED_AT = datetime(2026, 1, 5, 9, 30)
ACH_ODFI_ROUTING = "121042882"


def usd(amount_minor: int) -> Money:
    return Money.of_minor(amount_minor, "USD")


def jpy(amount_minor: int) -> Money:
    return Money.of_minor(amount_minor, "JPY")


def gbp(amount_minor: int) -> Money:
    return Money.of_minor(amount_minor, "GBP")


def ach_originator(**overrides: Any) -> Originator:
    originator = Originator(
        name="Sellerpay Inc",
        account=AbaAccount(ACH_ODFI_ROUTING, "000123456789"),
        country="US",
        ach_immediate_destination=ACH_ODFI_ROUTING,
        ach_immediate_origin="1234567890",
        ach_company_id="1234567890",
        ach_destination_name="Moov Bank",
    )
    return replace(originator, **overrides)


def ach_transfer(
    end_to_end_id: str = "po_0190f7c3a1b27c4e8abc1234567890ab",
    amount_minor: int = 12_345,
    **overrides: Any,
) -> CreditTransfer:
    """A payout of `amount_minor` US cents to a checking account, due on EXECUTION_DATE."""
    transfer = CreditTransfer(
        end_to_end_id=end_to_end_id,
        amount=usd(amount_minor),
        creditor_name="Acme Widgets LLC",
        creditor_account=AbaAccount("231380104", "987654321"),
        execution_date=EXECUTION_DATE,
    )
    return replace(transfer, **overrides)


def with_check_digit(first_eight: str) -> str:
    """A routing number: `first_eight` and its 3-7-1 check digit, computed here independently."""
    total = sum(int(d) * w for d, w in zip(first_eight, (3, 7, 1, 3, 7, 1, 3, 7), strict=True))
    return first_eight + str(-total % 10)


routing_numbers = st.text(alphabet="0123456789", min_size=8, max_size=8).map(with_check_digit)


def zengin_originator(**overrides: Any) -> Originator:
    originator = Originator(
        name="Sellerpay KK",
        account=ZenginAccount("0001", "001", "1234567"),
        country="JP",
        zengin_requester_code="0123456789",
        zengin_requester_name_kana="ｾﾗ-ﾍﾟｲ(ｶ",
    )
    return replace(originator, **overrides)


def zengin_transfer(
    end_to_end_id: str = "po_0190f7c3a1b27c4e8abc1234567890ab",
    amount_minor: int = 12_345,
    **overrides: Any,
) -> CreditTransfer:
    """A payout of `amount_minor` yen to an ordinary (普通) account, due on EXECUTION_DATE."""
    transfer = CreditTransfer(
        end_to_end_id=end_to_end_id,
        amount=jpy(amount_minor),
        creditor_name="ﾔﾏﾀﾞ ﾀﾛｳ",
        creditor_account=ZenginAccount("0005", "123", "7654321"),
        execution_date=EXECUTION_DATE,
    )
    return replace(transfer, **overrides)


def bacs_originator(**overrides: Any) -> Originator:
    originator = Originator(
        name="Sellerpay Ltd",
        account=UkAccount("200000", "55779911"),
        country="GB",
        bacs_service_user_number="123456",
    )
    return replace(originator, **overrides)


def bacs_transfer(
    end_to_end_id: str = "po_0190f7c3a1b27c4e8abc1234567890ab",
    amount_minor: int = 12_345,
    **overrides: Any,
) -> CreditTransfer:
    """A payout of `amount_minor` pence to a UK account, due on EXECUTION_DATE."""
    transfer = CreditTransfer(
        end_to_end_id=end_to_end_id,
        amount=gbp(amount_minor),
        creditor_name="Jane Smith",
        creditor_account=UkAccount("401276", "12345678"),
        execution_date=EXECUTION_DATE,
    )
    return replace(transfer, **overrides)


def payout_ids(count: int) -> list[str]:
    """`count` distinct Sellerpay-style end-to-end ids (po_ and 32 hex digits, a UUIDv7's)."""
    return [f"po_{0x0190F7C3A1B27C4E8ABC000000000000 + index:032x}" for index in range(count)]
