# -*- test-case-name: tests.unit.test_alarm_expiry -*-
"""
The ZoneExpirationInHours notices: as a secondary zone that cannot be
refreshed approaches its expire time, one notice as it passes each of
72, 24, 6, 3, 2 and 1 hours before it (as the seeds' service emits them),
and one at expiry.

An I{approach} is the time from one successful refresh to the expire
time it set (the zone's C{expire_at}): each step is notified at most once
per approach, and a successful refresh (a new C{expire_at}) starts a new
approach, which re-arms them all.  A step the approach began below is
never crossed: a zone whose SOA expire is one day hears nothing at 72 or
24 hours, only at 6, 3, 2, 1 and 0 if no refresh succeeds by then (else
every refresh of it would notify).  Steps passed together (a process that
was down, a clock that jumped) give one notice, the lowest.

Pure: L{Approach} is a value, L{advance} says what changed.
"""

from __future__ import annotations

import attrs

__all__ = ["NOTICE_HOURS", "Approach", "advance", "hours_left"]

#: The seeds' notice points, in hours to expiry; 0 is the expiry itself.
NOTICE_HOURS: tuple[float, ...] = (72.0, 24.0, 6.0, 3.0, 2.0, 1.0, 0.0)


@attrs.frozen
class Approach:
    """
    One approach to a deadline.

    @ivar deadline: the zone's C{expire_at}.
    @ivar began: the hours to expiry the approach began with.
    @ivar sent: the steps notified (or passed over) on it.
    """

    deadline: float
    began: float
    sent: tuple[float, ...] = ()


def hours_left(deadline: float, now: float) -> float:
    """Hours from C{now} to C{deadline}, never below 0."""
    return max(0.0, (deadline - now) / 3600.0)


def advance(
    approach: Approach | None,
    deadline: float,
    now: float,
    steps: tuple[float, ...] = NOTICE_HOURS,
    last_refresh: float | None = None,
) -> tuple[Approach, bool, float | None]:
    """
    Where a zone stands on its approach to C{deadline} at C{now}.

    @param approach: where it stood (L{None}: not known, as for a zone
        first seen).
    @param last_refresh: when the refresh that set C{deadline} succeeded:
        the approach began then (else it begins now).
    @return: the approach now; whether it is a new one (a refresh
        succeeded since: the steps are re-armed); and the step to notify
        now, if one was crossed and not yet notified.
    """
    new = approach is None or approach.deadline != deadline
    if new:
        start = last_refresh if last_refresh is not None and last_refresh <= now else now
        approach = Approach(deadline, hours_left(deadline, start))
    hours = hours_left(deadline, now)
    crossed = [step for step in steps if hours <= step < approach.began]
    if not crossed:
        return approach, new, None
    lowest = min(crossed)
    if lowest in approach.sent:
        return approach, new, None
    sent = tuple(sorted(set(approach.sent) | set(crossed), reverse=True))
    return attrs.evolve(approach, sent=sent), new, lowest
