"""Screening on the database (SQLite and PostgreSQL): list versions, subjects from sellers and their
onboarding persons, rescreening only what changed, the memory of cleared matches, and confirmed
matches blocking the seller through onboarding at once, with the event, the alert and the audit.

Each test takes a fresh database: lists and rescreens are global, so tests sharing one would see
each other's sellers.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import structlog
from screening_builders import (
    ACTOR,
    PUTIN_EU,
    PUTIN_OFAC,
    add_person,
    audit_actions,
    entry_keys,
    eu_xml,
    eu_xml_with_putin_alias,
    eu_xml_without,
    events_about,
    load,
    load_both_lists,
    matches_of,
    new_seller,
    ofac_csv_files,
    ofac_xml,
)

from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.errors import Conflict, InvalidInput, NotFound
from sellerpay.onboarding import service as onboarding_service
from sellerpay.onboarding.rules import BusinessType
from sellerpay.screening import service
from sellerpay.screening.lists import ListFormatError
from sellerpay.screening.rules import EntityType, SanctionsList
from sellerpay.screening.service import Decision, MatchStatus
from sellerpay.sellers.service import update_seller

OFAC, EU = SanctionsList.OFAC_SDN, SanctionsList.EU_FSF


def putin_seller(db: Database, clock: FixedClock) -> str:
    """A French company whose representative has Putin's name, date of birth and nationality."""
    seller_id = new_seller(db, clock, legal_name="Neva Refurb SARL")
    add_person(db, clock, seller_id, "Vladimir", "Putin", born=date(1952, 10, 7), nationality="RU")
    return seller_id


def innocent_seller(db: Database, clock: FixedClock) -> str:
    seller_id = new_seller(db, clock, legal_name="Acme Refurb SAS")
    add_person(db, clock, seller_id, "Jean", "Dupont", born=date(1970, 1, 1), nationality="FR")
    return seller_id


def decide(
    db: Database, clock: FixedClock, match_id: str, decision: Decision, note: str = "checked"
) -> service.Match:
    return service.decide_match(
        db, match_id, decision=decision, note=note, actor=ACTOR, clock=clock, source_ip="192.0.2.1"
    )


# --- list versions ------------------------------------------------------------------------------


def test_a_loaded_list_is_a_version_with_its_entries_and_the_same_content_is_not_loaded_twice(
    fresh_db: Database, clock: FixedClock
) -> None:
    first = load(fresh_db, clock, OFAC, {"sdn.xml": ofac_xml()})
    again_as_csv = load(fresh_db, clock, OFAC, ofac_csv_files())

    assert first.created and not again_as_csv.created
    assert again_as_csv.version == first.version
    version = first.version
    assert (version.list_name, version.version, version.source_format) == (
        OFAC, "2026-11-14", "ofac-xml",
    )  # fmt: skip
    assert (version.entry_count, version.added_count, version.changed_count) == (13, 13, 0)
    assert version.loaded_by == ACTOR
    assert [v.id for v in service.list_versions(fresh_db)] == [version.id]
    assert len(service.current_entries(fresh_db)) == 13
    assert audit_actions(fresh_db, "screening_list", "ofac-sdn") == ["screening.list_loaded"]


def test_a_new_version_counts_what_was_added_changed_and_removed(
    fresh_db: Database, clock: FixedClock
) -> None:
    load(fresh_db, clock, EU, {"eu.xml": eu_xml()})
    second = load(fresh_db, clock, EU, {"eu.xml": eu_xml_without("30015")})
    clock.advance(timedelta(hours=1))
    third = load(fresh_db, clock, EU, {"eu.xml": eu_xml_with_putin_alias()})

    assert (second.version.added_count, second.version.changed_count) == (0, 0)
    assert second.version.removed_count == 1
    assert (third.version.added_count, third.version.changed_count) == (1, 1)
    assert third.version.removed_count == 0
    assert service.list_versions(fresh_db, list_name=EU)[0].id == third.version.id
    current = {e.entry_id: e for e in service.current_entries(fresh_db)}
    assert "Vladimir PUTIN" in [n.text for n in current["139988"].names]


def test_a_malformed_list_stores_nothing(fresh_db: Database, clock: FixedClock) -> None:
    broken = ofac_xml().replace(b"<uid>306</uid>", b"<uid>three-o-six</uid>")

    with pytest.raises(ListFormatError) as refused:
        load(fresh_db, clock, OFAC, {"sdn.xml": broken})

    assert refused.value.context["element"] == "sdnEntry"
    assert service.list_versions(fresh_db) == []
    assert service.current_entries(fresh_db) == []


# --- screening and matches ----------------------------------------------------------------------


def test_loading_the_lists_screens_every_seller_owner_and_representative(
    fresh_db: Database, clock: FixedClock
) -> None:
    putin = putin_seller(fresh_db, clock)
    front = new_seller(fresh_db, clock, legal_name="Sovcomflot Shipping Ltd", country="CY")
    aleph = new_seller(fresh_db, clock, legal_name="株式会社アレフ", country="JP")
    innocent = innocent_seller(fresh_db, clock)

    load_both_lists(fresh_db, clock)

    assert entry_keys(matches_of(fresh_db, putin)) == {PUTIN_OFAC, PUTIN_EU}
    assert entry_keys(matches_of(fresh_db, front)) == {("ofac-sdn", "44210")}
    # アレフ is found through the EU entry's katakana alias; OFAC's "ALEPH" is not "arefu"
    assert entry_keys(matches_of(fresh_db, aleph)) == {("eu-fsf", "5013")}
    assert matches_of(fresh_db, innocent) == []
    match = next(m for m in matches_of(fresh_db, putin) if m.entry.list_name == "eu-fsf")
    assert match.status is MatchStatus.OPEN
    assert match.subject.role is service.SubjectRole.REPRESENTATIVE
    assert match.subject.names == ("Vladimir Putin",)
    assert match.score == 100
    assert match.reasons[1:] == (
        "date of birth 1952-10-07 against listed 1952-10-07: the same day (+10)",
        "country RU listed (+3)",
    )
    assert match.matched_name == "Vladimir Vladimirovich PUTIN"


def test_rescreening_twice_raises_nothing_new(fresh_db: Database, clock: FixedClock) -> None:
    putin = putin_seller(fresh_db, clock)
    load_both_lists(fresh_db, clock)
    before = matches_of(fresh_db, putin)

    report = service.rescreen(fresh_db, clock=clock, full=True)

    assert report.subjects_screened_in_full >= 2
    assert (report.matches_opened, report.matches_updated) == (0, 0)
    assert matches_of(fresh_db, putin) == before


def test_a_cleared_match_is_not_raised_again_until_the_entry_changes(
    fresh_db: Database, clock: FixedClock
) -> None:
    putin = putin_seller(fresh_db, clock)
    load_both_lists(fresh_db, clock)
    eu_match = next(m for m in matches_of(fresh_db, putin) if m.entry.list_name == "eu-fsf")
    decide(fresh_db, clock, eu_match.id, Decision.CLEAR, "our Putin is a namesake: passport seen")

    service.rescreen(fresh_db, clock=clock, full=True)
    load(fresh_db, clock, EU, {"eu.xml": eu_xml()})  # the same content: nothing loaded
    unchanged = matches_of(fresh_db, putin)
    load(fresh_db, clock, EU, {"eu.xml": eu_xml_with_putin_alias()})
    after_change = matches_of(fresh_db, putin)

    assert sorted((m.entry.list_name, m.status.value) for m in unchanged) == [
        ("eu-fsf", "cleared"),
        ("ofac-sdn", "open"),
    ]
    raised_again = [m for m in after_change if m.id not in {u.id for u in unchanged}]
    assert len(raised_again) == 1
    assert (raised_again[0].entry.entry_id, raised_again[0].status) == ("139988", MatchStatus.OPEN)
    assert raised_again[0].entry.content_hash != eu_match.entry.content_hash
    assert service.get_match(fresh_db, eu_match.id).status is MatchStatus.CLEARED  # history kept


def test_a_cleared_match_is_raised_again_when_the_party_changes(
    fresh_db: Database, clock: FixedClock
) -> None:
    front = new_seller(fresh_db, clock, legal_name="Sovcomflot Shipping Ltd", country="CY")
    load_both_lists(fresh_db, clock)
    (match,) = matches_of(fresh_db, front)
    decide(fresh_db, clock, match.id, Decision.CLEAR, "a different Sovcomflot: registry checked")

    update_seller(fresh_db, front, legal_name="Sovcomflot Shipping Limited", clock=clock)
    report = service.rescreen(fresh_db, clock=clock)

    assert report.subjects_changed == 1
    statuses = sorted(m.status.value for m in matches_of(fresh_db, front))
    assert statuses == ["cleared", "open"]


def test_an_open_match_follows_a_changed_entry_instead_of_opening_a_second_one(
    fresh_db: Database, clock: FixedClock
) -> None:
    putin = putin_seller(fresh_db, clock)
    load_both_lists(fresh_db, clock)
    before = {m.entry.list_name: m for m in matches_of(fresh_db, putin)}

    result = load(fresh_db, clock, EU, {"eu.xml": eu_xml_with_putin_alias()})

    after = {m.entry.list_name: m for m in matches_of(fresh_db, putin)}
    assert result.rescreen is not None and result.rescreen.matches_updated == 1
    assert after["eu-fsf"].id == before["eu-fsf"].id
    assert after["eu-fsf"].entry.content_hash != before["eu-fsf"].entry.content_hash
    assert after["ofac-sdn"] == before["ofac-sdn"]


def test_a_new_version_screens_only_the_changed_entries_and_a_new_person_is_screened_in_full(
    fresh_db: Database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    putin = putin_seller(fresh_db, clock)
    innocent_seller(fresh_db, clock)
    load_both_lists(fresh_db, clock)
    indexed: list[int] = []
    real_index = service.ScreeningIndex

    def spy(entries, threshold):  # type: ignore[no-untyped-def]
        indexed.append(len(entries))
        return real_index(entries, threshold=threshold)

    monkeypatch.setattr(service, "ScreeningIndex", spy)

    new_version = load(fresh_db, clock, EU, {"eu.xml": eu_xml_with_putin_alias()}).rescreen
    add_person(fresh_db, clock, putin, "Sergei", "Lavrov", representative=False,
               owner_percent="30", born=date(1950, 3, 21))  # fmt: skip
    new_person = service.rescreen(fresh_db, clock=clock)

    assert new_version is not None
    assert new_version.entries_changed == 1
    assert new_version.subjects_screened_in_full == 0
    assert new_version.subjects_screened_for_changes == 4  # two sellers, two persons
    assert new_person.subjects_changed == 1
    assert new_person.subjects_screened_in_full == 1
    assert new_person.subjects_screened_for_changes == 0
    assert indexed == [1, 21]  # the changed entry alone; then every entry, for the new person
    assert ("eu-fsf", "139993") in entry_keys(matches_of(fresh_db, putin))


def test_a_person_who_left_the_seller_is_no_longer_screened(
    fresh_db: Database, clock: FixedClock
) -> None:
    seller = new_seller(fresh_db, clock)
    person = add_person(fresh_db, clock, seller, "Ramzan", "Kadyrov", born=date(1976, 10, 5))
    load_both_lists(fresh_db, clock)
    onboarding_service.remove_person(fresh_db, seller, person, actor=ACTOR, now=clock.now())

    service.rescreen(fresh_db, clock=clock)
    load(fresh_db, clock, EU, {"eu.xml": eu_xml_with_putin_alias("Ramzan KADYROV")})

    assert [m.entry.entry_id for m in matches_of(fresh_db, seller)] == ["139760"]  # kept, once


# --- decisions ----------------------------------------------------------------------------------


def test_confirming_a_match_blocks_the_seller_at_once_with_an_event_an_alert_and_the_audit(
    fresh_db: Database, clock: FixedClock
) -> None:
    seller = putin_seller(fresh_db, clock)
    load_both_lists(fresh_db, clock)
    match = next(m for m in matches_of(fresh_db, seller) if m.entry.list_name == "ofac-sdn")
    before = onboarding_service.seller_capabilities(fresh_db, [seller], now=clock.now())[seller]

    with structlog.testing.capture_logs() as logs:
        decided = decide(fresh_db, clock, match.id, Decision.CONFIRM, "passport matches the SDN")

    after = onboarding_service.seller_capabilities(fresh_db, [seller], now=clock.now())[seller]
    assert before.disabled_reason != "sanctions_match"
    assert (after.payouts_enabled, after.sales_enabled, after.disabled_reason) == (
        False, False, "sanctions_match",
    )  # fmt: skip
    assert (decided.status, decided.decided_by, decided.note) == (
        MatchStatus.CONFIRMED, ACTOR, "passport matches the SDN",
    )  # fmt: skip
    assert decided.decided_at == clock.now()
    view = onboarding_service.get_onboarding(fresh_db, seller, now=clock.now())
    assert (view.profile.sanctions_blocked, view.profile.sanctions_reason) == (
        True, "sanctions_match",
    )  # fmt: skip
    (event,) = [data for kind, data in events_about(fresh_db, seller)
                if kind == "screening.match_confirmed"]  # fmt: skip
    assert (event["match_id"], event["entry_id"], event["payouts_enabled"]) == (
        match.id, "35096", False,
    )  # fmt: skip
    alert = [log for log in logs if log["event"] == "screening.match_confirmed"]
    assert alert and alert[0]["log_level"] == "warning" and alert[0]["alert"] is True
    assert audit_actions(fresh_db, "screening_match", match.id) == ["screening.match_confirmed"]
    assert audit_actions(fresh_db, "seller", seller)[-1] == "onboarding.sanctions_blocked"


def test_a_decision_that_fails_half_way_leaves_the_match_open_and_the_seller_unblocked(
    fresh_db: Database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    seller = putin_seller(fresh_db, clock)
    load_both_lists(fresh_db, clock)
    match = matches_of(fresh_db, seller)[0]

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("onboarding is down")

    monkeypatch.setattr(service.onboarding_service, "set_sanctions_block", broken)
    with pytest.raises(RuntimeError):
        decide(fresh_db, clock, match.id, Decision.CONFIRM)

    assert service.get_match(fresh_db, match.id).status is MatchStatus.OPEN
    assert audit_actions(fresh_db, "screening_match", match.id) == []
    assert [k for k, _ in events_about(fresh_db, seller) if k == "screening.match_confirmed"] == []


def test_a_decided_match_an_unknown_match_and_an_empty_note_are_refused(
    fresh_db: Database, clock: FixedClock
) -> None:
    seller = putin_seller(fresh_db, clock)
    load_both_lists(fresh_db, clock)
    match = matches_of(fresh_db, seller)[0]
    decide(fresh_db, clock, match.id, Decision.CLEAR)

    with pytest.raises(Conflict) as twice:
        decide(fresh_db, clock, match.id, Decision.CONFIRM)
    with pytest.raises(NotFound) as unknown:
        decide(fresh_db, clock, "scm_nothing", Decision.CLEAR)
    with pytest.raises(InvalidInput) as no_note:
        decide(fresh_db, clock, matches_of(fresh_db, seller)[1].id, Decision.CLEAR, note="  ")

    assert (twice.value.code, twice.value.context) == (
        "match_already_decided",
        {"status": "cleared"},
    )
    assert unknown.value.code == "match_not_found"
    assert no_note.value.code == "invalid_note"
    assert service.get_match(fresh_db, match.id).status is MatchStatus.CLEARED


def test_the_queue_lists_open_matches_a_page_at_a_time(
    fresh_db: Database, clock: FixedClock
) -> None:
    for _ in range(3):
        putin_seller(fresh_db, clock)
    load_both_lists(fresh_db, clock)
    first_page, cursor = service.list_matches(fresh_db, status=MatchStatus.OPEN, limit=4)
    decide(fresh_db, clock, first_page[0].id, Decision.CLEAR)
    second_page, end = service.list_matches(
        fresh_db, status=MatchStatus.OPEN, after_id=cursor, limit=4
    )

    assert len(first_page) == 4 and cursor == first_page[-1].id
    assert len(second_page) == 2 and end is None
    assert [m.id for m in first_page + second_page] == sorted(
        m.id for m in first_page + second_page
    )
    with pytest.raises(InvalidInput):
        service.list_matches(fresh_db, limit=0)


# --- plain inputs -------------------------------------------------------------------------------


def test_screen_party_screens_plain_values_and_stores_nothing(
    fresh_db: Database, clock: FixedClock
) -> None:
    load_both_lists(fresh_db, clock)

    hits = service.screen_party(
        fresh_db,
        names=["Vladimir Putin"],
        entity_type=EntityType.INDIVIDUAL,
        date_of_birth=date(1952, 10, 7),
        countries=["RU"],
    )
    namesake = service.screen_party(
        fresh_db, names=["Vladimir Putin"], date_of_birth=date(1990, 1, 1)
    )
    nobody = service.screen_party(
        fresh_db, names=["Acme Refurb SAS"], entity_type=EntityType.ENTITY
    )

    assert {(h.entry.list_name, h.entry.entry_id) for h in hits} == {PUTIN_OFAC, PUTIN_EU}
    assert all(h.match.score == 100 for h in hits)
    assert namesake == [] and nobody == []
    assert service.list_matches(fresh_db)[0] == []


def test_a_seller_without_a_business_type_is_screened_without_type_points(
    fresh_db: Database, clock: FixedClock
) -> None:
    seller = new_seller(fresh_db, clock, legal_name="Mahan Air", business_type=None, country="IR")
    individual = new_seller(
        fresh_db, clock, legal_name="Mahan Air", business_type=BusinessType.INDIVIDUAL
    )

    load_both_lists(fresh_db, clock)

    (match,) = matches_of(fresh_db, seller)
    assert match.subject.entity_type is None
    assert not any("against a listed" in reason for reason in match.reasons)
    assert matches_of(fresh_db, individual) == []  # a person named like a company: -25


def test_a_version_loaded_without_rescreening_is_screened_by_the_next_rescreen(
    fresh_db: Database, clock: FixedClock
) -> None:
    seller = putin_seller(fresh_db, clock)
    load(fresh_db, clock, OFAC, {"sdn.xml": ofac_xml()})  # the seller is screened in full

    stored = service.load_list(
        fresh_db, EU, {"eu.xml": eu_xml()}, actor=ACTOR, clock=clock, rescreen_after=False
    )
    before = entry_keys(matches_of(fresh_db, seller))
    report = service.rescreen(fresh_db, clock=clock)

    assert stored.rescreen is None and stored.version.rescreened_at is None
    assert before == {PUTIN_OFAC}
    assert (report.subjects_screened_in_full, report.entries_changed) == (0, 8)
    assert entry_keys(matches_of(fresh_db, seller)) == {PUTIN_OFAC, PUTIN_EU}
    assert service.list_versions(fresh_db, list_name=EU)[0].rescreened_at == clock.now()


def test_a_rescreen_that_dies_half_way_is_done_again_by_the_next_without_duplicates(
    fresh_db: Database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    seller = putin_seller(fresh_db, clock)
    load(fresh_db, clock, OFAC, {"sdn.xml": ofac_xml()})
    real_mark = service._mark_rescreened

    def killed(*args: object, **kwargs: object) -> None:
        raise RuntimeError("killed before marking the version rescreened")

    monkeypatch.setattr(service, "_mark_rescreened", killed)
    with pytest.raises(RuntimeError):
        load(fresh_db, clock, EU, {"eu.xml": eu_xml()})
    monkeypatch.setattr(service, "_mark_rescreened", real_mark)
    report = service.rescreen(fresh_db, clock=clock)

    assert report.entries_changed == 8  # the version's changes, screened again
    assert (report.matches_opened, report.matches_updated) == (0, 0)  # stored the first time
    assert sorted(m.entry.list_name for m in matches_of(fresh_db, seller)) == ["eu-fsf", "ofac-sdn"]
    assert all(v.rescreened_at is not None for v in service.list_versions(fresh_db))
