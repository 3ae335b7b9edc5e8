"""Pure rules of onboarding: which requirements a seller must meet (per country, business type and
lifetime volume), how each stands, and what the seller may do as a result.

`derive(profile, now)` is a plain function of its inputs (no I/O, no clock), in two steps that
the service also uses apart: `assess` (each requirement's outcome and deadline, independent of
the time) and `state_at` (where each requirement stands at `now`, and the capabilities). The
service stores an assessment's summary so that `capabilities_of` answers for a million sellers
without re-reading their persons and documents.

Lists (GLOSSARY: requirement, capability):

- `eventually_due`: every requirement not yet met nor waiting for review, including those due
  only once a volume threshold is reached (as in Stripe's API, it contains the two lists below);
- `currently_due`: required now, not met, deadline not reached;
- `past_due`: required now, not met, deadline reached (disjoint from `currently_due`);
- `pending_verification`: provided, waiting for a review or the verification provider;
- `errors`: provided and refused (a rejected document, a failed verification, a bank account
  holder who is not the seller), each with a stable code and a human reason.

Capabilities: payouts only when nothing is due or pending and there is no sanctions block;
sales until a deadline passes. See `capabilities_from` for the order of the reasons.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Final

import jaconv
from rapidfuzz import fuzz
from unidecode import unidecode

from sellerpay.errors import InvalidInput
from sellerpay.money import ExchangeRate, Money, RoundingMode
from sellerpay.sellers.rules import Capabilities, SellerStatus

__all__ = [
    "BASE_GRACE",
    "THRESHOLD_GRACE",
    "VOLUME_THRESHOLDS",
    "Address",
    "Assessment",
    "BusinessType",
    "Capabilities",
    "DocumentFacts",
    "DocumentKind",
    "DocumentStatus",
    "OnboardingProfile",
    "Outcome",
    "Person",
    "Requirement",
    "RequirementError",
    "RequirementsState",
    "Summary",
    "VerificationStatus",
    "assess",
    "capabilities_from",
    "derive",
    "holder_name_matches",
    "requirement_rules",
    "state_at",
    "summarize",
]

BASE_GRACE: Final = timedelta(days=30)
"""How long a seller has, from its creation, to meet the requirements due from the start."""
THRESHOLD_GRACE: Final = timedelta(days=14)
"""How long a seller has, from the moment a volume threshold is reached, to meet what it adds."""
OWNERSHIP_BPS_MAX: Final = 10_000  # 100 %, in hundredths of a percent
BENEFICIAL_OWNER_BPS_MIN: Final = 2_500  # 25 %: who counts as a beneficial owner (AMLD)
HOLDER_NAME_SCORE_MIN: Final = 85
"""Token-sort ratio (0 to 100) from which a bank account holder name is the seller's own."""
REPRESENTATIVE_AGE_MIN: Final = 18
name_length_max: Final = 200


# --- vocabulary ------------------------------------------------------------------------------


class BusinessType(StrEnum):
    INDIVIDUAL = "individual"  # a private person selling (KYC)
    SOLE_TRADER = "sole_trader"  # a person trading under their own name (auto-entrepreneur)
    COMPANY = "company"  # KYB: registration, beneficial owners
    NON_PROFIT = "non_profit"  # an association or foundation: registration, no shareholders


class Requirement(StrEnum):
    """A piece of information or proof a seller must provide (stable names, shown in the API).
    The order here is the order of every list."""

    BUSINESS_TYPE = "business_type"
    LEGAL_NAME = "legal_name"
    REGISTRATION_NUMBER = "registration_number"
    TAX_ID = "tax_id"
    ADDRESS = "address"
    REPRESENTATIVE = "representative"
    REPRESENTATIVE_DOB = "representative.dob"
    OWNERS = "owners"
    PROOF_OF_IDENTITY = "documents.proof_of_identity"
    PROOF_OF_REGISTRATION = "documents.proof_of_registration"
    PROOF_OF_BANK_ACCOUNT = "documents.proof_of_bank_account"
    PROOF_OF_ADDRESS = "documents.proof_of_address"
    OWNERS_PROOF_OF_IDENTITY = "documents.owners_proof_of_identity"
    BANK_ACCOUNT_OWNERSHIP = "bank_account.ownership"
    TERMS_ACCEPTANCE = "terms_acceptance"
    VERIFICATION = "verification"


class DocumentKind(StrEnum):
    PROOF_OF_IDENTITY = "proof_of_identity"  # passport, identity card (of a person)
    PROOF_OF_REGISTRATION = "proof_of_registration"  # FR: extrait Kbis; ES: nota simple…
    PROOF_OF_BANK_ACCOUNT = "proof_of_bank_account"  # RIB, bank statement header
    PROOF_OF_ADDRESS = "proof_of_address"  # utility bill, less than 3 months old


class DocumentStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class RejectionReason(StrEnum):
    """Why compliance refused a document or a verification. `not_accepted` is the one shown when
    the true reason must not be told to the seller (suspected fraud: no tipping off)."""

    UNREADABLE = "unreadable"
    EXPIRED = "expired"
    NAME_MISMATCH = "name_mismatch"
    WRONG_KIND = "wrong_kind"
    INCOMPLETE = "incomplete"
    NOT_ACCEPTED = "not_accepted"


class VerificationStatus(StrEnum):
    """Identity/company verification: `none` (not sent), `pending` (queued or at the provider),
    `review` (the provider failed or could not decide: compliance decides), `verified`,
    `rejected` (by compliance; the seller must correct what was sent)."""

    NONE = "none"
    PENDING = "pending"
    REVIEW = "review"
    VERIFIED = "verified"
    REJECTED = "rejected"


class Outcome(StrEnum):
    SATISFIED = "satisfied"
    MISSING = "missing"
    PENDING = "pending"
    ERROR = "error"


# --- inputs ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Address:
    line1: str
    city: str
    postal_code: str
    country: str
    line2: str | None = None
    region: str | None = None


@dataclass(frozen=True, slots=True)
class Person:
    """A representative and/or owner. `ownership_bps` in hundredths of a percent (2500 = 25 %)."""

    id: str
    first_name: str
    last_name: str
    first_name_kana: str | None = None
    last_name_kana: str | None = None
    date_of_birth: date | None = None
    nationality: str | None = None
    representative: bool = False
    owner: bool = False
    ownership_bps: int = 0

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def kana_name(self) -> str | None:
        if self.first_name_kana and self.last_name_kana:
            return f"{self.last_name_kana} {self.first_name_kana}"
        return None

    @property
    def beneficial_owner(self) -> bool:
        return self.owner and self.ownership_bps >= BENEFICIAL_OWNER_BPS_MIN


@dataclass(frozen=True, slots=True)
class DocumentFacts:
    """What the rules need of an uploaded document; `person_id` None on a proof of identity
    means the representative's."""

    id: str
    kind: DocumentKind
    status: DocumentStatus
    person_id: str | None = None
    reason_code: str | None = None


@dataclass(frozen=True, slots=True)
class OnboardingProfile:
    """Everything the requirements depend on, for one seller. `volume_reached_at` maps each
    volume threshold reached (EUR-equivalent minor units, see `VOLUME_THRESHOLDS`) to when."""

    seller_id: str
    country: str
    seller_status: SellerStatus
    started_at: datetime
    business_type: BusinessType | None = None
    legal_name: str | None = None
    legal_name_kana: str | None = None
    registration_number: str | None = None
    tax_id: str | None = None
    address: Address | None = None
    owners_provided: bool = False
    persons: tuple[Person, ...] = ()
    documents: tuple[DocumentFacts, ...] = ()
    bank_account_holder_name: str | None = None
    bank_account_holder_approved: bool = False
    terms_accepted_at: datetime | None = None
    verification_status: VerificationStatus = VerificationStatus.NONE
    verification_reason_code: str | None = None
    volume_reached_at: Mapping[int, datetime] = field(default_factory=dict)
    sanctions_blocked: bool = False

    @property
    def representative(self) -> Person | None:
        return next((p for p in self.persons if p.representative), None)


# --- outputs ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequirementError:
    requirement: Requirement
    code: str
    reason: str


@dataclass(frozen=True, slots=True)
class Assessment:
    """One requirement: its outcome, and its deadline (None: not required yet — a volume
    threshold not reached)."""

    requirement: Requirement
    outcome: Outcome
    deadline: datetime | None
    error: RequirementError | None = None


@dataclass(frozen=True, slots=True)
class RequirementsState:
    currently_due: tuple[Requirement, ...]
    eventually_due: tuple[Requirement, ...]
    past_due: tuple[Requirement, ...]
    pending_verification: tuple[Requirement, ...]
    errors: tuple[RequirementError, ...]
    current_deadline: datetime | None
    capabilities: Capabilities


@dataclass(frozen=True, slots=True)
class Summary:
    """What capabilities depend on, stored per seller: the earliest deadline of what is required
    and not met (None: nothing), how many requirements wait for a review, how many are refused."""

    due_deadline: datetime | None
    pending_count: int
    error_count: int


# --- which requirements apply ----------------------------------------------------------------

R = Requirement
B = BusinessType


@dataclass(frozen=True, slots=True)
class VolumeThreshold:
    """From `amount` (EUR-equivalent) of lifetime volume, these business types need more."""

    amount: Money
    business_types: frozenset[BusinessType]
    requirements: tuple[Requirement, ...]


VOLUME_THRESHOLDS: Final = (
    VolumeThreshold(Money(1_000_000, "EUR"), frozenset({B.INDIVIDUAL, B.SOLE_TRADER}),
                    (R.PROOF_OF_ADDRESS,)),
    VolumeThreshold(Money(10_000_000, "EUR"), frozenset({B.COMPANY}),
                    (R.OWNERS_PROOF_OF_IDENTITY,)),
    VolumeThreshold(Money(10_000_000, "EUR"), frozenset({B.NON_PROFIT}), (R.PROOF_OF_ADDRESS,)),
)  # fmt: skip

_COMMON: Final = (
    R.LEGAL_NAME, R.ADDRESS, R.REPRESENTATIVE, R.REPRESENTATIVE_DOB, R.PROOF_OF_IDENTITY,
    R.PROOF_OF_BANK_ACCOUNT, R.BANK_ACCOUNT_OWNERSHIP, R.TERMS_ACCEPTANCE, R.VERIFICATION,
)  # fmt: skip
_BY_TYPE: Final[Mapping[BusinessType, tuple[Requirement, ...]]] = {
    B.INDIVIDUAL: (),
    B.SOLE_TRADER: (),
    B.COMPANY: (R.REGISTRATION_NUMBER, R.OWNERS, R.PROOF_OF_REGISTRATION),
    B.NON_PROFIT: (R.REGISTRATION_NUMBER, R.PROOF_OF_REGISTRATION),
}
_BY_COUNTRY_AND_TYPE: Final[Mapping[tuple[str, BusinessType], tuple[Requirement, ...]]] = {
    ("FR", B.INDIVIDUAL): (R.TAX_ID,),  # numéro fiscal de référence (DAC7 reporting)
    ("FR", B.SOLE_TRADER): (R.REGISTRATION_NUMBER, R.PROOF_OF_REGISTRATION),  # SIREN, Kbis/INSEE
    ("FR", B.COMPANY): (R.TAX_ID,),  # numéro de TVA intracommunautaire
    ("ES", B.INDIVIDUAL): (R.TAX_ID,),  # NIF (DNI) or NIE
    ("ES", B.SOLE_TRADER): (R.TAX_ID,),  # autónomos trade under their NIF
    ("ES", B.COMPANY): (R.TAX_ID,),  # NIF-IVA (ES + CIF)
    ("US", B.INDIVIDUAL): (R.TAX_ID,),  # SSN or ITIN (1099-K)
    ("US", B.SOLE_TRADER): (R.TAX_ID,),  # SSN, ITIN or EIN
}


@dataclass(frozen=True, slots=True)
class RequirementRule:
    """A requirement that applies, from the start (`threshold` None) or from a volume."""

    requirement: Requirement
    threshold: VolumeThreshold | None = None


def requirement_rules(
    country: str, business_type: BusinessType | None
) -> tuple[RequirementRule, ...]:
    """The requirements of a seller of `country` and `business_type` (None: not chosen yet, so
    only the business type and what every type needs). Countries without rules of their own
    (other than FR, ES, US, JP) get the default: the rules by business type alone."""
    if business_type is None:
        return tuple(RequirementRule(r) for r in (R.BUSINESS_TYPE, *_COMMON))
    wanted = {
        *_COMMON,
        *_BY_TYPE[business_type],
        *_BY_COUNTRY_AND_TYPE.get((country, business_type), ()),
    }
    rules = [RequirementRule(r) for r in Requirement if r in wanted]
    later = [
        RequirementRule(r, threshold)
        for threshold in VOLUME_THRESHOLDS
        if business_type in threshold.business_types
        for r in threshold.requirements
        if r not in wanted
    ]
    return tuple(rules + later)


# --- assessing each requirement --------------------------------------------------------------

_Check = Callable[[OnboardingProfile], tuple[Outcome, RequirementError | None]]
_MET: Final = (Outcome.SATISFIED, None)
_MISSING: Final = (Outcome.MISSING, None)


def _present(value: object) -> tuple[Outcome, RequirementError | None]:
    return _MET if value else _MISSING


def _legal_name(p: OnboardingProfile) -> tuple[Outcome, RequirementError | None]:
    needs_kana = p.country == "JP" and p.business_type in (B.COMPANY, B.NON_PROFIT)
    return _present(p.legal_name and (p.legal_name_kana or not needs_kana))


def _representative(p: OnboardingProfile) -> tuple[Outcome, RequirementError | None]:
    person = p.representative
    return _present(person is not None and (person.kana_name or p.country != "JP"))


def _representative_dob(p: OnboardingProfile) -> tuple[Outcome, RequirementError | None]:
    person = p.representative
    return _present(person is not None and person.date_of_birth is not None)


def _owners(p: OnboardingProfile) -> tuple[Outcome, RequirementError | None]:
    total = sum(person.ownership_bps for person in p.persons if person.owner)
    if total > OWNERSHIP_BPS_MAX:
        reason = f"the owners declared hold {percent_text(total)} %, more than 100 %"
        return Outcome.ERROR, RequirementError(R.OWNERS, "ownership_exceeds_100", reason)
    complete = all(
        person.date_of_birth is not None and (person.kana_name or p.country != "JP")
        for person in p.persons
        if person.beneficial_owner
    )
    return _present(p.owners_provided and complete)


def _documents(
    p: OnboardingProfile, requirement: Requirement, kind: DocumentKind, person_id: str | None
) -> tuple[Outcome, RequirementError | None]:
    """Met by any approved document; else waiting while one is pending; else refused."""
    representative = p.representative
    own_ids = {None} | ({representative.id} if representative else set())
    wanted = own_ids if person_id is None or person_id in own_ids else {person_id}
    documents = [
        d for d in p.documents if d.kind is kind and (kind is not DocumentKind.PROOF_OF_IDENTITY
                                                      or d.person_id in wanted)
    ]  # fmt: skip
    if any(d.status is DocumentStatus.APPROVED for d in documents):
        return _MET
    if any(d.status is DocumentStatus.PENDING for d in documents):
        return Outcome.PENDING, None
    rejected = [d for d in documents if d.status is DocumentStatus.REJECTED]
    if rejected:
        code = rejected[-1].reason_code or RejectionReason.NOT_ACCEPTED.value
        reason = (
            f"the {kind.value.replace('_', ' ')} was refused: {_REJECTION_TEXT.get(code, code)}"
        )
        return Outcome.ERROR, RequirementError(requirement, f"document_{code}", reason)
    return _MISSING


_REJECTION_TEXT: Final = {
    "unreadable": "it cannot be read; upload a sharper scan",
    "expired": "it has expired",
    "name_mismatch": "the name does not match the one declared",
    "wrong_kind": "it is not the kind of document asked for",
    "incomplete": "pages or parts are missing",
    "not_accepted": "it cannot be accepted; upload another document",
}


def _document_check(requirement: Requirement, kind: DocumentKind) -> _Check:
    return lambda p: _documents(p, requirement, kind, None)


def _owners_proof_of_identity(p: OnboardingProfile) -> tuple[Outcome, RequirementError | None]:
    """Every beneficial owner's proof of identity; the worst outcome among them."""
    outcomes = [
        _documents(p, R.OWNERS_PROOF_OF_IDENTITY, DocumentKind.PROOF_OF_IDENTITY, person.id)
        for person in p.persons
        if person.beneficial_owner
    ]
    for worst in (Outcome.ERROR, Outcome.MISSING, Outcome.PENDING):
        found = next((o for o in outcomes if o[0] is worst), None)
        if found is not None:
            return found
    return _MET


def _bank_account_ownership(p: OnboardingProfile) -> tuple[Outcome, RequirementError | None]:
    holder = p.bank_account_holder_name
    candidates = holder_name_candidates(p)
    if not holder or not candidates:
        return _MISSING
    score = max(holder_name_matches(holder, name)[0] for name in candidates)
    if score >= HOLDER_NAME_SCORE_MIN or p.bank_account_holder_approved:
        return _MET
    reason = (
        f"the bank account holder {holder!r} does not match the legal name "
        f"(score {score} < {HOLDER_NAME_SCORE_MIN}); compliance reviews it"
    )
    return Outcome.ERROR, RequirementError(R.BANK_ACCOUNT_OWNERSHIP, "holder_name_mismatch", reason)


def holder_name_candidates(p: OnboardingProfile) -> tuple[str, ...]:
    """The names a bank account of this seller may be held in: the legal name (and its kana);
    for individuals and sole traders also the representative's own name."""
    names = [p.legal_name, p.legal_name_kana]
    person = p.representative
    if person is not None and p.business_type in (B.INDIVIDUAL, B.SOLE_TRADER, None):
        names += [person.full_name, person.kana_name]
    return tuple(name for name in names if name)


_VERIFICATION_TEXT: Final = {
    VerificationStatus.REJECTED: "the identity or company could not be verified",
}


def _verification(p: OnboardingProfile) -> tuple[Outcome, RequirementError | None]:
    status = p.verification_status
    if status is VerificationStatus.VERIFIED:
        return _MET
    if status in (VerificationStatus.PENDING, VerificationStatus.REVIEW):
        return Outcome.PENDING, None
    if status is VerificationStatus.REJECTED:
        code = p.verification_reason_code or RejectionReason.NOT_ACCEPTED.value
        reason = (
            f"the identity or company could not be verified ({_REJECTION_TEXT.get(code, code)}):"
            " correct the details sent and it is verified again"
        )
        return Outcome.ERROR, RequirementError(R.VERIFICATION, f"verification_{code}", reason)
    return _MISSING


_CHECKS: Final[Mapping[Requirement, _Check]] = {
    R.BUSINESS_TYPE: lambda p: _present(p.business_type),
    R.LEGAL_NAME: _legal_name,
    R.REGISTRATION_NUMBER: lambda p: _present(p.registration_number),
    R.TAX_ID: lambda p: _present(p.tax_id),
    R.ADDRESS: lambda p: _present(p.address),
    R.REPRESENTATIVE: _representative,
    R.REPRESENTATIVE_DOB: _representative_dob,
    R.OWNERS: _owners,
    R.PROOF_OF_IDENTITY: _document_check(R.PROOF_OF_IDENTITY, DocumentKind.PROOF_OF_IDENTITY),
    R.PROOF_OF_REGISTRATION: _document_check(
        R.PROOF_OF_REGISTRATION, DocumentKind.PROOF_OF_REGISTRATION
    ),
    R.PROOF_OF_BANK_ACCOUNT: _document_check(
        R.PROOF_OF_BANK_ACCOUNT, DocumentKind.PROOF_OF_BANK_ACCOUNT
    ),
    R.PROOF_OF_ADDRESS: _document_check(R.PROOF_OF_ADDRESS, DocumentKind.PROOF_OF_ADDRESS),
    R.OWNERS_PROOF_OF_IDENTITY: _owners_proof_of_identity,
    R.BANK_ACCOUNT_OWNERSHIP: _bank_account_ownership,
    R.TERMS_ACCEPTANCE: lambda p: _present(p.terms_accepted_at),
    R.VERIFICATION: _verification,
}


def assess(profile: OnboardingProfile) -> tuple[Assessment, ...]:
    """Each applicable requirement's outcome and deadline; independent of the current time."""
    assessments = []
    for rule in requirement_rules(profile.country, profile.business_type):
        if rule.threshold is None:
            deadline: datetime | None = profile.started_at + BASE_GRACE
        else:
            reached = profile.volume_reached_at.get(rule.threshold.amount.amount_minor)
            deadline = None if reached is None else reached + THRESHOLD_GRACE
        outcome, error = _CHECKS[rule.requirement](profile)
        assessments.append(Assessment(rule.requirement, outcome, deadline, error))
    return tuple(assessments)


# --- where things stand at a time, and the capabilities --------------------------------------

_DUE: Final = (Outcome.MISSING, Outcome.ERROR)


def summarize(assessments: Iterable[Assessment]) -> Summary:
    items = list(assessments)
    deadlines = [a.deadline for a in items if a.outcome in _DUE and a.deadline is not None]
    return Summary(
        due_deadline=min(deadlines, default=None),
        pending_count=sum(a.outcome is Outcome.PENDING for a in items),
        error_count=sum(a.outcome is Outcome.ERROR for a in items),
    )


def capabilities_from(
    *,
    summary: Summary,
    seller_status: SellerStatus,
    sanctions_blocked: bool,
    now: datetime,
) -> Capabilities:
    """What the seller may do at `now`. Reasons, first that applies: `sanctions_match` (all
    off), `seller_closed` (all off), `requirements_past_due` (all off: a deadline passed),
    `seller_restricted` (no payouts), `requirements_currently_due` (no payouts until they are
    met), `requirements_pending_verification` (no payouts until reviewed)."""
    due = summary.due_deadline
    if sanctions_blocked:
        return _off("sanctions_match", sales=False)
    if seller_status is SellerStatus.CLOSED:
        return _off("seller_closed", sales=False)
    if due is not None and due <= now:
        return _off("requirements_past_due", sales=False)
    if seller_status is SellerStatus.RESTRICTED:
        return _off("seller_restricted", sales=True)
    if due is not None:
        return _off("requirements_currently_due", sales=True)
    if summary.pending_count:
        return _off("requirements_pending_verification", sales=True)
    return Capabilities(payouts_enabled=True, sales_enabled=True, disabled_reason=None)


def _off(reason: str, *, sales: bool) -> Capabilities:
    return Capabilities(payouts_enabled=False, sales_enabled=sales, disabled_reason=reason)


def state_at(
    assessments: Sequence[Assessment],
    *,
    now: datetime,
    seller_status: SellerStatus,
    sanctions_blocked: bool,
) -> RequirementsState:
    """Sort the assessments into the lists at `now` and derive the capabilities."""
    due = [a for a in assessments if a.outcome in _DUE]
    required = [(a.requirement, a.deadline) for a in due if a.deadline is not None]
    currently = [(requirement, deadline) for requirement, deadline in required if now < deadline]
    return RequirementsState(
        currently_due=tuple(requirement for requirement, _ in currently),
        eventually_due=tuple(a.requirement for a in due),
        past_due=tuple(requirement for requirement, deadline in required if deadline <= now),
        pending_verification=tuple(
            a.requirement for a in assessments if a.outcome is Outcome.PENDING
        ),
        errors=tuple(a.error for a in assessments if a.error is not None),
        current_deadline=min((deadline for _, deadline in currently), default=None),
        capabilities=capabilities_from(
            summary=summarize(assessments),
            seller_status=seller_status,
            sanctions_blocked=sanctions_blocked,
            now=now,
        ),
    )


def derive(profile: OnboardingProfile, now: datetime) -> RequirementsState:
    """The seller's requirements and capabilities at `now`."""
    return state_at(
        assess(profile),
        now=now,
        seller_status=profile.seller_status,
        sanctions_blocked=profile.sanctions_blocked,
    )


def not_started_capabilities(
    *, seller_status: SellerStatus, started_at: datetime, now: datetime
) -> Capabilities:
    """The capabilities of a seller that has sent nothing yet (equal to deriving an empty
    profile, without building one: payout runs ask this of many sellers)."""
    summary = Summary(due_deadline=started_at + BASE_GRACE, pending_count=0, error_count=0)
    return capabilities_from(
        summary=summary, seller_status=seller_status, sanctions_blocked=False, now=now
    )


# --- verification ----------------------------------------------------------------------------


def verification_ready(profile: OnboardingProfile) -> bool:
    """Whether enough is known to ask the provider: who the seller is (legal name, registration
    number where required), who represents it (name, date of birth) and their proof of
    identity (uploaded, reviewed or not)."""
    if profile.business_type is None or not profile.legal_name:
        return False
    needed = {
        rule.requirement for rule in requirement_rules(profile.country, profile.business_type)
    }
    if R.REGISTRATION_NUMBER in needed and not profile.registration_number:
        return False
    person = profile.representative
    if person is None or person.date_of_birth is None:
        return False
    outcome, _ = _documents(profile, R.PROOF_OF_IDENTITY, DocumentKind.PROOF_OF_IDENTITY, None)
    return outcome in (Outcome.SATISFIED, Outcome.PENDING)


def verification_fingerprint(profile: OnboardingProfile) -> str:
    """A hash of what verification vouches for: when it changes, a verification done before no
    longer holds and the seller is verified again."""
    person = profile.representative
    facts = {
        "business_type": profile.business_type,
        "legal_name": profile.legal_name,
        "registration_number": profile.registration_number,
        "representative": None
        if person is None
        else [person.first_name, person.last_name, str(person.date_of_birth)],
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


# --- volume ----------------------------------------------------------------------------------

REFERENCE_RATES_TO_EUR: Final[Mapping[str, Decimal]] = {
    "USD": Decimal("0.92"),
    "GBP": Decimal("1.17"),
    "JPY": Decimal("0.0062"),
    "CHF": Decimal("1.04"),
    "SEK": Decimal("0.088"),
    "DKK": Decimal("0.134"),
    "NOK": Decimal("0.087"),
    "PLN": Decimal("0.23"),
    "CZK": Decimal("0.040"),
    "CAD": Decimal("0.68"),
    "AUD": Decimal("0.61"),
}
"""Fixed reference rates for volume thresholds only (never for moving money): a threshold must
not flicker with the market. Reviewed once a year."""


def eur_equivalent(amounts: Iterable[Money]) -> Money:
    """The EUR-equivalent of amounts in several currencies, each rounded down to the cent;
    `InvalidInput(no_reference_rate)` for a currency without a reference rate."""
    total = Money.zero("EUR")
    for amount in amounts:
        if amount.currency == "EUR":
            total += amount
            continue
        rate = REFERENCE_RATES_TO_EUR.get(amount.currency)
        if rate is None:
            raise InvalidInput(
                f"no reference rate to EUR for {amount.currency}",
                code="no_reference_rate",
                currency=amount.currency,
            )
        rate_to_eur = ExchangeRate(amount.currency, "EUR", rate)
        total += rate_to_eur.convert(amount, rounding=RoundingMode.DOWN)
    return total


def thresholds_reached(
    volume: Money, reached_at: Mapping[int, datetime], *, at: datetime
) -> dict[int, datetime]:
    """The thresholds reached, by EUR minor units: those reached before keep their time (a
    threshold once reached stays reached), those `volume` reaches now get `at`."""
    if volume.currency != "EUR":
        raise InvalidInput("volume thresholds are in EUR", code="currency_mismatch")
    reached = dict(reached_at)
    for threshold in VOLUME_THRESHOLDS:
        if volume >= threshold.amount:
            reached.setdefault(threshold.amount.amount_minor, at)
    return reached


# --- people and ownership ---------------------------------------------------------------------

_KANA: Final = re.compile(r"[\u30a0-\u30ff\u3000 ]+")


def normalise_kana(text: str, *, field: str) -> str:
    """Katakana in full width (half-width and hiragana are converted), or `InvalidInput`."""
    kana = jaconv.hira2kata(unicodedata.normalize("NFKC", text)).strip()
    kana = " ".join(kana.split())
    if not kana or not _KANA.fullmatch(kana) or len(kana) > name_length_max:
        raise InvalidInput(
            f"{field} must be written in kana (katakana or hiragana)",
            code="invalid_kana",
            field=field,
        )
    return str(kana)


def ownership_bps(percent: Decimal, *, field: str) -> int:
    """A percentage with at most two decimals, above 0 and at most 100, in hundredths."""
    scaled = percent * 100 if percent.is_finite() else Decimal(-1)
    if scaled != scaled.to_integral_value() or not 0 < scaled <= OWNERSHIP_BPS_MAX:
        raise InvalidInput(
            f"an ownership percentage is above 0 and at most 100, with at most two decimals;"
            f" got {percent}",
            code="invalid_ownership_percent",
            field=field,
        )
    return int(scaled)


def percent_text(bps: int) -> str:
    """Hundredths of a percent as text with two decimals: 2550 → "25.50"."""
    return f"{bps // 100}.{bps % 100:02d}"


def check_ownership_total(persons: Iterable[Person]) -> None:
    """Refuse owners whose declared shares add up to more than 100 %."""
    total = sum(person.ownership_bps for person in persons if person.owner)
    if total > OWNERSHIP_BPS_MAX:
        raise InvalidInput(
            f"the owners would hold {percent_text(total)} % together, more than 100 %",
            code="ownership_exceeds_100",
            field="body.relationship.ownership_percent",
            total_percent=percent_text(total),
        )


def check_birth_date(born: date, *, today: date, representative: bool, field: str) -> None:
    """A date of birth in the past, after 1900; representatives are adults."""
    if not date(1900, 1, 1) <= born < today:
        raise InvalidInput(
            "a date of birth is after 1900 and before today", code="invalid_date_of_birth",
            field=field,
        )  # fmt: skip
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    if representative and age < REPRESENTATIVE_AGE_MIN:
        raise InvalidInput(
            f"a representative is at least {REPRESENTATIVE_AGE_MIN} years old",
            code="representative_under_age",
            field=field,
        )


# --- bank account holder name ------------------------------------------------------------------

_LEGAL_FORMS: Final = frozenset(
    (
        *("sa", "sas", "sasu", "sarl", "eurl", "sca", "snc", "scs", "sci", "selarl"),  # FR
        *("sl", "slu", "sll", "scoop"),  # ES
        *("inc", "incorporated", "llc", "llp", "lp", "ltd", "limited", "corp", "corporation"),
        *("co", "company", "plc", "gmbh", "ag", "kg", "ug", "bv", "nv", "kk", "gk", "yk"),
        *("the", "and", "et", "y"),
    )
)
_JP_LEGAL_FORMS: Final = re.compile(
    r"株式会社|有限会社|合同会社|合資会社|合名会社|一般社団法人|一般財団法人|特定非営利活動法人"
    r"|\(株\)|\(有\)|\(同\)|[カユドシザ]\)|\([カユドシザ]\)|\)[カユドシザ]"
)
_NOT_ALNUM: Final = re.compile(r"[^a-z0-9]+")
_JOINING: Final = re.compile(r"[.'`]")


def normalise_name(name: str) -> str:
    """A name reduced for comparison: Unicode folded (half-width kana, full-width letters),
    Japanese legal forms dropped, transliterated to ASCII, lower case, punctuation and legal
    forms (SAS, GmbH, Inc…) removed."""
    text = jaconv.hira2kata(unicodedata.normalize("NFKC", name))
    text = _JP_LEGAL_FORMS.sub(" ", text)
    ascii_text = _JOINING.sub("", unidecode(text).lower())  # S.A.S. is SAS, O'Brien OBrien
    words = _NOT_ALNUM.sub(" ", ascii_text).split()
    return " ".join(w for w in words if w not in _LEGAL_FORMS)


def holder_name_matches(holder_name: str, legal_name: str) -> tuple[int, bool]:
    """How well a bank account holder name matches a legal name: a token-sort ratio (0 to 100) of
    the normalised names, and whether it reaches `HOLDER_NAME_SCORE_MIN`. Word order, accents,
    case, punctuation, legal forms and kana width do not count against a match."""
    holder, legal = normalise_name(holder_name), normalise_name(legal_name)
    if not holder or not legal:
        return 0, False
    score = int(fuzz.token_sort_ratio(holder, legal))
    return score, score >= HOLDER_NAME_SCORE_MIN
