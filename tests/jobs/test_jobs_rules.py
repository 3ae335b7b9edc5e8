"""The pure rules of the job runner: duration histograms and when a chunk is sent again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sellerpay.jobs.rules import (
    DURATION_BOUNDS_S,
    bucket_index,
    cumulative,
    dispatch_is_stale,
    observe,
)

durations = st.floats(min_value=0, max_value=10_000, allow_nan=False)


@given(st.lists(durations, max_size=50))
def test_every_observation_is_counted_once_in_the_first_bucket_that_holds_it(
    observed: list[float],
) -> None:
    counts: list[int] = []
    for seconds in observed:
        counts = observe(counts, seconds)
    running = cumulative(counts) if counts else [0] * (len(DURATION_BOUNDS_S) + 1)

    assert running[-1] == len(observed)  # +Inf counts everything
    for bound, below in zip(DURATION_BOUNDS_S, running, strict=False):
        assert below == sum(1 for s in observed if s <= bound)


def test_a_bound_belongs_to_its_own_bucket_and_longer_ones_go_to_inf() -> None:
    assert bucket_index(DURATION_BOUNDS_S[0]) == 0
    assert bucket_index(1.0) == DURATION_BOUNDS_S.index(1.0)
    assert bucket_index(1.0001) == DURATION_BOUNDS_S.index(1.0) + 1
    assert bucket_index(DURATION_BOUNDS_S[-1] * 2) == len(DURATION_BOUNDS_S)
    with pytest.raises(ValueError, match="not negative"):
        bucket_index(-0.1)


def test_a_chunk_is_sent_if_never_sent_or_its_message_is_taken_for_lost() -> None:
    now = datetime(2026, 1, 5, 9, tzinfo=UTC)
    after = timedelta(minutes=30)

    assert dispatch_is_stale(None, now=now, redispatch_after=after)
    assert not dispatch_is_stale(
        now - after + timedelta(seconds=1), now=now, redispatch_after=after
    )
    assert dispatch_is_stale(now - after, now=now, redispatch_after=after)
