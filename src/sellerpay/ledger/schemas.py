"""Request and response bodies of the ledger API: one schema per purpose, every string bounded.

Amounts go in as integer minor units (`amount_minor`, a strict JSON integer: `12.0` is refused)
or as an exact decimal string (`amount: "12.34"`), and come out as `MoneyOut`, never a float.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Final, Literal, Self
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

from sellerpay.ledger.rules import (
    AccountKind,
    Side,
    account_code_length_max,
    description_length_max,
    entries_per_transaction_max,
    idempotency_key_length_max,
    metadata_keys_max,
    metadata_value_length_max,
)
from sellerpay.money import AMOUNT_MINOR_MAX, Money

batch_size_hard_max: Final = 10_000  # the schema's bound; settings.api_batch_size_max is lower
cursor_length_max: Final = 100

AccountCode = Annotated[
    str,
    StringConstraints(min_length=1, max_length=account_code_length_max),
    Field(examples=["seller:sel_42:pending"]),
]
CurrencyCode = Annotated[
    str, StringConstraints(min_length=3, max_length=3), Field(examples=["EUR"])
]
IdempotencyKey = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=idempotency_key_length_max, pattern=r"^[\x20-\x7e]+$"
    ),
    Field(description="1 to 255 printable ASCII characters", examples=["order:1234:paid"]),
]
Kind = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_.]{0,63}$"),
    Field(examples=["order_paid"]),
]
Description = Annotated[str, StringConstraints(max_length=description_length_max)]
LabelKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_.\-]{0,63}$")]
LabelText = Annotated[str, StringConstraints(max_length=metadata_value_length_max)]
AmountText = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{1,19}(\.[0-9]{1,19})?$"),
    Field(description="An exact decimal in major units, never rounded", examples=["88.00"]),
]
AmountMinor = Annotated[
    StrictInt,
    Field(gt=0, le=AMOUNT_MINOR_MAX, description="Minor units (cents)", examples=[8800]),
]


_RFC3339_START: Final = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _rfc3339_text(value: Any) -> Any:
    """Only RFC 3339 text: no Unix timestamps, which pydantic would otherwise accept."""
    if isinstance(value, datetime) or (isinstance(value, str) and _RFC3339_START.match(value)):
        return value
    raise PydanticCustomError(
        "datetime_format", "an RFC 3339 date-time with an offset, e.g. 2026-01-05T09:00:00+01:00"
    )


Rfc3339DateTime = Annotated[
    AwareDatetime,
    BeforeValidator(_rfc3339_text),
    Field(examples=["2026-01-05T09:00:00+01:00"]),
]


def _metadata_value(value: Any) -> Any:
    """One error for a bad metadata value, instead of one per member of the union."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and -AMOUNT_MINOR_MAX <= value <= AMOUNT_MINOR_MAX:
        return value
    if isinstance(value, str) and len(value) <= metadata_value_length_max:
        return value
    raise PydanticCustomError(
        "invalid_metadata_value",
        "a metadata value is a string of at most {length_max} characters, an integer, "
        "a boolean or null",
        {"length_max": metadata_value_length_max},
    )


MetadataValue = Annotated[
    LabelText | StrictInt | StrictBool | None, BeforeValidator(_metadata_value)
]


# --- requests ------------------------------------------------------------------------------


class EntryCreate(BaseModel):
    """One leg to post: exactly one of `amount_minor` and `amount`."""

    model_config = ConfigDict(extra="forbid")

    account: AccountCode
    side: Side
    currency: CurrencyCode
    amount_minor: AmountMinor | None = None
    amount: AmountText | None = None

    @model_validator(mode="after")
    def _one_amount(self) -> Self:
        if (self.amount_minor is None) == (self.amount is None):
            raise PydanticCustomError(
                "exactly_one_amount", "give exactly one of amount_minor and amount"
            )
        return self


class TransactionCreate(BaseModel):
    """A balanced transaction to post; its idempotency key travels in a header."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind
    description: Description = ""
    effective_at: Rfc3339DateTime | None = Field(
        default=None,
        description="RFC 3339 with an offset; defaults to the time of posting",
    )
    references: dict[LabelKey, LabelText] = Field(
        default_factory=dict, max_length=metadata_keys_max, examples=[{"order": "ord_1234"}]
    )
    metadata: dict[LabelKey, MetadataValue] = Field(
        default_factory=dict, max_length=metadata_keys_max
    )
    entries: list[EntryCreate] = Field(min_length=2, max_length=entries_per_transaction_max)


class TransactionBatchItem(TransactionCreate):
    """A transaction of a batch carries its own idempotency key."""

    idempotency_key: IdempotencyKey


class TransactionBatchCreate(BaseModel):
    """Transactions to post together, in order, in one unit of work."""

    model_config = ConfigDict(extra="forbid")

    transactions: list[TransactionBatchItem] = Field(max_length=batch_size_hard_max)


class ReversalCreate(BaseModel):
    """Optional details of a reversal."""

    model_config = ConfigDict(extra="forbid")

    description: Description = ""


# --- responses -----------------------------------------------------------------------------


class MoneyOut(BaseModel):
    """An exact amount: integer minor units, the currency, its exponent and the decimal text."""

    amount_minor: int = Field(examples=[8800])
    currency: str = Field(examples=["EUR"])
    exponent: int = Field(examples=[2], description="Decimals of the currency (ISO 4217)")
    amount: str = Field(examples=["88.00"], description="The exact amount in major units")

    @classmethod
    def of(cls, money: Money) -> MoneyOut:
        places = money.exponent
        return cls(
            amount_minor=money.amount_minor,
            currency=money.currency,
            exponent=places,
            amount=f"{money.to_decimal():.{places}f}",
        )


class EntryPublic(BaseModel):
    """One posted leg, with the account's version and balance right after it."""

    leg: int
    account: str
    side: Side
    amount: MoneyOut
    account_version: int
    balance_after: MoneyOut


class TransactionPublic(BaseModel):
    """A posted transaction, as stored."""

    id: UUID
    idempotency_key: str
    kind: str
    description: str
    effective_at: datetime
    posted_at: datetime
    reverses_id: UUID | None
    references: dict[str, str]
    metadata: dict[str, str | int | bool | None]
    entries: list[EntryPublic]


class BatchResultPublic(BaseModel):
    """What happened to one transaction of a batch; a rejected one carries its problem."""

    idempotency_key: str
    status: Literal["posted", "replayed", "rejected"]
    transaction_id: UUID | None = None
    problem: dict[str, Any] | None = Field(
        default=None, description="An RFC 9457 problem (see Problem), when rejected"
    )


class TransactionBatchPublic(BaseModel):
    results: list[BatchResultPublic]


AccountFlag = Literal["debits_must_not_exceed_credits", "credits_must_not_exceed_debits"]


class BalancePublic(BaseModel):
    """An account's balance in one currency, on its normal side."""

    currency: str
    exponent: int
    kind: AccountKind
    normal_side: Side
    flags: list[AccountFlag]
    debits_posted: MoneyOut
    credits_posted: MoneyOut
    balance: MoneyOut
    version: int


class AccountPublic(BaseModel):
    """An account's balances, one per currency, now or as of a moment."""

    code: str
    as_of: datetime | None
    balances: list[BalancePublic]


class HistoryLinePublic(BaseModel):
    """One entry of an account's history, with the balance right after it."""

    transaction_id: UUID
    kind: str
    description: str
    side: Side
    amount: MoneyOut
    balance_after: MoneyOut
    account_version: int
    effective_at: datetime
    posted_at: datetime
    references: dict[str, str]


class AccountEntriesPage(BaseModel):
    """A page of an account's entries, newest first; pass `next_cursor` to read older ones."""

    code: str
    entries: list[HistoryLinePublic]
    next_cursor: str | None = Field(description="null on the last page")
