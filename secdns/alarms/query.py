# -*- test-case-name: tests.unit.test_alarm_query -*-
"""
The seeds' monitoring query language, as far as alarms on zones use it::

    ZoneTransferFailureCount[1h]{resourceName = "example.com"}.sum() > 3
    ZoneExpirationInHours[5m]{resourceName =~ "*.example.com"}.min() <= 24
    ZoneTransferSuccessCount[1d].count() == 0

A metric (L{secdns.alarms.model.METRICS}), an interval (C{1m} to C{60m},
C{1h} to C{24h}, C{1d}), optionally the zones (C{resourceName =} one name,
C{=~} a glob; none: every zone), a statistic and a condition.  L{parse}
reads it (with an error that says where it stopped), L{text} writes an
alarm's rule back in the same form.
"""

from __future__ import annotations

import re

import attrs

from secdns.alarms.model import METRICS, OPERATORS, STATISTICS, Alarm

__all__ = ["Query", "QueryError", "parse", "text", "duration", "duration_text"]


class QueryError(ValueError):
    """A query that does not parse; the message says what was expected where."""


@attrs.frozen
class Query:
    """What a query says, as an alarm's fields."""

    metric: str
    interval: float
    zones: str
    statistic: str
    operator: str
    threshold: float


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^(\d+)([smhd])$")


def duration(value: str) -> float:
    """Seconds of C{30s}, C{5m}, C{1h}, C{1d}."""
    match = _DURATION.match(value.strip())
    if match is None:
        raise QueryError(f"{value!r} is not a duration such as 30s, 5m, 1h or 1d")
    return float(int(match.group(1)) * _UNITS[match.group(2)])


def duration_text(seconds: float) -> str:
    """The shortest of C{1d}, C{1h}, C{1m}, C{1s} forms that is exact."""
    whole = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole and whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{whole}s"


_QUERY = re.compile(
    r"""^\s*
    (?P<metric>[A-Za-z][A-Za-z0-9_]*)
    \s*\[\s*(?P<interval>\d+[smhd])\s*\]
    \s*(?:\{\s*(?P<dimension>[A-Za-z]+)\s*(?P<match>=~|=)\s*"(?P<value>[^"]*)"\s*\})?
    \s*\.\s*(?P<statistic>[a-z]+)\s*\(\s*\)
    \s*(?P<operator>>=|<=|==|!=|>|<)
    \s*(?P<threshold>[-+]?\d+(?:\.\d+)?)
    \s*$""",
    re.VERBOSE,
)


def parse(query: str) -> Query:
    """
    The alarm fields C{query} gives.

    @raise QueryError: it does not parse, or names an unknown metric or statistic.
    """
    match = _QUERY.match(query)
    if match is None:
        raise QueryError(
            f"{query!r} is not a query such as "
            'ZoneTransferFailureCount[1h]{resourceName = "example.com"}.sum() > 3'
        )
    metric = match.group("metric")
    if metric not in METRICS:
        raise QueryError(f"unknown metric {metric!r} (one of: {', '.join(METRICS)})")
    statistic = match.group("statistic")
    if statistic not in STATISTICS:
        raise QueryError(f"unknown statistic {statistic}() (one of: {', '.join(s + '()' for s in STATISTICS)})")
    interval = duration(match.group("interval"))
    if interval < 60 or interval % 60 or interval > 86400:
        raise QueryError(f"interval {match.group('interval')} must be whole minutes, from 1m to 1d")
    zones = "*"
    if match.group("dimension") is not None:
        if match.group("dimension") != "resourceName":
            raise QueryError(f"unknown dimension {match.group('dimension')!r} (zones are chosen by resourceName)")
        zones = match.group("value").rstrip(".").lower() or "*"
        if match.group("match") == "=" and "*" in zones:
            raise QueryError('a glob needs =~, as in {resourceName =~ "*.example.com"}')
    operator = match.group("operator")
    assert operator in OPERATORS
    return Query(metric, interval, zones, statistic, operator, float(match.group("threshold")))


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def text(alarm: Alarm) -> str:
    """C{alarm}'s rule in the query language."""
    selector = ""
    if alarm.zones != "*":
        selector = f'{{resourceName {"=~" if "*" in alarm.zones else "="} "{alarm.zones}"}}'
    return (
        f"{alarm.metric}[{duration_text(alarm.interval)}]{selector}.{alarm.statistic}() "
        f"{alarm.operator} {_number(alarm.threshold)}"
    )
