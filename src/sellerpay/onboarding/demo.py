"""Onboard a simulated seller in one call (the demo and the simulation): a complete, valid profile
for its country, its representative (also its only owner), its documents approved, and its
verification queued for the (simulated) provider.

    onboard_simulated_seller(db, "sel_42", now=now)        # everything sent, documents approved
    poll_verifications(db, now + delay)                    # the provider answers: most verified

After both, `capabilities_of` enables payouts for the verified ones; the others wait for a
compliance decision (`requirements_pending_verification`). Calling it twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Final

from sellerpay.db import Database
from sellerpay.onboarding import service
from sellerpay.onboarding.documents import DocumentStore
from sellerpay.onboarding.rules import Address, BusinessType, DocumentKind, RejectionReason
from sellerpay.sellers.service import get_seller

__all__ = ["SIMULATION_PDF", "onboard_simulated_seller"]

SIMULATION_PDF: Final = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
"""One small valid PDF stands for every simulated proof: stored once, content-addressed."""
UPLOADER: Final = "system:simulation"
REVIEWER: Final = "system:simulation-review"


@dataclass(frozen=True, slots=True)
class _Identity:
    """Valid ids of a made-up seller of one country (check digits computed right)."""

    registration_number: str | None
    company_tax_id: str | None
    individual_tax_id: str | None


_IDENTITIES: Final = {
    "FR": _Identity("732829320", "FR44732829320", "3023217600053"),
    "ES": _Identity("B58378431", "ESB58378431", "12345678Z"),
    "US": _Identity("04-2103594", None, "536-90-4399"),
    "JP": _Identity("5835678256246", "T5835678256246", None),
}
_ELSEWHERE: Final = _Identity("DEMO0001", None, None)


def onboard_simulated_seller(
    db: Database,
    seller_id: str,
    *,
    now: datetime,
    business_type: BusinessType = BusinessType.COMPANY,
    holder_name: str | None = None,
    approve_documents: bool = True,
    store: DocumentStore | None = None,
) -> service.OnboardingView:
    """Send everything a seller of this country and type needs; `holder_name` other than the
    legal name simulates a bank account in someone else's name (compliance must decide)."""
    seller = get_seller(db, seller_id)
    japanese = seller.country == "JP"
    legal_name = f"株式会社デモ{seller_id[-4:]}" if japanese else f"Demo Refurb {seller_id[-6:]}"
    identity = _IDENTITIES.get(seller.country, _ELSEWHERE)
    business = business_type in (BusinessType.COMPANY, BusinessType.NON_PROFIT)
    submission = service.ProfileSubmission(
        business_type=business_type,
        legal_name=legal_name,
        legal_name_kana="デモ" if japanese else None,
        registration_number=identity.registration_number if business else None,
        tax_id=identity.company_tax_id if business else identity.individual_tax_id,
        address=Address("1 Demo Street", "Demo City", "75001", seller.country),
        owners_provided=business_type is BusinessType.COMPANY,
        bank_account_holder_name=holder_name or legal_name,
        terms_accepted_at=now,
        terms_accepted_ip="192.0.2.10",
    )
    service.put_profile(db, seller_id, submission, actor=UPLOADER, now=now)
    _add_representative(db, seller_id, japanese=japanese, now=now)
    kinds = [DocumentKind.PROOF_OF_IDENTITY, DocumentKind.PROOF_OF_BANK_ACCOUNT]
    if business:
        kinds.append(DocumentKind.PROOF_OF_REGISTRATION)
    for kind in kinds:
        document, _ = service.upload_document(
            db,
            seller_id,
            service.DocumentUpload(kind, SIMULATION_PDF, f"{kind.value}.pdf"),
            idempotency_key=f"simulation:{kind.value}",
            actor=UPLOADER,
            now=now,
            store=store,
        )
        if approve_documents:
            _approve(db, document.id, now=now)
    return service.get_onboarding(db, seller_id, now=now)


def _add_representative(db: Database, seller_id: str, *, japanese: bool, now: datetime) -> None:
    person = service.PersonSubmission(
        first_name="太郎" if japanese else "Camille",
        last_name="山田" if japanese else "Martin",
        first_name_kana="タロウ" if japanese else None,
        last_name_kana="ヤマダ" if japanese else None,
        date_of_birth=date(1980, 4, 12),
        representative=True,
        owner=True,
        ownership_percent=Decimal(100),
    )
    service.add_person(
        db, seller_id, person, idempotency_key="simulation:representative", actor=UPLOADER, now=now
    )


def _approve(db: Database, document_id: str, *, now: datetime) -> None:
    service.review_document(
        db,
        document_id,
        approve=True,
        idempotency_key="simulation:review",
        actor=REVIEWER,
        now=now,
    )


def reject_for_demo(db: Database, document_id: str, *, now: datetime) -> None:
    """Reject a simulated document as unreadable (a seller who must upload it again)."""
    service.review_document(
        db,
        document_id,
        approve=False,
        reason_code=RejectionReason.UNREADABLE,
        idempotency_key="simulation:review",
        actor=REVIEWER,
        now=now,
    )
