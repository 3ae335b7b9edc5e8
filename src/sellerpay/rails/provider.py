"""The provider payout API rail: the JSON bodies of a payout provider's API, written and read.

Where the bank files do not fit (a market without a file rail, an amount or speed they do not
serve), a payout goes to a provider over HTTP, one request per payout, each carrying an
idempotency key: the payout's end-to-end id, so a request sent twice pays once. This module is
pure (bytes in, bytes out), like every rail; the HTTP calls belong to whoever holds the
connection (`sellerpay.simbank` plays the provider in demos and tests).

    ProviderPayoutRequest   POST /provider/payouts: key, amount, beneficiary, reference, date
    ProviderPayoutStatus    the provider's answer and status lookups: accepted, paid, failed,
                            returned, with an ISO reason code when failed or returned
    ProviderErrorBody       a refusal: a stable code, a message, the JSON path at fault
    ProviderBatch           the rail's "file": every request of one submission in one JSON
                            document (`write_provider_batch`), because the payout service treats
                            every rail as a file it submits once

Every reader raises `RailError` (code `provider_malformed`) whose `where` is the JSON path of
the value at fault ("$.payouts[3].amount.amount_minor"); nothing is half-read. Amounts are
integer minor units with their ISO 4217 currency, never floats.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final, Literal, get_args

from sellerpay.money import AMOUNT_MINOR_MAX, InvalidAmount, Money, UnknownCurrency
from sellerpay.rails.instructions import (
    END_TO_END_ID_LENGTH_MAX,
    AbaAccount,
    BankAccountDetails,
    BankFile,
    CreditTransfer,
    IbanAccount,
    Originator,
    RailError,
    TransferStatus,
    UkAccount,
    ZenginAccount,
)
from sellerpay.rails.nacha import is_valid_routing_number

ProviderState = Literal["accepted", "paid", "failed", "returned"]
PROVIDER_STATES: Final[tuple[ProviderState, ...]] = get_args(ProviderState)

BATCH_FORMAT: Final = "sellerpay.provider-batch.v1"
BODY_BYTES_MAX: Final = 64 * 1024 * 1024
"""A batch of 100 000 payouts is about 40 MB of JSON; a single request is under 2 kB."""
PAYOUTS_PER_BATCH_MAX: Final = 100_000
NAME_LENGTH_MAX: Final = 140
REFERENCE_LENGTH_MAX: Final = 140
REASON_CODE_LENGTH_MAX: Final = 35
REASON_TEXT_LENGTH_MAX: Final = 500
PAYOUT_ID_LENGTH_MAX: Final = 64
ERROR_CODE_LENGTH_MAX: Final = 64
MESSAGE_LENGTH_MAX: Final = 2_000

_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}")
_BIC = re.compile(r"[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?")
_ACH_ACCOUNT = re.compile(r"[0-9A-Z-]{1,17}")
_FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9.()+,'-]")
_MALFORMED: Final = "provider_malformed"


def _refuse(message: str, where: str) -> RailError:
    return RailError(message, where=where, code=_MALFORMED)


# -- the bodies ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProviderPayoutRequest:
    """One payout asked of the provider. `idempotency_key` is the payout's end-to-end id: the
    provider pays each key once and answers a repeat with its first answer."""

    idempotency_key: str
    amount: Money
    beneficiary_name: str
    beneficiary_account: BankAccountDetails
    reference: str = ""
    execution_date: date | None = None

    @classmethod
    def from_transfer(cls, transfer: CreditTransfer) -> ProviderPayoutRequest:
        """The request that pays `transfer`; its end-to-end id becomes the idempotency key."""
        request = cls(
            idempotency_key=transfer.end_to_end_id,
            amount=transfer.amount,
            beneficiary_name=transfer.creditor_name,
            beneficiary_account=transfer.creditor_account,
            reference=transfer.remittance,
            execution_date=transfer.execution_date,
        )
        # write what we read: the same checks guard both directions
        return ProviderPayoutRequest.from_dict(request.to_dict())

    def to_dict(self) -> dict[str, Any]:
        return {
            "idempotency_key": self.idempotency_key,
            "amount": _money_to_dict(self.amount),
            "beneficiary": {
                "name": self.beneficiary_name,
                "account": account_to_dict(self.beneficiary_account),
            },
            "reference": self.reference,
            "execution_date": self.execution_date.isoformat() if self.execution_date else None,
        }

    def to_json(self) -> bytes:
        return _dumps(self.to_dict())

    @classmethod
    def from_json(cls, data: bytes | str) -> ProviderPayoutRequest:
        return cls.from_dict(_loads(data, "$"))

    @classmethod
    def from_dict(cls, value: object, where: str = "$") -> ProviderPayoutRequest:
        body = _object(
            value,
            where,
            required={"idempotency_key", "amount", "beneficiary"},
            optional={"reference", "execution_date"},
        )
        beneficiary = _object(
            body["beneficiary"], f"{where}.beneficiary", required={"name", "account"}
        )
        execution_date = body.get("execution_date")
        return cls(
            idempotency_key=_reference_id(body["idempotency_key"], f"{where}.idempotency_key"),
            amount=_positive_money(body["amount"], f"{where}.amount"),
            beneficiary_name=_text(
                beneficiary["name"], f"{where}.beneficiary.name", 1, NAME_LENGTH_MAX
            ),
            beneficiary_account=account_from_dict(
                beneficiary["account"], f"{where}.beneficiary.account"
            ),
            reference=_text(
                body.get("reference", ""), f"{where}.reference", 0, REFERENCE_LENGTH_MAX
            ),
            execution_date=None
            if execution_date is None
            else _date(execution_date, f"{where}.execution_date"),
        )


@dataclass(frozen=True, slots=True)
class ProviderPayoutStatus:
    """The provider's word on one payout: its id, where it stands, and why when it failed or
    came back (an ISO 20022 reason code such as AC04)."""

    id: str
    idempotency_key: str
    status: ProviderState
    amount: Money
    reason_code: str | None = None
    reason_text: str | None = None
    paid_on: date | None = None
    returned_on: date | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "idempotency_key": self.idempotency_key,
            "status": self.status,
            "amount": _money_to_dict(self.amount),
            "reason_code": self.reason_code,
            "reason_text": self.reason_text,
            "paid_on": self.paid_on.isoformat() if self.paid_on else None,
            "returned_on": self.returned_on.isoformat() if self.returned_on else None,
        }

    def to_json(self) -> bytes:
        return _dumps(self.to_dict())

    @classmethod
    def from_json(cls, data: bytes | str) -> ProviderPayoutStatus:
        return cls.from_dict(_loads(data, "$"))

    @classmethod
    def from_dict(cls, value: object, where: str = "$") -> ProviderPayoutStatus:
        body = _object(
            value,
            where,
            required={"id", "idempotency_key", "status", "amount"},
            optional={"reason_code", "reason_text", "paid_on", "returned_on"},
        )
        status = body["status"]
        if status not in PROVIDER_STATES:
            raise _refuse(
                f"status {status!r} is not one of {', '.join(PROVIDER_STATES)}", f"{where}.status"
            )
        return cls(
            id=_text(body["id"], f"{where}.id", 1, PAYOUT_ID_LENGTH_MAX),
            idempotency_key=_reference_id(body["idempotency_key"], f"{where}.idempotency_key"),
            status=status,
            amount=_positive_money(body["amount"], f"{where}.amount"),
            reason_code=_optional_text(
                body.get("reason_code"), f"{where}.reason_code", REASON_CODE_LENGTH_MAX
            ),
            reason_text=_optional_text(
                body.get("reason_text"), f"{where}.reason_text", REASON_TEXT_LENGTH_MAX
            ),
            paid_on=_optional_date(body.get("paid_on"), f"{where}.paid_on"),
            returned_on=_optional_date(body.get("returned_on"), f"{where}.returned_on"),
        )


def transfer_status(status: ProviderPayoutStatus) -> TransferStatus:
    """The provider's status as the payout service reads every rail's: paid and returned are
    "settled" (the money left; a return is a separate notice), failed is "rejected"."""
    states: dict[ProviderState, Literal["accepted", "settled", "rejected"]] = {
        "accepted": "accepted",
        "paid": "settled",
        "returned": "settled",
        "failed": "rejected",
    }
    rejected = status.status == "failed"
    return TransferStatus(
        end_to_end_id=status.idempotency_key,
        state=states[status.status],
        reason_code=status.reason_code if rejected else None,
        reason_text=status.reason_text if rejected else None,
    )


@dataclass(frozen=True, slots=True)
class ProviderErrorBody:
    """A refused request: `code` names the rule (`idempotency_key_reused`, `provider_malformed`),
    `where` the JSON path or header at fault."""

    code: str
    message: str
    where: str | None = None

    def to_json(self) -> bytes:
        return _dumps({"error": {"code": self.code, "message": self.message, "where": self.where}})

    @classmethod
    def from_json(cls, data: bytes | str) -> ProviderErrorBody:
        body = _object(_loads(data, "$"), "$", required={"error"})
        error = _object(body["error"], "$.error", required={"code", "message"}, optional={"where"})
        return cls(
            code=_text(error["code"], "$.error.code", 1, ERROR_CODE_LENGTH_MAX),
            message=_text(error["message"], "$.error.message", 0, MESSAGE_LENGTH_MAX),
            where=_optional_text(error.get("where"), "$.error.where", MESSAGE_LENGTH_MAX),
        )


# -- the batch: the rail's "file" ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProviderBatch:
    """Every payout request of one submission, with the controls a receiver checks."""

    message_id: str
    created_at: datetime
    originator_name: str
    payouts: tuple[ProviderPayoutRequest, ...]

    def control_sums(self) -> dict[str, int]:
        """Total minor units per currency, as `BankFile.control_sums` and the JSON state them."""
        sums: dict[str, int] = {}
        for payout in self.payouts:
            currency = payout.amount.currency
            sums[currency] = sums.get(currency, 0) + payout.amount.amount_minor
        return dict(sorted(sums.items()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": BATCH_FORMAT,
            "message_id": self.message_id,
            "created_at": self.created_at.isoformat(),
            "originator": {"name": self.originator_name},
            "count": len(self.payouts),
            "control_sums": self.control_sums(),
            "payouts": [payout.to_dict() for payout in self.payouts],
        }


def write_provider_batch(
    transfers: Sequence[CreditTransfer],
    originator: Originator,
    *,
    message_id: str,
    created_at: datetime,
) -> BankFile:
    """One JSON document holding a payout request per transfer, submitted as the rail's file.

    Raises `RailError` for an empty or oversized list, a repeated end-to-end id, a naive
    `created_at`, or a transfer the provider's API cannot carry (named by its end-to-end id).
    """
    if not transfers or len(transfers) > PAYOUTS_PER_BATCH_MAX:
        raise RailError(
            f"a provider batch holds 1 to {PAYOUTS_PER_BATCH_MAX} payouts, not {len(transfers)}",
            where="transfers",
            code="provider_batch_size",
        )
    if created_at.tzinfo is None or created_at.utcoffset() is None:
        raise RailError("created_at is a naive datetime", where="created_at", code=_MALFORMED)
    requests = tuple(_request_for(transfer) for transfer in transfers)
    batch = ProviderBatch(
        message_id=_reference_id(message_id, "message_id"),
        created_at=created_at,
        originator_name=_text(originator.name, "originator.name", 1, NAME_LENGTH_MAX),
        payouts=requests,
    )
    _check_unique([request.idempotency_key for request in requests], "transfers")
    return BankFile(
        rail="provider",
        filename=f"{_FILENAME_UNSAFE.sub('_', message_id)}.provider.json",
        content=_dumps(batch.to_dict()),
        message_id=message_id,
        transfer_count=len(requests),
        control_sums=batch.control_sums(),
        end_to_end_ids=tuple(request.idempotency_key for request in requests),
        created_at=created_at,
    )


def _request_for(transfer: CreditTransfer) -> ProviderPayoutRequest:
    try:
        return ProviderPayoutRequest.from_transfer(transfer)
    except RailError as error:
        where = f"transfer {transfer.end_to_end_id}: {error.where}"
        raise RailError(error.message, where=where, code=error.code) from error


def parse_provider_batch(data: bytes) -> ProviderBatch:
    """The batch in `data`, its count and control sums checked against its payouts."""
    if len(data) > BODY_BYTES_MAX:
        raise RailError(
            f"{len(data)} bytes; a provider batch is at most {BODY_BYTES_MAX}",
            where="$",
            code="provider_too_large",
        )
    body = _object(
        _loads(data, "$"),
        "$",
        required={
            "format",
            "message_id",
            "created_at",
            "originator",
            "count",
            "control_sums",
            "payouts",
        },
    )
    if body["format"] != BATCH_FORMAT:
        raise _refuse(f"format {body['format']!r} is not {BATCH_FORMAT!r}", "$.format")
    originator = _object(body["originator"], "$.originator", required={"name"})
    payouts = body["payouts"]
    if not isinstance(payouts, list) or not 1 <= len(payouts) <= PAYOUTS_PER_BATCH_MAX:
        raise _refuse(f"payouts is a list of 1 to {PAYOUTS_PER_BATCH_MAX} requests", "$.payouts")
    batch = ProviderBatch(
        message_id=_reference_id(body["message_id"], "$.message_id"),
        created_at=_datetime(body["created_at"], "$.created_at"),
        originator_name=_text(originator["name"], "$.originator.name", 1, NAME_LENGTH_MAX),
        payouts=tuple(
            ProviderPayoutRequest.from_dict(payout, f"$.payouts[{index}]")
            for index, payout in enumerate(payouts)
        ),
    )
    _check_unique([payout.idempotency_key for payout in batch.payouts], "$.payouts")
    _check_controls(batch, body["count"], body["control_sums"])
    return batch


def _check_controls(batch: ProviderBatch, count: object, control_sums: object) -> None:
    if _integer(count, "$.count", 1, PAYOUTS_PER_BATCH_MAX) != len(batch.payouts):
        raise RailError(
            f"count says {count}, the batch holds {len(batch.payouts)} payouts",
            where="$.count",
            code="provider_control_mismatch",
        )
    if not isinstance(control_sums, dict):
        raise _refuse("control_sums is an object of currency: minor units", "$.control_sums")
    stated = {
        str(currency): _integer(total, f"$.control_sums.{currency}", 0, AMOUNT_MINOR_MAX)
        for currency, total in control_sums.items()
    }
    if stated != batch.control_sums():
        raise RailError(
            f"control_sums say {stated}, the payouts add up to {batch.control_sums()}",
            where="$.control_sums",
            code="provider_control_mismatch",
        )


def _check_unique(keys: Sequence[str], where: str) -> None:
    seen: set[str] = set()
    for index, key in enumerate(keys):
        if key in seen:
            raise RailError(
                f"idempotency key {key!r} appears twice in one batch",
                where=f"{where}[{index}]",
                code="provider_duplicate_key",
            )
        seen.add(key)


# -- accounts -----------------------------------------------------------------------------------


def account_to_dict(account: BankAccountDetails) -> dict[str, Any]:
    """A bank account as the provider's JSON names it: a `type` and that type's fields."""
    if isinstance(account, IbanAccount):
        return {"type": "iban", "iban": account.iban, "bic": account.bic}
    if isinstance(account, AbaAccount):
        return {
            "type": "aba",
            "routing_number": account.routing_number,
            "account_number": account.account_number,
            "account_type": account.account_type,
        }
    if isinstance(account, UkAccount):
        return {
            "type": "uk",
            "sort_code": account.sort_code,
            "account_number": account.account_number,
        }
    return {
        "type": "zengin",
        "bank_code": account.bank_code,
        "branch_code": account.branch_code,
        "account_number": account.account_number,
        "account_type": account.account_type,
    }


def account_from_dict(value: object, where: str) -> BankAccountDetails:
    """The account in `value`, its fields checked for shape (digits, lengths, check digits)."""
    if not isinstance(value, dict):
        raise _refuse("an account is a JSON object with a type", where)
    kind = value.get("type")
    if kind == "iban":
        body = _object(value, where, required={"type", "iban"}, optional={"bic"})
        bic = body.get("bic")
        return IbanAccount(
            iban=_pattern(body["iban"], _IBAN, f"{where}.iban", "an IBAN without spaces"),
            bic=None if bic is None else _pattern(bic, _BIC, f"{where}.bic", "a BIC"),
        )
    if kind == "aba":
        return _aba_account(value, where)
    if kind == "uk":
        body = _object(value, where, required={"type", "sort_code", "account_number"})
        return UkAccount(
            sort_code=_digits(body["sort_code"], 6, f"{where}.sort_code"),
            account_number=_digits(body["account_number"], 8, f"{where}.account_number"),
        )
    if kind == "zengin":
        return _zengin_account(value, where)
    raise _refuse(f"account type {kind!r} is not iban, aba, uk or zengin", f"{where}.type")


def _aba_account(value: dict[str, Any], where: str) -> AbaAccount:
    body = _object(
        value,
        where,
        required={"type", "routing_number", "account_number"},
        optional={"account_type"},
    )
    routing = _digits(body["routing_number"], 9, f"{where}.routing_number")
    if not is_valid_routing_number(routing):
        raise _refuse(f"routing number {routing} fails its check digit", f"{where}.routing_number")
    account_type = body.get("account_type", "checking")
    if account_type not in ("checking", "savings"):
        raise _refuse("account_type is checking or savings", f"{where}.account_type")
    return AbaAccount(
        routing_number=routing,
        account_number=_pattern(
            body["account_number"], _ACH_ACCOUNT, f"{where}.account_number", "1 to 17 characters"
        ),
        account_type=account_type,
    )


def _zengin_account(value: dict[str, Any], where: str) -> ZenginAccount:
    body = _object(
        value,
        where,
        required={"type", "bank_code", "branch_code", "account_number"},
        optional={"account_type"},
    )
    account_type = body.get("account_type", "ordinary")
    if account_type not in ("ordinary", "current"):
        raise _refuse("account_type is ordinary or current", f"{where}.account_type")
    return ZenginAccount(
        bank_code=_digits(body["bank_code"], 4, f"{where}.bank_code"),
        branch_code=_digits(body["branch_code"], 3, f"{where}.branch_code"),
        account_number=_digits(body["account_number"], 7, f"{where}.account_number"),
        account_type=account_type,
    )


# -- JSON values --------------------------------------------------------------------------------


def _dumps(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _loads(data: bytes | str, where: str) -> Any:
    if isinstance(data, bytes | bytearray) and len(data) > BODY_BYTES_MAX:
        raise RailError(f"more than {BODY_BYTES_MAX} bytes", where=where, code="provider_too_large")
    try:
        return json.loads(data, parse_float=_no_float, parse_constant=_no_constant)
    except UnicodeDecodeError as error:
        raise _refuse(f"not UTF-8: {error.reason}", where) from None
    except json.JSONDecodeError as error:
        raise _refuse(
            f"not JSON: {error.msg}", f"line {error.lineno} column {error.colno}"
        ) from None


def _no_float(text: str) -> Any:
    """Keep a fractional number as a marker, so the field it sits in is named when refused
    (json's own errors would only give a position)."""
    return _FloatMarker(text)


def _no_constant(text: str) -> Any:
    return _FloatMarker(text)


@dataclass(frozen=True, slots=True)
class _FloatMarker:
    """A JSON number with a fraction or exponent (or NaN/Infinity): never an amount."""

    text: str


def _object(
    value: object, where: str, *, required: set[str], optional: set[str] | None = None
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _refuse("expected a JSON object", where)
    missing = sorted(required - value.keys())
    if missing:
        raise _refuse(f"missing {', '.join(missing)}", f"{where}.{missing[0]}")
    unknown = sorted(value.keys() - required - (optional or set()))
    if unknown:
        raise _refuse(f"unknown field {unknown[0]!r}", f"{where}.{unknown[0]}")
    return value


def _text(value: object, where: str, length_min: int, length_max: int) -> str:
    if not isinstance(value, str):
        raise _refuse(f"expected a string, got {_kind(value)}", where)
    if not length_min <= len(value) <= length_max:
        raise _refuse(f"{len(value)} characters; {length_min} to {length_max} allowed", where)
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        raise _refuse("control characters are not allowed", where)
    return value


def _optional_text(value: object, where: str, length_max: int) -> str | None:
    return None if value is None else _text(value, where, 0, length_max)


def _reference_id(value: object, where: str) -> str:
    """An id that travels through banks: 1 to 35 printable ASCII characters, no edge spaces."""
    text = _text(value, where, 1, END_TO_END_ID_LENGTH_MAX)
    if not text.isascii() or not text.isprintable() or text != text.strip():
        raise _refuse("printable ASCII without surrounding spaces", where)
    return text


def _pattern(value: object, pattern: re.Pattern[str], where: str, what: str) -> str:
    text = _text(value, where, 1, 64)
    if not pattern.fullmatch(text):
        raise _refuse(f"{text!r} is not {what}", where)
    return text


def _digits(value: object, length: int, where: str) -> str:
    text = _text(value, where, 0, 64)
    if len(text) != length or not text.isascii() or not text.isdigit():
        raise _refuse(f"{text!r} is not {length} digits", where)
    return text


def _integer(value: object, where: str, minimum: int, maximum: int) -> int:
    if type(value) is not int:  # bool is an int subclass, and floats are never amounts
        raise _refuse(f"expected an integer, got {_kind(value)}", where)
    if not minimum <= value <= maximum:
        raise _refuse(f"{value} is outside {minimum}..{maximum}", where)
    return value


def _positive_money(value: object, where: str) -> Money:
    body = _object(value, where, required={"amount_minor", "currency"})
    amount_minor = _integer(body["amount_minor"], f"{where}.amount_minor", 1, AMOUNT_MINOR_MAX)
    currency = _text(body["currency"], f"{where}.currency", 3, 3)
    try:
        return Money(amount_minor, currency)
    except (UnknownCurrency, InvalidAmount) as error:
        raise _refuse(str(error), f"{where}.currency") from None


def _money_to_dict(money: Money) -> dict[str, Any]:
    return {"amount_minor": money.amount_minor, "currency": money.currency}


def _date(value: object, where: str) -> date:
    text = _text(value, where, 10, 10)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _refuse(f"{text!r} is not a date (YYYY-MM-DD)", where) from None


def _optional_date(value: object, where: str) -> date | None:
    return None if value is None else _date(value, where)


def _datetime(value: object, where: str) -> datetime:
    text = _text(value, where, 10, 40)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _refuse(f"{text!r} is not an ISO 8601 date and time", where) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise _refuse(f"{text!r} has no UTC offset", where)
    return moment


def _kind(value: object) -> str:
    if isinstance(value, _FloatMarker):
        return f"the non-integer number {value.text}"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return {dict: "an object", list: "a list", str: "a string", int: "an integer"}.get(
        type(value), type(value).__name__
    )
