"""Request and response bodies of the bank accounts API: details in, masked accounts out.

Requests carry the account's details once, over TLS; responses never carry them back: only
the masked form (`•••• 4321`) and the non-secret bank part (BIC, routing number, sort code,
Zengin bank and branch codes).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from sellerpay.api.fields import CurrencyCode
from sellerpay.bankaccounts.rules import (
    BankAccountFormat,
    BankAccountStatus,
    holder_name_length_max,
    input_length_max,
)

RawText = Annotated[str, StringConstraints(min_length=1, max_length=input_length_max)]


class _Details(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IbanDetails(_Details):
    """A SEPA account: the IBAN (spaces allowed) and, optionally, the BIC of its bank."""

    format: Literal["iban"]
    iban: RawText = Field(examples=["FR76 3000 6000 0112 3456 7890 189"])
    bic: RawText | None = Field(default=None, examples=["AGRIFRPP"])


class AbaDetails(_Details):
    """A US account: ABA routing number, account number, checking or savings."""

    format: Literal["aba"]
    routing_number: RawText = Field(examples=["021000021"])
    account_number: RawText = Field(examples=["000123456789"])
    account_type: Literal["checking", "savings"] = "checking"


class UkDetails(_Details):
    """A UK account: sort code (`12-34-56` or `123456`) and account number."""

    format: Literal["uk"]
    sort_code: RawText = Field(examples=["12-34-56"])
    account_number: RawText = Field(examples=["12345678"])


class ZenginDetails(_Details):
    """A Japanese account: bank code, branch code, type (普通/当座 accepted), number."""

    format: Literal["zengin"]
    bank_code: RawText = Field(examples=["0001"])
    branch_code: RawText = Field(examples=["001"])
    account_type: RawText = Field(
        default="ordinary", description="ordinary (普通) or current (当座)"
    )
    account_number: RawText = Field(examples=["1234567"])


AccountDetails = Annotated[
    IbanDetails | AbaDetails | UkDetails | ZenginDetails, Field(discriminator="format")
]


class BankAccountCreate(BaseModel):
    """A bank account to add to a seller. It is held for a cool-down before payouts go to it."""

    model_config = ConfigDict(extra="forbid")

    holder_name: str = Field(
        min_length=1,
        max_length=holder_name_length_max,
        description="As the bank has it. Zengin: kana (hiragana, katakana, full- or "
        "half-width), stored as half-width katakana; kanji are refused",
        examples=["Acme Refurb SAS"],
    )
    currency: CurrencyCode = Field(
        description="What is paid to it: EUR (IBAN), USD (aba), GBP (uk), JPY (zengin)"
    )
    make_default: bool = Field(
        default=False,
        description="Make it the default for its currency (the first one always is); the "
        "previous default is then `replaced`",
    )
    details: AccountDetails


class BankAccountPublic(BaseModel):
    """A bank account as the API shows it: masked, never its number."""

    id: str = Field(examples=["ba_0193a6f42b1c7d3e9f004c5d6e7f8a9b"])
    seller_id: str
    format: BankAccountFormat
    country: str
    currency: str
    rail: str = Field(examples=["sepa"])
    holder_name: str
    masked: str = Field(examples=["•••• 0189"], description="At most the last 4 characters")
    bank_identifier: str | None = Field(
        description="BIC, routing number, sort code or Zengin `bank-branch`; null for an IBAN "
        "given without a BIC",
        examples=["AGRIFRPP"],
    )
    account_type: str | None = Field(description="aba: checking/savings; zengin: ordinary/current")
    status: BankAccountStatus
    is_default: bool
    verified: bool
    verification_note: str | None
    on_hold: bool = Field(description="Payouts to it wait: its cool-down runs, not released")
    cooldown_until: datetime
    hold_released_at: datetime | None
    disabled_reason: str | None = Field(examples=["AC04"])
    created_at: datetime
    updated_at: datetime
    version: int


class BankAccountPage(BaseModel):
    """A page of a seller's bank accounts, oldest first; pass `next_cursor` back for more."""

    bank_accounts: list[BankAccountPublic]
    next_cursor: str | None = Field(description="null on the last page")
