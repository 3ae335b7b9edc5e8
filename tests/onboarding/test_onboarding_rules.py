"""The requirement rules, example by example: what each country and business type must provide,
deadlines, thresholds, the order of the capabilities' reasons, bank account holder names."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from onboarding_builders import START

from sellerpay.errors import InvalidInput
from sellerpay.money import Money
from sellerpay.onboarding.rules import (
    BASE_GRACE,
    THRESHOLD_GRACE,
    Address,
    BusinessType,
    DocumentFacts,
    DocumentKind,
    DocumentStatus,
    OnboardingProfile,
    Person,
    Requirement,
    VerificationStatus,
    check_birth_date,
    derive,
    eur_equivalent,
    holder_name_matches,
    normalise_kana,
    normalise_name,
    ownership_bps,
    requirement_rules,
    thresholds_reached,
)
from sellerpay.sellers.rules import SellerStatus

R = Requirement
B = BusinessType


def required(country: str, business_type: BusinessType | None) -> set[Requirement]:
    return {r.requirement for r in requirement_rules(country, business_type) if r.threshold is None}


def later(country: str, business_type: BusinessType) -> set[Requirement]:
    return {r.requirement for r in requirement_rules(country, business_type) if r.threshold}


EVERYONE = {
    R.LEGAL_NAME,
    R.ADDRESS,
    R.REPRESENTATIVE,
    R.REPRESENTATIVE_DOB,
    R.PROOF_OF_IDENTITY,
    R.PROOF_OF_BANK_ACCOUNT,
    R.BANK_ACCOUNT_OWNERSHIP,
    R.TERMS_ACCEPTANCE,
    R.VERIFICATION,
}
KYB = {R.REGISTRATION_NUMBER, R.PROOF_OF_REGISTRATION}


@pytest.mark.parametrize(
    ("country", "business_type", "extra"),
    [
        ("FR", B.COMPANY, KYB | {R.OWNERS, R.TAX_ID}),
        ("FR", B.NON_PROFIT, KYB),
        ("FR", B.SOLE_TRADER, KYB),
        ("FR", B.INDIVIDUAL, {R.TAX_ID}),
        ("ES", B.COMPANY, KYB | {R.OWNERS, R.TAX_ID}),
        ("ES", B.SOLE_TRADER, {R.TAX_ID}),
        ("ES", B.INDIVIDUAL, {R.TAX_ID}),
        ("US", B.COMPANY, KYB | {R.OWNERS}),
        ("US", B.INDIVIDUAL, {R.TAX_ID}),
        ("US", B.SOLE_TRADER, {R.TAX_ID}),
        ("JP", B.COMPANY, KYB | {R.OWNERS}),
        ("JP", B.INDIVIDUAL, set()),
        ("DE", B.COMPANY, KYB | {R.OWNERS}),
        ("DE", B.INDIVIDUAL, set()),
        ("BR", B.NON_PROFIT, KYB),
    ],
)
def test_each_country_and_business_type_needs_what_every_seller_needs_and_its_own(
    country: str, business_type: BusinessType, extra: set[Requirement]
) -> None:
    assert required(country, business_type) == EVERYONE | extra


def test_volume_thresholds_add_proof_of_address_for_people_and_owners_proofs_for_companies() -> (
    None
):
    assert later("FR", B.INDIVIDUAL) == {R.PROOF_OF_ADDRESS}
    assert later("US", B.SOLE_TRADER) == {R.PROOF_OF_ADDRESS}
    assert later("FR", B.COMPANY) == {R.OWNERS_PROOF_OF_IDENTITY}
    assert later("ES", B.NON_PROFIT) == {R.PROOF_OF_ADDRESS}


def test_a_seller_that_has_not_chosen_its_business_type_is_asked_for_it_first() -> None:
    assert required("FR", None) == EVERYONE | {R.BUSINESS_TYPE}


# --- a complete profile, and what each missing piece does ------------------------------------

REPRESENTATIVE = Person(
    "per_1",
    "Camille",
    "Martin",
    date_of_birth=date(1980, 4, 12),
    representative=True,
    owner=True,
    ownership_bps=6_000,
)
COMPLETE = OnboardingProfile(
    seller_id="sel_1",
    country="FR",
    seller_status=SellerStatus.ACTIVE,
    started_at=START,
    business_type=B.COMPANY,
    legal_name="Acme Refurb SAS",
    registration_number="732829320",
    tax_id="FR44732829320",
    address=Address("12 rue des Lilas", "Lyon", "69003", "FR"),
    owners_provided=True,
    persons=(REPRESENTATIVE,),
    documents=tuple(
        DocumentFacts(f"doc_{kind.value}", kind, DocumentStatus.APPROVED)
        for kind in (
            DocumentKind.PROOF_OF_IDENTITY,
            DocumentKind.PROOF_OF_REGISTRATION,
            DocumentKind.PROOF_OF_BANK_ACCOUNT,
        )
    ),
    bank_account_holder_name="ACME REFURB",
    terms_accepted_at=START,
    verification_status=VerificationStatus.VERIFIED,
)
NOW = START + timedelta(days=1)


def test_a_complete_verified_company_may_sell_and_be_paid_out() -> None:
    state = derive(COMPLETE, NOW)

    assert state.currently_due == state.past_due == state.eventually_due == ()
    assert state.pending_verification == state.errors == ()
    assert state.capabilities.payouts_enabled and state.capabilities.sales_enabled
    assert state.capabilities.disabled_reason is None
    assert state.current_deadline is None


def test_a_missing_field_is_currently_due_until_the_deadline_then_past_due_and_sales_stop() -> None:
    profile = replace(COMPLETE, tax_id=None)

    before = derive(profile, START + BASE_GRACE - timedelta(seconds=1))
    after = derive(profile, START + BASE_GRACE)

    assert before.currently_due == (R.TAX_ID,) and before.past_due == ()
    assert before.current_deadline == START + BASE_GRACE
    assert before.capabilities.sales_enabled and not before.capabilities.payouts_enabled
    assert before.capabilities.disabled_reason == "requirements_currently_due"
    assert after.past_due == (R.TAX_ID,) and after.currently_due == ()
    assert not after.capabilities.sales_enabled and not after.capabilities.payouts_enabled
    assert after.capabilities.disabled_reason == "requirements_past_due"
    assert after.current_deadline is None


def test_a_pending_document_waits_for_review_and_holds_payouts_only() -> None:
    documents = tuple(
        replace(d, status=DocumentStatus.PENDING)
        if d.kind is DocumentKind.PROOF_OF_REGISTRATION
        else d
        for d in COMPLETE.documents
    )

    state = derive(replace(COMPLETE, documents=documents), NOW)

    assert state.pending_verification == (R.PROOF_OF_REGISTRATION,)
    assert state.currently_due == ()
    assert state.capabilities.disabled_reason == "requirements_pending_verification"
    assert state.capabilities.sales_enabled and not state.capabilities.payouts_enabled


def test_a_rejected_document_is_an_error_with_its_reason_and_is_due_again() -> None:
    rejected = DocumentFacts(
        "doc_bank_2",
        DocumentKind.PROOF_OF_BANK_ACCOUNT,
        DocumentStatus.REJECTED,
        reason_code="unreadable",
    )
    documents = (*(d for d in COMPLETE.documents if d.kind is not rejected.kind), rejected)

    state = derive(replace(COMPLETE, documents=documents), NOW)

    assert state.currently_due == (R.PROOF_OF_BANK_ACCOUNT,)
    assert [(e.requirement, e.code) for e in state.errors] == [
        (R.PROOF_OF_BANK_ACCOUNT, "document_unreadable")
    ]
    assert "read" in state.errors[0].reason


def test_an_approved_document_is_not_undone_by_a_later_rejected_one() -> None:
    rejected = DocumentFacts(
        "doc_id_2", DocumentKind.PROOF_OF_IDENTITY, DocumentStatus.REJECTED, reason_code="expired"
    )

    state = derive(replace(COMPLETE, documents=(*COMPLETE.documents, rejected)), NOW)

    assert state.errors == () and state.capabilities.payouts_enabled


def test_owners_adding_up_to_more_than_100_percent_is_an_error() -> None:
    other = Person(
        "per_2", "Léa", "Durand", date_of_birth=date(1985, 1, 1), owner=True, ownership_bps=4_001
    )

    state = derive(replace(COMPLETE, persons=(REPRESENTATIVE, other)), NOW)

    assert [(e.requirement, e.code) for e in state.errors] == [(R.OWNERS, "ownership_exceeds_100")]
    assert "100.01 %" in state.errors[0].reason


def test_a_beneficial_owner_without_a_date_of_birth_leaves_the_owners_due() -> None:
    owner = Person("per_2", "Léa", "Durand", owner=True, ownership_bps=2_500)
    minor_owner = Person("per_3", "Paul", "Roux", owner=True, ownership_bps=2_499)

    incomplete = derive(replace(COMPLETE, persons=(REPRESENTATIVE, owner)), NOW)
    fine = derive(replace(COMPLETE, persons=(REPRESENTATIVE, minor_owner)), NOW)

    assert incomplete.currently_due == (R.OWNERS,)
    assert fine.currently_due == ()


def test_a_bank_account_in_someone_elses_name_is_an_error_until_compliance_accepts_it() -> None:
    mismatch = replace(COMPLETE, bank_account_holder_name="John Smith")

    state = derive(mismatch, NOW)
    accepted = derive(replace(mismatch, bank_account_holder_approved=True), NOW)

    assert [(e.requirement, e.code) for e in state.errors] == [
        (R.BANK_ACCOUNT_OWNERSHIP, "holder_name_mismatch")
    ]
    assert not state.capabilities.payouts_enabled
    assert accepted.errors == () and accepted.capabilities.payouts_enabled


def test_an_individuals_bank_account_may_be_in_the_representatives_own_name() -> None:
    individual = replace(
        COMPLETE,
        business_type=B.INDIVIDUAL,
        legal_name="Camille Martin-Leroy",
        bank_account_holder_name="MARTIN CAMILLE",
        tax_id="3023217600053",
    )

    assert R.BANK_ACCOUNT_OWNERSHIP not in derive(individual, NOW).eventually_due


def test_reaching_a_volume_threshold_makes_proof_of_address_due_with_its_own_deadline() -> None:
    individual = replace(COMPLETE, business_type=B.INDIVIDUAL, tax_id="3023217600053")
    reached_at = START + timedelta(days=40)
    reached = replace(individual, volume_reached_at={1_000_000: reached_at})

    before = derive(individual, reached_at)
    after = derive(reached, reached_at)
    later_on = derive(reached, reached_at + THRESHOLD_GRACE)

    assert before.eventually_due == (R.PROOF_OF_ADDRESS,) and before.currently_due == ()
    assert before.capabilities.payouts_enabled
    assert after.currently_due == (R.PROOF_OF_ADDRESS,)
    assert after.current_deadline == reached_at + THRESHOLD_GRACE
    assert after.capabilities.disabled_reason == "requirements_currently_due"
    assert later_on.past_due == (R.PROOF_OF_ADDRESS,)


def test_japanese_sellers_give_kana_for_their_legal_name_and_representative() -> None:
    japanese = replace(COMPLETE, country="JP", registration_number="5835678256246", tax_id=None)
    with_kana = replace(
        japanese,
        legal_name_kana="アクメ",
        persons=(replace(REPRESENTATIVE, first_name_kana="カミーユ", last_name_kana="マルタン"),),
    )

    assert set(derive(japanese, NOW).currently_due) == {R.LEGAL_NAME, R.REPRESENTATIVE, R.OWNERS}
    assert derive(with_kana, NOW).currently_due == ()


@pytest.mark.parametrize(
    ("status", "listed_in", "payouts"),
    [
        (VerificationStatus.NONE, "currently_due", False),
        (VerificationStatus.PENDING, "pending_verification", False),
        (VerificationStatus.REVIEW, "pending_verification", False),
        (VerificationStatus.REJECTED, "currently_due", False),
        (VerificationStatus.VERIFIED, None, True),
    ],
)
def test_verification_status_decides_where_verification_stands(
    status: VerificationStatus, listed_in: str | None, payouts: bool
) -> None:
    state = derive(replace(COMPLETE, verification_status=status), NOW)

    lists = {name: getattr(state, name) for name in ("currently_due", "pending_verification")}
    assert [name for name, items in lists.items() if R.VERIFICATION in items] == (
        [listed_in] if listed_in else []
    )
    assert state.capabilities.payouts_enabled is payouts


@pytest.mark.parametrize(
    ("change", "payouts", "sales", "reason"),
    [
        ({"sanctions_blocked": True}, False, False, "sanctions_match"),
        ({"seller_status": SellerStatus.CLOSED}, False, False, "seller_closed"),
        ({"seller_status": SellerStatus.RESTRICTED}, False, True, "seller_restricted"),
        (
            {"sanctions_blocked": True, "seller_status": SellerStatus.CLOSED},
            False,
            False,
            "sanctions_match",
        ),
        (
            {"tax_id": None, "seller_status": SellerStatus.RESTRICTED},
            False,
            True,
            "seller_restricted",
        ),
    ],
)
def test_capabilities_say_the_first_reason_that_applies(
    change: dict[str, object], payouts: bool, sales: bool, reason: str
) -> None:
    allowed = derive(replace(COMPLETE, **change), NOW).capabilities  # type: ignore[arg-type]

    assert (allowed.payouts_enabled, allowed.sales_enabled, allowed.disabled_reason) == (
        payouts,
        sales,
        reason,
    )


def test_a_deadline_passed_stops_sales_even_of_a_restricted_seller() -> None:
    state = derive(
        replace(COMPLETE, tax_id=None, seller_status=SellerStatus.RESTRICTED), START + BASE_GRACE
    )

    assert state.capabilities.disabled_reason == "requirements_past_due"
    assert not state.capabilities.sales_enabled


# --- bank account holder names ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("holder", "legal"),
    [
        ("ACME REFURB", "Acme Refurb SAS"),
        ("Refurb Acme", "ACME REFURB S.A.S."),
        ("DUPONT JEAN PIERRE", "Jean-Pierre Dupont"),
        ("MUELLER GMBH", "Müller GmbH"),
        ("Electronica Garcia SL", "Electrónica García, S.L."),
        ("ｶ)ｱｸﾒ", "株式会社アクメ"),
        ("ヤマダ タロウ", "やまだ たろう"),
    ],
)
def test_holder_names_of_the_seller_match_whatever_their_order_accents_form_or_kana_width(
    holder: str, legal: str
) -> None:
    score, ok = holder_name_matches(holder, legal)

    assert ok, (holder, legal, score, normalise_name(holder), normalise_name(legal))
    assert score >= 85


@pytest.mark.parametrize(
    ("holder", "legal"),
    [
        ("John Smith", "Acme Refurb SAS"),
        ("ACME TRADING", "Acme Refurb SAS"),
        ("SAS", "Acme Refurb SAS"),  # nothing left once the legal form is dropped
        ("ｽｽﾞｷ ｲﾁﾛｳ", "ヤマダ タロウ"),
    ],
)
def test_holder_names_of_someone_else_do_not_match(holder: str, legal: str) -> None:
    score, ok = holder_name_matches(holder, legal)

    assert not ok and score < 85


# --- small rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "bps"), [("25", 2500), ("25.5", 2550), ("0.01", 1), ("100", 10_000)]
)
def test_ownership_percentages_become_hundredths(text: str, bps: int) -> None:
    assert ownership_bps(Decimal(text), field="f") == bps


@pytest.mark.parametrize("text", ["0", "-1", "100.01", "25.555", "NaN", "Infinity"])
def test_ownership_percentages_outside_0_to_100_or_with_three_decimals_are_refused(
    text: str,
) -> None:
    with pytest.raises(InvalidInput) as refused:
        ownership_bps(Decimal(text), field="body.relationship.ownership_percent")

    assert refused.value.code == "invalid_ownership_percent"
    assert refused.value.context["field"] == "body.relationship.ownership_percent"


def test_kana_is_stored_in_full_width_katakana_and_other_scripts_are_refused() -> None:
    assert normalise_kana("ﾔﾏﾀﾞ", field="f") == "ヤマダ"
    assert normalise_kana("やまだ", field="f") == "ヤマダ"
    with pytest.raises(InvalidInput) as refused:
        normalise_kana("山田", field="body.last_name_kana")
    assert refused.value.code == "invalid_kana"


def test_representatives_are_adults_and_births_are_in_the_past() -> None:
    today = date(2026, 1, 5)
    check_birth_date(date(2008, 1, 5), today=today, representative=True, field="f")
    with pytest.raises(InvalidInput, match="18") as young:
        check_birth_date(date(2008, 1, 6), today=today, representative=True, field="f")
    with pytest.raises(InvalidInput) as future:
        check_birth_date(date(2026, 1, 5), today=today, representative=False, field="f")
    assert young.value.code == "representative_under_age"
    assert future.value.code == "invalid_date_of_birth"
    check_birth_date(date(2010, 1, 1), today=today, representative=False, field="f")  # an owner


def test_volume_in_several_currencies_is_counted_in_eur_at_reference_rates_rounded_down() -> None:
    volume = eur_equivalent([Money(500_000, "EUR"), Money(100_000, "USD"), Money(1_000, "JPY")])

    assert volume == Money(500_000 + 92_000 + 620, "EUR")
    with pytest.raises(InvalidInput) as refused:
        eur_equivalent([Money(100, "BRL")])
    assert refused.value.code == "no_reference_rate"


def test_a_threshold_once_reached_keeps_the_time_it_was_first_reached() -> None:
    first = thresholds_reached(Money(1_000_000, "EUR"), {}, at=START)
    again = thresholds_reached(Money(20_000_000, "EUR"), first, at=NOW)

    assert first == {1_000_000: START}
    assert again == {1_000_000: START, 10_000_000: NOW}
    assert thresholds_reached(Money(999_999, "EUR"), {}, at=START) == {}
