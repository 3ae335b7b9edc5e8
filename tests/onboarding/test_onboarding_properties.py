"""Properties of requirement derivation, over any profile hypothesis can build: nothing is both
due and met, payouts only when nothing is due or pending and no sanctions block, past due only
after the deadline, more information never makes more due (except a volume threshold)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from onboarding_builders import START, moments, profiles

from sellerpay.onboarding.rules import (
    BASE_GRACE,
    Address,
    DocumentFacts,
    DocumentKind,
    DocumentStatus,
    OnboardingProfile,
    Outcome,
    Person,
    Requirement,
    RequirementsState,
    VerificationStatus,
    assess,
    derive,
    not_started_capabilities,
    requirement_rules,
)
from sellerpay.sellers.rules import SellerStatus

R = Requirement
THRESHOLD_REQUIREMENTS = frozenset({R.PROOF_OF_ADDRESS, R.OWNERS_PROOF_OF_IDENTITY})
EXAMPLES = 300


def due(state: RequirementsState) -> set[Requirement]:
    return set(state.currently_due) | set(state.past_due)


def required_now(profile: OnboardingProfile) -> set[Requirement]:
    """Requirements applying from the start (independent of the rules' own bookkeeping)."""
    return {
        rule.requirement
        for rule in requirement_rules(profile.country, profile.business_type)
        if rule.threshold is None or rule.threshold.amount.amount_minor in profile.volume_reached_at
    }


def _met_fields(profile: OnboardingProfile) -> set[Requirement]:
    """An independent oracle for the plain fields: present means met."""
    met = set()
    if profile.tax_id:
        met.add(R.TAX_ID)
    if profile.registration_number:
        met.add(R.REGISTRATION_NUMBER)
    if profile.address:
        met.add(R.ADDRESS)
    if profile.terms_accepted_at:
        met.add(R.TERMS_ACCEPTANCE)
    if profile.business_type:
        met.add(R.BUSINESS_TYPE)
    if profile.verification_status is VerificationStatus.VERIFIED:
        met.add(R.VERIFICATION)
    return met


@settings(max_examples=EXAMPLES)
@given(profile=profiles, now=moments)
def test_a_requirement_is_never_both_due_and_met(profile: OnboardingProfile, now: datetime) -> None:
    state = derive(profile, now)
    outcomes = {a.requirement: a.outcome for a in assess(profile)}
    listed = set(state.eventually_due) | set(state.pending_verification)

    for requirement in _met_fields(profile) & set(outcomes):
        assert requirement not in listed, requirement
    for requirement in due(state):
        assert outcomes[requirement] in (Outcome.MISSING, Outcome.ERROR)
    assert not set(state.currently_due) & set(state.past_due)
    assert not set(state.eventually_due) & set(state.pending_verification)
    assert due(state) <= set(state.eventually_due)
    assert due(state) <= required_now(profile)
    assert {e.requirement for e in state.errors} <= listed


@settings(max_examples=EXAMPLES)
@given(profile=profiles, now=moments)
def test_payouts_only_with_nothing_due_nothing_pending_and_no_sanctions_block(
    profile: OnboardingProfile, now: datetime
) -> None:
    state = derive(profile, now)
    allowed = state.capabilities

    if allowed.payouts_enabled:
        assert not state.currently_due and not state.past_due
        assert not state.pending_verification
        assert not profile.sanctions_blocked
        assert profile.seller_status is SellerStatus.ACTIVE
        assert allowed.sales_enabled and allowed.disabled_reason is None
    else:
        assert allowed.disabled_reason is not None
    if profile.sanctions_blocked:
        assert not allowed.sales_enabled and allowed.disabled_reason == "sanctions_match"
    if state.past_due and not profile.sanctions_blocked:
        assert not allowed.sales_enabled


@settings(max_examples=EXAMPLES)
@given(profile=profiles, now=moments)
def test_past_due_only_after_the_deadline_and_current_deadline_is_the_next_one(
    profile: OnboardingProfile, now: datetime
) -> None:
    state = derive(profile, now)
    deadlines = {a.requirement: a.deadline for a in assess(profile)}

    for requirement in state.past_due:
        deadline = deadlines[requirement]
        assert deadline is not None and deadline <= now
    for requirement in state.currently_due:
        deadline = deadlines[requirement]
        assert deadline is not None and now < deadline
    current = [deadlines[r] for r in state.currently_due]
    assert state.current_deadline == (min(current) if current else None)  # type: ignore[type-var]
    if now < START + BASE_GRACE and not profile.volume_reached_at:
        assert state.past_due == ()


@settings(max_examples=EXAMPLES)
@given(profile=profiles, now=moments, later_by=st.integers(min_value=0, max_value=60))
def test_time_only_moves_requirements_from_currently_due_to_past_due(
    profile: OnboardingProfile, now: datetime, later_by: int
) -> None:
    before = derive(profile, now)
    after = derive(profile, now + timedelta(days=later_by))

    assert set(before.past_due) <= set(after.past_due)
    assert due(before) == due(after)
    assert before.eventually_due == after.eventually_due
    assert before.pending_verification == after.pending_verification


# --- more information never makes more due --------------------------------------------------


@st.composite
def additions(draw: st.DrawFn, profile: OnboardingProfile) -> OnboardingProfile:
    """`profile` with one more piece of information (a field filled, a person, a document, a
    holder name, an acceptance), never anything taken away or changed."""
    options = ["document", "terms", "holder_approval", "owners_provided"]
    options += [
        name
        for name in (
            "legal_name",
            "legal_name_kana",
            "registration_number",
            "tax_id",
            "address",
            "bank_account_holder_name",
        )
        if getattr(profile, name) is None
    ]
    if profile.representative is None:
        options.append("representative")
    if profile.business_type is not None:
        options.append("owner")
    choice = draw(st.sampled_from(options))
    if choice == "document":
        ids = [p.id for p in profile.persons]
        document = DocumentFacts(
            f"doc_new_{len(profile.documents)}",
            draw(st.sampled_from(DocumentKind)),
            draw(st.sampled_from(DocumentStatus)),
            draw(st.none() | st.sampled_from(ids)) if ids else None,
            "unreadable",
        )
        return replace(profile, documents=(*profile.documents, document))
    if choice in ("representative", "owner"):
        return _with_person(draw, profile, representative=choice == "representative")
    filled = {
        "terms": {"terms_accepted_at": START},
        "holder_approval": {"bank_account_holder_approved": True},
        "owners_provided": {"owners_provided": True},
        "legal_name": {"legal_name": "Acme Refurb SAS"},
        "legal_name_kana": {"legal_name_kana": "アクメ"},
        "registration_number": {"registration_number": "732829320"},
        "tax_id": {"tax_id": "FR44732829320"},
        "address": {"address": Address("1 rue", "Lyon", "69003", "FR")},
        "bank_account_holder_name": {
            "bank_account_holder_name": draw(st.sampled_from(["Acme Refurb", "Someone Else"]))
        },
    }[choice]
    return replace(profile, **filled)  # type: ignore[arg-type]


def _with_person(
    draw: st.DrawFn, profile: OnboardingProfile, *, representative: bool
) -> OnboardingProfile:
    """A complete person (names, kana, date of birth); an owner only with a share that keeps
    the total at 100 % or less (more is refused at the door)."""
    held = sum(p.ownership_bps for p in profile.persons if p.owner)
    room = 10_000 - held
    owner = not representative and room > 0
    person = Person(
        id=f"per_new_{len(profile.persons)}",
        first_name="Léa",
        last_name="Durand",
        first_name_kana="レア",
        last_name_kana="デュラン",
        date_of_birth=date(1985, 1, 1),
        representative=representative,
        owner=owner,
        ownership_bps=draw(st.integers(1, room)) if owner else 0,
    )
    return replace(profile, persons=(*profile.persons, person))


@settings(max_examples=EXAMPLES)
@given(data=st.data(), profile=profiles, now=moments)
def test_adding_information_never_makes_more_due_except_by_a_volume_threshold(
    data: st.DataObject, profile: OnboardingProfile, now: datetime
) -> None:
    more = data.draw(additions(profile))

    before, after = derive(profile, now), derive(more, now)

    newly_due = due(after) - due(before)
    if not profile.volume_reached_at:
        assert newly_due == set(), newly_due
    assert newly_due <= THRESHOLD_REQUIREMENTS
    assert set(after.eventually_due) - set(before.eventually_due) <= THRESHOLD_REQUIREMENTS


@settings(max_examples=EXAMPLES)
@given(profile=profiles, now=moments, reached_at=moments)
def test_reaching_a_threshold_adds_only_that_thresholds_requirements(
    profile: OnboardingProfile, now: datetime, reached_at: datetime
) -> None:
    reached = replace(profile, volume_reached_at={1_000_000: reached_at, 10_000_000: reached_at})

    newly_due = due(derive(reached, now)) - due(derive(profile, now))

    assert newly_due <= THRESHOLD_REQUIREMENTS


@settings(max_examples=EXAMPLES)
@given(
    status=st.sampled_from(SellerStatus),
    country=st.sampled_from(["FR", "ES", "US", "JP", "DE"]),
    now=moments,
)
def test_the_shortcut_for_sellers_without_a_profile_equals_deriving_an_empty_one(
    status: SellerStatus, country: str, now: datetime
) -> None:
    empty = OnboardingProfile(
        seller_id="sel_empty", country=country, seller_status=status, started_at=START
    )

    assert (
        not_started_capabilities(seller_status=status, started_at=START, now=now)
        == derive(empty, now).capabilities
    )
    assert not derive(empty, now).capabilities.payouts_enabled


@settings(max_examples=EXAMPLES)
@given(profile=profiles, now=moments)
def test_a_sanctions_block_switches_everything_off_whatever_else_is_true(
    profile: OnboardingProfile, now: datetime
) -> None:
    blocked = derive(replace(profile, sanctions_blocked=True), now)
    clear = derive(replace(profile, sanctions_blocked=False), now)

    assert (blocked.capabilities.payouts_enabled, blocked.capabilities.sales_enabled) == (
        False,
        False,
    )
    assert blocked.capabilities.disabled_reason == "sanctions_match"
    assert (blocked.currently_due, blocked.past_due, blocked.errors) == (
        clear.currently_due,
        clear.past_due,
        clear.errors,
    )


def test_the_strategies_reach_the_interesting_cases() -> None:
    """Guard against strategies that never produce a payable, a past-due or a refused seller
    (the properties above would then hold vacuously)."""
    seen = {"payable": False, "past_due": False, "error": False, "sanctions": False}

    @settings(max_examples=600, database=None)
    @given(profile=profiles, now=moments)
    def explore(profile: OnboardingProfile, now: datetime) -> None:
        state = derive(profile, now)
        seen["payable"] |= state.capabilities.payouts_enabled
        seen["past_due"] |= bool(state.past_due)
        seen["error"] |= bool(state.errors)
        seen["sanctions"] |= state.capabilities.disabled_reason == "sanctions_match"

    explore()
    assert all(seen.values()), seen
