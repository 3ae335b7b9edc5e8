"""Use cases of sanctions screening: load a list version, keep the screened parties (subjects) in
step with sellers and their onboarding persons, screen them, and decide the potential matches.

Loading a version stores it with its entries and then rescreens, screening only what changed
when it can: the entries added or changed since the list's previous version against every
subject, and every entry against the subjects that are new or changed since they were last
screened. A match is remembered per (subject, entry, entry content hash, subject details hash):
a cleared match is not raised again until the entry or the party changes. Confirming a match
blocks the seller at once (`onboarding.service.set_sanctions_block`: payouts and sales off),
records `screening.match_confirmed` and logs an alert; every decision and every load is
audited.

Errors: `ListFormatError` (422 `list_format…`, naming the file and the line or element),
`InvalidInput` (`invalid_note`, `invalid_limit`, `invalid_threshold`), `NotFound`
(`match_not_found`), `Conflict` (`match_already_decided`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from functools import partial
from typing import Any, Final

import structlog
from sqlalchemy import Connection, Row, and_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from sellerpay.audit.service import record_audit
from sellerpay.clock import Clock
from sellerpay.db import Database
from sellerpay.errors import Conflict, InvalidInput, NotFound
from sellerpay.events.service import record_event
from sellerpay.ids import prefixed_id
from sellerpay.onboarding import service as onboarding_service
from sellerpay.onboarding.rules import BusinessType
from sellerpay.screening import models
from sellerpay.screening.lists import ParsedList, parse_list_files
from sellerpay.screening.rules import (
    EntityType,
    Hit,
    ListEntry,
    Party,
    SanctionsList,
    ScreeningIndex,
)
from sellerpay.sellers import service as sellers_service
from sellerpay.settings import get_settings

__all__ = [
    "Decision",
    "ListVersion",
    "LoadResult",
    "Match",
    "RescreenReport",
    "Subject",
    "SubjectRole",
    "current_entries",
    "decide_match",
    "get_match",
    "list_matches",
    "list_versions",
    "load_list",
    "rescreen",
    "rescreen_job",
    "screen_party",
    "sync_subjects",
]

log = structlog.get_logger(__name__)

page_size_max: Final = 200
note_length_max: Final = 2_000
write_chunk_size: Final = 500
"""Rows written per unit of work when storing entries or screening results."""
sellers_page_size: Final = 500

_v = models.screening_list_versions.c
_c = models.screening_entry_contents.c
_ve = models.screening_version_entries.c
_s = models.screening_subjects.c
_m = models.screening_matches.c


class SubjectRole(StrEnum):
    SELLER = "seller"  # the seller itself: its legal name
    REPRESENTATIVE = "representative"  # an onboarding person who represents the seller
    OWNER = "owner"  # a beneficial owner who is not the representative


class MatchStatus(StrEnum):
    OPEN = "open"
    CONFIRMED = "confirmed"
    CLEARED = "cleared"


class Decision(StrEnum):
    CONFIRM = "confirm"  # it is the listed party: block the seller
    CLEAR = "clear"  # it is not: remember, and do not raise it again for this entry content


# --- views ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListVersion:
    """One loaded version of a list, and how it differs from the version before."""

    id: str
    list_name: SanctionsList
    version: str
    published_on: date | None
    source_format: str
    content_hash: str
    entry_count: int
    added_count: int
    changed_count: int
    removed_count: int
    loaded_at: datetime
    loaded_by: str
    rescreened_at: datetime | None  # None: its changes are not screened yet

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "list_name": self.list_name.value,
            "version": self.version,
            "published_on": None if self.published_on is None else self.published_on.isoformat(),
            "source_format": self.source_format,
            "content_hash": self.content_hash,
            "entry_count": self.entry_count,
            "added_count": self.added_count,
            "changed_count": self.changed_count,
            "removed_count": self.removed_count,
            "loaded_at": self.loaded_at.isoformat(),
            "loaded_by": self.loaded_by,
            "rescreened_at": None if self.rescreened_at is None else self.rescreened_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Subject:
    """A party screened for a seller: the seller itself, or one of its onboarding persons."""

    id: str
    seller_id: str
    role: SubjectRole
    reference: str
    entity_type: EntityType | None
    names: tuple[str, ...]
    date_of_birth: date | None
    countries: tuple[str, ...]
    details_hash: str
    screened_hash: str | None
    active: bool

    def party(self) -> Party:
        return Party(
            names=self.names,
            entity_type=self.entity_type,
            date_of_birth=self.date_of_birth,
            countries=self.countries,
        )


@dataclass(frozen=True, slots=True)
class Match:
    """A potential match in the review queue, with the subject and the entry it is about."""

    id: str
    status: MatchStatus
    score: int
    reasons: tuple[str, ...]
    matched_name: str
    seller_id: str
    subject: Subject
    entry: ListEntry
    version_id: str
    decided_by: str | None
    decided_at: datetime | None
    note: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class RescreenReport:
    """What a rescreen did: subjects screened against every entry (new or changed subjects, or
    all with `full`), subjects screened against the changed entries only, and matches."""

    subjects_changed: int
    subjects_screened_in_full: int
    subjects_screened_for_changes: int
    entries_changed: int
    matches_opened: int
    matches_updated: int

    def public(self) -> dict[str, int]:
        return {
            "subjects_changed": self.subjects_changed,
            "subjects_screened_in_full": self.subjects_screened_in_full,
            "subjects_screened_for_changes": self.subjects_screened_for_changes,
            "entries_changed": self.entries_changed,
            "matches_opened": self.matches_opened,
            "matches_updated": self.matches_updated,
        }


@dataclass(frozen=True, slots=True)
class LoadResult:
    """The version loaded (or the one already loaded with the same content: `created` False)
    and the rescreen that followed (None when nothing changed or rescreening was not asked)."""

    version: ListVersion
    created: bool
    rescreen: RescreenReport | None


# --- list versions ----------------------------------------------------------------------------


def load_list(
    db: Database,
    list_name: SanctionsList,
    files: Mapping[str, bytes],
    *,
    actor: str,
    clock: Clock,
    source_ip: str | None = None,
    rescreen_after: bool = True,
    threshold: int | None = None,
) -> LoadResult:
    """Parse the files (one XML file, OFAC's CSV files, or a ZIP of either), store the version
    unless its content equals the list's current version, then rescreen what changed.

    Parsing happens before anything is stored: a malformed file raises `ListFormatError` and
    leaves the database as it was. A version is stored "not rescreened yet"; the rescreen (now,
    or `rescreen` later if not asked or if this process dies first) screens its changes.
    """
    parsed = parse_list_files(list_name, files)
    version, created = _store_version(db, parsed, actor=actor, clock=clock, ip=source_ip)
    report = None
    if created and rescreen_after:
        report = rescreen(db, clock=clock, threshold=threshold)
        with db.reading() as conn:
            version = _version(_version_row(conn, version.id))  # now marked rescreened
    return LoadResult(version, created, report)


def _version_hash(entries: Sequence[ListEntry]) -> str:
    content = "\n".join(sorted(f"{e.entry_id}:{e.content_hash}" for e in entries))
    return hashlib.sha256(content.encode()).hexdigest()


def _store_version(
    db: Database, parsed: ParsedList, *, actor: str, clock: Clock, ip: str | None
) -> tuple[ListVersion, bool]:
    """Store the parsed list as a new version; returns it and whether it is new."""
    content_hash = _version_hash(parsed.entries)
    name = parsed.list_name.value

    def work(conn: Connection) -> tuple[ListVersion, bool]:
        previous = _latest_version_row(conn, name, lock=True)
        if previous is not None and previous.content_hash == content_hash:
            return _version(previous), False
        before = _version_entry_hashes(conn, previous.id) if previous is not None else {}
        changed = [e for e in parsed.entries if before.get(e.entry_id) != e.content_hash]
        now = clock.now()
        version_id = prefixed_id("slv")
        conn.execute(
            models.screening_list_versions.insert().values(
                id=version_id,
                list_name=name,
                version=(parsed.version or f"sha256:{content_hash[:16]}")[:64],
                published_on=parsed.published_on,
                source_format=parsed.source_format,
                content_hash=content_hash,
                entry_count=len(parsed.entries),
                added_count=sum(e.entry_id not in before for e in changed),
                changed_count=sum(e.entry_id in before for e in changed),
                removed_count=len(set(before) - {e.entry_id for e in parsed.entries}),
                loaded_at=now,
                loaded_by=actor,
                rescreened_at=None,
            )
        )
        _insert_entries(conn, version_id, parsed.entries)
        version = _version(_version_row(conn, version_id))
        record_audit(
            conn, actor=actor, action="screening.list_loaded", subject_type="screening_list",
            subject_id=name, before=None if previous is None else _version(previous).public(),
            after=version.public(), source_ip=ip, at=now,
        )  # fmt: skip
        return version, True

    version, created = db.run(work)
    log.info(
        "screening.list_loaded" if created else "screening.list_unchanged",
        list_name=name,
        version=version.version,
        entries=version.entry_count,
        added=version.added_count,
        changed=version.changed_count,
    )
    return version, created


def _insert_entries(conn: Connection, version_id: str, entries: Sequence[ListEntry]) -> None:
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    for chunk in _chunks(entries, write_chunk_size):
        contents = [
            {
                "list_name": e.list_name,
                "entry_id": e.entry_id,
                "content_hash": e.content_hash,
                "entity_type": e.entity_type.value,
                "primary_name": e.primary_name[:350],
                "document": e.document(),
            }
            for e in chunk
        ]
        conn.execute(insert(models.screening_entry_contents).on_conflict_do_nothing(), contents)
        conn.execute(
            models.screening_version_entries.insert(),
            [
                {
                    "version_id": version_id,
                    "list_name": e.list_name,
                    "entry_id": e.entry_id,
                    "content_hash": e.content_hash,
                }
                for e in chunk
            ],
        )


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _latest_version_row(conn: Connection, list_name: str, *, lock: bool = False) -> Row[Any] | None:
    query = (
        select(models.screening_list_versions)
        .where(_v.list_name == list_name)
        .order_by(_v.loaded_at.desc(), _v.id.desc())
        .limit(1)
    )
    return conn.execute(query.with_for_update() if lock else query).first()


def _version_row(conn: Connection, version_id: str) -> Row[Any]:
    row = conn.execute(select(models.screening_list_versions).where(_v.id == version_id)).first()
    if row is None:
        raise NotFound(f"no list version {version_id}", code="list_version_not_found")
    return row


def _version_entry_hashes(conn: Connection, version_id: str) -> dict[str, str]:
    rows = conn.execute(select(_ve.entry_id, _ve.content_hash).where(_ve.version_id == version_id))
    return {row.entry_id: row.content_hash for row in rows}


def _version(row: Row[Any]) -> ListVersion:
    return ListVersion(
        id=row.id,
        list_name=SanctionsList(row.list_name),
        version=row.version,
        published_on=row.published_on,
        source_format=row.source_format,
        content_hash=row.content_hash,
        entry_count=row.entry_count,
        added_count=row.added_count,
        changed_count=row.changed_count,
        removed_count=row.removed_count,
        loaded_at=row.loaded_at,
        loaded_by=row.loaded_by,
        rescreened_at=row.rescreened_at,
    )


def list_versions(
    db: Database, *, list_name: SanctionsList | None = None, limit: int = 50
) -> list[ListVersion]:
    """Loaded versions, newest first."""
    _check_limit(limit)
    query = (
        select(models.screening_list_versions)
        .order_by(_v.loaded_at.desc(), _v.id.desc())
        .limit(limit)
    )
    if list_name is not None:
        query = query.where(_v.list_name == list_name.value)
    with db.reading() as conn:
        return [_version(row) for row in conn.execute(query)]


def _current_versions(conn: Connection) -> dict[str, Row[Any]]:
    found: dict[str, Row[Any]] = {}
    for name in SanctionsList:
        row = _latest_version_row(conn, name.value)
        if row is not None:
            found[name.value] = row
    return found


def _entries_of(conn: Connection, version_ids: Iterable[str]) -> list[ListEntry]:
    query = (
        select(_c.document)
        .select_from(
            models.screening_version_entries.join(
                models.screening_entry_contents,
                and_(
                    _ve.list_name == _c.list_name,
                    _ve.entry_id == _c.entry_id,
                    _ve.content_hash == _c.content_hash,
                ),
            )
        )
        .where(_ve.version_id.in_(list(version_ids)))
        .order_by(_ve.list_name, _ve.entry_id)
    )
    return [ListEntry.from_document(row.document) for row in conn.execute(query)]


def current_entries(db: Database) -> list[ListEntry]:
    """Every entry of the current (newest) version of each list."""
    with db.reading() as conn:
        versions = _current_versions(conn)
        return _entries_of(conn, [row.id for row in versions.values()])


# --- subjects ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _SubjectDraft:
    role: SubjectRole
    reference: str
    entity_type: EntityType | None
    names: tuple[str, ...]
    date_of_birth: date | None
    countries: tuple[str, ...]

    def details(self) -> dict[str, Any]:
        return {
            "entity_type": None if self.entity_type is None else self.entity_type.value,
            "names": list(self.names),
            "date_of_birth": None if self.date_of_birth is None else self.date_of_birth.isoformat(),
            "countries": list(self.countries),
        }

    def details_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.details(), sort_keys=True).encode()).hexdigest()


_ENTITY_TYPE_OF_BUSINESS: Final = {
    BusinessType.INDIVIDUAL: EntityType.INDIVIDUAL,
    BusinessType.SOLE_TRADER: EntityType.INDIVIDUAL,
    BusinessType.COMPANY: EntityType.ENTITY,
    BusinessType.NON_PROFIT: EntityType.ENTITY,
}


def _drafts(seller: sellers_service.Seller, now: datetime, db: Database) -> list[_SubjectDraft]:
    """The seller (its legal names, kana too) and its onboarding persons, as parties."""
    view = onboarding_service.get_onboarding(db, seller.id, now=now)
    profile = view.profile
    names = [profile.legal_name or seller.legal_name, seller.legal_name, profile.legal_name_kana]
    entity_type = (
        None if profile.business_type is None else _ENTITY_TYPE_OF_BUSINESS[profile.business_type]
    )
    drafts = [
        _SubjectDraft(
            SubjectRole.SELLER,
            seller.id,
            entity_type,
            tuple(dict.fromkeys(n for n in names if n)),
            None,
            (seller.country,),
        )
    ]
    for person in view.persons:
        role = SubjectRole.REPRESENTATIVE if person.representative else SubjectRole.OWNER
        person_names = (person.full_name, person.kana_name)
        drafts.append(
            _SubjectDraft(
                role,
                person.id,
                EntityType.INDIVIDUAL,
                tuple(dict.fromkeys(n for n in person_names if n)),
                person.date_of_birth,
                (person.nationality,) if person.nationality else (),
            )
        )
    return drafts


def sync_subjects(db: Database, *, clock: Clock, seller_ids: Sequence[str] | None = None) -> int:
    """Bring the subjects in step with sellers and onboarding (all sellers, or those given);
    returns how many subjects are new or changed (they will be screened in full). Subjects whose
    person left the onboarding are deactivated, their matches kept."""
    changed = 0
    for sellers in _seller_pages(db, seller_ids):
        now = clock.now()
        drafts = {seller.id: _drafts(seller, now, db) for seller in sellers}
        changed += db.run(partial(_write_subjects, drafts=drafts, now=now))
    return changed


def _seller_pages(
    db: Database, seller_ids: Sequence[str] | None
) -> Iterator[list[sellers_service.Seller]]:
    if seller_ids is not None:
        for chunk in _chunks(sorted(set(seller_ids)), sellers_page_size):
            with db.reading() as conn:
                found = sellers_service.find_sellers_in(conn, chunk)
            yield [found[s] for s in chunk if s in found]
        return
    after: str | None = None
    while True:
        page, after = sellers_service.list_sellers(db, after_id=after, limit=sellers_page_size)
        if page:
            yield page
        if after is None:
            return


def _write_subjects(
    conn: Connection, *, drafts: Mapping[str, Sequence[_SubjectDraft]], now: datetime
) -> int:
    existing: dict[tuple[str, str, str], Row[Any]] = {
        (row.seller_id, row.role, row.reference): row
        for row in conn.execute(
            select(models.screening_subjects).where(_s.seller_id.in_(list(drafts)))
        )
    }
    changed = 0
    wanted: set[tuple[str, str, str]] = set()
    for seller_id, seller_drafts in drafts.items():
        for draft in seller_drafts:
            key = (seller_id, draft.role.value, draft.reference)
            wanted.add(key)
            changed += _upsert_subject(conn, seller_id, draft, existing.get(key), now)
    for key, row in existing.items():
        if key not in wanted and row.active:
            conn.execute(
                update(models.screening_subjects)
                .where(_s.id == row.id)
                .values(active=False, updated_at=now)
            )
    return changed


def _upsert_subject(
    conn: Connection, seller_id: str, draft: _SubjectDraft, row: Row[Any] | None, now: datetime
) -> int:
    details = draft.details()
    values = {
        "entity_type": details["entity_type"],
        "names": details["names"],
        "date_of_birth": draft.date_of_birth,
        "countries": details["countries"],
        "details_hash": draft.details_hash(),
        "active": True,
        "updated_at": now,
    }
    if row is None:
        conn.execute(
            models.screening_subjects.insert().values(
                id=prefixed_id("scs"),
                seller_id=seller_id,
                role=draft.role.value,
                reference=draft.reference,
                screened_hash=None,
                screened_at=None,
                created_at=now,
                **values,
            )
        )
        return 1
    if row.details_hash == values["details_hash"] and row.active:
        return 0
    conn.execute(update(models.screening_subjects).where(_s.id == row.id).values(**values))
    return int(row.details_hash != values["details_hash"])


def _subject(row: Row[Any]) -> Subject:
    return Subject(
        id=row.id,
        seller_id=row.seller_id,
        role=SubjectRole(row.role),
        reference=row.reference,
        entity_type=None if row.entity_type is None else EntityType(row.entity_type),
        names=tuple(row.names),
        date_of_birth=row.date_of_birth,
        countries=tuple(row.countries),
        details_hash=row.details_hash,
        screened_hash=row.screened_hash,
        active=row.active,
    )


def _active_subjects(db: Database) -> list[Subject]:
    with db.reading() as conn:
        rows = conn.execute(
            select(models.screening_subjects).where(_s.active.is_(True)).order_by(_s.id)
        )
        return [_subject(row) for row in rows]


# --- screening --------------------------------------------------------------------------------


def _threshold(threshold: int | None) -> int:
    chosen = get_settings().screening_match_threshold if threshold is None else threshold
    if not 0 <= chosen <= 100:
        raise InvalidInput("the threshold is a score from 0 to 100", code="invalid_threshold")
    return chosen


def rescreen(
    db: Database, *, clock: Clock, full: bool = False, threshold: int | None = None
) -> RescreenReport:
    """Sync the subjects, then screen: new or changed subjects (all with `full`) against every
    current entry, the others against the entries that changed in the versions not rescreened
    yet; then mark those versions rescreened. Safe to run twice or after a crash half-way: a
    match already stored for the same entry and subject content is not raised again."""
    chosen = _threshold(threshold)
    subjects_changed = sync_subjects(db, clock=clock)
    subjects = _active_subjects(db)
    stale = [s for s in subjects if full or s.screened_hash != s.details_hash]
    stale_ids = {s.id for s in stale}
    with db.reading() as conn:
        versions = _current_versions(conn)
        changed, pending = _pending_changes(conn, versions)
        entries = _entries_of(conn, [row.id for row in versions.values()]) if stale else []
    others = [s for s in subjects if s.id not in stale_ids] if changed else []
    version_ids = {name: row.id for name, row in versions.items()}
    opened = updated = 0
    for group, screened, mark in ((stale, entries, True), (others, changed, False)):
        if group and screened:
            chunk_opened, chunk_updated = _screen(
                db, group, screened, version_ids, mark_screened=mark, threshold=chosen, clock=clock
            )
            opened, updated = opened + chunk_opened, updated + chunk_updated
    if pending:
        db.run(partial(_mark_rescreened, version_ids=pending, now=clock.now()))
    report = RescreenReport(
        subjects_changed=subjects_changed,
        subjects_screened_in_full=len(stale) if entries else 0,
        subjects_screened_for_changes=len(others),
        entries_changed=len(changed),
        matches_opened=opened,
        matches_updated=updated,
    )
    log.info("screening.rescreened", **report.public())
    return report


def _screen(
    db: Database,
    subjects: Sequence[Subject],
    entries: Sequence[ListEntry],
    version_ids: Mapping[str, str],
    *,
    mark_screened: bool,
    threshold: int,
    clock: Clock,
) -> tuple[int, int]:
    """Screen the subjects against the entries, storing the hits a chunk per unit of work."""
    index = ScreeningIndex(entries, threshold=threshold)
    opened = updated = 0
    for chunk in _chunks(subjects, write_chunk_size):
        results = [(subject, index.screen(subject.party())) for subject in chunk]
        record = partial(
            _record_results, results=results, version_ids=version_ids,
            mark_screened=mark_screened, now=clock.now(),
        )  # fmt: skip
        chunk_opened, chunk_updated = db.run(record, retry_unique_violations=True)
        opened, updated = opened + chunk_opened, updated + chunk_updated
    return opened, updated


def _pending_changes(
    conn: Connection, versions: Mapping[str, Row[Any]]
) -> tuple[list[ListEntry], list[str]]:
    """The entries of each list's current version that differ from its last rescreened version
    (every entry when none was), for the lists with versions not rescreened yet; and those
    versions' ids."""
    changed: list[ListEntry] = []
    pending: list[str] = []
    for name, current in versions.items():
        waiting = list(
            conn.execute(
                select(_v.id).where(_v.list_name == name, _v.rescreened_at.is_(None))
            ).scalars()
        )
        if not waiting:
            continue
        pending += waiting
        done = conn.execute(
            select(_v.id)
            .where(_v.list_name == name, _v.rescreened_at.is_not(None))
            .order_by(_v.loaded_at.desc(), _v.id.desc())
            .limit(1)
        ).scalar()
        before = {} if done is None else _version_entry_hashes(conn, done)
        changed += [
            e for e in _entries_of(conn, [current.id]) if before.get(e.entry_id) != e.content_hash
        ]
    return changed, pending


def _mark_rescreened(conn: Connection, *, version_ids: Sequence[str], now: datetime) -> None:
    conn.execute(
        update(models.screening_list_versions)
        .where(_v.id.in_(list(version_ids)), _v.rescreened_at.is_(None))
        .values(rescreened_at=now)
    )


def rescreen_job(db: Database, clock: Clock) -> int:
    """For a scheduler: screen new and changed subjects; returns how many matches it opened."""
    return rescreen(db, clock=clock).matches_opened


def _record_results(
    conn: Connection,
    *,
    results: Sequence[tuple[Subject, Sequence[Hit]]],
    version_ids: Mapping[str, str],
    mark_screened: bool,
    now: datetime,
) -> tuple[int, int]:
    opened = updated = 0
    for subject, hits in results:
        for hit in hits:
            outcome = _record_hit(conn, subject, hit, version_ids[hit.entry.list_name], now)
            opened += outcome == "opened"
            updated += outcome == "updated"
        if mark_screened:
            conn.execute(
                update(models.screening_subjects)
                .where(_s.id == subject.id, _s.details_hash == subject.details_hash)
                .values(screened_hash=subject.details_hash, screened_at=now)
            )
    return opened, updated


def _record_hit(
    conn: Connection, subject: Subject, hit: Hit, version_id: str, now: datetime
) -> str:
    """Store one hit: "opened" (a new open match), "updated" (the open match of this entry now
    carries the entry's or the party's new content), or "known" (already stored for this
    content, whatever its status; or already confirmed for this entry)."""
    entry = hit.entry
    same_entry = (
        select(models.screening_matches)
        .where(
            _m.subject_id == subject.id,
            _m.list_name == entry.list_name,
            _m.entry_id == entry.entry_id,
        )
        .order_by(_m.id)
    )
    rows = conn.execute(same_entry.with_for_update()).all()
    if any(
        r.entry_content_hash == entry.content_hash and r.subject_hash == subject.details_hash
        for r in rows
    ) or any(r.status == MatchStatus.CONFIRMED for r in rows):
        return "known"
    values = {
        "entry_content_hash": entry.content_hash,
        "subject_hash": subject.details_hash,
        "version_id": version_id,
        "score": hit.match.score,
        "matched_name": hit.match.matched_name[:350],
        "reasons": list(hit.match.reasons),
        "updated_at": now,
    }
    still_open = [r for r in rows if r.status == MatchStatus.OPEN]
    if still_open:
        conn.execute(
            update(models.screening_matches).where(_m.id == still_open[-1].id).values(**values)
        )
        return "updated"
    conn.execute(
        models.screening_matches.insert().values(
            id=prefixed_id("scm"),
            subject_id=subject.id,
            seller_id=subject.seller_id,
            list_name=entry.list_name,
            entry_id=entry.entry_id,
            status=MatchStatus.OPEN.value,
            decided_by=None,
            decided_at=None,
            note=None,
            created_at=now,
            **values,
        )
    )
    log.info(
        "screening.match_opened",
        seller_id=subject.seller_id,
        subject_id=subject.id,
        list_name=entry.list_name,
        entry_id=entry.entry_id,
        score=hit.match.score,
    )
    return "opened"


_index_cache: dict[tuple[str, tuple[str, ...], int], ScreeningIndex] = {}
_index_cache_max: Final = 4


def screen_party(
    db: Database,
    *,
    names: Sequence[str],
    entity_type: EntityType | None = None,
    date_of_birth: date | None = None,
    countries: Sequence[str] = (),
    threshold: int | None = None,
) -> list[Hit]:
    """Screen one party given in plain values against the current lists, storing nothing: for
    a check before onboarding, the demo, or another context. The prepared index is kept per
    database and list versions, so repeated calls do not rebuild it."""
    chosen = _threshold(threshold)
    party = Party(tuple(names), entity_type, date_of_birth, tuple(countries))
    with db.reading() as conn:
        versions = _current_versions(conn)
        key = (db.url, tuple(sorted(row.id for row in versions.values())), chosen)
        index = _index_cache.get(key)
        if index is None:
            entries = _entries_of(conn, [row.id for row in versions.values()])
            index = ScreeningIndex(entries, threshold=chosen)
            if len(_index_cache) >= _index_cache_max:
                _index_cache.pop(next(iter(_index_cache)))
            _index_cache[key] = index
    return index.screen(party)


# --- the review queue -------------------------------------------------------------------------


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= page_size_max:
        raise InvalidInput(
            f"limit must be between 1 and {page_size_max}", code="invalid_limit", field="limit"
        )


def _match_query() -> Any:
    return select(
        models.screening_matches,
        models.screening_subjects.c.role,
        models.screening_subjects.c.reference,
        models.screening_subjects.c.entity_type.label("subject_entity_type"),
        models.screening_subjects.c.names,
        models.screening_subjects.c.date_of_birth,
        models.screening_subjects.c.countries,
        models.screening_subjects.c.details_hash,
        models.screening_subjects.c.screened_hash,
        models.screening_subjects.c.active,
        _c.document,
    ).select_from(
        models.screening_matches.join(
            models.screening_subjects, _m.subject_id == models.screening_subjects.c.id
        ).join(
            models.screening_entry_contents,
            and_(
                _m.list_name == _c.list_name,
                _m.entry_id == _c.entry_id,
                _m.entry_content_hash == _c.content_hash,
            ),
        )
    )


def _match(row: Row[Any]) -> Match:
    subject = Subject(
        id=row.subject_id,
        seller_id=row.seller_id,
        role=SubjectRole(row.role),
        reference=row.reference,
        entity_type=None
        if row.subject_entity_type is None
        else EntityType(row.subject_entity_type),
        names=tuple(row.names),
        date_of_birth=row.date_of_birth,
        countries=tuple(row.countries),
        details_hash=row.details_hash,
        screened_hash=row.screened_hash,
        active=row.active,
    )
    return Match(
        id=row.id,
        status=MatchStatus(row.status),
        score=row.score,
        reasons=tuple(row.reasons),
        matched_name=row.matched_name,
        seller_id=row.seller_id,
        subject=subject,
        entry=ListEntry.from_document(row.document),
        version_id=row.version_id,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        note=row.note,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def list_matches(
    db: Database,
    *,
    status: MatchStatus | None = None,
    seller_id: str | None = None,
    after_id: str | None = None,
    limit: int = 50,
) -> tuple[list[Match], str | None]:
    """Matches oldest first, filtered; returns a page and the id to continue after."""
    _check_limit(limit)
    query = _match_query().order_by(_m.id).limit(limit + 1)
    if status is not None:
        query = query.where(_m.status == status.value)
    if seller_id is not None:
        query = query.where(_m.seller_id == seller_id)
    if after_id is not None:
        query = query.where(_m.id > after_id)
    with db.reading() as conn:
        rows = conn.execute(query).all()
    matches = [_match(row) for row in rows[:limit]]
    return matches, (matches[-1].id if len(rows) > limit else None)


def get_match(db: Database, match_id: str) -> Match:
    with db.reading() as conn:
        return _get_match_in(conn, match_id)


def _get_match_in(conn: Connection, match_id: str) -> Match:
    row = conn.execute(_match_query().where(_m.id == match_id)).first()
    if row is None:
        raise NotFound(f"no screening match {match_id}", code="match_not_found", match_id=match_id)
    return _match(row)


def _clean_note(note: str) -> str:
    text = " ".join(note.split())
    if not 1 <= len(text) <= note_length_max:
        raise InvalidInput(
            f"the note must be 1 to {note_length_max} characters: say why",
            code="invalid_note",
            field="note",
        )
    return text


def _audit_view(match: Match) -> dict[str, Any]:
    return {
        "status": match.status.value,
        "seller_id": match.seller_id,
        "subject_id": match.subject.id,
        "list_name": match.entry.list_name,
        "entry_id": match.entry.entry_id,
        "entry_content_hash": match.entry.content_hash,
        "score": match.score,
        "decided_by": match.decided_by,
        "note": match.note,
    }


def decide_match(
    db: Database,
    match_id: str,
    *,
    decision: Decision,
    note: str,
    actor: str,
    clock: Clock,
    source_ip: str | None = None,
) -> Match:
    """Confirm or clear an open match, audited. Confirming blocks the seller in the same unit of
    work (payouts and sales off at once), records `screening.match_confirmed` and logs an
    alert; clearing remembers the decision for this entry content and party details."""
    text = _clean_note(note)

    def work(conn: Connection) -> Match:
        locked = conn.execute(
            select(_m.id, _m.status).where(_m.id == match_id).with_for_update()
        ).first()
        if locked is None:
            raise NotFound(
                f"no screening match {match_id}", code="match_not_found", match_id=match_id
            )
        if locked.status != MatchStatus.OPEN:
            raise Conflict(
                f"match {match_id} was already {locked.status}",
                code="match_already_decided",
                status=locked.status,
            )
        before = _get_match_in(conn, match_id)
        now = clock.now()
        status = MatchStatus.CONFIRMED if decision is Decision.CONFIRM else MatchStatus.CLEARED
        conn.execute(
            update(models.screening_matches)
            .where(_m.id == match_id)
            .values(
                status=status.value, decided_by=actor, decided_at=now, note=text, updated_at=now
            )
        )
        after = _get_match_in(conn, match_id)
        if decision is Decision.CONFIRM:
            _block(conn, after, actor=actor, now=now, source_ip=source_ip)
        record_audit(
            conn, actor=actor, action=f"screening.match_{status.value}",
            subject_type="screening_match", subject_id=match_id, before=_audit_view(before),
            after=_audit_view(after), source_ip=source_ip, at=now,
        )  # fmt: skip
        return after

    match = db.run(work)
    if decision is Decision.CONFIRM:
        log.warning(
            "screening.match_confirmed",
            alert=True,
            match_id=match.id,
            seller_id=match.seller_id,
            list_name=match.entry.list_name,
            entry_id=match.entry.entry_id,
            listed_name=match.entry.primary_name,
            score=match.score,
            decided_by=actor,
        )
    return match


def _block(
    conn: Connection, match: Match, *, actor: str, now: datetime, source_ip: str | None
) -> None:
    """A confirmed match: the seller's payouts and sales stop now, and subscribers are told."""
    capabilities = onboarding_service.set_sanctions_block(
        conn,
        match.seller_id,
        blocked=True,
        reason="sanctions_match",
        actor=actor,
        at=now,
        source_ip=source_ip,
    )
    record_event(
        conn,
        type="screening.match_confirmed",
        subject=match.seller_id,
        now=now,
        data={
            "match_id": match.id,
            "seller_id": match.seller_id,
            "subject_role": match.subject.role.value,
            "list_name": match.entry.list_name,
            "entry_id": match.entry.entry_id,
            "listed_name": match.entry.primary_name,
            "programs": list(match.entry.programs),
            "score": match.score,
            "payouts_enabled": capabilities.payouts_enabled,
            "sales_enabled": capabilities.sales_enabled,
        },
    )
