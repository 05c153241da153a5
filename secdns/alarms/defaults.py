# -*- test-case-name: tests.unit.test_alarm_engine -*-
"""
The alarms and the topic secdns has with no setup, so that no transfer
failure goes unnoticed out of the box:

  - C{zone-refresh-failing}: a secondary zone whose refreshes have been
    failing for longer than three times its SOA retry interval (as
    clamped by C{[timers]}), i.e. C{FailingForRetries[1m].max() > 3}.
  - C{zone-expiring}: a secondary zone nearing its expire time, notified
    at 72, 24, 6, 3, 2 and 1 hours before it and at expiry
    (L{secdns.alarms.expiry}).

Both send to the built-in topic C{log} (one log line per notification);
C{secdns_alarm_firing{alarm,zone}} shows them in the metrics.  An
C{[[alarm]]} of the same name in the config file overrides one (the
fields it gives replace the built-in's; C{enabled = false} turns it off),
and a C{[[topic]]} named C{log} replaces the topic.
"""

from __future__ import annotations

from secdns.alarms.expiry import NOTICE_HOURS
from secdns.alarms.model import Alarm, Subscription, Topic
from secdns.alarms.state import BUILT_IN

__all__ = ["LOG_TOPIC", "REFRESH_FAILING", "EXPIRING", "ALARMS", "TOPICS"]

LOG_TOPIC = Topic(name="log", subscriptions=(Subscription("log"),), declared_in=BUILT_IN)

REFRESH_FAILING = Alarm(
    name="zone-refresh-failing",
    metric="FailingForRetries",
    statistic="max",
    interval=60.0,
    operator=">",
    threshold=3.0,
    severity="ERROR",
    topics=(LOG_TOPIC.name,),
    body="",
    declared_in=BUILT_IN,
)

EXPIRING = Alarm(
    name="zone-expiring",
    metric="ZoneExpirationInHours",
    statistic="min",
    interval=60.0,
    operator="<=",
    threshold=NOTICE_HOURS[0],
    severity="WARNING",
    topics=(LOG_TOPIC.name,),
    steps=NOTICE_HOURS,
    declared_in=BUILT_IN,
)

ALARMS: tuple[Alarm, ...] = (REFRESH_FAILING, EXPIRING)
TOPICS: tuple[Topic, ...] = (LOG_TOPIC,)
