"""Identity and company verification through a provider: the interface every adapter implements,
and a simulated provider for the demo and tests.

Verification is asynchronous, as with real providers (Onfido, Sumsub, a company registry):
`submit` hands the details over and returns the provider's reference at once; `result` is asked
later (by the `poll_verifications` job) and answers `pending` until the provider has decided.
A provider that fails or cannot decide sends the seller to manual review by compliance.

Pure: adapters take no database and no settings (the service builds them from settings).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Final, Protocol

from sellerpay.errors import InvalidInput

__all__ = [
    "ProviderOutcome",
    "SimulatedProvider",
    "VerificationProvider",
    "VerificationRequest",
    "VerificationResult",
]


class ProviderOutcome(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class VerificationRequest:
    """What the provider checks: who the seller is and who represents it."""

    seller_id: str
    country: str
    business_type: str
    legal_name: str
    registration_number: str | None
    representative_name: str
    representative_date_of_birth: date
    fingerprint: str  # of these details: one submission per version of them


@dataclass(frozen=True, slots=True)
class VerificationResult:
    reference: str
    outcome: ProviderOutcome
    reason_code: str | None = None
    reason: str | None = None


class VerificationProvider(Protocol):
    """An identity/company verification provider."""

    @property
    def name(self) -> str:
        """A short name stored with each verification (`simulated`, `onfido`…)."""

    def submit(self, request: VerificationRequest, *, now: datetime) -> str:
        """Hand the details over; return the provider's reference. Submitting the same
        request again returns the same reference (providers deduplicate by our key)."""

    def result(self, reference: str, *, now: datetime) -> VerificationResult:
        """The provider's answer for `reference` so far (`pending` until it has decided)."""


_FAILURES: Final = (
    ("document_unreadable", "the identity document could not be read"),
    ("name_mismatch", "the name on the document differs from the name declared"),
    ("registry_not_found", "the company was not found in its country's registry"),
)


class SimulatedProvider:
    """A deterministic stand-in: each submission gets an answer `delay` after it was made;
    `failure_percent` % of them fail, chosen by a hash of the seed and the request, so the same
    seed gives the same answers in every run. It keeps no state: the reference carries the
    submission time and the draw."""

    name: Final = "simulated"

    def __init__(self, *, seed: int, failure_percent: int, delay: timedelta) -> None:
        if not 0 <= failure_percent <= 100:
            raise InvalidInput("failure_percent is 0 to 100", code="invalid_failure_percent")
        self.seed = seed
        self.failure_percent = failure_percent
        self.delay = delay

    def submit(self, request: VerificationRequest, *, now: datetime) -> str:
        digest = hashlib.sha256(
            f"{self.seed}:{request.seller_id}:{request.fingerprint}".encode()
        ).hexdigest()[:24]
        return f"sim_{int(now.timestamp())}_{digest}"

    def result(self, reference: str, *, now: datetime) -> VerificationResult:
        parts = reference.split("_")
        if len(parts) != 3 or parts[0] != "sim" or not parts[1].isdigit():
            raise InvalidInput(f"{reference!r} is not a simulated reference", code="bad_reference")
        submitted_at = datetime.fromtimestamp(int(parts[1]), tz=UTC)
        if now < submitted_at + self.delay:
            return VerificationResult(reference, ProviderOutcome.PENDING)
        draw = int(parts[2], 16)
        if draw % 100 < self.failure_percent:
            code, reason = _FAILURES[draw % len(_FAILURES)]
            return VerificationResult(reference, ProviderOutcome.FAILED, code, reason)
        return VerificationResult(reference, ProviderOutcome.VERIFIED)
