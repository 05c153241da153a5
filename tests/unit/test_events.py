"""secdns.transfer.schedule: the per-zone event table, driven by a fake clock."""

from __future__ import annotations

import pytest
from twisted.internet import defer
from twisted.internet.task import Clock

from secdns.transfer.schedule import Event, ZoneEvents


class Recorder:
    """Handlers that record when each event ran; some return a Deferred the test fires."""

    def __init__(self, clock: Clock, slow: tuple[Event, ...] = ()) -> None:
        self.clock = clock
        self.ran: list[tuple[Event, float]] = []
        self.pending: list[defer.Deferred] = []
        self.slow = slow

    def handler(self, event: Event):
        def run():
            self.ran.append((event, self.clock.seconds()))
            if event in self.slow:
                d = defer.Deferred()
                self.pending.append(d)
                return d
            return None

        return run

    def table(self, events=(Event.REFRESH, Event.EXPIRE)) -> ZoneEvents:
        return ZoneEvents(self.clock, {event: self.handler(event) for event in events}, "example.com")


def test_event_runs_when_due():
    """A scheduled event runs once, at its time, and not before."""
    clock = Clock()
    recorder = Recorder(clock)
    events = recorder.table()
    events.schedule(Event.REFRESH, 100)
    clock.advance(99)
    assert recorder.ran == []
    clock.advance(1)
    assert recorder.ran == [(Event.REFRESH, 100)]
    assert events.when(Event.REFRESH) is None
    clock.advance(1000)
    assert len(recorder.ran) == 1


def test_earliest_time_wins():
    """Scheduling an event already planned keeps the earlier of the two times."""
    clock = Clock()
    recorder = Recorder(clock)
    events = recorder.table()
    events.schedule(Event.REFRESH, 50)
    events.schedule(Event.REFRESH, 80)
    assert events.when(Event.REFRESH) == 50
    events.schedule(Event.REFRESH, 10)
    clock.advance(10)
    clock.advance(90)
    assert recorder.ran == [(Event.REFRESH, 10)]


def test_burst_of_schedules_runs_once():
    """A burst of 'now' schedules before the event runs makes one run."""
    clock = Clock()
    recorder = Recorder(clock)
    events = recorder.table()
    for _ in range(50):
        events.schedule_now(Event.REFRESH)
    clock.advance(0)
    clock.advance(0)
    assert recorder.ran == [(Event.REFRESH, 0)]


def test_replace_moves_later_and_none_cancels():
    """replace sets the time even when later, and None cancels the event."""
    clock = Clock()
    recorder = Recorder(clock)
    events = recorder.table()
    events.schedule(Event.EXPIRE, 10)
    events.replace(Event.EXPIRE, 500)
    clock.advance(100)
    assert recorder.ran == []
    events.replace(Event.EXPIRE, None)
    clock.advance(1000)
    assert recorder.ran == []
    events.schedule(Event.EXPIRE, 1200)
    events.cancel(Event.EXPIRE)
    clock.advance(1000)
    assert recorder.ran == []


def test_one_event_at_a_time():
    """While a handler's Deferred is pending, other due events wait, then run in order."""
    clock = Clock()
    recorder = Recorder(clock, slow=(Event.REFRESH,))
    events = recorder.table()
    events.schedule(Event.REFRESH, 10)
    events.schedule(Event.EXPIRE, 20)
    clock.advance(10)
    clock.advance(20)
    assert recorder.ran == [(Event.REFRESH, 10)]
    assert events.running is Event.REFRESH
    recorder.pending.pop().callback(None)
    clock.advance(0)
    assert recorder.ran == [(Event.REFRESH, 10), (Event.EXPIRE, 30)]
    assert events.running is None


def test_event_scheduled_while_running_runs_after():
    """An event scheduled for now while it is itself running runs again once the first run ends."""
    clock = Clock()
    recorder = Recorder(clock, slow=(Event.REFRESH,))
    events = recorder.table()
    events.schedule_now(Event.REFRESH)
    clock.advance(0)
    events.schedule_now(Event.REFRESH)
    events.schedule_now(Event.REFRESH)
    clock.advance(5)
    assert len(recorder.ran) == 1
    recorder.pending.pop().callback(None)
    clock.advance(0)
    assert [event for event, _ in recorder.ran] == [Event.REFRESH, Event.REFRESH]


def test_same_time_runs_in_event_order():
    """Events due at the same moment run in the order of the Event enumeration."""
    clock = Clock()
    recorder = Recorder(clock)
    events = recorder.table()
    events.schedule(Event.EXPIRE, 10)
    events.schedule(Event.REFRESH, 10)
    clock.advance(10)
    clock.advance(0)
    assert [event for event, _ in recorder.ran] == [Event.REFRESH, Event.EXPIRE]


def test_failing_handler_does_not_stop_the_table():
    """A handler that raises is logged, and later events still run."""
    clock = Clock()
    ran = []

    def broken():
        raise RuntimeError("boom")

    events = ZoneEvents(clock, {Event.REFRESH: broken, Event.EXPIRE: lambda: ran.append(clock.seconds())})
    events.schedule(Event.REFRESH, 1)
    events.schedule(Event.EXPIRE, 2)
    clock.advance(1)
    clock.advance(1)
    assert ran == [2]


def test_stop_waits_for_running_handler():
    """stop() cancels what is planned and fires once the running handler has finished."""
    clock = Clock()
    recorder = Recorder(clock, slow=(Event.REFRESH,))
    events = recorder.table()
    events.schedule_now(Event.REFRESH)
    events.schedule(Event.EXPIRE, 100)
    clock.advance(0)
    stopped = events.stop()
    assert not stopped.called
    recorder.pending.pop().callback(None)
    assert stopped.called
    events.schedule_now(Event.REFRESH)
    clock.advance(1000)
    assert [event for event, _ in recorder.ran] == [Event.REFRESH]


def test_unknown_event_is_an_error():
    """Scheduling an event the table has no handler for is a programming error."""
    events = ZoneEvents(Clock(), {Event.REFRESH: lambda: None})
    with pytest.raises(KeyError):
        events.schedule_now(Event.FLUSH)


def test_stop_mid_event_logs_no_failure():
    """A handler cancelled because the table stopped is not logged as a failure."""
    from twisted.logger import globalLogPublisher

    clock = Clock()
    pending = defer.Deferred()
    events = ZoneEvents(clock, {Event.REFRESH: lambda: pending})
    events.schedule_now(Event.REFRESH)
    clock.advance(0)
    logged = []
    globalLogPublisher.addObserver(logged.append)
    try:
        events.stop()
        pending.cancel()
    finally:
        globalLogPublisher.removeObserver(logged.append)
    assert [e for e in logged if e.get("log_failure") is not None] == []
