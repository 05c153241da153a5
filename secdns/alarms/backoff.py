# -*- test-case-name: tests.unit.test_alarm_backoff -*-
"""
When to try a delivery again: exponential backoff, bounded in attempts and
in time.

A delivery whose receiver is down (refused, timed out, or answering 5xx
or 429) is tried again after C{first}, then C{first * factor}, ... each
delay at most C{cap}, until C{attempts} tries have been made or the next
try would start more than C{total} seconds after the message was queued.
A receiver's C{Retry-After} is honoured within those bounds.  Pure: the
caller says how long it has been.
"""

from __future__ import annotations

import attrs

__all__ = ["RetryPolicy"]


@attrs.frozen
class RetryPolicy:
    """
    @ivar attempts: tries in all, the first included.
    @ivar first: the delay before the second try, in seconds.
    @ivar factor: each delay is this times the one before.
    @ivar cap: no delay is longer.
    @ivar total: no try starts later than this after the message was queued.
    @ivar timeout: one try (connect, send, answer) gives up after this.
    """

    attempts: int = 8
    first: float = 2.0
    factor: float = 2.0
    cap: float = 120.0
    total: float = 600.0
    timeout: float = 30.0

    def __attrs_post_init__(self) -> None:
        if self.attempts < 1 or self.first < 0 or self.factor < 1 or self.cap < 0 or self.total < 0 or self.timeout <= 0:
            raise ValueError(f"not a usable retry policy: {self}")

    def delay(self, tried: int, elapsed: float, hint: float | None = None) -> float | None:
        """
        How long to wait before the next try, after C{tried} tries have
        failed C{elapsed} seconds after the message was queued; L{None}:
        give up.

        @param hint: the receiver's C{Retry-After}, in seconds, if it sent
            one: waited for when it is longer than the backoff (and fits).
        """
        if tried >= self.attempts:
            return None
        wait = min(self.cap, self.first * self.factor ** (tried - 1))
        if hint is not None and hint > wait:
            wait = min(hint, self.cap)
        if elapsed + wait > self.total:
            return None
        return wait

    def schedule(self) -> list[float]:
        """The delays of a receiver that never answers (each try failing at once): for docs and tests."""
        delays, elapsed, tried = [], 0.0, 1
        while (wait := self.delay(tried, elapsed)) is not None:
            delays.append(wait)
            elapsed += wait
            tried += 1
        return delays
