"""Identity/company verification: the simulated provider (asynchronous, deterministic by seed,
some failures), the polling job, manual review as the fallback, and details changed mid-way."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from onboarding_builders import START, audit_actions, new_seller

from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.onboarding import service
from sellerpay.onboarding.demo import onboard_simulated_seller
from sellerpay.onboarding.rules import BusinessType, Requirement, VerificationStatus
from sellerpay.onboarding.verification import (
    ProviderOutcome,
    SimulatedProvider,
    VerificationRequest,
    VerificationResult,
)

DELAY = timedelta(minutes=5)
REQUEST = VerificationRequest(
    seller_id="sel_1",
    country="FR",
    business_type="company",
    legal_name="Acme Refurb SAS",
    registration_number="732829320",
    representative_name="Camille Martin",
    representative_date_of_birth=date(1980, 4, 12),
    fingerprint="f" * 64,
)


def requests(count: int) -> list[VerificationRequest]:
    return [replace(REQUEST, seller_id=f"sel_{i}") for i in range(count)]


def outcomes(
    provider: SimulatedProvider, batch: list[VerificationRequest]
) -> list[ProviderOutcome]:
    references = [provider.submit(r, now=START) for r in batch]
    return [provider.result(ref, now=START + DELAY).outcome for ref in references]


def test_the_simulated_provider_answers_only_after_its_delay() -> None:
    provider = SimulatedProvider(seed=7, failure_percent=0, delay=DELAY)

    reference = provider.submit(REQUEST, now=START)

    assert provider.result(reference, now=START + DELAY - timedelta(seconds=1)).outcome is (
        ProviderOutcome.PENDING
    )
    assert provider.result(reference, now=START + DELAY).outcome is ProviderOutcome.VERIFIED
    assert provider.submit(REQUEST, now=START) == reference  # one reference per request


def test_the_same_seed_gives_the_same_answers_and_about_the_share_of_failures_asked() -> None:
    batch = requests(1_000)

    first = outcomes(SimulatedProvider(seed=3, failure_percent=20, delay=DELAY), batch)
    again = outcomes(SimulatedProvider(seed=3, failure_percent=20, delay=DELAY), batch)
    other_seed = outcomes(SimulatedProvider(seed=4, failure_percent=20, delay=DELAY), batch)

    assert first == again
    assert first != other_seed
    assert 150 <= first.count(ProviderOutcome.FAILED) <= 250
    assert set(first) == {ProviderOutcome.VERIFIED, ProviderOutcome.FAILED}


def test_a_failure_carries_a_reason_code_and_a_reason() -> None:
    provider = SimulatedProvider(seed=0, failure_percent=100, delay=timedelta(0))

    result = provider.result(provider.submit(REQUEST, now=START), now=START)

    assert result.outcome is ProviderOutcome.FAILED
    assert result.reason_code in {"document_unreadable", "name_mismatch", "registry_not_found"}
    assert result.reason


def test_verification_is_queued_when_details_are_complete_then_polled_to_an_answer(
    db: Database, clock: FixedClock
) -> None:
    provider = SimulatedProvider(seed=1, failure_percent=0, delay=DELAY)
    seller_id = new_seller(db, clock)
    queued = onboard_simulated_seller(db, seller_id, now=clock.now())

    submitted = service.poll_verifications(db, clock.now(), provider=provider)
    early = service.poll_verifications(db, clock.now(), provider=provider)
    clock.advance(DELAY)
    answered = service.poll_verifications(db, clock.now(), provider=provider)
    done = service.get_onboarding(db, seller_id, now=clock.now())

    assert queued.profile.verification_status is VerificationStatus.PENDING
    assert submitted.submitted >= 1 and early.submitted == 0
    assert answered.verified >= 1
    assert done.profile.verification_status is VerificationStatus.VERIFIED
    assert done.profile.verification_provider == "simulated"
    assert done.requirements.capabilities.payouts_enabled
    assert ("onboarding.verification_result", "system:verification-simulated", None) in (
        audit_actions(db, seller_id)
    )


def test_a_failed_verification_goes_to_manual_review_and_holds_payouts(
    db: Database, clock: FixedClock
) -> None:
    provider = SimulatedProvider(seed=1, failure_percent=100, delay=timedelta(0))
    seller_id = new_seller(db, clock)
    onboard_simulated_seller(db, seller_id, now=clock.now())

    service.poll_verifications(db, clock.now(), provider=provider)
    view = service.get_onboarding(db, seller_id, now=clock.now())

    assert view.profile.verification_status is VerificationStatus.REVIEW
    assert view.profile.verification_reason_code is not None
    assert view.requirements.pending_verification == (Requirement.VERIFICATION,)
    assert view.requirements.capabilities.disabled_reason == "requirements_pending_verification"


def test_changed_details_undo_a_verification_and_a_late_answer_for_the_old_ones_is_ignored(
    db: Database, clock: FixedClock
) -> None:
    provider = SimulatedProvider(seed=1, failure_percent=0, delay=DELAY)
    seller_id = new_seller(db, clock)
    onboard_simulated_seller(db, seller_id, now=clock.now())
    service.poll_verifications(db, clock.now(), provider=provider)  # submitted: old details
    profile = service.get_onboarding(db, seller_id, now=clock.now()).profile
    renamed = service.ProfileSubmission(
        business_type=BusinessType.COMPANY,
        legal_name="Renamed Refurb SAS",
        registration_number=profile.registration_number,
        tax_id=profile.tax_id,
        address=profile.address,
        owners_provided=True,
        bank_account_holder_name="Renamed Refurb",
    )
    service.put_profile(db, seller_id, renamed, actor="system:test", now=clock.now())
    clock.advance(DELAY)

    report = service.poll_verifications(db, clock.now(), provider=provider)
    after = service.get_onboarding(db, seller_id, now=clock.now()).profile
    clock.advance(DELAY)
    service.poll_verifications(db, clock.now(), provider=provider)
    verified = service.get_onboarding(db, seller_id, now=clock.now()).profile

    assert report.submitted >= 1  # the new details were sent
    assert after.verification_status is VerificationStatus.PENDING
    assert verified.verification_status is VerificationStatus.VERIFIED


def test_polling_twice_at_once_records_each_answer_once(db: Database, clock: FixedClock) -> None:
    provider = SimulatedProvider(seed=1, failure_percent=0, delay=timedelta(0))
    seller_id = new_seller(db, clock)
    onboard_simulated_seller(db, seller_id, now=clock.now())

    service.poll_verifications(db, clock.now(), provider=provider)
    service.poll_verifications(db, clock.now(), provider=provider)

    results = [
        a for a, _, _ in audit_actions(db, seller_id) if a == "onboarding.verification_result"
    ]
    assert results == ["onboarding.verification_result"]


class _DownOnce:
    """The simulated provider, unreachable the first time it is asked about one seller."""

    name = "simulated"

    def __init__(self, seller_id: str) -> None:
        self.inner = SimulatedProvider(seed=1, failure_percent=0, delay=timedelta(0))
        self.seller_id = seller_id
        self.failed = False

    def submit(self, request: VerificationRequest, *, now: datetime) -> str:
        if request.seller_id == self.seller_id and not self.failed:
            self.failed = True
            raise ConnectionError("provider unreachable")
        return self.inner.submit(request, now=now)

    def result(self, reference: str, *, now: datetime) -> VerificationResult:
        return self.inner.result(reference, now=now)


def test_a_provider_that_is_down_leaves_the_verification_queued_for_the_next_run(
    db: Database, clock: FixedClock
) -> None:
    seller_id = new_seller(db, clock)
    onboard_simulated_seller(db, seller_id, now=clock.now())
    provider = _DownOnce(seller_id)

    def status() -> VerificationStatus:
        return service.get_onboarding(db, seller_id, now=clock.now()).profile.verification_status

    service.poll_verifications(db, clock.now(), provider=provider, limit=1_000)
    while_down = status()
    service.poll_verifications(db, clock.now(), provider=provider, limit=1_000)

    assert provider.failed
    assert while_down is VerificationStatus.PENDING
    assert status() is VerificationStatus.VERIFIED
