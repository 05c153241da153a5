# -*- test-case-name: tests.unit.test_alarm_store -*-
"""
Alarms, topics, alarm states and sent notifications as the store keeps
them: settings and messages as JSON, a subscription's secret in base64
(the store is the appliance's own file, as it keeps TSIG secrets).
"""

from __future__ import annotations

import base64
import json

import attrs

from secdns.alarms.model import Alarm, Notification, Subscription, Topic
from secdns.alarms.state import ZoneAlarmState

__all__ = [
    "StoredAlarm", "StoredTopic", "alarm_settings", "alarm_from", "topic_settings", "topic_from",
    "state_row", "state_from", "message", "notification_from",
]


@attrs.frozen
class StoredAlarm:
    """An alarm made at run time, and when it was made and last changed."""

    alarm: Alarm
    created: float
    updated: float


@attrs.frozen
class StoredTopic:
    """A topic made at run time, and when it was made and last changed."""

    topic: Topic
    created: float
    updated: float


_ALARM_FIELDS = [f.name for f in attrs.fields(Alarm) if f.name not in ("name", "declared_in")]


def alarm_settings(alarm: Alarm) -> str:
    """A run-time alarm's fields (its name is the row's key)."""
    value = {name: getattr(alarm, name) for name in _ALARM_FIELDS}
    value["topics"] = list(alarm.topics)
    value["steps"] = list(alarm.steps)
    return json.dumps(value, sort_keys=True)


def alarm_from(name: str, settings: str) -> Alarm:
    value = json.loads(settings)
    known = {key: value[key] for key in _ALARM_FIELDS if key in value}
    known["topics"] = tuple(known.get("topics", ()))
    known["steps"] = tuple(float(s) for s in known.get("steps", ()))
    return Alarm(name=name, declared_in=None, **known)


def topic_settings(topic: Topic) -> str:
    return json.dumps(
        {
            "subscriptions": [
                {
                    "protocol": s.protocol,
                    "endpoint": s.endpoint,
                    "secret": base64.b64encode(s.secret).decode("ascii"),
                }
                for s in topic.subscriptions
            ],
            "stream_file": topic.stream_file,
            "description": getattr(topic, "description", ""),
        },
        sort_keys=True,
    )


def topic_from(name: str, settings: str) -> Topic:
    value = json.loads(settings)
    subscriptions = tuple(
        Subscription(s["protocol"], s.get("endpoint", ""), base64.b64decode(s.get("secret", "")))
        for s in value.get("subscriptions", [])
    )
    extra = {"description": value.get("description", "")} if "description" in attrs.fields_dict(Topic) else {}
    return Topic(name=name, subscriptions=subscriptions, stream_file=value.get("stream_file"), declared_in=None, **extra)


def state_row(alarm: str, state: ZoneAlarmState) -> tuple:
    """The C{alarm_state} row of one alarm and zone."""
    return (
        alarm, state.zone, state.state, state.since, state.value, state.last_notified, state.dedup_key,
        state.deadline, state.began, ",".join(repr(float(s)) for s in state.steps_sent),
    )


def state_from(row) -> tuple[str, ZoneAlarmState]:
    alarm, zone, state, since, value, last_notified, dedup_key, deadline, began, steps = row
    sent = tuple(float(s) for s in steps.split(",") if s)
    return alarm, ZoneAlarmState(zone, state, since, value, last_notified, dedup_key, deadline, began, sent)


def message(notification: Notification) -> str:
    return json.dumps(attrs.asdict(notification), sort_keys=True)


def notification_from(text: str) -> Notification:
    value = json.loads(text)
    names = {f.name for f in attrs.fields(Notification)}
    return Notification(**{key: item for key, item in value.items() if key in names})
