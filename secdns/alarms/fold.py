# -*- test-case-name: tests.unit.test_alarm_fold -*-
"""
Folding: at most C{limit} messages a minute to one subscription.

The seeds warn that more than 60 alarm messages a minute belong on a
stream, not in an inbox.  L{Folder} counts, per subscription (any hashable
key), the messages sent in each minute of the clock (C{[k*60, (k+1)*60)});
past C{limit}, L{Folder.admit} says no, and keeps a tally of what it
folded.  Once that minute is over, L{Folder.due} hands back one L{Summary}
per subscription that had messages folded, to be sent as one message; the
summary takes one of the C{limit} places of the minute it is sent in, so a
subscription never receives more than C{limit} messages in any minute of
the clock.

Pure: time is an argument, nothing here does I/O.  The caller appends
each folded message to the topic's stream file, so nothing is lost.
"""

from __future__ import annotations

from collections import Counter
from typing import Hashable

import attrs

from secdns.alarms.model import FIRING, SEVERITIES, Notification

__all__ = ["LIMIT", "WINDOW", "Summary", "Folder"]

#: Messages a subscription may receive in one minute (the seeds' figure).
LIMIT = 60
#: The length of the window, in seconds: a minute of the clock.
WINDOW = 60.0
#: How many folded messages a summary names (the first ones of its minute).
EXAMPLES = 10


@attrs.frozen
class Summary:
    """
    What was folded for one subscription in one minute.

    @ivar key: the subscription's key, as given to L{Folder.admit}.
    @ivar start: the start of the minute (seconds since the epoch).
    @ivar end: its end.
    @ivar count: the messages folded.
    @ivar firing: of those, how many said FIRING (the rest: cleared).
    @ivar severity: the most severe severity among them.
    @ivar alarms: C{(alarm, count)} pairs, most frequent first.
    @ivar examples: the titles of the first L{EXAMPLES} folded.
    """

    key: Hashable
    start: float
    end: float
    count: int
    firing: int
    severity: str
    alarms: tuple[tuple[str, int], ...]
    examples: tuple[str, ...]


@attrs.define
class _Tally:
    count: int = 0
    firing: int = 0
    severity: int = len(SEVERITIES) - 1
    alarms: Counter = attrs.Factory(Counter)
    examples: list = attrs.Factory(list)

    def add(self, notification: Notification) -> None:
        self.count += 1
        if notification.state == FIRING:
            self.firing += 1
        if notification.severity in SEVERITIES:
            self.severity = min(self.severity, SEVERITIES.index(notification.severity))
        self.alarms[notification.alarm] += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(notification.title)


class Folder:
    """
    The per-subscription, per-minute counts, and the tallies of what was
    folded.  Memory is bounded by the subscriptions that sent in the
    current minute plus those with a summary owed.
    """

    def __init__(self, limit: int = LIMIT, window: float = WINDOW) -> None:
        if limit < 2:
            raise ValueError("a limit under 2 leaves no room for the summary")
        self.limit = limit
        self.window = window
        self._sent: dict[Hashable, tuple[float, int]] = {}
        self._folded: dict[tuple[Hashable, float], _Tally] = {}

    def _start(self, now: float) -> float:
        return (now // self.window) * self.window

    def _count(self, key: Hashable, now: float) -> int:
        start = self._start(now)
        seen = self._sent.get(key)
        return seen[1] if seen is not None and seen[0] == start else 0

    def _take(self, key: Hashable, now: float) -> None:
        self._sent[key] = (self._start(now), self._count(key, now) + 1)

    def admit(self, key: Hashable, notification: Notification, now: float) -> bool:
        """
        Whether C{notification} may go to C{key}'s subscription now: L{True}
        (and it is counted), or L{False}: it is folded into the summary of
        this minute.
        """
        if self._count(key, now) < self.limit:
            self._take(key, now)
            return True
        start = self._start(now)
        self._folded.setdefault((key, start), _Tally()).add(notification)
        return False

    def next_due(self) -> float | None:
        """When the earliest owed summary falls due (the end of its minute); L{None}: none owed."""
        if not self._folded:
            return None
        return min(start for _, start in self._folded) + self.window

    def due(self, now: float) -> list[Summary]:
        """
        The summaries of minutes over by C{now}, oldest first; each takes a
        place in C{now}'s minute for its subscription.  Forgets the counts of
        minutes that are over.
        """
        current = self._start(now)
        summaries = []
        for (key, start), tally in sorted(self._folded.items(), key=lambda item: item[0][1]):
            if start >= current:
                continue
            del self._folded[(key, start)]
            self._take(key, now)
            summaries.append(Summary(
                key=key,
                start=start,
                end=start + self.window,
                count=tally.count,
                firing=tally.firing,
                severity=SEVERITIES[tally.severity],
                alarms=tuple(tally.alarms.most_common()),
                examples=tuple(tally.examples),
            ))
        for key in [k for k, (start, _) in self._sent.items() if start < current]:
            del self._sent[key]
        return summaries
