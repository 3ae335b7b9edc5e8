"""Pure rules of events out: the event type catalogue, subscriptions, webhook signatures, retries.

No I/O and no clock: the service passes the time and the random draw these functions decide on.

A webhook request carries `Sellerpay-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]`, where each
`v1` is HMAC-SHA256, keyed with a signing secret (`whsec_…`, as UTF-8 bytes), of
`f"{t}.".encode() + body`. While a rotated secret is still honoured, the header carries one `v1`
per secret, so a receiver holding either verifies the request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final
from urllib.parse import urlsplit

from sellerpay.errors import InvalidInput, LimitExceeded

# --- the catalogue of event types ----------------------------------------------------------

EVENT_TYPES: Final[Mapping[str, str]] = {
    "seller.created": "a seller was created",
    "seller.updated": "a seller's details or status changed",
    "order.recorded": "a paid order was recorded: the seller's share is pending",
    "order.shipment_recorded": "an order's shipment was recorded",
    "order.delivery_recorded": "an order's delivery was recorded: its holding period runs",
    "funds.released": "an order's pending funds became available",
    "refund.recorded": "a customer refund was taken from the seller's balance",
    "dispute.hold_placed": "a disputed amount was moved to the dispute hold",
    "dispute.closed": "a dispute was won or lost and its hold released",
    "adjustment.awaiting_approval": "a large manual adjustment waits for a second person",
    "adjustment.applied": "a manual credit or debit was applied to a seller's balance",
    "adjustment.rejected": "a manual adjustment awaiting approval was rejected",
    "fee_plan.created": "a fee plan (or a new version of one) was created",
    "marketplace_event.parked": "an incoming marketplace event waits for what it depends on",
    "marketplace_event.rejected": "an incoming marketplace event is invalid and was not applied",
    "marketplace_event.replayed": "an operator replayed a parked or rejected marketplace event",
    "webhook_endpoint.created": "a webhook endpoint was registered",
    "webhook_endpoint.updated": "a webhook endpoint's URL, event types or state changed",
    "webhook_endpoint.disabled": "a webhook endpoint was disabled (deleted)",
    "webhook_endpoint.secret_rotated": "a webhook endpoint's signing secret was rotated",
    "payout.created": "a payout was created: the amount left the seller's available balance "
    "(in transit)",
    "payout.approved": "a payout was approved (automatically or by a second person)",
    "payout.processing": "a payout was claimed into a bank file",
    "payout.submitted": "the bank accepted a payout for processing",
    "payout.paid": "the bank executed a payout: the money left our bank",
    "payout.failed": "the bank rejected a payout before execution: the money is back in available",
    "payout.returned": "the seller's bank sent a paid payout back (reason code): money back "
    "in available",
    "payout.canceled": "a payout was canceled or rejected by an approver before submission",
    "payout.skipped": "a due seller got no payout in a run (skip reason)",
    "payout_run.completed": "a payout run decided every due seller",
    "seller.requirements_updated": "a seller's onboarding requirements changed (what is due, "
    "past due, pending)",
    "seller.capabilities_changed": "a seller's payouts_enabled or sales_enabled changed, with the "
    "reason",
    "seller.document_reviewed": "compliance approved or rejected a seller's document",
    "screening.match_confirmed": "compliance confirmed a sanctions match: payouts and sales "
    "are blocked",
    "bank_account.added": "a bank account was added to a seller (payouts to it are held "
    "for a cool-down)",
    "bank_account.default_changed": "another bank account became a seller's default for "
    "its currency",
    "bank_account.hold_released": "an approver ended a bank account's cool-down early",
    "bank_account.disabled": "a bank account was disabled (removed, or returned as closed "
    "or wrong)",
    "bank_account.verified": "a bank account was verified (e.g. a first payout to it was paid)",
}
"""Every event type Sellerpay records, with what it means. A context adding a type adds it here
(tests/events/test_events_catalogue.py checks that every `record_event` call is listed)."""

ALL_TYPES: Final = "*"
event_type_length_max: Final = 64
event_types_per_endpoint_max: Final = 50
_TYPE_PATTERN = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?")


def check_event_type_patterns(patterns: Sequence[str]) -> tuple[str, ...]:
    """The subscription patterns, checked and deduplicated in order.

    A pattern is `*` (every type), an exact type (`seller.created`) or a prefix ending in `.*`
    (`dispute.*`). Each must name at least one type of the catalogue, so a typo is refused
    instead of silently matching nothing.
    """
    if not patterns:
        raise InvalidInput("give at least one event type, or '*'", code="event_types_required")
    if len(patterns) > event_types_per_endpoint_max:
        raise LimitExceeded(
            f"an endpoint subscribes to at most {event_types_per_endpoint_max} event types",
            code="event_types_max",
            limit=event_types_per_endpoint_max,
        )
    checked: list[str] = []
    for pattern in patterns:
        if pattern != ALL_TYPES and (
            len(pattern) > event_type_length_max or not _TYPE_PATTERN.fullmatch(pattern)
        ):
            raise InvalidInput(
                f"{pattern[:80]!r} is not an event type pattern: use '*', a type such as "
                "'seller.created' or a prefix such as 'dispute.*'",
                code="invalid_event_type_pattern",
                pattern=pattern[:80],
            )
        if not any(type_matches(pattern, known) for known in EVENT_TYPES):
            raise InvalidInput(
                f"no event type matches {pattern!r}; known types: {', '.join(EVENT_TYPES)}",
                code="unknown_event_type",
                pattern=pattern,
            )
        if pattern not in checked:
            checked.append(pattern)
    return tuple(checked)


def type_matches(pattern: str, event_type: str) -> bool:
    """Whether one subscription pattern covers `event_type`."""
    if pattern == ALL_TYPES:
        return True
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def subscribes_to(patterns: Sequence[str], event_type: str) -> bool:
    """Whether an endpoint with these patterns receives events of `event_type`."""
    return any(type_matches(pattern, event_type) for pattern in patterns)


# --- endpoints -----------------------------------------------------------------------------

url_length_max: Final = 2000
description_length_max: Final = 500
_CONTROL = re.compile(r"[\x00-\x20\x7f]")


def check_webhook_url(url: str, *, allow_http: bool) -> str:
    """The endpoint URL, if it is an absolute http(s) URL we may post to.

    `https` always; `http` only when `allow_http` (local development: the setting
    `webhook_allow_http`). No credentials in the URL (the API would show them back) and no
    fragment (never sent).
    """
    if not 1 <= len(url) <= url_length_max:
        raise InvalidInput(f"the URL must be 1 to {url_length_max} characters", code="invalid_url")
    if _CONTROL.search(url):
        raise InvalidInput("the URL contains spaces or control characters", code="invalid_url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise InvalidInput(f"the URL is malformed: {error}", code="invalid_url") from None
    schemes = ("http", "https") if allow_http else ("https",)
    if parts.scheme not in schemes:
        raise InvalidInput(
            f"the URL must start with {' or '.join(s + '://' for s in schemes)}",
            code="https_required" if parts.scheme == "http" else "invalid_url",
        )
    if not parts.hostname:
        raise InvalidInput("the URL has no host", code="invalid_url")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput(
            "the URL must not carry credentials: receivers authenticate requests by signature",
            code="url_credentials_refused",
        )
    if parts.fragment or url.endswith("#"):
        raise InvalidInput("the URL must not have a #fragment", code="invalid_url")
    if port == 0:
        raise InvalidInput("the URL's port must be 1 to 65535", code="invalid_url")
    return url


# --- signatures ----------------------------------------------------------------------------

SIGNATURE_HEADER: Final = "Sellerpay-Signature"
secret_prefix: Final = "whsec_"
secret_bytes: Final = 32
signature_tolerance_s_default: Final = 300
signature_header_length_max: Final = 1000
secret_overlap: Final = timedelta(hours=24)
"""After a rotation, the previous secret still signs (beside the new one) this long."""
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_HEX_SIGNATURE = re.compile(r"[0-9a-f]{64}")


def envelope_body(envelope: Mapping[str, Any]) -> bytes:
    """The exact bytes posted (and signed): compact JSON, UTF-8."""
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()


def sign(secret: str, *, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `"{timestamp}." + body`, keyed with the secret's UTF-8 bytes."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secrets: Sequence[str], *, timestamp: int, body: bytes) -> str:
    """`t=<timestamp>,v1=<sig>[,v1=<sig>…]`: one signature per secret in force."""
    if not secrets:
        raise ValueError("signing needs at least one secret")
    signatures = ",".join(f"v1={sign(s, timestamp=timestamp, body=body)}" for s in secrets)
    return f"t={timestamp},{signatures}"


def parse_signature_header(header: str) -> tuple[int, tuple[str, ...]] | None:
    """(timestamp, v1 signatures) of a header, or None when it is not one of ours.

    Unknown schemes (`v0=…`, a future `v2=…`) are ignored, so a receiver keeps working when
    the sender adds one.
    """
    if len(header) > signature_header_length_max:
        return None
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            return None
        if key == "t":
            if timestamp is not None or not _TIMESTAMP.fullmatch(value):
                return None
            timestamp = int(value)
        elif key == "v1" and _HEX_SIGNATURE.fullmatch(value):
            signatures.append(value)
    if timestamp is None or not signatures:
        return None
    return timestamp, tuple(signatures)


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    *,
    now: datetime,
    tolerance_s: int = signature_tolerance_s_default,
) -> bool:
    """True when `header` signs `body` with `secret`, with a timestamp within `tolerance_s` of
    `now` (either way: a replayed old request is refused). Any of several `v1` values may match;
    comparisons are constant-time."""
    parsed = parse_signature_header(header)
    if parsed is None:
        return False
    timestamp, signatures = parsed
    if abs(now.timestamp() - timestamp) > tolerance_s:
        return False
    expected = sign(secret, timestamp=timestamp, body=body)
    matched = False
    for candidate in signatures:  # no early exit: the time taken does not depend on which one
        matched |= hmac.compare_digest(expected, candidate)
    return matched


def signing_secrets(
    current: str, previous: str | None, previous_expires_at: datetime | None, *, now: datetime
) -> tuple[str, ...]:
    """The secrets that sign a request sent at `now`: the current one, and the previous one
    until its overlap after a rotation ends."""
    if previous is not None and previous_expires_at is not None and now < previous_expires_at:
        return (current, previous)
    return (current,)


# --- deliveries ----------------------------------------------------------------------------


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # due now or later (or being sent)
    SUCCEEDED = "succeeded"  # the endpoint answered 2xx
    FAILED = "failed"  # every attempt failed until the retry horizon: kept, retryable by hand


class AttemptOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"


retry_delay_base_s: Final = 30
retry_delay_cap_s: Final = 6 * 3600
retry_delay_min_s: Final = 1
error_length_max: Final = 500


def is_success(status_code: int) -> bool:
    """A delivery succeeds on any 2xx answer; redirects are not followed and count as failures."""
    return 200 <= status_code <= 299


def retry_delay_ceiling_s(attempt: int) -> int:
    """The longest wait after failed attempt number `attempt` (1, 2, …): 30 s doubling, ≤ 6 h."""
    if attempt < 1:
        raise ValueError(f"attempts are numbered from 1, got {attempt}")
    if attempt > 20:  # 30 s · 2^19 is far beyond the cap already
        return retry_delay_cap_s
    return min(retry_delay_cap_s, retry_delay_base_s << (attempt - 1))


def retry_delay(attempt: int, *, jitter: float) -> timedelta:
    """The wait after failed attempt `attempt`: "full jitter", a uniform draw between nothing and
    the ceiling (`jitter` in [0, 1) is that draw), so that receivers coming back from an outage
    are not hit by every sender at once. Never less than `retry_delay_min_s`."""
    if not 0.0 <= jitter < 1.0:
        raise ValueError(f"jitter is a draw in [0, 1), got {jitter}")
    ceiling_ms = retry_delay_ceiling_s(attempt) * 1000
    return timedelta(milliseconds=max(retry_delay_min_s * 1000, int(ceiling_ms * jitter)))


def next_attempt_at(
    *, failed_at: datetime, attempt: int, deadline_at: datetime, jitter: float
) -> datetime | None:
    """When to try again after failed attempt `attempt`, or None: the retry horizon has passed,
    the delivery fails for good. The last retry happens at the deadline itself."""
    if failed_at >= deadline_at:
        return None
    return min(failed_at + retry_delay(attempt, jitter=jitter), deadline_at)


def claim_lease(*, deliveries: int, concurrency: int, timeout_s: float) -> timedelta:
    """How long claimed deliveries stay reserved for one deliverer: long enough to send them all
    at `concurrency` with `timeout_s` each, plus a margin. A deliverer that dies mid-way lets
    them fall due again after that (at-least-once)."""
    rounds = -(-deliveries // max(1, concurrency))
    return timedelta(seconds=rounds * timeout_s + 60)


def attempt_error(error: str) -> str:
    """An attempt's error text, bounded for the delivery log."""
    return error if len(error) <= error_length_max else error[: error_length_max - 1] + "…"
