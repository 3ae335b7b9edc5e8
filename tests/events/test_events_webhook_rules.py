"""The pure rules of webhooks: signatures that verify and only then, the retry schedule's bounds,
subscriptions to event types, and which endpoint URLs are accepted."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from webhook_receiver import documented_verifier

from sellerpay.errors import InvalidInput, LimitExceeded
from sellerpay.events.rules import (
    EVENT_TYPES,
    check_event_type_patterns,
    check_webhook_url,
    claim_lease,
    next_attempt_at,
    parse_signature_header,
    retry_delay,
    retry_delay_cap_s,
    retry_delay_ceiling_s,
    retry_delay_min_s,
    sign,
    signature_header,
    signing_secrets,
    subscribes_to,
    verify_signature,
)

SENT_AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
T = int(SENT_AT.timestamp())
secrets_ = st.text(min_size=1, max_size=60).map(lambda s: "whsec_" + s)
bodies = st.binary(max_size=2_000)
draws = st.floats(min_value=0.0, max_value=1.0, exclude_max=True)


# --- signatures ----------------------------------------------------------------------------


@given(secret=secrets_, body=bodies, skew_s=st.integers(-300, 300))
def test_a_signed_request_verifies_within_the_tolerance(
    secret: str, body: bytes, skew_s: int
) -> None:
    header = signature_header([secret], timestamp=T, body=body)

    assert verify_signature(secret, header, body, now=SENT_AT + timedelta(seconds=skew_s))


@given(secret=secrets_, body=bodies, other=bodies)
def test_any_change_to_the_body_fails_verification(secret: str, body: bytes, other: bytes) -> None:
    assume(other != body)
    header = signature_header([secret], timestamp=T, body=body)

    assert not verify_signature(secret, header, other, now=SENT_AT)


@given(secret=secrets_, body=bodies, shift=st.integers(1, 200))
def test_a_changed_timestamp_fails_verification(secret: str, body: bytes, shift: int) -> None:
    signature = sign(secret, timestamp=T, body=body)
    forged = f"t={T + shift},v1={signature}"

    assert not verify_signature(secret, forged, body, now=SENT_AT + timedelta(seconds=shift))


@given(secret=secrets_, other=secrets_, body=bodies)
def test_another_secret_fails_verification(secret: str, other: str, body: bytes) -> None:
    assume(other != secret)
    header = signature_header([secret], timestamp=T, body=body)

    assert not verify_signature(other, header, body, now=SENT_AT)


@given(secret=secrets_, body=bodies, late_s=st.integers(301, 10**8))
def test_an_old_or_future_request_is_refused_as_a_possible_replay(
    secret: str, body: bytes, late_s: int
) -> None:
    header = signature_header([secret], timestamp=T, body=body)

    assert not verify_signature(secret, header, body, now=SENT_AT + timedelta(seconds=late_s))
    assert not verify_signature(secret, header, body, now=SENT_AT - timedelta(seconds=late_s))


@given(old=secrets_, new=secrets_, body=bodies)
def test_during_a_rotation_either_secret_verifies_and_the_documented_snippet_agrees(
    old: str, new: str, body: bytes
) -> None:
    assume(old != new)
    header = signature_header([new, old], timestamp=T, body=body)
    snippet = documented_verifier()

    for secret in (old, new):
        assert verify_signature(secret, header, body, now=SENT_AT)
        assert snippet(secret, header, body, now=float(T))
    assert not verify_signature(old + "x", header, body, now=SENT_AT)
    assert not snippet(old + "x", header, body, now=float(T))


@given(header=st.text(max_size=300), body=bodies)
def test_the_documented_snippet_never_crashes_on_a_forged_header(header: str, body: bytes) -> None:
    snippet = documented_verifier()

    assert snippet("whsec_x", header, body, now=float(T)) in (True, False)
    assert not verify_signature("whsec_x", header, body, now=SENT_AT)
    assert not snippet("whsec_x", "t=" + "9" * 5000 + ",v1=00", body, now=float(T))
    assert not snippet("whsec_x", f"t={T},v1=é", body, now=float(T))
    assert not snippet("whsec_x", f"t={T},t=²,v1=00", body, now=float(T))


def test_the_previous_secret_signs_only_until_its_overlap_ends() -> None:
    ends = SENT_AT + timedelta(hours=24)

    assert signing_secrets("new", "old", ends, now=ends - timedelta(seconds=1)) == ("new", "old")
    assert signing_secrets("new", "old", ends, now=ends) == ("new",)
    assert signing_secrets("new", None, None, now=SENT_AT) == ("new",)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "v1=" + "a" * 64,  # no timestamp
        f"t={T}",  # no signature
        f"t={T},v1=zz",  # not hex
        f"t=-{T},v1=" + "a" * 64,
        f"t={T},t={T},v1=" + "a" * 64,  # two timestamps
        f"t={T};v1=" + "a" * 64,
        f"t={T},v1=" + "a" * 64 + ",x" * 600,  # oversized
    ],
)
def test_malformed_signature_headers_never_verify(header: str) -> None:
    assert parse_signature_header(header) is None
    assert not verify_signature("whsec_x", header, b"{}", now=SENT_AT)


def test_unknown_signature_schemes_are_ignored_so_a_v2_can_be_added_later() -> None:
    v1 = sign("whsec_x", timestamp=T, body=b"{}")

    assert verify_signature("whsec_x", f"t={T},v2=abc,v1={v1}", b"{}", now=SENT_AT)


# --- the retry schedule ----------------------------------------------------------------------


@given(attempt=st.integers(1, 200), jitter=draws)
def test_a_retry_waits_at_least_a_second_and_at_most_the_ceiling(
    attempt: int, jitter: float
) -> None:
    delay = retry_delay(attempt, jitter=jitter)

    assert timedelta(seconds=retry_delay_min_s) <= delay
    assert delay <= timedelta(seconds=max(retry_delay_min_s, retry_delay_ceiling_s(attempt)))
    assert delay <= timedelta(seconds=retry_delay_cap_s)


def test_the_ceiling_starts_at_30_seconds_doubles_and_stops_at_6_hours() -> None:
    ceilings = [retry_delay_ceiling_s(n) for n in range(1, 12)]

    assert ceilings[:4] == [30, 60, 120, 240]
    assert all(b == min(2 * a, 6 * 3600) for a, b in itertools.pairwise(ceilings))
    assert ceilings[-1] == retry_delay_ceiling_s(10_000) == 6 * 3600


@given(jitter_a=draws, jitter_b=draws, attempt=st.integers(1, 30))
def test_jitter_spreads_retries_monotonically_with_the_draw(
    jitter_a: float, jitter_b: float, attempt: int
) -> None:
    low, high = sorted((jitter_a, jitter_b))

    assert retry_delay(attempt, jitter=low) <= retry_delay(attempt, jitter=high)


@given(
    attempt=st.integers(1, 100),
    jitter=draws,
    failed_after_s=st.integers(0, 80 * 3600),
)
def test_retries_stop_at_the_horizon_and_the_last_one_is_at_the_deadline(
    attempt: int, jitter: float, failed_after_s: int
) -> None:
    deadline = SENT_AT + timedelta(hours=72)
    failed_at = SENT_AT + timedelta(seconds=failed_after_s)

    due = next_attempt_at(failed_at=failed_at, attempt=attempt, deadline_at=deadline, jitter=jitter)

    if failed_at >= deadline:
        assert due is None
    else:
        assert due is not None and failed_at < due <= deadline


@pytest.mark.parametrize("attempt", [0, -1])
def test_attempts_are_numbered_from_one(attempt: int) -> None:
    with pytest.raises(ValueError):
        retry_delay(attempt, jitter=0.5)


@pytest.mark.parametrize("jitter", [-0.1, 1.0, 2.0])
def test_the_jitter_draw_is_in_zero_one(jitter: float) -> None:
    with pytest.raises(ValueError):
        retry_delay(1, jitter=jitter)


def test_a_claim_lease_covers_every_send_at_the_time_out() -> None:
    assert claim_lease(deliveries=1, concurrency=8, timeout_s=10) == timedelta(seconds=70)
    assert claim_lease(deliveries=17, concurrency=8, timeout_s=10) == timedelta(seconds=90)


# --- subscriptions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("patterns", "event_type", "receives"),
    [
        (["*"], "seller.created", True),
        (["seller.*"], "seller.updated", True),
        (["seller.*"], "sellers.created", False),
        (["seller.created"], "seller.updated", False),
        (["dispute.*", "funds.released"], "funds.released", True),
        (["dispute.*"], "dispute", False),
    ],
)
def test_an_endpoint_receives_the_types_its_patterns_cover(
    patterns: list[str], event_type: str, receives: bool
) -> None:
    assert subscribes_to(patterns, event_type) is receives


@given(st.sampled_from(sorted(EVENT_TYPES)))
def test_every_catalogued_type_can_be_subscribed_to_exactly_and_by_prefix(event_type: str) -> None:
    prefix = event_type.split(".")[0] + ".*"

    assert check_event_type_patterns([event_type, prefix, event_type]) == (event_type, prefix)


@pytest.mark.parametrize(
    ("patterns", "code"),
    [
        ([], "event_types_required"),
        (["orders.*"], "unknown_event_type"),
        (["seller.deleted"], "unknown_event_type"),
        (["Seller.Created"], "invalid_event_type_pattern"),
        (["seller.*.x"], "invalid_event_type_pattern"),
        (["*.created"], "invalid_event_type_pattern"),
        (["seller created"], "invalid_event_type_pattern"),
        (["seller." + "x" * 64], "invalid_event_type_pattern"),
        (["**"], "invalid_event_type_pattern"),
    ],
)
def test_bad_subscriptions_are_refused_by_the_rule_they_break(
    patterns: list[str], code: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_event_type_patterns(patterns)
    assert refused.value.code == code


def test_an_endpoint_subscribes_to_at_most_50_patterns() -> None:
    with pytest.raises(LimitExceeded) as refused:
        check_event_type_patterns(["*"] * 51)
    assert refused.value.code == "event_types_max"


# --- endpoint URLs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://marketplace.example/hooks/sellerpay",
        "https://hooks.marketplace.example:8443/in?source=sellerpay",
        "https://[2001:db8::1]/hooks",
    ],
)
def test_https_urls_are_accepted_everywhere(url: str) -> None:
    assert check_webhook_url(url, allow_http=False) == url


def test_plain_http_is_accepted_only_where_allowed() -> None:
    url = "http://127.0.0.1:8080/hooks"

    assert check_webhook_url(url, allow_http=True) == url
    with pytest.raises(InvalidInput) as refused:
        check_webhook_url(url, allow_http=False)
    assert refused.value.code == "https_required"


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("", "invalid_url"),
        ("https://x.example/" + "a" * 2000, "invalid_url"),
        ("marketplace.example/hooks", "invalid_url"),
        ("ftp://marketplace.example/hooks", "invalid_url"),
        ("javascript:alert(1)", "invalid_url"),
        ("https:///hooks", "invalid_url"),
        ("https://marketplace.example/ho oks", "invalid_url"),
        ("https://marketplace.example/\nhooks", "invalid_url"),
        ("https://marketplace.example:99999/hooks", "invalid_url"),
        ("https://marketplace.example:0/hooks", "invalid_url"),
        ("https://marketplace.example/hooks#part", "invalid_url"),
        ("https://user:pass@marketplace.example/hooks", "url_credentials_refused"),
    ],
)
def test_bad_urls_are_refused_by_the_rule_they_break(url: str, code: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_webhook_url(url, allow_http=True)
    assert refused.value.code == code
