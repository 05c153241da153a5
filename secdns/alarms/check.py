# -*- test-case-name: tests.unit.test_alarm_config -*-
"""
What makes an alarm or a topic valid, in one place: the config file
(L{secdns.config}) and the run-time methods (the API, through
L{secdns.ops.alarms.engine}) both ask here, and say the problems in their
own words (a config key, an HTTP 400).

Each check returns (field, problem) pairs; none holds a secret.
"""

from __future__ import annotations

import fnmatch
import math
import re

from secdns.alarms import endpoints
from secdns.alarms.model import METRICS, OPERATORS, PROTOCOLS, SEVERITIES, STATISTICS, Alarm, Topic

__all__ = ["NAME", "alarm_problems", "topic_problems", "matches", "zone_pattern"]

#: Names of alarms and topics: they go in URLs, metric labels and file names.
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")

_ZONE_PATTERN = re.compile(r"^(\*|[a-z0-9*_-][a-z0-9*_.-]*)$")


def zone_pattern(text: str) -> str:
    """A zones selector as alarms keep it: lower case, no final dot; C{*} for every zone."""
    text = text.strip().lower().rstrip(".")
    return text or "*"


def matches(pattern: str, zone: str) -> bool:
    """Whether C{zone} (no final dot) is one of C{pattern}'s: C{*}, a glob, or one name."""
    if pattern == "*":
        return True
    if "*" in pattern or "?" in pattern:
        return fnmatch.fnmatchcase(zone.lower(), pattern)
    return zone.lower() == pattern


def alarm_problems(alarm: Alarm) -> list[tuple[str, str]]:
    """What is wrong with C{alarm}, as (field, problem) pairs; empty when it is valid."""
    problems = []
    if not NAME.match(alarm.name):
        problems.append(("name", f"{alarm.name!r} is not a name: letters, digits, '_', '.', '-', at most 63"))
    if alarm.metric not in METRICS:
        problems.append(("metric", f"unknown metric {alarm.metric!r} (one of: {', '.join(METRICS)})"))
    if alarm.statistic not in STATISTICS:
        problems.append(("statistic", f"unknown statistic {alarm.statistic!r} (one of: {', '.join(STATISTICS)})"))
    if alarm.operator not in OPERATORS:
        problems.append(("operator", f"unknown operator {alarm.operator!r} (one of: {' '.join(OPERATORS)})"))
    if not isinstance(alarm.threshold, (int, float)) or not math.isfinite(alarm.threshold):
        problems.append(("threshold", "must be a number"))
    if alarm.interval < 60 or alarm.interval > 86400 or alarm.interval % 60:
        problems.append(("interval", f"must be whole minutes from 1m to 1d, not {alarm.interval:g} s"))
    if alarm.pending < 0 or alarm.pending > 86400:
        problems.append(("pending", f"must be from 0 to 1d, not {alarm.pending:g} s"))
    if alarm.repeat is not None and (alarm.repeat < 60 or alarm.repeat > 7 * 86400):
        problems.append(("repeat", f"must be from 1m to 7d (or none), not {alarm.repeat:g} s"))
    if alarm.severity not in SEVERITIES:
        problems.append(("severity", f"unknown severity {alarm.severity!r} (one of: {', '.join(SEVERITIES)})"))
    if not _ZONE_PATTERN.match(alarm.zones):
        problems.append(("zones", f"{alarm.zones!r} is not a zone name, a glob such as *.example.com, or *"))
    for i, topic in enumerate(alarm.topics):
        if not NAME.match(topic):
            problems.append((f"topics[{i}]", f"{topic!r} is not a topic name"))
    if len(set(alarm.topics)) != len(alarm.topics):
        problems.append(("topics", "names a topic twice"))
    if alarm.steps:
        if alarm.metric != "ZoneExpirationInHours":
            problems.append(("steps", "are for ZoneExpirationInHours alarms only"))
        if any(not isinstance(s, (int, float)) or not math.isfinite(s) or s < 0 for s in alarm.steps):
            problems.append(("steps", "must be hours to expiry, 0 or more"))
        elif alarm.threshold != max(alarm.steps) or alarm.operator != "<=":
            problems.append(("steps", f"an alarm with steps fires at the first: its condition is <= {max(alarm.steps):g}"))
    if len(alarm.body) > 4000:
        problems.append(("body", "is longer than 4000 characters"))
    return problems


def topic_problems(topic: Topic) -> list[tuple[str, str]]:
    """What is wrong with C{topic}, as (field, problem) pairs; never showing a secret (L{endpoints.check})."""
    problems = []
    if not NAME.match(topic.name):
        problems.append(("name", f"{topic.name!r} is not a name: letters, digits, '_', '.', '-', at most 63"))
    for i, subscription in enumerate(topic.subscriptions):
        field = "protocol" if subscription.protocol not in PROTOCOLS else "endpoint"
        try:
            endpoints.check(subscription)
        except ValueError as e:
            problems.append((f"subscriptions[{i}].{field}", str(e)))
    return problems
