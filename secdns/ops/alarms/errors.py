# -*- test-case-name: tests.unit.test_alarm_engine -*-
"""
What the alarm engine's run-time methods refuse, and why.

The operator surfaces map them as they map the zone core's errors
(L{secdns.core.registry}): L{NoSuchAlarm} and L{NoSuchTopic} are 404,
L{AlarmExists}, L{TopicExists}, L{ReadOnly} and L{TopicInUse} are 409,
L{InvalidRequest} is 400.  No message ever holds a secret.
"""

from __future__ import annotations

from secdns.errors import SecdnsError

__all__ = [
    "AlarmError", "NoSuchAlarm", "NoSuchTopic", "AlarmExists", "TopicExists", "ReadOnly", "TopicInUse",
    "InvalidRequest",
]


class AlarmError(SecdnsError):
    """Base class of what the alarm engine refuses."""


class NoSuchAlarm(AlarmError, KeyError):
    """No alarm of that name."""

    def __str__(self) -> str:
        return f"no alarm {self.args[0]}"


class NoSuchTopic(AlarmError, KeyError):
    """No topic of that name."""

    def __str__(self) -> str:
        return f"no topic {self.args[0]}"


class AlarmExists(AlarmError):
    """An alarm of that name exists already (in the config file, built in, or made at run time)."""


class TopicExists(AlarmError):
    """A topic of that name exists already."""


class ReadOnly(AlarmError):
    """The alarm or topic is declared in the config file (or built in): change it there, and reload."""


class TopicInUse(AlarmError):
    """Alarms (L{alarms}) send to the topic; it cannot be deleted."""

    def __init__(self, message: str, alarms: tuple[str, ...]) -> None:
        super().__init__(message)
        self.alarms = alarms


class InvalidRequest(AlarmError):
    """What was asked for is not a valid alarm or topic: a field's value, a query, a topic that does not exist."""
