"""Builders shared by the onboarding tests: sellers, request bodies, document bytes of every kind
(real PDF/PNG/JPEG headers, executables, archives, a zip bomb), hypothesis strategies of
onboarding profiles, and readers of the audit trail and the outbox.

Imported by the test modules of this folder (pytest puts the folder on `sys.path`).
"""

from __future__ import annotations

import io
import struct
import uuid
import zipfile
import zlib
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import strategies as st
from sqlalchemy import select

from sellerpay.audit.service import list_audit_records
from sellerpay.clock import Clock
from sellerpay.db import Database
from sellerpay.events import models as event_models
from sellerpay.onboarding.demo import SIMULATION_PDF
from sellerpay.onboarding.rules import (
    VOLUME_THRESHOLDS,
    Address,
    BusinessType,
    DocumentFacts,
    DocumentKind,
    DocumentStatus,
    OnboardingProfile,
    Person,
    RejectionReason,
    VerificationStatus,
)
from sellerpay.sellers.rules import SellerStatus
from sellerpay.sellers.service import create_seller

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
CLIENT_ADDRESS = "198.51.100.7"  # where the test client's requests come from (TEST-NET-2)


def new_seller_id() -> str:
    return f"sel_{uuid.uuid4().hex}"


def new_seller(
    db: Database, clock: Clock, *, country: str = "FR", seller_id: str | None = None
) -> str:
    seller, _ = create_seller(
        db,
        seller_id=seller_id or new_seller_id(),
        legal_name="Acme Refurb SAS",
        country=country,
        clock=clock,
    )
    return seller.id


# --- request bodies ---------------------------------------------------------------------------


def company_profile_body(**fields: Any) -> dict[str, Any]:
    """A complete French company profile (valid SIREN and the VAT number that goes with it)."""
    body: dict[str, Any] = {
        "business_type": "company",
        "legal_name": "Acme Refurb SAS",
        "registration_number": "732 829 320",
        "tax_id": "FR 44 732829320",
        "address": {
            "line1": "12 rue des Lilas",
            "postal_code": "69003",
            "city": "Lyon",
            "country": "FR",
        },
        "owners_provided": True,
        "bank_account_holder_name": "ACME REFURB",
        "terms_acceptance": {"accepted_at": "2026-01-05T08:00:00Z", "ip": "203.0.113.7"},
    }
    body.update(fields)
    return body


def representative_body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "first_name": "Camille",
        "last_name": "Martin",
        "date_of_birth": "1980-04-12",
        "nationality": "FR",
        "representative": True,
        "owner": True,
        "ownership_percent": "60",
    }
    body.update(fields)
    return body


def idempotency(key: str | None = None) -> dict[str, str]:
    return {"Idempotency-Key": key or uuid.uuid4().hex}


# --- document bytes ----------------------------------------------------------------------------

PDF = SIMULATION_PDF


def pdf(marker: str = "") -> bytes:
    """A small valid PDF; `marker` makes its bytes (and hash) unique."""
    return PDF + f"% {marker}\n".encode()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png(width: int = 2, height: int = 2) -> bytes:
    """A PNG declaring `width` x `height` pixels (its pixel data is tiny whatever it declares:
    a huge declaration is what a decompression bomb looks like)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * 3)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", rows)
        + _png_chunk(b"IEND", b"")
    )


def jpeg(width: int = 16, height: int = 16) -> bytes:
    """A JPEG's segments up to and after its frame header (SOF0) with these dimensions."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return (
        b"\xff\xd8"
        + app0
        + sof0
        + b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00"
        + b"\x00" * 8
        + b"\xff\xd9"
    )


def windows_executable() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64 + b"PE\x00\x00"


def zip_bomb(expanded_bytes: int = 50 * 1024 * 1024) -> bytes:
    """A zip whose one member inflates to `expanded_bytes` of zeros (50 MiB from ~50 KiB)."""
    buffer = io.BytesIO()
    chunk = b"\x00" * (1024 * 1024)
    with (
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z,
        z.open("passport.pdf", "w", force_zip64=True) as member,
    ):
        for _ in range(expanded_bytes // len(chunk)):
            member.write(chunk)
    return buffer.getvalue()


def pdf_with_zip_appended() -> bytes:
    """A polyglot: a valid PDF that is also a zip archive (zip readers look at the end)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("payload.txt", "x" * 100)
    return PDF + buffer.getvalue()


# --- the audit trail and the outbox ---------------------------------------------------------


def audit_actions(db: Database, seller_id: str) -> list[tuple[str, str, str | None]]:
    """(action, actor, source_ip) of the audit records about `seller_id`, oldest first."""
    records, _ = list_audit_records(db, subject_type="seller", subject_id=seller_id, limit=500)
    return [(r.action, r.actor, r.source_ip) for r in reversed(records)]


def event_types(db: Database, subject: str) -> list[str]:
    o = event_models.outbox.c
    with db.reading() as conn:
        return list(
            conn.execute(select(o.type).where(o.subject == subject).order_by(o.id)).scalars()
        )


def events_of(db: Database, subject: str, event_type: str) -> list[dict[str, Any]]:
    o = event_models.outbox.c
    with db.reading() as conn:
        rows = conn.execute(
            select(o.data).where(o.subject == subject, o.type == event_type).order_by(o.id)
        ).scalars()
        return [dict(row) for row in rows]


# --- hypothesis: onboarding profiles ------------------------------------------------------------

COUNTRIES = ("FR", "ES", "US", "JP", "DE", "BR")
THRESHOLD_AMOUNTS = tuple(sorted({t.amount.amount_minor for t in VOLUME_THRESHOLDS}))

names = st.sampled_from(["Camille", "Martin", "Yamada", "Sato", "García"])
maybe_text = st.none() | st.sampled_from(["Acme Refurb SAS", "X", "株式会社アクメ"])
moments = st.integers(min_value=0, max_value=90 * 24).map(lambda h: START + timedelta(hours=h))


@st.composite
def persons(draw: st.DrawFn, *, index: int) -> Person:
    owner = draw(st.booleans())
    return Person(
        id=f"per_{index}",
        first_name=draw(names),
        last_name=draw(names),
        first_name_kana=draw(st.none() | st.just("タロウ")),
        last_name_kana=draw(st.none() | st.just("ヤマダ")),
        date_of_birth=draw(st.none() | st.just(date(1980, 4, 12))),
        representative=draw(st.booleans()),
        owner=owner,
        ownership_bps=draw(st.integers(min_value=1, max_value=10_000)) if owner else 0,
    )


@st.composite
def documents(draw: st.DrawFn, *, index: int, person_ids: list[str]) -> DocumentFacts:
    status = draw(st.sampled_from(DocumentStatus))
    return DocumentFacts(
        id=f"doc_{index}",
        kind=draw(st.sampled_from(DocumentKind)),
        status=status,
        person_id=draw(st.none() | st.sampled_from(person_ids)) if person_ids else None,
        reason_code=draw(st.sampled_from(RejectionReason)).value
        if status is DocumentStatus.REJECTED
        else None,
    )


_DROPPABLE = (
    "legal_name",
    "legal_name_kana",
    "registration_number",
    "tax_id",
    "address",
    "bank_account_holder_name",
    "terms_accepted_at",
    "persons",
    "documents",
    "owners_provided",
)


@st.composite
def near_complete_profiles(draw: st.DrawFn) -> OnboardingProfile:
    """A profile with everything any rule asks for, approved, then a few pieces taken away (none
    at all, often): where payable sellers and single missing pieces come from."""
    representative = Person(
        "per_0",
        "Camille",
        "Martin",
        "カミーユ",
        "マルタン",
        date(1980, 4, 12),
        "FR",
        representative=True,
        owner=True,
        ownership_bps=draw(st.integers(2_500, 10_000)),
    )
    documents = tuple(
        DocumentFacts(f"doc_{kind.value}", kind, DocumentStatus.APPROVED) for kind in DocumentKind
    )
    profile = OnboardingProfile(
        seller_id="sel_property",
        country=draw(st.sampled_from(COUNTRIES)),
        seller_status=draw(st.sampled_from([SellerStatus.ACTIVE] * 3 + list(SellerStatus))),
        started_at=START,
        business_type=draw(st.sampled_from(BusinessType)),
        legal_name="Acme Refurb SAS",
        legal_name_kana="アクメ",
        registration_number="732829320",
        tax_id="FR44732829320",
        address=Address("1 rue", "Lyon", "69003", "FR"),
        owners_provided=True,
        persons=(representative,),
        documents=documents,
        bank_account_holder_name="ACME REFURB",
        terms_accepted_at=START,
        verification_status=draw(
            st.sampled_from([VerificationStatus.VERIFIED] * 3 + list(VerificationStatus))
        ),
        volume_reached_at=dict.fromkeys(draw(st.sets(st.sampled_from(THRESHOLD_AMOUNTS))), START),
        sanctions_blocked=draw(st.sampled_from([False, False, True])),
    )
    dropped = draw(st.sets(st.sampled_from(_DROPPABLE), max_size=2))
    emptied = {
        name: False
        if name == "owners_provided"
        else ()
        if name in ("persons", "documents")
        else None
        for name in dropped
    }
    return replace(profile, **emptied)


@st.composite
def any_profiles(draw: st.DrawFn) -> OnboardingProfile:
    """Any profile the rules may meet: fields present or not, any persons and documents (owners
    adding up past 100 % too), any verification state, thresholds reached or not."""
    people = [draw(persons(index=i)) for i in range(draw(st.integers(0, 3)))]
    ids = [p.id for p in people]
    docs = [draw(documents(index=i, person_ids=ids)) for i in range(draw(st.integers(0, 5)))]
    legal_name = draw(maybe_text)
    reached = draw(st.lists(st.sampled_from(THRESHOLD_AMOUNTS), unique=True, max_size=2))
    return OnboardingProfile(
        seller_id="sel_property",
        country=draw(st.sampled_from(COUNTRIES)),
        seller_status=draw(st.sampled_from(SellerStatus)),
        started_at=START,
        business_type=draw(st.none() | st.sampled_from(BusinessType)),
        legal_name=legal_name,
        legal_name_kana=draw(st.none() | st.just("アクメ")),
        registration_number=draw(st.none() | st.just("732829320")),
        tax_id=draw(st.none() | st.just("FR44732829320")),
        address=draw(st.none() | st.just(Address("1 rue", "Lyon", "69003", "FR"))),
        owners_provided=draw(st.booleans()),
        persons=tuple(people),
        documents=tuple(docs),
        bank_account_holder_name=draw(
            st.none() | st.sampled_from([legal_name or "Acme Refurb", "Someone Else Entirely"])
        ),
        bank_account_holder_approved=draw(st.booleans()),
        terms_accepted_at=draw(st.none() | st.just(START)),
        verification_status=draw(st.sampled_from(VerificationStatus)),
        verification_reason_code=draw(st.none() | st.just("unreadable")),
        volume_reached_at={amount: draw(moments) for amount in reached},
        sanctions_blocked=draw(st.booleans()),
    )


profiles = st.one_of(any_profiles(), near_complete_profiles())
"""Profiles of every kind, complete ones (payable) included."""
