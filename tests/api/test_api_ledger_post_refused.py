"""Refused postings: every bad input answers one precise problem, and nothing is stored."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from api_builders import (
    Keys,
    available,
    balance_minor,
    entry,
    key_is_stored,
    order_paid,
    pending,
    release,
    transaction_count,
    unique_key,
)
from fastapi.testclient import TestClient

from http_support import assert_problem
from sellerpay.db import Database

URL = "/v1/ledger/transactions"
Body = dict[str, Any]


def _leg(index: int, **changes: Any) -> Callable[[Body], None]:
    """Change entry `index` of the order: set fields, or drop those set to `...`."""

    def change(body: Body) -> None:
        leg = body["entries"][index]
        for name, value in changes.items():
            if value is ...:
                leg.pop(name, None)
            else:
                leg[name] = value

    return change


def _all_legs(**changes: Any) -> Callable[[Body], None]:
    def change(body: Body) -> None:
        for index in range(len(body["entries"])):
            _leg(index, **changes)(body)

    return change


def _set(**fields: Any) -> Callable[[Body], None]:
    def change(body: Body) -> None:
        body.update(fields)

    return change


def _mixed_currencies(body: Body) -> None:
    body["entries"][1]["currency"] = "USD"


def _one_leg_only(body: Body) -> None:
    del body["entries"][1:]


def _too_many_legs(body: Body) -> None:
    body["entries"] = [entry("platform:psp_clearing", "debit", amount_minor=1)] * 65


# (what is wrong, how to break an order of 100.00 EUR, code, field at fault)
REFUSED: list[tuple[str, Callable[[Body], None], str, str | None]] = [
    ("unbalanced", _leg(1, amount_minor=8000), "unbalanced", None),
    ("zero_amount_minor", _leg(1, amount_minor=0), "invalid_request",
     "body.entries.1.amount_minor"),
    ("negative_amount_minor", _leg(1, amount_minor=-8800), "invalid_request",
     "body.entries.1.amount_minor"),
    ("zero_amount_text", _leg(1, amount_minor=..., amount="0.00"), "amount_not_positive",
     "body.entries.1.amount"),
    ("negative_amount_text", _leg(1, amount_minor=..., amount="-88.00"), "invalid_request",
     "body.entries.1.amount"),
    ("unknown_currency", _all_legs(currency="EUX"), "unknown_currency", "body.entries.0.currency"),
    ("lower_case_currency", _all_legs(currency="eur"), "unknown_currency",
     "body.entries.0.currency"),
    ("mixed_currencies", _mixed_currencies, "unbalanced", None),
    ("too_many_decimals", _leg(1, amount_minor=..., amount="88.001"), "too_many_decimals",
     "body.entries.1.amount"),
    ("trailing_zero_decimals", _leg(1, amount_minor=..., amount="88.000"), "too_many_decimals",
     "body.entries.1.amount"),
    ("yen_with_decimals", _all_legs(currency="JPY", amount="100.5", amount_minor=...),
     "too_many_decimals", "body.entries.0.amount"),
    ("float_amount_minor", _leg(1, amount_minor=8800.5), "invalid_request",
     "body.entries.1.amount_minor"),
    ("whole_float_amount_minor", _leg(1, amount_minor=8800.0), "invalid_request",
     "body.entries.1.amount_minor"),
    ("amount_as_json_number", _leg(1, amount_minor=..., amount=88.0), "invalid_request",
     "body.entries.1.amount"),
    ("amount_with_grouping", _leg(1, amount_minor=..., amount="8,800.00"), "invalid_request",
     "body.entries.1.amount"),
    ("both_amount_forms", _leg(1, amount="88.00"), "invalid_request", "body.entries.1"),
    ("no_amount", _leg(1, amount_minor=...), "invalid_request", "body.entries.1"),
    ("naive_effective_at", _set(effective_at="2026-01-05T09:00:00"), "invalid_request",
     "body.effective_at"),
    ("unix_time_effective_at", _set(effective_at=1767600000), "invalid_request",
     "body.effective_at"),
    ("account_outside_the_chart", _leg(1, account="seller:42:pending"), "account_not_in_chart",
     "body.entries.1.account"),
    ("unknown_side", _leg(1, side="CR"), "invalid_request", "body.entries.1.side"),
    ("one_leg", _one_leg_only, "invalid_request", "body.entries"),
    ("sixty_five_legs", _too_many_legs, "invalid_request", "body.entries"),
    ("unknown_field", _leg(1, amount_major="88"), "invalid_request",
     "body.entries.1.amount_major"),
    ("kind_with_spaces", _set(kind="Order paid"), "invalid_request", "body.kind"),
    ("description_too_long", _set(description="x" * 501), "invalid_request", "body.description"),
    ("float_in_metadata", _set(metadata={"score": 0.5}), "invalid_request", "body.metadata.score"),
    ("reference_too_long", _set(references={"order": "x" * 501}), "invalid_request",
     "body.references.order"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("breakage", "code", "field"), [case[1:] for case in REFUSED], ids=[case[0] for case in REFUSED]
)
def test_a_malformed_order_is_refused_with_a_precise_problem_and_nothing_stored(
    client: TestClient,
    keys: Keys,
    db: Database,
    seller_id: str,
    breakage: Callable[[Body], None],
    code: str,
    field: str | None,
) -> None:
    body = copy.deepcopy(order_paid(seller_id))
    breakage(body)
    key = unique_key("refused")
    count = transaction_count(db)

    response = client.post(URL, json=body, headers={**keys.of("finance"), "Idempotency-Key": key})

    assert_problem(response, 422, code, field=field)
    assert transaction_count(db) == count
    assert not key_is_stored(db, key)
    assert balance_minor(db, pending(seller_id)) is None


def test_an_unbalanced_order_says_by_how_much_each_currency_is_off(
    client: TestClient, keys: Keys, seller_id: str
) -> None:
    body = order_paid(seller_id)
    body["entries"][1]["currency"] = "USD"

    response = client.post(
        URL, json=body, headers={**keys.of("finance"), "Idempotency-Key": unique_key()}
    )

    problem = assert_problem(response, 422, "unbalanced")
    assert problem["unbalanced_minor"] == {"EUR": 8800, "USD": -8800}


def test_a_validation_problem_lists_every_bad_field(
    client: TestClient, keys: Keys, seller_id: str
) -> None:
    body = order_paid(seller_id, kind="Bad Kind")
    body["entries"][0]["amount_minor"] = 1.5
    body["entries"][2]["side"] = "up"

    response = client.post(
        URL, json=body, headers={**keys.of("finance"), "Idempotency-Key": unique_key()}
    )

    problem = assert_problem(response, 422, "invalid_request")
    assert {(e["field"], e["code"]) for e in problem["errors"]} == {
        ("body.kind", "string_pattern_mismatch"),
        ("body.entries.0.amount_minor", "int_type"),
        ("body.entries.2.side", "enum"),
    }
    assert all(e["message"] for e in problem["errors"])


def test_a_post_without_an_idempotency_key_is_refused(
    client: TestClient, keys: Keys, db: Database, seller_id: str
) -> None:
    count = transaction_count(db)

    response = client.post(URL, json=order_paid(seller_id), headers=keys.of("finance"))

    assert_problem(response, 422, "idempotency_key_required", field="header.Idempotency-Key")
    assert transaction_count(db) == count


def test_an_idempotency_key_longer_than_255_characters_is_refused(
    client: TestClient, keys: Keys, db: Database, seller_id: str
) -> None:
    response = client.post(
        URL,
        json=order_paid(seller_id),
        headers={**keys.of("finance"), "Idempotency-Key": "k" * 256},
    )

    assert_problem(response, 422, "invalid_request", field="header.Idempotency-Key")
    assert balance_minor(db, pending(seller_id)) is None


def test_a_body_that_is_not_json_is_refused(client: TestClient, keys: Keys, db: Database) -> None:
    count = transaction_count(db)

    response = client.post(
        URL,
        content=b'{"kind": "order_paid", "entries": [',
        headers={
            **keys.of("finance"),
            "Idempotency-Key": unique_key(),
            "Content-Type": "application/json",
        },
    )

    problem = assert_problem(response, 422, "invalid_request")
    assert [e["code"] for e in problem["errors"]] == ["json_invalid"]
    assert transaction_count(db) == count


def test_reusing_a_key_for_another_order_is_a_conflict_and_the_original_stands(
    client: TestClient, keys: Keys, db: Database, seller_id: str
) -> None:
    key = unique_key("order")
    headers = {**keys.of("finance"), "Idempotency-Key": key}
    original = client.post(URL, json=order_paid(seller_id), headers=headers)
    count = transaction_count(db)

    response = client.post(URL, json=order_paid(seller_id, gross_minor=20_000), headers=headers)

    problem = assert_problem(response, 409, "idempotency_key_reused")
    assert problem["transaction_id"] == original.json()["id"]
    assert transaction_count(db) == count
    assert balance_minor(db, pending(seller_id)) == 8800


def test_releasing_more_than_is_pending_is_refused_and_balances_are_unchanged(
    client: TestClient, keys: Keys, db: Database, seller_id: str
) -> None:
    finance = keys.of("finance")
    client.post(
        URL, json=order_paid(seller_id), headers={**finance, "Idempotency-Key": unique_key()}
    )
    key = unique_key("release")
    count = transaction_count(db)

    response = client.post(
        URL, json=release(seller_id, 8801), headers={**finance, "Idempotency-Key": key}
    )

    problem = assert_problem(response, 422, "debits_must_not_exceed_credits")
    assert problem["account"] == pending(seller_id)
    assert problem["currency"] == "EUR"
    assert transaction_count(db) == count
    assert not key_is_stored(db, key)
    assert balance_minor(db, pending(seller_id)) == 8800
    assert balance_minor(db, available(seller_id)) in (None, 0)


def test_releasing_from_a_seller_with_nothing_pending_is_refused(
    client: TestClient, keys: Keys, db: Database, seller_id: str
) -> None:
    key = unique_key("release")
    count = transaction_count(db)

    response = client.post(
        URL, json=release(seller_id, 100), headers={**keys.of("finance"), "Idempotency-Key": key}
    )

    assert_problem(response, 422, "debits_must_not_exceed_credits")
    assert transaction_count(db) == count
    assert not key_is_stored(db, key)
    assert balance_minor(db, pending(seller_id)) in (None, 0)


def test_a_refused_release_opens_no_account(
    client: TestClient, keys: Keys, db: Database, seller_id: str
) -> None:
    client.post(
        URL,
        json=release(seller_id, 100),
        headers={**keys.of("finance"), "Idempotency-Key": unique_key()},
    )

    assert balance_minor(db, pending(seller_id)) is None
    assert balance_minor(db, available(seller_id)) is None


def test_an_amount_that_would_overflow_an_accounts_totals_is_refused_as_invalid(
    client: TestClient, keys: Keys, db: Database, seller_id: str
) -> None:
    largest = 2**63 - 1
    bank = f"platform:bank:{seller_id.removeprefix('sel_')}"  # an account of this test only
    body = {
        "kind": "order_paid",
        "entries": [
            entry(bank, "debit", amount_minor=largest),
            entry(pending(seller_id), "credit", amount_minor=largest),
        ],
    }
    headers = keys.of("finance")
    first = client.post(URL, json=body, headers={**headers, "Idempotency-Key": unique_key()})
    assert first.status_code == 201, "the largest amount once is fine"

    second = client.post(URL, json=body, headers={**headers, "Idempotency-Key": unique_key()})

    assert second.status_code == 422
    assert second.json()["code"] == "account_totals_max"
    assert balance_minor(db, pending(seller_id)) == largest
