"""secdns.alarms.backoff: retries with exponential backoff, bounded in attempts and in time."""

from __future__ import annotations

import pytest

from secdns.alarms.backoff import RetryPolicy


def test_delays_double_up_to_the_cap():
    """Each wait is twice the one before, never more than the cap."""
    policy = RetryPolicy(attempts=10, first=2, factor=2, cap=30, total=10_000)
    assert policy.schedule() == [2, 4, 8, 16, 30, 30, 30, 30, 30]


def test_attempts_bound_the_tries():
    """After the last attempt there is no next try."""
    policy = RetryPolicy(attempts=3, first=1, total=1000)
    assert policy.delay(1, 0) == 1
    assert policy.delay(2, 1) == 2
    assert policy.delay(3, 3) is None


def test_total_time_bounds_the_tries():
    """No try starts later than the total after the message was queued."""
    policy = RetryPolicy(attempts=100, first=10, factor=1, cap=10, total=35)
    assert policy.schedule() == [10, 10, 10]
    assert policy.delay(1, 30) is None


def test_retry_after_is_honoured_within_the_bounds():
    """A receiver's Retry-After lengthens the wait, but never past the cap or the total."""
    policy = RetryPolicy(first=2, cap=60, total=100)
    assert policy.delay(1, 0, hint=20) == 20
    assert policy.delay(1, 0, hint=1) == 2
    assert policy.delay(1, 0, hint=3600) == 60
    assert policy.delay(1, 50, hint=60) is None


def test_the_default_gives_up_within_ten_minutes():
    """The default: 8 tries over about four minutes."""
    schedule = RetryPolicy().schedule()
    assert len(schedule) == 7 and sum(schedule) <= 600


def test_nonsense_is_refused():
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)
