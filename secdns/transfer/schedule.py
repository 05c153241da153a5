# -*- test-case-name: tests.unit.test_events -*-
"""
A zone's timed work, as one table of events (Knot's C{events.c}).

Each zone has one slot per L{Event}: the time the event is next due, or
none.  One timer is armed, for the earliest slot; when it fires, that
event's slot is cleared and its handler runs.  Only one event of a zone
runs at a time: while a handler's L{Deferred} is pending, due events wait,
and the table is planned again when it fires.  So a zone never has two
refreshes, or a refresh and an expiry, interleaved, and work for different
zones still runs side by side.

Scheduling::

    schedule(event, t)   slot empty or later than t  -> t   (earliest wins)
                         slot earlier than t         -> kept
    replace(event, t)    slot                        -> t   (None: cancelled)
    cancel(event)        slot                        -> empty

A burst of C{schedule(REFRESH, now)} therefore makes one refresh.  Events
due at the same time run in the order of L{Event}.  The clock is injected
(usually the reactor; L{twisted.internet.task.Clock} in tests), and a
failing handler is logged without stopping the table.
"""

from __future__ import annotations

import enum
from typing import Callable, Mapping

from twisted.internet import defer
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger

__all__ = ["Event", "ZoneEvents"]

log = Logger()


class Event(enum.Enum):
    """The kinds of timed work a zone has, in the order they run when due together."""

    LOAD = 0
    REFRESH = 1
    EXPIRE = 2
    NOTIFY = 3
    FLUSH = 4


Handler = Callable[[], "defer.Deferred | None"]


class ZoneEvents:
    """
    The event table of one zone.

    @ivar label: the zone's name, for log lines.
    """

    def __init__(self, clock: IReactorTime, handlers: Mapping[Event, Handler], label: str = "") -> None:
        self._clock = clock
        self._handlers = dict(handlers)
        self.label = label
        self._times: dict[Event, float] = {}
        self._timer: IDelayedCall | None = None
        self._running: Event | None = None
        self._finished: defer.Deferred | None = None
        self._stopped = False

    # -- scheduling

    def schedule(self, event: Event, when: float) -> None:
        """Have C{event} run at C{when}, unless it is due earlier already."""
        current = self._times.get(event)
        if current is None or when < current:
            self._set(event, when)

    def schedule_now(self, event: Event) -> None:
        self.schedule(event, self._clock.seconds())

    def replace(self, event: Event, when: float | None) -> None:
        """Have C{event} run at C{when} (L{None}: not at all), whatever was planned."""
        self._set(event, when)

    def cancel(self, event: Event) -> None:
        self._set(event, None)

    def when(self, event: Event) -> float | None:
        """When C{event} is next due, if it is planned."""
        return self._times.get(event)

    @property
    def running(self) -> Event | None:
        """The event whose handler is running, if any."""
        return self._running

    def stop(self) -> defer.Deferred:
        """
        Run no more events.

        @return: fires when the running handler (if any) has finished.
        """
        self._stopped = True
        self._times.clear()
        self._disarm()
        if self._running is None:
            return defer.succeed(None)
        if self._finished is None:
            self._finished = defer.Deferred()
        return self._finished

    # -- running

    def _set(self, event: Event, when: float | None) -> None:
        if event not in self._handlers:
            raise KeyError(f"no handler for {event.name}")
        if self._stopped:
            return
        if when is None:
            self._times.pop(event, None)
        else:
            self._times[event] = when
        self._plan()

    def _disarm(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _next(self) -> tuple[float, Event] | None:
        if not self._times:
            return None
        return min((when, event.value, event) for event, when in self._times.items())[::2]

    def _plan(self) -> None:
        """Arm one timer for the earliest slot (none while a handler runs)."""
        self._disarm()
        if self._running is not None or self._stopped:
            return
        upcoming = self._next()
        if upcoming is not None:
            delay = max(0.0, upcoming[0] - self._clock.seconds())
            self._timer = self._clock.callLater(delay, self._fire)

    def _fire(self) -> None:
        self._timer = None
        upcoming = self._next()
        if upcoming is None or self._stopped:
            return
        when, event = upcoming
        if when > self._clock.seconds():
            self._plan()  # replaced by a later time meanwhile
            return
        del self._times[event]
        self._running = event
        outcome = defer.maybeDeferred(self._handlers[event])
        outcome.addErrback(self._failed, event)
        outcome.addBoth(self._done)

    def _failed(self, failure, event: Event) -> None:
        if failure.check(defer.CancelledError) and self._stopped:
            return  # stopped on purpose, mid-event
        log.failure("zone {zone}: {event} failed", failure, zone=self.label, event=event.name.lower())

    def _done(self, _) -> None:
        self._running = None
        if self._stopped:
            finished, self._finished = self._finished, None
            if finished is not None:
                finished.callback(None)
            return
        self._plan()
