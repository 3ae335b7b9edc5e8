"""Builders shared by the screening tests: the list fixture files in tests/screening/data (real
formats, real published entries, see data/README.md), changed versions of them, sellers with
onboarding persons, and readers of matches, events and the audit trail.

Imported by the test modules of this folder (pytest puts the folder on `sys.path`).
"""

from __future__ import annotations

import io
import uuid
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from sellerpay.audit.service import list_audit_records
from sellerpay.clock import Clock
from sellerpay.db import Database
from sellerpay.events import models as event_models
from sellerpay.onboarding import service as onboarding_service
from sellerpay.onboarding.rules import BusinessType
from sellerpay.screening import service
from sellerpay.screening.lists import parse_eu_xml, parse_ofac_xml
from sellerpay.screening.rules import ListEntry, SanctionsList
from sellerpay.sellers.service import create_seller

DATA = Path(__file__).resolve().parent / "data"
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ACTOR = "key:test (screening tests, compliance)"
CLIENT_ADDRESS = "198.51.100.23"  # where the test client's requests come from (TEST-NET-2)
PUTIN_OFAC = ("ofac-sdn", "35096")
PUTIN_EU = ("eu-fsf", "139988")


def data(relative: str) -> bytes:
    return (DATA / relative).read_bytes()


def ofac_xml() -> bytes:
    return data("ofac/sdn.xml")


def eu_xml() -> bytes:
    return data("eu/eu-fsf.xml")


def ofac_csv_files() -> dict[str, bytes]:
    return {name: data(f"ofac/{name}") for name in ("sdn.csv", "add.csv", "alt.csv")}


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def fixture_entries() -> dict[tuple[str, str], ListEntry]:
    """Every entry of both fixture lists, by (list name, entry id)."""
    found: dict[tuple[str, str], ListEntry] = {}
    for parsed in (parse_ofac_xml(ofac_xml()), parse_eu_xml(eu_xml())):
        found.update({(e.list_name, e.entry_id): e for e in parsed.entries})
    return found


def eu_xml_with_putin_alias(alias: str = "Vladimir PUTIN") -> bytes:
    """The EU fixture with one more alias on Putin's entry: that entry's content changes, and
    only that entry's."""
    marker = b'wholeName="Vladimir Vladimirovich PUTIN"'
    assert eu_xml().count(marker) == 1
    extra = (
        f'<nameAlias wholeName="{alias}" nameLanguage="EN" strong="true" logicalId="999001"/>\n    '
    ).encode()
    anchor = b'<citizenship region="" countryIso2Code="RU" countryDescription="RUSSIAN FEDERATION"'
    head, tail = eu_xml().split(anchor, 1)
    before_putin, putin_part = head.rsplit(b"<sanctionEntity", 1)
    assert marker in putin_part  # the first citizenship after Putin's aliases is his
    return before_putin + b"<sanctionEntity" + putin_part + extra + anchor + tail


def eu_xml_without(logical_id: str) -> bytes:
    """The EU fixture with one entry removed (delisted)."""
    text = eu_xml().decode()
    start = text.index(f'logicalId="{logical_id}">')
    start = text.rindex("<sanctionEntity", 0, start)
    end = text.index("</sanctionEntity>", start) + len("</sanctionEntity>")
    return (text[:start] + text[end:]).encode()


def new_seller_id() -> str:
    return f"sel_{uuid.uuid4().hex}"


def new_seller(
    db: Database,
    clock: Clock,
    *,
    legal_name: str = "Acme Refurb SAS",
    country: str = "FR",
    business_type: BusinessType | None = BusinessType.COMPANY,
    legal_name_kana: str | None = None,
) -> str:
    """A seller, and its onboarding profile when a business type is given."""
    seller, _ = create_seller(
        db, seller_id=new_seller_id(), legal_name=legal_name, country=country, clock=clock
    )
    if business_type is not None:
        onboarding_service.put_profile(
            db,
            seller.id,
            onboarding_service.ProfileSubmission(
                business_type=business_type, legal_name=legal_name, legal_name_kana=legal_name_kana
            ),
            actor=ACTOR,
            now=clock.now(),
        )
    return seller.id


def add_person(
    db: Database,
    clock: Clock,
    seller_id: str,
    first_name: str,
    last_name: str,
    *,
    born: date | None = None,
    nationality: str | None = None,
    representative: bool = True,
    owner_percent: str | None = None,
) -> str:
    person, _ = onboarding_service.add_person(
        db,
        seller_id,
        onboarding_service.PersonSubmission(
            first_name=first_name,
            last_name=last_name,
            date_of_birth=born,
            nationality=nationality,
            representative=representative,
            owner=owner_percent is not None,
            ownership_percent=None if owner_percent is None else Decimal(owner_percent),
        ),
        idempotency_key=uuid.uuid4().hex,
        actor=ACTOR,
        now=clock.now(),
    )
    return person.id


def load(
    db: Database, clock: Clock, list_name: SanctionsList, files: dict[str, bytes]
) -> service.LoadResult:
    return service.load_list(db, list_name, files, actor=ACTOR, clock=clock)


def load_both_lists(db: Database, clock: Clock) -> None:
    load(db, clock, SanctionsList.OFAC_SDN, {"sdn.xml": ofac_xml()})
    load(db, clock, SanctionsList.EU_FSF, {"eu-fsf.xml": eu_xml()})


def matches_of(db: Database, seller_id: str) -> list[service.Match]:
    matches, _ = service.list_matches(db, seller_id=seller_id, limit=service.page_size_max)
    return matches


def entry_keys(matches: list[service.Match]) -> set[tuple[str, str]]:
    return {(m.entry.list_name, m.entry.entry_id) for m in matches}


def events_about(db: Database, subject: str) -> list[tuple[str, dict[str, Any]]]:
    """The (type, data) of the outbox events about `subject`, oldest first."""
    o = event_models.outbox.c
    with db.reading() as conn:
        rows = conn.execute(select(o.type, o.data).where(o.subject == subject).order_by(o.id)).all()
    return [(row.type, row.data) for row in rows]


def audit_actions(db: Database, subject_type: str, subject_id: str) -> list[str]:
    records, _ = list_audit_records(db, subject_type=subject_type, subject_id=subject_id)
    return [record.action for record in reversed(records)]
