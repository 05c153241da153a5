# -*- test-case-name: tests.unit.test_registry -*-
"""
One in-process bus for what happens to zones (the values of
L{secdns.zones.events}).

The zone core publishes; the log, the metrics and (later) the alarms and
the API's event history subscribe.  None of them reaches into a zone's
controller: what they know of a zone they learn here or from
L{secdns.core.registry.ZoneRegistry.status}.  A subscriber that raises is
logged and the others still hear the event.
"""

from __future__ import annotations

from typing import Callable

from twisted.logger import Logger

from secdns.zones.events import ZoneEvent

__all__ = ["Bus"]

log = Logger()


class Bus:
    """Delivers each published event to every subscriber, in the order published."""

    def __init__(self) -> None:
        self._subscribers: list[Callable[[ZoneEvent], None]] = []

    def subscribe(self, subscriber: Callable[[ZoneEvent], None]) -> Callable[[], None]:
        """Have C{subscriber} hear every event from now on; returns what unsubscribes it."""
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    def publish(self, event: ZoneEvent) -> None:
        for subscriber in list(self._subscribers):
            try:
                subscriber(event)
            except Exception:
                log.failure("event subscriber {subscriber!r} failed on {event!r}", subscriber=subscriber, event=event)
