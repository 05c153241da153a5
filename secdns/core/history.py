# -*- test-case-name: tests.unit.test_registry -*-
"""
The recent zone events, kept in memory for the API's C{/events} and the
console: a subscriber of the bus (L{secdns.core.bus}) with a bounded
memory, oldest forgotten first.
"""

from __future__ import annotations

import collections

from secdns.zones.events import ZoneEvent

__all__ = ["EventHistory"]


class EventHistory:
    """The last C{size} events, in the order they were published."""

    def __init__(self, size: int = 10_000) -> None:
        self._events: collections.deque[ZoneEvent] = collections.deque(maxlen=size)

    def __call__(self, event: ZoneEvent) -> None:
        self._events.append(event)

    def recent(self, zone: str | None = None, since: float | None = None, limit: int | None = None) -> list[ZoneEvent]:
        """
        The events kept, oldest first: of one zone (as operators write its
        name, no final dot), from a time on (wall clock, inclusive), the
        last C{limit} of them.
        """
        if zone is not None:
            zone = zone.rstrip(".").lower() or "."
        chosen = [
            event
            for event in self._events
            if (zone is None or (event.zone or "").lower() == zone) and (since is None or event.when >= since)
        ]
        return chosen if limit is None else chosen[len(chosen) - limit:] if limit > 0 else []
