"""Compliance: the queue, document reviews and manual decisions, each audited (who, what, from
where, before and after) and announced (outbox events), with four eyes on documents."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from onboarding_builders import (
    CLIENT_ADDRESS,
    audit_actions,
    company_profile_body,
    event_types,
    events_of,
    idempotency,
    pdf,
    representative_body,
)

from http_support import Keys, assert_problem
from sellerpay.audit.service import list_audit_records, verify_chain
from sellerpay.clock import FixedClock
from sellerpay.db import Database


def onboard(client: TestClient, keys: Keys, seller_id: str, **profile: Any) -> dict[str, str]:
    """A French company with everything sent by the seller; the ids of its documents by kind."""
    assert (
        client.put(
            f"/v1/sellers/{seller_id}/onboarding",
            json=company_profile_body(**profile),
            headers=keys.of("seller"),
        ).status_code
        == 200
    )
    assert (
        client.post(
            f"/v1/sellers/{seller_id}/persons",
            json=representative_body(),
            headers={**keys.of("seller"), **idempotency()},
        ).status_code
        == 201
    )
    documents = {}
    for kind in ("proof_of_identity", "proof_of_registration", "proof_of_bank_account"):
        response = client.post(
            f"/v1/sellers/{seller_id}/documents",
            files={"file": (f"{kind}.pdf", pdf(f"{seller_id}{kind}"), "application/pdf")},
            data={"kind": kind},
            headers={**keys.of("seller"), **idempotency()},
        )
        assert response.status_code == 201, response.text
        documents[kind] = response.json()["id"]
    return documents


def review(
    client: TestClient,
    keys: Keys,
    document_id: str,
    who: str = "compliance",
    key: str | None = None,
    **body: Any,
) -> Any:
    return client.post(
        f"/v1/compliance/documents/{document_id}/review",
        json={"decision": "approve", **body},
        headers={**keys.of(who), **idempotency(key)},
    )


def decide(
    client: TestClient,
    keys: Keys,
    seller_id: str,
    who: str = "compliance",
    key: str | None = None,
    **body: Any,
) -> Any:
    return client.post(
        f"/v1/compliance/sellers/{seller_id}/decision",
        json={"scope": "verification", "decision": "approve", **body},
        headers={**keys.of(who), **idempotency(key)},
    )


def onboarding(client: TestClient, keys: Keys, seller_id: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(
        f"/v1/sellers/{seller_id}/onboarding", headers=keys.of("compliance")
    ).json()
    return body


def queue_entry(client: TestClient, keys: Keys, seller_id: str) -> dict[str, Any] | None:
    """The seller's entry in the compliance queue (read page by page: the database is shared)."""
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/compliance/queue", params=params, headers=keys.of("compliance"))
        assert page.status_code == 200, page.text
        for item in page.json()["sellers"]:
            if item["seller_id"] == seller_id:
                return dict(item)
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return None


def test_approving_every_document_and_the_verification_enables_payouts(
    client: TestClient, keys: Keys, seller: str, db: Database
) -> None:
    documents = onboard(client, keys, seller)

    for document_id in documents.values():
        reviewed = review(client, keys, document_id)
        assert reviewed.status_code == 200, reviewed.text
        assert reviewed.json()["status"] == "approved"
    decided = decide(client, keys, seller, note="registry extract checked by hand")

    assert decided.status_code == 201, decided.text
    assert decided.json()["decided_by"].startswith("key:")
    body = onboarding(client, keys, seller)
    assert body["verification"] == {
        "status": "verified",
        "provider": "manual",
        "reason_code": None,
        "reason": f"decided by {decided.json()['decided_by']}",
        "updated_at": "2026-01-05T09:00:00Z",
    }
    assert body["requirements"]["pending_verification"] == []
    assert body["capabilities"] == {
        "payouts_enabled": True,
        "sales_enabled": True,
        "disabled_reason": None,
    }
    seller_view = client.get(f"/v1/sellers/{seller}", headers=keys.of("seller")).json()
    assert seller_view["capabilities"] == body["capabilities"]
    assert "seller.capabilities_changed" in event_types(db, seller)
    assert events_of(db, seller, "seller.capabilities_changed")[-1]["after"] == body["capabilities"]


def test_a_rejected_document_is_an_error_the_seller_sees_with_a_reason(
    client: TestClient, keys: Keys, seller: str, db: Database
) -> None:
    documents = onboard(client, keys, seller)

    rejected = review(
        client,
        keys,
        documents["proof_of_bank_account"],
        decision="reject",
        reason_code="unreadable",
        note="blurred",
    )

    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["status"], rejected.json()["reason_code"]) == ("rejected", "unreadable")
    own = client.get(f"/v1/sellers/{seller}/onboarding", headers=keys.of("seller")).json()
    assert "documents.proof_of_bank_account" in own["requirements"]["currently_due"]
    assert own["requirements"]["errors"] == [
        {
            "requirement": "documents.proof_of_bank_account",
            "code": "document_unreadable",
            "reason": "the proof of bank account was refused: "
            "it cannot be read; upload a sharper scan",
        }
    ]
    assert events_of(db, seller, "seller.document_reviewed")[-1] == {
        "seller_id": seller,
        "document_id": documents["proof_of_bank_account"],
        "kind": "proof_of_bank_account",
        "status": "rejected",
        "reason_code": "unreadable",
    }


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"decision": "reject"}, "reason_code_required"),
        ({"decision": "approve", "reason_code": "expired"}, "reason_code_not_allowed"),
    ],
)
def test_a_rejection_names_its_reason_and_an_approval_does_not(
    client: TestClient, keys: Keys, seller: str, body: dict[str, Any], code: str
) -> None:
    documents = onboard(client, keys, seller)

    response = review(client, keys, documents["proof_of_identity"], **body)

    assert_problem(response, 422, code, field="body.reason_code")


def test_a_document_is_reviewed_once_and_a_retry_replays_the_review(
    client: TestClient, keys: Keys, seller: str
) -> None:
    document_id = onboard(client, keys, seller)["proof_of_identity"]

    first = review(client, keys, document_id, key="review-1")
    replay = review(client, keys, document_id, key="review-1")
    second = review(client, keys, document_id, decision="reject", reason_code="expired")
    unknown = review(client, keys, "doc_doesnotexist")

    assert first.status_code == replay.status_code == 200
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json() == first.json()
    body = assert_problem(second, 409, "document_already_reviewed")
    assert body["document_status"] == "approved"
    assert_problem(unknown, 404, "document_not_found")


def test_nobody_reviews_a_document_they_uploaded_themselves(
    client: TestClient, keys: Keys, seller: str
) -> None:
    uploaded = client.post(
        f"/v1/sellers/{seller}/documents",
        files={"file": ("kbis.pdf", pdf("by compliance"), "application/pdf")},
        data={"kind": "proof_of_registration"},
        headers={**keys.of("compliance"), **idempotency()},
    )
    assert uploaded.status_code == 201, uploaded.text

    own = review(client, keys, uploaded.json()["id"], who="compliance")
    other = review(client, keys, uploaded.json()["id"], who="admin")

    assert_problem(own, 403, "four_eyes")
    assert other.status_code == 200, other.text


def test_every_change_and_decision_is_audited_with_who_from_where_and_before_after(
    client: TestClient, keys: Keys, seller: str, db: Database
) -> None:
    documents = onboard(client, keys, seller)
    review(client, keys, documents["proof_of_identity"], decision="reject", reason_code="expired")
    decide(client, keys, seller, decision="reject", reason_code="name_mismatch")

    actions = audit_actions(db, seller)

    assert [action for action, _, _ in actions] == [
        "onboarding.profile_updated",
        "onboarding.person_added",
        "onboarding.document_uploaded",
        "onboarding.document_uploaded",
        "onboarding.document_uploaded",
        "onboarding.document_reviewed",
        "onboarding.verification_decided",
    ]
    assert {ip for _, _, ip in actions} == {CLIENT_ADDRESS}
    assert all(actor.startswith("key:") for _, actor, _ in actions)
    assert "compliance" in actions[-1][1] and f"seller {seller}" in actions[0][1]
    records, _ = list_audit_records(db, subject_type="seller", subject_id=seller, limit=10)
    reviewed = next(r for r in records if r.action == "onboarding.document_reviewed")
    assert reviewed.before is not None and reviewed.after is not None
    assert (reviewed.before["status"], reviewed.after["status"]) == ("pending", "rejected")
    assert reviewed.after["reason_code"] == "expired"
    profile = next(r for r in records if r.action == "onboarding.profile_updated")
    assert profile.after is not None and profile.after["tax_id"] == "*********9320"  # masked
    decided = records[0]
    assert decided.before == {"verification_status": "pending", "reason_code": None}
    assert decided.after == {"verification_status": "rejected", "reason_code": "name_mismatch"}
    assert verify_chain(db).ok


def test_a_rejected_verification_is_an_error_until_the_seller_corrects_its_details(
    client: TestClient, keys: Keys, seller: str
) -> None:
    onboard(client, keys, seller)
    decide(client, keys, seller, decision="reject", reason_code="name_mismatch")
    refused = onboarding(client, keys, seller)

    corrected = client.put(
        f"/v1/sellers/{seller}/onboarding",
        json=company_profile_body(
            legal_name="Acme Refurbished SAS", bank_account_holder_name="ACME REFURBISHED"
        ),
        headers=keys.of("seller"),
    )

    assert refused["verification"]["status"] == "rejected"
    assert {"requirement": "verification", "code": "verification_name_mismatch"}.items() <= (
        refused["requirements"]["errors"][0].items()
    )
    assert corrected.json()["verification"]["status"] == "pending"  # sent again
    assert corrected.json()["requirements"]["errors"] == []


def test_a_bank_account_in_another_name_waits_for_compliance_in_the_queue(
    client: TestClient, keys: Keys, seller: str
) -> None:
    documents = onboard(client, keys, seller, bank_account_holder_name="John Smith")

    entry = queue_entry(client, keys, seller)
    approved = decide(client, keys, seller, scope="bank_account_ownership")
    again = decide(client, keys, seller, scope="bank_account_ownership")

    assert entry is not None
    assert entry["requirements"]["errors"][0]["code"] == "holder_name_mismatch"
    assert [d["id"] for d in entry["documents_to_review"]] == list(documents.values())
    assert entry["capabilities"]["payouts_enabled"] is False
    assert approved.status_code == 201, approved.text
    assert onboarding(client, keys, seller)["requirements"]["errors"] == []
    assert_problem(again, 409, "nothing_to_decide")


def test_a_new_holder_name_needs_a_new_decision(
    client: TestClient, keys: Keys, seller: str
) -> None:
    onboard(client, keys, seller, bank_account_holder_name="John Smith")
    decide(client, keys, seller, scope="bank_account_ownership")

    client.put(
        f"/v1/sellers/{seller}/onboarding",
        json=company_profile_body(bank_account_holder_name="Jane Doe"),
        headers=keys.of("seller"),
    )

    errors = onboarding(client, keys, seller)["requirements"]["errors"]
    assert [e["code"] for e in errors] == ["holder_name_mismatch"]


def test_a_verification_decision_needs_a_verification_to_decide(
    client: TestClient, keys: Keys, seller: str
) -> None:
    nothing_sent = decide(client, keys, seller)
    missing = decide(client, keys, "sel_doesnotexist")
    bad_id = decide(client, keys, "robert'); DROP TABLE sellers")

    body = assert_problem(nothing_sent, 409, "nothing_to_decide")
    assert body["verification_status"] == "none"
    assert_problem(missing, 404, "seller_not_found")
    assert_problem(bad_id, 404, "seller_not_found")


def test_the_queue_lists_sellers_with_something_to_review_and_leaves_the_others_out(
    client: TestClient, keys: Keys, seller: str, other_seller_id: str, clock: FixedClock
) -> None:
    documents = onboard(client, keys, seller)

    waiting = queue_entry(client, keys, seller)
    untouched = queue_entry(client, keys, other_seller_id)  # nothing sent, nothing past due yet

    assert waiting is not None
    assert waiting["verification_status"] == "pending"
    assert len(waiting["documents_to_review"]) == len(documents)
    assert untouched is None


def test_the_queue_pages_with_its_own_cursor_and_refuses_foreign_ones(
    client: TestClient, keys: Keys, seller: str
) -> None:
    onboard(client, keys, seller)

    first = client.get("/v1/compliance/queue", params={"limit": 1}, headers=keys.of("admin"))
    bad = client.get("/v1/compliance/queue", params={"cursor": "bm9wZQ"}, headers=keys.of("admin"))
    too_many = client.get("/v1/compliance/queue", params={"limit": 201}, headers=keys.of("admin"))

    assert first.status_code == 200 and len(first.json()["sellers"]) == 1
    assert_problem(bad, 422, "invalid_cursor")
    assert_problem(too_many, 422, "invalid_request")
