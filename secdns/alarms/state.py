# -*- test-case-name: tests.unit.test_alarm_evaluate -*-
"""
Where an alarm stands, per zone, as frozen values: what the evaluation
(L{secdns.alarms.evaluate}) keeps between minutes, what the store keeps
across restarts, and what the operator surfaces show
(L{secdns.ops.alarms.engine.AlarmEngine.alarms}).

Times are wall-clock seconds (Unix time); L{None} means "never".
"""

from __future__ import annotations

import attrs

from secdns.alarms.model import FIRING, OK, Alarm, Notification

__all__ = ["PENDING", "STATES", "BUILT_IN", "ZoneAlarmState", "AlarmStatus", "SentNotification"]

#: The condition holds, but not yet for the alarm's pending duration.
PENDING = "PENDING"

#: The states of an alarm for one zone.
STATES = (OK, PENDING, FIRING)

#: The C{declared_in} of the alarms and topics secdns has without any
#: setup (L{secdns.alarms.defaults}): read-only, like the config file's,
#: overridden or disabled by a C{[[alarm]]} or C{[[topic]]} of that name.
BUILT_IN = "built-in"


@attrs.frozen
class ZoneAlarmState:
    """
    One alarm for one zone.

    @ivar state: L{OK}, L{PENDING} or L{FIRING}.
    @ivar since: when it entered that state (L{FIRING}: when it started
        firing; L{OK}: when it cleared, or was first evaluated).
    @ivar value: the statistic's value at the last evaluation (L{None}: no data).
    @ivar last_notified: when a notification about it was last sent.
    @ivar dedup_key: the firing's key, the same in each of its
        notifications (L{None} while not firing).
    @ivar deadline: for an alarm with C{steps}: the zone's expire time of
        the current approach (a successful refresh starts a new one).
    @ivar began: for an alarm with C{steps}: the hours to expiry the
        approach began with (the SOA expire, as clamped).
    @ivar steps_sent: for an alarm with C{steps}: the steps already notified
        on this approach.
    """

    zone: str
    state: str = OK
    since: float | None = None
    value: float | None = None
    last_notified: float | None = None
    dedup_key: str | None = None
    deadline: float | None = None
    began: float | None = None
    steps_sent: tuple[float, ...] = ()


@attrs.frozen
class AlarmStatus:
    """
    One alarm as the operator sees it.

    @ivar query: the rule in the seeds' query language (L{secdns.alarms.query.text}).
    @ivar zones: its state for each zone it has been evaluated on, by zone name.
    @ivar declared_in: the config file, L{BUILT_IN}, or L{None} for an
        alarm made at run time (kept in the store).
    """

    alarm: Alarm
    query: str
    zones: tuple[ZoneAlarmState, ...]
    declared_in: str | None

    @property
    def firing(self) -> tuple[str, ...]:
        """The zones it fires for."""
        return tuple(z.zone for z in self.zones if z.state == FIRING)


@attrs.frozen
class SentNotification:
    """
    A notification the engine sent (handed to its topics' deliveries), as
    the store keeps it.

    @ivar id: its number, increasing.
    @ivar topics: the topics it went to.
    """

    id: int
    sent: float
    topics: tuple[str, ...]
    notification: Notification
